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
   inputs): Lawson-Hanson on the normal equations ``M = G_P G_P^T`` (|P| x |P|, updated by
   one row and column per new point), warm-started from the previous step's weights, with
   two steps of iterative refinement on ``G_P`` (:func:`_nnls_normal`; weights within
   ~1e-11 of ``scipy.optimize.nnls``, which is the fallback when a factorisation fails),
   and drops points whose weight is zero; a point that enters with zero weight is excluded
   from later candidates;
5. the residual and the group errors are global quantities (replicated).

Termination: converged (max group error <= tol), ``max_points`` reached, no candidate
with a positive score, ``max_iterations`` (default ``4 max_points + 20``), or a stall (no
new smallest error for ``patience`` steps, default ``max(100, max_points / 2)``: points
keep entering and leaving). When not converged, the best state met (smallest max error)
is returned and ``message`` says why the greedy stopped and which error it reached.

The result is the same on any number of ranks up to round-off (tie rule above).

Warm start: ``warm_start`` (global ip indices, e.g. the current points of an online ROM
being enriched) are put in ``P`` first (their rows gathered from their owners), NNLS is
solved, and the greedy continues from that residual.

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

__all__ = ["ECMResult", "ecm", "internal_force_integrand", "normalisation", "ZERO_TOL"]

#: groups whose exact integrals are below this fraction of the integrals of the integrand's
#: magnitude are measured against ``ZERO_TOL * A_g`` (module docstring)
ZERO_TOL = 1e-3
#: relative score difference below which two candidates are a tie (smallest index wins)
TIE_RTOL = 1e-10
#: rows per block of the set-up passes over G (cache-sized blocks)
CHUNK_ROWS = 8192


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


def internal_force_integrand(stress, mode_strains, include_volume=True, chunk_rows=2048):
    """Integrand of the reduced internal forces at the local integration points.

    stress : (n_ip_local, 6, n_snap) Mandel stresses of the training snapshots.
    mode_strains : (n_ip_local, 6, n_modes) Mandel strains of the displacement modes.
    Returns G (n_ip_local, n_snap * n_modes [+1]), columns snapshot-major
    (col = j * n_modes + k), and ``groups`` (n_col,) = snapshot index j (n_snap for the
    volume column).

    ``G`` is stored column by column (Fortran order): the ECM greedy streams it once per
    step with a matrix-vector product, which runs about twice as fast on column-major
    storage (long contiguous columns) as on row-major storage (short dot products of
    n_col values) -- measured 34 vs 65 ms for 778k x 81 on one core here. It is computed
    block by block of rows (a batched (n_snap x 6) @ (6 x n_modes) product per point into
    a cache-sized buffer, then copied into the block's rows): no temporaries of the size
    of ``G``."""
    stress = np.asarray(stress, dtype=np.float64)
    mode_strains = np.asarray(mode_strains, dtype=np.float64)
    n_ip, _, n_s = stress.shape
    n_m = mode_strains.shape[2]
    n_c = n_s * n_m
    G = np.empty((n_c + (1 if include_volume else 0), n_ip)).T          # column-major
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


def _row_norms(G, s, chunk_rows):
    """||G_q * s|| for every local row (blocked, no copy of G)."""
    n = G.shape[0]
    s2 = s * s
    out = np.empty(n)
    for a in range(0, n, chunk_rows):
        e = min(n, a + chunk_rows)
        Gc = G[a:e]
        out[a:e] = np.square(Gc) @ s2
    return np.sqrt(out)


