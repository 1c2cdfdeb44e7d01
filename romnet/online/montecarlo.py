"""Online Monte Carlo over new temperature fields (:func:`run_montecarlo`; the step
``online`` of ``romnet run`` with ``[online] samples``, settings
:class:`romnet.online.settings.OnlineSettings`).

Sample ``i`` (0 .. samples-1): the temperature field of the case's sampler with the seed
sequence ``(seed, i)`` (:func:`romnet.sampling.sample_parameters`; the training family uses
``([training] seed, i)``: keep the two seeds different), put into the store's problem with
:func:`romnet.sampling.with_temperature` (same loads, materials and stepping). Then:

1. the ROM chosen by ``[online] cluster`` runs on it: ``"classifier"`` (default) the local
   ROM the stored classifier predicts from the field (the global ROM when the store has no
   local ROMs), ``"global"`` the global ROM, an index that local ROM;
2. with ``enrich = true``, adaptive enrichment where the criterion exceeds its tolerance
   (``criterion``: the p indicator at ``tolerance`` and the stress indicator at
   ``stress_tolerance``, :mod:`romnet.online.indicator`, or the estimated / learned errors):
   one HF increment enriches the ROM that runs, global or local (:mod:`.enrichment`); a
   local ROM whose reduced Newton fails falls back to the global ROM (``fallback``, both run
   times counted). With ``[learning] learn`` (default) the sample's enrichments are kept as
   a new ROM version of the store, so the next samples start from the improved ROM;
   ``learn = false``: each sample starts from the stored ROM (reproducible, independent
   samples). Then ``holdout`` new samples run on the frozen learned ROM with HF
   references (:func:`run_holdout`);
3. the first ``hf_references`` samples are also run with romnet's HF solver at the ROM's
   output times; per output k (b the HF reference, a the ROM: ``U = Phi a``, p by
   Gappy-POD over every integration point) the relative error of
   :func:`romnet.metrics.relative_errors` (as :func:`romnet.hifi.compare_stores`), and the
   wall-time speed-up HF / ROM of that sample.

Returned (and written by ``romnet run`` as ``out/<name>/montecarlo.json``): ``{"settings",
"rom_load_s", "samples": [...], "summary"}``; each sample: ``index, seed, temperature_max, hot_spot (amplitude, center,
width), rom ("local c" / "global"), cluster, predicted, fallback, wall_time_s, solve_s,
increments, newton_iterations, cuts, times, indicator (per output), indicator_max,
enrichments`` (+ ``new_local_rom``: the local ROM it started, :mod:`.new_local_rom`); a sample whose reduced Newton failed (even after the
fallback) keeps ``index, seed, temperature_max, rom = "failed", failed`` (the message),
``fallback, wall_time_s`` and gets no HF reference; with an HF reference also ``hf_wall_time_s,
hf_iterations, u_rel_err, p_rel_err (per output), u_rel_err_max, p_rel_err_max, speedup``.

A sample the classifier sent to a local ROM that does not represent it (its reduced Newton
failed there, or it needed ``[learning] new_local_rom_after`` enrichments of it) starts a new
local ROM while learning (:mod:`.new_local_rom`; ``new_local_rom``, ``max_local_roms``).
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import ConvergenceError
from ..metrics import relative_errors as floored_errors
from ..settings import defaults
from ..offline.rom_store import resolve_version
from .new_local_rom import unrepresented
from .settings import LearningSettings, OnlineSettings, cluster_choice, solver_options

__all__ = ["run_montecarlo", "run_sample", "hf_reference", "relative_errors", "summarize"]


#: phases of an enrichment timed in its log (``<phase>_seconds``): law states at t_n, the HF
#: increment, the basis extension, ECM + QDEIM + operators (``rebuild``)
ENRICHMENT_PARTS = ("state", "hf", "basis", "rebuild")


def relative_errors(a, b) -> np.ndarray:
    """Per-output relative errors of ``a`` against the reference ``b`` (both (n_t, ...),
    :func:`romnet.metrics.relative_errors`); all NaN when ``a`` is None (no such field)."""
    return np.full(len(b), np.nan) if a is None else floored_errors(a, b)


def _max(v):
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else float("nan")


def hf_reference(mesh, problem, times, comm):
    """HF run of ``problem`` at output ``times`` (times[0] the initial state). Returns
    (U (n_t, n_nodes, dim), p (n_t, n_ip) on rank 0 (None elsewhere), wall s, Newton iterations)."""
    from ..hifi import hf_outputs
    run = hf_outputs(mesh, problem, times, ("U", "p"), comm)
    if comm.Get_rank() != 0:
        return None, None, run.wall_time, run.iterations
    return run.fields["U"][:, :, :mesh.dim], run.fields["p"][..., 0], run.wall_time, run.iterations


def rom_fields(res):
    """(U (n_t, n_nodes, dim), p (n_t, n_ip)) of an online result (p by Gappy-POD).
    Collective: an enriched ROM's modes are gathered from every rank. p is None when the
    ROM has no p basis."""
    return res.U(), (res.reconstruct("p")[..., 0] if "p" in res.gappy else None)


def _attempt(run):
    """(result, None) of ``run()``, or (None, message) when the reduced Newton solver
    failed (ConvergenceError: raised on every rank alike, the reduced system is replicated)."""
    try:
        return run(), None
    except ConvergenceError as exc:
        return None, str(exc)


def _criterion_max(res, criterion) -> float:
    """Largest value of the enrichment criterion over a run's outputs."""
    if criterion == "estimate":
        return float(np.max(res.estimated_error.get("U", [np.inf])))
    return float(np.max(res.indicator))


