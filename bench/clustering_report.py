"""Acceptance table of the clustering issue: local bases (angle vs Euclidean k-medoids) vs
one global basis at equal modes, on a family of HF runs of the MecaSequential cube with
sampled temperature fields; plus the classifier's cross-validated accuracy.

    python bench/clustering_report.py [--samples 20] [--seed 0] [--increments 5]
        [--modes 4] [--max-clusters 6] [--workdir DIR] [--rom-clusters 3]
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


def build_family(workdir, samples, seed, increments, progress=print):
    from adapters.zset import ADAPTER
    from romnet.offline.training import run_training
    from romnet.store import write_case
    case = ADAPTER.read(REPO.parent / "shared" / "data" / "zset" / "MecaSequential" / "cube.ut")
    case.results = {}
    path = write_case(Path(workdir) / "family.h5", case)
    run_training(path, n_samples=samples, seed=seed, n_increments=increments, progress=progress)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--increments", type=int, default=5)
    ap.add_argument("--modes", type=int, default=4)
    ap.add_argument("--max-clusters", type=int, default=6)
    ap.add_argument("--rom-clusters", type=int, default=3, help="k of the local ROMs + classifier")
    ap.add_argument("--workdir")
    a = ap.parse_args(argv)
    from romnet.offline.clustering import snapshot_factor
    from romnet.offline.local_bases import efficiency_table, format_table, run_clustering
    from romnet.offline.training import training_series
    wd = a.workdir or tempfile.mkdtemp(prefix="romnet-cluster-")
    t0 = time.perf_counter()
    path = build_family(wd, a.samples, a.seed, a.increments)
    t_train = time.perf_counter() - t0
    F = snapshot_factor(path, training_series(path))
    tab = efficiency_table(F, a.max_clusters, a.modes, ("angle", "euclidean", "principal", "chordal",
                                                      "snapshot-angle"), seed=a.seed)
    print()
    print(f"family: {F.n_sims} HF runs of MecaSequential (sampled hot spots 300-900 deg), "
          f"{F.R.shape[0]} snapshots, {t_train:.1f} s")
    print(format_table(tab))
    t0 = time.perf_counter()
    rep = run_clustering(path, clusters=[a.rom_clusters], max_clusters=a.max_clusters, modes=a.modes,
                         config={"pod_tol": 1e-2, "pod_max_modes": 8, "dual_max_modes": 8,
                                 "ecm_tol": 1e-2}, seed=a.seed, progress=None)
    c = rep["classifier"][a.rom_clusters]
    print(f"\nlocal ROMs k={a.rom_clusters}: U modes {[r['modes']['U'] for r in rep['local'][a.rom_clusters]]}, "
          f"ECM points {[r['n_points'] for r in rep['local'][a.rom_clusters]]} "
          f"(global ROM: {rep['global_rom']['modes']['U']} modes, {rep['global_rom']['n_points']} points); "
          f"{time.perf_counter() - t0:.1f} s")
    print(f"classifier k={a.rom_clusters}: {c['model']} on {c['n_components']} PCA components, "
          f"cross-validated accuracy {c['cv_accuracy']:.3f} (chance {c['chance']:.3f}); "
          f"candidates {', '.join(f'{k} {v:.2f}' for k, v in c['candidates'].items())}")
    print(f"store: {path}")


if __name__ == "__main__":
    main()
