"""Cycle extrapolation: a ROM trained on the first loading cycle(s), run over many cycles,
compared with an independent HF run of all of them (issue 7).

:func:`run_cycle_extrapolation` ``(store, out_dir, settings, progress) -> dict``; every MPI
rank calls it (the HF runs, the offline stage, the online run and the error norms are
distributed; rank 0 writes the files and prints); the returned dict is the same on every
rank.

Input: ``store``, a case store with a mesh and a problem whose time stepping is ONE cycle
(``stepping.times`` from t0 to t0 + P, period P = times[-1] - times[0]). The cycle is made
periodic (:func:`periodic_problem`): every time table and the temperature get period P; a
table or temperature that does not fit in [t0, t0 + P] or does not end the cycle with its
start value (the cycle would jump at its restart) is refused, so is a period other than P.

Steps (files in ``out_dir``):

1. ``train-input.h5`` (mesh + periodic problem, ``cycles = train_cycles``) -> HF run ->
   ``train.h5`` (series ``hifi``; its ``/rom`` is written by step 2);
2. offline stage on ``train.h5`` (``series = "hifi"``, ``pod_tol``, ``ecm_tol``,
   ``ecm_max_points``);
3. online run of the ROM over ``cycles`` cycles (the same problem with ``stepping.cycles =
   cycles``), with adaptive enrichment when ``enrich`` (indicator tolerance ``tolerance``;
   each enrichment is ONE HF increment, counted in ``enrichments``; the enriched ROM
   replaces ``train.h5``'s ``/rom``);
4. ``hf_reference``: ``reference-input.h5`` -> HF run of all ``cycles`` cycles ->
   ``reference.h5``: independent of the ROM (it never sees the enrichment increments);
5. errors of the ROM against it, ``cycles.json``.

Steps 1 and 4 are reused by a rerun with ``reuse`` (default): ``train.json`` /
``reference.json`` hold a fingerprint (SHA-256 of the mesh, the problem definition and the
HF options) and the wall time of the run; a complete run with the same fingerprint is
reused (its time reported, ``*_reused`` true); anything else is run again.

Error measures (the HF reference is b, the ROM a; outputs k = 0 .. cycles x n_inc, matched
by time; output k > 0 belongs to cycle ``ceil(k / n_inc)``):

* ``u_rel_err[k] = ||U_a(k) - U_b(k)|| / max(||U_b(k)||, 1e-2 max_j ||U_b(j)||)``, L2 over
  all nodes and components, ``U_a = Phi a`` (:func:`romnet.metrics.relative_errors`, the
  measure of :func:`romnet.hifi.compare_stores`; here from norms summed over the ranks);
* ``p_rel_err[k]`` the same with the cumulated plastic strain p over ALL integration points
  of the mesh, ``p_a`` the Gappy-POD reconstruction of the online run
  (:meth:`OnlineResult.reconstruct`); p is non-decreasing in time, so in the last cycle the
  denominator is ``||p_b(k)||`` itself;
* per cycle c: the maximum over the outputs of cycle c (``*_rel_err_cycle[c - 1]``);
* **``p_rel_err_last_cycle``** = ``max`` over the n_inc outputs of the last cycle of
  ``||p_rom - p_hf|| / ||p_hf||`` (the acceptance figure of issue 7: <= 1e-2 at cycle 10);
* diagnostics, per cycle: ``p_points_rel_err_cycle`` the same measure at the reduced
  integration points only (the ROM's own internal variables, no reconstruction; ``None``
  when enrichment changed the points), ``p_gappy_hf_rel_err_cycle`` the Gappy-POD of the
  *HF* p from its values at the final ROM's points (what the dual basis can represent at
  best from exact point values), ``indicator_max_cycle``;
* evolution of the HF solution: ``p_max_hf_cycle`` / ``p_norm_hf_cycle`` (max over the
  integration points / L2 norm, at the end of each cycle; ``p_max_rom_cycle`` the same max
  of the reconstructed ROM p, or over the reduced points without HF reference),
  ``p_change_first_to_last`` =
  ``||p_hf(end N) - p_hf(end 1)|| / ||p_hf(end N)||`` (the error of "nothing happens after
  cycle 1": what the 1e-2 bar must beat to be meaningful).

Times (s, wall, rank 0 after a barrier): ``hf_train_s``, ``offline_s``, ``online_s``
(loading the ROM + the online run, enrichment included, no reconstruction),
``hf_reference_s``; ``speedup`` = hf_reference_s / online_s.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import mpi
from ..errors import ConfigError, InputError
from ..metrics import floored_ratio, relative_errors
from ..mpi import allreduce_array
from ..offline.settings import OfflineSettings
from ..online.settings import OnlineSettings
from ..settings import Bool, Int, Num, check_table, defaults, setting

__all__ = [
    "CycleSettings",
    "DEFAULTS",
    "check_settings",
    "cycle_errors",
    "periodic_problem",
    "run_cycle_extrapolation",
]


@dataclass
class CycleSettings:
    """``[cycles]`` of a case.toml (the step cycles)."""
    cycles: int = setting(10, Int(ge=1, le=10**5), "cycles of the online run and of the HF reference")
    train_cycles: int = setting(1, Int(ge=1, le=10**5), "cycles of the HF training run (<= cycles)")
    pod_tol: float = setting(OfflineSettings.pod_tol, Num(gt=0, le=1), "POD tolerance of the ROM ([offline] pod_tol)")
    ecm_tol: float = setting(OfflineSettings.ecm_tol, Num(gt=0, le=1), "ECM tolerance of the ROM ([offline] ecm_tol)")
    ecm_max_points: int = setting(None, Int(ge=1, le=10**9), "cap on the ECM points")
    enrich: bool = setting(False, Bool, "adaptive enrichment of the online run")
    tolerance: float = setting(OnlineSettings.tolerance, Num(gt=0, le=1e6), "indicator tolerance of the enrichment")
    hf_reference: bool = setting(True, Bool, "run the HF reference of all cycles and measure the errors")
    reuse: bool = setting(True, Bool, "reuse complete HF runs of a previous run with the same fingerprint")


#: settings of ``[cycles]`` (case.toml) and their defaults
DEFAULTS = defaults(CycleSettings)


def check_settings(settings=None) -> dict:
    """DEFAULTS updated by ``settings`` (dict or None), validated: an unknown key or a
    value of the wrong type raises :class:`ConfigError` naming the key."""
    cfg = {**DEFAULTS, **check_table({} if settings is None else settings, CycleSettings, None, "cycles",
                                     fill=False)}
    if cfg["train_cycles"] > cfg["cycles"]:
        raise ConfigError(f"[cycles] train_cycles: {cfg['train_cycles']} is more than cycles = {cfg['cycles']}")
    return cfg


# ---------------------------------------------------------------------------- problem
def _check_cyclic(what, times, first, last, t0, period):
    times = np.asarray(times, dtype=float)
    tol = 1e-9 * max(1.0, abs(t0) + period)
    if times.size and (times[0] < t0 - tol or times[-1] > t0 + period + tol):
        raise InputError(f"{what}: defined on [{times[0]:g}, {times[-1]:g}], outside the cycle "
                         f"[{t0:g}, {t0 + period:g}]: it cannot be repeated with period {period:g}")
    first, last = np.asarray(first, dtype=float), np.asarray(last, dtype=float)
    scale = max(float(np.max(np.abs(first), initial=0.0)), float(np.max(np.abs(last), initial=0.0)), 1e-300)
    if np.max(np.abs(first - last), initial=0.0) > 1e-9 * scale:
        raise InputError(f"{what}: its value at the end of the cycle (t={t0 + period:g}) differs from "
                         f"the start (t={t0:g}): the repeated cycle would jump")


def periodic_problem(problem, cycles):
    """Deep copy of ``problem`` with ``stepping.cycles = cycles`` and every time table and
    the temperature periodic with the stepping's period P = times[-1] - times[0]. Raises
    InputError when a table / the temperature is not a cycle of period P (see the module
    docstring)."""
    if problem.stepping is None:
        raise InputError("the problem has no time stepping (one cycle is needed)")
    pb = copy.deepcopy(problem)
    st = pb.stepping
    times = np.asarray(st.times, dtype=float)
    if times.size < 2 or not np.all(np.diff(times) > 0):
        raise InputError("the problem's time stepping must be increasing with at least one increment")
    t0, period = float(times[0]), float(times[-1] - times[0])
    for name, tab in pb.tables.items():
        if tab.period:
            if abs(float(tab.period) - period) > 1e-9 * period:
                raise InputError(f"time table '{name}': period {tab.period:g}, the cycle lasts {period:g}")
            continue
        _check_cyclic(f"time table '{name}'", tab.times, tab(t0), tab(t0 + period), t0, period)
        tab.period = period
    temp = pb.temperature
    if temp is not None:
        if temp.period:
            if abs(float(temp.period) - period) > 1e-9 * period:
                raise InputError(f"temperature: period {temp.period:g}, the cycle lasts {period:g}")
        else:
            _check_cyclic("temperature", temp.times, temp.at(t0), temp.at(t0 + period), t0, period)
            temp.period = period
    st.cycles = int(cycles)
    return pb


# ---------------------------------------------------------------------------- HF runs
def _fingerprint(mesh, problem, options) -> str:
    """SHA-256 of what determines an HF run: mesh (coordinates, connectivity), problem
    definition (every array included), HF options."""
    from dataclasses import asdict

    from ..problem import as_jsonable
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(mesh.coordinates, dtype=float).tobytes())
    for b in mesh.blocks:
        h.update(str(b.etype).encode())
        h.update(np.ascontiguousarray(b.connectivity, dtype=np.int64).tobytes())
    h.update(json.dumps(as_jsonable(problem), sort_keys=True, default=str).encode())
    h.update(json.dumps(asdict(options), sort_keys=True, default=str).encode())
    return h.hexdigest()


def _hf_run(mesh, problem, out_dir, name, reuse, options, comm, say):
    """HF run of ``problem`` into ``out_dir/<name>.h5`` (series ``hifi``), reused when
    ``<name>.json`` has the same fingerprint and the run is complete (else run again from
    the start: the wall time of an interrupted run is unknown). Returns (path, wall
    seconds, reused)."""
    from ..case import Case
    from ..hifi import run_hifi
    from ..online.solver import schedule
    from ..store import CaseStore, write_case
    root = comm.Get_rank() == 0
    out = out_dir / f"{name}.h5"
    inp = out_dir / f"{name}-input.h5"
    side = out_dir / f"{name}.json"
    n_out = len(schedule(problem.stepping))
    state = None
    if root:
        fp = _fingerprint(mesh, problem, options)
        rec = None
        if reuse and side.is_file() and out.is_file():
            try:
                rec = json.loads(side.read_text())
            except (OSError, ValueError):
                rec = None
        if rec is not None and rec.get("fingerprint") == fp:
            try:
                with CaseStore(out) as st:
                    done = st.n_complete("hifi") if "hifi" in st.series_names() else 0
            except Exception:  # noqa: BLE001 - an unreadable store is simply redone
                done = -1
            state = ("reuse", rec) if done == n_out and rec.get("complete") else ("new", None)
        else:
            state = ("new", None)
        if state[0] == "new":
            write_case(inp, Case(mesh, problem, {}, {"source": "romnet.cycles", "run": name}))
            side.write_text(json.dumps(dict(fingerprint=fp, complete=False)))
    state = comm.bcast(state, root=0)
    if state[0] == "reuse":
        return out, float(state[1].get("wall_s", float("nan"))), True
    comm.Barrier()
    t0 = time.perf_counter()
    run_hifi(inp, out, options=options, progress=None, comm=comm)
    comm.Barrier()
    wall = time.perf_counter() - t0
    if root:
        rec = json.loads(side.read_text())
        rec.update(complete=True, wall_s=wall, n_outputs=n_out)
        side.write_text(json.dumps(rec))
    return out, wall, False


# ---------------------------------------------------------------------------- errors
def cycle_errors(res, reference, n_inc, comm=None) -> dict:
    """Errors of an online result ``res`` (:class:`romnet.online.api.OnlineResult`) against
    the ``hifi`` series of the store ``reference`` (same mesh, same output times), per
    output and per cycle (definitions: module docstring). Collective: each rank reads and
    reconstructs its own block of nodes / integration points; norms are summed with one
    Allreduce. Returns plain lists / floats (the same on every rank)."""
    from ..online.reconstruction import Gappy
    from ..store import CaseStore
    comm = comm or mpi.comm()
    model = res.model
    n_t = len(res.times)
    with CaseStore(reference) as st:
        th = np.asarray(st.times("hifi"), dtype=float)
        if th.size != n_t or np.max(np.abs(th - np.asarray(res.times))) > 1e-9 * max(1.0, float(np.max(np.abs(th)))):
            raise InputError(f"the HF reference has {th.size} outputs (t {th[0]:g} .. {th[-1]:g}), the "
                             f"online run {n_t}: not the same schedule", reference)
        n_nodes = st.field_info("hifi", "U")["n_points"]
        n_ip = st.field_info("hifi", "p")["n_points"]
        a, b = mpi.local_range(n_nodes, comm)
        q0, q1 = mpi.local_range(n_ip, comm)
        Ub = st.read_field("hifi", "U", points=slice(a, b))[:, :, :model.dim]
        pb = st.read_field("hifi", "p", points=slice(q0, q1))[:, :, 0]
    Ua = res.U(slice(a, b))
    pa = res.reconstruct("p", slice(q0, q1))[:, :, 0]
    # HF p at the final model's points (assembled from the owners' blocks)
    ip = np.asarray(model.ip, dtype=np.int64)
    mine = (ip >= q0) & (ip < q1)
    p_pts_hf = np.zeros((n_t, ip.size))
    p_pts_hf[:, mine] = pb[:, ip[mine] - q0]
    gap = Gappy(model.dual["p"])
    # local sums: |dU|^2, |U_b|^2, |dp|^2, |p_b|^2 per output, and the HF p at the points (owners)
    loc = np.concatenate([
        np.sum((Ua - Ub) ** 2, axis=(1, 2)), np.sum(Ub ** 2, axis=(1, 2)),
        np.sum((pa - pb) ** 2, axis=1), np.sum(pb ** 2, axis=1), p_pts_hf.ravel()])
    tot = allreduce_array(loc, comm)
    du, ub, dp, pbn = (tot[i * n_t:(i + 1) * n_t] for i in range(4))
    p_pts_hf = tot[4 * n_t:].reshape(n_t, ip.size)
    c_hf = gap.coefficients(p_pts_hf[:, :, None])
    Psi = model.modes("p", slice(q0, q1))                      # (n_loc_ip, m)
    pg = c_hf @ Psi.T
    dg = allreduce_array(np.sum((pg - pb) ** 2, axis=1), comm)
    pmax = allreduce_array(np.array([pb.max(axis=1) if pb.size else np.full(n_t, -np.inf),
                                    pa.max(axis=1) if pa.size else np.full(n_t, -np.inf)]).ravel(), comm, "max")
    pmax_hf, pmax_rom = pmax[:n_t], pmax[n_t:]

    def rel(d2, b2):
        return floored_ratio(np.sqrt(d2), np.sqrt(b2))

    eu, ep, eg = rel(du, ub), rel(dp, pbn), rel(dg, pbn)
    pv = res.point_values.get("p", [])
    same_points = not res.enrichments and all(np.shape(v)[0] == ip.size for v in pv) and len(pv) == n_t
    epts = None
    if same_points:
        pr = np.array([np.asarray(v)[:, 0] for v in pv])
        epts = relative_errors(pr, p_pts_hf)
    n_cyc = (n_t - 1) // n_inc

    def per_cycle(x, f=np.max):
        return None if x is None else [float(f(x[1 + c * n_inc:1 + (c + 1) * n_inc])) for c in range(n_cyc)]

    ends = [(c + 1) * n_inc for c in range(n_cyc)]
    pn = np.sqrt(pbn)
    # ||p_hf(end N) - p_hf(end 1)|| / ||p_hf(end N)||
    k1, kN = ends[0], ends[-1]
    dch = allreduce_array(np.array([np.sum((pb[kN] - pb[k1]) ** 2)]), comm)[0]
    return dict(
        u_rel_err=eu.tolist(), p_rel_err=ep.tolist(),
        u_rel_err_cycle=per_cycle(eu), p_rel_err_cycle=per_cycle(ep),
        p_points_rel_err_cycle=per_cycle(epts), p_gappy_hf_rel_err_cycle=per_cycle(eg),
        indicator_max_cycle=per_cycle(np.asarray(res.indicator)),
        p_max_hf_cycle=[float(pmax_hf[k]) for k in ends], p_max_rom_cycle=[float(pmax_rom[k]) for k in ends],
        p_norm_hf_cycle=[float(pn[k]) for k in ends],
        p_change_first_to_last=float(math.sqrt(dch) / pn[kN]) if pn[kN] > 0 else float("nan"),
        u_rel_err_max=float(eu.max()), p_rel_err_max=float(ep.max()),
        u_rel_err_last_cycle=float(eu[1 + (n_cyc - 1) * n_inc:].max()),
        p_rel_err_last_cycle=float(ep[1 + (n_cyc - 1) * n_inc:].max()))


# ---------------------------------------------------------------------------- driver
def run_cycle_extrapolation(store, out_dir, settings: dict, progress=print) -> dict:
    """Train a ROM on ``train_cycles`` cycle(s) of the problem of ``store``, run it over
    ``cycles`` cycles, compare with an HF run of ``cycles`` cycles (module docstring).
    Collective (every rank calls it). Writes ``out_dir/cycles.json``; returns the dict:

    settings, cycles, train_cycles, n_increments (per cycle), period (s), n_outputs;
    rom {modes, n_points, n_ecm_points, ecm_error, ecm_converged} (offline, before any
    enrichment); enrichments (count of HF increments of the online run), enrichment_log;
    online_iterations, online_cuts; times {hf_train_s, offline_s, online_s, online_solve_s,
    hf_reference_s}, hf_train_reused, hf_reference_reused, speedup; with ``hf_reference``:
    the errors of :func:`cycle_errors` (u/p_rel_err per output, ``*_cycle`` lists of length
    ``cycles``, u/p_rel_err_max, u/p_rel_err_last_cycle, p evolution); without it these are
    None and only ``p_max_rom_cycle`` is given."""
    from ..hifi import SolverOptions
    from ..offline.pipeline import run_offline
    from ..online import load_rom
    from ..store import CaseStore
    cfg = check_settings(settings)
    comm = mpi.comm()
    root = comm.Get_rank() == 0
    say = progress if (root and progress) else (lambda *a, **k: None)
    out_dir = Path(out_dir)
    if root:
        out_dir.mkdir(parents=True, exist_ok=True)
    comm.Barrier()
    with CaseStore(store) as st:
        if not st.has_problem():
            raise InputError("the store has no problem definition (mesh + one cycle are needed)", store)
        mesh, problem = st.mesh(), st.problem()
    n_cyc, n_train = int(cfg["cycles"]), int(cfg["train_cycles"])
    pb_train = periodic_problem(problem, n_train)
    pb_run = periodic_problem(problem, n_cyc)
    times = np.asarray(problem.stepping.times, dtype=float)
    n_inc, period = times.size - 1, float(times[-1] - times[0])
    hf_opts = SolverOptions(verbose=False)
    say(f"cycles: {store}: cycle of {period:g} s, {n_inc} increments; ROM trained on {n_train} "
        f"cycle(s), run over {n_cyc}; output {out_dir}")

    # 1. HF training run
    train, t_train, train_reused = _hf_run(mesh, pb_train, out_dir, "train", cfg["reuse"], hf_opts, comm, say)
    say(f"cycles: HF training run ({n_train} cycle(s), {n_train * n_inc} increments): {t_train:.2f} s"
        + (" (reused)" if train_reused else "") + f" -> {train}")

    # 2. offline
    comm.Barrier()
    t0 = time.perf_counter()
    off = dict(series="hifi", pod_tol=float(cfg["pod_tol"]), ecm_tol=float(cfg["ecm_tol"]))
    if cfg["ecm_max_points"] is not None:
        off["ecm_max_points"] = int(cfg["ecm_max_points"])
    rep = run_offline(train, off, comm=comm, progress=None)
    comm.Barrier()
    t_off = time.perf_counter() - t0
    rom_info = dict(modes=rep["modes"], n_points=rep["n_points"], n_ecm_points=rep["n_ecm_points"],
                    n_qdeim_extra=rep["n_qdeim_extra"], ecm_error=rep["ecm_error"],
                    ecm_converged=rep["ecm_converged"], ecm_iterations=rep["ecm_iterations"])
    say(f"cycles: offline: {', '.join(f'{k} {v}' for k, v in rep['modes'].items())} modes; "
        f"{rep['n_ecm_points']} ECM + {rep['n_qdeim_extra']} QDEIM points, ECM error {rep['ecm_error']:.2e} "
        f"({'converged' if rep['ecm_converged'] else 'NOT converged'}, {rep['ecm_iterations']} steps); "
        f"{t_off:.2f} s")
    if not rep["ecm_converged"]:
        say(f"cycles: WARNING: ECM stopped at {rep['ecm_error']:.2e} > ecm_tol {cfg['ecm_tol']:g} (greedy "
            "step budget 4 x ecm_max_points + 20, default ecm_max_points = number of integrand columns): "
            "raise ecm_max_points")

    # 3. online over all cycles
    comm.Barrier()
    t0 = time.perf_counter()
    rom = load_rom(train, comm=comm)

    def online_say(line):
        if "enrich" in line or line.startswith("online"):
            say("  " + line.strip())
    res = rom.run(loading=pb_run, enrich=bool(cfg["enrich"]), tol=float(cfg["tolerance"]),
                  progress=online_say, learn=True)
    comm.Barrier()
    t_on = time.perf_counter() - t0
    say(f"cycles: online, {n_cyc} cycles ({n_cyc * n_inc} increments): {t_on:.2f} s, "
        f"{sum(res.iterations)} Newton iterations, {sum(res.cuts)} cut(s), "
        f"{res.hf_increments} enrichment(s)")

    out = dict(settings=cfg, cycles=n_cyc, train_cycles=n_train, n_increments=n_inc, period=period,
               n_outputs=len(res.times), rom=rom_info, enrichments=int(res.hf_increments),
               enrichment_log=[{k: v for k, v in e.items()
                                if k in ("increment", "time", "indicator_before", "indicator_after",
                                         "modes_after", "points_after", "ecm_error", "hf_iterations")}
                               for e in res.enrichments],
               online_iterations=int(sum(res.iterations)), online_cuts=int(sum(res.cuts)),
               store=str(store), train_store=str(train), reference_store=None)
    tim = dict(hf_train_s=t_train, offline_s=t_off, online_s=t_on, online_solve_s=float(sum(res.seconds)),
               hf_reference_s=None)
    keys = ("u_rel_err", "p_rel_err", "u_rel_err_cycle", "p_rel_err_cycle", "p_points_rel_err_cycle",
            "p_gappy_hf_rel_err_cycle", "indicator_max_cycle", "p_max_hf_cycle", "p_norm_hf_cycle",
            "p_change_first_to_last", "u_rel_err_max", "p_rel_err_max", "u_rel_err_last_cycle",
            "p_rel_err_last_cycle")
    out.update({k: None for k in keys})
    out["p_max_rom_cycle"] = _rom_p_max(res, n_inc, n_cyc)
    ref_reused = False
    if cfg["hf_reference"]:
        # 4. independent HF reference over all cycles
        ref, t_ref, ref_reused = _hf_run(mesh, pb_run, out_dir, "reference", cfg["reuse"], hf_opts, comm, say)
        tim["hf_reference_s"] = t_ref
        out["reference_store"] = str(ref)
        say(f"cycles: HF reference, {n_cyc} cycles ({n_cyc * n_inc} increments): {t_ref:.2f} s"
            + (" (reused)" if ref_reused else "") + f" -> {ref}")
        # 5. errors
        out.update(cycle_errors(res, ref, n_inc, comm))
    out["times"] = tim
    out["hf_train_reused"], out["hf_reference_reused"] = train_reused, ref_reused
    out["speedup"] = (tim["hf_reference_s"] / t_on) if tim["hf_reference_s"] and t_on > 0 else None
    _report(out, say)
    if root:
        (out_dir / "cycles.json").write_text(json.dumps(out, indent=1, default=_jsonable))
    comm.Barrier()
    return out


def _rom_p_max(res, n_inc, n_cyc):
    """Max of p over the ROM's reduced points at the end of each cycle (replicated: the
    point values of an online result are)."""
    pv = res.point_values.get("p")
    if not pv:
        return None
    return [float(np.max(pv[(c + 1) * n_inc])) for c in range(n_cyc)]


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _report(out, say):
    if out["p_rel_err_cycle"] is None:
        pm = out["p_max_rom_cycle"] or []
        say("cycles: no HF reference; ROM p_max (reduced points) at the end of each cycle: "
            + " ".join(f"{v:.4e}" for v in pm))
        return
    say("  cycle  u_rel_err  p_rel_err  p@points  gappy(HF p)  indicator  p_max HF    p_max ROM   ||p|| HF")

    def f(x):
        return "       -" if x is None else f"{x:9.2e}"
    for c in range(out["cycles"]):
        pts = out["p_points_rel_err_cycle"][c] if out["p_points_rel_err_cycle"] else None
        say(f"  {c + 1:5d}  {out['u_rel_err_cycle'][c]:9.2e}  {out['p_rel_err_cycle'][c]:9.2e}  {f(pts)}  "
            f"{out['p_gappy_hf_rel_err_cycle'][c]:11.2e}  {out['indicator_max_cycle'][c]:9.2e}  "
            f"{out['p_max_hf_cycle'][c]:.4e}  {out['p_max_rom_cycle'][c]:.4e}  {out['p_norm_hf_cycle'][c]:.4e}")
    t = out["times"]
    say(f"cycles: HF p changes by {out['p_change_first_to_last']:.2e} (relative L2) from the end of cycle 1 "
        f"to the end of cycle {out['cycles']}")
    say(f"cycles: last cycle ({out['cycles']}): p_rel_err {out['p_rel_err_last_cycle']:.3e}, u_rel_err "
        f"{out['u_rel_err_last_cycle']:.3e}; {out['enrichments']} enrichment(s); HF {t['hf_reference_s']:.2f} s "
        f"vs online {t['online_s']:.2f} s: speed-up {out['speedup']:.1f}x")
    say(f"p_rel_err_last_cycle={out['p_rel_err_last_cycle']:.3e} u_rel_err_last_cycle={out['u_rel_err_last_cycle']:.3e}")
