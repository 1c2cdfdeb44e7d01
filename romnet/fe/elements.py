"""Reference elements: node orders, shape functions, quadrature rules and faces.

Node orders are the Abaqus/CalculiX ones; reference cells, integration-point orders and
face numbering are listed in ``docs/conventions.md``.

Solid types carry their **formulation** (``ElementType.kinematics``): ``solid`` (3D),
``plane_strain`` (cpe*), ``plane_stress`` (cps*: sigma33 = 0, solved at each point by
:class:`romnet.fe.plane_stress.PlaneStressLaw`) or ``axisymmetric`` (cax*: r = x1,
z = x2, hoop strain e33 = u_r / r, integrals over the full circumference 2 pi r). Reduced-
integration variants (``...r``) share the topology (``base``) and faces of their full type;
``c3d8r``/``cpe4r``/``cps4r``/``cax4r`` are uniform-strain elements (``mean_strain``: one
point, the volume-averaged gradient operator) with Flanagan-Belytschko hourglass control
(``hourglass``), the others use the lower Gauss rule (``docs/conventions.md``).

Shape functions are the unique interpolants of the element's polynomial space
(Lagrange for lines, triangles, tetrahedra and linear wedges/quads/hexes; serendipity
for q8/cpe8/c3d20 and the 15-node wedge) through the reference nodes. They are built
once per type by inverting the (small, well conditioned) Vandermonde matrix of the
monomial basis at the nodes, and evaluated for any set of reference points at once.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from . import quadrature as q

__all__ = ["ElementType", "ELEMENT_TYPES", "get_element_type", "SOLID_TYPES", "REDUCED_TYPES",
           "PLANE_STRESS_TYPES", "AXISYMMETRIC_TYPES"]


class ElementType:
    """One reference element.

    Attributes
    ----------
    name : lower-case type name ('c3d8', 'cpe4', 't6', ...).
    family : 'hex', 'tet', 'wedge', 'quad', 'tri' or 'line'.
    dim : reference dimension.
    n_nodes : nodes per element; ``n_corners`` : vertex nodes (the first ones).
    reference_nodes : (n_nodes, dim) node coordinates in the reference cell.
    quadrature : (points (n_ip, dim), weights (n_ip,)) full integration rule.
    mass_quadrature : (points, weights) exact for N_i N_j on the undistorted element.
    load_quadrature : (points, weights) with which :class:`romnet.fe.FaceKernel` integrates
        loads on faces of this type (the mass rule, except q4r / q8r: CalculiX' lower rules).
    faces : list of (face_type_name, local node tuple), outward right-hand-rule normals.
    edges : list of corner pairs (i, j) (0-based) in the order of the mid-edge nodes,
        empty for linear elements.
    kinematics : 'solid', 'plane_strain', 'plane_stress', 'axisymmetric' (solid elements)
        or None (faces, lines).
    base : name of the type with the same nodes, shape functions and faces and the full
        integration rule (itself for full-integration types), e.g. 'cpe4' for 'cps4r'.
    mean_strain : True for uniform-strain elements: one integration point (the centroid)
        whose gradient operator is the volume average of the ``geometry_quadrature`` one.
    geometry_quadrature : rule that integrates the volume and the averaged gradient
        operator exactly (the full rule) for mean-strain elements, else None.
    hourglass : None or 'flanagan_belytschko' (hourglass stiffness, ``romnet.fe.hourglass``).
    bbar : True for the selectively reduced first-order elements of Abaqus (c3d8_bbar,
        cpe4_bbar, cax4_bbar): the volumetric strain at each point is replaced by its
        element mean (B-bar, mean dilatation).
    """

    def __init__(self, name, family, reference_nodes, monomials, quadrature,
                 mass_quadrature, faces=(), n_corners=None, edges=(), kinematics=None,
                 base=None, mean_strain=False, geometry_quadrature=None, hourglass=None):
        self.name = name
        self.family = family
        self.kinematics = kinematics
        self.base = base or name
        self.mean_strain = bool(mean_strain)
        self.geometry_quadrature = (None if geometry_quadrature is None else
                                    tuple(np.asarray(a, dtype=float) for a in geometry_quadrature))
        self.hourglass = hourglass
        self.bbar = False
        self.reference_nodes = np.asarray(reference_nodes, dtype=float)
        self.n_nodes, self.dim = self.reference_nodes.shape
        self.n_corners = self.n_nodes if n_corners is None else n_corners
        self.edges = [tuple(e) for e in edges]
        self.quadrature = tuple(np.asarray(a, dtype=float) for a in quadrature)
        self.mass_quadrature = tuple(np.asarray(a, dtype=float) for a in mass_quadrature)
        self.load_quadrature = self.mass_quadrature
        self.faces = [(ft, tuple(int(i) for i in nodes)) for ft, nodes in faces]
        self._exponents = np.asarray(monomials, dtype=np.int64).reshape(-1, self.dim)
        if self._exponents.shape[0] != self.n_nodes:
            raise ValueError(f"{name}: {self._exponents.shape[0]} monomials for {self.n_nodes} nodes")
        vander = self._monomials(self.reference_nodes)
        self._coef = np.linalg.inv(vander)  # (n_monomials, n_nodes)
        self._coef[np.abs(self._coef) < 1e-13] = 0.0

    def __repr__(self):
        return f"ElementType('{self.name}', {self.family}, n_nodes={self.n_nodes}, n_ip={self.n_ip})"

    @property
    def n_ip(self) -> int:
        """Number of points of the full integration rule."""
        return self.quadrature[1].shape[0]

    def _points(self, xi):
        xi = np.asarray(xi, dtype=float)
        if xi.ndim == 1:
            xi = xi.reshape(-1, self.dim) if self.dim > 1 else xi[:, None]
        if xi.shape[-1] != self.dim:
            raise ValueError(f"{self.name}: reference points must be (n_pts, {self.dim}), got {xi.shape}")
        return xi

    def _monomials(self, xi):
        # (n_pts, n_mono): prod_d xi_d ** e_kd
        return np.prod(xi[:, None, :] ** self._exponents[None, :, :], axis=2)

    def shape(self, xi):
        """Shape functions at reference points xi (n_pts, dim) -> (n_pts, n_nodes)."""
        return self._monomials(self._points(xi)) @ self._coef

    def shape_derivatives(self, xi):
        """dN/dxi at reference points xi (n_pts, dim) -> (n_pts, n_nodes, dim)."""
        xi = self._points(xi)
        e = self._exponents
        pw = xi[:, None, :] ** e[None, :, :]                       # (p, m, d)
        dpw = e[None] * xi[:, None, :] ** np.maximum(e - 1, 0)[None]  # d/dxi_d of xi_d^e
        out = np.empty((xi.shape[0], self.n_nodes, self.dim))
        for d in range(self.dim):  # loop over reference directions only
            f = pw.copy()
            f[:, :, d] = dpw[:, :, d]
            out[:, :, d] = np.prod(f, axis=2) @ self._coef
        return out

    def variant(self, name, kinematics, reduced=None, bbar=False):
        """Same nodes, shape functions, faces and mass rule under another formulation.

        reduced : None (same integration rule), 'gauss' (the Gauss rule one order lower:
            2x2x2 for c3d20, 2x2 for q8) or 'mean_strain' (one centroid point, averaged
            gradient operator over the full rule, hourglass control).
        bbar : element-mean volumetric strain (B-bar)."""
        quad, geo, hg = self.quadrature, None, None
        if reduced == "gauss":
            if self.family not in ("quad", "hex"):
                raise ValueError(f"{name}: no lower Gauss rule for {self.name}")
            quad = q.tensor_rule(round(self.quadrature[1].size ** (1.0 / self.dim)) - 1, self.dim)
        elif reduced == "mean_strain":
            c = self.reference_nodes[:self.n_corners].mean(axis=0)
            quad = (c[None, :], np.array([self.quadrature[1].sum()]))
            geo, hg = self.quadrature, "flanagan_belytschko"
        elif reduced is not None:
            raise ValueError(f"unknown reduction {reduced!r}")
        et = ElementType.__new__(ElementType)
        et.__dict__.update(self.__dict__)
        et.name, et.kinematics, et.base = name, kinematics, self.base
        et.quadrature, et.mean_strain, et.geometry_quadrature, et.hourglass = quad, geo is not None, geo, hg
        et.bbar = bool(bbar)
        return et

    def face_connectivity(self, connectivity):
        """Per local face: list of (face_type_name, (n_el, n_fn) node indices)."""
        conn = np.asarray(connectivity)
        return [(ft, conn[:, list(nodes)]) for ft, nodes in self.faces]


# ----------------------------------------------------------------- reference geometry
_LINE = [[-1.0], [1.0]]
_TRI = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
_QUAD = [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]
_TET = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
_WEDGE = [[0.0, 0.0, -1.0], [1.0, 0.0, -1.0], [0.0, 1.0, -1.0],
          [0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
_HEX = [[-1.0, -1.0, -1.0], [1.0, -1.0, -1.0], [1.0, 1.0, -1.0], [-1.0, 1.0, -1.0],
        [-1.0, -1.0, 1.0], [1.0, -1.0, 1.0], [1.0, 1.0, 1.0], [-1.0, 1.0, 1.0]]

# edges (corner pairs, 0-based) in mid-node order
_TRI_EDGES = [(0, 1), (1, 2), (2, 0)]
_QUAD_EDGES = [(0, 1), (1, 2), (2, 3), (3, 0)]
_TET_EDGES = [(0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3)]
_WEDGE_EDGES = [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3), (0, 3), (1, 4), (2, 5)]
_HEX_EDGES = [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4),
              (0, 4), (1, 5), (2, 6), (3, 7)]

# faces as corner tuples (0-based), outward right-hand normal, numbered like Abaqus/CalculiX
# S1, S2, ... (edges of 2D elements likewise)
_TRI_FACES = [(0, 1), (1, 2), (2, 0)]
_QUAD_FACES = [(0, 1), (1, 2), (2, 3), (3, 0)]
_TET_FACES = [(0, 2, 1), (0, 1, 3), (1, 2, 3), (2, 0, 3)]
_WEDGE_FACES = [(0, 2, 1), (3, 4, 5), (0, 1, 4, 3), (1, 2, 5, 4), (2, 0, 3, 5)]
_HEX_FACES = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)]


def _with_midnodes(corners, edges):
    corners = np.asarray(corners, dtype=float)
    mids = np.array([(corners[i] + corners[j]) / 2.0 for i, j in edges])
    return np.concatenate([corners, mids])


def _face_list(corner_faces, edges=None):
    """Face (type, nodes) list; quadratic faces get their mid-edge nodes appended."""
    out = []
    n_corners = 1 + max(max(f) for f in corner_faces)
    for f in corner_faces:
        n = len(f)
        if edges is None:
            ft = {2: "l2", 3: "t3", 4: "q4"}[n]
            out.append((ft, tuple(f)))
            continue
        lookup = {}
        for k, (i, j) in enumerate(edges):
            lookup[(i, j)] = lookup[(j, i)] = n_corners + k
        if n == 2:
            out.append(("l3", (f[0], f[1], lookup[(f[0], f[1])])))
        else:
            mids = tuple(lookup[(f[k], f[(k + 1) % n])] for k in range(n))
            out.append(({3: "t6", 4: "q8"}[n], tuple(f) + mids))
    return out


def _poly(*exps):
    return [tuple(e) for e in exps]


# monomial exponent sets (polynomial spaces)
_M_L2 = _poly((0,), (1,))
_M_L3 = _M_L2 + _poly((2,))
_M_T3 = _poly((0, 0), (1, 0), (0, 1))
_M_T6 = _M_T3 + _poly((2, 0), (1, 1), (0, 2))
_M_Q4 = _M_T3 + _poly((1, 1))
_M_Q8 = _M_Q4 + _poly((2, 0), (0, 2), (2, 1), (1, 2))
_M_TET4 = _poly((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1))
_M_TET10 = _M_TET4 + _poly((2, 0, 0), (0, 2, 0), (0, 0, 2), (1, 1, 0), (0, 1, 1), (1, 0, 1))
_M_W6 = [(a, b, c) for c in (0, 1) for a, b in _M_T3]
_M_W15 = [(a, b, c) for c in (0, 1) for a, b in _M_T6] + [(a, b, 2) for a, b in _M_T3]
_M_H8 = [(a, b, c) for c in (0, 1) for b in (0, 1) for a in (0, 1)]
_M_H20 = (_M_H8 + _poly((2, 0, 0), (0, 2, 0), (0, 0, 2),
                        (2, 1, 0), (2, 0, 1), (1, 2, 0), (0, 2, 1), (1, 0, 2), (0, 1, 2),
                        (2, 1, 1), (1, 2, 1), (1, 1, 2)))


def _build():
    T = {}

    def add(name, family, corners, edges, mono, quad, mquad, faces):
        nodes = _with_midnodes(corners, edges) if edges else np.asarray(corners, float)
        T[name] = ElementType(name, family, nodes, mono, quad, mquad, faces,
                              n_corners=len(corners), edges=edges)

    # 1D (edges of 2D elements)
    add("l2", "line", _LINE, [], _M_L2, q.line_rule(2), q.line_rule(2), [])
    T["l3"] = ElementType("l3", "line", [[-1.0], [1.0], [0.0]], _M_L3, q.line_rule(3),
                          q.line_rule(3), [], n_corners=2, edges=[(0, 1)])
    # 2D: face types of 3D elements and plane-strain elements
    for names, corners, edges, mono, quad, mquad, cf in (
            (("t3", "cpe3"), _TRI, [], _M_T3, q.triangle_rule(1), q.triangle_rule(3), _TRI_FACES),
            (("t6", "cpe6"), _TRI, _TRI_EDGES, _M_T6, q.triangle_rule(3), q.triangle_rule(7), _TRI_FACES),
            (("q4", "cpe4"), _QUAD, [], _M_Q4, q.quad_rule(2), q.quad_rule(2), _QUAD_FACES),
            (("q8", "cpe8"), _QUAD, _QUAD_EDGES, _M_Q8, q.quad_rule(3), q.quad_rule(3), _QUAD_FACES)):
        family = "tri" if len(corners) == 3 else "quad"
        for name in names:
            add(name, family, corners, edges, mono, quad, mquad, _face_list(cf, edges or None))
    # 3D
    add("c3d4", "tet", _TET, [], _M_TET4, q.tet_rule(1), q.tet_rule(4), _face_list(_TET_FACES))
    add("c3d10", "tet", _TET, _TET_EDGES, _M_TET10, q.tet_rule(4), q.tet_rule(15),
        _face_list(_TET_FACES, _TET_EDGES))
    add("c3d6", "wedge", _WEDGE, [], _M_W6, q.wedge_rule(1, 2), q.wedge_rule(3, 2),
        _face_list(_WEDGE_FACES))
    add("c3d15", "wedge", _WEDGE, _WEDGE_EDGES, _M_W15, q.wedge_rule(3, 3), q.wedge_rule(7, 3),
        _face_list(_WEDGE_FACES, _WEDGE_EDGES))
    add("c3d8", "hex", _HEX, [], _M_H8, q.hex_rule(2), q.hex_rule(2), _face_list(_HEX_FACES))
    add("c3d20", "hex", _HEX, _HEX_EDGES, _M_H20, q.hex_rule(3), q.hex_rule(3),
        _face_list(_HEX_FACES, _HEX_EDGES))
    for name in VOLUME_TYPES:
        T[name].kinematics = "solid"
    for name in PLANE_STRAIN_TYPES:
        T[name].kinematics = "plane_strain"
    # formulation variants (same topology as the full-integration type)
    T["c3d8r"] = T["c3d8"].variant("c3d8r", "solid", "mean_strain")
    T["c3d20r"] = T["c3d20"].variant("c3d20r", "solid", "gauss")
    # faces of CalculiX' reduced hexahedra take their loads with a lower rule (e_c3d.f:
    # mint2d = 1 for C3D8R, 2x2 for C3D20R): face types q4r / q8r
    for face, rule in (("q4", ([[0.0, 0.0]], [4.0])), ("q8", q.quad_rule(2))):
        f = T[face].variant(face + "r", None)
        f.load_quadrature = tuple(np.asarray(a, dtype=float) for a in rule)
        T[face + "r"] = f
    for name, face in (("c3d8r", "q4"), ("c3d20r", "q8")):
        T[name].faces = [(face + "r" if ft == face else ft, nodes) for ft, nodes in T[name].faces]
    for pre, kin in (("cpe", "plane_strain"), ("cps", "plane_stress"), ("cax", "axisymmetric")):
        for n in ("3", "6", "4", "8"):
            if pre != "cpe":
                T[pre + n] = T["cpe" + n].variant(pre + n, kin)
        T[pre + "4r"] = T["cpe4"].variant(pre + "4r", kin, "mean_strain")
        T[pre + "8r"] = T["cpe8"].variant(pre + "8r", kin, "gauss")
    # Abaqus' selectively reduced first-order elements (its C3D8, CPE4, CAX4)
    for name in ("c3d8", "cpe4", "cax4"):
        T[name + "_bbar"] = T[name].variant(name + "_bbar", T[name].kinematics, bbar=True)
    return T


VOLUME_TYPES = ("c3d4", "c3d10", "c3d6", "c3d15", "c3d8", "c3d20")
PLANE_STRAIN_TYPES = ("cpe3", "cpe6", "cpe4", "cpe8")
FACE_TYPES = ("t3", "t6", "q4", "q8", "l2", "l3", "q4r", "q8r")

#: name -> ElementType for every supported type
ELEMENT_TYPES = _build()

#: solid (non-face) element types of each formulation
SOLID_TYPES = tuple(n for n, e in ELEMENT_TYPES.items() if e.kinematics is not None)
REDUCED_TYPES = tuple(n for n, e in ELEMENT_TYPES.items() if e.base != n)
PLANE_STRESS_TYPES = tuple(n for n in SOLID_TYPES if ELEMENT_TYPES[n].kinematics == "plane_stress")
AXISYMMETRIC_TYPES = tuple(n for n in SOLID_TYPES if ELEMENT_TYPES[n].kinematics == "axisymmetric")


def get_element_type(name) -> ElementType:
    """The ElementType called ``name`` (case-insensitive); an ElementType is returned as is."""
    if isinstance(name, ElementType):
        return name
    try:
        return ELEMENT_TYPES[str(name).strip().lower()]
    except KeyError:
        raise UnsupportedError(f"unknown element type '{name}' (supported: "
                               f"{', '.join(ELEMENT_TYPES)})") from None
