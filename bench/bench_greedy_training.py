"""Greedy vs random training at equal HF budget on the small blade (issue 17, item 6).

For the small blade (cases/blade, 3 582 DOF, ``build_case("small")``, its ``SAMPLER``,
``[training]`` seed 1 and 8 increments, ``[offline]`` tolerances of cases/blade/case.toml):

* **random**: the HF training runs 0 .. n-1 of the family (seed sequences (1, i): what
  ``strategy = "random"`` runs); with ``--subsets R`` also R other random families, each the
  first n of a random permutation of the pool (the spread of random sampling);
* **greedy**: ``romnet.online.greedy_training.run_greedy_training`` with ``--pool``
  candidates (1, i), i < pool, ``--initial`` random runs, score ``--score``; the greedy
  family of n runs is the first n runs it chose (the choices do not depend on the budget);

then for every budget n in ``--n`` and every family, the frozen ROM (``run_offline`` on
exactly those runs, no enrichment) runs the same ``--tests`` held-out samples (seeds
(2000, i), the problem's 16 increments, as the Monte Carlo's held-out samples) whose HF
references are computed once. Per-output relative errors as ``romnet compare``
(:func:`romnet.online.montecarlo.relative_errors`, floor 1e-2 x the peak): U median and max
over the loaded outputs of all samples (:func:`romnet.online.montecarlo.loaded_outputs`),
U median at the unloaded end of the cycle, p median over all outputs k >= 1; a ROM whose
reduced Newton fails on a sample is counted (``failed``). Last, how well a score ranks
samples (what the greedy choice relies on): the Spearman rank correlation, over the held-out
samples of one ROM, of the max stress / p indicator of a sample's run with its true errors
(max loaded U, median p), median over the ROMs.

    python bench/bench_greedy_training.py [--n 6 10] [--pool 40] [--initial 2] [--tests 8]
        [--subsets 2] [--score stress] [--out out/bench_greedy]

Prints the greedy choices, a table per family and budget, the times (HF training, greedy
overhead: offline rebuilds and candidate ROM runs) and, last, one line of key=value pairs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def held_out_references(mesh, problem, sampler, n, seed, comm):
    """[(problem_i, times, U_hf, p_hf)] of the held-out samples (seed, i) (HF at the
    problem's stepping; arrays on rank 0)."""
    from romnet.online.montecarlo import hf_reference
    from romnet.online.solver import schedule
    from romnet.sampling import sampled_problem
    out = []
    for i in range(n):
        pb, _, _ = sampled_problem(problem, mesh.coordinates, [seed, i], sampler)
        times = schedule(pb.stepping)
        U, p, wall, _ = hf_reference(mesh, pb, times, comm)
        out.append((pb, times, U, p))
        if comm.Get_rank() == 0:
            print(f"  held-out sample {i}: HF {wall:.2f} s", flush=True)
    return out


def evaluate(store, runs, offline, refs, comm):
    """Frozen ROM of exactly ``runs`` on the held-out samples: {'u_loaded' (all loaded
    outputs' errors), 'u_unloaded', 'p', 'failed', 'modes', 'points', 'offline_s'}."""
    from romnet.errors import ConvergenceError
    from romnet.offline.pipeline import run_offline
    from romnet.online.api import load_rom
    from romnet.online.montecarlo import loaded_outputs, relative_errors, rom_fields
    t0 = time.perf_counter()
    rep = run_offline(store, {**offline, "series": [f"train_{i:03d}" for i in sorted(runs)]}, comm=comm,
                      progress=None)
    out = dict(u_loaded=[], u_unloaded=[], p=[], failed=0, modes=rep["modes"]["U"], points=rep["n_points"],
               offline_s=time.perf_counter() - t0, per_sample=[])
    rom = load_rom(store, comm)
    for pb, times, Uh, ph in refs:
        try:
            res = rom.run(pb, times=times, enrich=False, learn=False, cluster="global")
        except ConvergenceError:
            out["failed"] += 1
            continue
        Ur, pr = rom_fields(res)
        if comm.Get_rank() == 0:
            loaded = loaded_outputs(pb, times)
            eu, ep = relative_errors(Ur, Uh), relative_errors(pr, ph)
            out["u_loaded"] += eu[loaded].tolist()
            out["u_unloaded"] += eu[1:][~loaded[1:]].tolist()
            out["p"] += ep[1:].tolist()
            # per sample: the greedy scores (max indicators) and the true errors they should rank
            out["per_sample"].append(dict(stress=float(np.max(res.indicators["stress"])),
                                          p=float(np.max(res.indicators["p"])), u_max=float(np.nanmax(eu[loaded])),
                                          p_med=float(np.nanmedian(ep[1:]))))
    return out


def summary(ev) -> dict:
    def med(v):
        v = np.asarray(v, dtype=float)
        v = v[np.isfinite(v)]
        return float(np.median(v)) if v.size else float("nan")
    u = np.asarray(ev["u_loaded"], dtype=float)
    return dict(u_med=med(u), u_max=float(np.nanmax(u)) if u.size else float("nan"), u_unl=med(ev["u_unloaded"]),
                p_med=med(ev["p"]), failed=ev["failed"], modes=ev["modes"], points=ev["points"],
                per_sample=ev["per_sample"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[6, 10], help="HF budgets compared")
    ap.add_argument("--pool", type=int, default=40, help="greedy candidates (1, i), i < pool")
    ap.add_argument("--initial", type=int, default=2, help="greedy: random runs first")
    ap.add_argument("--score", default="stress", choices=("stress", "p"))
    ap.add_argument("--tests", type=int, default=8, help="held-out samples (2000, i)")
    ap.add_argument("--subsets", type=int, default=2, help="other random families (random n-subsets of the pool)")
    ap.add_argument("--out", default=str(REPO / "out" / "bench_greedy"))
    a = ap.parse_args(argv)

    from romnet import mpi
    from romnet.app.config import case_table
    from romnet.app.workflow.context import load_script
    from romnet.offline.settings import ClusterSettings
    from romnet.offline.training import read_training, run_training
    from romnet.online.greedy_training import run_greedy_training
    from romnet.settings import specs
    from romnet.store import write_case

    t_start = time.perf_counter()
    comm = mpi.comm()
    root = comm.Get_rank() == 0
    say = print if root else (lambda *x, **k: None)
    blade_dir = REPO / "cases" / "blade"
    blade = load_script(blade_dir / "problem.py")
    tr = case_table(blade_dir / "case.toml", "training")
    offline = {k: v for k, v in case_table(blade_dir / "case.toml", "offline").items()
               if k not in specs(ClusterSettings)}
    seed, incs, n_max = int(tr["seed"]), int(tr["increments"]), max(a.n)
    out = Path(a.out)
    if root:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
    comm.Barrier()
    case = blade.build_case("small", 0)
    base = out / "case.h5"
    if root:
        write_case(base, case)
        for name in ("random.h5", "greedy.h5"):
            shutil.copy(base, out / name)
    comm.Barrier()
    mesh, problem, sampler = case.mesh, case.problem, blade.SAMPLER
    say(f"small blade: {mesh.n_nodes * mesh.dim} DOF; training seed {seed}, {incs} increments; offline {offline}; "
        f"budgets {a.n}, pool {a.pool}, initial {a.initial}, score {a.score}; {comm.Get_size()} rank(s)")

    t0 = time.perf_counter()
    rnd = run_training(out / "random.h5", n_max, seed=seed, sampler=sampler, n_increments=incs, comm=comm,
                       progress=None)
    t_random = time.perf_counter() - t0
    say(f"random: {n_max} HF runs, {sum(rnd['wall_time']):.1f} s of HF ({t_random:.1f} s)")
    t0 = time.perf_counter()
    gr = run_greedy_training(out / "greedy.h5", n_max, seed=seed, sampler=sampler, pool=a.pool, initial=a.initial,
                             score=a.score, offline=offline, n_increments=incs, final_rom=False, comm=comm,
                             progress=say)
    t_greedy = time.perf_counter() - t0
    chosen = [c["index"] for c in gr["choices"]]
    say(f"greedy: runs in the order chosen {chosen} ({t_greedy:.1f} s)")

    families = {"random": (out / "random.h5", list(range(n_max)))}
    if a.subsets:
        rng = np.random.default_rng(12345)
        sub = out / "random.h5"
        for r in range(a.subsets):
            perm = [int(i) for i in rng.permutation(a.pool)[:n_max]]
            run_training(sub, a.pool, seed=seed, sampler=sampler, n_increments=incs, comm=comm, progress=None,
                         runs=perm)
            families[f"random-{r + 1}"] = (sub, perm)
            say(f"random family {r + 1}: runs {perm}")
    families["greedy"] = (out / "greedy.h5", chosen)
    assert read_training(out / "greedy.h5")["index"].tolist() == sorted(chosen)

    held = held_out_references(mesh, problem, sampler, a.tests, 2000, comm)
    rows = {}
    for n in sorted(a.n):
        for name, (store, order) in families.items():
            ev = evaluate(store, order[:n], offline, held, comm)
            rows[(name, n)] = s = summary(ev) if root else {}
            say(f"  {name:9s} n={n:2d}: U loaded median {s.get('u_med', 0):.2e} max {s.get('u_max', 0):.2e}, "
                f"unloaded median {s.get('u_unl', 0):.2e}, p median {s.get('p_med', 0):.2e}; "
                f"{ev['modes']} U modes, {ev['points']} points, {ev['failed']} failed ({ev['offline_s']:.1f} s offline)")
    if not root:
        return 0
    print("\n| family | runs n | U modes | points | U loaded median | U loaded max | U unloaded median | "
          "p median | ROM failures |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, n), s in rows.items():
        print(f"| {name} | {n} | {s['modes']} | {s['points']} | {s['u_med']:.2e} | {s['u_max']:.2e} | "
              f"{s['u_unl']:.2e} | {s['p_med']:.2e} | {s['failed']}/{a.tests} |")
    # does a score rank the held-out samples of one ROM as their true errors do? (Spearman per ROM, median)
    from scipy.stats import spearmanr
    rho = {}
    for k in ("stress", "p"):
        for e in ("u_max", "p_med"):
            v = [spearmanr([r[k] for r in s["per_sample"]], [r[e] for r in s["per_sample"]])[0]
                 for s in rows.values() if len(s["per_sample"]) > 2]
            rho[(k, e)] = float(np.nanmedian(v)) if v else float("nan")
    print(f"\nrank correlation (Spearman, over the held-out samples of one ROM; median over the {len(rows)} ROMs) "
          "of a sample's score with its true error: "
          + ", ".join(f"max {k} indicator vs {e} {v:.2f}" for (k, e), v in rho.items()))
    tm = gr["timings"]
    hf_r, hf_g = sum(rnd["wall_time"]), sum(gr["wall_time"])
    print(f"\nHF training (solver wall time): random {hf_r:.1f} s, greedy {hf_g:.1f} s; greedy "
          f"overhead: offline rebuilds {tm['offline']:.1f} s, candidate ROM runs {tm['scoring']:.1f} s")
    kv = [f"n={','.join(map(str, sorted(a.n)))}", f"pool={a.pool}", f"initial={a.initial}", f"score={a.score}",
          f"tests={a.tests}", f"greedy_choices={','.join(map(str, chosen))}"]
    for (name, n), s in rows.items():
        if name in ("random", "greedy"):
            kv += [f"{name}{n}_u_med={s['u_med']:.3e}", f"{name}{n}_u_max={s['u_max']:.3e}",
                   f"{name}{n}_p_med={s['p_med']:.3e}", f"{name}{n}_failed={s['failed']}"]
    for n in sorted(a.n):
        subs = [rows[(k, n)] for k in families if k.startswith("random")]
        kv += [f"random{n}_u_med_range={min(s['u_med'] for s in subs):.3e}..{max(s['u_med'] for s in subs):.3e}",
               f"random{n}_u_max_range={min(s['u_max'] for s in subs):.3e}..{max(s['u_max'] for s in subs):.3e}",
               f"random{n}_p_med_range={min(s['p_med'] for s in subs):.3e}..{max(s['p_med'] for s in subs):.3e}"]
    kv += [f"rho_{k}_{e}={v:.2f}" for (k, e), v in rho.items()]
    kv += [f"greedy_offline_s={tm['offline']:.1f}", f"greedy_scoring_s={tm['scoring']:.1f}",
           f"greedy_hf_s={hf_g:.1f}", f"random_hf_s={hf_r:.1f}",
           f"total_s={time.perf_counter() - t_start:.0f}"]
    print(" ".join(kv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
