"""Validation of case data: the one place that decides whether imported or stored values
can be trusted (docs/adapters.md, "Validation").

:func:`validate_case` is applied to every :class:`~romnet.case.Case` an adapter returns
(:func:`romnet.adapters.import_case`) and to generated cases (the step generate);
:func:`validate_store` to the mesh and problem of a store before the HF solver runs on it,
and by ``romnet info`` (with per-field statistics, :func:`field_stats`). Checks:

* mesh: finite coordinates with ``|x| <= max_abs_coordinate``; connectivity and sets in
  range (:meth:`romnet.mesh.Mesh.validate`); unique node ids; a positive, non-degenerate
  Jacobian at every integration point of the full rule (``detJ > 0`` and ``detJ >= 1e-10 x``
  the block's median: swapped or repeated nodes, inverted elements);
* problem: time stepping finite and strictly increasing, ``1 <= cycles <= max_cycles``,
  ``cycles x increments <= max_outputs``; time tables finite with increasing times; load
  and constraint values finite, ``|v| <= max_abs_value``; temperatures finite, in
  ``temperature_range``, one value per node, key times increasing; material coefficients
  finite and within physical bounds (:data:`COEFFICIENT_BOUNDS`, the message names the
  material and the coefficient, e.g. ``material 'EVP' flow.n = 1e+308: out of range (0, 200]``);
* results: times finite and non-decreasing; every field (n_times, n_points, n_comp) with
  one row per output and, for nodal fields, one point per node; values finite with
  ``|v| <= max_abs_value``. Non-finite values at nodes that no element uses (a CalculiX
  ``.frd`` has no results there) are a warning, not an error.

Each check has a relax option where a user may legitimately need one: the
:class:`ValidationSettings` schema (``[validation]`` of a case.toml,
``romnet import --relax KEY=VALUE``): bounds to widen, and ``"warn"`` instead of
``"error"`` for non-finite values, Jacobians, material bounds and decreasing times (the
finding is then a warning kept in the case metadata, shown by ``romnet info``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, InputError, StoreError
from .settings import Const, Int, ListOf, Num, check_table, defaults, setting

__all__ = ["ValidationSettings", "COEFFICIENT_BOUNDS", "Report", "check_mesh", "check_problem",
           "check_series", "validate_case", "validate_store", "field_stats", "settings_from"]

_LEVEL = Const("error", "warn")


@dataclass
class ValidationSettings:
    """``[validation]``: bounds and levels of the data checks (module docstring)."""
    max_abs_coordinate: float = setting(1e9, Num(gt=0), "largest |coordinate| of a node (length unit)")
    max_abs_value: float = setting(1e30, Num(gt=0), "largest |value| of a result field, load or constraint")
    temperature_range: list = setting([-273.15, 1e5], ListOf(Num(), nonempty=True),
                                      "[min, max] of temperatures (degC or K)")
    max_cycles: int = setting(100000, Int(ge=1), "largest number of loading cycles of a time stepping")
    max_outputs: int = setting(10_000_000, Int(ge=1), "largest cycles x increments of a time stepping")
    nonfinite: str = setting("error", _LEVEL, "NaN / inf in a field, a load or a coefficient")
    jacobians: str = setting("error", _LEVEL, "non-positive or degenerate Jacobian at an integration point")
    material_bounds: str = setting("error", _LEVEL, "material coefficient outside its physical bounds")
    times: str = setting("error", _LEVEL, "output times that decrease")


#: coefficient name (last key of its path in the material description) -> (low, high,
#: low inclusive, high inclusive); docs/materials.md "Units": stresses in the unit of E
COEFFICIENT_BOUNDS = {
    "young": (0.0, 1e15, False, True), "poisson": (-1.0, 0.5, False, False),
    "K": (0.0, 1e15, False, True), "n": (0.0, 200.0, False, True),
    "C": (0.0, 1e15, True, True), "D": (0.0, 1e9, True, True), "H": (-1e15, 1e15, True, True),
    "R0": (0.0, 1e15, True, True), "Q": (-1e15, 1e15, True, True), "b": (0.0, 1e9, True, True),
    "alpha": (-1e-2, 1e-2, True, True), "density": (0.0, 1e6, True, True),
    "tolerance": (0.0, 1.0, False, True),
}
#: any other number of a material description
OTHER_BOUND = 1e30


def settings_from(table=None, where=None) -> dict:
    """Checked :class:`ValidationSettings` (defaults filled) from a table (dict) or None."""
    out = check_table(table or {}, ValidationSettings, where, "validation")
    lo_hi = out["temperature_range"]
    if len(lo_hi) != 2 or not lo_hi[0] < lo_hi[1]:
        raise ConfigError(f"{where + ': ' if where else ''}[validation] temperature_range: expected [min, max] "
                          f"with min < max, got {lo_hi}")
    return out


@dataclass
class Report:
    """Findings of a validation: ``errors`` and ``warnings`` (one-line texts)."""
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def add(self, level: str, text: str):
        (self.errors if level == "error" else self.warnings).append(text)

    def raise_first(self, source, cls=InputError):
        """Raise ``cls`` naming ``source`` with the first error (and how many more)."""
        if self.errors:
            more = f" (and {len(self.errors) - 1} more problem(s))" if len(self.errors) > 1 else ""
            if cls is InputError:
                raise InputError(self.errors[0] + more, source)
            raise cls(f"{source}: {self.errors[0]}{more}")


def _num(x) -> str:
    return f"{x:.6g}" if isinstance(x, float) else str(x)


# --------------------------------------------------------------------------- mesh
def _used_nodes(mesh) -> np.ndarray:
    used = np.zeros(mesh.n_nodes, dtype=bool)
    for b in mesh.blocks:
        used[b.connectivity.ravel()] = True
    return used


def check_mesh(mesh, cfg: dict, rep: Report):
    """Coordinates, ids, index ranges and Jacobians (module docstring)."""
    x = mesh.coordinates
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rep.add("error", f"node {int(mesh.node_ids[i])}: non-finite coordinate {x[i].tolist()} "
                         f"({int(bad.sum())} node(s))")
        return
    big = np.abs(x).max(axis=1) > cfg["max_abs_coordinate"] if x.size else np.zeros(0, bool)
    if big.any():
        i = int(np.flatnonzero(big)[0])
        rep.add("error", f"node {int(mesh.node_ids[i])}: coordinate {x[i].tolist()} beyond "
                         f"max_abs_coordinate = {cfg['max_abs_coordinate']:g}")
        return
    ids, counts = np.unique(mesh.node_ids, return_counts=True)
    if (counts > 1).any():
        rep.add("error", f"node id {int(ids[counts > 1][0])} appears {int(counts[counts > 1][0])} times")
    try:
        mesh.validate()
    except InputError as exc:
        rep.add("error", exc.problem)
        return
    _check_jacobians(mesh, cfg, rep)


def _check_jacobians(mesh, cfg, rep, chunk=20000):
    """detJ at the full rule's points of every solid element, by chunks of elements."""
    from .fe.elements import get_element_type
    for b in mesh.blocks:
        try:
            et = get_element_type(b.etype)
        except Exception:  # noqa: BLE001 - element types romnet does not know are checked by the solver
            continue
        if et.dim != mesh.dim or et.dim not in (2, 3) or not b.n_elements or b.connectivity.shape[1] != et.n_nodes:
            continue
        dN = et.shape_derivatives(et.quadrature[0])                   # (n_ip, n_en, dim)
        dets = []
        for a in range(0, b.n_elements, chunk):
            xe = mesh.coordinates[b.connectivity[a:a + chunk]]       # (n_el, n_en, dim)
            J = np.einsum("eai,qaj->eqij", xe, dN)
            dets.append(np.linalg.det(J))
        det = np.concatenate(dets)
        med = float(np.median(np.abs(det)))
        bad = ~(det > 1e-10 * med) if med > 0 else np.ones(det.shape, bool)
        if bad.any():
            e, q = np.unravel_index(int(np.flatnonzero(bad)[0]), det.shape)
            n_bad = int(bad.any(axis=1).sum())
            rep.add(cfg["jacobians"], f"element {int(b.element_ids[e])} ({b.etype}): "
                    f"{'non-positive' if det[e, q] <= 0 else 'degenerate'} Jacobian detJ = {det[e, q]:.3g} at "
                    f"integration point {q + 1} (block median {med:.3g}; {n_bad} element(s) of the block): "
                    f"inverted, swapped or repeated nodes")


