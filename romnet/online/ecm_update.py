"""ECM update for online enrichment: the greedy ECM of :mod:`romnet.offline.ecm` with a
warm-started, incrementally factorized NNLS.

Problem: integrand ``G`` (n_ip_local, n_col) at this rank's integration points, exact
integrals ``b = G^T dV``; find points ``P`` and weights ``w >= 0`` with ``G_P^T w ~ b``.
Columns are grouped (one group per stress snapshot, the volume its own group); group g is
scaled by ``1 / N_g``, ``N_g = max(B_g, zero_tol A_g)`` with ``B_g = ||b_g||`` and
``A_g = ||(|G|^T dV)_g||`` (a nearly self-equilibrated group, ``B_g << A_g``, is measured
against the magnitude of its integrand, as in :mod:`romnet.offline.ecm`); the error of a
group is ``||G_P^T w - b||_g / N_g`` and the greedy stops when the maximum over groups is
``<= tol`` (or at ``max_points`` / ``max_iterations``).

Greedy (Hernandez et al. 2017, global): warm-start points first; then each step scores
every candidate ``c_q = g_q . r / ||g_q||`` (r the scaled residual), takes the global best
(largest score; among scores within ``TIE_RTOL`` of it the smallest global index, so 1 and
N ranks pick the same point), gathers its row, re-solves the NNLS over the selected points
and drops the points of zero weight (a point entering with zero weight is excluded from
later candidates).

What differs from the offline ECM is only how the NNLS of each step is solved:

* offline: ``scipy.optimize.nnls`` from scratch on all selected rows at every step,
  O(n_col |P|^2) per step -- it dominated an enrichment (measured on the hot-cube test:
  34 of 41 s, ~1 800 calls of 18-30 ms);
* here (:class:`WarmNNLS`): Lawson-Hanson active set started from the previous step's
  solution (the previous positive weights stay passive, the new point enters) with the QR
  factor of the passive columns updated by Givens rotations (``scipy.linalg.qr_insert`` /
  ``qr_delete``), O(n_col^2) per step; the factor is rebuilt every ``refresh`` updates
  (round-off drift) and a step falls back to ``scipy.optimize.nnls`` on the same columns
  when the update meets a (numerically) dependent column, a non-finite value or too many
  inner iterations.

Both solve the same NNLS (unique optimum for independent columns): same points, weights
to round-off (``tests/test_online_enrichment.py`` checks :class:`WarmNNLS` against
``scipy.optimize.nnls``). The NNLS is replicated on every rank (identical inputs,
identical operations).
"""
from __future__ import annotations

import time

import numpy as np
from scipy.linalg import qr, qr_delete, qr_insert, solve_triangular
from scipy.optimize import nnls

from .. import mpi
from ..offline.ecm import ECMResult

__all__ = ["WarmNNLS", "ecm_update"]

_EPS = np.finfo(float).eps
#: groups whose exact integrals are below this fraction of the integrals of the magnitude
#: of their integrand are measured against ``ZERO_TOL * A_g`` (module docstring)
ZERO_TOL = 1e-3
#: relative score difference below which two candidates are a tie (smallest index wins)
TIE_RTOL = 1e-10


