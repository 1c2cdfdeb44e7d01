"""Warm-started NNLS solvers of the ECM greedy (:mod:`.ecm`): ``min ||A w - b||, w >= 0``
over a set of columns (the reduced points' rows) that grows by one column per greedy step.

* :func:`nnls_normal` -- Lawson-Hanson on the normal equations ``M = A^T A`` (|P| x |P|,
  kept up to date by the greedy), warm-started from the previous step's weights, with
  iterative refinement on ``A`` (``nnls_solver="warm"``, the ECM default); with the
  caller's ``cache`` the Cholesky factor of the passive set is kept between calls: a new
  point appends one row to it (O(|P|^2) per greedy step instead of O(|P|^3 / 3): the
  factorisation dominated the enrichments of ROMs with ~1 000 points) and a point that
  leaves is deleted from it by a rank-one update of the rows after its own (O(m^2) for the
  m rows after it; a from-scratch factorisation only when m is most of the set);
* :class:`WarmNNLS` -- Lawson-Hanson with the QR factor of the passive columns updated by
  Givens rotations (``scipy.linalg.qr_insert`` / ``qr_delete``), O(n_col^2) per step,
  rebuilt every ``refresh`` updates (``nnls_solver="qr"``).

Both fall back to ``scipy.optimize.nnls`` when their update fails (a numerically dependent
column, a non-finite value, too many iterations) and solve the same NNLS (unique optimum
for independent columns): same points, weights to round-off
(``tests/test_offline_ecm.py``, ``tests/test_online_enrichment.py``). They are replicated
on every rank (identical inputs, identical operations).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.linalg import LinAlgError, qr, qr_delete, qr_insert, solve_triangular
from scipy.optimize import nnls

__all__ = ["nnls_normal", "keep_factor", "chol_delete", "WarmNNLS"]

_EPS = np.finfo(float).eps


#: a point leaving the passive set is deleted from the cached factor by a rank-one update
#: when at most this fraction of the set comes after it (the update is a Python loop over
#: those rows, O(m^2) flops; LAPACK's factorisation O(|P|^3 / 3) runs faster per flop)
DELETE_MAX_TAIL = 0.6


def chol_delete(L, j):
    """Lower Cholesky factor of ``A`` without its row and column ``j``, from the factor ``L``
    of ``A`` (n x n, lower): rows before ``j`` are kept, the trailing block gets the rank-one
    update ``L33 L33^T + l l^T`` (``l = L[j+1:, j]``; Givens-like sweep, O((n-j)^2)).
    Returns the new (n-1, n-1) factor (a new array; ``L`` is not modified) or None when the
    update meets a non-positive or non-finite pivot (the caller factorises again)."""
    n = L.shape[0]
    out = np.zeros((n - 1, n - 1))
    out[:j, :j] = L[:j, :j]
    out[j:, :j] = L[j + 1:, :j]
    R = np.array(L[j + 1:, j + 1:].T)              # upper: row k = column k of the trailing block
    x = np.array(L[j + 1:, j])
    for k in range(n - 1 - j):
        rkk, xk = float(R[k, k]), float(x[k])
        if not rkk > 0.0:
            return None
        r = math.hypot(rkk, xk)
        c, s = r / rkk, xk / rkk
        R[k, k] = r
        row, xr = R[k, k + 1:], x[k + 1:]
        row += s * xr
        row *= 1.0 / c
        xr *= c
        xr -= s * row
    out[j:, j:] = R.T
    return out if np.all(np.isfinite(out[j:, j:])) else None


def _factor(M, idx, cache):
    """Lower Cholesky factor of ``M[idx, idx]``: the cached one (``cache``: {"idx", "L"}, the
    factor of an earlier set) when the set is the same, the cached one with one row appended
    (O(|P|^2): a triangular solve) when ``idx`` is the cached set plus one larger index, the
    cached one with one row deleted (:func:`chol_delete`, when at most ``DELETE_MAX_TAIL`` of
    the set follows it) when ``idx`` is the cached set minus one index, else a new
    factorisation (O(|P|^3 / 3)); the cache is updated. Raises LinAlgError when
    ``M[idx, idx]`` is not numerically positive definite."""
    if cache is not None and cache.get("L") is not None:
        idx0, L0 = cache["idx"], cache["L"]
        if idx0.size == idx.size and np.array_equal(idx0, idx):
            return L0
        if idx0.size == idx.size + 1:
            diff = np.flatnonzero(idx0[:-1] != idx)
            j = int(diff[0]) if diff.size else idx.size            # the position of the point that left
            if idx0.size - 1 - j <= DELETE_MAX_TAIL * idx0.size and np.array_equal(idx0[j + 1:], idx[j:]):
                L = chol_delete(L0, j)
                if L is not None:
                    cache.update(idx=idx.copy(), L=L)
                    return L
        if idx0.size + 1 == idx.size and np.array_equal(idx0, idx[:-1]):
            q = idx[-1]
            m = M[idx0, q]
            l = solve_triangular(L0, m, lower=True, check_finite=False) if idx0.size else np.zeros(0)
            d2 = float(M[q, q] - l @ l)
            if d2 > 1e2 * _EPS * abs(float(M[q, q])) and np.all(np.isfinite(l)):
                L = np.zeros((idx.size, idx.size))
                L[:-1, :-1] = L0
                L[-1, :-1] = l
                L[-1, -1] = np.sqrt(d2)
                cache.update(idx=idx.copy(), L=L)
                return L
    L = np.linalg.cholesky(M[np.ix_(idx, idx)])
    if not np.all(np.isfinite(L)):
        raise LinAlgError("non-finite Cholesky factor")
    if cache is not None:
        cache.update(idx=idx.copy(), L=L)
    return L


def keep_factor(cache, keep):
    """After the caller dropped the points ``~keep`` (bool over the old set) from its set,
    renumber the :func:`nnls_normal` ``cache`` if its factor is that of the kept points
    (then still valid), else clear it."""
    k = np.flatnonzero(keep)
    if cache.get("idx") is not None and np.array_equal(cache["idx"], k):
        cache["idx"] = np.arange(k.size)
    else:
        cache.clear()


def _cho_solve(L, y):
    """``(L L^T)^{-1} y`` for a lower triangular ``L``."""
    z = solve_triangular(L, y, lower=True, check_finite=False)
    return solve_triangular(L, z, lower=True, trans="T", check_finite=False)


def nnls_normal(M, c, w0=None, max_steps=None, rows=None, b=None, refine=2, cache=None):
    """Lawson-Hanson NNLS ``min ||A w - b||, w >= 0`` on the normal equations ``M = A^T A``,
    ``c = A^T b`` (|P| x |P|: the greedy keeps them up to date, one row per new point), warm
    started from the feasible ``w0`` (the previous step's weights, 0 for the new point):
    its positive entries are the initial passive set, so a greedy step usually costs one or
    two Cholesky solves of size |P| instead of |P| least-squares solves of size
    n_col x |P| (scipy's ``nnls`` starts from an empty set). Returns None when a Cholesky
    factorisation fails or the active-set loop does not finish in ``max_steps`` (the
    caller then uses ``scipy.optimize.nnls``).

    ``cache`` (a dict kept by the caller, e.g. the ECM greedy; {} to start): the Cholesky
    factor of the last passive set, ``{"idx": positions in M, "L": lower factor}``; a set
    that only gains the new (last) point appends one row to it (O(|P|^2)) instead of
    factorising again (O(|P|^3 / 3)). On return it holds the factor of the final passive set
    ``flatnonzero(w > 0)``.

    With ``rows`` (|P| x n_col, ``A = rows^T``) and ``b``, the final weights get ``refine``
    steps of iterative refinement on the passive set (residual from ``rows``, correction
    from the Cholesky factor: corrected semi-normal equations), which brings their
    round-off from cond(A)^2 eps (normal equations) back to about cond(A) eps: the weights
    then agree with a QR-based solve, and between layouts / rank counts, to ~1e-9."""
    n = c.size
    if n == 0:
        return np.zeros(0)
    cache = {} if cache is None else cache
    w = np.zeros(n) if w0 is None else np.maximum(np.asarray(w0, dtype=float), 0.0)
    passive = w > 0
    max_steps = 3 * n + 10 if max_steps is None else max_steps
    gtol = 1e-12 * max(float(np.abs(c).max()), 1e-300)
    for _ in range(max_steps):
        if passive.all():
            break
        cand = np.where(passive, -np.inf, c - M @ w)  # minus the gradient off the passive set
        j = int(np.argmax(cand))
        if not cand[j] > gtol:
            break                                      # KKT: optimal
        passive[j] = True
        for _ in range(max_steps):                     # inner loop: stay feasible
            idx = np.flatnonzero(passive)
            try:
                L = _factor(M, idx, cache)
            except (LinAlgError, ValueError):
                cache.clear()
                return None
            z_p = _cho_solve(L, c[idx])
            if np.all(z_p > 0):
                w = np.zeros(n)
                w[idx] = z_p
                break
            # step from w towards z until the first passive weight reaches 0 (it leaves)
            w_idx = w[idx]
            neg = z_p <= 0
            ratio = np.full(idx.size, np.inf)
            ratio[neg] = w_idx[neg] / (w_idx[neg] - z_p[neg])
            k = int(np.argmin(ratio))
            w_p = w_idx + ratio[k] * (z_p - w_idx)
            w_p[neg & (w_p <= w_idx * 1e-14 + 1e-300)] = 0.0
            w_p[k] = 0.0
            w = np.zeros(n)
            w[idx] = np.maximum(w_p, 0.0)
            passive = w > 0
            if not passive.any():
                break
        else:
            cache.clear()
            return None
    else:
        cache.clear()
        return None
    idx = np.flatnonzero(w > 0)
    if not idx.size:
        cache.clear()
        return w
    try:
        L = _factor(M, idx, cache)
    except (LinAlgError, ValueError):
        cache.clear()
        return None
    if rows is not None and refine:
        # products with every row (the zero weights contribute nothing) rather than a copy
        # of the passive rows: |P| x n_col values were copied at every greedy step
        w_r = w.copy()
        for _ in range(int(refine)):
            w_r[idx] += _cho_solve(L, (rows @ (b - rows.T @ w_r))[idx])
        if np.all(w_r[idx] > 0):
            w = w_r
    return w


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