# --------------------------------------------------------------------------- problem
def _finite_values(v, what, cfg, rep):
    try:
        a = np.asarray(v, dtype=float) if not isinstance(v, (str, type(None))) else np.zeros(0)
    except (TypeError, ValueError, OverflowError):
        rep.add("error", f"{what}: not a number")
        return
    if a.size and not np.isfinite(a).all():
        rep.add(cfg["nonfinite"], f"{what}: non-finite value")
    elif a.size and np.abs(a).max() > cfg["max_abs_value"]:
        rep.add("error", f"{what}: |value| {np.abs(a).max():.3g} beyond max_abs_value = {cfg['max_abs_value']:g}")


def _material_numbers(spec, path=""):
    """(dotted key, number) of every number in a material description (tables: values)."""
    if isinstance(spec, dict):
        if set(spec) >= {"temperature", "value"}:
            yield path + ".temperature", spec["temperature"]
            yield path, spec["value"]
            return
        for k, v in spec.items():
            yield from _material_numbers(v, f"{path}.{k}" if path else str(k))
    elif isinstance(spec, (list, tuple, np.ndarray)):
        if all(isinstance(x, (int, float, np.number)) and not isinstance(x, bool) for x in np.ravel(spec)):
            yield path, spec
        else:
            for i, v in enumerate(spec):
                yield from _material_numbers(v, f"{path}[{i}]")
    elif isinstance(spec, (int, float, np.number)) and not isinstance(spec, bool):
        yield path, spec


