"""Local reduced bases from clusters of training simulations, and the a priori criterion.

``run_clustering`` (``romnet cluster STORE.h5``) on a store holding a training family
(``romnet train``, :mod:`romnet.offline.training`):

1. TSQR factor of all displacement snapshots (:func:`clustering.snapshot_factor`: the only
   step on distributed rows; the rest works on the small replicated R);
2. a priori efficiency criterion, for k = 1 .. ``max_clusters`` and both the chosen
   dissimilarity and the Euclidean baseline: k-medoids clusters, one POD basis of
   ``modes`` modes per cluster (L2-mass product), mean over the training snapshots
   (non-zero ones) of the relative projection error ``||u - P_c u||_M / ||u||_M`` of each
   snapshot on its own cluster's basis. k = 1 is the global basis: at equal cost (same
   number of modes ``modes`` in every basis) local bases are worth it when their error is
   clearly below the global one. ``modes`` default: the smallest global basis with a
   relative RMS projection error <= ``criterion_tol`` (0.1);
3. choice of k: ``clusters`` if given, else the smallest k whose error is within 10 % of
   the smallest error over k = 1 .. max_clusters (diminishing returns);
4. the global ROM (``/rom``, all training snapshots, :func:`.pipeline.build_rom_tree`:
   the steps of ``romnet offline``) and one complete local ROM per cluster of the chosen
   k(s) (POD of U and of the dual fields, ECM, QDEIM, operators), same offline settings;
5. the classifier from the input temperature to the cluster (:mod:`.classifier`);
6. everything written at once (``write_rom``, atomic): ``docs/rom-schema.md``,
   section ``/rom/clusters``.

A local ROM is read with :func:`read_local_rom` / :func:`read_local_modes`: the same tree
and datasets as :func:`read_rom` / :func:`read_modes` give for the global ROM.

Measured (``bench/clustering_report.py``, hot-spot families of the MecaSequential cube, 4
modes per basis, k-medoids best of 10 runs): local bases beat the global one at every
k >= 2 on every family tried. Angle vs Euclidean depends on the family drawn: over 12
families (4 seeds x {40 runs, first 20, last 20}) the angle clustering has the smaller
error in 48 of 60 (family, k) cases and the smaller mean over families at every k
(local/global 0.77 / 0.62 / 0.50 / 0.41 / 0.35 vs 0.80 / 0.68 / 0.60 / 0.48 / 0.41 for
k = 2..6), but on a given 20-run family either can win at a given k (seed 0, runs 0-19:
Euclidean is better at k = 3..6); local/global varies between families with a standard
deviation of about 0.08 at every k. Variants of the angle dissimilarity (subspace of the
criterion's ``modes`` modes instead of ``subspace_tol``, not symmetrised, mean instead of
RMS of the sines) changed the mean local/global by 0.00-0.05, less than that spread and not
significant with 12 families, so the definition was kept.
"""
from __future__ import annotations

import time

import numpy as np

from .. import mpi
from ..errors import InputError, StoreError
from ..sections import element_thickness
from ..store import CaseStore
from .clustering import dissimilarity as make_dissimilarity
from .clustering import RESTARTS, best_run, kmedoids_clusters, kmedoids_runs, snapshot_factor
from .pipeline import build_rom_tree, load_config, read_snapshots
from .pod import RowLayout, truncation_rank
from .settings import ClusterSettings
from .rom_store import cluster_key, read_modes, read_rom, rom_path, selected_k, write_rom

__all__ = ["projection_error", "efficiency_table", "format_table", "default_modes",
           "choose_k", "build_rom_tree", "run_clustering", "read_local_rom", "read_local_modes",
           "cluster_key"]


