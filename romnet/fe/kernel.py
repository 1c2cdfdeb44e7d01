"""Vectorized small-strain finite-element kernel for one block of elements of one type.

Shapes: ``n_el`` elements, ``n_ip`` integration points per element, ``n_en`` nodes per
element, ``dim`` space dimension (3 for c3d*, 2 for cpe*/cps*/cax*). Global DOFs are
node-major, ``dof = node * dim + component``. Strains, stresses and tangents are Mandel
6-vectors / 6x6 matrices in the order 11 22 33 12 23 31 (:mod:`romnet.tensors`). Units are
those of the inputs (coordinates in L, stress in F/L^2 -> forces in F, stiffness in F/L).

Formulations (``ElementType.kinematics``, ``docs/conventions.md``):

* ``solid``: 3D.
* ``plane_strain`` / ``plane_stress``: 2D coordinates (x1, x2); 6 strain components with
  e23 = e31 = 0; e33 = 0 from the displacements (plane stress: the law wrapper
  :class:`romnet.fe.plane_stress.PlaneStressLaw` finds the e33 that gives sigma33 = 0, so
  sigma33 does no work either way). Volumes and forces are per ``thickness`` (default 1).
* ``axisymmetric``: coordinates (r, z) = (x1, x2), displacements (u_r, u_z); hoop strain
  e33 = u_r / r (row 33 of ``B`` is ``N_a / r`` on u_r); ``dV = 2 pi r dA``: volumes,
  forces and stiffnesses are over the full circumference (Abaqus' convention for CAX*).
* mean-strain elements (``c3d8r``, ``cpe4r``, ``cps4r``, ``cax4r``): one integration point
  at the centroid whose gradient operator is the volume average ``(1/V) int B dV`` over
  the full rule (exact; CalculiX's ``shape8hr``), ``dV = V``; hourglass stiffness from
  :mod:`romnet.fe.hourglass`.
* B-bar elements (``c3d8_bbar``, ``cpe4_bbar``, ``cax4_bbar``: Abaqus' selectively reduced
  C3D8, CPE4, CAX4): ``B_bar = B + m (x) (dbar - d) / 3`` with ``d`` the divergence row
  (volumetric strain e11 + e22 + e33 of the element DOFs), ``dbar`` its volume average over
  the element and ``m = (1, 1, 1, 0, 0, 0)``: the volumetric strain is the element mean at
  every point, the deviatoric strain is the point's own (plane strain: e33 is then
  (dbar - d) u / 3, not 0).

Everything is vectorized over elements and integration points; large element loops are
split in element chunks only to bound the memory of temporaries. Sparse assembly builds
the CSR pattern of the block once (a stable sort of the node pairs of every element,
equivalent to coo -> csr) and caches the position of every element-matrix entry, so
repeated ``stiffness`` calls (Newton iterations) cost one ``np.bincount``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import InputError, UnsupportedError
from ..tensors import SQRT2
from .elements import ElementType, get_element_type

__all__ = ["ElementKernel", "jacobian_geometry"]

#: target number of float64 values of the biggest temporary of a chunked loop
_CHUNK_VALUES = 250_000
_INV_SQRT2 = 1.0 / SQRT2


def _grad_to_mandel(d):
    """(d*d, 6) matrix P: Mandel sym(H) = H.ravel() @ P; its transpose maps a Mandel
    6-vector to the (row-major, flattened) symmetric d x d tensor."""
    P = np.zeros((d, d, 6))
    P[0, 0, 0] = P[1, 1, 1] = 1.0
    P[0, 1, 3] = P[1, 0, 3] = _INV_SQRT2
    if d == 3:
        P[2, 2, 2] = 1.0
        P[1, 2, 4] = P[2, 1, 4] = _INV_SQRT2
        P[2, 0, 5] = P[0, 2, 5] = _INV_SQRT2
    return P.reshape(d * d, 6)


_GRAD_TO_MANDEL = {2: _grad_to_mandel(2), 3: _grad_to_mandel(3)}


def _check_connectivity(conn, n_en, n_nodes, what="element"):
    conn = np.asarray(conn)
    if conn.ndim != 2 or conn.shape[1] != n_en:
        raise InputError(f"{what} connectivity must be (n, {n_en}), got shape {conn.shape}")
    if conn.size and not np.issubdtype(conn.dtype, np.integer):
        if not np.all(np.equal(np.mod(conn, 1), 0)):
            raise InputError(f"{what} connectivity must hold integer node indices")
    conn = conn.astype(np.int64, copy=False)
    if conn.size:
        bad = (conn < 0) | (conn >= n_nodes)
        if bad.any():
            i = int(np.flatnonzero(bad.any(axis=1))[0])
            raise InputError(f"{what} {i}: node index out of range [0, {n_nodes}): {conn[i].tolist()}")
    return conn


def _det_inv(J):
    """Determinant (...,) and inverse (..., d, d) of batched 2x2 / 3x3 matrices.

    The inverse is only meaningful where det != 0 (callers check first)."""
    d = J.shape[-1]
    if d == 1:
        det = J[..., 0, 0]
        with np.errstate(divide="ignore"):
            return det, (1.0 / det)[..., None, None]
    if d == 2:
        a, b, c, e = J[..., 0, 0], J[..., 0, 1], J[..., 1, 0], J[..., 1, 1]
        det = a * e - b * c
        adj = np.stack([np.stack([e, -b], -1), np.stack([-c, a], -1)], -2)
    elif d == 3:
        c00 = J[..., 1, 1] * J[..., 2, 2] - J[..., 1, 2] * J[..., 2, 1]
        c01 = J[..., 1, 2] * J[..., 2, 0] - J[..., 1, 0] * J[..., 2, 2]
        c02 = J[..., 1, 0] * J[..., 2, 1] - J[..., 1, 1] * J[..., 2, 0]
        det = J[..., 0, 0] * c00 + J[..., 0, 1] * c01 + J[..., 0, 2] * c02
        adj = np.empty_like(J)
        adj[..., 0, 0] = c00
        adj[..., 1, 0] = c01
        adj[..., 2, 0] = c02
        adj[..., 0, 1] = J[..., 0, 2] * J[..., 2, 1] - J[..., 0, 1] * J[..., 2, 2]
        adj[..., 1, 1] = J[..., 0, 0] * J[..., 2, 2] - J[..., 0, 2] * J[..., 2, 0]
        adj[..., 2, 1] = J[..., 0, 1] * J[..., 2, 0] - J[..., 0, 0] * J[..., 2, 1]
        adj[..., 0, 2] = J[..., 0, 1] * J[..., 1, 2] - J[..., 0, 2] * J[..., 1, 1]
        adj[..., 1, 2] = J[..., 0, 2] * J[..., 1, 0] - J[..., 0, 0] * J[..., 1, 2]
        adj[..., 2, 2] = J[..., 0, 0] * J[..., 1, 1] - J[..., 0, 1] * J[..., 1, 0]
    else:
        raise UnsupportedError(f"Jacobian of dimension {d} not supported")
    with np.errstate(divide="ignore", invalid="ignore"):
        return det, adj / det[..., None, None]


def jacobian_geometry(xe, dN_dxi, weights, what="element"):
    """Geometry of isoparametric elements at reference points.

    xe (n_el, n_en, dim) nodal coordinates, dN_dxi (n_ip, n_en, dim), weights (n_ip,).
    Returns dN_dx (n_el, n_ip, n_en, dim), detJ (n_el, n_ip), dV (n_el, n_ip).
    Raises InputError naming the first element with a non-positive Jacobian.
    """
    J = np.tensordot(xe, dN_dxi, axes=([1], [1])).transpose(0, 2, 1, 3)  # (e, q, d, k) dx_d/dxi_k
    det, inv = _det_inv(J)
    bad = ~(det > 0.0)
    if bad.any():
        i, qp = np.unravel_index(int(np.flatnonzero(bad)[0]), det.shape)
        raise InputError(f"{what} {i}: non-positive Jacobian (detJ = {det[i, qp]:.6g} at "
                         f"integration point {qp}); inverted, degenerate or wrongly ordered element")
    dN_dx = np.einsum("qak,eqkj->eqaj", dN_dxi, inv, optimize=True)
    return dN_dx, det, det * np.asarray(weights)[None, :]


class ElementKernel:
    """Precomputed geometry and operators of a block of elements of one type.

    Parameters
    ----------
    etype : ElementType or name ('c3d8', 'cpe4', ...).
    coordinates : (n_nodes, dim) nodal coordinates, dim == etype.dim.
    connectivity : (n_el, n_en) 0-based node indices, node order of ``etype``.
    quadrature : optional (points (n_ip, dim), weights (n_ip,)); default the element's own
        rule (mean-strain types: their centroid point with the averaged operator).
    thickness : plane (strain/stress) elements only: None (1), a scalar or (n_el,) [L].

    Attributes
    ----------
    n_elements, n_ip, n_nodes (of the mesh), dim, kinematics ; N (n_ip, n_en) ;
    dN_dx (n_el, n_ip, n_en, dim) [1/L] ; detJ (n_el, n_ip) [L^dim / reference measure] ;
    dV (n_el, n_ip) = weight * detJ * (thickness in 2D plane, 2 pi r axisymmetric) [L^3] ;
    hoop (n_el, n_ip, n_en) N_a / r [1/L] (axisymmetric only, else None).
    """

    def __init__(self, etype, coordinates, connectivity, quadrature=None, thickness=None):
        self.etype: ElementType = get_element_type(etype)
        self.dim = self.etype.dim
        if self.dim not in (2, 3):
            raise UnsupportedError(f"element type '{self.etype.name}' cannot be used as a "
                                   f"solid element (reference dimension {self.dim})")
        X = np.asarray(coordinates, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise InputError(f"'{self.etype.name}' elements need {self.dim}-dimensional "
                             f"coordinates, got coordinates of shape {X.shape}")
        self.coordinates = X
        self.n_nodes = X.shape[0]
        self.connectivity = _check_connectivity(connectivity, self.etype.n_nodes, self.n_nodes)
        self.n_elements = self.connectivity.shape[0]
        self.n_en = self.etype.n_nodes
        self.kinematics = self.etype.kinematics or "solid"
        self.thickness = self._thickness(thickness)
        pts, w = self.etype.quadrature if quadrature is None else quadrature
        self.ip_points = np.asarray(pts, dtype=float).reshape(-1, self.dim)
        self.ip_weights = np.asarray(w, dtype=float).ravel()
        self.n_ip = self.ip_weights.shape[0]
        self.N = self.etype.shape(self.ip_points)
        self.dN_dxi = self.etype.shape_derivatives(self.ip_points)
        self.mean_strain = self.etype.mean_strain and quadrature is None
        Xe = X[self.connectivity]
        if self.mean_strain:
            gp, gw = self.etype.geometry_quadrature
            g, detJ, dV, hoop = self._geometry(Xe, gp, gw)
            V = dV.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                self.dN_dx = (np.einsum("eqaj,eq->eaj", g, dV) / V[:, None, None])[:, None]
                self.hoop = None if hoop is None else (np.einsum("eqa,eq->ea", hoop, dV) / V[:, None])[:, None]
            self.detJ = (detJ * gw).sum(axis=1, keepdims=True) / self.ip_weights.sum()
            self.dV = V[:, None]
        else:
            self.dN_dx, self.detJ, self.dV, self.hoop = self._geometry(Xe, self.ip_points, self.ip_weights)
        self._div_bar = None
        if self.etype.bbar and quadrature is None:
            d = self.divergence()                                        # (e, q, a, i)
            self._div_bar = np.einsum("eqai,eq->eai", d, self.dV) / self.dV.sum(axis=1)[:, None, None]
        self._dofs = None
        self._mass_dV = None
        self._assembly = {}

    # ------------------------------------------------------------------ geometry
    def _thickness(self, thickness):
        if thickness is None:
            return None
        if self.kinematics not in ("plane_strain", "plane_stress"):
            raise InputError(f"'{self.etype.name}' ({self.kinematics}) elements take no thickness")
        t = np.asarray(thickness, dtype=np.float64)
        if t.ndim == 0:
            t = np.full(self.n_elements, float(t))
        if t.shape != (self.n_elements,) or not np.all(t > 0):
            raise InputError(f"thickness must be a positive scalar or ({self.n_elements},) array, "
                             f"got {np.asarray(thickness).ravel()[:4].tolist()} (shape {t.shape})")
        return t

    def _geometry(self, Xe, pts, w):
        """(dN_dx, detJ, dV, hoop) at reference points: dV includes the thickness (plane)
        or 2 pi r (axisymmetric); hoop = N / r (axisymmetric) or None."""
        dN_dx, detJ, dV = jacobian_geometry(Xe, self.etype.shape_derivatives(pts), w)
        hoop = None
        if self.kinematics == "axisymmetric":
            N = self.etype.shape(pts)
            r = np.einsum("qa,ea->eq", N, Xe[:, :, 0])
            bad = ~(r > 0.0)
            if bad.any():
                i, qp = np.unravel_index(int(np.flatnonzero(bad)[0]), r.shape)
                raise InputError(f"element {i}: axisymmetric integration point {qp} at r = x1 = "
                                 f"{r[i, qp]:.6g} <= 0 (axisymmetric meshes lie in x1 > 0)")
            dV = dV * (2.0 * np.pi) * r
            hoop = N[None, :, :] / r[:, :, None]
        elif self.thickness is not None:
            dV = dV * self.thickness[:, None]
        return dN_dx, detJ, dV, hoop

    def divergence(self, elements=None):
        """Volumetric-strain operator d (n_el, n_ip, n_en, dim): ``tr eps = sum d_ai u_ai``
        (dN_a/dx_i, plus N_a / r on u_r for axisymmetric elements)."""
        sel = slice(None) if elements is None else elements
        d = np.array(self.dN_dx[sel], copy=True)
        if self.hoop is not None:
            d[..., 0] += self.hoop[sel]
        return d

    def _bbar_correction(self, elements=None):
        """(n_el, n_ip, n_en, dim) ``(dbar - d) / 3`` of B-bar elements, else None."""
        if self._div_bar is None:
            return None
        sel = slice(None) if elements is None else elements
        return (self._div_bar[sel][:, None] - self.divergence(sel)) / 3.0

    # ------------------------------------------------------------------ helpers
    def __repr__(self):
        return (f"ElementKernel({self.etype.name}, n_elements={self.n_elements}, "
                f"n_ip={self.n_ip}, dim={self.dim})")

    @property
    def n_dofs_per_element(self) -> int:
        return self.n_en * self.dim

    def _chunks(self, per_element):
        step = max(1, _CHUNK_VALUES // max(1, per_element))
        for a in range(0, self.n_elements, step):
            yield slice(a, min(a + step, self.n_elements))

    def _n_dofs(self, n_dofs):
        n = self.n_nodes * self.dim
        if n_dofs is None:
            return n
        if int(n_dofs) < n:
            raise InputError(f"n_dofs = {n_dofs} is smaller than n_nodes*dim = {n}")
        return int(n_dofs)

    def _scatter(self, fe, n_dofs):
        """Sum element vectors fe (n_el, n_en, dim) into a global (n_dofs,) vector."""
        return np.bincount(self.element_dofs().ravel(), weights=fe.ravel(),
                           minlength=self._n_dofs(n_dofs))

    def _field(self, a, shape, name):
        a = np.asarray(a, dtype=np.float64)
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise InputError(f"{name} must be broadcastable to {shape}, got shape {a.shape}") from None

    # ------------------------------------------------------------------ DOFs
    def element_dofs(self):
        """(n_el, n_en*dim) global DOF numbers, node-major (dof = node*dim + component)."""
        if self._dofs is None:
            dofs = self.connectivity[:, :, None] * self.dim + np.arange(self.dim)[None, None, :]
            self._dofs = dofs.reshape(self.n_elements, self.n_en * self.dim)
        return self._dofs

    # ------------------------------------------------------------------ kinematics
    def B(self, elements=None):
        """Mandel strain-displacement operator (n_el, n_ip, 6, n_en*dim) [1/L].

        ``eps_mandel = B @ u_e`` with u_e the element DOFs in ``element_dofs`` order.
        ``elements`` (slice or index array) restricts to some elements.
        """
        sel = slice(None) if elements is None else elements
        g = self.dN_dx[sel]  # (e, q, a, d)
        n = g.shape[0]
        B = np.zeros((n, self.n_ip, 6, self.n_en, self.dim))
        r = _INV_SQRT2
        B[:, :, 0, :, 0] = g[..., 0]
        B[:, :, 1, :, 1] = g[..., 1]
        B[:, :, 3, :, 0] = r * g[..., 1]
        B[:, :, 3, :, 1] = r * g[..., 0]
        if self.dim == 3:
            B[:, :, 2, :, 2] = g[..., 2]
            B[:, :, 4, :, 1] = r * g[..., 2]
            B[:, :, 4, :, 2] = r * g[..., 1]
            B[:, :, 5, :, 2] = r * g[..., 0]
            B[:, :, 5, :, 0] = r * g[..., 2]
        elif self.hoop is not None:
            B[:, :, 2, :, 0] = self.hoop[sel]
        c = self._bbar_correction(sel)
        if c is not None:
            B[:, :, :3] += c[:, :, None]
        return B.reshape(n, self.n_ip, 6, self.n_en * self.dim)

    def _element_values(self, U, name="U"):
        U = np.asarray(U, dtype=np.float64)
        if U.ndim == 1 and U.size == self.n_nodes * self.dim:
            U = U.reshape(self.n_nodes, self.dim)
        if U.shape != (self.n_nodes, self.dim):
            raise InputError(f"{name} must be ({self.n_nodes}, {self.dim}) or "
                             f"({self.n_nodes * self.dim},), got shape {U.shape}")
        return U[self.connectivity]  # (e, a, i)

    def gradient(self, U):
        """Displacement gradient H_ij = du_i/dx_j at the ips: U (n_nodes, dim) -> (n_el, n_ip, dim, dim)."""
        ue = self._element_values(U)
        return np.einsum("eai,eqaj->eqij", ue, self.dN_dx, optimize=True)

    def strain(self, U):
        """Small strain at the ips, Mandel: U (n_nodes, dim) [L] -> (n_el, n_ip, 6) [-]
        (axisymmetric: with the hoop strain e33 = u_r / r)."""
        return self.element_strain(self._element_values(U)[..., None])[..., 0]

    def element_strain(self, ue, elements=None):
        """Mandel strains of several element fields at once: ue (n_sel, n_en, dim, k)
        element nodal values [L] -> (n_sel, n_ip, 6, k) [-] (hoop strain included).
        ``elements`` (slice or index array) selects the elements ue belongs to."""
        sel = slice(None) if elements is None else elements
        g = self.dN_dx[sel]
        d = self.dim
        H = np.einsum("eqaj,eaik->eqijk", g, ue, optimize=True)          # (e, q, i, j, k)
        e, q, k = H.shape[0], H.shape[1], H.shape[-1]
        eps = np.einsum("eqmk,mc->eqck", H.reshape(e, q, d * d, k), _GRAD_TO_MANDEL[d], optimize=True)
        if self.hoop is not None:
            eps[:, :, 2, :] += np.einsum("eqa,eak->eqk", self.hoop[sel], ue[:, :, 0, :], optimize=True)
        c = self._bbar_correction(sel)
        if c is not None:
            eps[:, :, :3, :] += np.einsum("eqai,eaik->eqk", c, ue, optimize=True)[:, :, None, :]
        return eps

    def interpolate(self, nodal):
        """Nodal values (n_nodes,) or (n_nodes, k) -> values at ips (n_el, n_ip) or (n_el, n_ip, k)."""
        v = np.asarray(nodal)
        if v.shape[:1] != (self.n_nodes,) or v.ndim > 2:
            raise InputError(f"nodal values must be ({self.n_nodes},) or ({self.n_nodes}, k), "
                             f"got shape {v.shape}")
        ve = v[self.connectivity]
        if v.ndim == 1:
            return ve @ self.N.T
        return np.matmul(self.N, ve)

    def ip_coordinates(self):
        """Physical coordinates of the integration points (n_el, n_ip, dim) [L]."""
        return self.interpolate(self.coordinates)

    def volume(self) -> float:
        """Total volume [L^3] (area x thickness in 2D plane, revolved volume axisymmetric)."""
        return float(self.dV.sum())

    # ------------------------------------------------------------------ vectors
    def internal_forces(self, stress, n_dofs=None):
        """Assembled sum_e sum_ip B^T sigma dV: stress (n_el, n_ip, 6) Mandel [F/L^2] -> (n_dofs,) [F].

        ``n_dofs`` defaults to n_nodes*dim."""
        s = self._field(stress, (self.n_elements, self.n_ip, 6), "stress")
        d = self.dim
        S = (s.reshape(-1, 6) @ _GRAD_TO_MANDEL[d].T).reshape(self.n_elements, self.n_ip, d, d)
        S *= self.dV[..., None, None]
        fe = np.einsum("eqij,eqaj->eai", S, self.dN_dx, optimize=True)
        if self.hoop is not None:  # hoop stress works on u_r through e33 = u_r / r
            fe[:, :, 0] += np.einsum("eq,eqa->ea", s[..., 2] * self.dV, self.hoop, optimize=True)
        c = self._bbar_correction()
        if c is not None:  # B-bar: + (dbar - d)/3 (s11 + s22 + s33)
            fe += np.einsum("eq,eqai->eai", s[..., :3].sum(axis=-1) * self.dV, c, optimize=True)
        return self._scatter(fe, n_dofs)

    def body_forces(self, f, n_dofs=None):
        """Assembled int N^T f dV: f (n_el, n_ip, dim) force per unit volume [F/L^3]
        (anything broadcastable, e.g. (dim,)) -> (n_dofs,) [F]."""
        f = self._field(f, (self.n_elements, self.n_ip, self.dim), "body force")
        fe = np.matmul(self.N.T, f * self.dV[..., None])  # (e, a, i)
        return self._scatter(fe, n_dofs)

    # ------------------------------------------------------------------ matrices
    def _node_pattern(self):
        """Node-level sparsity of the block, cached: (node_pos (n_el, n_en, n_en) position
        of each element node pair in the node CSR, node_indptr (n_nodes+1,), node_indices).

        Built once with a stable sort of n_el*n_en^2 node-pair keys (1/dim^2 of the DOF
        pairs); DOF patterns follow without sorting."""
        if "nodes" not in self._assembly:
            n, ne = self.n_nodes, self.n_en
            c = self.connectivity
            keys = (c[:, :, None] * n + c[:, None, :]).ravel()
            order = np.argsort(keys, kind="stable")
            sk = keys[order]
            new = np.ones(sk.size, dtype=bool)
            np.not_equal(sk[1:], sk[:-1], out=new[1:])
            uk = sk[new]
            pos = np.empty(order.size, dtype=np.int64)
            pos[order] = np.cumsum(new, dtype=np.int64) - 1
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(uk // n, minlength=n), out=indptr[1:])
            self._assembly["nodes"] = (pos.reshape(self.n_elements, ne, ne), indptr, uk % n)
        return self._assembly["nodes"]

    def _csr_pattern(self, n_dofs):
        """CSR structure (indptr, indices) of the assembled (n_dofs, n_dofs) matrix and the
        position in its data of every element-matrix entry (n_el*nd*nd,), cached per n_dofs.

        DOF rows of node A are ``A*dim + i``; their columns are the node columns of A
        expanded to ``B*dim + j``, hence sorted."""
        key = ("csr", n_dofs)
        if key not in self._assembly:
            d, nn = self.dim, self.n_nodes
            if n_dofs < nn * d:
                raise InputError(f"n_dofs = {n_dofs} is smaller than n_nodes*dim = {nn * d}")
            npos, nptr, nind = self._node_pattern()
            nnz = d * d * int(nptr[-1])
            it = np.int32 if max(nnz, n_dofs) < 2**31 - 1 else np.int64
            length = np.diff(nptr)                       # entries per node row
            ar = np.arange(d)
            # DOF row A*d+i starts at d*d*nptr[A] + i*d*len[A]; its columns are the node
            # columns B of row A expanded to B*d + j (sorted)
            indptr = np.full(n_dofs + 1, nnz, dtype=it)
            indptr[:nn * d] = (d * d * nptr[:-1, None] + ar[None, :] * d * length[:, None]).ravel()
            row_of = np.repeat(np.arange(nn), length)    # node row of each node entry
            rank = np.arange(nind.size) - nptr[row_of]   # rank of the entry in its row
            start = (d * d * nptr[row_of])[:, None] + ar[None, :] * (d * length[row_of])[:, None]
            tgt = start[:, :, None] + (rank * d)[:, None, None] + ar[None, None, :]  # (k, i, j)
            indices = np.empty(nnz, dtype=it)
            indices[tgt.ravel()] = np.broadcast_to((nind[:, None] * d + ar)[:, None, :], tgt.shape).ravel()
            # element entry (e, a, i, b, j) -> data position
            A = self.connectivity                        # (e, a)
            rank_d = ((npos - nptr[A][:, :, None]) * d).astype(it)                # (e, a, b)
            row0 = (d * d * nptr[A][:, :, None] + ar * (d * length[A])[:, :, None]).astype(it)
            pos = np.empty((self.n_elements, self.n_en, d, self.n_en, d), dtype=it)
            np.add(row0[:, :, :, None, None], rank_d[:, :, None, :, None], out=pos)
            pos += ar.astype(it)
            self._assembly[key] = (pos.ravel(), indptr, indices)
        return self._assembly[key]

    def element_stiffness(self, tangent):
        """Element matrices sum_ip B^T D B dV: tangent (n_el, n_ip, 6, 6) Mandel [F/L^2]
        -> (n_el, n_en*dim, n_en*dim) [F/L]."""
        D = self._field(tangent, (self.n_elements, self.n_ip, 6, 6), "tangent")
        nd = self.n_dofs_per_element
        # 2D: e23 = e31 = 0, and e33 = 0 from u except the axisymmetric hoop strain and B-bar
        rows = slice(None) if self.dim == 3 else (
            [0, 1, 2, 3] if (self.hoop is not None or self._div_bar is not None) else [0, 1, 3])
        Ke = np.empty((self.n_elements, nd, nd))
        for sl in self._chunks(self.n_ip * 6 * nd * 2):
            Bc = self.B(sl)[:, :, rows]                                   # (c, q, r, nd)
            Dc = D[sl][:, :, rows][:, :, :, rows] * self.dV[sl][:, :, None, None]
            DB = np.matmul(Dc, Bc)                                         # (c, q, r, nd)
            c = Bc.shape[0]
            Ke[sl] = np.matmul(Bc.reshape(c, -1, nd).transpose(0, 2, 1), DB.reshape(c, -1, nd))
        return Ke

    def assemble(self, Ke, n_dofs=None):
        """Sparse (n_dofs, n_dofs) CSR sum of element matrices Ke (n_el, nd, nd) given in
        ``element_dofs`` order (sorted indices, duplicates summed).

        The first call for a given n_dofs builds the sparsity pattern (a stable sort of
        the COO indices, like coo -> csr); later calls only sum values with bincount."""
        n = self._n_dofs(n_dofs)
        nd = self.n_dofs_per_element
        Ke = np.asarray(Ke, dtype=np.float64)
        if Ke.shape != (self.n_elements, nd, nd):
            raise InputError(f"element matrices must be ({self.n_elements}, {nd}, {nd}), got {Ke.shape}")
        pos, indptr, indices = self._csr_pattern(n)
        data = np.bincount(pos, weights=Ke.ravel(), minlength=indices.size)
        return sp.csr_matrix((data, indices.copy(), indptr.copy()), shape=(n, n))

    def stiffness(self, tangent, n_dofs=None):
        """Assembled stiffness sum B^T D B dV: tangent (n_el, n_ip, 6, 6) Mandel [F/L^2]
        -> scipy.sparse.csr_matrix (n_dofs, n_dofs) [F/L]."""
        return self.assemble(self.element_stiffness(tangent), n_dofs)

    def _mass_geometry(self):
        if self._mass_dV is None:
            pts, w = self.etype.mass_quadrature
            _, _, dV, _ = self._geometry(self.coordinates[self.connectivity], pts, w)
            self._mass_dV = (self.etype.shape(pts), dV)
        return self._mass_dV

    def mass_matrix(self, n_comp=None, density=None):
        """Consistent L2 mass int rho N_i N_j dV, with the element's ``mass_quadrature``
        (dV with the thickness / 2 pi r of the formulation).

        n_comp : components per node (default ``dim``); DOFs node-major, node*n_comp + c.
        density : None (1), scalar or (n_el,) [M/L^3].
        Returns scipy.sparse.csr_matrix (n_nodes*n_comp, n_nodes*n_comp) [M].
        """
        n_comp = self.dim if n_comp is None else int(n_comp)
        if n_comp < 1:
            raise InputError(f"n_comp must be >= 1, got {n_comp}")
        Nm, dV = self._mass_geometry()
        if density is not None:
            rho = np.asarray(density, dtype=np.float64)
            if rho.ndim == 0:
                dV = dV * rho
            elif rho.shape == (self.n_elements,):
                dV = dV * rho[:, None]
            else:
                raise InputError(f"density must be a scalar or ({self.n_elements},), got shape {rho.shape}")
        Me = np.matmul((dV[:, :, None] * Nm[None]).transpose(0, 2, 1), Nm)  # (e, a, b)
        npos, nptr, nind = self._node_pattern()
        data = np.bincount(npos.ravel(), weights=Me.ravel(), minlength=nind.size)
        M = sp.csr_matrix((data, nind.copy(), nptr.copy()), shape=(self.n_nodes, self.n_nodes))
        if n_comp > 1:
            M = sp.kron(M, sp.identity(n_comp, format="csr"), format="csr")
        return M
