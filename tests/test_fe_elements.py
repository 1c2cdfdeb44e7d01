"""Reference elements and quadrature rules of romnet.fe.

Tolerances: shape-function identities 1e-13 (absolute, O(1) values); finite-difference
derivative check 1e-7; quadrature exactness 1e-13 relative to the monomial integral.
"""
from math import factorial

import numpy as np
import pytest

from romnet.errors import UnsupportedError
from romnet.fe import ELEMENT_TYPES, FACE_TYPES, PLANE_STRAIN_TYPES, VOLUME_TYPES, get_element_type
from romnet.fe import quadrature as q

ALL = list(ELEMENT_TYPES)
MEASURE = {"line": 2.0, "quad": 4.0, "hex": 8.0, "tri": 0.5, "tet": 1.0 / 6.0, "wedge": 1.0}


def random_reference_points(et, n=25, seed=0):
    """Random points inside the reference cell of et."""
    rng = np.random.default_rng(seed)
    if et.family in ("line", "quad", "hex"):
        return rng.uniform(-1, 1, (n, et.dim))
    if et.family in ("tri", "tet"):
        p = rng.dirichlet(np.ones(et.dim + 1), n)
        return p[:, 1:]
    tri = rng.dirichlet(np.ones(3), n)[:, 1:]
    return np.concatenate([tri, rng.uniform(-1, 1, (n, 1))], axis=1)


def centroid(et):
    return et.reference_nodes[:et.n_corners].mean(axis=0)


# --------------------------------------------------------------------- lookup
def test_get_element_type_case_insensitive_and_unknown():
    assert get_element_type("C3D20") is ELEMENT_TYPES["c3d20"]
    assert get_element_type(" cpe4 ").name == "cpe4"
    et = ELEMENT_TYPES["c3d8"]
    assert get_element_type(et) is et
    with pytest.raises(UnsupportedError, match="unknown element type 'c3d99'"):
        get_element_type("c3d99")


def test_catalogue():
    expected = {"c3d4": (4, 1, "tet", 3), "c3d10": (10, 4, "tet", 3), "c3d6": (6, 2, "wedge", 3),
                "c3d15": (15, 9, "wedge", 3), "c3d8": (8, 8, "hex", 3), "c3d20": (20, 27, "hex", 3),
                "cpe3": (3, 1, "tri", 2), "cpe6": (6, 3, "tri", 2), "cpe4": (4, 4, "quad", 2),
                "cpe8": (8, 9, "quad", 2), "t3": (3, 1, "tri", 2), "t6": (6, 3, "tri", 2),
                "q4": (4, 4, "quad", 2), "q8": (8, 9, "quad", 2), "l2": (2, 2, "line", 1),
                "l3": (3, 3, "line", 1),
                # formulation variants: plane stress, axisymmetric, reduced integration
                "c3d8r": (8, 1, "hex", 3), "c3d20r": (20, 8, "hex", 3),
                "cpe4r": (4, 1, "quad", 2), "cpe8r": (8, 4, "quad", 2),
                # Abaqus' B-bar first-order elements; faces of reduced hexahedra (own load rule)
                "c3d8_bbar": (8, 8, "hex", 3), "cpe4_bbar": (4, 4, "quad", 2), "cax4_bbar": (4, 4, "quad", 2),
                "q4r": (4, 4, "quad", 2), "q8r": (8, 9, "quad", 2)}
    for pre in ("cps", "cax"):
        expected.update({pre + "3": (3, 1, "tri", 2), pre + "6": (6, 3, "tri", 2),
                         pre + "4": (4, 4, "quad", 2), pre + "8": (8, 9, "quad", 2),
                         pre + "4r": (4, 1, "quad", 2), pre + "8r": (8, 4, "quad", 2)})
    assert set(expected) == set(ELEMENT_TYPES)
    for name, (nn, nip, fam, dim) in expected.items():
        et = ELEMENT_TYPES[name]
        assert (et.n_nodes, et.quadrature[1].size, et.family, et.dim) == (nn, nip, fam, dim), name
        assert et.reference_nodes.shape == (nn, dim)
        assert et.quadrature[0].shape == (nip, dim)


