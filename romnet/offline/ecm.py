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
volume). ``b^{(j,.)}`` is then the vector of reduced internal forces of snapshot ``j``. Every function
here also takes that integrand unformed, as its factors (stresses and mode strains:
:class:`.ecm_integrand.FactoredIntegrand`, the online enrichments' choice: memory O(n_ip x
(n_snap + n_modes)) instead of O(n_ip x n_snap x n_modes)); the results are the same to
round-off.

Normalisation and error measure
-------------------------------
Columns are grouped (``groups``: one group per snapshot, the volume column its own group).
For every group ``g`` two norms are computed in one pass over ``G``: the norm of its exact
integrals ``B_g = ||b_g||`` and the norm of the integrals of the magnitude of its
integrand ``A_g = ||(|G|^T dV)_g||`` (``B_g <= A_g``; their ratio measures how much the
integrand cancels). Every group is scaled by ``1 / N_g`` with

    N_g = max(B_g, zero_tol * A_g)        (zero_tol = :data:`ZERO_TOL` = 1e-3)

and its error is ``||G_P^T w - b||_g / N_g``. For an ordinary snapshot ``N_g = B_g``: the
error is the relative error of that snapshot's reduced internal-force vector. A snapshot
whose stresses are (nearly) self-equilibrated -- e.g. residual stresses after unloading:
the exact internal forces vanish up to the equilibrium tolerance of the solver that made
the snapshot, ``B_g / A_g ~ 1e-10`` -- has no meaningful relative error (its ``b_g`` is
solver noise); its error is measured against ``zero_tol * A_g`` instead, i.e. the
reduced integration must cancel its integrand to ``tol * zero_tol`` of the integrand's
magnitude. (Normalising such a group by ``B_g`` asks for the impossible and made the greedy
stall at errors ~1e-1 on the blade case.) Groups with an identically zero integrand
(``A_g <= 1e-14 max A``, e.g. the zero-stress initial snapshot) are dropped. The
algorithm stops when the **maximum over groups** is ``<= tol``, or at ``max_points``.

Greedy algorithm (Hernandez et al. 2017, global version)
--------------------------------------------------------
residual ``r = b - G_P^T w`` (replicated, length n_col, scaled). Each step:

1. every rank scores its candidate points: ``c_q = g_q . r / ||g_q||`` (``g_q`` the scaled
   row; computed as ``G_q . (s r) / ||G_q s||`` on the unscaled ``G``: one matrix-vector
   product over the rank's rows, no scaled copy of ``G``; column-major ``G`` streams
   twice as fast as row-major);
2. global best: ``Allreduce(MAX)`` of the best score, then ``Allreduce(MIN)`` of the
   smallest global index whose score is within ``tie_rtol`` (1e-10, relative) of it, so a
   round-off difference between 1 and N ranks cannot flip a near tie;
3. its owner broadcasts the row ``g_q`` (n_col values);
4. every rank solves the same NNLS ``min ||G_P^T w - b||, w >= 0`` (replicated: identical
   inputs) with the solver ``nnls_solver`` (:mod:`.nnls`): ``"warm"`` (default)
   Lawson-Hanson on the normal equations ``M = G_P G_P^T`` (|P| x |P|, updated by one row
   and column per new point; its Cholesky factor kept, extended by one row for a new
   point and updated (rank one) when a point leaves), warm-started
   from the previous step's weights, with two steps
   of iterative refinement on ``G_P`` (:func:`.nnls.nnls_normal`; weights within ~1e-11 of
   ``scipy.optimize.nnls``, which is the fallback when a factorisation fails); ``"qr"``
   the same warm-started active set on an incrementally updated QR factor of ``G_P^T``
   (:class:`.nnls.WarmNNLS`); ``"scipy"``
   ``scipy.optimize.nnls`` from scratch (the reference). Points whose weight is zero are
   dropped; a point that enters with zero weight is excluded from later candidates;
5. the residual and the group errors are global quantities (replicated).

Termination: converged (max group error <= tol), ``max_points`` reached, no candidate
with a positive score, ``max_iterations`` (default ``4 max_points + 20``), or a stall (no
new smallest error for ``patience`` steps, default ``max(100, max_points / 2)``: points
keep entering and leaving). When not converged, the best state met (smallest max error)
is returned and ``message`` says why the greedy stopped and which error it reached.

The result is the same on any number of ranks up to round-off (tie rule above).

Warm start: ``warm_start`` (global ip indices, e.g. the current points of an online ROM
being enriched, :mod:`romnet.online.enrichment`) are put in ``P`` first (their rows
gathered from their owners), NNLS is solved, and the greedy continues from that residual.