# ============================================================================ criterion
def projection_error(F, labels, n_modes, rtol=1e-12):
    """Mean relative M-norm projection error of every non-zero training snapshot on the
    ``n_modes``-mode POD basis of its simulation's cluster. Returns (mean, per-cluster
    means)."""
    labels = np.asarray(labels)
    errs, per = [], []
    ref = float(np.linalg.norm(F.R, axis=0).max()) if F.R.size else 0.0
    for c in np.unique(labels):
        X = F.cluster_columns(np.flatnonzero(labels == c))
        U, s, _ = np.linalg.svd(X, full_matrices=False)
        U = U[:, :min(int(n_modes), U.shape[1])]
        E = X - U @ (U.T @ X)
        nx, ne = np.linalg.norm(X, axis=0), np.linalg.norm(E, axis=0)
        m = nx > rtol * ref
        e = ne[m] / nx[m]
        errs.append(e)
        per.append(float(e.mean()) if e.size else 0.0)
    allv = np.concatenate(errs) if errs else np.zeros(0)
    return float(allv.mean()) if allv.size else 0.0, per


def default_modes(F, criterion_tol=0.1):
    """Smallest global basis with relative RMS projection error <= criterion_tol."""
    s = np.linalg.svd(F.R, compute_uv=False)
    return max(1, truncation_rank(s, criterion_tol))


def efficiency_table(F, max_clusters=ClusterSettings.max_clusters, n_modes=None,
                     kinds=(ClusterSettings.dissimilarity, "euclidean"), seed=0,
                     subspace_tol=1e-2, criterion_tol=0.1, restarts=RESTARTS):
    """Criterion table: {'modes', 'k': [...], 'global_error': [...], kind: [...],
    kind + '_range': [(min, max), ...], 'labels': {kind: {k: labels}}, 'medoids': ...,
    'dissimilarity': {kind: D}, 'restarts'}.

    ``kind`` holds, for each k, the criterion of the k-medoids run with the smallest
    objective among ``restarts`` runs (:func:`.clustering.kmedoids_clusters`);
    ``kind_range`` the smallest and largest criterion over all those runs (the spread due
    to the k-medoids initialisation alone)."""
    n_modes = default_modes(F, criterion_tol) if n_modes is None else int(n_modes)
    K = min(int(max_clusters), F.n_sims)
    g, _ = projection_error(F, np.zeros(F.n_sims, dtype=int), n_modes)
    out = dict(modes=n_modes, k=list(range(1, K + 1)), global_error=[g] * K, labels={}, medoids={},
               dissimilarity={}, kinds=list(kinds), restarts=int(restarts))
    for kind in kinds:
        D = make_dissimilarity(F, kind, subspace_tol=subspace_tol)
        out["dissimilarity"][kind] = D
        out[kind], out[kind + "_range"], out["labels"][kind], out["medoids"][kind] = [], [], {}, {}
        for k in range(1, K + 1):
            runs = kmedoids_runs(D, k, seed, restarts=restarts)
            _, lab, med = best_run(runs)
            errs = {}                                  # criterion per distinct partition
            for _, lr, _ in runs:
                if lr.tobytes() not in errs:
                    errs[lr.tobytes()] = projection_error(F, lr, n_modes)[0]
            out[kind].append(errs[lab.tobytes()])
            out[kind + "_range"].append((min(errs.values()), max(errs.values())))
            out["labels"][kind][k] = lab
            out["medoids"][kind][k] = med
    return out


def format_table(tab, spread=True) -> str:
    """Text table of :func:`efficiency_table` (with the spread over the k-medoids runs)."""
    kinds = tab["kinds"]
    sp = spread and all(kd + "_range" in tab for kd in kinds)
    w = 30 if sp else 16
    head = f"{'k':>3} | {'global':>10} | " + " | ".join(f"{'local-' + k:>{w}}" for k in kinds)
    lines = [f"mean relative projection error of the training snapshots, {tab['modes']} modes "
             "in every basis (L2-mass norm)"
             + (f"; k-medoids: best objective of {tab.get('restarts', 1)} runs [min..max over the runs]"
                if sp else ""), head, "-" * len(head)]
    for i, k in enumerate(tab["k"]):
        cells = []
        for kd in kinds:
            c = f"{tab[kd][i]:.3e}"
            if sp:
                lo, hi = tab[kd + "_range"][i]
                c += f" [{lo:.2e}..{hi:.2e}]"
            cells.append(f"{c:>{w}}")
        lines.append(f"{k:>3} | {tab['global_error'][i]:10.3e} | " + " | ".join(cells))
    return "\n".join(lines)