def run_sample(rom, pb, on, opts, comm, enrich=None):
    """The ROM run of one sample (module docstring, steps 1-2); ``on`` the ``[online]``
    settings (``enrich``: override of ``on["enrich"]``, e.g. False for held-out runs).
    Returns (result or None if it failed, the selection of the ROM chosen first (its
    ``cluster`` / ``predicted``: which local ROM the classifier chose, also after a fallback),
    wall seconds, fallback, failure message or None). The ROM that runs is the one enriched (global or local); with
    enrichment, a local ROM whose reduced Newton fails falls back to the global ROM (without,
    the failure is recorded)."""
    cluster = cluster_choice(on["cluster"])
    criterion = on.get("criterion", OnlineSettings.criterion)
    enrich = bool(on["enrich"]) if enrich is None else bool(enrich)
    kw = dict(enrich=enrich, tol=float(on["tolerance"]), stress_tol=on.get("stress_tolerance"), options=opts,
              criterion=criterion)
    if criterion == "learned":
        kw.update(error_tol=float(on.get("error_tolerance", OnlineSettings.error_tolerance)),
                  p_error_tol=float(on.get("p_error_tolerance", OnlineSettings.p_error_tolerance)))
    comm.Barrier()
    t0 = time.perf_counter()
    model, chosen = rom.selection(pb, cluster)
    fallback = False
    res, failure = _attempt(lambda: rom.run(pb, cluster=cluster, **kw))
    if res is None and model.is_local and enrich:
        fallback = True
        res, failure = _attempt(lambda: rom.run(pb, cluster="global", **kw))
    comm.Barrier()
    return res, chosen, time.perf_counter() - t0, fallback, failure


def loaded_outputs(problem, times) -> np.ndarray:
    """(n_t,) bool: outputs where the problem is loaded -- a mechanical load (pressure,
    centrifugal, nodal force, gravity) with a non-zero table value, or a temperature other
    than the initial one. The others (the unloaded end of a cycle) hold a residual state,
    reported separately."""
    times = np.asarray(times, dtype=float)
    out = np.zeros(times.size, dtype=bool)
    for kind in ("pressure", "centrifugal", "nodal_forces", "gravity"):
        for ld in getattr(problem, kind, None) or []:
            tab = getattr(ld, "table", None)
            out |= np.abs(np.asarray(problem.table(tab)(times), dtype=float)) > 1e-12
    temp = problem.temperature
    if temp is not None:
        T0 = temp.at(float(times[0]))
        out |= np.array([float(np.max(np.abs(temp.at(float(t)) - T0))) > 1e-9 for t in times])
    out[0] = False
    return out


