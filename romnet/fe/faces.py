"""Boundary faces: surface integrals (pressure, tractions) and boundary-face extraction.

Face types t3, t6, q4, q8 live in 3D space, l2, l3 (edges of 2D elements) in 2D space
where the "area" is length times unit thickness. The unit normal at a point is the
right-hand-rule normal of the face node order: ``dx/ds1 x dx/ds2`` in 3D, the tangent
``dx/ds`` rotated clockwise, ``(t_y, -t_x)``, in 2D. Faces returned by
:func:`faces_of_elements` / :func:`boundary_faces` are ordered so this normal points
out of the element.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError, UnsupportedError
from .elements import get_element_type
from .kernel import _check_connectivity

__all__ = ["FaceKernel", "faces_of_elements", "boundary_faces", "is_axisymmetric", "face_thickness"]


def is_axisymmetric(etypes) -> bool:
    """True when the element types (names of a mesh's blocks) are axisymmetric (cax*), so
    that the mesh's faces integrate over the circumference (``FaceKernel(...,
    axisymmetric=True)``); a mesh mixing axisymmetric and other elements is refused."""
    kinds = {get_element_type(t).kinematics == "axisymmetric" for t in etypes}
    if len(kinds) > 1:
        raise UnsupportedError("a mesh mixing axisymmetric (CAX*) and other elements is not supported")
    return kinds == {True}


class FaceKernel:
    """Geometry of a set of faces of one type.

    Parameters
    ----------
    face_type : 't3', 't6', 'q4', 'q8' (3D) or 'l2', 'l3' (2D), or an ElementType.
    coordinates : (n_nodes, dim) nodal coordinates, dim = face reference dim + 1.
    face_connectivity : (n_f, n_fn) 0-based node indices in face node order.
    quadrature : optional (points, weights); default the face type's ``load_quadrature``
        (its ``mass_quadrature``, exact for nodal-interpolated pressure times N on flat
        faces; q4r / q8r: the 1 / 2x2 points CalculiX uses on C3D8R / C3D20R faces).
    axisymmetric : edges (l2, l3) of axisymmetric elements: coordinates are (r, z) and
        ``dA`` is the area swept over the full circumference, ``2 pi r ds``.
    thickness : edges of plane (strain/stress) elements: None (1), a scalar or (n_f,) the
        section thickness of the element each edge bounds (:func:`face_thickness`).

    Attributes
    ----------
    n_faces, n_ip, dim, N (n_ip, n_fn), dA (n_f, n_ip) [L^2; 2D: L x unit thickness, or
    2 pi r x L axisymmetric],
    normals (n_f, n_ip, dim) unit outward normals.
    """

    def __init__(self, face_type, coordinates, face_connectivity, quadrature=None, axisymmetric=False,
                 thickness=None):
        self.ftype = get_element_type(face_type)
        if self.ftype.family not in ("tri", "quad", "line"):
            raise UnsupportedError(f"'{self.ftype.name}' is not a face type (t3 t6 q4 q8 l2 l3)")
        X = np.asarray(coordinates, dtype=np.float64)
        self.dim = self.ftype.dim + 1
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise InputError(f"'{self.ftype.name}' faces need {self.dim}-dimensional coordinates, "
                             f"got coordinates of shape {X.shape}")
        self.coordinates = X
        self.n_nodes = X.shape[0]
        self.connectivity = _check_connectivity(face_connectivity, self.ftype.n_nodes,
                                                self.n_nodes, what="face")
        self.n_faces = self.connectivity.shape[0]
        self.n_fn = self.ftype.n_nodes
        pts, w = self.ftype.load_quadrature if quadrature is None else quadrature
        pts = np.asarray(pts, dtype=float).reshape(-1, self.ftype.dim)
        w = np.asarray(w, dtype=float).ravel()
        self.n_ip = w.shape[0]
        self.N = self.ftype.shape(pts)
        dN = self.ftype.shape_derivatives(pts)
        T = np.einsum("fad,qak->fqdk", X[self.connectivity], dN, optimize=True)  # dx_d/ds_k
        if self.dim == 3:
            c = np.cross(T[..., 0], T[..., 1])
        else:
            c = np.stack([T[..., 1, 0], -T[..., 0, 0]], axis=-1)
        jac = np.linalg.norm(c, axis=-1)
        bad = ~(jac > 0.0)
        if bad.any():
            i = int(np.flatnonzero(bad.any(axis=1))[0])
            raise InputError(f"face {i}: degenerate face (zero area element)")
        self.normals = c / jac[..., None]
        self.dA = jac * w[None, :]
        if axisymmetric:
            if self.dim != 2:
                raise InputError(f"axisymmetric faces are edges (l2, l3), not '{self.ftype.name}'")
            self.dA = self.dA * (2.0 * np.pi) * (self.N @ X[self.connectivity][:, :, 0].T).T
        if thickness is not None:
            t = np.broadcast_to(np.asarray(thickness, dtype=float), (self.n_faces,))
            self.dA = self.dA * t[:, None]

    def __repr__(self):
        return f"FaceKernel({self.ftype.name}, n_faces={self.n_faces}, n_ip={self.n_ip}, dim={self.dim})"

    def area(self) -> float:
        """Total area [L^2] (length x unit thickness in 2D)."""
        return float(self.dA.sum())

    def ip_coordinates(self):
        """(n_f, n_ip, dim) physical coordinates of the face integration points."""
        return np.matmul(self.N, self.coordinates[self.connectivity])

    def face_dofs(self):
        """(n_f, n_fn*dim) global DOFs, node-major."""
        dofs = self.connectivity[:, :, None] * self.dim + np.arange(self.dim)
        return dofs.reshape(self.n_faces, self.n_fn * self.dim)

    def _scatter(self, fe, n_dofs):
        n = self.n_nodes * self.dim if n_dofs is None else int(n_dofs)
        return np.bincount(self.face_dofs().ravel(), weights=fe.ravel(), minlength=n)

    def pressure_at_ips(self, pressure):
        """Pressure scalar, (n_f,) per face or (n_f, n_fn) nodal -> (n_f, n_ip)."""
        p = np.asarray(pressure, dtype=np.float64)
        if p.ndim == 0:
            return np.full((self.n_faces, self.n_ip), float(p))
        if p.shape == (self.n_faces,):
            return np.repeat(p[:, None], self.n_ip, axis=1)
        if p.shape == (self.n_faces, self.n_fn):
            return p @ self.N.T
        raise InputError(f"pressure must be a scalar, ({self.n_faces},) or ({self.n_faces}, "
                         f"{self.n_fn}), got shape {p.shape}")

    def pressure_forces(self, pressure, n_dofs=None):
        """Nodal forces f = -int p n N dA [F] of a pressure [F/L^2] (positive pushes against
        the outward normal). pressure: scalar, (n_f,) or (n_f, n_fn) nodal. -> (n_dofs,)."""
        p = self.pressure_at_ips(pressure)
        t = -(p * self.dA)[..., None] * self.normals  # (f, q, i)
        return self._scatter(np.matmul(self.N.T, t), n_dofs)

    def traction_forces(self, traction, n_dofs=None):
        """Nodal forces int N t dA [F] of a traction t [F/L^2], (n_f, n_ip, dim) or
        broadcastable (e.g. (dim,)). -> (n_dofs,)."""
        t = np.asarray(traction, dtype=np.float64)
        try:
            t = np.broadcast_to(t, (self.n_faces, self.n_ip, self.dim))
        except ValueError:
            raise InputError(f"traction must be broadcastable to ({self.n_faces}, {self.n_ip}, "
                             f"{self.dim}), got shape {t.shape}") from None
        return self._scatter(np.matmul(self.N.T, t * self.dA[..., None]), n_dofs)


def face_thickness(blocks, face_connectivity, element_thickness):
    """(n_f,) section thickness of the element that each edge of a 2D mesh bounds.

    blocks : [(etype, connectivity), ...] of the mesh (global element numbers run over the
        blocks in order); face_connectivity : (n_f, n_fn) edges (l2/l3; matched on their two
        end nodes); element_thickness : (n_elements,) (:func:`romnet.sections.element_thickness`).
    Raises InputError for an edge that bounds no element."""
    conn_f = np.asarray(face_connectivity, dtype=np.int64)
    t_el = np.asarray(element_thickness, dtype=float)
    keys, owner = [], []
    offset = 0
    for etype, conn in blocks:
        et = get_element_type(etype)
        conn = np.asarray(conn, dtype=np.int64)
        for _, nodes in et.faces:
            ends = np.sort(conn[:, list(nodes[:2])], axis=1)
            keys.append(ends)
            owner.append(np.arange(offset, offset + conn.shape[0]))
        offset += conn.shape[0]
    if not keys or conn_f.size == 0:
        return np.ones(conn_f.shape[0])
    n = int(max(conn_f.max(), max(k.max() for k in keys))) + 1
    k_all = np.concatenate([k[:, 0] * n + k[:, 1] for k in keys])
    own = np.concatenate(owner)
    order = np.argsort(k_all, kind="stable")
    k_sorted = k_all[order]
    ends = np.sort(conn_f[:, :2], axis=1)
    q = ends[:, 0] * n + ends[:, 1]
    pos = np.clip(np.searchsorted(k_sorted, q), 0, k_sorted.size - 1)
    bad = k_sorted[pos] != q
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"face {i} (nodes {conn_f[i].tolist()}) is not an edge of any element")
    return t_el[own[order[pos]]]


def faces_of_elements(etype, connectivity):
    """Faces of every element: list, in local face order (S1, S2, ...), of
    (face_type_name, (n_el, n_fn) node indices) with outward right-hand normals."""
    et = get_element_type(etype)
    return et.face_connectivity(np.asarray(connectivity, dtype=np.int64))


def boundary_faces(blocks):
    """Faces that belong to exactly one element.

    blocks : iterable of (etype, connectivity) pairs (element blocks of one mesh; global
        element numbers run over the blocks in order).
    Returns {face_type: {'nodes': (n_bf, n_fn), 'element': (n_bf,), 'face': (n_bf,)}}
    with the local face number in 'face' (0-based S1, S2, ...), outward normals.
    Faces are matched on their corner nodes.
    """
    by_corners = {}  # n_corners -> list of (face_type, nodes, element, local face)
    offset = 0
    for etype, conn in blocks:
        et = get_element_type(etype)
        conn = np.asarray(conn, dtype=np.int64)
        n_el = conn.shape[0]
        for k, (ft, nodes) in enumerate(et.faces):
            nc = get_element_type(ft).n_corners
            by_corners.setdefault(nc, []).append(
                (ft, conn[:, list(nodes)], np.arange(offset, offset + n_el), np.full(n_el, k)))
        offset += n_el
    out = {}
    for nc, groups in by_corners.items():
        keys = np.sort(np.concatenate([g[1][:, :nc] for g in groups]), axis=1)
        if keys.shape[0] == 0:
            continue
        _, inv, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        once = counts[inv.ravel()] == 1
        start = 0
        for ft, nodes, el, lf in groups:
            m = once[start:start + nodes.shape[0]]
            start += nodes.shape[0]
            if not m.any():
                continue
            d = out.setdefault(ft, {"nodes": [], "element": [], "face": []})
            d["nodes"].append(nodes[m])
            d["element"].append(el[m])
            d["face"].append(lf[m])
    return {ft: {k: np.concatenate(v) for k, v in d.items()} for ft, d in out.items()}
