"""Symmetric 6x6 matrices (Mandel fourth-order tensors) packed and vectorized over points.

A symmetric (6, 6) matrix is stored as its 21 upper-triangle entries row by row
(``PAIRS``: (0,0) (0,1) .. (0,5) (1,1) .. (5,5)), component-major: ``P`` (21, n) with
``P[k] = A[:, i_k, j_k]``, so that every entry of every point is one contiguous (n,) row.
The factorization, solve and inverse below are unrolled over the 21 entries and act on
whole (n,) rows: one numpy operation serves all points, which is several times faster
than ``np.linalg`` on (n, 6, 6) stacks for matrices this small.
"""
from __future__ import annotations

import numpy as np

PAIRS = [(i, j) for i in range(6) for j in range(i, 6)]
#: (6, 6) packed index of the entry (i, j) (symmetric)
INDEX = np.zeros((6, 6), dtype=np.intp)
for _k, (_i, _j) in enumerate(PAIRS):
    INDEX[_i, _j] = INDEX[_j, _i] = _k
_I = np.array([i for i, _ in PAIRS])
_J = np.array([j for _, j in PAIRS])
_FLAT = 6 * _I + _J


def pack(a) -> np.ndarray:
    """(n, 6, 6) symmetric -> (21, n) (upper triangle)."""
    return np.ascontiguousarray(np.asarray(a)[:, _I, _J].T)


def unpack(p) -> np.ndarray:
    """(21, n) -> (n, 6, 6) (C-contiguous)."""
    out = np.empty((p.shape[1], 6, 6))
    for k, (i, j) in enumerate(PAIRS):
        out[:, i, j] = p[k]
        if i != j:
            out[:, j, i] = p[k]
    return out


def pack_rows(a) -> np.ndarray:
    """(n, 6, 6) symmetric -> (n, 21) (points first)."""
    a = np.asarray(a)
    return a.reshape(a.shape[0], 36)[:, _FLAT]


def pair_products(m) -> np.ndarray:
    """(N, 21) products ``m[s, i] m[s, j]`` of the rows of m (N, 6): ``w @ pair_products(m)``
    is the packed ``m^T diag(w) m`` for weights w (n, N)."""
    m = np.asarray(m, dtype=float)
    return m[:, _I] * m[:, _J]


def rotation(q) -> np.ndarray:
    """(21, 21) R with ``pack(Q^T A Q) = R @ pack(A)`` for every symmetric A (Q (6, 6))."""
    q = np.asarray(q, dtype=float)
    r = np.zeros((21, 21))
    for p, (i, j) in enumerate(PAIRS):
        for k in range(6):
            for l in range(6):
                r[p, INDEX[k, l]] += q[k, i] * q[l, j]
    return r


class Cholesky:
    """Cholesky factors L L^T of packed symmetric matrices P (21, n).

    ``ok`` (n,) is False where a pivot is not positive (the matrix is not positive
    definite): the factor is meaningless there and the caller must use another solver.
    """

    def __init__(self, p):
        L = [[None] * 6 for _ in range(6)]
        inv = [None] * 6
        ok = np.ones(p.shape[1], dtype=bool)
        for j in range(6):
            d = p[INDEX[j, j]]
            for k in range(j):
                d = d - L[j][k] * L[j][k]
            ok &= d > 0.0
            d = np.sqrt(np.abs(d))
            inv[j] = 1.0 / d
            L[j][j] = d
            for i in range(j + 1, 6):
                s = p[INDEX[i, j]]
                for k in range(j):
                    s = s - L[i][k] * L[j][k]
                L[i][j] = s * inv[j]
        self.L, self.inv = L, inv
        self.ok = ok & np.isfinite(inv[5])

    def solve(self, b) -> np.ndarray:
        """x (6, n) with A x = b for b (6, n), or (6, n, r) for r right-hand sides."""
        L, inv = self.L, self.inv
        if b.ndim == 3:
            L = [[None if v is None else v[:, None] for v in row] for row in L]
            inv = [v[:, None] for v in inv]
        y = [None] * 6
        for i in range(6):
            s = b[i]
            for k in range(i):
                s = s - L[i][k] * y[k]
            y[i] = s * inv[i]
        x = [None] * 6
        for i in range(5, -1, -1):
            s = y[i]
            for k in range(i + 1, 6):
                s = s - L[k][i] * x[k]
            x[i] = s * inv[i]
        return np.stack(x)

    def inverse(self) -> np.ndarray:
        """Packed inverse (21, n): A^-1 = L^-T L^-1."""
        L, inv = self.L, self.inv
        X = [[None] * 6 for _ in range(6)]                   # X = L^-1 (lower)
        for j in range(6):
            X[j][j] = inv[j]
            for i in range(j + 1, 6):
                s = L[i][j] * X[j][j]
                for k in range(j + 1, i):
                    s = s + L[i][k] * X[k][j]
                X[i][j] = -s * inv[i]
        out = np.empty((21, inv[0].shape[0]))
        for p, (i, j) in enumerate(PAIRS):                    # i <= j
            s = X[j][i] * X[j][j]
            for k in range(j + 1, 6):
                s = s + X[k][i] * X[k][j]
            out[p] = s
        return out