def check_material(name, spec, cfg, rep):
    """Every number finite, the known coefficients within :data:`COEFFICIENT_BOUNDS`."""
    for key, v in _material_numbers(spec):
        try:
            a = np.asarray(v, dtype=float).ravel()
        except (TypeError, ValueError):
            continue
        if not a.size:
            continue
        if not np.isfinite(a).all():
            rep.add(cfg["nonfinite"], f"material '{name}' {key}: non-finite value")
            continue
        last = key.split(".")[-1].split("[")[0]
        if key.endswith(".temperature"):       # table breakpoints (may lie below 0 K: extrapolation)
            continue
        if "ref_temperature" in key:
            lo, hi = cfg["temperature_range"]
            bad = (a < lo) | (a > hi)
            if bad.any():
                rep.add(cfg["material_bounds"], f"material '{name}' {key} = {_num(float(a[bad][0]))}: "
                        f"temperature out of temperature_range [{lo:g}, {hi:g}]")
            continue
        lo, hi, lo_in, hi_in = COEFFICIENT_BOUNDS.get(last, (-OTHER_BOUND, OTHER_BOUND, True, True))
        low_bad = a < lo if lo_in else a <= lo
        high_bad = a > hi if hi_in else a >= hi
        bad = low_bad | high_bad
        if bad.any():
            x = float(a[np.flatnonzero(bad)[0]])
            rng = f"{'[' if lo_in else '('}{lo:g}, {hi:g}{']' if hi_in else ')'}"
            rep.add(cfg["material_bounds"], f"material '{name}' {key} = {_num(x)}: out of range {rng}")