# --------------------------------------------------------------------- shape functions
@pytest.mark.parametrize("name", ALL)
def test_kronecker_partition_of_unity_and_derivative_sum(name):
    et = ELEMENT_TYPES[name]
    np.testing.assert_allclose(et.shape(et.reference_nodes), np.eye(et.n_nodes), atol=1e-13)
    xi = random_reference_points(et)
    N, dN = et.shape(xi), et.shape_derivatives(xi)
    assert N.shape == (xi.shape[0], et.n_nodes) and dN.shape == (xi.shape[0], et.n_nodes, et.dim)
    np.testing.assert_allclose(N.sum(axis=1), 1.0, atol=1e-13)
    np.testing.assert_allclose(dN.sum(axis=1), 0.0, atol=1e-12)
    # linear completeness in reference coordinates: sum_a N_a X_a = xi, sum_a dN_a X_a = I
    np.testing.assert_allclose(N @ et.reference_nodes, xi, atol=1e-13)
    np.testing.assert_allclose(np.einsum("pak,aj->pjk", dN, et.reference_nodes),
                               np.broadcast_to(np.eye(et.dim), dN.shape[:1] + (et.dim, et.dim)),
                               atol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_derivatives_match_finite_differences(name):
    et = ELEMENT_TYPES[name]
    xi = random_reference_points(et, 8, seed=1)
    dN = et.shape_derivatives(xi)
    h = 1e-6
    for k in range(et.dim):
        e = np.zeros(et.dim)
        e[k] = h
        fd = (et.shape(xi + e) - et.shape(xi - e)) / (2 * h)
        np.testing.assert_allclose(dN[:, :, k], fd, atol=1e-7)


def test_against_closed_form_shape_functions():
    """Independent closed forms (textbook formulas) at random points."""
    # c3d20: corner 1 at (-1,-1,-1) and mid-edge node 9 (1-2 edge, xi=0, eta=zeta=-1)
    et = ELEMENT_TYPES["c3d20"]
    x = random_reference_points(et, 10, seed=2)
    s, t, u = x.T
    N = et.shape(x)
    np.testing.assert_allclose(N[:, 0], (1 - s) * (1 - t) * (1 - u) * (-s - t - u - 2) / 8, atol=1e-13)
    np.testing.assert_allclose(N[:, 8], (1 - s * s) * (1 - t) * (1 - u) / 4, atol=1e-13)
    np.testing.assert_allclose(N[:, 16], (1 - u * u) * (1 - s) * (1 - t) / 4, atol=1e-13)  # edge 1-5
    # c3d10: corner 1 and mid-edge 1-4 (node 8)
    et = ELEMENT_TYPES["c3d10"]
    x = random_reference_points(et, 10, seed=3)
    L1 = 1 - x.sum(axis=1)
    N = et.shape(x)
    np.testing.assert_allclose(N[:, 0], L1 * (2 * L1 - 1), atol=1e-13)
    np.testing.assert_allclose(N[:, 7], 4 * L1 * x[:, 2], atol=1e-13)
    # c3d15: corner 1, mid-edge 1-2 (node 7) and vertical mid-edge 1-4 (node 13)
    et = ELEMENT_TYPES["c3d15"]
    x = random_reference_points(et, 10, seed=4)
    L1, z = 1 - x[:, 0] - x[:, 1], x[:, 2]
    N = et.shape(x)
    np.testing.assert_allclose(N[:, 0], 0.5 * L1 * (1 - z) * (2 * L1 - 2 - z), atol=1e-13)
    np.testing.assert_allclose(N[:, 6], 2 * L1 * x[:, 0] * (1 - z), atol=1e-13)
    np.testing.assert_allclose(N[:, 12], L1 * (1 - z * z), atol=1e-13)
    # cpe8 corner 3 at (1, 1) and mid-edge 4-1 (node 8, xi=-1)
    et = ELEMENT_TYPES["cpe8"]
    x = random_reference_points(et, 10, seed=5)
    s, t = x.T
    N = et.shape(x)
    np.testing.assert_allclose(N[:, 2], (1 + s) * (1 + t) * (s + t - 1) / 4, atol=1e-13)
    np.testing.assert_allclose(N[:, 7], (1 - s) * (1 - t * t) / 2, atol=1e-13)
    # l3: end nodes then middle
    et = ELEMENT_TYPES["l3"]
    s = np.linspace(-1, 1, 7)[:, None]
    np.testing.assert_allclose(et.shape(s), np.c_[s * (s - 1) / 2, s * (s + 1) / 2, 1 - s * s], atol=1e-13)


def test_node_orders():
    hex_corners = [(-1, -1, -1), (1, -1, -1), (1, 1, -1), (-1, 1, -1),
                   (-1, -1, 1), (1, -1, 1), (1, 1, 1), (-1, 1, 1)]
    X = ELEMENT_TYPES["c3d20"].reference_nodes
    np.testing.assert_array_equal(X[:8], hex_corners)
    edges = [(1, 2), (2, 3), (3, 4), (4, 1), (5, 6), (6, 7), (7, 8), (8, 5),
             (1, 5), (2, 6), (3, 7), (4, 8)]
    for k, (i, j) in enumerate(edges):
        np.testing.assert_array_equal(X[8 + k], (X[i - 1] + X[j - 1]) / 2)
    X = ELEMENT_TYPES["c3d10"].reference_nodes
    np.testing.assert_array_equal(X[:4], [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)])
    for k, (i, j) in enumerate([(1, 2), (2, 3), (3, 1), (1, 4), (2, 4), (3, 4)]):
        np.testing.assert_array_equal(X[4 + k], (X[i - 1] + X[j - 1]) / 2)
    X = ELEMENT_TYPES["c3d15"].reference_nodes
    np.testing.assert_array_equal(X[:6], [(0, 0, -1), (1, 0, -1), (0, 1, -1),
                                          (0, 0, 1), (1, 0, 1), (0, 1, 1)])
    for k, (i, j) in enumerate([(1, 2), (2, 3), (3, 1), (4, 5), (5, 6), (6, 4), (1, 4), (2, 5), (3, 6)]):
        np.testing.assert_array_equal(X[6 + k], (X[i - 1] + X[j - 1]) / 2)
    X = ELEMENT_TYPES["cpe8"].reference_nodes
    np.testing.assert_array_equal(X, [(-1, -1), (1, -1), (1, 1), (-1, 1), (0, -1), (1, 0), (0, 1), (-1, 0)])


