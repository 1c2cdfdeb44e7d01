"""``run_offline``: the whole offline stage on a case store, distributed over MPI ranks.

Steps (each timed, settings and timings stored in ``/rom``):

1. read: each rank reads its own rows of the snapshots (own nodes / own integration points);
2. POD of the displacement (L2 mass product), Dirichlet check;
3. POD of the dual fields (L2 over integration points, tensors in Mandel form);
4. ECM on the reduced internal forces of the training snapshots, global error control;
5. QDEIM points of the dual bases (zero weight) so Gappy-POD is well posed;
6. reduced operators (strains of the modes at the points, loads, temperature
   interpolation, dual bases at the points);
7. write ``/rom`` atomically.

Settings: :class:`romnet.offline.settings.OfflineSettings` (the ``[offline]`` table of a
case.toml, a dict, or command-line options; keys, defaults and meaning are declared there).
"""
from __future__ import annotations

import fnmatch
import time

import numpy as np

from .. import mpi
from ..errors import ConfigError, InputError
from ..sections import element_thickness
from ..settings import check_table, defaults
from ..store import CaseStore
from ..tensors import COMPONENTS, storage_to_mandel
from . import operators as ops
from .ecm import ecm, internal_force_integrand
from .lifting import build_lifting, check_constraints
from .pod import IntegL2, NodalL2, RowLayout, pod
from .qdeim import qdeim_points
from .rom_store import ecm_entry, encode_json, pod_entry, rom_tree, write_rom
from .settings import OfflineSettings

__all__ = ["DEFAULTS", "load_config", "run_offline", "read_local", "read_snapshots", "resolve_series",
           "build_rom_tree", "hyper_reduce", "stored_report"]

#: every offline setting with its default (:class:`.settings.OfflineSettings`)
DEFAULTS = defaults(OfflineSettings)


def load_config(config=None) -> dict:
    """Settings: :data:`DEFAULTS` updated by ``config`` (a dict of
    :class:`.settings.OfflineSettings` keys, checked; None values mean the default)."""
    if config is None:
        return dict(DEFAULTS)
    given = {k: v for k, v in dict(config).items() if v is not None}
    return {**DEFAULTS, **check_table(given, OfflineSettings, "offline settings", "offline", fill=False)}


def _is_tensor(components):
    return [str(c) for c in components] == list(COMPONENTS)


def read_local(st: CaseStore, series, name, layout):
    """This rank's rows of a field's snapshot matrix: (n_rows_local, n_t), rows point-major,
    components fastest (own nodes or own integration points); tensor fields (components
    11 22 33 12 23 31) converted to Mandel. Returns (S, info)."""
    info = st.field_info(series, name)
    if info["kind"] == "nodal":
        a, b = layout.node_range
    else:
        if info["n_points"] != layout.n_ip_total:
            raise InputError(f"field '{name}' has {info['n_points']} points, the mesh has "
                             f"{layout.n_ip_total} integration points", st.path)
        a, b = layout.ip_range
    v = st.read_field(series, name, points=slice(a, b))  # (n_t, n_p, c)
    tensor = info["kind"] == "integ" and _is_tensor(info["components"])
    if tensor:
        v = storage_to_mandel(v)
    info["convention"] = "mandel" if tensor else "storage"
    n_t, n_p, c = v.shape
    return np.ascontiguousarray(v.reshape(n_t, n_p * c).T), info


def resolve_series(st: CaseStore, spec):
    """Training series named by the ``series`` setting: a name (returned as is, a str),
    a glob pattern (``"train_*"``: the matching series with at least one complete output,
    sorted), or a list of names and patterns (``["train_*", "elastic_*"]``: in that
    order, each pattern sorted). Lists and patterns give a list."""
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise ConfigError("[offline] series: empty list")
        have = st.series_names()
        names = []
        for s in map(str, spec):
            if _is_pattern(s):
                names += resolve_series(st, s)
            elif s not in have:
                raise InputError(f"no result series ['{s}'] (has: {have})", st.path)
            else:
                names.append(s)
        return list(dict.fromkeys(names))
    spec = str(spec)
    if not _is_pattern(spec):
        return spec
    names = sorted(s for s in fnmatch.filter(st.series_names(), spec) if st.n_complete(s) > 0)
    if not names:
        raise InputError(f"no complete result series matches '{spec}' (has: {st.series_names()})", st.path)
    return names


def _is_pattern(name: str) -> bool:
    return any(ch in name for ch in "*?[")