def check_problem(problem, mesh, cfg: dict, rep: Report):
    """Stepping, tables, loads, temperature and materials (module docstring)."""
    st = problem.stepping
    if st is not None:
        t = np.asarray(st.times, dtype=float).ravel()
        if t.size < 2 or not np.isfinite(t).all() or not (np.diff(t) > 0).all():
            rep.add("error", f"time stepping: times must be finite and strictly increasing (at least 2), got "
                             f"{t[:8].tolist()}{' ...' if t.size > 8 else ''}")
        c = st.cycles
        if not isinstance(c, (int, np.integer)) or isinstance(c, bool) or not 1 <= c <= cfg["max_cycles"]:
            rep.add("error", f"time stepping: cycles = {c!r} out of range [1, max_cycles = {cfg['max_cycles']}]")
        elif c * max(t.size - 1, 0) > cfg["max_outputs"]:
            rep.add("error", f"time stepping: {c} cycles x {t.size - 1} increments = {c * (t.size - 1)} outputs "
                             f"beyond max_outputs = {cfg['max_outputs']}")
        for k in ("ratio",):
            v = getattr(st, k, None)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                rep.add("error", f"time stepping: {k} = {v!r} must be a finite number > 0")
    for name, tab in problem.tables.items():
        tt = np.asarray(getattr(tab, "times", []), dtype=float)
        vv = np.asarray(getattr(tab, "values", []), dtype=float)
        if tt.size and (not np.isfinite(tt).all() or (np.diff(tt) < 0).any()):
            rep.add("error", f"table '{name}': times must be finite and increasing")
        _finite_values(vv, f"table '{name}'", cfg, rep)
    for kind in ("dirichlet", "pressure", "nodal_forces", "constraints", "centrifugal", "gravity"):
        for item in getattr(problem, kind, []):
            what = f"{kind} '{getattr(item, 'name', '') or getattr(item, 'node_set', '') or ''}'"
            for attr in ("value", "values", "forces", "coefficients", "speed", "direction", "axis"):
                if hasattr(item, attr):
                    _finite_values(getattr(item, attr), f"{what} {attr}", cfg, rep)
    temp = problem.temperature
    if temp is not None:
        tt = np.asarray(temp.times, dtype=float).ravel()
        ff = np.asarray(temp.fields, dtype=float)
        if not np.isfinite(tt).all() or (np.diff(tt) <= 0).any():
            rep.add("error", "temperature: key times must be finite and strictly increasing")
        if ff.ndim != 2 or ff.shape[0] != tt.size or ff.shape[1] != mesh.n_nodes:
            rep.add("error", f"temperature: {ff.shape} key fields, expected ({tt.size}, {mesh.n_nodes}): one "
                             "value per node and key time")
        elif not np.isfinite(ff).all():
            rep.add(cfg["nonfinite"], f"temperature: {int((~np.isfinite(ff)).sum())} non-finite value(s)")
        elif ff.size:
            lo, hi = cfg["temperature_range"]
            if ff.min() < lo or ff.max() > hi:
                x = ff.min() if ff.min() < lo else ff.max()
                rep.add("error", f"temperature: {x:.6g} out of temperature_range [{lo:g}, {hi:g}]")
    for m in problem.materials:
        check_material(getattr(m, "element_set", "?"), getattr(m, "spec", {}), cfg, rep)


# --------------------------------------------------------------------------- results
def check_series(name, series, mesh, cfg, rep, used=None):
    """Times, shapes and values of one result series (module docstring)."""
    t = np.asarray(series.times, dtype=float).ravel()
    if not np.isfinite(t).all():
        rep.add(cfg["nonfinite"], f"results '{name}': non-finite output time")
    elif (np.diff(t) < 0).any():
        k = int(np.flatnonzero(np.diff(t) < 0)[0])
        rep.add(cfg["times"], f"results '{name}': output times decrease ({t[k]:g} then {t[k + 1]:g} at output "
                              f"{k + 1})")
    used = _used_nodes(mesh) if used is None else used
    for kind, fields in (("nodal", series.nodal), ("integ", series.integ)):
        for fname, fld in fields.items():
            v = np.asarray(fld.values)
            what = f"results '{name}' {kind} field '{fname}'"
            if v.ndim != 3 or v.shape[0] != t.size or (kind == "nodal" and v.shape[1] != mesh.n_nodes):
                rep.add("error", f"{what}: shape {v.shape}, expected ({t.size}, "
                                 f"{mesh.n_nodes if kind == 'nodal' else 'n_points'}, n_comp)")
                continue
            _check_values(v, what, kind == "nodal" and not used.all(), used, cfg, rep)