# --------------------------------------------------------------------- quadrature
def exact_monomial_integral(family, e):
    e = tuple(int(v) for v in e)
    line = lambda k: 0.0 if k % 2 else 2.0 / (k + 1)
    if family in ("line", "quad", "hex"):
        return float(np.prod([line(k) for k in e]))
    if family == "tri":
        return factorial(e[0]) * factorial(e[1]) / factorial(e[0] + e[1] + 2)
    if family == "tet":
        return factorial(e[0]) * factorial(e[1]) * factorial(e[2]) / factorial(sum(e) + 3)
    return exact_monomial_integral("tri", e[:2]) * line(e[2])


def monomials(family, degree):
    """Exponent tuples of the polynomial space a rule of 'degree' should integrate:
    tensor cells: each exponent <= degree; simplices: total degree <= degree;
    wedge: (triangle degree, line degree)."""
    if family in ("line", "quad", "hex"):
        d = {"line": 1, "quad": 2, "hex": 3}[family]
        return [e for e in np.ndindex(*([degree + 1] * d))]
    if family in ("tri", "tet"):
        d = 2 if family == "tri" else 3
        return [e for e in np.ndindex(*([degree + 1] * d)) if sum(e) <= degree]
    dt, dz = degree
    return [(a, b, c) for a in range(dt + 1) for b in range(dt + 1 - a) for c in range(dz + 1)]


def integrate(rule, e):
    p, w = rule
    return float(w @ np.prod(p ** np.asarray(e, float), axis=1))


def exact_up_to(rule, family, degree):
    return all(abs(integrate(rule, e) - exact_monomial_integral(family, e))
               <= 1e-13 * max(1.0, abs(exact_monomial_integral(family, e)))
               for e in monomials(family, degree))


RULE_DEGREES = [  # (rule, family, degree it integrates exactly)
    (q.line_rule(1), "line", 1), (q.line_rule(2), "line", 3), (q.line_rule(3), "line", 5),
    (q.quad_rule(2), "quad", 3), (q.quad_rule(3), "quad", 5),
    (q.hex_rule(2), "hex", 3), (q.hex_rule(3), "hex", 5),
    (q.triangle_rule(1), "tri", 1), (q.triangle_rule(3), "tri", 2), (q.triangle_rule(7), "tri", 5),
    (q.tet_rule(1), "tet", 1), (q.tet_rule(4), "tet", 2), (q.tet_rule(15), "tet", 5),
    (q.wedge_rule(1, 2), "wedge", (1, 3)), (q.wedge_rule(3, 2), "wedge", (2, 3)),
    (q.wedge_rule(3, 3), "wedge", (2, 5)), (q.wedge_rule(7, 3), "wedge", (5, 5)),
]