class WarmNNLS:
    """``min ||C w - b||, w >= 0`` over a set of columns that grows by one per call
    (:meth:`add`), warm-started from the previous solution.

    After every call the object holds only the passive columns (weights > 0): ``ids``
    (caller's labels, e.g. global ip indices), ``C`` (m, n) columns, ``w`` (n,), and the
    full QR factor ``Q`` (m, m), ``R`` (m, n) of ``C``. Columns that end with weight 0 are
    dropped (the ECM greedy drops them too)."""

    def __init__(self, b, refresh=64, max_inner=None):
        self.b = np.asarray(b, dtype=float)
        m = self.b.size
        self.ids = []
        self.C = np.zeros((m, 0))
        self.w = np.zeros(0)
        self.Q, self.R = np.eye(m), np.zeros((m, 0))
        self.refresh = int(refresh)
        self.max_inner = max_inner
        self._updates = 0
        self.fallbacks = 0
        self.calls = 0

    # ---------------------------------------------------------------- factor
    def _rebuild(self):
        if self.C.shape[1]:
            self.Q, self.R = qr(self.C, mode="full", check_finite=False)
        else:
            self.Q, self.R = np.eye(self.b.size), np.zeros((self.b.size, 0))
        self._updates = 0

    def _touch(self):
        self._updates += 1
        if self._updates >= self.refresh:
            self._rebuild()

    def _ls(self):
        """Unconstrained least-squares solution on the passive columns."""
        n = self.C.shape[1]
        if n == 0:
            return np.zeros(0)
        qtb = self.Q[:, :n].T @ self.b
        return solve_triangular(self.R[:n, :n], qtb, check_finite=False)

    def _insert(self, col):
        """Append a passive column; False (nothing changed) if it is numerically dependent
        on the passive ones or the system is already square."""
        m, n = self.C.shape
        if n >= m:
            return False
        Q, R = qr_insert(self.Q, self.R, col, n, which="col", check_finite=False)
        if not abs(R[n, n]) > 1e-10 * max(np.linalg.norm(col), 1e-300):
            return False
        self.Q, self.R = Q, R
        self.C = np.column_stack([self.C, col])
        self._touch()
        return True

    def _delete(self, pos):
        self.Q, self.R = qr_delete(self.Q, self.R, pos, 1, which="col", check_finite=False)
        self.C = np.delete(self.C, pos, axis=1)
        self._touch()

    # ---------------------------------------------------------------- solve
    def add(self, ids, cols):
        """Add candidate columns ``cols`` (m, p) labelled ``ids`` (p,) and re-solve the NNLS
        over passive + candidates (Lawson-Hanson from the current solution)."""
        self.calls += 1
        cols = np.asarray(cols, dtype=float).reshape(self.b.size, -1)
        self._Z_ids, self._Z = list(ids), cols
        try:
            self._lawson_hanson()
        except _Fallback:
            # passive + candidates are still the same set of columns: solve it from scratch
            self._scipy()
        self._Z_ids, self._Z = [], None

    def _lawson_hanson(self):
        b = self.b
        m = b.size
        Z_ids, Z = self._Z_ids, self._Z                  # candidates at weight 0
        n_all = len(self.ids) + len(Z_ids)
        scale = max(float(np.abs(self.C).max()) if self.C.size else 0.0,
                    float(np.abs(Z).max()) if Z.size else 0.0, 1e-300)
        gtol = 10.0 * max(m, n_all) * _EPS * scale * max(float(np.linalg.norm(b)), 1e-300)
        max_inner = self.max_inner or 3 * n_all + 10
        blocked = np.zeros(len(Z_ids), dtype=bool)
        inner_total = 0
        for _ in range(3 * n_all + 10):
            r = b - self.C @ self.w
            g = Z.T @ r if Z.shape[1] else np.zeros(0)
            g[blocked] = -np.inf
            if not g.size or not g.max() > gtol:
                return
            j = int(np.argmax(g))
            if not self._insert(Z[:, j]):
                if self.C.shape[1] >= m:
                    raise _Fallback("square system")
                blocked[j] = True                        # dependent: cannot improve
                continue
            self.ids.append(Z_ids.pop(j))
            Z = self._Z = np.delete(Z, j, axis=1)
            blocked = np.delete(blocked, j)
            self.w = np.append(self.w, 0.0)
            new = True
            while True:
                inner_total += 1
                if inner_total > max_inner:
                    raise _Fallback("inner iterations")
                z = self._ls()
                if not np.all(np.isfinite(z)):
                    raise _Fallback("non-finite least-squares solution")
                if np.all(z > 0):
                    self.w = z
                    break
                if new and z[-1] <= 0:
                    raise _Fallback("entering column with non-positive weight")
                new = False
                neg = np.flatnonzero(z <= 0)
                wn = self.w[neg]
                ratios = wn / (wn - z[neg])
                alpha = float(np.min(ratios))
                self.w = self.w + alpha * (z - self.w)
                self.w[neg[int(np.argmin(ratios))]] = 0.0          # the blocking column leaves
                drop = np.flatnonzero(self.w <= 10 * _EPS * max(float(self.w.max()), 1e-300))
                for pos in sorted(drop.tolist(), reverse=True):
                    Z_ids.append(self.ids.pop(pos))
                    Z = self._Z = np.column_stack([Z, self.C[:, pos]])
                    blocked = np.append(blocked, False)
                    self.w = np.delete(self.w, pos)
                    self._delete(pos)
        raise _Fallback("outer iterations")

    def _scipy(self):
        """Fallback: ``scipy.optimize.nnls`` on passive + candidates, factor rebuilt."""
        self.fallbacks += 1
        allc = np.column_stack([self.C, self._Z])
        all_ids = self.ids + list(self._Z_ids)
        w, _ = nnls(allc, self.b, maxiter=50 * max(1, allc.shape[1]))
        keep = w > 0
        self.ids = [i for i, k in zip(all_ids, keep) if k]
        self.C, self.w = allc[:, keep], w[keep]
        self._rebuild()


class _Fallback(Exception):
    pass