def _holdout_record(rom, res, pb, mesh, comm, on, wall, root):
    """HF reference of a held-out sample and its errors (rank 0's dict; others get None)."""
    Uh, ph, hf_wall, hf_its = hf_reference(mesh, pb, res.times, comm)
    Ur, pr = rom_fields(res)
    Psi = res.model.modes("p") if "p" in res.model.dual else None
    if not root:
        return None
    loaded = loaded_outputs(pb, res.times)
    eu = relative_errors(Ur, Uh)
    ep = relative_errors(pr, ph)
    best = np.full(len(ep), np.nan)
    if Psi is not None and ph is not None:
        c = np.linalg.lstsq(Psi, np.asarray(ph).T, rcond=None)[0]
        best = relative_errors((Psi @ c).T, ph)
    fired = np.asarray(res.fired, dtype=bool)
    return dict(wall_time_s=wall, hf_wall_time_s=hf_wall, hf_iterations=hf_its, speedup=hf_wall / wall,
                u_rel_err=eu.tolist(), p_rel_err=ep.tolist(), p_best_err=best.tolist(), loaded=loaded.tolist(),
                fired=fired.tolist(), indicators={n: np.asarray(v).tolist() for n, v in res.indicators.items()},
                rom=res.selection["label"], **reliability(eu, fired, loaded, float(on["error_tolerance"])))


def reliability(u_err, fired, loaded, tol) -> dict:
    """Counts of the enrichment criterion's reliability over the increments k >= 1 of one run
    (per output: U error ``u_err``, criterion ``fired``, ``loaded``; ``tol`` the U error
    tolerance): ``missed`` (error > 3 tol, criterion below), ``missed_unloaded`` (those at
    unloaded outputs), ``wasted`` (fired, error < tol / 3), ``increments``."""
    eu, fired, loaded = (np.asarray(v)[1:] for v in (u_err, fired, loaded))
    fired, loaded = fired.astype(bool), loaded.astype(bool)
    missed = (eu > 3 * tol) & ~fired
    return dict(missed=int(np.sum(missed)), missed_unloaded=int(np.sum(missed & ~loaded)),
                wasted=int(np.sum(fired & (eu < tol / 3))), increments=int(eu.size))


def run_holdout(rom, mesh, problem, on, sampler, opts, comm, say) -> dict:
    """``holdout`` new samples (seed sequence ``(holdout_seed, i)``) on the frozen learned
    ROM (no enrichment), each with an HF reference: errors per output, best approximation
    of p by the ROM's p basis, speed-up, and whether the enrichment criterion would have
    fired at each increment (reliability). Returns {"samples": [...], "summary": {...}}."""
    from ..sampling import sample_parameters, temperature_field, with_temperature
    n, seed = int(on["holdout"]), int(on["holdout_seed"])
    root = comm.Get_rank() == 0
    recs = []
    for i in range(n):
        params = sample_parameters([seed, i], sampler)
        pb = with_temperature(problem, temperature_field(mesh.coordinates, params), sampler.t_ref)
        res, _, wall, _, failure = run_sample(rom, pb, on, opts, comm, enrich=False)
        if res is None:
            say(f"   held-out sample {i + 1}/{n}: FAILED: {failure}")
            recs.append(dict(index=i, seed=[seed, i], failed=failure))
            continue
        rec = _holdout_record(rom, res, pb, mesh, comm, on, wall, root)
        if root:
            rec.update(index=i, seed=[seed, i])
            lu = np.asarray(rec["u_rel_err"])[np.asarray(rec["loaded"])]
            say(f"   held-out sample {i + 1}/{n}: ROM {wall:.3f} s, HF {rec['hf_wall_time_s']:.2f} s "
                f"(speed-up {rec['speedup']:.0f}); U loaded median {np.nanmedian(lu):.2e} max {np.nanmax(lu):.2e}, "
                f"p median {np.nanmedian(rec['p_rel_err'][1:]):.2e} (best {np.nanmedian(rec['p_best_err'][1:]):.2e})")
        recs.append(rec)
        comm.Barrier()
    return dict(samples=recs, summary=holdout_summary(recs) if root else {})


