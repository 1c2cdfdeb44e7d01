"""Empirical Cubature Method (ECM) with the error controlled globally across ranks.

Problem
-------
Integrand matrix ``G`` (n_ip x n_col), one row per integration point ``q`` (rows split over
ranks, each rank its own integration points), one column per integrand; the exact
integrals are ``b = G^T dV`` (``dV`` = integration weight x detJ). ECM finds a small set
``P`` of reduced integration points and weights ``w >= 0`` with ``G_P^T w ~ b``.

For the reduced internal forces (:func:`internal_force_integrand`) the columns are
``g_q^{(j,k)} = sigma_j(q) : eps(psi_k)(q)`` for each training snapshot ``j`` and
displacement mode ``k`` (Mandel dot product), plus one constant column (``g_q = 1``, the
volume). ``b^{(j,.)}`` is then the vector of reduced internal forces of snapshot ``j``.

Normalisation and error measure
-------------------------------
Columns are grouped (``groups``: one group per snapshot, the volume column its own group)
and every group is scaled by ``1 / ||b_group||`` (groups with ``||b_group|| = 0``, e.g. a
zero-stress snapshot, are dropped). The error of a group is ``||G_P^T w - b||_group /
||b_group||`` = relative error of that snapshot's reduced internal-force vector; the
algorithm stops when the **maximum over groups** is ``<= tol`` (so every training snapshot
is integrated within ``tol``), or at ``max_points``.

Greedy algorithm (Hernandez et al. 2017, global version)
--------------------------------------------------------
residual ``r = b - G_P^T w`` (replicated, length n_col). Each step:
1. every rank scores its candidate points: ``c_q = g_q . r / ||g_q||`` (positive
   correlation of the normalised row with the residual);
2. ``allgather`` of each rank's best ``(score, global index)`` -> the global best (ties:
   smallest index), i.e. a MAXLOC over all points of all ranks;
3. its owner broadcasts the row ``g_q``;
4. every rank solves the same NNLS ``min ||G_P^T w - b||, w >= 0`` (scipy.optimize.nnls,
   size n_col x |P|) and drops points whose weight is zero;
5. the residual and the group errors are global quantities (replicated).
A point that enters with zero weight is excluded from later candidates (no cycling).
The result is the same on any number of ranks up to round-off.

Warm start: ``warm_start`` (global ip indices, e.g. the current points of an online ROM
being enriched) are put in ``P`` first (their rows gathered from their owners), NNLS is
solved, and the greedy continues from that residual.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

from .. import mpi

__all__ = ["ECMResult", "ecm", "internal_force_integrand"]


@dataclass
class ECMResult:
    points: np.ndarray          # (n_p,) global integration-point indices
    weights: np.ndarray         # (n_p,) non-negative weights
    error: float                # max over groups of the relative error
    group_errors: np.ndarray    # (n_groups_kept,)
    iterations: int
    converged: bool
    history: list = field(default_factory=list)  # (n_points, error) per step
    n_columns: int = 0
    seconds: float = 0.0


def internal_force_integrand(stress, mode_strains, include_volume=True):
    """Integrand of the reduced internal forces at the local integration points.

    stress : (n_ip_local, 6, n_snap) Mandel stresses of the training snapshots.
    mode_strains : (n_ip_local, 6, n_modes) Mandel strains of the displacement modes.
    Returns G (n_ip_local, n_snap * n_modes [+1]), columns snapshot-major
    (col = j * n_modes + k), and ``groups`` (n_col,) = snapshot index j (n_snap for the
    volume column)."""
    n_ip, _, n_s = stress.shape
    n_m = mode_strains.shape[2]
    G = np.einsum("qcj,qck->qjk", stress, mode_strains, optimize=True).reshape(n_ip, n_s * n_m)
    groups = np.repeat(np.arange(n_s), n_m)
    if include_volume:
        G = np.hstack([G, np.ones((n_ip, 1))])
        groups = np.concatenate([groups, [n_s]])
    return G, groups


def _global_best(score, offset, comm):
    """(score, global index) of the best candidate over all ranks; (-inf, -1) if none."""
    if score.size:
        i = int(np.argmax(score))
        mine = (float(score[i]), -(offset + i))
    else:
        mine = (-np.inf, 1)
    if comm.Get_size() == 1:
        best = mine
    else:
        best = max(comm.allgather(mine))  # max score, then smallest index
    return best[0], -best[1]


def _gather_rows(G, offset, idx, comm):
    """Rows of the global G at global indices idx (replicated, in the order of idx)."""
    idx = np.asarray(idx, dtype=np.int64)
    n = G.shape[0]
    out = np.zeros((idx.size, G.shape[1]))
    m = (idx >= offset) & (idx < offset + n)
    out[m] = G[idx[m] - offset]
    return comm.allreduce(out) if comm.Get_size() > 1 else out


def ecm(G, dV, comm=None, ip_offset=0, tol=1e-5, groups=None, warm_start=None, max_points=None,
        max_iterations=None, progress=None) -> ECMResult:
    """Greedy ECM with global error control (module docstring).

    G : (n_ip_local, n_col) integrand at this rank's integration points (global indices
        ip_offset .. ip_offset + n_ip_local - 1).
    dV : (n_ip_local,) integration weights x detJ.
    groups : (n_col,) group of every column (default: one group per column).
    """
    t0 = time.perf_counter()
    comm = comm or mpi.comm()
    G = np.asarray(G, dtype=np.float64)
    n_loc, n_col = G.shape
    b = G.T @ dV
    if comm.Get_size() > 1:
        b = comm.allreduce(b)
    groups = np.arange(n_col) if groups is None else np.asarray(groups)
    gnorm = np.sqrt(np.bincount(groups, weights=b ** 2))
    keep_g = gnorm > 1e-14 * (gnorm.max() if gnorm.size else 1.0)
    cols = keep_g[groups]
    scale = np.where(cols, 1.0 / np.where(gnorm > 0, gnorm, 1.0)[groups], 0.0)[cols]
    G = G[:, cols] * scale
    b = b[cols] * scale
    grp = np.unique(groups[cols], return_inverse=True)[1]
    n_col = G.shape[1]
    rn = np.linalg.norm(G, axis=1)
    excluded = rn <= 0
    max_points = n_col if max_points is None else int(max_points)
    max_iterations = 4 * max_points + 20 if max_iterations is None else max_iterations

    def errors(r):
        return np.sqrt(np.bincount(grp, weights=r ** 2))

    P = []
    rows = np.zeros((0, n_col))
    w = np.zeros(0)
    if warm_start is not None and len(warm_start):
        P = [int(i) for i in np.unique(np.asarray(warm_start, dtype=np.int64))]
        rows = _gather_rows(G, ip_offset, P, comm)
        w, _ = nnls(rows.T, b, maxiter=50 * max(1, len(P)))
        keep = w > 0
        P = [p for p, k in zip(P, keep) if k]
        rows, w = rows[keep], w[keep]
    r = b - rows.T @ w
    err = errors(r)
    history = [(len(P), float(err.max()))]
    it = 0
    converged = bool(err.max() <= tol)
    while not converged and len(P) < max_points and it < max_iterations:
        it += 1
        score = (G @ r) / np.where(rn > 0, rn, 1.0)
        score[excluded] = -np.inf
        loc = np.asarray(P, dtype=np.int64) - ip_offset
        loc = loc[(loc >= 0) & (loc < n_loc)]
        score[loc] = -np.inf
        best, q = _global_best(score, ip_offset, comm)
        if not np.isfinite(best) or best <= 0:
            break
        row = _gather_rows(G, ip_offset, [q], comm)
        P.append(q)
        rows = np.vstack([rows, row])
        w, _ = nnls(rows.T, b, maxiter=50 * len(P))
        keep = w > 0
        if not keep[-1]:
            lq = q - ip_offset
            if 0 <= lq < n_loc:
                excluded[lq] = True
        P = [p for p, k in zip(P, keep) if k]
        rows, w = rows[keep], w[keep]
        r = b - rows.T @ w
        err = errors(r)
        history.append((len(P), float(err.max())))
        converged = bool(err.max() <= tol)
        if progress and (it % 25 == 0 or converged):
            progress(f"  ECM step {it}: {len(P)} points, max relative error {err.max():.3e}")
    order = np.argsort(P) if P else np.zeros(0, int)
    return ECMResult(np.asarray(P, dtype=np.int64)[order], w[order], float(err.max()), err, it,
                     converged, history, n_col, time.perf_counter() - t0)