def _check_values(v, what, orphans, used, cfg, rep):
    fin = np.isfinite(v)
    if not fin.all():
        bad_pts = ~fin.all(axis=(0, 2))
        if orphans and not (bad_pts & used).any():
            rep.add("warn", f"{what}: non-finite values at {int(bad_pts.sum())} node(s) that no element uses "
                            "(kept; not compared)")
        else:
            k, p, c = np.unravel_index(int(np.flatnonzero(~fin)[0]), v.shape)
            rep.add(cfg["nonfinite"], f"{what}: {int((~fin).sum())} non-finite value(s), first {v[k, p, c]} at "
                                      f"output {k}, point {p}, component {c}")
        v = np.where(fin, v, 0.0)
    if v.size:
        m = float(np.abs(v).max())
        if m > cfg["max_abs_value"]:
            rep.add("error", f"{what}: |value| {m:.3g} beyond max_abs_value = {cfg['max_abs_value']:g}")


# --------------------------------------------------------------------------- entry points
def validate_case(case, source=None, settings=None) -> list:
    """Check a case (module docstring); raise :class:`InputError` naming ``source`` (the
    imported file) with the first error; return the warnings (also appended to
    ``case.metadata["warnings"]``)."""
    cfg = settings_from(settings)
    rep = Report()
    check_mesh(case.mesh, cfg, rep)
    if not rep.errors:
        if case.problem is not None:
            check_problem(case.problem, case.mesh, cfg, rep)
        used = _used_nodes(case.mesh)
        for name, s in case.results.items():
            check_series(name, s, case.mesh, cfg, rep, used)
    rep.raise_first(source)
    if rep.warnings:
        case.metadata.setdefault("warnings", [])
        case.metadata["warnings"] = list(case.metadata["warnings"]) + rep.warnings
    return rep.warnings


def validate_store(store, settings=None, problem=True) -> Report:
    """Mesh and (``problem``) problem checks of a store (a path or an open
    :class:`~romnet.store.CaseStore`): StoreError naming the store on an error, the report
    (warnings) otherwise. Result fields are not read (see :func:`field_stats`)."""
    from .store import CaseStore
    cfg = settings_from(settings)
    rep = Report()
    with CaseStore.opened(store) as st:
        mesh = st.mesh()
        check_mesh(mesh, cfg, rep)
        if problem and not rep.errors and st.has_problem():
            check_problem(st.problem(), mesh, cfg, rep)
        rep.raise_first(st.path, StoreError)
    return rep


def field_stats(st, series, name) -> dict:
    """{'min', 'max' (over finite values; nan when none), 'nonfinite' (count)} of one
    field of a store, read one output at a time (memory: one output row)."""
    info = st.field_info(series, name)
    lo, hi, bad = math.inf, -math.inf, 0
    for k in range(st.n_complete(series)):
        v = st.read_field(series, name, times=slice(k, k + 1))
        fin = np.isfinite(v)
        bad += int(v.size - fin.sum())
        if fin.any():
            lo, hi = min(lo, float(v[fin].min())), max(hi, float(v[fin].max()))
    nan = float("nan")
    return {"min": lo if lo <= hi else nan, "max": hi if lo <= hi else nan, "nonfinite": bad,
            "n_points": info["n_points"]}


DEFAULTS = defaults(ValidationSettings)
