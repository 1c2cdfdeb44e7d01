"""Enrichment rebuild: the ECM update as it was before vs now, on a learned ROM, in one run.

On a learned ROM (the store of a main-job run, ``./scripts/main.sh`` -> ``out/blade/case.h5``:
its latest ROM version), run ``--samples`` new temperature fields with enrichment but
nothing kept (``[learning] learn = false``: every sample starts from the same ROM), twice
in one process: as it was before and as shipped. ``--compare integrand`` (default): the
integrand formed (``romnet.online.enrichment.FACTORED_INTEGRAND = False``: n_ip x stresses x
modes values, ``internal_force_integrand``) vs kept factored
(:mod:`romnet.offline.ecm_integrand`). ``--compare nnls``: a point that leaves the warm
NNLS's passive set gave a new Cholesky factorisation and the rows of the set were copied
to compact it, a column-major integrand however wide (``romnet.offline.nnls.DELETE_MAX_TAIL
= -1``, ``romnet.offline.ecm.COMPACT_FRACTION = 0``, ``ROW_MAJOR_MIN_COLUMNS`` = never, the
integrand formed) vs rank-one delete of the factor's row, zeroed slots compacted past 10 %,
wide integrands row-major (formed too). ``--compare refine``: the warm NNLS's weights refined
(two steps, two passes over the points' rows each) at every greedy step vs only the final
weights (``romnet.online.enrichment.ECM_REFINE``; the integrand factored in both). The normalisation pass shared by
``cubature_error`` and ``ecm`` is in both. The current update runs first. Prints per
enrichment the rebuild seconds (integrand + ECM + QDEIM + operators), per greedy the ECM,
NNLS and scoring seconds of both, whether they select the same points (round-off may flip
a near tie), the ratios, one enrichment in units of its own HF increment and the peak
memory of rank 0 after each; last line ``key=value`` pairs.

    OMP_NUM_THREADS=1 python bench/bench_enrichment_ecm.py [--store out/blade/case.h5] [--samples 4]
        [--compare integrand|nnls|refine] [--tolerance 0.03]

One rank (the NNLS is replicated on every rank: its cost does not shrink with ranks); under
``mpirun -n 2`` rank 0 prints (the medium blade: ``--store out/bench_learning_medium/case.h5``).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run(store, samples, seed, variant, compare="integrand", tolerance=None):
    """(enrichment logs, ECM calls, wall s, ROM summary) of ``samples`` enriched, unkept
    runs with the rebuild ``variant`` ("before" | "now") of the change ``compare``."""
    from romnet import mpi
    from romnet.app.config import read_toml
    from romnet.app.workflow.context import load_script
    from romnet.offline import nnls
    from romnet.online import enrichment
    from romnet.online.api import load_rom
    from romnet.online.montecarlo import run_sample
    from romnet.online.settings import OnlineSettings, solver_options
    from romnet.sampling import sample_parameters, temperature_field, with_temperature
    from romnet.settings import defaults
    from romnet.store import CaseStore
    ecm_mod = importlib.import_module("romnet.offline.ecm")    # the module (romnet.offline.ecm is the function)
    saved = nnls.DELETE_MAX_TAIL, ecm_mod.COMPACT_FRACTION, ecm_mod.ROW_MAJOR_MIN_COLUMNS
    saved_factored, saved_refine = enrichment.FACTORED_INTEGRAND, enrichment.ECM_REFINE
    enrichment.FACTORED_INTEGRAND = (compare == "integrand" and variant == "now") or compare == "refine"
    if compare == "refine" and variant == "before":
        enrichment.ECM_REFINE = ecm_mod.NNLS_REFINE
    if variant == "before" and compare == "nnls":
        nnls.DELETE_MAX_TAIL, ecm_mod.COMPACT_FRACTION, ecm_mod.ROW_MAJOR_MIN_COLUMNS = -1.0, 0.0, 1 << 62
    cfg = read_toml(REPO / "cases" / "blade" / "case.toml")
    mod = load_script(REPO / "cases" / "blade" / "problem.py")        # its SAMPLER: the main job's fields
    comm = mpi.comm()
    with CaseStore(store) as st:
        mesh, problem = st.mesh(), st.problem()
    on = {**{k: v for k, v in defaults(OnlineSettings).items() if v is not None}, **cfg["online"], "enrich": True}
    if tolerance is not None:                  # more enrichments per sample on a well-learned ROM
        on["tolerance"] = float(tolerance)
    opts = solver_options(on)
    rom = load_rom(store, comm)
    rom.learning = {**cfg.get("learning", {}), "learn": False, "dual_only_below": 0.0}   # every one updates the ECM
    calls, logs = [], []
    real_ecm = enrichment.ecm

    def timed_ecm(*a, **k):
        r = real_ecm(*a, **k)
        calls.append(dict(seconds=r.seconds, nnls=r.timings.get("nnls", 0.0), score=r.timings.get("score", 0.0),
                          steps=r.iterations, points=r.points, weights=r.weights))
        return r

    enrichment.ecm = timed_ecm
    t0 = time.perf_counter()
    try:
        for i in range(samples):
            params = sample_parameters([seed, i], mod.SAMPLER)
            pb = with_temperature(problem, temperature_field(mesh.coordinates, params), mod.SAMPLER.t_ref)
            res = run_sample(rom, pb, on, opts, comm)[0]
            logs += list(res.enrichments) if res is not None else []
    finally:
        enrichment.ecm = real_ecm
        nnls.DELETE_MAX_TAIL, ecm_mod.COMPACT_FRACTION, ecm_mod.ROW_MAJOR_MIN_COLUMNS = saved
        enrichment.FACTORED_INTEGRAND, enrichment.ECM_REFINE = saved_factored, saved_refine
        if rom._enricher is not None:
            rom._enricher.close()
    return logs, calls, time.perf_counter() - t0, rom.model.summary()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=str(REPO / "out" / "blade" / "case.h5"),
                    help="case store with a learned ROM (default: the main job's)")
    ap.add_argument("--samples", type=int, default=4, help="new temperature fields (default 4)")
    ap.add_argument("--seed", type=int, default=3000, help="seed of the fields (sample i: (seed, i))")
    ap.add_argument("--compare", choices=("integrand", "nnls", "refine"), default="integrand",
                    help="the change compared (module docstring; default: integrand)")
    ap.add_argument("--tolerance", type=float, default=None,
                    help="p indicator tolerance of the runs (default: the case's; lower: more enrichments)")
    a = ap.parse_args(argv)
    from romnet import mpi
    mpi.abort_on_uncaught()        # a failing rank ends the job (no hang in the others' collectives)
    if not Path(a.store).is_file():
        ap.error(f"{a.store}: no such store (run ./scripts/main.sh first, or give --store)")
    import resource
    # "now" first: the process' peak memory after it is its own; after "before" the larger of the two
    logs_n, now, wall_n, summary = run(a.store, a.samples, a.seed, "now", a.compare, a.tolerance)
    peak_n = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20          # GiB (Linux: KiB)
    logs_b, before, wall_b, _ = run(a.store, a.samples, a.seed, "before", a.compare, a.tolerance)
    peak_b = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    if mpi.comm().Get_rank() != 0:
        return 0
    print(f"bench_enrichment_ecm ({a.compare}): {summary}; {a.samples} samples (seeds ({a.seed}, i)): "
          f"{len(logs_n)} enrichments ({len(logs_b)} before), {len(now)} ECM greedies ({len(before)} before)")
    print(f"{'enrichment':>10} {'points':>7} {'rebuild before s':>17} {'now s':>7} {'ratio':>6}")
    for i, (b, n) in enumerate(zip(logs_b, logs_n)):
        print(f"{i + 1:>10} {n['points_after']:>7} {b['rebuild_seconds']:>17.2f} {n['rebuild_seconds']:>7.2f} "
              f"{b['rebuild_seconds'] / n['rebuild_seconds']:>6.2f}")
    print(f"{'greedy':>10} {'steps':>6} {'points':>7} {'ECM before s':>13} {'now s':>7} {'NNLS before s':>14} "
          f"{'now s':>7} {'scoring before s':>17} {'now s':>7} {'same points':>12} {'max weight diff':>16}")
    same_all, dw_max = True, 0.0
    for i, (b, n) in enumerate(zip(before, now)):
        same = b["points"].size == n["points"].size and np.array_equal(b["points"], n["points"])
        dw = float(np.abs(b["weights"] - n["weights"]).max() / np.abs(b["weights"]).max()) if same else float("nan")
        same_all &= same
        dw_max = max(dw_max, dw) if same else dw_max
        print(f"{i + 1:>10} {n['steps']:>6} {n['points'].size:>7} {b['seconds']:>13.2f} {n['seconds']:>7.2f} "
              f"{b['nnls']:>14.2f} {n['nnls']:>7.2f} {b['score']:>17.2f} {n['score']:>7.2f} {str(same):>12} "
              f"{dw:>16.1e}")
    rb, rn = (sum(x["rebuild_seconds"] for x in lg) for lg in (logs_b, logs_n))
    tb, tn = sum(x["seconds"] for x in before), sum(x["seconds"] for x in now)
    nb, nn = sum(x["nnls"] for x in before), sum(x["nnls"] for x in now)
    sb, sn = sum(x["score"] for x in before), sum(x["score"] for x in now)
    print(f"rebuild {rb:.2f} s -> {rn:.2f} s ({rb / rn:.2f}x), scoring {sb:.2f} s -> {sn:.2f} s, ECM {tb:.2f} s -> {tn:.2f} s ({tb / tn:.2f}x), "
          f"NNLS {nb:.2f} s -> {nn:.2f} s ({nb / nn:.2f}x); whole runs {wall_b:.1f} s -> {wall_n:.1f} s")
    eb, en = (sum(x["seconds"] for x in lg) / max(1, len(lg)) for lg in (logs_b, logs_n))
    hb, hn = (sum(x["hf_seconds"] for x in lg) / max(1, len(lg)) for lg in (logs_b, logs_n))
    print(f"one enrichment (mean) {eb:.2f} s -> {en:.2f} s, its HF increment {hb:.2f} s -> {hn:.2f} s: "
          f"{eb / hb:.2f} -> {en / hn:.2f} of its HF increment")
    print(f"peak memory of rank 0: {peak_n:.2f} GiB with the current update, {peak_b:.2f} GiB after the earlier "
          "one" + (" (larger: the earlier one's own peak)" if peak_b > peak_n * 1.01 else
                   " (not larger: the earlier one's peak is at most this)"))
    print(f"peak_now_gib={peak_n:.3g} peak_before_gib={peak_b:.3g} compare={a.compare} enrichments={len(logs_n)} enrichment_before_s={eb:.4g} enrichment_now_s={en:.4g} "
          f"rebuild_before_s={rb:.4g} rebuild_now_s={rn:.4g} rebuild_ratio={rb / rn:.4g} "
          f"ecm_before_s={tb:.4g} ecm_now_s={tn:.4g} ecm_ratio={tb / tn:.4g} nnls_before_s={nb:.4g} "
          f"nnls_now_s={nn:.4g} score_before_s={sb:.4g} score_now_s={sn:.4g} nnls_ratio={nb / nn:.4g} same_points={same_all} max_weight_diff={dw_max:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
