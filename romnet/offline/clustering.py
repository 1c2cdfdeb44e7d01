"""Dissimilarities between training simulations and k-medoids clustering.

Reduction to a small replicated matrix (the distributed part)
------------------------------------------------------------
All snapshots of all simulations (columns, simulation after simulation; ``m`` columns in
total) are read by rows as in :mod:`romnet.offline.pod` (each rank its own nodes) and
factored once by TSQR in the L2-mass product: ``A = Q R`` with ``A^T A = S^T M S``
(:func:`romnet.offline.pod.tsqr` on :class:`~romnet.offline.pod.NodalL2` row blocks). The
columns ``r_j`` of the replicated ``R`` (m x m) have exactly the M inner products of the
snapshots: ``(u_i, u_j)_M = r_i . r_j``. Everything below (per-simulation POD bases,
principal angles, distances, cluster PODs, projection errors) works on ``R`` on every rank
(identical results on 1 and N ranks up to the round-off of TSQR); only the TSQR touches
the distributed snapshot rows. Memory: ``m^2`` doubles replicated (m = number of
snapshots of the family).

Per-simulation subspace
-----------------------
The POD of simulation i's snapshots in the M product, ``S_i = Q_i diag(s) V^T``, has
coordinates ``U_i`` = left singular vectors of ``R_i`` (its columns of R): the M-orthonormal
modes ``Q_i = S_i V s^-1`` satisfy ``Q_i^T M Q_j = U_i^T U_j``. ``U_i`` keeps the POD
truncation of :func:`romnet.offline.pod.truncation_rank` with ``subspace_tol`` (relative RMS
projection error of the simulation's snapshots, default 1e-2) and at most
``subspace_modes`` modes: directions carrying less than that are round-off or negligible
and would otherwise dominate the largest principal angles.

Dissimilarities (n_sims x n_sims, symmetric, zero diagonal)
------------------------------------------------------------
* ``angle`` (default): RMS over simulation j's non-zero snapshots of the sine of the angle
  between the snapshot and simulation i's subspace, ``e(j|i) = sqrt(mean_t ||(I - P_i)
  u_j(t)||_M^2 / ||u_j(t)||_M^2)`` (``P_i`` the M-orthogonal projector on span(U_i)),
  symmetrised ``(e(j|i) + e(i|j)) / 2``. It is the relative projection error of one
  simulation on the other's reduced basis, i.e. exactly what a local basis has to achieve,
  and insensitive to the amplitude of the loading (unlike the Euclidean distance).
* ``principal``: sine of the largest principal angle between the two subspaces,
  ``sqrt(1 - sigma_min(U_i^T U_j)^2)`` over the ``min(r_i, r_j)`` principal angles
  (0 for nested subspaces). Very sensitive to the weakest retained direction.
* ``chordal``: chordal (projection Frobenius) distance ``||P_i - P_j||_F / sqrt(2) =
  sqrt((r_i + r_j) / 2 - ||U_i^T U_j||_F^2)``, a Grassmann metric that also accounts for
  unequal dimensions.
* ``snapshot-angle`` (the sine of the angle between individual snapshots, as in the paper
  for one solution per simulation): ``sqrt(mean_t sin^2 angle(u_i(t), u_j(t)))`` over the
  output times where both snapshots are non-zero (simulations must have the same number
  of outputs).
* ``euclidean`` (baseline): M-norm distance between the flattened trajectories,
  ``sqrt(sum_t ||u_i(t) - u_j(t)||_M^2)`` (same number of outputs).
* :func:`input_dissimilarity`: Euclidean distance between the inputs (e.g. the nodal
  temperature fields), another baseline.

Clustering: k-medoids, FasterPAM of the ``kmedoids`` package, on any of these matrices
(``D[j, m]`` = dissimilarity of simulation j to medoid m). FasterPAM only finds a local
optimum of the k-medoids objective ``sum_j min_m D[j, m]``, which depends on the
initialisation: :func:`kmedoids_clusters` runs it ``restarts`` times (BUILD first, then
random initialisations seeded by ``seed``) and keeps the run with the smallest objective
(ties: the earlier run), so the result is deterministic for a given seed;
:func:`kmedoids_runs` returns every run (to measure the spread over initialisations).
Measured on the 20-run hot-spot cube family (``bench/clustering_report.py``, k = 2..6,
angle and Euclidean): BUILD alone reached the exhaustive optimum of the objective in 7 of
the 10 cases, 10 restarts in all 10. (A smaller objective does not always give smaller
projection errors: the objective is a proxy of the criterion of :mod:`.local_bases`.)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import mpi
from ..errors import InputError, RomnetError
from ..store import CaseStore
from .pod import NodalL2, RowLayout, truncation_rank, tsqr
from .settings import DISSIMILARITIES, ClusterSettings

__all__ = ["SnapshotFactor", "snapshot_factor", "factor_from_matrix", "simulation_bases",
           "principal_cosines", "projection_angle_dissimilarity", "angle_dissimilarity", "snapshot_angle_dissimilarity",
           "euclidean_dissimilarity", "input_dissimilarity", "dissimilarity", "kmedoids_clusters",
           "kmedoids_runs", "best_run", "DISSIMILARITIES", "RESTARTS"]

#: k-medoids runs (BUILD + random initialisations); the smallest objective is kept
RESTARTS = 10


@dataclass
class SnapshotFactor:
    """R (m x m, replicated): ``R^T R = S^T M S`` for the snapshots of all simulations;
    simulation i owns the columns ``offsets[i]:offsets[i+1]``."""
    R: np.ndarray
    offsets: np.ndarray
    series: list = field(default_factory=list)
    times: list = field(default_factory=list)

    @property
    def n_sims(self) -> int:
        return len(self.offsets) - 1

    def columns(self, i):
        return self.R[:, self.offsets[i]:self.offsets[i + 1]]

    def cluster_columns(self, members):
        return np.hstack([self.columns(int(i)) for i in members])


def factor_from_matrix(A_list, series=None, comm=None) -> SnapshotFactor:
    """Factor from already weighted row-distributed matrices (one per simulation,
    ``A_i^T A_i = S_i^T M S_i``); the Euclidean case for tests."""
    comm = comm or mpi.comm()
    A = np.hstack([np.asarray(a, dtype=float) for a in A_list])
    R = tsqr([A], A.shape[1], comm)
    off = np.concatenate([[0], np.cumsum([np.asarray(a).shape[1] for a in A_list])]).astype(np.int64)
    return SnapshotFactor(R, off, list(series or range(len(A_list))))


def snapshot_factor(store, series, field_name="U", comm=None, layout=None) -> SnapshotFactor:
    """TSQR of the M-weighted snapshots of every series (module docstring). Each rank reads
    its own node rows of each series (one hyperslab per series)."""
    from .pipeline import read_local
    comm = comm or mpi.comm()
    series = list(series)
    if not series:
        raise InputError("no training series to cluster", store)
    with CaseStore.opened(store) as st:
        layout = layout or RowLayout(st.mesh(), comm)
        blocks, times = [], []
        for s in series:
            S, info = read_local(st, s, field_name, layout)
            if info["kind"] != "nodal" or info["shape"][2] != layout.dim:
                raise InputError(f"field '{field_name}' of series '{s}' is not a nodal vector field", store)
            blocks.append(S)
            times.append(np.asarray(st.times(s), dtype=float))
    S = np.hstack(blocks)
    R = tsqr(NodalL2(layout).row_blocks(S), S.shape[1], comm)
    off = np.concatenate([[0], np.cumsum([b.shape[1] for b in blocks])]).astype(np.int64)
    return SnapshotFactor(R, off, series, times)


def simulation_bases(F: SnapshotFactor, subspace_tol=1e-2, subspace_modes=None):
    """Coordinates ``U_i`` (m x r_i) of each simulation's M-orthonormal POD basis."""
    out = []
    for i in range(F.n_sims):
        U, s, _ = np.linalg.svd(F.columns(i), full_matrices=False)
        r = truncation_rank(s, subspace_tol, subspace_modes)
        out.append(U[:, :max(r, 0)])
    return out