def read_snapshots(st: CaseStore, series, cfg, layout):
    """This rank's rows of the training snapshots of one series or a list of series
    (columns concatenated in series order). Returns (U, uinfo, dual {name: (S, info)},
    stress (rows, n_t), times (n_t,))."""
    names = [series] if isinstance(series, str) else list(series)
    label = f"series '{series}'" if isinstance(series, str) else "the training series"
    disp = cfg["displacement"]
    integ = st.field_names(names[0], "integ")
    dual_names = cfg["dual_fields"] if cfg["dual_fields"] is not None else \
        [n for n in integ if n != "strain"]
    for n in dual_names:
        if n not in integ:
            raise ConfigError(f"dual field '{n}' is not an integration-point field of {label} "
                              f"(has: {integ})")
    stress_name = cfg["ecm_stress"]
    if stress_name not in integ:
        raise ConfigError(f"ECM stress field '{stress_name}' not in {label} (has: {integ})")
    fields = [disp] + list(dict.fromkeys(list(dual_names) + [stress_name]))
    cols = {n: [] for n in fields}
    info = {}
    for s in names:
        for n in fields:
            S, info[n] = read_local(st, s, n, layout)
            cols[n].append(S)
    full = {n: (v[0] if len(v) == 1 else np.hstack(v)) for n, v in cols.items()}
    bad = np.array([np.count_nonzero(~np.isfinite(full[n])) for n in fields], dtype=float)
    bad = mpi.allreduce_array(bad, layout.comm)          # collective: every rank raises or none
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(f"{label}: field '{fields[k]}' holds {int(bad[k])} non-finite snapshot value(s) "
                         "(NaN / inf): no ROM can be built from them (romnet info shows where)", st.path)
    uinfo = info[disp]
    if uinfo["kind"] != "nodal":
        raise InputError(f"displacement field '{disp}' is not nodal", st.path)
    if uinfo["shape"][2] != layout.mesh.dim:
        raise InputError(f"displacement field '{disp}' has {uinfo['shape'][2]} "
                         f"components, the mesh dimension is {layout.mesh.dim}", st.path)
    times = np.concatenate([np.asarray(st.times(s), dtype=float) for s in names])
    return (full[disp], uinfo, {n: (full[n], info[n]) for n in dual_names}, full[stress_name], times)