@pytest.mark.parametrize("k", range(len(RULE_DEGREES)))
def test_rule_exact_to_its_degree_and_not_beyond(k):
    rule, family, deg = RULE_DEGREES[k]
    np.testing.assert_allclose(rule[1].sum(), MEASURE[family], rtol=1e-14)
    assert exact_up_to(rule, family, deg)
    higher = (deg[0] + 1, deg[1] + 1) if isinstance(deg, tuple) else deg + 1
    assert not exact_up_to(rule, family, higher)  # the check can fail


@pytest.mark.parametrize("name", ALL)
def test_element_rules(name):
    """Weights sum to the reference measure; the mass rule integrates N_i N_j exactly
    (compared with a much higher-order rule)."""
    et = ELEMENT_TYPES[name]
    for p, w in (et.quadrature, et.mass_quadrature):
        np.testing.assert_allclose(w.sum(), MEASURE[et.family], rtol=1e-14)
        assert np.all(w > 0)
    ref = reference_high_order_rule(et.family)
    N = et.shape(ref[0])
    M_ref = np.einsum("q,qa,qb->ab", ref[1], N, N)
    p, w = et.mass_quadrature
    N = et.shape(p)
    np.testing.assert_allclose(np.einsum("q,qa,qb->ab", w, N, N), M_ref, atol=1e-14)


def reference_high_order_rule(family, n=8):
    """High-order rules independent of the element rules (collapsed Gauss for simplices)."""
    x, w = np.polynomial.legendre.leggauss(n)
    if family in ("line", "quad", "hex"):
        return q.tensor_rule(n, {"line": 1, "quad": 2, "hex": 3}[family])
    # Duffy: triangle (u, v) in [0,1]^2 -> (u (1 - v), v), jacobian (1 - v)
    u, wu = (x + 1) / 2, w / 2
    U, V = np.meshgrid(u, u, indexing="ij")
    WU = np.outer(wu, wu)
    tri = np.c_[(U * (1 - V)).ravel(), V.ravel()], (WU * (1 - V)).ravel()
    if family == "tri":
        return tri
    if family == "wedge":
        return (np.c_[np.tile(tri[0], (n, 1)), np.repeat(x, n * n)], np.tile(tri[1], n) * np.repeat(w, n * n))
    # tet: z = t, (x, y) = (1 - t) * triangle point, jacobian (1 - t)^2
    T = np.repeat(u, n * n)
    P = np.tile(tri[0], (n, 1)) * (1 - T)[:, None]
    return np.c_[P, T], np.tile(tri[1], n) * np.repeat(wu, n * n) * (1 - T) ** 2


G2, G3 = 1 / np.sqrt(3), np.sqrt(0.6)