def principal_cosines(Ui, Uj):
    """Cosines of the principal angles between span(Ui) and span(Uj) (descending)."""
    if Ui.shape[1] == 0 or Uj.shape[1] == 0:
        return np.zeros(0)
    return np.clip(np.linalg.svd(Ui.T @ Uj, compute_uv=False), 0.0, 1.0)


def _unit_columns(X, rtol=1e-12):
    nx = np.linalg.norm(X, axis=0)
    m = nx > rtol * (nx.max() if nx.size else 1.0)
    return X[:, m] / nx[m]


def projection_angle_dissimilarity(F: SnapshotFactor, subspace_tol=1e-2, subspace_modes=None):
    """``angle``: symmetrised RMS sine of the angles between one simulation's snapshots
    and the other's POD subspace (module docstring)."""
    bases = simulation_bases(F, subspace_tol, subspace_modes)
    n = len(bases)
    X = [_unit_columns(F.columns(j)) for j in range(n)]
    E = np.zeros((n, n))
    for i in range(n):
        B = bases[i]
        for j in range(n):
            if i == j or X[j].shape[1] == 0:
                continue
            c2 = np.sum((B.T @ X[j]) ** 2, axis=0)
            E[i, j] = np.sqrt(np.mean(np.clip(1.0 - c2, 0.0, 1.0)))
    return 0.5 * (E + E.T)