def build_rom_tree(layout, problem, U, uinfo, dual, stress, times, cfg, comm, say, prefix=""):
    """Steps 2-6 of the offline stage on given local snapshot rows (``U`` (rows, n_t),
    ``dual`` {name: (S, info)}, ``stress`` (rows, n_t) Mandel, ``times`` (n_t,)).

    Returns (tree, distributed, report): ``tree`` has the layout of ``/rom``
    (``docs/rom-schema.md``; ``report`` and ``settings`` included, ``series`` and
    ``timings`` left to the caller), ``distributed`` the POD modes for :func:`write_rom`
    (keys prefixed by ``prefix``, e.g. ``clusters/3/000/`` for a local ROM), ``report`` a
    dict with ``timings`` per step (``pod_displacement`` .. ``operators``)."""
    timings = {}

    def tick(key, t0):
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - t0

    n_t = U.shape[1]
    disp = cfg["displacement"]
    # ---------------------------------------------------------------- 2. POD U
    t0 = time.perf_counter()
    # inhomogeneous constraints: snapshots minus their lifting (romnet.offline.lifting)
    lift = build_lifting(layout.mesh, problem)
    if lift is not None:
        L_own = lift.own(layout)
        U = U - L_own @ lift.h(problem, times)
        say(f"  constraints: lifting of {lift.n} inhomogeneous condition(s) subtracted from the snapshots")
    dchk = check_constraints(layout, problem, U)
    bases = {disp: (pod(U, NodalL2(layout), comm, tol=cfg["pod_tol"], max_modes=cfg["pod_max_modes"],
                        reorthogonalize=cfg["reorthogonalize"], progress=say, name=disp), uinfo)}
    Phi = bases[disp][0].modes
    dchk.update(check_constraints(layout, problem, U, Phi))
    tick("pod_displacement", t0)

    # ---------------------------------------------------------------- 3. dual PODs
    t0 = time.perf_counter()
    dual_tol = cfg["dual_tol"] if cfg["dual_tol"] is not None else cfg["pod_tol"]
    for n, (S, info) in dual.items():
        bases[n] = (pod(S, IntegL2(layout, info["shape"][2]), comm, tol=dual_tol,
                        max_modes=cfg["dual_max_modes"], reorthogonalize=cfg["reorthogonalize"],
                        progress=say, name=n), info)
    tick("pod_dual", t0)

    # ---------------------------------------------------------------- 4. ECM
    t0 = time.perf_counter()
    eps = ops.mode_strains(layout, Phi)
    sig = stress.reshape(layout.n_ip_local, 6, n_t)
    G, groups = internal_force_integrand(sig, eps)
    del eps
    say(f"  ECM: {G.shape[1]} integrand columns ({n_t} snapshots x {Phi.shape[1]} modes + volume), "
        f"tolerance {cfg['ecm_tol']:g}")
    res = ecm(G, layout.local_dV(), comm, ip_offset=layout.ip_range[0], tol=cfg["ecm_tol"],
              groups=groups, warm_start=cfg["warm_start"], max_points=cfg["ecm_max_points"],
              progress=say)
    del G
    say(f"  ECM: {res.points.size} reduced integration points, max relative error "
        f"{res.error:.3e} ({'converged' if res.converged else 'NOT converged'}) in {res.iterations} steps")
    tick("ecm", t0)

    # ---------------------------------------------------------------- 5.-6. QDEIM, operators
    qfields = cfg["qdeim_fields"] if cfg["qdeim_fields"] is not None else list(dual)
    missing = [n for n in qfields if n not in bases]
    if missing:
        raise ConfigError(f"qdeim field '{missing[0]}' has no POD basis (dual fields: {list(dual)})")
    red = hyper_reduce(layout, problem, {n: (b.modes, info["kind"], info["shape"][2]) for n, (b, info) in bases.items()},
                       disp, res, qfields, comm)
    timings.update(red.pop("timings"))
    say(f"  QDEIM: {red['n_extra']} extra points (zero weight) from {', '.join(qfields) or 'no field'}; "
        f"{red['points'].size} reduced points in total")
    lifting = None
    if lift is not None:
        t0 = time.perf_counter()
        lifting = dict(lift.to_tree(), strain_at_points=ops.strains_at_points(layout, L_own, red["points"]))
        tick("operators", t0)

    pod_tree, distributed = {}, {}
    for n, (b, info) in bases.items():
        c = info["shape"][2]
        start = (layout.node_range[0] if info["kind"] == "nodal" else layout.ip_range[0]) * c
        pod_tree[n] = pod_entry(b, info["kind"], info["n_points"], c, info["components"], info["convention"])
        distributed[f"{prefix}pod/{n}/modes"] = (b.modes, int(start), int(info["n_points"]) * c)
    gappy = {n: dict(cond=d["cond"], rank=d["rank"]) for n, d in red["dual"].items()}
    report = dict(n_snapshots=int(n_t), n_ranks=comm.Get_size(),
                  modes={n: int(b.n_modes) for n, (b, _) in bases.items()},
                  singular_values={n: b.singular_values.tolist() for n, (b, _) in bases.items()},
                  pod_relative_error={n: b.relative_error() for n, (b, _) in bases.items()},
                  n_points=int(red["points"].size), n_ecm_points=int(res.points.size),
                  n_qdeim_extra=int(red["n_extra"]), ecm_error=float(res.error),
                  ecm_converged=bool(res.converged), ecm_iterations=int(res.iterations),
                  gappy=gappy, dirichlet=dchk, timings=timings)
    tree = rom_tree(pod_tree, red, ecm_entry(res, cfg["ecm_tol"], cfg["ecm_stress"], disp), lifting=lifting,
                    settings=dict(cfg), snapshot_times=np.asarray(times, dtype=float),
                    dirichlet=dict(treatment="homogeneous constraints in the modes"
                                   + (", inhomogeneous parts as a lifting" if lift is not None else ""), **dchk),
                    report=stored_report(report))
    return tree, distributed, report