def choose_k(errors, within=0.10):
    """Smallest k (1-based) whose error is within ``within`` of the best error."""
    e = np.asarray(errors, dtype=float)
    best = e.min()
    return int(np.flatnonzero(e <= best * (1.0 + within) + 1e-300)[0]) + 1


# ============================================================================ driver
def run_clustering(store, clusters=None, max_clusters=ClusterSettings.max_clusters,
                   dissimilarity=ClusterSettings.dissimilarity, modes=None,
                   config=None, seed=0, subspace_tol=1e-2, criterion_tol=0.1, classifier=True,
                   comm=None, progress=print, restarts=RESTARTS, extra_series="auto") -> dict:
    """Clustering, criterion, global + local ROMs and classifier (module docstring).

    clusters : int, list of ints or None (automatic choice of k).
    config : offline settings (``pipeline.DEFAULTS``; ``series`` is ignored: the training
        series are used). Returns a report dict (replicated).
    extra_series : series whose snapshots are added to every ROM (global and local) but
        take no part in the clustering nor the classifier; ``"auto"``: the store's
        thermo-elastic snapshots (:mod:`.elastic_snapshots`), a list: those series."""
    from .classifier import fit_classifier
    from .elastic_snapshots import elastic_series
    from .training import read_training

    comm = comm or mpi.comm()
    root = comm.Get_rank() == 0
    say = progress if (root and progress) else (lambda *a, **k: None)
    cfg = load_config(config)
    t_all = time.perf_counter()
    timings = {}
    with CaseStore(store) as st:                 # read-only, once for every read below
        tr = read_training(st)
        series = tr["series"]
        extra = elastic_series(st) if extra_series == "auto" else [str(s) for s in (extra_series or [])]
        if len(series) < 2:
            raise InputError(f"clustering needs at least 2 complete training runs (has {len(series)})", store)
        mesh = st.mesh()
        layout = RowLayout(mesh, comm, element_thickness(mesh, st.problem() if st.has_problem() else None))
        t0 = time.perf_counter()
        F = snapshot_factor(st, series, cfg["displacement"], comm, layout)
        timings["factor"] = time.perf_counter() - t0
        say(f"romnet cluster: {store}: {F.n_sims} training simulations, {F.R.shape[0]} snapshots, "
            f"{comm.Get_size()} rank(s)")
        t0 = time.perf_counter()
        kinds = [dissimilarity] + (["euclidean"] if dissimilarity != "euclidean" else [])
        tab = efficiency_table(F, max_clusters, modes, kinds, seed, subspace_tol, criterion_tol, restarts)
        timings["criterion"] = time.perf_counter() - t0
        say(format_table(tab))
        if clusters is None:
            ks = [choose_k(tab[dissimilarity])]
            say(f"  chosen k = {ks[0]} (smallest k within 10 % of the best error)")
        else:
            ks = sorted({int(k) for k in np.atleast_1d(clusters)})
        for k in ks:
            if not 1 <= k <= F.n_sims:
                raise InputError(f"--clusters {k}: must be between 1 and {F.n_sims}")
        t0 = time.perf_counter()
        problem = st.problem() if st.has_problem() else None
        U, uinfo, dual, stress, times = read_snapshots(st, series + extra, cfg, layout)
        timings["read"] = time.perf_counter() - t0
    off = F.offsets
    n_tr = int(off[-1])                       # training columns first, then the extra series'
    extra_cols = np.arange(n_tr, U.shape[1])

    def sub(cols):
        """Snapshots of training columns ``cols`` + the extra series' (no copy for all)."""
        cols = np.concatenate([cols, extra_cols])
        if cols.size == U.shape[1] and np.array_equal(cols, np.arange(U.shape[1])):
            return U, dual, stress, times
        return (U[:, cols], {n: (S[:, cols], info) for n, (S, info) in dual.items()}, stress[:, cols],
                times[cols])

    t0 = time.perf_counter()
    say("  global ROM (all training snapshots" + (f" + {len(extra)} extra series: thermo-elastic "
                                                   "snapshots" if extra else "") + "):")
    Ug, dg, sg, tg = sub(np.arange(n_tr))
    rom, distributed, grep_ = build_rom_tree(layout, problem, Ug, uinfo, dg, sg, tg, cfg, comm, say)
    rom["series"] = series + extra
    cl = dict(dissimilarity=dissimilarity, modes=int(tab["modes"]), seed=int(seed), restarts=int(restarts),
              subspace_tol=float(subspace_tol), series=list(series), selected=int(ks[0]),
              stored=list(ks),
              criterion=dict(k=np.asarray(tab["k"], dtype=np.int64),
                             global_error=np.asarray(tab["global_error"]),
                             kinds=list(kinds),
                             **{f"local_{kd}": np.asarray(tab[kd]) for kd in kinds},
                             **{f"dissimilarity_{kd}": tab["dissimilarity"][kd] for kd in kinds}))
    report = dict(store=str(store), series=series, extra_series=extra, criterion={kd: tab[kd] for kd in kinds},
                  global_error=tab["global_error"][0], modes=tab["modes"], chosen=ks, local={},
                  classifier={}, global_rom=grep_)
    for k in ks:
        if k <= len(tab["k"]):
            labels, med = tab["labels"][dissimilarity][k], tab["medoids"][dissimilarity][k]
        else:
            labels, med, _ = kmedoids_clusters(tab["dissimilarity"][dissimilarity], k, seed=seed,
                                               restarts=restarts)
        kg = dict(labels=np.asarray(labels, dtype=np.int64), medoids=np.asarray(med, dtype=np.int64),
                  n_clusters=int(k))
        report["local"][k] = []
        for c in range(k):
            members = np.flatnonzero(labels == c)
            cols = np.concatenate([np.arange(off[i], off[i + 1]) for i in members])
            say(f"  k={k} cluster {c}: {members.size} simulation(s) {[series[i] for i in members]}")
            Uc, dc, sc, tc = sub(cols)
            tree, dist, rep = build_rom_tree(layout, problem, Uc, uinfo, dc, sc, tc, cfg, comm, say,
                                             prefix=rom_path(k, c) + "/")
            tree["series"] = [series[i] for i in members] + extra
            tree["members"] = members.astype(np.int64)
            kg[cluster_key(c)] = tree
            distributed.update(dist)
            report["local"][k].append(rep)
        if classifier:
            ctree, crep = fit_classifier(tr["temperature"], labels, seed=seed)
            kg["classifier"] = ctree
            report["classifier"][k] = crep
            say(f"  classifier k={k}: {crep['model']} on {crep['n_components']} PCA components, "
                f"cross-validated accuracy {crep['cv_accuracy']:.3f} (chance {crep['chance']:.3f})")
        cl[str(k)] = kg
    rom["clusters"] = cl
    timings["roms"] = time.perf_counter() - t0
    rom["timings"] = dict(timings)
    write_rom(store, rom, distributed, comm)
    timings["total"] = time.perf_counter() - t_all
    report["timings"] = timings
    report["table"] = tab
    say("  timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
    return report


# ============================================================================ reading
def read_local_rom(path, k=None, c=0, modes=True) -> dict:
    """The local ROM of cluster ``c`` for ``k`` clusters (default: the selected k), as the
    same nested dict :func:`.rom_store.read_rom` returns for the global ROM."""
    with CaseStore.opened(path) as st:
        k = selected_k(st) if k is None else int(k)
        if k is None:
            raise StoreError(f"{path}: the ROM has no clusters (run `romnet cluster`)")
        return read_rom(st, modes, at=rom_path(k, c))


def read_local_modes(path, k, c, field: str, points=None) -> np.ndarray:
    """Like :func:`.rom_store.read_modes` for the local basis of cluster ``c`` of ``k``
    clusters."""
    return read_modes(path, field, points, at=rom_path(k, c))