def _nnls_normal(M, c, w0=None, max_steps=None, rows=None, b=None, refine=2):
    """Lawson-Hanson NNLS ``min ||A w - b||, w >= 0`` on the normal equations ``M = A^T A``,
    ``c = A^T b`` (|P| x |P|: the greedy keeps them up to date, one row per new point), warm
    started from the feasible ``w0`` (the previous step's weights, 0 for the new point):
    its positive entries are the initial passive set, so a greedy step usually costs one or
    two Cholesky solves of size |P| instead of |P| least-squares solves of size
    n_col x |P| (scipy's ``nnls`` starts from an empty set). Returns None when a Cholesky
    factorisation fails or the active-set loop does not finish in ``max_steps`` (the
    caller then uses ``scipy.optimize.nnls``).

    With ``rows`` (|P| x n_col, ``A = rows^T``) and ``b``, the final weights get ``refine``
    steps of iterative refinement on the passive set (residual from ``rows``, correction
    from the Cholesky factor: corrected semi-normal equations), which brings their
    round-off from cond(A)^2 eps (normal equations) back to about cond(A) eps: the weights
    then agree with a QR-based solve, and between layouts / rank counts, to ~1e-9."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve
    n = c.size
    if n == 0:
        return np.zeros(0)
    w = np.zeros(n) if w0 is None else np.maximum(np.asarray(w0, dtype=float), 0.0)
    passive = w > 0
    max_steps = 3 * n + 10 if max_steps is None else max_steps
    gtol = 1e-12 * max(float(np.abs(c).max()), 1e-300)
    fac, fac_idx = None, None                          # last Cholesky factor and its set
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
                fac, fac_idx = cho_factor(M[np.ix_(idx, idx)], check_finite=False), idx
            except (LinAlgError, ValueError):
                return None
            z_p = cho_solve(fac, c[idx], check_finite=False)
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
            return None
    else:
        return None
    idx = np.flatnonzero(w > 0)
    if rows is not None and idx.size and refine:
        if fac is None or not np.array_equal(fac_idx, idx):
            try:
                fac = cho_factor(M[np.ix_(idx, idx)], check_finite=False)
            except (LinAlgError, ValueError):
                return None
        A = rows[idx]
        w_p = w[idx].copy()
        for _ in range(int(refine)):
            w_p = w_p + cho_solve(fac, A @ (b - A.T @ w_p), check_finite=False)
        if np.all(w_p > 0):
            w[idx] = w_p
    return w


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
            return np.array(G[lq], dtype=np.float64)
        own = np.flatnonzero((self.starts <= q) & (q < self.starts + self.counts))
        root = int(own[0])
        buf = np.array(G[lq], dtype=np.float64) if root == self.comm.Get_rank() else np.empty(G.shape[1])
        self.comm.Bcast(buf, root=root)
        return buf

    def rows(self, G, idx):
        """Rows at global indices ``idx`` (replicated, in the order of idx)."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.zeros((idx.size, G.shape[1]))
        m = (idx >= self.offset) & (idx < self.offset + self.n_loc)
        out[m] = G[idx[m] - self.offset]
        return mpi.allreduce_array(out, self.comm) if self.size > 1 else out


# ============================================================================ ECM
def normalisation(G, dV, comm=None, groups=None, zero_tol=ZERO_TOL, chunk_rows=CHUNK_ROWS) -> dict:
    """Group normalisation of the module docstring (one blocked pass over ``G``, one
    Allreduce of 2 n_col values). Returns a replicated dict:

    ``b`` (n_col,) exact integrals G^T dV; ``A`` (n_col,) integrals of |G|;
    ``group_b``, ``group_A``, ``group_norm`` (n_groups,) = B_g, A_g, N_g;
    ``columns`` kept column indices; ``scale`` (n_col,) 1 / N_g of each column (0 for
    dropped columns); ``group`` (n_kept,) group of each kept column renumbered 0.. ."""
    comm = comm or mpi.comm()
    G = np.asarray(G, dtype=np.float64)
    n_all = G.shape[1]
    groups = np.arange(n_all) if groups is None else np.asarray(groups)
    b_loc, A_loc = _integrals(G, np.asarray(dV, dtype=np.float64), chunk_rows)
    both = mpi.allreduce_array(np.concatenate([b_loc, A_loc]), comm)
    b_all, A_all = both[:n_all], both[n_all:]
    gB = np.sqrt(np.bincount(groups, weights=b_all ** 2))
    gA = np.sqrt(np.bincount(groups, weights=A_all ** 2))
    norm_g = np.maximum(gB, zero_tol * gA)
    keep_g = (gA > 1e-14 * (gA.max() if gA.size else 1.0)) & (norm_g > 0)
    cols = np.flatnonzero(keep_g[groups])
    scale = np.zeros(n_all)
    scale[cols] = 1.0 / norm_g[groups[cols]]
    grp = np.unique(groups[cols], return_inverse=True)[1]
    return dict(b=b_all, A=A_all, group_b=gB, group_A=gA, group_norm=norm_g, columns=cols, scale=scale,
                group=grp)


