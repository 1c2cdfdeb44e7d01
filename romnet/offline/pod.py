"""Distributed snapshot POD (method of snapshots without the correlation matrix).

Data layout (:class:`RowLayout`)
-----------------------------
Every rank holds the whole mesh (topology and coordinates) but only its own rows of the
snapshot matrices:

* nodal fields: the contiguous block of nodes ``romnet.mpi.local_range(n_nodes)``, rows
  node-major with the components fastest (``row = (node - start) * n_comp + c``);
* integration-point fields: the integration points of the rank's contiguous block of
  elements ``local_range(n_elements)`` (integration points are stored element by
  element, so these rows are contiguous in the store too), rows ``ip * n_comp + c``.

``mesh.partition`` is not used: contiguous blocks keep every read a single hyperslab.
Elements of a rank may use nodes of another rank ("halo" nodes); :meth:`RowLayout.gather_ext`
exchanges their values (point to point, only the halo).

Inner products
--------------
An inner product is given by an object with ``row_blocks(X_own)``: an iterator of
blocks of rows of a matrix ``A`` with ``A^T A = X^T M X`` (the rows of ``A`` are split over
ranks). Two are provided:

* :class:`NodalL2` (displacement): ``||u||_M^2 = int |u|^2 dV = sum_q w_q |N_q u|^2`` over
  the points of the element's ``mass_quadrature`` (the rule that integrates ``N_i N_j``
  exactly, the one of :meth:`ElementKernel.mass_matrix`), so ``A = sqrt(w) * (S
  interpolated at the mass points)`` and ``A^T A = S^T M S`` exactly, with ``M`` the
  consistent mass matrix (density 1). Rows of ``A`` are split by element ownership.
* :class:`IntegL2` (dual quantities at integration points): ``sum_q dV_q x_q . y_q``
  (``dV`` = integration weight x detJ of the full integration rule), i.e. the L2(domain)
  product discretised by the same rule as the internal forces. Tensor fields are PODed in
  Mandel form (``x:y`` is then the Euclidean product of Mandel vectors).

Algorithm (:func:`pod`)
-----------------------
1. TSQR: each rank reduces its blocks of ``A`` to an upper-triangular ``R_i`` (streaming
   Householder QR, chunk by chunk, memory = one chunk), the ``R_i`` are all-gathered and
   the stacked ``R_i`` factored again: ``A = Q R`` with ``R`` (m x m) replicated.
2. SVD ``R = U s V^T``: ``s`` are the singular values of ``A``, i.e. of the snapshot matrix
   in the chosen norm, accurate to ``eps * s_0`` (absolute). Forming ``S^T M S`` and taking
   its eigenvalues (the classical correlation method, :func:`pod_correlation`) gives
   ``s_k^2`` to ``eps * s_0^2``, i.e. ``s_k`` only to ``sqrt(eps) s_0 ~ 1e-8 s_0``: modes below
   that level are noise. ``tests/test_offline_pod.py`` measures both.
3. Modes ``Phi = S V s^{-1}`` on each rank's own rows of S (no communication). Their
   M-orthonormality error is about ``eps s_0 / s_n``; when ``s_0 / s_n > 1e3`` they are
   re-orthonormalised once (``Phi <- Phi C^{-T}``, ``C C^T = Phi^T M Phi`` = I + small:
   Cholesky of a well-conditioned Gram matrix), which brings it back to round-off.

Truncation
----------
With ``E = sum_k s_k^2`` the energy of all snapshots (squared Frobenius norm of the
snapshot matrix in the chosen norm), the basis keeps the smallest ``n`` such that
``sqrt(sum_{k >= n} s_k^2 / E) <= tol`` (``tol`` is a relative RMS projection error: the
projection of the snapshot matrix on the basis has a relative Frobenius error ``<= tol``),
and at most ``max_modes``. Singular values below ``1e-13 s_0`` (numerically zero, e.g. a
zero snapshot) are never kept.

Incremental update (:func:`pod_update`)
---------------------------------------
Brand's update of a truncated SVD: new snapshots are projected on the basis (M-product),
the residual is orthogonalised against the basis twice, factored by TSQR, and the SVD of
the small core matrix ``[[diag(s), C], [0, R_res]]`` gives the new singular values and the
rotation of ``[Phi, Q_res]``. When nothing was truncated, the result equals a POD of all
snapshots from scratch (same singular values, same subspace) to round-off.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import mpi
from ..errors import InputError
from ..fe import ElementKernel, get_element_type
from .settings import OfflineSettings

__all__ = ["RowLayout", "NodalL2", "StrainL2", "IntegL2", "Euclidean", "PODBasis", "tsqr", "pod", "pod_update",
           "extend_basis", "recompress_basis",
           "pod_correlation", "truncation_rank", "sign_fix"]

#: rows of A per streaming-QR chunk (x number of columns -> ~ memory of one chunk)
CHUNK_ROWS = 1 << 15
#: singular values below this fraction of the largest are treated as zero
RANK_RTOL = 1e-13
#: re-orthonormalise the modes when s_0 / s_n exceeds this
REORTH_RATIO = 1e3


# ============================================================================ layout
class RowLayout:
    """Ownership of nodes and elements (integration points) by the ranks of ``comm``.

    Attributes
    ----------
    node_range : (a, b) own nodes; ``n_own`` = b - a.
    element_range : (ea, eb) own elements (global numbering, blocks concatenated).
    ip_range : (ia, ib) own integration points (global numbering of integ fields).
    ext_nodes : (n_ext,) own nodes then halo nodes (sorted) = every node of own elements
        plus own nodes.
    blocks : list of dicts, one per mesh block with own elements: ``block`` index,
        ``etype``, ``el`` (slice into the block), ``elements`` (global indices),
        ``conn_ext`` (connectivity in ext numbering), ``ip_start`` (first own ip of this
        block, global), ``n_ip``, ``row0`` (first local ip row).
    """

    def __init__(self, mesh, comm=None, thickness=None):
        self.comm = comm or mpi.comm()
        #: (n_elements,) section thickness of plane elements (None: 1), see romnet.sections
        self.thickness = None if thickness is None else np.asarray(thickness, dtype=float)
        c = self.comm
        self.rank, self.size = c.Get_rank(), c.Get_size()
        self.mesh = mesh
        self.dim = mesh.dim
        self.n_nodes = mesh.n_nodes
        a, b = mpi.local_range(self.n_nodes, c)
        self.node_range = (a, b)
        self.n_own = b - a
        ea, eb = mpi.local_range(mesh.n_elements, c)
        self.element_range = (ea, eb)
        offs = mesh.block_offsets()
        n_ips = [get_element_type(bl.etype).n_ip for bl in mesh.blocks]
        ip_offs = np.concatenate([[0], np.cumsum([bl.n_elements * k for bl, k in zip(mesh.blocks, n_ips)])])
        self.n_ip_total = int(ip_offs[-1])
        self.block_ip_offsets = ip_offs.astype(np.int64)
        self.block_el_offsets = offs
        self.blocks = []
        row = 0
        conns = []
        for i, bl in enumerate(mesh.blocks):
            lo, hi = max(ea, offs[i]), min(eb, offs[i + 1])
            if hi <= lo:
                continue
            sl = slice(int(lo - offs[i]), int(hi - offs[i]))
            conn = bl.connectivity[sl]
            conns.append(conn)
            self.blocks.append(dict(block=i, etype=bl.etype, el=sl, elements=np.arange(lo, hi),
                                    conn=conn, n_ip=n_ips[i],
                                    ip_start=int(ip_offs[i] + sl.start * n_ips[i]), row0=row))
            row += (hi - lo) * n_ips[i]
        self.n_ip_local = row
        self.ip_range = (self.blocks[0]["ip_start"], self.blocks[0]["ip_start"] + row) if self.blocks \
            else (0, 0)
        needed = np.unique(np.concatenate(conns)) if conns else np.zeros(0, np.int64)
        halo = needed[(needed < a) | (needed >= b)]
        self.halo = halo
        self.ext_nodes = np.concatenate([np.arange(a, b), halo])
        self.n_ext = self.ext_nodes.size
        for d in self.blocks:
            g = d["conn"]
            own = (g >= a) & (g < b)
            d["conn_ext"] = np.where(own, g - a, self.n_own + np.searchsorted(halo, g))
        # halo exchange plan: owner of a node = rank whose node range holds it
        starts = np.asarray([mpi.local_range(self.n_nodes, _FakeRank(r, self.size))[0]
                             for r in range(self.size)])
        self.node_starts = starts
        owner = np.searchsorted(starts, halo, side="right") - 1
        self._recv_counts = np.bincount(owner, minlength=self.size)
        if self.size > 1:
            requests = [halo[owner == r] for r in range(self.size)]
            asked = c.alltoall(requests)
            self._send_idx = [np.asarray(x, dtype=np.int64) - a for x in asked]
        else:
            self._send_idx = [np.zeros(0, np.int64)]
        self._kernels = {}

    # ------------------------------------------------------------------ helpers
    def gather_ext(self, X_own):
        """(n_own, ...) values of own nodes -> (n_ext, ...) values of own + halo nodes."""
        X_own = np.asarray(X_own)
        if X_own.shape[0] != self.n_own:
            raise InputError(f"gather_ext: expected {self.n_own} rows, got {X_own.shape[0]}")
        if self.size == 1:
            return X_own
        sends = [np.ascontiguousarray(X_own[idx]) for idx in self._send_idx]
        got = self.comm.alltoall(sends)
        parts = [X_own] + [g for g in got if g.shape[0]]
        return np.concatenate(parts, axis=0)

    def kernel(self, i, mass=False):
        """ElementKernel of own elements of ``self.blocks[i]`` on ext node numbering
        (the element's own rule, or the mass rule if ``mass``; plane elements with their
        ``thickness``)."""
        key = (i, mass)
        if key not in self._kernels:
            d = self.blocks[i]
            et = get_element_type(d["etype"])
            t = None
            if self.thickness is not None and et.kinematics in ("plane_strain", "plane_stress"):
                t = self.thickness[d["elements"]]
            self._kernels[key] = ElementKernel(et, self.mesh.coordinates[self.ext_nodes], d["conn_ext"],
                                               quadrature=et.mass_quadrature if mass else None, thickness=t)
        return self._kernels[key]

    def local_dV(self):
        """(n_ip_local,) integration weights x detJ of the own integration points."""
        if not self.blocks:
            return np.zeros(0)
        return np.concatenate([self.kernel(i).dV.ravel() for i in range(len(self.blocks))])

    def ip_location(self, ips):
        """Global ip indices -> (block, element (global), local ip) arrays (replicated)."""
        ips = np.asarray(ips, dtype=np.int64)
        blk = np.searchsorted(self.block_ip_offsets, ips, side="right") - 1
        n_ip = np.asarray([get_element_type(b.etype).n_ip for b in self.mesh.blocks])[blk]
        rel = ips - self.block_ip_offsets[blk]
        el = self.block_el_offsets[blk] + rel // n_ip
        return blk, el, rel % n_ip

    def node_owner(self, nodes):
        return np.searchsorted(self.node_starts, np.asarray(nodes), side="right") - 1

    def gather_node_rows(self, X_own, nodes):
        """Replicated (len(nodes), ...) rows of a node-distributed array (allreduce)."""
        return self._gather(X_own, nodes, self.node_range)

    def gather_ip_rows(self, X_local, ips):
        """Replicated (len(ips), ...) rows of an ip-distributed array (allreduce)."""
        return self._gather(X_local, ips, self.ip_range)

    def _gather(self, X_own, idx, own_range):
        idx = np.asarray(idx, dtype=np.int64)
        a, b = own_range
        X_own = np.asarray(X_own)
        out = np.zeros((idx.size,) + X_own.shape[1:])
        m = (idx >= a) & (idx < b)
        out[m] = X_own[idx[m] - a]
        return self.comm.allreduce(out) if self.size > 1 else out


class _FakeRank:
    """Minimal communicator stand-in to evaluate local_range for another rank."""

    def __init__(self, rank, size):
        self._r, self._s = rank, size

    def Get_rank(self):
        return self._r

    def Get_size(self):
        return self._s


# ============================================================================ inner products
class NodalL2:
    """L2 (consistent mass, density 1) product of nodal fields with ``n_comp`` components.

    ``row_blocks(X)`` with X (n_own * n_comp, m) own rows (node-major, components fastest)
    yields blocks of ``A = sqrt(w_q) N_q X_e`` at the mass-quadrature points of own elements.
    """

    kind = "nodal"
    name = "L2-mass"

    def __init__(self, layout: RowLayout, n_comp=None, chunk_rows=CHUNK_ROWS):
        self.layout = layout
        self.n_comp = layout.dim if n_comp is None else int(n_comp)
        self.chunk_rows = chunk_rows
        self._geo = []
        for i in range(len(layout.blocks)):
            k = layout.kernel(i, mass=True)
            self._geo.append((k.N, np.sqrt(k.dV), layout.blocks[i]["conn_ext"]))

    @property
    def n_rows_local(self):
        return self.layout.n_own * self.n_comp

    def row_blocks(self, X):
        X = np.asarray(X, dtype=np.float64)
        L, c = self.layout, self.n_comp
        m = X.shape[1]
        Xe = L.gather_ext(X.reshape(L.n_own, c * m))  # (n_ext, c*m)
        for N, sw, conn in self._geo:
            n_el, n_q = sw.shape
            step = max(1, self.chunk_rows // max(1, n_q * c))
            for s in range(0, n_el, step):
                ue = Xe[conn[s:s + step]]                       # (e, a, c*m)
                v = np.matmul(N, ue)                              # (e, q, c*m)
                v *= sw[s:s + step, :, None]
                yield v.reshape(-1, m)


class StrainL2:
    """Strain product of displacement fields: ``sum_q dV_q eps(x)_q . eps(y)_q`` over own
    integration points (Mandel strains: the Frobenius product of the strain tensors), the
    energy-like norm a Galerkin solution is accurate in (up to the elastic moduli).

    ``row_blocks(X)`` with X (n_own * dim, m) own rows (node-major) yields blocks of
    ``sqrt(dV_q) eps_q(X)`` ((e * q * 6, m)). Collective (halo exchange)."""

    kind = "nodal"
    name = "L2-strain"

    def __init__(self, layout: RowLayout, chunk_rows=CHUNK_ROWS):
        self.layout = layout
        self.n_comp = layout.dim
        self.chunk_rows = chunk_rows

    @property
    def n_rows_local(self):
        return self.layout.n_own * self.n_comp

    def row_blocks(self, X):
        X = np.asarray(X, dtype=np.float64)
        L, d = self.layout, self.layout.dim
        m = X.shape[1]
        Xe = L.gather_ext(X.reshape(L.n_own, d * m)).reshape(-1, d, m)
        for i, blk in enumerate(L.blocks):
            ker = L.kernel(i)
            sw = np.sqrt(ker.dV)
            n_el, n_q = sw.shape
            step = max(1, self.chunk_rows // max(1, n_q * 6))
            for s in range(0, n_el, step):
                sl = slice(s, min(s + step, n_el))
                eps = ker.element_strain(Xe[blk["conn_ext"][sl]], sl)          # (e, q, 6, m)
                eps *= sw[sl, :, None, None]
                yield eps.reshape(-1, m)


class IntegL2:
    """L2 product of integration-point fields: ``sum_q dV_q x_q . y_q`` (own ips)."""

    kind = "integ"
    name = "L2-dV"

    def __init__(self, layout: RowLayout, n_comp: int, chunk_rows=CHUNK_ROWS):
        self.layout = layout
        self.n_comp = int(n_comp)
        self.chunk_rows = chunk_rows
        self.sw = np.repeat(np.sqrt(layout.local_dV()), self.n_comp)

    @property
    def n_rows_local(self):
        return self.layout.n_ip_local * self.n_comp

    def row_blocks(self, X):
        X = np.asarray(X, dtype=np.float64)
        for s in range(0, X.shape[0], self.chunk_rows):
            yield X[s:s + self.chunk_rows] * self.sw[s:s + self.chunk_rows, None]


class Euclidean:
    """Plain Euclidean product of the distributed rows."""

    kind = "any"
    name = "euclidean"

    def __init__(self, n_rows_local=None, chunk_rows=CHUNK_ROWS):
        self._n = n_rows_local
        self.chunk_rows = chunk_rows

    @property
    def n_rows_local(self):
        return self._n

    def row_blocks(self, X):
        X = np.asarray(X, dtype=np.float64)
        for s in range(0, X.shape[0], self.chunk_rows):
            yield X[s:s + self.chunk_rows]


# ============================================================================ TSQR
def _qr_r(A):
    """Upper-triangular factor (min(r, m) x m) of A (Householder, LAPACK dgeqrf)."""
    from scipy.linalg import lapack
    qr, _, _, info = lapack.dgeqrf(A)
    if info != 0:  # pragma: no cover
        raise RuntimeError(f"dgeqrf failed (info={info})")
    return np.triu(qr[:min(A.shape)])


def _pad(R, m):
    if R.shape[0] < m:
        R = np.vstack([R, np.zeros((m - R.shape[0], m))])
    return R[:m]


def tsqr(blocks, m, comm=None):
    """R factor (m x m, replicated, non-negative diagonal) of the row-distributed matrix
    whose local rows come as ``blocks`` (iterable of (r_i, m) arrays): ``A^T A = R^T R``.

    Local part: the rows are cut in panels of ``16 m`` rows (cache-sized: LAPACK's QR of a
    very tall matrix is memory bound), each panel is reduced to its R factor, and the
    stacked factors are reduced again whenever they reach a panel's size (a flat TSQR
    tree; memory = one block + one panel). Global part: the local factors are all-gathered
    and the stack (in rank order, so every rank gets the same R) factored once more."""
    comm = comm or mpi.comm()
    bs = max(16 * m, 1024)
    Rs, n_rs = [], 0
    for B in blocks:
        for s in range(0, B.shape[0], bs):
            Rs.append(_qr_r(B[s:s + bs]))
            n_rs += Rs[-1].shape[0]
            if n_rs >= bs:
                Rs = [_qr_r(np.vstack(Rs))]
                n_rs = Rs[0].shape[0]
    R = _pad(_qr_r(np.vstack(Rs)) if Rs else np.zeros((0, m)), m)
    if comm.Get_size() > 1:
        R = _pad(_qr_r(np.vstack(comm.allgather(R))), m)
    sgn = np.where(np.diag(R) < 0, -1.0, 1.0)
    return R * sgn[:, None]


def gram(blocks_x, blocks_y=None, comm=None):
    """X^T M Y from paired row blocks (allreduced); ``blocks_y=None``: X^T M X."""
    comm = comm or mpi.comm()
    G = None
    pairs = ((b, b) for b in blocks_x) if blocks_y is None else zip(blocks_x, blocks_y)
    for bx, by in pairs:
        g = bx.T @ by
        G = g if G is None else G + g
    return comm.allreduce(G) if comm.Get_size() > 1 else G


# ============================================================================ POD
@dataclass
class PODBasis:
    """A distributed POD basis.

    modes : (n_rows_local, n_modes) this rank's rows, orthonormal in the inner product.
    singular_values : (n_sv,) every singular value computed (descending); the first
        n_modes belong to the modes. For a basis extended by :func:`extend_basis` the
        first n_modes are the energy weights of the modes (the norms of the rows of
        ``coefficients``), no longer sorted.
    total_energy : sum of squared singular values of all snapshots seen so far (updates
        included), discarded_energy : part of it not represented by the modes.
    coefficients : (n_modes, n_c) replicated, or None (then ``diag(sigma)``): the snapshots
        this basis represents are ``modes @ coefficients`` (up to the discarded energy) --
        what :func:`recompress_basis` compresses again.
    """

    modes: np.ndarray
    singular_values: np.ndarray
    total_energy: float
    discarded_energy: float
    tolerance: float | None = None
    max_modes: int | None = None
    n_snapshots: int = 0
    info: dict = field(default_factory=dict)
    coefficients: np.ndarray | None = None

    @property
    def n_modes(self) -> int:
        return self.modes.shape[1]

    @property
    def sigma(self):
        return self.singular_values[:self.n_modes]

    def relative_error(self) -> float:
        """sqrt(discarded / total): relative Frobenius projection error of all snapshots."""
        return float(np.sqrt(self.discarded_energy / self.total_energy)) if self.total_energy > 0 else 0.0

    @property
    def coef(self) -> np.ndarray:
        """(n_modes, n_c) snapshot coefficients (``diag(sigma)`` for a plain POD basis)."""
        return np.diag(self.sigma) if self.coefficients is None else self.coefficients


def truncation_rank(s, tol=None, max_modes=None, total_energy=None, extra_discarded=0.0):
    """Smallest n with sqrt((sum_{k>=n} s_k^2 + extra_discarded) / E) <= tol, capped by
    ``max_modes`` and the numerical rank (s_k > RANK_RTOL * s_0). ``tol=None``: keep the
    numerical rank."""
    s = np.asarray(s, dtype=float)
    if s.size == 0 or s[0] <= 0:
        return 0
    rank = int(np.sum(s > RANK_RTOL * s[0]))
    E = float(np.sum(s ** 2)) + extra_discarded if total_energy is None else float(total_energy)
    n = rank
    if tol is not None:
        e = s ** 2
        tail = np.concatenate([np.cumsum(e[::-1])[::-1], [0.0]]) + extra_discarded  # tail[n]
        ok = np.flatnonzero(tail <= tol ** 2 * E)
        n = min(rank, int(ok[0]) if ok.size else rank)
    if max_modes is not None:
        n = min(n, int(max_modes))
    return n


def sign_fix(V):
    """Make the largest-magnitude entry of every column positive (replicated matrices,
    so all ranks flip the same columns)."""
    if V.size == 0:
        return np.ones(V.shape[1])
    idx = np.argmax(np.abs(V), axis=0)
    return np.where(V[idx, np.arange(V.shape[1])] < 0, -1.0, 1.0)


def _orthonormalize(Phi, inner, comm):
    """One re-orthonormalisation pass of nearly orthonormal modes: Phi <- Phi C^{-T} with
    C C^T the Cholesky factorisation of the Gram matrix Phi^T M Phi = I + O(delta)
    (stable for such well-conditioned Gram matrices, and a GEMM instead of a QR)."""
    k = Phi.shape[1]
    if k == 0:
        return Phi
    G = gram(inner.row_blocks(Phi), None, comm)
    C = np.linalg.cholesky(0.5 * (G + G.T))
    return np.linalg.solve(C, Phi.T).T


def pod(S, inner, comm=None, tol=OfflineSettings.pod_tol, max_modes=None, reorthogonalize="auto", progress=None,
        name="") -> PODBasis:
    """POD of the row-distributed snapshot matrix ``S`` (n_rows_local, m) in ``inner``.

    Parameters
    ----------
    S : this rank's rows (:class:`RowLayout` ordering), one column per snapshot.
    inner : :class:`NodalL2`, :class:`IntegL2` or :class:`Euclidean`.
    tol, max_modes : truncation (module docstring); ``tol=None`` keeps the numerical rank.
    reorthogonalize : True, False or "auto" (when s_0/s_n > 1e3).
    """
    comm = comm or mpi.comm()
    S = np.asarray(S, dtype=np.float64)
    m = S.shape[1]
    R = tsqr(inner.row_blocks(S), m, comm)
    _, s, Vt = np.linalg.svd(R)
    E = float(np.sum(s ** 2))
    n = truncation_rank(s, tol, max_modes)
    V = Vt[:n].T
    V = V * sign_fix(V)
    Phi = S @ (V / s[:n]) if n else np.zeros((S.shape[0], 0))
    re = reorthogonalize is True or (reorthogonalize == "auto" and n and s[0] / s[n - 1] > REORTH_RATIO)
    if re:
        Phi = _orthonormalize(Phi, inner, comm)
    disc = float(np.sum(s[n:] ** 2))
    if progress:
        progress(f"  POD {name}: {m} snapshots, {n} modes, sigma {s[0]:.3e} .. "
                 f"{s[n - 1] if n else 0:.3e}, relative error {np.sqrt(disc / E) if E else 0:.2e}")
    return PODBasis(Phi, s, E, disc, tol, max_modes, m,
                    {"inner_product": inner.name, "reorthogonalized": bool(re)})


def pod_update(basis: PODBasis, S_new, inner, comm=None, tol=None, max_modes=None,
               progress=None, name="") -> PODBasis:
    """Add snapshots ``S_new`` (n_rows_local, p) to ``basis`` without recomputing.

    Returns a new :class:`PODBasis` whose singular values/modes are those of the POD of
    [snapshots represented by ``basis``, S_new]; ``tol``/``max_modes`` default to the
    basis' own. Energy accounting includes what earlier truncations discarded, so the
    tolerance keeps meaning "relative error over every snapshot seen"."""
    comm = comm or mpi.comm()
    tol = basis.tolerance if tol is None else tol
    max_modes = basis.max_modes if max_modes is None else max_modes
    Phi = basis.modes
    k = Phi.shape[1]
    S_new = np.asarray(S_new, dtype=np.float64)
    p = S_new.shape[1]
    # projection and residual, orthogonalised twice
    C = gram(inner.row_blocks(Phi), inner.row_blocks(S_new), comm) if k else np.zeros((0, p))
    Res = S_new - Phi @ C
    if k:
        C2 = gram(inner.row_blocks(Phi), inner.row_blocks(Res), comm)
        Res -= Phi @ C2
        C = C + C2
    Rr = tsqr(inner.row_blocks(Res), p, comm)
    _, sr, Vrt = np.linalg.svd(Rr)
    scale = max(float(basis.sigma[0]) if k else 0.0, float(sr[0]) if sr.size else 0.0)
    r = int(np.sum(sr > RANK_RTOL * scale)) if scale > 0 else 0
    # Res = Q1 diag(sr) Vr^T with Q1 = Res Vr sr^-1; re-orthonormalise Q1 (twice is enough)
    Q = Res @ (Vrt[:r].T / sr[:r]) if r else np.zeros((Res.shape[0], 0))
    L = sr[:r, None] * Vrt[:r]                     # (r, p): Res = Q L
    if r:
        if k:
            C3 = gram(inner.row_blocks(Phi), inner.row_blocks(Q), comm)
            Q -= Phi @ C3
            C = C + C3 @ L
        R2 = tsqr(inner.row_blocks(Q), r, comm)
        Q = np.linalg.solve(R2.T, Q.T).T
        L = R2 @ L
    K = np.zeros((k + r, k + p))
    K[:k, :k] = np.diag(basis.sigma)
    K[:k, k:] = C
    K[k:, k:] = L
    Uk, s, _ = np.linalg.svd(K, full_matrices=False)
    E = basis.total_energy + float(np.sum(S_new_energy(inner, S_new, comm)))
    prev_disc = basis.discarded_energy
    n = truncation_rank(s, tol, max_modes, total_energy=E, extra_discarded=prev_disc)
    U = Uk[:, :n]
    U = U * sign_fix(U)
    new = np.hstack([Phi, Q]) @ U
    disc = prev_disc + float(np.sum(s[n:] ** 2))
    if progress:
        progress(f"  POD update {name}: +{p} snapshots, {k} -> {n} modes, relative error "
                 f"{np.sqrt(disc / E) if E else 0:.2e}")
    return PODBasis(new, s, E, disc, tol, max_modes, basis.n_snapshots + p,
                    {**basis.info, "updated": basis.info.get("updated", 0) + 1})


def extend_basis(basis: PODBasis, S_new, inner, comm=None, tol=1e-3, max_new=None, measure=None):
    """Greedy extension for learning ROMs: each snapshot of ``S_new`` (n_rows_local, p) is
    projected on the current modes (Gram-Schmidt twice in ``inner``) and its residual
    becomes a new mode when ``||residual|| > tol ||snapshot||`` (relative to the snapshot
    itself, not to the energy of all snapshots seen: a new hot spot is kept even when its
    energy is small next to the training family's). The existing modes are unchanged, so
    reduced coordinates in the old basis stay valid (padded with zeros).

    Returns ``(new basis, added)``: the modes ``[old, new]``, ``coefficients`` with one
    column per snapshot appended (``info["principal"]``: how many leading columns are the
    principal directions of an earlier POD, the rest are snapshots), ``singular_values`` the energy weights of the modes
    (norms of the coefficient rows), energies updated (a residual that is not kept counts
    as discarded); ``added`` the number of new modes. ``max_new`` caps the new modes.
    ``measure`` (an inner product, e.g. :class:`StrainL2` for displacements): the residual
    (orthogonal in ``inner``) is kept when larger than ``tol`` x the snapshot in *that* norm
    instead -- a Galerkin solution is accurate in an energy norm, and a displacement residual
    that is tiny in L2 can carry a large strain (measured on the blade: fields within 1e-3 of
    the basis in L2 gave reduced solutions 1e-2 away from them).
    Collective; the result is the same on any number of ranks (replicated Gram products)."""
    comm = comm or mpi.comm()
    S_new = np.asarray(S_new, dtype=np.float64)
    Phi = basis.modes
    C = basis.coef
    principal = int(basis.info.get("principal", C.shape[1]))
    added, disc, E = 0, basis.discarded_energy, basis.total_energy
    for j in range(S_new.shape[1]):
        s = S_new[:, j:j + 1]
        ns2 = float(gram(inner.row_blocks(s), None, comm)[0, 0])
        E += ns2
        c = np.zeros(Phi.shape[1])
        r = s.copy()
        for _ in range(2):
            if Phi.shape[1]:
                cj = gram(inner.row_blocks(Phi), inner.row_blocks(r), comm)[:, 0]
                r -= Phi @ cj[:, None]
                c += cj
        nr = float(np.sqrt(max(gram(inner.row_blocks(r), None, comm)[0, 0], 0.0)))
        if measure is None:
            big = nr > tol * np.sqrt(ns2)
        else:
            mr, ms = (float(np.sqrt(max(gram(measure.row_blocks(x), None, comm)[0, 0], 0.0))) for x in (r, s))
            big = mr > tol * ms
        keep = ns2 > 0 and big and (max_new is None or added < max_new)
        if keep:
            Phi = np.hstack([Phi, r / nr])
            C = np.vstack([C, np.zeros((1, C.shape[1]))])
            c = np.append(c, nr)
            added += 1
        else:
            disc += nr * nr
        C = np.hstack([C, c[:, None]])
    w = np.sqrt(np.einsum("ij,ij->i", C, C))
    return (PODBasis(Phi, w, E, disc, basis.tolerance, basis.max_modes, basis.n_snapshots + S_new.shape[1],
                     {**basis.info, "extended": basis.info.get("extended", 0) + added, "principal": principal}, C),
            added)


def recompress_basis(basis: PODBasis, tol=None, max_modes=None, gram_measure=None):
    """Truncated POD of the snapshots a (greedy-extended) basis represents: SVD of its
    ``coefficients`` C = U S W^T, new modes ``modes @ U[:, :n]`` with n from ``tol``
    (relative RMS error over every snapshot seen, earlier discards included) and
    ``max_modes``. Returns ``(new basis, R)`` with R = U[:, :n] (old -> new reduced
    coordinates: ``a_new = R^T a_old``). Replicated small algebra, no communication.

    ``gram_measure`` (k, k): the modes' Gram matrix in another inner product (e.g.
    :class:`StrainL2`, from :func:`gram`): the truncation is then the POD of the snapshots
    in *that* norm (``tol`` relative to the represented snapshots' energy in it), and the
    kept subspace is returned orthonormal in the basis' own product (R orthonormal columns,
    coefficients the snapshots' coordinates in it): a displacement direction small in L2
    but carrying much strain is kept, as the Galerkin error asks."""
    if gram_measure is not None:
        return _recompress_in(basis, tol, max_modes, np.asarray(gram_measure, dtype=float))
    U, sv, _ = np.linalg.svd(basis.coef, full_matrices=False)
    n = truncation_rank(sv, tol, max_modes, total_energy=basis.total_energy,
                        extra_discarded=basis.discarded_energy)
    R = U[:, :n] * sign_fix(U[:, :n])
    disc = basis.discarded_energy + float(np.sum(sv[n:] ** 2))
    return (PODBasis(basis.modes @ R, sv, basis.total_energy, disc, basis.tolerance, basis.max_modes,
                     basis.n_snapshots, {**basis.info, "recompressed": basis.info.get("recompressed", 0) + 1,
                                         "principal": n}, np.diag(sv[:n])), R)


def _recompress_in(basis, tol, max_modes, M):
    """:func:`recompress_basis` with the truncation measured in the product of Gram ``M``."""
    C = basis.coef
    lam, V = np.linalg.eigh(0.5 * (M + M.T))
    ok = lam > RANK_RTOL * max(float(lam.max()), 0.0)
    Lh = (V[:, ok] * np.sqrt(lam[ok])) @ V[:, ok].T                   # M^(1/2)
    Lhi = (V[:, ok] / np.sqrt(lam[ok])) @ V[:, ok].T                  # its pseudo-inverse
    Ue, se, _ = np.linalg.svd(Lh @ C, full_matrices=False)           # POD in the measure
    n = truncation_rank(se, tol, max_modes)
    Q, _ = np.linalg.qr(Lhi @ Ue[:, :n])                              # same span, orthonormal in the own product
    U2 = np.linalg.svd(Q.T @ C, full_matrices=False)[0]              # principal directions of the kept part
    R = Q @ (U2 * sign_fix(U2))
    sv = np.linalg.norm(R.T @ C, axis=1)
    disc = basis.discarded_energy + max(float(np.sum(C * C)) - float(np.sum(sv ** 2)), 0.0)
    return (PODBasis(basis.modes @ R, sv, basis.total_energy, disc, basis.tolerance, basis.max_modes,
                     basis.n_snapshots, {**basis.info, "recompressed": basis.info.get("recompressed", 0) + 1,
                                         "principal": n}, np.diag(sv)), R)


def S_new_energy(inner, S, comm):
    """Squared norms of the columns of S (allreduced)."""
    e = None
    for B in inner.row_blocks(S):
        v = np.einsum("ij,ij->j", B, B)
        e = v if e is None else e + v
    if e is None:
        e = np.zeros(S.shape[1])
    return comm.allreduce(e) if comm.Get_size() > 1 else e


def pod_correlation(S, inner, comm=None, tol=OfflineSettings.pod_tol, max_modes=None):
    """Classical method of snapshots (for comparison only): eigen-decomposition of the
    correlation matrix ``S^T M S``. Singular values below ~1e-8 s_0 are not resolved."""
    comm = comm or mpi.comm()
    S = np.asarray(S, dtype=np.float64)
    G = gram(inner.row_blocks(S), None, comm)
    lam, W = np.linalg.eigh(G)
    lam, W = lam[::-1], W[:, ::-1]
    s = np.sqrt(np.clip(lam, 0.0, None))
    n = truncation_rank(s, tol, max_modes)
    W = W[:, :n] * sign_fix(W[:, :n])
    Phi = S @ (W / s[:n])
    E = float(np.sum(s ** 2))
    return PODBasis(Phi, s, E, float(np.sum(s[n:] ** 2)), tol, max_modes, S.shape[1],
                    {"inner_product": inner.name, "method": "correlation"})
