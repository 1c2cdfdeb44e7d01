"""The reduced internal-force integrand of the ECM kept in factored form (never formed).

The ECM integrand of the internal forces (:func:`romnet.offline.ecm.internal_force_integrand`)
has one column per (stress j, displacement mode k) pair plus the volume column::

    G[q, j * n_m + k] = S_j(q) : E_k(q)        G[q, n_s * n_m] = 1

(``S`` (n_ip, 6, n_s) Mandel stresses, ``E`` (n_ip, 6, n_m) Mandel strains of the modes:
the Mandel dot product is the tensor contraction). Formed, ``G`` holds n_ip x n_s x n_m
values: 2.9 GB per rank for the medium blade's enrichments (54 000 integration points per
rank, 105 stress directions, 64 modes), 3.8 s to compute on one core, and it grows with every
learned mode. :class:`FactoredIntegrand` keeps ``S`` and ``E`` only (n_ip x 6 x (n_s + n_m)
values) and gives the ECM what it needs from ``G`` with dense kernels:

* ``G @ v`` (scoring every point): ``W = E V^T`` as one matrix product
  ((n_ip 6) x n_m times n_m x n_s, ``V`` = v reshaped (n_s, n_m)), then
  ``sum_cj S[q, c, j] W[q, c, j]``;
* the exact integrals ``G^T dV`` as one matrix product ``S^T diag(dV) E``;
* the norms of the scaled rows, for a scale constant within each stress group j:
  ``||G_q s||^2 = sum_j s_j^2 S_j(q)^T C(q) S_j(q)`` with the 6 x 6 Gram ``C(q) = E(q) E(q)^T``;
* the integrals of ``|G|`` that the normalisation uses only in ``zero_tol * A_g``
  (:func:`romnet.offline.ecm.normalisation`): the Cauchy-Schwarz bound
  ``A^_jk = sum_q dV |S_j(q)| |E_k(q)| >= A_jk`` (one matrix product); a group whose bound
  could change its normalisation gets its exact ``A`` (:meth:`abs_integrals`, formed block by
  block for that group's columns only);
* any rows (the candidate pool, the points): formed on demand, (len(idx), n_col).

Column order, groups and the volume column are those of ``internal_force_integrand``, so
the ECM selects the same points (to round-off in the scores: the tie rule of the greedy
decides near ties the same way on any number of ranks)."""
from __future__ import annotations

import numpy as np

__all__ = ["FactoredIntegrand", "factored_force_integrand"]

#: rows per block of the products over all integration points (bounded temporaries)
BLOCK_ROWS = 4096


class FactoredIntegrand:
    """``G`` (n_ip_local, n_s n_m + 1) of the module docstring from ``S`` (n_ip_local, 6,
    n_s) and ``E`` (n_ip_local, 6, n_m) (float64, kept by reference)."""

    def __init__(self, stress, mode_strains):
        self.S = np.ascontiguousarray(stress, dtype=np.float64)
        self.E = np.ascontiguousarray(mode_strains, dtype=np.float64)
        if self.S.ndim != 3 or self.E.ndim != 3 or self.S.shape[:2] != self.E.shape[:2] or self.S.shape[1] != 6:
            raise ValueError(f"stress {self.S.shape} and mode strains {self.E.shape}: expected (n_ip, 6, n) both")
        self.n_s, self.n_m = self.S.shape[2], self.E.shape[2]
        self.shape = (self.S.shape[0], self.n_s * self.n_m + 1)
        self.groups = np.concatenate([np.repeat(np.arange(self.n_s), self.n_m), [self.n_s]])

    def _blocks(self):
        n = self.shape[0]
        for a in range(0, n, BLOCK_ROWS):
            yield a, min(n, a + BLOCK_ROWS)

    def rows(self, idx) -> np.ndarray:
        """Rows at local indices ``idx`` (len(idx), n_col), formed."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.empty((idx.size, self.shape[1]))
        if idx.size:
            out[:, :-1] = np.matmul(self.S[idx].transpose(0, 2, 1), self.E[idx]).reshape(idx.size, -1)
        out[:, -1] = 1.0
        return out

    def dot(self, v, out=None) -> np.ndarray:
        """``G @ v`` (n_ip_local,) for v (n_col,)."""
        v = np.asarray(v, dtype=np.float64)
        V = v[:-1].reshape(self.n_s, self.n_m)
        out = np.empty(self.shape[0]) if out is None else out
        for a, e in self._blocks():
            W = (self.E[a:e].reshape(-1, self.n_m) @ V.T).reshape(e - a, 6, self.n_s)
            out[a:e] = np.einsum("qcj,qcj->q", self.S[a:e], W) + v[-1]
        return out

    def integrals(self, dV):
        """(exact ``G^T dV``, Cauchy-Schwarz bound of ``|G|^T dV``) (n_col,) each, this rank's rows."""
        dV = np.asarray(dV, dtype=np.float64)
        n = self.shape[0]
        Sw = (self.S * dV[:, None, None]).reshape(n * 6, self.n_s) if n else np.zeros((0, self.n_s))
        b = Sw.T @ self.E.reshape(n * 6, self.n_m)
        nS = np.linalg.norm(self.S, axis=1)                       # (n, n_s)
        nE = np.linalg.norm(self.E, axis=1)                       # (n, n_m)
        A = (nS * dV[:, None]).T @ nE
        vol = float(dV.sum())
        return np.append(b.ravel(), vol), np.append(A.ravel(), abs(vol))

    def abs_integrals(self, dV, groups_sel) -> np.ndarray:
        """Exact ``|G|^T dV`` (n_col,) for the columns of the stress groups ``groups_sel``
        (indices >= n_s, the volume group, ignored: its column is exact anyway; other groups
        0), formed block by block for those groups only."""
        dV = np.asarray(dV, dtype=np.float64)
        js = np.atleast_1d(np.asarray(groups_sel, dtype=np.int64))
        js = js[js < self.n_s]
        A = np.zeros((self.n_s, self.n_m))
        if js.size:
            St = self.S[:, :, js]
            for a, e in self._blocks():
                blk = np.matmul(St[a:e].transpose(0, 2, 1), self.E[a:e])          # (q, |js|, n_m)
                A[js] += np.einsum("q,qjk->jk", dV[a:e], np.abs(blk))
        return np.append(A.ravel(), abs(float(dV.sum())))

    def row_norms(self, scale) -> np.ndarray:
        """``||G_q * scale||`` (n_ip_local,) for a scale (n_col,) constant within each stress
        group (as the ECM's group normalisation is); ValueError otherwise."""
        scale = np.asarray(scale, dtype=np.float64)
        sj = scale[:-1].reshape(self.n_s, self.n_m)
        if not np.all(sj == sj[:, :1]):
            raise ValueError("FactoredIntegrand.row_norms: the scale must be constant within each group")
        s2 = sj[:, 0] ** 2
        out = np.empty(self.shape[0])
        for a, e in self._blocks():
            C = np.matmul(self.E[a:e], self.E[a:e].transpose(0, 2, 1))                # (q, 6, 6)
            CS = np.matmul(C, self.S[a:e])                                              # (q, 6, n_s)
            out[a:e] = np.einsum("qcj,qcj,j->q", self.S[a:e], CS, s2) + scale[-1] ** 2
        return np.sqrt(np.maximum(out, 0.0))


def factored_force_integrand(stress, mode_strains):
    """(:class:`FactoredIntegrand`, groups (n_col,)): the integrand of
    :func:`romnet.offline.ecm.internal_force_integrand` (with the volume column), not formed."""
    F = FactoredIntegrand(stress, mode_strains)
    return F, F.groups
