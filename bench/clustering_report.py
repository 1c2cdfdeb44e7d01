"""Acceptance table of the clustering issue: local bases (angle vs Euclidean k-medoids) vs
one global basis at equal modes, on a family of HF runs of the MecaSequential cube with
sampled temperature fields; the spread over k-medoids initialisations; the spread over
families (optional); plus the local ROMs and the classifier's cross-validated accuracy.

    python bench/clustering_report.py [--samples 40] [--subsets 20 40] [--seed 0]
        [--increments 5] [--modes 4] [--max-clusters 6] [--restarts 10]
        [--family-seeds 1 2 3] [--workdir DIR] [--rom-clusters 3]

* ``--samples N`` HF runs are made once (seed ``--seed``; run i uses the seed sequence
  (seed, i), so the first 20 runs of a 40-run family are the 20-run family); the table is
  printed for the first n runs, n in ``--subsets``. A store already in ``--workdir`` is
  reused (complete runs are kept, missing ones are run).
* Every cell: the criterion (mean relative L2-mass projection error of every non-zero
  training snapshot on its cluster's ``--modes``-mode POD basis; k = 1 is the global
  basis) of the k-medoids run with the smallest objective among ``--restarts`` runs, and
  [min..max] of the criterion over those runs.
* ``--family-seeds``: other families of ``--samples`` runs (each with its own seed), each
  evaluated whole and as its two halves: how often angle beats Euclidean, per k, and the
  mean of local/global. This measures the noise of a single family.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # TSQR panels are small: threaded BLAS only contends

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

KINDS = ("angle", "euclidean", "principal", "chordal", "snapshot-angle")


def build_family(workdir, samples, seed, increments, progress=print):
    """Store ``workdir/family.h5`` with ``samples`` training runs (reused if present)."""
    from adapters.zset import ADAPTER
    from romnet.offline.training import run_training
    from romnet.store import write_case
    path = Path(workdir) / "family.h5"
    if not path.exists():
        case = ADAPTER.read(REPO.parent / "shared" / "data" / "zset" / "MecaSequential" / "cube.ut")
        case.results = {}
        write_case(path, case)
    run_training(path, n_samples=samples, seed=seed, n_increments=increments, progress=progress)
    return path


def sub_factor(F, a, b):
    """SnapshotFactor of simulations a .. b-1 of F (R of their columns re-triangularised:
    the same M inner products)."""
    import numpy as np
    from romnet.offline.clustering import SnapshotFactor
    o = F.offsets
    R = np.linalg.qr(F.R[:, o[a]:o[b]], mode="r")
    return SnapshotFactor(R, o[a:b + 1] - o[a], F.series[a:b], F.times[a:b] if F.times else [])


def family_study(seeds, samples, increments, modes, max_clusters, restarts, workdir):
    """Angle vs Euclidean over several families (whole and halves)."""
    import numpy as np
    from romnet.offline.clustering import snapshot_factor
    from romnet.offline.local_bases import efficiency_table
    from romnet.offline.training import training_series
    rows = []
    for s in seeds:
        wd = Path(workdir) / f"family_seed{s}"
        wd.mkdir(parents=True, exist_ok=True)
        path = build_family(wd, samples, s, increments, progress=lambda *a: None)
        F = snapshot_factor(path, training_series(path))
        n, half = F.n_sims, F.n_sims // 2
        parts = {f"seed {s}, {n} runs": F, f"seed {s}, runs 0-{half - 1}": sub_factor(F, 0, half),
                 f"seed {s}, runs {half}-{n - 1}": sub_factor(F, half, n)}
        for name, Fp in parts.items():
            t = efficiency_table(Fp, max_clusters, modes, ("angle", "euclidean"), restarts=restarts)
            g = t["global_error"][0]
            rows.append((name, np.asarray(t["angle"]) / g, np.asarray(t["euclidean"]) / g))
            print(f"  {name:>22}: angle/global " + " ".join(f"{x:.3f}" for x in rows[-1][1][1:])
                  + " | euclidean/global " + " ".join(f"{x:.3f}" for x in rows[-1][2][1:]), flush=True)
    A = np.array([r[1] for r in rows])
    E = np.array([r[2] for r in rows])
    K = A.shape[1]
    print(f"  angle < euclidean in {int((A[:, 1:] < E[:, 1:]).sum())} of {A[:, 1:].size} (family, k) cases; "
          "per k = " + ", ".join(f"{k + 1}: {int((A[:, k] < E[:, k]).sum())}/{A.shape[0]}" for k in range(1, K)))
    print("  mean local/global: angle " + " ".join(f"{x:.3f}" for x in A.mean(0)[1:])
          + " | euclidean " + " ".join(f"{x:.3f}" for x in E.mean(0)[1:]) + "  (k = 2..)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--subsets", type=int, nargs="*", default=[20, 40])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--increments", type=int, default=5)
    ap.add_argument("--modes", type=int, default=4)
    ap.add_argument("--max-clusters", type=int, default=6)
    ap.add_argument("--restarts", type=int, default=10)
    ap.add_argument("--family-seeds", type=int, nargs="*", default=[])
    ap.add_argument("--rom-clusters", type=int, default=3, help="k of the local ROMs + classifier")
    ap.add_argument("--workdir")
    a = ap.parse_args(argv)
    from romnet.offline.clustering import snapshot_factor
    from romnet.offline.local_bases import efficiency_table, format_table, run_clustering
    from romnet.offline.training import training_series
    wd = a.workdir or tempfile.mkdtemp(prefix="romnet-cluster-")
    Path(wd).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    path = build_family(wd, a.samples, a.seed, a.increments)
    t_train = time.perf_counter() - t0
    F = snapshot_factor(path, training_series(path))
    print(f"\nfamily: {F.n_sims} HF runs of MecaSequential (sampled hot spots 300-900 deg, seed {a.seed}), "
          f"{F.R.shape[0]} snapshots, {t_train:.1f} s")
    for n in sorted({min(int(n), F.n_sims) for n in (a.subsets or [F.n_sims])}):
        Fn = F if n == F.n_sims else sub_factor(F, 0, n)
        tab = efficiency_table(Fn, a.max_clusters, a.modes, KINDS, seed=a.seed, restarts=a.restarts)
        print(f"\nfirst {n} runs:")
        print(format_table(dict(tab, kinds=["angle", "euclidean"])))
        print("other dissimilarities (best objective): " + "; ".join(
            f"{kd} " + " ".join(f"{x:.3e}" for x in tab[kd][1:]) for kd in KINDS[2:]) + "  (k = 2..)")
        ang, euc, glo = tab["angle"], tab["euclidean"], tab["global_error"]

        def cmp(x, y):       # relative 1e-9: the same partition gives the same error
            return "=" if abs(x - y) <= 1e-9 * max(abs(x), abs(y)) else ("<" if x < y else ">")
        print("angle vs global:    " + ", ".join(f"k={k} {cmp(x, g)}" for k, x, g in zip(tab["k"], ang, glo) if k > 1))
        print("angle vs euclidean: " + ", ".join(f"k={k} {cmp(x, e)}" for k, x, e in zip(tab["k"], ang, euc) if k > 1))
    if a.family_seeds:
        print(f"\nspread over families ({a.samples} runs each, whole and halves), best k-medoids objective:")
        family_study(a.family_seeds, a.samples, a.increments, a.modes, a.max_clusters, a.restarts, wd)
    t0 = time.perf_counter()
    rep = run_clustering(path, clusters=[a.rom_clusters], max_clusters=a.max_clusters, modes=a.modes,
                         config={"pod_tol": 1e-2, "pod_max_modes": 8, "dual_max_modes": 8,
                                 "ecm_tol": 1e-2}, seed=a.seed, restarts=a.restarts, progress=None)
    c = rep["classifier"][a.rom_clusters]
    print(f"\nlocal ROMs k={a.rom_clusters} ({F.n_sims} runs): U modes "
          f"{[r['modes']['U'] for r in rep['local'][a.rom_clusters]]}, "
          f"ECM points {[r['n_points'] for r in rep['local'][a.rom_clusters]]} "
          f"(global ROM: {rep['global_rom']['modes']['U']} modes, {rep['global_rom']['n_points']} points); "
          f"{time.perf_counter() - t0:.1f} s")
    print(f"classifier k={a.rom_clusters}: {c['model']} on {c['n_components']} PCA components, "
          f"cross-validated accuracy {c['cv_accuracy']:.3f} (chance {c['chance']:.3f}); "
          f"candidates {', '.join(f'{k} {v:.2f}' for k, v in c['candidates'].items())}")
    print(f"store: {path}")


if __name__ == "__main__":
    main()