def hyper_reduce(layout, problem, bases: dict, displacement: str, res, qdeim_fields, comm, qdeim=None) -> dict:
    """Steps 5-6 of the offline stage, shared with online enrichment: the reduced points and
    the operators at them.

    bases : {field: (modes (own rows, n_modes), kind "nodal" / "integ", n_comp)} (the
    displacement basis ``displacement`` and the dual bases); res : the
    :class:`.ecm.ECMResult`; qdeim_fields : the dual fields whose QDEIM points are added
    (zero weight; those without a basis are skipped); qdeim : {field: points} given instead
    of computed (enrichment: :func:`.qdeim.deim_extend` keeps the earlier ones). Returns the dict :func:`.rom_store.rom_tree`
    takes: ``points`` (sorted global ips: the ECM points and the QDEIM extras),
    ``weights``, ``is_ecm``, ``qdeim`` {field: points}, ``n_extra``, ``point_data``,
    ``strain_modes`` (n_p, 6, k), ``dual`` {field: {modes_at_points (n_p, n_comp, m), cond,
    rank}} (Gappy-POD operators and their conditioning), ``loads`` (the reduced load vectors,
    :func:`.operators.load_tree`), ``hourglass`` (:func:`.operators.reduced_hourglass`, None
    without hourglass-controlled elements), ``timings`` {qdeim, operators}."""
    t0 = time.perf_counter()
    qpts = dict(qdeim) if qdeim is not None else \
        {n: qdeim_points(bases[n][0], bases[n][2], comm, layout.ip_range[0]) for n in qdeim_fields if n in bases}
    extra = np.setdiff1d(np.unique(np.concatenate([np.zeros(0, np.int64)] + list(qpts.values()))), res.points)
    points = np.concatenate([res.points, extra])
    weights = np.concatenate([res.weights, np.zeros(extra.size)])
    order = np.argsort(points)
    points, weights = points[order], weights[order]
    t_q = time.perf_counter() - t0

    t0 = time.perf_counter()
    Phi = bases[displacement][0]
    dual = {}
    for n, (modes, kind, c) in bases.items():
        if kind != "integ":
            continue
        m = modes.shape[1]
        P = layout.gather_ip_rows(modes.reshape(layout.n_ip_local, c * m), points).reshape(points.size, c, m)
        sv = np.linalg.svd(P.reshape(-1, m), compute_uv=False) if m else np.ones(1)
        dual[n] = dict(modes_at_points=P, cond=float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf"),
                       rank=int(np.sum(sv > 1e-12 * sv[0])) if m else 0)
    out = dict(points=points, weights=weights, is_ecm=np.isin(points, res.points), qdeim=qpts,
               n_extra=int(extra.size), point_data=ops.point_data(layout, points, problem),
               strain_modes=ops.strains_at_points(layout, Phi, points), dual=dual,
               loads=ops.load_tree(ops.reduced_loads(layout, problem, Phi)),
               hourglass=ops.reduced_hourglass(layout, problem, Phi))
    out["timings"] = dict(qdeim=t_q, operators=time.perf_counter() - t0)
    return out


def stored_report(report) -> str:
    """The JSON ``report`` attribute: the report without the (long) singular values."""
    return encode_json({k: v for k, v in report.items() if k != "singular_values"})


def run_offline(store, config=None, comm=None, progress=print) -> dict:
    """Run the offline stage on ``store`` and write ``/rom``; returns a report dict
    (replicated on every rank): modes per field, points, ECM error, timings, settings.

    ``series`` (setting) may be one series, a list of series or a glob pattern
    (``"train_*"``: a training family, :mod:`romnet.offline.training`): one global ROM of
    all their snapshots; ``/rom`` attribute ``series`` is then a JSON list."""
    comm = comm or mpi.comm()
    cfg = load_config(config)
    root = comm.Get_rank() == 0
    say = progress if (root and progress) else (lambda *a, **k: None)
    t_all = time.perf_counter()

    # ---------------------------------------------------------------- 1. read
    t0 = time.perf_counter()
    with CaseStore(store) as st:
        series = resolve_series(st, cfg["series"])
        mesh = st.mesh()
        problem = st.problem() if st.has_problem() else None
        layout = RowLayout(mesh, comm, element_thickness(mesh, problem))
        U, uinfo, dual, stress, times = read_snapshots(st, series, cfg, layout)
    t_read = time.perf_counter() - t0
    what = f"series '{series}'" if isinstance(series, str) else f"{len(series)} series ({', '.join(series)})"
    say(f"offline: {store}: {what}, {U.shape[1]} snapshots, {mesh.n_nodes} nodes, "
        f"{layout.n_ip_total} integration points, {comm.Get_size()} rank(s)")

    # ---------------------------------------------------------------- 2.-6.
    rom, distributed, rep = build_rom_tree(layout, problem, U, uinfo, dual, stress, times, cfg,
                                           comm, say)
    del U, dual, stress
    timings = dict(read=t_read, **rep.pop("timings"))

    # ---------------------------------------------------------------- 7. write
    t0 = time.perf_counter()
    report = dict(store=str(store), series=series, **rep)
    rom["series"] = series
    # report / timings written last (timings of the write itself are in the report only)
    rom["timings"] = timings
    rom["report"] = stored_report(report)
    write_rom(store, rom, distributed, comm)
    timings["write"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all
    report["timings"] = timings
    report["settings"] = cfg
    say("  timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
    return report