def angle_dissimilarity(F: SnapshotFactor, metric="sine", subspace_tol=1e-2, subspace_modes=None):
    """Sine of the largest principal angle (``metric="sine"``) or chordal distance
    (``"chordal"``) between the simulations' subspaces (module docstring)."""
    bases = simulation_bases(F, subspace_tol, subspace_modes)
    n = len(bases)
    D = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            c = principal_cosines(bases[i], bases[j])
            if metric == "sine":
                d = float(np.sqrt(max(0.0, 1.0 - c[-1] ** 2))) if c.size else 1.0
            elif metric == "chordal":
                ri, rj = bases[i].shape[1], bases[j].shape[1]
                d = float(np.sqrt(max(0.0, 0.5 * (ri + rj) - np.sum(c ** 2))))
            else:
                raise InputError(f"unknown angle metric {metric!r} (sine, chordal)")
            D[i, j] = D[j, i] = d
    return D


def _same_lengths(F):
    n_t = np.diff(F.offsets)
    if np.any(n_t != n_t[0]):
        raise InputError(f"this dissimilarity needs simulations with the same number of outputs "
                         f"(got {sorted(set(n_t.tolist()))})")
    return int(n_t[0])


def snapshot_angle_dissimilarity(F: SnapshotFactor, rtol=1e-12):
    """sqrt(mean over outputs of sin^2 of the angle between u_i(t) and u_j(t))."""
    n_t = _same_lengths(F)
    n = F.n_sims
    X = F.R.reshape(F.R.shape[0], n, n_t)                  # (m, sim, t)
    nrm = np.linalg.norm(X, axis=0)                          # (sim, t)
    nz = nrm > rtol * nrm.max()
    Xn = X / np.where(nz, nrm, 1.0)[None]
    cos = np.einsum("ait,ajt->ijt", Xn, Xn)                  # (sim, sim, t)
    both = nz[:, None, :] & nz[None, :, :]
    s2 = np.where(both, np.clip(1.0 - cos ** 2, 0.0, 1.0), 0.0)
    cnt = both.sum(axis=2)
    D = np.sqrt(np.where(cnt > 0, s2.sum(axis=2) / np.maximum(cnt, 1), 1.0))
    np.fill_diagonal(D, 0.0)
    return 0.5 * (D + D.T)


def euclidean_dissimilarity(F: SnapshotFactor):
    """M-norm distance between flattened trajectories (same number of outputs)."""
    n_t = _same_lengths(F)
    n = F.n_sims
    X = F.R.reshape(F.R.shape[0], n, n_t).transpose(1, 0, 2).reshape(n, -1)
    G = X @ X.T
    d2 = np.diag(G)[:, None] + np.diag(G)[None, :] - 2 * G
    D = np.sqrt(np.clip(d2, 0.0, None))
    np.fill_diagonal(D, 0.0)
    return 0.5 * (D + D.T)