def holdout_summary(recs) -> dict:
    """Held-out figures (medians over samples and outputs, module docstring of the issue's
    definitions): U on the loaded outputs, U on the unloaded ones, p (all outputs k >= 1)
    and its best approximation, ROM vs best ratio, speed-up, missed / wasted fractions of the
    increments (``missed_unloaded``: the part of ``missed`` at unloaded outputs, where the
    relative error is that of a small residual displacement)."""
    ok = [r for r in recs if "u_rel_err" in r]

    def cat(key, sel=None):
        vals = []
        for r in ok:
            v = np.asarray(r[key], dtype=float)
            m = np.ones(v.size, bool) if sel is None else sel(r)
            m[0] = False
            vals.append(v[m])
        v = np.concatenate(vals) if vals else np.zeros(0)
        return v[np.isfinite(v)]
    lu = cat("u_rel_err", lambda r: np.asarray(r["loaded"], bool))
    uu = cat("u_rel_err", lambda r: ~np.asarray(r["loaded"], bool))
    ep, eb = cat("p_rel_err"), cat("p_best_err")
    inc = sum(r["increments"] for r in ok)

    def med(v):
        return float(np.median(v)) if v.size else float("nan")
    return dict(n=len(ok), failures=len(recs) - len(ok), u_loaded_median=med(lu),
                u_loaded_max=float(lu.max()) if lu.size else float("nan"), u_unloaded_median=med(uu),
                p_median=med(ep), p_max=float(ep.max()) if ep.size else float("nan"), p_best_median=med(eb),
                p_over_best=med(ep) / med(eb) if eb.size and med(eb) > 0 else float("nan"),
                speedup_median=med(np.asarray([r["speedup"] for r in ok])),
                rom_wall_median_s=med(np.asarray([r["wall_time_s"] for r in ok])),
                hf_wall_median_s=med(np.asarray([r["hf_wall_time_s"] for r in ok])),
                missed=sum(r["missed"] for r in ok) / inc if inc else float("nan"),
                missed_unloaded=sum(r.get("missed_unloaded", 0) for r in ok) / inc if inc else float("nan"),
                wasted=sum(r["wasted"] for r in ok) / inc if inc else float("nan"))