Candidate pool (``pool``, the online enrichment's choice): a full scoring also keeps the
``pool`` best-scored points (a global threshold, the same pool on any number of ranks) and a
copy of their rows; the next ``pool_refresh - 1`` steps score only those (a pass over
``pool`` rows instead of all), a full scoring comes back every ``pool_refresh`` steps and as
soon as no pooled point has a positive score (a point the NNLS drops from ``P`` is a candidate
again at the next full scoring). Only the choice of the next point is
restricted: the residual, the errors and the stopping test are those of the whole integrand,
so the tolerance means the same; the greedy may take other (more) points than without a
pool. Warm-started greedies (an enriched ROM: the residual is already small and a few points
are added) spend most of their time scoring: with a pool of 2 000 the ECM of an enrichment of
the medium blade went from 3.1 to 0.7 s (1 rank; ``bench/bench_learning.py`` prints the
enrichment's ``rebuild`` part).

Cost per greedy step: one pass over the local rows of ``G`` (matrix-vector product,
memory-bandwidth bound: its parallel efficiency is that of the hardware's memory system,
``bench/bench_offline.py`` prints it) plus, replicated, O(n_col |P|) to update ``M`` and
refine, and one or two Cholesky factorisations O(|P|^3 / 3) for the warm-started NNLS
(a from-scratch ``scipy.optimize.nnls`` costs |P| least-squares solves: on the small
blade's 901-column integrand, 2 010 steps to 213 points, the NNLS time fell from 29.6 to
2.8 s and the ECM from 36.4 to 8.5 s, same points, weights within 1.1e-11:
``bench/bench_ecm_nnls.py``); set-up: two passes. Phase times are in
``ECMResult.timings`` (``nnls_fallbacks`` counts the scipy fallbacks).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

from .. import mpi
from .ecm_integrand import FactoredIntegrand
from .nnls import WarmNNLS, keep_factor, nnls_normal
from .settings import OfflineSettings

__all__ = ["ECMResult", "ecm", "cubature_error", "internal_force_integrand", "normalisation", "ZERO_TOL", "NNLS_SOLVERS"]

#: groups whose exact integrals are below this fraction of the integrals of the integrand's
#: magnitude are measured against ``ZERO_TOL * A_g`` (module docstring)
ZERO_TOL = 1e-3
#: relative score difference below which two candidates are a tie (smallest index wins)
TIE_RTOL = 1e-10
#: rows per block of the set-up passes over G (cache-sized blocks)
CHUNK_ROWS = 8192
#: NNLS solvers of the greedy (:func:`ecm` argument ``nnls_solver``)
NNLS_SOLVERS = ("warm", "qr", "scipy")
#: steps between two full scorings of the greedy with a candidate pool (:func:`ecm` ``pool``)
POOL_REFRESH = 10
#: integrands at least this wide are stored row-major (:func:`internal_force_integrand`)
ROW_MAJOR_MIN_COLUMNS = 1024
#: steps of iterative refinement of the warm NNLS's weights (:func:`.nnls.nnls_normal`)
#: at every greedy step by default; with fewer (:func:`ecm` ``refine``) the final weights
#: still get these
NNLS_REFINE = 2
#: the warm NNLS set is compacted when more than this fraction of its slots are empty
#: (points that left ``P``; :class:`_NormalSet`)
COMPACT_FRACTION = 0.1


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
    message: str = ""           # why the greedy stopped (always set by ecm())
    timings: dict = field(default_factory=dict)  # seconds per phase (set-up, score, select, ...)

    @property
    def nnls_fallbacks(self) -> int:
        """Steps whose warm-started NNLS fell back to ``scipy.optimize.nnls``."""
        return int(self.timings.get("nnls_fallbacks", 0))


def internal_force_integrand(stress, mode_strains, include_volume=True, chunk_rows=2048):
    """Integrand of the reduced internal forces at the local integration points.

    stress : (n_ip_local, 6, n_snap) Mandel stresses of the training snapshots.
    mode_strains : (n_ip_local, 6, n_modes) Mandel strains of the displacement modes.
    Returns G (n_ip_local, n_snap * n_modes [+1]), columns snapshot-major
    (col = j * n_modes + k), and ``groups`` (n_col,) = snapshot index j (n_snap for the
    volume column).

    Layout: the ECM greedy streams ``G`` once per step with a matrix-vector product. A
    narrow ``G`` is stored column by column (Fortran order): the product runs about twice as
    fast on long contiguous columns as on short rows -- measured 32 vs 60 ms for 778k x 81
    on one core here. From :data:`ROW_MAJOR_MIN_COLUMNS` columns on, row-major storage is as
    fast for the product (47 vs 49 ms at 100k x 1 000, 113 vs 118 ms at 56k x 3 817) and
    much faster to fill (contiguous row copies instead of a transposition: 5.1 vs 1.8 s
    for 56k x 6 320, one core) and to gather the candidate pool from (20 vs 177 ms for
    2 000 of 56k x 3 817): the enrichments' integrands (modes x stress columns, thousands
    of columns) are row-major. It is computed block by block of rows (a batched
    (n_snap x 6) @ (6 x n_modes) product per point into a buffer of ``chunk_rows`` rows,
    at most ~8 MB when row-major, then copied into the block's rows): no temporaries of the
    size of ``G``."""
    stress = np.asarray(stress, dtype=np.float64)
    mode_strains = np.asarray(mode_strains, dtype=np.float64)
    n_ip, _, n_s = stress.shape
    n_m = mode_strains.shape[2]
    n_c = n_s * n_m
    width = n_c + (1 if include_volume else 0)
    if width >= ROW_MAJOR_MIN_COLUMNS:
        G = np.empty((n_ip, width))                                     # row-major
        chunk_rows = min(chunk_rows, max(16, (1 << 20) // max(n_c, 1)))  # ~8 MB buffer
    else:
        G = np.empty((width, n_ip)).T                                   # column-major
    sT = stress.transpose(0, 2, 1)                                      # (q, j, c) view
    buf = np.empty((min(chunk_rows, max(n_ip, 1)), n_s, n_m))
    for a in range(0, n_ip, chunk_rows):
        e = min(n_ip, a + chunk_rows)
        np.matmul(sT[a:e], mode_strains[a:e], out=buf[:e - a])
        G[a:e, :n_c] = buf[:e - a].reshape(e - a, n_c)
    groups = np.repeat(np.arange(n_s), n_m)
    if include_volume:
        G[:, n_c] = 1.0
        groups = np.concatenate([groups, [n_s]])
    return G, groups


# ============================================================================ helpers
def _as_integrand(G):
    """``G`` as the ECM functions use it: a :class:`.ecm_integrand.FactoredIntegrand` as is,
    anything else as a float64 array."""
    return G if isinstance(G, FactoredIntegrand) else np.asarray(G, dtype=np.float64)


def _take(G, idx):
    """Rows ``idx`` (local indices) of ``G`` (formed, a new array)."""
    if isinstance(G, FactoredIntegrand):
        return G.rows(idx)
    return np.ascontiguousarray(G[np.asarray(idx, dtype=np.int64)], dtype=np.float64)


def _integrals(G, dV, chunk_rows):
    """(G^T dV, |G|^T dV) of the local rows in one blocked pass."""
    n, m = G.shape
    b, A = np.zeros(m), np.zeros(m)
    for a in range(0, n, chunk_rows):
        e = min(n, a + chunk_rows)
        Gc, d = G[a:e], dV[a:e]
        b += d @ Gc
        A += d @ np.abs(Gc)
    return b, A


def _pool(G, score, pool, comm):
    """The candidate pool of a full scoring: this rank's rows whose score is among the
    ``pool`` largest over all ranks (a global threshold: the same pool on any number of
    ranks) and a copy of their rows of ``G``. Returns (local row indices, rows)."""
    fin = score[np.isfinite(score)]
    top = np.partition(fin, fin.size - pool)[fin.size - pool:] if fin.size > pool else fin
    if comm.Get_size() > 1:
        top = np.concatenate(comm.allgather(top))
    thr = np.partition(top, top.size - pool)[top.size - pool] if top.size > pool else \
        (top.min() if top.size else np.inf)
    idx = np.flatnonzero(np.isfinite(score) & (score >= thr))
    return idx, _take(G, idx)


def _row_norms(G, s, chunk_rows):
    """||G_q * s|| for every local row (blocked, no copy of G)."""
    if isinstance(G, FactoredIntegrand):
        try:
            return G.row_norms(s)
        except ValueError:                     # a scale not constant within the stress groups
            pass
    n = G.shape[0]
    s2 = s * s
    out = np.empty(n)
    for a in range(0, n, chunk_rows):
        e = min(n, a + chunk_rows)
        Gc = G.rows(np.arange(a, e)) if isinstance(G, FactoredIntegrand) else G[a:e]
        out[a:e] = np.square(Gc) @ s2
    return np.sqrt(out)


class _Selector:
    """Global best candidate (max score, ties within ``tie_rtol`` to the smallest global
    index) and row broadcast from its owner."""

    def __init__(self, comm, offset, n_loc, tie_rtol):
        self.comm, self.offset, self.n_loc, self.tie = comm, int(offset), int(n_loc), float(tie_rtol)
        self.size = comm.Get_size()
        if self.size > 1:
            tab = np.asarray(comm.allgather((self.offset, self.n_loc)), dtype=np.int64)
            self.starts, self.counts = tab[:, 0], tab[:, 1]

    def best(self, score):
        """(best score, global index) over all ranks; (-inf, -1) if no finite candidate."""
        top = float(score.max()) if score.size else -np.inf
        top = float(mpi.allreduce_array(np.array([top]), self.comm, "max")[0])
        if not np.isfinite(top):
            return top, -1
        thr = top - self.tie * abs(top)
        big = np.iinfo(np.int64).max
        if score.size:
            i = int(np.argmax(score >= thr))
            mine = self.offset + i if score[i] >= thr else big
        else:
            mine = big
        if self.size > 1:
            from mpi4py import MPI
            mine = int(self.comm.allreduce(mine, op=MPI.MIN))
        return top, mine

    def row(self, G, q):
        """Row ``q`` (global index) of G, replicated (broadcast by its owner)."""
        lq = q - self.offset
        if self.size == 1:
            return _take(G, [lq])[0]
        own = np.flatnonzero((self.starts <= q) & (q < self.starts + self.counts))
        root = int(own[0])
        buf = _take(G, [lq])[0] if root == self.comm.Get_rank() else np.empty(G.shape[1])
        self.comm.Bcast(buf, root=root)
        return buf

    def rows(self, G, idx):
        """Rows at global indices ``idx`` (replicated, in the order of idx)."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.zeros((idx.size, G.shape[1]))
        m = (idx >= self.offset) & (idx < self.offset + self.n_loc)
        if np.any(m):
            out[m] = _take(G, idx[m] - self.offset)
        return mpi.allreduce_array(out, self.comm) if self.size > 1 else out


class _NormalSet:
    """The points ``P`` and weights of the greedy with the NNLS on the normal equations
    (``warm``: :func:`.nnls.nnls_normal`, ``scipy``: from scratch): scaled rows of the
    points, ``M = rows rows^T`` and ``c = rows b`` kept up to date (in buffers grown by
    doubling: adding a point copies O(|P| + n_col), not the whole set), and the Cholesky
    factor of the passive set (``nnls_normal``'s ``cache``: a new point appends one row, a
    point that leaves deletes one).

    A point that ends with weight 0 leaves ``P`` but keeps its slot, zeroed (its row of
    ``M``, its ``c`` and weight are 0: the NNLS never takes it again), so the factor's
    positions stay valid; the slots are compacted (one copy of the buffers) when the empty
    ones pass :data:`COMPACT_FRACTION` of the set: copying the |P| x n_col rows at every
    point that left cost more than the NNLS itself on enrichments of ROMs with ~1 000
    points."""

    def __init__(self, b, warm, tm, refine=NNLS_REFINE):
        self.b, self.warm, self.tm, self.refine = b, warm, tm, int(refine)
        self._ids = []
        self._rows = np.zeros((0, b.size))
        self._M = np.zeros((0, 0))
        self.n = 0
        self.c, self._w = np.zeros(0), np.zeros(0)
        self.alive = np.zeros(0, dtype=bool)
        self.cache = {}

    rows = property(lambda self: self._rows[:self.n])
    M = property(lambda self: self._M[:self.n, :self.n])
    ids = property(lambda self: [i for i, a in zip(self._ids, self.alive) if a])
    w = property(lambda self: self._w[self.alive])

    def _reserve(self, n):
        cap = self._rows.shape[0]
        if n <= cap:
            return
        cap = max(n, 2 * cap, 16)
        rows, M = np.zeros((cap, self.b.size)), np.zeros((cap, cap))
        rows[:self.n], M[:self.n, :self.n] = self.rows, self.M
        self._rows, self._M = rows, M

    def _compact(self):
        """Drop the empty slots (one copy of the buffers; the factor is renumbered)."""
        k = np.flatnonzero(self.alive)
        self._ids = [self._ids[i] for i in k]
        self._rows[:k.size] = self._rows[k]
        self._M[:k.size, :k.size] = self._M[np.ix_(k, k)]
        self.c, self._w = self.c[k], self._w[k]
        keep_factor(self.cache, self.alive)
        self.alive = np.ones(k.size, dtype=bool)
        self.n = k.size

    def _solve(self, w0=None, refine=None):
        t = time.perf_counter()
        w = None
        if self.warm:
            w = nnls_normal(self.M, self.c, w0, rows=self.rows, b=self.b, cache=self.cache,
                            refine=self.refine if refine is None else refine)
            if w is None:                             # ill-conditioned / cycling
                self.tm["nnls_fallbacks"] += 1
        if w is None:                                 # from scratch (the empty slots' zero rows get weight 0)
            w, _ = nnls(self.rows.T, self.b, maxiter=50 * max(1, self.rows.shape[0]))
            self.cache.clear()
        self.tm["nnls"] += time.perf_counter() - t
        gone = np.flatnonzero(self.alive & ~(w > 0))
        if gone.size:                                 # empty the slots of the points that left
            self._rows[gone] = 0.0
            self._M[gone, :self.n] = 0.0
            self._M[:self.n, gone] = 0.0
            self.c[gone] = 0.0
            self.alive[gone] = False
        self._w = w
        kept = w > 0                                  # over the slots before a compaction
        if self.n - np.count_nonzero(self.alive) > COMPACT_FRACTION * self.n:
            self._compact()
        return kept

    def start(self, ids, rows, w0=None):
        """The warm-start points (empty set before); ``w0``: their weights from an earlier
        cubature (the NNLS starts from that feasible point: usually one factorisation)."""
        self._ids = list(ids)
        self.n = 0
        self._reserve(rows.shape[0])
        self.n = rows.shape[0]
        self._rows[:self.n] = rows
        self._M[:self.n, :self.n] = rows @ rows.T
        self.c = rows @ self.b
        self.alive = np.ones(self.n, dtype=bool)
        self.cache.clear()
        self._solve(w0)

    def add(self, q, row) -> bool:
        """Point ``q`` enters; False when it ends with weight 0."""
        self._ids.append(q)
        n = self.n
        self._reserve(n + 1)
        mq = self._rows[:n] @ row
        self._M[:n, n] = mq
        self._M[n, :n] = mq
        self._M[n, n] = row @ row
        self._rows[n] = row
        self.n = n + 1
        self.c = np.append(self.c, row @ self.b)
        self.alive = np.append(self.alive, True)
        return bool(self._solve(np.append(self._w, 0.0))[n])

    def residual(self):
        return self.b - self.rows.T @ self._w

    def polish(self):
        """The final weights with the full :data:`NNLS_REFINE` refinement when the greedy's
        steps had fewer (one NNLS from the current, optimal, weights: a KKT check and the
        refinement passes)."""
        if self.warm and self.refine < NNLS_REFINE and self.n:
            self._solve(self._w.copy(), NNLS_REFINE)


class _QRSet:
    """The same with the incremental-QR NNLS (:class:`.nnls.WarmNNLS`)."""

    def __init__(self, b, tm):
        self.s, self.tm, self.b = WarmNNLS(b), tm, b

    ids = property(lambda self: self.s.ids)
    w = property(lambda self: self.s.w)

    def _timed(self, ids, cols):
        t = time.perf_counter()
        self.s.add(ids, cols)
        self.tm["nnls"] += time.perf_counter() - t
        self.tm["nnls_fallbacks"] = self.s.fallbacks

    def start(self, ids, rows, w0=None):
        self._timed(list(ids), rows.T)

    def add(self, q, row) -> bool:
        self._timed([q], row[:, None])
        return q in self.s.ids

    def residual(self):
        return self.b - self.s.C @ self.s.w


# ============================================================================ ECM
def normalisation(G, dV, comm=None, groups=None, zero_tol=ZERO_TOL, chunk_rows=CHUNK_ROWS,
                  group_floor=0.0) -> dict:
    """Group normalisation of the module docstring (one blocked pass over ``G``, one
    Allreduce of 2 n_col values); with ``group_floor`` > 0 (a number, or one per group) the
    norms are also floored at ``group_floor * max_g B_g`` (groups far smaller than the largest one are then measured
    against a fraction of it instead of their own size: learning ROMs, whose many small
    principal stress components would otherwise each ask for their own points).
    Returns a replicated dict:

    ``b`` (n_col,) exact integrals G^T dV; ``A`` (n_col,) integrals of |G| (for a factored
    ``G``: their Cauchy-Schwarz bounds except where the exact values could change the
    normalisation, :func:`_exact_abs`; the rest of the dict is the formed integrand's);
    ``group_b``, ``group_A``, ``group_norm`` (n_groups,) = B_g, A_g, N_g;
    ``columns`` kept column indices; ``scale`` (n_col,) 1 / N_g of each column (0 for
    dropped columns); ``group`` (n_kept,) group of each kept column renumbered 0.. ."""
    comm = comm or mpi.comm()
    G = _as_integrand(G)
    dV = np.asarray(dV, dtype=np.float64)
    n_all = G.shape[1]
    groups = np.arange(n_all) if groups is None else np.asarray(groups)
    factored = isinstance(G, FactoredIntegrand)
    b_loc, A_loc = G.integrals(dV) if factored else _integrals(G, dV, chunk_rows)
    both = mpi.allreduce_array(np.concatenate([b_loc, A_loc]), comm)
    b_all, A_all = both[:n_all], both[n_all:]
    gB = np.sqrt(np.bincount(groups, weights=b_all ** 2))
    gA = np.sqrt(np.bincount(groups, weights=A_all ** 2))
    floor = np.broadcast_to(np.asarray(group_floor, dtype=float), gB.shape)
    keep_g = None
    if factored:                       # A_all holds upper bounds: exact values where they matter
        A_all, gA, keep_g = _exact_abs(G, dV, comm, groups, A_all, gB, gA, zero_tol, floor)
    norm_g = np.maximum(gB, zero_tol * gA)
    if gB.size and np.any(floor > 0):
        norm_g = np.maximum(norm_g, floor * gB.max())
    if keep_g is None:
        keep_g = gA > 1e-14 * (gA.max() if gA.size else 1.0)
    keep_g = keep_g & (norm_g > 0)
    cols = np.flatnonzero(keep_g[groups])
    scale = np.zeros(n_all)
    scale[cols] = 1.0 / norm_g[groups[cols]]
    grp = np.unique(groups[cols], return_inverse=True)[1]
    return dict(b=b_all, A=A_all, group_b=gB, group_A=gA, group_norm=norm_g, columns=cols, scale=scale,
                group=grp)


def _exact_abs(F, dV, comm, groups, A_all, gB, gA_hat, zero_tol, floor):
    """Exact integrals of ``|G|`` where the factored integrand's Cauchy-Schwarz bounds
    ``A_all`` (:mod:`.ecm_integrand`) could change the normalisation of :func:`normalisation`:
    groups whose ``zero_tol * bound`` exceeds their norm otherwise (``B_g``, or the floor),
    and every group when the keep rule (``A_g > 1e-14 max A``) is not decided by the bounds
    (``B_g <= A_g <= bound``). Returns (A_all, group A, keep (bool per group)), replicated:
    the same normalisation as the formed integrand's. Collective (the decisions are made on
    reduced values: every rank takes the same branch)."""
    lower = gB if not np.any(floor > 0) else np.maximum(gB, floor * (gB.max() if gB.size else 0.0))
    need = zero_tol * gA_hat > lower
    big_hat, big_b = (gA_hat.max(), gB.max()) if gB.size else (1.0, 1.0)
    keep = gB > 1e-14 * big_hat                              # A_g >= B_g > 1e-14 max(bounds) >= 1e-14 max A
    drop = gA_hat <= 1e-14 * big_b                           # A_g <= bound <= 1e-14 max B <= 1e-14 max A
    undecided = ~keep & ~drop
    if np.any(undecided):
        need[:] = True
    if np.any(need):
        cols = np.flatnonzero(need[groups])
        A_ex = mpi.allreduce_array(F.abs_integrals(dV, np.unique(cols // F.n_m)), comm)
        A_all[cols] = A_ex[cols]                             # (the caller's array: updated in place)
        gA = np.sqrt(np.bincount(groups, weights=A_all ** 2))
        if np.any(undecided):                                # every A exact now: the formed rule
            keep = gA > 1e-14 * (gA.max() if gA.size else 1.0)
    else:
        gA = gA_hat
    return A_all, gA, keep


def cubature_error(G, dV, points, weights, comm=None, ip_offset=0, groups=None, zero_tol=ZERO_TOL,
                   group_floor=0.0, chunk_rows=CHUNK_ROWS, norm=None) -> float:
    """Max group error (the measure of :func:`ecm`: same normalisation) of a given cubature
    (global ip ``points``, ``weights``) on the integrand ``G``: one pass over ``G`` plus the
    rows of the points. Lets a caller keep a cubature that still integrates an updated
    integrand (online enrichment) instead of re-running the greedy. ``norm``: the
    :func:`normalisation` of this ``G`` with these settings, when the caller has it (no
    pass over ``G`` then; the caller passes the same dict to :func:`ecm`). Collective."""
    comm = comm or mpi.comm()
    G = _as_integrand(G)
    n_loc, n_all = G.shape
    groups = np.arange(n_all) if groups is None else np.asarray(groups)
    nz = norm if norm is not None else normalisation(G, dV, comm, groups, zero_tol, chunk_rows, group_floor)
    cols, grp = nz["columns"], nz["group"]
    if cols.size == 0:
        return 0.0
    rows = _Selector(comm, ip_offset, n_loc, TIE_RTOL).rows(G, points)[:, cols]
    s = nz["scale"][cols]
    r = (nz["b"][cols] - rows.T @ np.asarray(weights, dtype=float)) * s
    return float(np.sqrt(np.bincount(grp, weights=r ** 2)).max())


def ecm(G, dV, comm=None, ip_offset=0, tol=OfflineSettings.ecm_tol, groups=None, warm_start=None, max_points=None,
        max_iterations=None, progress=None, zero_tol=ZERO_TOL, patience=None, tie_rtol=TIE_RTOL,
        chunk_rows=CHUNK_ROWS, nnls_solver="warm", group_floor=0.0, warm_weights=None, pool=None,
        pool_refresh=POOL_REFRESH, norm=None, refine=NNLS_REFINE) -> ECMResult:
    """Greedy ECM with global error control (module docstring).

    G : (n_ip_local, n_col) integrand at this rank's integration points (global indices
        ip_offset .. ip_offset + n_ip_local - 1); not modified, not copied if float64 and
        contiguous (column-major, as :func:`internal_force_integrand` makes it, is the
        faster layout); or the same integrand not formed, a
        :class:`.ecm_integrand.FactoredIntegrand` (the online enrichments': scores, integrals
        and rows from its factors; the same points and weights to round-off).
    dV : (n_ip_local,) integration weights x detJ.
    groups : (n_col,) group of every column (default: one group per column).
    zero_tol : floor of a group's normalisation relative to its integrand's magnitude.
    group_floor : floor of a group's normalisation relative to the largest group, a number
        or one per group (:func:`normalisation`; 0: none, the offline default).
    patience : stop after this many steps without a new smallest max error (default
        ``max(100, max_points // 2)``).
    warm_start : global ip indices put in ``P`` first (module docstring); ``warm_weights``:
        their weights in an earlier cubature, the start of the warm NNLS (``nnls_solver="warm"``).
    pool : candidate pool (module docstring, "Candidate pool"): between two full scorings
        (every ``pool_refresh`` steps) only the ``pool`` best-scored points (over all ranks)
        are scored; None (default): every point at every step.
    norm : the :func:`normalisation` of this ``G`` with these ``groups``, ``zero_tol`` and
        ``group_floor``, when the caller already has it (e.g. from :func:`cubature_error`):
        one pass over ``G`` less.
    refine : steps of iterative refinement of the ``"warm"`` NNLS at every greedy step
        (default :data:`NNLS_REFINE`); fewer (the online enrichments: 0) save two passes over
        the points' rows per step and refinement; the residual, the errors and the stopping
        test are always those of the weights the step has, and the final weights get the
        full refinement (kept when their error is not larger, or within ``tol``).
    nnls_solver : ``"warm"`` (default: warm-started Lawson-Hanson on the normal equations,
        :func:`.nnls.nnls_normal`), ``"qr"`` (the same on an incrementally updated QR
        factor, :class:`.nnls.WarmNNLS`) or ``"scipy"`` (``scipy.optimize.nnls`` from
        scratch at every step: the reference, ``bench/bench_ecm_nnls.py`` compares them).
    Returns :class:`ECMResult` (``message`` says why it stopped; ``timings`` per phase).
    """
    if nnls_solver not in NNLS_SOLVERS:
        raise ValueError(f"nnls_solver must be one of {', '.join(NNLS_SOLVERS)}, got {nnls_solver!r}")
    t_start = time.perf_counter()
    tm = dict(setup=0.0, score=0.0, select=0.0, nnls=0.0, nnls_fallbacks=0, pool_refreshes=0)
    comm = comm or mpi.comm()
    G = _as_integrand(G)
    factored = isinstance(G, FactoredIntegrand)
    if not factored and not (G.flags.f_contiguous or G.flags.c_contiguous):
        G = np.asfortranarray(G)
    dV = np.asarray(dV, dtype=np.float64)
    n_loc, n_all = G.shape
    groups = np.arange(n_all) if groups is None else np.asarray(groups)

    nz = norm if norm is not None else normalisation(G, dV, comm, groups, zero_tol, chunk_rows, group_floor)
    cols, s_all, grp = nz["columns"], nz["scale"], nz["group"]
    s = s_all[cols]
    b = nz["b"][cols] * s
    n_col = cols.size
    if n_col == 0:
        tm["total"] = time.perf_counter() - t_start
        return ECMResult(np.zeros(0, np.int64), np.zeros(0), 0.0, np.zeros(0), 0, True, [(0, 0.0)], 0,
                         tm["total"], "converged: the integrand is identically zero", tm)
    rn = _row_norms(G, s_all, chunk_rows)
    rn_safe = np.where(rn > 0, rn, np.inf)         # zero rows score 0: never selected
    max_points = n_col if max_points is None else int(max_points)
    max_iterations = 4 * max_points + 20 if max_iterations is None else int(max_iterations)
    patience = max(100, max_points // 2) if patience is None else int(patience)
    sel = _Selector(comm, ip_offset, n_loc, tie_rtol)
    tm["setup"] = time.perf_counter() - t_start

    def errors(r):
        return np.sqrt(np.bincount(grp, weights=r ** 2, minlength=int(grp.max()) + 1 if grp.size else 0))

    act = _QRSet(b, tm) if nnls_solver == "qr" else _NormalSet(b, nnls_solver == "warm", tm, refine)
    if warm_start is not None and len(warm_start):
        P0, first = np.unique(np.asarray(warm_start, dtype=np.int64), return_index=True)
        w0 = None if warm_weights is None else np.maximum(np.asarray(warm_weights, dtype=float)[first], 0.0)
        P0 = [int(i) for i in P0]
        act.start(P0, sel.rows(G, P0)[:, cols] * s, w0)
    r = act.residual()
    err = errors(r)
    history = [(len(act.ids), float(err.max()))]
    best = (float(err.max()), list(act.ids), act.w.copy(), err.copy())
    since_best = 0
    excluded = []                                   # global indices entered with weight 0
    v = np.zeros(n_all)                             # s * r on all columns
    score = np.empty(n_loc)
    cand = None                                     # (local rows, their G rows, step of the scoring)
    pool = int(pool or 0)
    it = 0
    converged = bool(err.max() <= tol)
    reason = "converged" if converged else ""
    while not converged:
        if len(act.ids) >= max_points:
            reason = f"max_points={max_points} reached"
            break
        if it >= max_iterations:
            reason = f"max_iterations={max_iterations} reached"
            break
        if since_best >= patience:
            reason = f"stalled: no smaller error in the last {patience} steps (points enter and leave)"
            break
        it += 1
        t = time.perf_counter()
        v[cols] = s * r
        full = cand is None or it - cand[2] >= pool_refresh
        if full:                                    # every point scored
            if factored:
                G.dot(v, out=score)
            else:
                np.dot(G, v, out=score)
            np.divide(score, rn_safe, out=score)
        else:                                       # the candidate pool only
            score.fill(-np.inf)
            score[cand[0]] = (cand[1] @ v) / rn_safe[cand[0]]
        if act.ids or excluded:
            loc = np.asarray(list(act.ids) + excluded, dtype=np.int64) - ip_offset
            score[loc[(loc >= 0) & (loc < n_loc)]] = -np.inf
        if full and pool:
            cand = _pool(G, score, pool, comm) + (it,)
            tm["pool_refreshes"] += 1
        tm["score"] += time.perf_counter() - t
        t = time.perf_counter()
        top, q = sel.best(score)
        if (not np.isfinite(top) or top <= 0) and not full:     # pool exhausted: score every point
            cand = None
            it -= 1
            tm["select"] += time.perf_counter() - t
            continue
        if not np.isfinite(top) or top <= 0:
            tm["select"] += time.perf_counter() - t
            reason = "no candidate point improves the residual"
            break
        row = sel.row(G, q)[cols] * s
        tm["select"] += time.perf_counter() - t
        if not act.add(q, row):
            excluded.append(q)
        r = act.residual()
        err = errors(r)
        e = float(err.max())
        history.append((len(act.ids), e))
        converged = e <= tol
        if e < best[0]:
            best = (e, list(act.ids), act.w.copy(), err.copy())
            since_best = 0
        else:
            since_best += 1
        if converged:
            reason = "converged"
        if progress and (it % 25 == 0 or converged):
            progress(f"  ECM step {it}: {len(act.ids)} points, max relative error {e:.3e}")
    P, w = list(act.ids), act.w
    if not converged and best[0] < float(err.max()):
        _, P, w, err = best
    elif refine < NNLS_REFINE and nnls_solver == "warm":       # the final weights fully refined
        t = time.perf_counter()
        act.polish()
        err_p = errors(act.residual())
        if float(err_p.max()) <= max(float(err.max()), tol):
            P, w, err = list(act.ids), act.w, err_p
        tm["nnls"] += time.perf_counter() - t
    e = float(err.max()) if err.size else 0.0
    if converged:
        message = f"converged: {len(P)} points, max relative error {e:.3e} <= tol {tol:g} in {it} steps"
    else:
        message = (f"NOT converged: {reason}; best max relative error {e:.3e} > tol {tol:g} "
                   f"with {len(P)} points after {it} steps")
    if progress and not converged:
        progress("  ECM " + message)
    order = np.argsort(P) if P else np.zeros(0, int)
    tm["total"] = time.perf_counter() - t_start
    return ECMResult(np.asarray(P, dtype=np.int64)[order], np.asarray(w)[order], e, err, it,
                     bool(converged), history, n_col, tm["total"], message, tm)