def input_dissimilarity(X):
    """Euclidean distance between input vectors (rows of X, e.g. nodal temperatures)."""
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    G = X @ X.T
    d2 = np.diag(G)[:, None] + np.diag(G)[None, :] - 2 * G
    D = np.sqrt(np.clip(d2, 0.0, None))
    np.fill_diagonal(D, 0.0)
    return 0.5 * (D + D.T)


def dissimilarity(F: SnapshotFactor, kind=ClusterSettings.dissimilarity, subspace_tol=1e-2, subspace_modes=None):
    """Dissimilarity matrix by name (:data:`DISSIMILARITIES`)."""
    if kind == "angle":
        return projection_angle_dissimilarity(F, subspace_tol, subspace_modes)
    if kind == "principal":
        return angle_dissimilarity(F, "sine", subspace_tol, subspace_modes)
    if kind == "chordal":
        return angle_dissimilarity(F, "chordal", subspace_tol, subspace_modes)
    if kind == "snapshot-angle":
        return snapshot_angle_dissimilarity(F)
    if kind == "euclidean":
        return euclidean_dissimilarity(F)
    raise InputError(f"unknown dissimilarity {kind!r} (one of {', '.join(DISSIMILARITIES)})")


def _kmedoids():
    try:
        import kmedoids
    except ImportError as exc:  # pragma: no cover
        raise RomnetError("clustering needs the 'kmedoids' package (FasterPAM): "
                          "pip install kmedoids") from exc
    return kmedoids


def _relabel(D, med):
    """Labels (nearest medoid, medoid c -> label c) and objective for sorted medoids."""
    n = D.shape[0]
    labels = np.argmin(D[:, med], axis=1).astype(np.int64)
    labels[med] = np.arange(med.size)
    return labels, float(np.sum(D[np.arange(n), med[labels]]))


def kmedoids_runs(D, k, seed=0, max_iter=100, restarts=RESTARTS):
    """Every k-medoids run (FasterPAM): run 0 from the BUILD initialisation, runs
    1 .. restarts-1 from random initial medoids (``random_state = 1000 seed + run``).

    Returns a list of (loss, labels (n,) int, medoids (k,) int) in run order; labels are
    renumbered so that cluster c's medoid is ``medoids[c]`` (medoids increasing)."""
    D = np.ascontiguousarray(np.asarray(D, dtype=np.float64))
    n = D.shape[0]
    k = int(k)
    if not 1 <= k <= n:
        raise InputError(f"number of clusters {k} must be between 1 and the number of simulations {n}")
    if k == 1:
        med = np.array([int(np.argmin(D.sum(axis=0)))])
        return [(float(D[:, med[0]].sum()), np.zeros(n, dtype=np.int64), med)]
    km = _kmedoids()
    out = []
    for run in range(max(1, int(restarts))):
        init = "build" if run == 0 else "random"
        res = km.fasterpam(D, k, max_iter=max_iter, init=init, random_state=1000 * int(seed) + run, n_cpu=1)
        med = np.sort(np.asarray(res.medoids, dtype=np.int64))
        labels, loss = _relabel(D, med)
        out.append((loss, labels, med))
    return out


def kmedoids_clusters(D, k, seed=0, max_iter=100, restarts=RESTARTS):
    """k-medoids of the dissimilarity matrix ``D``: the best of :func:`kmedoids_runs`
    (smallest objective; ties within 1e-12 relative: the earlier run, BUILD first).

    Returns (labels (n,) int, medoids (k,) int, loss). Labels are renumbered so that
    cluster c's medoid is ``medoids[c]`` and the medoids are in increasing order."""
    loss, labels, med = best_run(kmedoids_runs(D, k, seed, max_iter, restarts))
    return labels, med, loss


def best_run(runs):
    """The run of :func:`kmedoids_runs` with the smallest objective (ties within 1e-12
    relative: the earlier run)."""
    best = runs[0]
    for r in runs[1:]:
        if r[0] < best[0] - 1e-12 * abs(best[0]):
            best = r
    return best