def test_integration_point_orders():
    """Point orders of CalculiX (first reference coordinate fastest for tensor rules)."""
    p = ELEMENT_TYPES["c3d8"].quadrature[0]
    np.testing.assert_allclose(p, G2 * np.array([[-1, -1, -1], [1, -1, -1], [-1, 1, -1], [1, 1, -1],
                                                 [-1, -1, 1], [1, -1, 1], [-1, 1, 1], [1, 1, 1]]), rtol=1e-15)
    p, w = ELEMENT_TYPES["c3d20"].quadrature
    np.testing.assert_allclose(p[:4], [[-G3, -G3, -G3], [0, -G3, -G3], [G3, -G3, -G3], [-G3, 0, -G3]],
                               atol=1e-15)
    np.testing.assert_allclose(p[13], 0.0, atol=1e-15)
    np.testing.assert_allclose(p[26], [G3, G3, G3], rtol=1e-15)
    np.testing.assert_allclose(w[[0, 1, 13]], [125 / 729, 200 / 729, 512 / 729], rtol=1e-14)
    p = ELEMENT_TYPES["cpe4"].quadrature[0]
    np.testing.assert_allclose(p, G2 * np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]]), rtol=1e-15)
    p = ELEMENT_TYPES["cpe8"].quadrature[0]
    np.testing.assert_allclose(p[[0, 1, 3, 8]], [[-G3, -G3], [0, -G3], [-G3, 0], [G3, G3]], atol=1e-15)
    a, b = 0.138196601125011, 0.585410196624968  # CalculiX gauss3d5
    p, w = ELEMENT_TYPES["c3d10"].quadrature
    np.testing.assert_allclose(p, [[a, a, a], [b, a, a], [a, b, a], [a, a, b]], atol=1e-14)
    np.testing.assert_allclose(w, 1 / 24, rtol=1e-15)
    p, w = ELEMENT_TYPES["c3d6"].quadrature
    np.testing.assert_allclose(p, [[1 / 3, 1 / 3, -G2], [1 / 3, 1 / 3, G2]], rtol=1e-15)
    np.testing.assert_allclose(w, 0.5)
    p, w = ELEMENT_TYPES["c3d15"].quadrature
    tri = np.array([[1 / 6, 1 / 6], [2 / 3, 1 / 6], [1 / 6, 2 / 3]])
    np.testing.assert_allclose(p, np.c_[np.tile(tri, (3, 1)), np.repeat([-G3, 0, G3], 3)], atol=1e-15)
    np.testing.assert_allclose(w[[0, 3]], [5 / 54, 8 / 54], rtol=1e-14)
    p, w = ELEMENT_TYPES["cpe6"].quadrature
    np.testing.assert_allclose(p, tri, rtol=1e-15)
    np.testing.assert_allclose(ELEMENT_TYPES["cpe3"].quadrature[0], [[1 / 3, 1 / 3]])
    np.testing.assert_allclose(ELEMENT_TYPES["c3d4"].quadrature[0], [[0.25, 0.25, 0.25]])


# --------------------------------------------------------------------- faces
FACE_COUNTS = {"c3d4": ["t3"] * 4, "c3d10": ["t6"] * 4, "c3d6": ["t3"] * 2 + ["q4"] * 3,
               "c3d15": ["t6"] * 2 + ["q8"] * 3, "c3d8": ["q4"] * 6, "c3d20": ["q8"] * 6,
               "cpe3": ["l2"] * 3, "cpe6": ["l3"] * 3, "cpe4": ["l2"] * 4, "cpe8": ["l3"] * 4}


@pytest.mark.parametrize("name", VOLUME_TYPES + PLANE_STRAIN_TYPES)
def test_faces_outward_and_consistent(name):
    et = ELEMENT_TYPES[name]
    assert [ft for ft, _ in et.faces] == FACE_COUNTS[name]
    X = et.reference_nodes
    c = centroid(et)
    all_face_nodes = set()
    for ft, nodes in et.faces:
        ft = get_element_type(ft)
        assert len(nodes) == ft.n_nodes
        all_face_nodes.update(nodes)
        Xf = X[list(nodes)]
        # the face's own reference nodes map to the element nodes: mid nodes are midpoints
        for k, (i, j) in enumerate(_face_edges(ft)):
            np.testing.assert_allclose(Xf[ft.n_corners + k], (Xf[i] + Xf[j]) / 2)
        pts, _ = ft.mass_quadrature
        T = np.einsum("ad,qak->qdk", Xf, ft.shape_derivatives(pts))
        if et.dim == 3:
            n = np.cross(T[..., 0], T[..., 1])
        else:
            n = np.stack([T[:, 1, 0], -T[:, 0, 0]], axis=-1)
        xq = ft.shape(pts) @ Xf
        # planar faces of the reference cell: every point of the face is on the far side
        assert np.all(np.einsum("qd,qd->q", n, xq - c) > 1e-12), (name, nodes)
        # all face nodes lie in the plane through the first one with that normal
        np.testing.assert_allclose((Xf - Xf[0]) @ n[0], 0.0, atol=1e-14)
    assert all_face_nodes == set(range(et.n_nodes))  # every node of these types is on a face


def _face_edges(ft):
    nc = ft.n_corners
    return [] if ft.n_nodes == nc else [(k, (k + 1) % nc) for k in range(nc)][: ft.n_nodes - nc]


def test_face_types_are_2d_elements_of_3d_faces():
    for name in FACE_TYPES:
        et = ELEMENT_TYPES[name]
        assert et.dim == (1 if name.startswith("l") else 2)