def run_montecarlo(store, settings: dict, sampler, comm=None, progress=None, learning=None) -> dict:
    """The Monte Carlo of the module docstring on the ROM of ``store`` (collective).

    settings : the ``[online]`` settings (:class:`romnet.online.settings.OnlineSettings`
    keys; ``samples`` required, defaults filled in); sampler : the temperature sampler
    (:class:`romnet.sampling.HotSpotSampler`, or a generator script's ``SAMPLER``);
    learning : the ``[learning]`` settings (:class:`romnet.online.settings.LearningSettings`:
    by default every enrichment is kept, a new ROM version per sample that enriched).
    Returns the montecarlo dict (replicated on every rank except the per-output HF errors,
    rank 0's)."""
    from .. import mpi
    from ..sampling import sample_parameters, temperature_field, with_temperature
    from ..store import CaseStore
    from .api import load_rom
    on = {**{k: v for k, v in defaults(OnlineSettings).items() if v is not None}, **settings}
    comm = comm or mpi.comm()
    root = comm.Get_rank() == 0
    say = progress if (progress and root) else (lambda *a, **k: None)
    n, seed, n_ref = int(on["samples"]), int(on["seed"]), min(int(on["hf_references"]), int(on["samples"]))
    with CaseStore(store) as st:
        mesh, problem = st.mesh(), st.problem()
    opts = solver_options(on)
    t_load = time.perf_counter()
    rom = load_rom(store, comm)
    rom.learning = dict(learning or {})
    learn = bool(rom.learning.get("learn", True))
    t_load = time.perf_counter() - t_load
    # samples no local ROM represents start new ones (.new_local_rom) when learning with the classifier
    new_roms = bool(learn and on["enrich"] and rom.local and cluster_choice(on["cluster"]) is None)
    max_local = int(rom.learning.get("max_local_roms") or LearningSettings.max_local_roms)
    what = "estimated U error" if on["criterion"] == "estimate" else "indicator"
    say(f"   Monte Carlo: {n} temperature samples (seeds ({seed}, i)), ROM "
        f"{'with local ROMs + classifier' if rom.local else 'global'}"
        + (f", enrichment at {what} > {on['tolerance']:g}" if on["enrich"] else ", no enrichment")
        + (f" or stress indicator > {on['stress_tolerance']:g}" if on["enrich"] and on.get("stress_tolerance") else "")
        + (" (learning: kept as ROM versions)" if on["enrich"] and learn else "")
        + f", {n_ref} HF reference(s); ROM loaded in {t_load:.2f} s")
    samples = []
    for i in range(n):
        params = sample_parameters([seed, i], sampler)
        T = temperature_field(mesh.coordinates, params)
        pb = with_temperature(problem, T, sampler.t_ref)
        rom.run_log = dict(sample=i, seed=[seed, i])
        parent = resolve_version(rom.store) if new_roms else None    # a new local ROM's chosen one goes back to it
        res, chosen, wall, fallback, failure = run_sample(rom, pb, on, opts, comm)
        if res is None:
            say(f"   sample {i + 1}/{n}: {wall:.2f} s, FAILED: {failure}")
            samples.append(dict(index=i, seed=[seed, i], temperature_max=float(T.max()), rom="failed",
                                failed=failure, fallback=fallback, wall_time_s=wall, enrichments=0,
                                indicator_max=float("nan")))
            continue
        sel = chosen or res.selection
        rec = dict(index=i, seed=[seed, i], temperature_max=float(T.max()),
                   hot_spot=dict(amplitude=params["amplitude"], center=params["center"], width=params["width"]),
                   rom=sel["label"], cluster=sel["cluster"], predicted=sel["predicted"], fallback=fallback,
                   final_rom=res.selection["label"], wall_time_s=wall,
                   solve_s=float(np.sum(res.seconds)),
                   increments=len(res.times) - 1, newton_iterations=int(np.sum(res.iterations)),
                   cuts=int(np.sum(res.cuts)), times=np.asarray(res.times).tolist(),
                   indicator=np.asarray(res.indicator).tolist(), indicator_max=float(np.max(res.indicator)),
                   enrichments=len(res.enrichments),
                   dual_only=int(sum(bool(e.get("dual_only")) for e in res.enrichments)),
                   modes=int(res.model.n_modes), points=int(res.model.n_points), version=res.version,
                   enrichment_s=float(sum(e["seconds"] for e in res.enrichments)),
                   enrichment_hf_s=float(sum(e.get("hf_seconds", 0.0) for e in res.enrichments)),
                   enrichment_parts_s={k: float(sum(e.get(k + "_seconds", 0.0) for e in res.enrichments))
                                       for k in ENRICHMENT_PARTS},
                   error_before=[float(e.get("error_before", np.nan)) for e in res.enrichments],
                   write_s=float(res.write_seconds))
        line = (f"sample {i + 1}/{n}: {wall:.2f} s, {sel['label']}"
                + (" -> global (fallback)" if fallback else "")
                + f", indicator {rec['indicator_max']:.1e}, {rec['enrichments']} enrichments"
                + (f" ({rec['dual_only']} dual-only)" if rec["dual_only"] else ""))
        if i < n_ref:
            Uh, ph, hf_wall, hf_its = hf_reference(mesh, pb, res.times, comm)
            rec.update(hf_wall_time_s=hf_wall, hf_iterations=hf_its, speedup=hf_wall / wall)
            # every rank: the modes of an enriched ROM are gathered collectively
            Ur, pr = rom_fields(res)
            if root:
                rec.update(u_rel_err=relative_errors(Ur, Uh).tolist(), p_rel_err=relative_errors(pr, ph).tolist())
                rec.update(u_rel_err_max=_max(rec["u_rel_err"]), p_rel_err_max=_max(rec["p_rel_err"]))
                line += (f"; HF {hf_wall:.2f} s (speed-up {hf_wall / wall:.1f}): U err {rec['u_rel_err_max']:.1e}, "
                         f"p err {rec['p_rel_err_max']:.1e}")
            comm.Barrier()
        if new_roms and len(rom.local) < max_local and unrepresented(sel, fallback, len(res.enrichments), rom.learning):
            made = rom.start_local_rom(pb, res, parent, dict(sample=i, seed=[seed, i], fallback=fallback,
                                                             enrichments=len(res.enrichments)), sel["cluster"])
            rec.update(new_local_rom=made["cluster"], version=made["version"])
            line += (f"; not represented by {sel['label']}: new local ROM {made['cluster']} (version "
                     f"{made['version']}, classifier {made['classifier']['model']})")
        say("   " + line)
        samples.append(rec)
    out = dict(settings={k: on.get(k) for k in ("samples", "seed", "tolerance", "stress_tolerance", "hf_references",
                                                "enrich", "cluster", "criterion", "holdout", "holdout_seed",
                                                "error_tolerance", "p_error_tolerance")},
               learning=dict(rom.learning, learn=learn), rom_load_s=t_load, samples=samples,
               summary=summarize(samples))
    if int(on.get("holdout") or 0):
        say(f"   held-out: {int(on['holdout'])} new samples on the frozen learned ROM, with HF references")
        out["holdout"] = run_holdout(rom, mesh, problem, on, sampler, opts, comm, say)
        h = out["holdout"]["summary"]
        if root:
            h.update(enrichments_first_quarter=out["summary"]["enrichments_first_quarter"],
                     enrichments_last_quarter=out["summary"]["enrichments_last_quarter"])
            say(f"   held-out: U loaded median {h['u_loaded_median']:.2e} max {h['u_loaded_max']:.2e}, p median "
                f"{h['p_median']:.2e} (best approximation {h['p_best_median']:.2e}), speed-up median "
                f"{h['speedup_median']:.0f}, missed {h['missed']:.1%}, wasted {h['wasted']:.1%}")
    if rom._enricher is not None:
        rom._enricher.close()
    s = out["summary"]
    say(f"   Monte Carlo: {n} samples, ROM wall time mean {s['rom_wall_mean_s']:.3f} s (max "
        f"{s['rom_wall_max_s']:.3f} s), {s['enrichments']} enrichment(s), {s['fallbacks']} fallback(s); "
        + (f"HF references: U err max {s['u_rel_err_max']:.2e}, p err max {s['p_rel_err_max']:.2e}, "
           f"speed-up mean {s['speedup_mean']:.1f}" if s["n_references"] else "no HF reference"))
    return out


