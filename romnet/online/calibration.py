"""Calibration of the online error indicator on validation runs with HF references.

:func:`calibrate_rom` runs the ROM of a store on validation loadings whose HF solution is
known, records per increment the indicator ``eta`` (:class:`.indicator.PIndicator`) and
the true errors, fits ``indicator -> estimated error`` (:func:`.indicator.calibrate`,
log-log least squares), says how well it predicts (in-sample and leave-one-run-out), and
stores the mapping at ``/rom/calibration`` (``docs/rom-schema.md``; storage:
:mod:`romnet.offline.calibration_store`), from where every later
online run reports an estimated error per increment (``OnlineResult.estimated_error``) and
can enrich on it (``run(..., criterion="estimate")``).

Validation runs (:class:`ValidationSet`):

* stores (``validation=[A.h5, ...]``): each holds a loading (``/problem``, same mesh as
  the ROM) and an HF result series with ``U`` and ``p`` (``series``; default ``hifi`` --
  what ``romnet hifi`` writes -- else the store's only series holding both). The ROM runs
  at that series' times;
* generated (``samples=N``): N temperature fields from the training sampler (the store's
  ``/training`` sampler, stepping and seed when present, else the default
  :class:`romnet.sampling.HotSpotSampler` and the problem's stepping), seed sequence
  ``(seed, i)`` with ``seed`` default ``training seed + 1000`` so the validation fields are
  not training fields; the HF reference is romnet's HF solver (in memory). ``save_runs=DIR``
  writes each as ``DIR/val_NNN.h5`` (loading + series ``hifi``), reusable as stores.

True errors at output j >= 1 (the state at output 0 is the initial one; full fields, so a
calibration costs O(mesh) per increment, unlike the indicator):

* ``error_U[j] = ||U_rom(t_j) - U_hf(t_j)|| / ||U_hf(t_j)||`` (Euclidean over all nodal
  DOF), NaN where ``U_hf(t_j) = 0``;
* ``error_p[j] = ||p_rom(t_j) - p_hf(t_j)|| / max(||p_hf(t_j)||, 1e-2 max_k ||p_hf(t_k)||)``
  (Euclidean over all integration points, ``p_rom`` by Gappy-POD; the floor keeps nearly
  elastic increments meaningful), NaN for a run without plasticity.

Prediction quality: for each increment the factor ``max(est / err, err / est)``; reported
as median / 90th percentile / max, in sample (the fit on all runs) and leave-one-run-out
(each run predicted by the fit of the other runs: what to expect on a new loading).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import mpi
from ..errors import InputError
from ..metrics import relative_errors as floored_errors
from ..offline.calibration_store import write_calibration
from ..store import CaseStore
from .indicator import calibrate, estimate_error

__all__ = ["ValidationRun", "calibrate_rom", "run_errors", "fit_errors", "quality", "relative_errors",
           "prediction_factors", "validation_from_store", "validation_from_samples", "ERROR_KINDS"]

ERROR_KINDS = ("U", "p")


@dataclass
class ValidationRun:
    """One validation loading and its HF reference (reference arrays on rank 0 only).

    loading: what :meth:`OnlineROM.run` accepts (store path or Problem); times (n_t,);
    U (n_t, n_nodes, dim), p (n_t, n_ip) HF values (None on ranks > 0)."""
    name: str
    source: str
    loading: object
    times: np.ndarray
    U: np.ndarray | None = None
    p: np.ndarray | None = None
    info: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- validation runs
def _pick_series(st, path, series):
    names = st.series_names()
    if series is not None:
        if series not in names:
            raise InputError(f"no result series '{series}' (series: {names})", path)
        return series
    if "hifi" in names:
        return "hifi"
    ok = [n for n in names if "U" in st.field_names(n, "nodal") and "p" in st.field_names(n, "integ")]
    if len(ok) != 1:
        raise InputError(f"give --series: {len(ok)} series hold U and p ({ok}); expected 'hifi' or exactly one",
                         path)
    return ok[0]


def validation_from_store(path, series=None, comm=None) -> ValidationRun:
    """A validation run from a case store: its ``/problem`` and HF series ``series``."""
    comm = comm or mpi.comm()
    path = Path(path)
    if not path.exists():
        raise InputError("validation store not found", path)
    with CaseStore(path) as st:
        if not st.has_problem():
            raise InputError("the validation store has no problem definition (the loading)", path)
        name = _pick_series(st, path, series)
        for f, kind in (("U", "nodal"), ("p", "integ")):
            if f not in st.field_names(name, kind):
                raise InputError(f"series '{name}' has no {kind} field '{f}' (needed as HF reference)", path)
        times = np.asarray(st.times(name), dtype=float)
        U = p = None
        if comm.Get_rank() == 0:
            U = np.asarray(st.read_field(name, "U"), dtype=float)
            p = np.asarray(st.read_field(name, "p"), dtype=float).reshape(len(times), -1)
    return ValidationRun(path.stem, f"{path}:{name}", str(path), times, U, p, {"series": name})


def validation_from_samples(store, n, seed=None, save_dir=None, hf_options=None, comm=None,
                            progress=None) -> list:
    """``n`` validation runs with temperatures from the training sampler (module
    docstring); HF references by :func:`romnet.hifi.hf_outputs`. Collective."""
    from ..hifi import hf_outputs
    from ..offline.training import training_family
    from ..sampling import HotSpotSampler, sample_parameters, temperature_field, with_temperature
    comm = comm or mpi.comm()
    root = comm.Get_rank() == 0
    say = progress if (progress and root) else (lambda *a, **k: None)
    with CaseStore(store) as st:
        if not st.has_problem():
            raise InputError("the store has no problem definition: --samples needs one", store)
        mesh, base = st.mesh(), st.problem()
        fam = training_family(st)
    sampler = fam["sampler"] if fam else HotSpotSampler(dim=mesh.dim)
    tseed, times = (fam["seed"], fam["stepping_times"]) if fam else (None, None)
    seed = (tseed + 1000 if tseed is not None else 1000) if seed is None else int(seed)
    if times is not None:
        base.stepping.times = np.asarray(times, dtype=float)
    if base.stepping is None:
        raise InputError("the problem has no time stepping", store)
    runs = []
    for i in range(int(n)):
        params = sample_parameters([seed, i], sampler)
        T = temperature_field(mesh.coordinates, params)
        pb = with_temperature(base, T, sampler.t_ref)
        hf = hf_outputs(mesh, pb, fields=("U", "p"), comm=comm, options=hf_options)
        U = hf.fields["U"] if root else None
        p = hf.fields["p"][..., 0] if root else None
        name = f"val_{i:03d}"
        run = ValidationRun(name, f"sample (seed {seed}, {i})", pb, hf.times, U, p,
                            {"parameters": params, "seed": [seed, i]})
        if save_dir is not None:
            run.info["saved"] = str(_save_run(Path(save_dir) / f"{name}.h5", mesh, pb, run, comm))
        say(f"  validation {name}: hot spot {params['amplitude']:.0f} deg, width {params['width']:.2f}; "
            f"HF {len(hf.times) - 1} increments, {hf.wall_time:.2f} s")
        runs.append(run)
    return runs


def _save_run(path, mesh, pb, run, comm):
    """Write a generated validation run as a case store (loading + series 'hifi')."""
    from ..case import Case
    from ..snapshots import Field, SnapshotSeries
    from ..store import write_case
    if comm.Get_rank() == 0:
        n_t = len(run.times)
        s = SnapshotSeries(np.asarray(run.times), increments=np.arange(n_t), cycles=np.ones(n_t, int),
                           source="romnet calibrate (HF)")
        s.nodal["U"] = Field("U", [f"U{i + 1}" for i in range(mesh.dim)], run.U)
        s.integ["p"] = Field("p", ["p"], run.p[..., None])
        path.parent.mkdir(parents=True, exist_ok=True)
        write_case(path, Case(mesh, pb, {"hifi": s}, {"code": "romnet calibrate"}))
    comm.Barrier()
    return path


# --------------------------------------------------------------------------- errors
def relative_errors(U, Uref, p, pref):
    """(error_U, error_p) per output j >= 1 (module docstring), arrays (n_t - 1,): the
    errors of :func:`romnet.metrics.relative_errors`, U without a floor, p floored; NaN
    where the reference vanishes."""
    eU = floored_errors(U, Uref, floor=0.0)
    ep = floored_errors(p, np.asarray(pref, dtype=float).reshape(len(pref), -1))
    eU[~np.isfinite(eU)] = np.nan
    ep[~np.isfinite(ep)] = np.nan
    return eU[1:], ep[1:]


def run_errors(rom, run: ValidationRun, cluster=None, options=None, comm=None) -> dict:
    """Run the ROM on a validation loading: {'indicators' {field: (n_t - 1,)}, 'error_U',
    'error_p', 'times' (per increment, (n_t - 1,)), 'selection', 'seconds'}; errors
    replicated."""
    comm = comm or mpi.comm()
    t0 = time.perf_counter()
    res = rom.run(run.loading, times=run.times, options=options, cluster=cluster)
    U = res.U()
    p = res.reconstruct("p")[..., 0]
    eU = ep = None
    if comm.Get_rank() == 0:
        if run.U.shape != U.shape or run.p.shape != p.shape:
            raise InputError(f"{run.source}: HF reference shapes U {run.U.shape}, p {run.p.shape} differ from "
                             f"the ROM's U {U.shape}, p {p.shape} (same mesh and outputs needed)")
        eU, ep = relative_errors(U, run.U, p, run.p)
    if comm.Get_size() > 1:
        eU, ep = comm.bcast((eU, ep), root=0)
    return dict(indicators={n: np.asarray(v[1:], dtype=float) for n, v in res.indicators.items()},
                error_U=eU, error_p=ep, times=np.asarray(res.times[1:]), selection=res.selection,
                seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------- quality
def prediction_factors(cal, indicator, error):
    """Per increment ``max(est/err, err/est)`` where both are > 0 (NaN elsewhere)."""
    eta, err = np.asarray(indicator, dtype=float), np.asarray(error, dtype=float)
    est = estimate_error(cal, eta)
    ok = (est > 0) & (err > 0) & np.isfinite(err)
    f = np.full(eta.shape, np.nan)
    f[ok] = np.maximum(est[ok] / err[ok], err[ok] / est[ok])
    return f


def _stats(f):
    f = np.asarray(f, dtype=float)
    f = f[np.isfinite(f)]
    if not f.size:
        return dict(n=0, median=float("nan"), p90=float("nan"), max=float("nan"))
    return dict(n=int(f.size), median=float(np.median(f)), p90=float(np.percentile(f, 90)), max=float(f.max()))


def quality(eta, error, run_index) -> dict:
    """Factor statistics of the fit of ``error`` on ``eta``: in sample (fit on all runs)
    and leave-one-run-out (each run predicted by the fit of the other runs)."""
    eta, error, run_index = np.asarray(eta), np.asarray(error), np.asarray(run_index)
    cal = calibrate(eta, error)
    loo = np.full(eta.shape, np.nan)
    runs = np.unique(run_index)
    if runs.size > 1:
        for r in runs:
            m = run_index == r
            loo[m] = prediction_factors(calibrate(eta[~m], error[~m]), eta[m], error[m])
    return dict(in_sample=_stats(prediction_factors(cal, eta, error)), leave_one_run_out=_stats(loo))


def fit_errors(indicators: dict, errors: dict, run_index) -> tuple:
    """For each error kind, the fit on each indicator field and the chosen one.

    indicators {field: (n,)}, errors {kind: (n,)}: per validation increment. The chosen
    indicator of a kind is the one with the smallest 90th percentile of the
    leave-one-run-out factor (the best r2 with a single run). Returns (fits {kind: fit dict
    + 'indicator'}, quality {kind: {field: {'in_sample', 'leave_one_run_out', 'fit'}}})."""
    fits, qual = {}, {}
    for kind, err in errors.items():
        qual[kind] = {}
        for name, eta in indicators.items():
            q = quality(eta, err, run_index)
            q["fit"] = calibrate(eta, err)
            qual[kind][name] = q

        def score(name):
            q = qual[kind][name]
            v = q["leave_one_run_out"]["p90"]
            if np.unique(run_index).size < 2:   # no held-out check possible: best fit
                v = -q["fit"]["r2"]
            return v if np.isfinite(v) else np.inf
        best = min(qual[kind], key=score)
        fits[kind] = dict(qual[kind][best]["fit"], indicator=best)
    return fits, qual


# --------------------------------------------------------------------------- main entry
def calibrate_rom(store, validation=(), samples=0, seed=None, series=None, cluster=None, write=True,
                  report=None, save_runs=None, options=None, hf_options=None, comm=None,
                  progress=None) -> dict:
    """Calibrate the indicator of the ROM of ``store`` (module docstring). Collective.

    validation : case-store paths (loading + HF series ``series``); samples : number of
    generated validation runs (training sampler, ``seed``); cluster : passed to
    :meth:`OnlineROM.run` (None: the classifier's choice with local ROMs);
    write : store the mapping at ``/rom/calibration``; report : path prefix of the table
    (``.txt``), fit (``.json``) and plot (``.png``). Returns the calibration dict
    (``fits`` {kind: fit}, ``quality``, per-increment arrays, ``runs``, ``paths``)."""
    from .api import load_rom
    comm = comm or mpi.comm()
    say = progress if (progress and comm.Get_rank() == 0) else (lambda *a, **k: None)
    validation = [validation] if isinstance(validation, (str, Path)) else list(validation or [])
    if not validation and not samples:
        raise InputError("calibration needs validation runs: give validation stores or samples > 0", store)
    rom = load_rom(store, comm=comm)
    ind_field = "p"
    sources = [validation_from_store(v, series, comm) for v in validation]
    if samples:
        say(f"calibrate: generating {samples} validation run(s) with the training sampler")
        sources += validation_from_samples(store, samples, seed, save_runs, hf_options, comm, progress)
    rows = dict(error_U=[], error_p=[], time=[], run=[], increment=[])
    inds = {}
    runs = []
    for r, run in enumerate(sources):
        out = run_errors(rom, run, cluster, options, comm)
        n = out["times"].size
        for name, v in out["indicators"].items():
            inds.setdefault(name, []).append(v)
        rows["error_U"].append(out["error_U"])
        rows["error_p"].append(out["error_p"])
        rows["time"].append(out["times"])
        rows["run"].append(np.full(n, r))
        rows["increment"].append(np.arange(1, n + 1))
        eta = out["indicators"].get(ind_field, np.zeros(n))
        runs.append(dict(name=run.name, source=run.source, increments=n, rom=out["selection"].get("label"),
                         max_indicator=float(np.nanmax(eta)) if n else 0.0,
                         max_error_U=float(np.nanmax(out["error_U"])) if n else 0.0,
                         max_error_p=float(np.nanmax(out["error_p"])) if n else 0.0,
                         **{k: v for k, v in run.info.items() if k in ("seed", "series", "saved")}))
        say(f"  {run.name}: {n} increments, ROM {out['selection'].get('label')}, indicator max "
            f"{runs[-1]['max_indicator']:.2e}, U error max {runs[-1]['max_error_U']:.2e}, "
            f"{out['seconds']:.2f} s")
    if len(sources) < 2:
        say("calibrate: warning: a single validation run -- no leave-one-run-out check of the mapping; "
            "use several runs")
    arr = {k: np.concatenate(v) if v else np.zeros(0) for k, v in rows.items()}
    inds = {k: np.concatenate(v) for k, v in inds.items()}
    if ind_field not in inds:
        raise InputError(f"the ROM has no '{ind_field}' dual basis: no indicator to calibrate", store)
    errs = {k: arr[f"error_{k}"] for k in ERROR_KINDS}
    fits, qual = fit_errors(inds, errs, arr["run"])
    model = rom.model
    cal = dict(indicator_field=ind_field, fits=fits, quality=qual, runs=runs, indicators=inds,
               indicator=inds[ind_field], cluster="auto" if cluster is None else cluster,
               rom_modes=model.n_modes, rom_points=model.n_points,
               enrichments=int(model.tree.get("enrichment", {}).get("count", 0)), **arr)
    for k in ERROR_KINDS:
        f = fits[k]
        q = qual[k][f["indicator"]]
        say(f"calibrate: {k} error ~ {10 ** f['intercept']:.3g} * eta_{f['indicator']}^{f['slope']:.3f} "
            f"(r2 {f['r2']:.3f}, {f['n']} increments); factor max(est/err, err/est) median / 90% / max: "
            f"in sample {q['in_sample']['median']:.2f} / {q['in_sample']['p90']:.2f} / {q['in_sample']['max']:.2f}, "
            f"leave-one-run-out {q['leave_one_run_out']['median']:.2f} / {q['leave_one_run_out']['p90']:.2f} / "
            f"{q['leave_one_run_out']['max']:.2f}")
    if write:
        write_calibration(store, cal, comm)
        say(f"calibrate: mapping stored at {store}:/rom/calibration")
    if report is not None and comm.Get_rank() == 0:
        from .indicator import calibration_table
        cal["paths"] = calibration_table(cal, report)
        say("calibrate: wrote " + ", ".join(str(p) for p in cal["paths"].values() if p))
    return cal