def ecm(G, dV, comm=None, ip_offset=0, tol=1e-5, groups=None, warm_start=None, max_points=None,
        max_iterations=None, progress=None, zero_tol=ZERO_TOL, patience=None, tie_rtol=TIE_RTOL,
        chunk_rows=CHUNK_ROWS, nnls_solver="warm") -> ECMResult:
    """Greedy ECM with global error control (module docstring).

    G : (n_ip_local, n_col) integrand at this rank's integration points (global indices
        ip_offset .. ip_offset + n_ip_local - 1); not modified, not copied if float64 and
        contiguous (column-major, as :func:`internal_force_integrand` makes it, is the
        faster layout).
    dV : (n_ip_local,) integration weights x detJ.
    groups : (n_col,) group of every column (default: one group per column).
    zero_tol : floor of a group's normalisation relative to its integrand's magnitude.
    patience : stop after this many steps without a new smallest max error (default
        ``max(100, max_points // 2)``).
    nnls_solver : ``"warm"`` (default: warm-started Lawson-Hanson on the normal equations,
        :func:`_nnls_normal`) or ``"scipy"`` (``scipy.optimize.nnls`` from scratch at every
        step: the reference, ``bench/bench_ecm_nnls.py`` compares them).
    Returns :class:`ECMResult` (``message`` says why it stopped; ``timings`` per phase).
    """
    if nnls_solver not in ("warm", "scipy"):
        raise ValueError(f"nnls_solver must be 'warm' or 'scipy', got {nnls_solver!r}")
    t_start = time.perf_counter()
    tm = dict(setup=0.0, score=0.0, select=0.0, nnls=0.0, nnls_fallbacks=0)
    comm = comm or mpi.comm()
    G = np.asarray(G, dtype=np.float64)
    if not (G.flags.f_contiguous or G.flags.c_contiguous):
        G = np.asfortranarray(G)
    dV = np.asarray(dV, dtype=np.float64)
    n_loc, n_all = G.shape
    groups = np.arange(n_all) if groups is None else np.asarray(groups)

    nz = normalisation(G, dV, comm, groups, zero_tol, chunk_rows)
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

    def solve(rows, M, c, w0=None):
        """NNLS weights of the points' rows (warm-started from ``w0``, see _nnls_normal)."""
        t = time.perf_counter()
        w = None
        if nnls_solver == "warm":
            w = _nnls_normal(M, c, w0, rows=rows, b=b)
            if w is None:                             # ill-conditioned / cycling
                tm["nnls_fallbacks"] += 1
        if w is None:                                 # from scratch
            w, _ = nnls(rows.T, b, maxiter=50 * max(1, rows.shape[0]))
        tm["nnls"] += time.perf_counter() - t
        return w

    P = []
    rows = np.zeros((0, n_col))                     # scaled rows of the points in P
    M, c = np.zeros((0, 0)), np.zeros(0)            # rows rows^T, rows b (kept up to date)
    w = np.zeros(0)
    if warm_start is not None and len(warm_start):
        P = [int(i) for i in np.unique(np.asarray(warm_start, dtype=np.int64))]
        rows = sel.rows(G, P)[:, cols] * s
        M, c = rows @ rows.T, rows @ b
        w = solve(rows, M, c)
        keep = w > 0
        P = [p for p, k in zip(P, keep) if k]
        rows, w, M, c = rows[keep], w[keep], M[np.ix_(keep, keep)], c[keep]
    r = b - rows.T @ w
    err = errors(r)
    history = [(len(P), float(err.max()))]
    best = (float(err.max()), list(P), w.copy(), err.copy())
    since_best = 0
    excluded = []                                   # global indices entered with weight 0
    v = np.zeros(n_all)                             # s * r on all columns
    score = np.empty(n_loc)
    it = 0
    converged = bool(err.max() <= tol)
    reason = "converged" if converged else ""
    while not converged:
        if len(P) >= max_points:
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
        np.dot(G, v, out=score)
        np.divide(score, rn_safe, out=score)
        if P or excluded:
            loc = np.asarray(P + excluded, dtype=np.int64) - ip_offset
            score[loc[(loc >= 0) & (loc < n_loc)]] = -np.inf
        tm["score"] += time.perf_counter() - t
        t = time.perf_counter()
        top, q = sel.best(score)
        if not np.isfinite(top) or top <= 0:
            tm["select"] += time.perf_counter() - t
            reason = "no candidate point improves the residual"
            break
        row = sel.row(G, q)[cols] * s
        tm["select"] += time.perf_counter() - t
        P.append(q)
        mq = rows @ row
        M = np.block([[M, mq[:, None]], [mq[None, :], np.array([[row @ row]])]])
        c = np.append(c, row @ b)
        rows = np.vstack([rows, row])
        w = solve(rows, M, c, np.append(w, 0.0))
        keep = w > 0
        if not keep[-1]:
            excluded.append(q)
        P = [p for p, k in zip(P, keep) if k]
        rows, w, M, c = rows[keep], w[keep], M[np.ix_(keep, keep)], c[keep]
        r = b - rows.T @ w
        err = errors(r)
        e = float(err.max())
        history.append((len(P), e))
        converged = e <= tol
        if e < best[0]:
            best = (e, list(P), w.copy(), err.copy())
            since_best = 0
        else:
            since_best += 1
        if converged:
            reason = "converged"
        if progress and (it % 25 == 0 or converged):
            progress(f"  ECM step {it}: {len(P)} points, max relative error {e:.3e}")
    if not converged and best[0] < float(err.max()):
        _, P, w, err = best
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