def _per_increment_ms(samples) -> float:
    """Mean reduced solve time per increment (ms) of some samples (the online cost of the ROM
    as it was then, without the enrichments' HF increments)."""
    s = [(r.get("solve_s"), r.get("increments")) for r in samples if r.get("solve_s") is not None]
    n = sum(i for _, i in s if i)
    return 1e3 * sum(t for t, _ in s) / n if n else float("nan")


def summarize(samples) -> dict:
    """Aggregate figures of the Monte Carlo samples (NaN when there is nothing to aggregate):
    ROM wall times (``plain``: samples run without enrichment nor fallback), enrichments,
    HF-reference errors (max, and median over the outputs k >= 1 of all references) and
    speed-ups."""
    wall = np.asarray([r["wall_time_s"] for r in samples], dtype=float)
    refs = [r for r in samples if "hf_wall_time_s" in r]
    clusters = {}
    for r in samples:
        clusters[r["rom"]] = clusters.get(r["rom"], 0) + 1

    def agg(key, fn):
        v = np.asarray([r[key] for r in refs if r.get(key) is not None], dtype=float)
        return float(fn(v)) if v.size else float("nan")

    def per_output(key):
        v = np.concatenate([np.asarray(r[key], dtype=float)[1:] for r in refs if r.get(key) is not None] or
                           [np.zeros(0)])
        v = v[np.isfinite(v)]
        return float(np.median(v)) if v.size else float("nan")
    plain = np.asarray([r["wall_time_s"] for r in samples if not r["enrichments"] and not r["fallback"]])
    enr = np.asarray([r["enrichments"] for r in samples], dtype=int)
    q = max(1, len(samples) // 4)
    return dict(n_samples=len(samples), n_references=len(refs),
                rom_wall_mean_s=float(wall.mean()) if wall.size else float("nan"),
                rom_wall_median_s=float(np.median(wall)) if wall.size else float("nan"),
                rom_wall_max_s=float(wall.max()) if wall.size else float("nan"),
                indicator_max=_max([r["indicator_max"] for r in samples]),
                enrichments=int(sum(r["enrichments"] for r in samples)),
                dual_only_enrichments=int(sum(r.get("dual_only", 0) for r in samples)),
                fallbacks=int(sum(bool(r["fallback"]) for r in samples)), roms=clusters,
                new_local_roms=[int(r["new_local_rom"]) for r in samples if "new_local_rom" in r],
                failures=int(sum(bool(r.get("failed")) for r in samples)),
                n_plain=int(plain.size), rom_wall_plain_mean_s=float(plain.mean()) if plain.size else float("nan"),
                hf_wall_mean_s=agg("hf_wall_time_s", np.mean), speedup_mean=agg("speedup", np.mean),
                speedup_min=agg("speedup", np.min), u_rel_err_max=agg("u_rel_err_max", np.max),
                p_rel_err_max=agg("p_rel_err_max", np.max), u_rel_err_median=per_output("u_rel_err"),
                p_rel_err_median=per_output("p_rel_err"),
                ms_per_increment_first_quarter=_per_increment_ms(samples[:q]),
                ms_per_increment_last_quarter=_per_increment_ms(samples[-q:]),
                enrichments_first_quarter=int(enr[:q].sum()) if enr.size else 0,
                enrichments_last_quarter=int(enr[-q:].sum()) if enr.size else 0,
                enrichment_s=float(sum(r.get("enrichment_s", 0.0) for r in samples)),
                sequence_s=float(wall.sum()) if wall.size else 0.0,
                modes_last=samples[-1].get("modes") if samples else None,
                points_last=samples[-1].get("points") if samples else None)