def _global_best(score, offset, comm, tie_rtol=TIE_RTOL):
    """(score, global index) of the best candidate over all ranks: the largest score, and
    among the scores within ``tie_rtol`` (relative) of it the smallest global index, so a
    round-off difference between 1 and N ranks cannot flip a near tie."""
    top = float(score.max()) if score.size else -np.inf
    if comm.Get_size() > 1:
        from mpi4py import MPI
        top = comm.allreduce(top, op=MPI.MAX)
    if not np.isfinite(top):
        return top, -1
    near = np.flatnonzero(score >= top - tie_rtol * abs(top))
    mine = offset + int(near[0]) if near.size else np.iinfo(np.int64).max
    if comm.Get_size() > 1:
        from mpi4py import MPI
        mine = comm.allreduce(mine, op=MPI.MIN)
    return top, int(mine)


def _gather_rows(G, offset, idx, comm):
    """Rows of the global G at global indices idx (replicated, in the order of idx)."""
    idx = np.asarray(idx, dtype=np.int64)
    n = G.shape[0]
    out = np.zeros((idx.size, G.shape[1]))
    m = (idx >= offset) & (idx < offset + n)
    out[m] = G[idx[m] - offset]
    return comm.allreduce(out) if comm.Get_size() > 1 else out


def ecm_update(G, dV, comm=None, ip_offset=0, tol=1e-5, groups=None, warm_start=None, max_points=None,
               max_iterations=None, progress=None, zero_tol=ZERO_TOL) -> ECMResult:
    """Greedy ECM (same arguments and result as :func:`romnet.offline.ecm.ecm`) with the
    warm-started NNLS of :class:`WarmNNLS` (module docstring).

    G : (n_ip_local, n_col) integrand at this rank's integration points (global indices
        ip_offset .. ip_offset + n_ip_local - 1); dV : (n_ip_local,) weights x detJ;
    groups : (n_col,) group of every column; warm_start : global ip indices put first.
    The result's ``history`` gives (number of points, max group error) per step."""
    t0 = time.perf_counter()
    comm = comm or mpi.comm()
    G = np.asarray(G, dtype=np.float64)
    n_loc, n_col = G.shape
    b = G.T @ dV
    if comm.Get_size() > 1:
        b = comm.allreduce(b)
    groups = np.arange(n_col) if groups is None else np.asarray(groups)
    a = np.abs(G).T @ dV
    if comm.Get_size() > 1:
        a = comm.allreduce(a)
    B = np.sqrt(np.bincount(groups, weights=b ** 2))
    A = np.sqrt(np.bincount(groups, weights=a ** 2))
    gnorm = np.maximum(B, zero_tol * A)
    keep_g = A > 1e-14 * (A.max() if A.size else 1.0)
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
        return np.sqrt(np.bincount(grp, weights=r ** 2, minlength=int(grp.max()) + 1 if grp.size else 0))

    solver = WarmNNLS(b)
    if warm_start is not None and len(warm_start):
        P0 = np.unique(np.asarray(warm_start, dtype=np.int64))
        rows = _gather_rows(G, ip_offset, P0, comm)
        solver.add(P0.tolist(), rows.T)
    r = b - solver.C @ solver.w
    err = errors(r)
    history = [(len(solver.ids), float(err.max()))]
    it = 0
    converged = bool(err.max() <= tol)
    while not converged and len(solver.ids) < max_points and it < max_iterations:
        it += 1
        score = (G @ r) / np.where(rn > 0, rn, 1.0)
        score[excluded] = -np.inf
        loc = np.asarray(solver.ids, dtype=np.int64) - ip_offset
        loc = loc[(loc >= 0) & (loc < n_loc)]
        score[loc] = -np.inf
        best, q = _global_best(score, ip_offset, comm)
        if not np.isfinite(best) or best <= 0:
            break
        row = _gather_rows(G, ip_offset, [q], comm)[0]
        solver.add([q], row[:, None])
        if q not in solver.ids:
            lq = q - ip_offset
            if 0 <= lq < n_loc:
                excluded[lq] = True
        r = b - solver.C @ solver.w
        err = errors(r)
        history.append((len(solver.ids), float(err.max())))
        converged = bool(err.max() <= tol)
        if progress and (it % 25 == 0 or converged):
            progress(f"  ECM update step {it}: {len(solver.ids)} points, max relative error {err.max():.3e}")
    P = np.asarray(solver.ids, dtype=np.int64)
    order = np.argsort(P)
    res = ECMResult(P[order], np.asarray(solver.w)[order], float(err.max()), err, it, converged, history,
                    n_col, time.perf_counter() - t0)
    res.nnls_fallbacks = solver.fallbacks
    return res
