"""ElementKernel / FaceKernel of romnet.fe on small structured, randomly distorted meshes.

Tolerances: patch tests and exact integrals 1e-12 (relative to O(1) data, unit-size box);
assembly identities 1e-12 relative to the largest entry; rigid-body modes of the
stiffness 1e-10 relative to ||K||.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from romnet.errors import InputError, UnsupportedError
from romnet.fe import (PLANE_STRAIN_TYPES, VOLUME_TYPES, ElementKernel, FaceKernel,
                       boundary_faces, faces_of_elements, get_element_type)
from romnet.meshing import box_mesh as _box_mesh
from romnet.tensors import SQRT2

SOLID = list(VOLUME_TYPES) + list(PLANE_STRAIN_TYPES)
BOX = (1.0, 0.8, 0.6)


# ----------------------------------------------------------------------------- meshes
def box_mesh(name, n=2, box=BOX):
    """Structured mesh of the box (romnet.meshing.box_mesh)."""
    return _box_mesh(name, n=n, box=box)


def distort(name, X, conn, amp=0.1, seed=0, straight=False, box=BOX):
    """Randomly move the interior nodes by up to amp x the lattice spacing. straight=True
    moves only the corner nodes and puts mid-edge nodes back at edge midpoints
    (straight-sided elements)."""
    et = get_element_type(name)
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    hi = np.asarray(box[:d])
    on_boundary = np.any(np.isclose(X, 0.0) | np.isclose(X, hi), axis=1)
    spacing = np.array([np.diff(np.unique(np.round(X[:, i], 12))).min() for i in range(d)])
    Y = X + (~on_boundary)[:, None] * rng.uniform(-amp, amp, X.shape) * spacing
    if straight and et.edges:
        for k, (i, j) in enumerate(et.edges):
            mid = conn[:, et.n_corners + k]
            Y[mid] = (Y[conn[:, i]] + Y[conn[:, j]]) / 2
    return Y


def distorted(name, n=2, **kw):
    X, conn = box_mesh(name, n)
    return distort(name, X, conn, **kw), conn


def box_volume(d):
    return float(np.prod(BOX[:d]))


def iso_tangent(n_el, n_ip, E=200.0, nu=0.3):
    lam, mu = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
    D = 2 * mu * np.eye(6)
    D[:3, :3] += lam
    return np.broadcast_to(D, (n_el, n_ip, 6, 6))


def sym_mandel(A):
    """Mandel vector of sym(A) for a dim x dim matrix (2D: plane strain)."""
    E = np.zeros((3, 3))
    d = A.shape[0]
    E[:d, :d] = (A + A.T) / 2
    return np.array([E[0, 0], E[1, 1], E[2, 2], SQRT2 * E[0, 1], SQRT2 * E[1, 2], SQRT2 * E[2, 0]])


def rigid_modes(X):
    n, d = X.shape
    modes = []
    for k in range(d):
        u = np.zeros((n, d))
        u[:, k] = 1.0
        modes.append(u.ravel())
    rots = [(0, 1)] if d == 2 else [(0, 1), (1, 2), (2, 0)]
    for i, j in rots:
        u = np.zeros((n, d))
        u[:, i], u[:, j] = -X[:, j], X[:, i]
        modes.append(u.ravel())
    return np.array(modes).T


# ----------------------------------------------------------------------------- tests
def test_box_mesh_helper_is_valid():
    for name in SOLID:
        X, conn = box_mesh(name, 2)
        k = ElementKernel(name, X, conn)  # raises on a non-positive Jacobian
        assert np.unique(conn).size == X.shape[0]
        np.testing.assert_allclose(k.volume(), box_volume(X.shape[1]), rtol=1e-13)


@pytest.mark.parametrize("name", SOLID)
def test_patch_linear_field_gives_exact_constant_strain(name):
    X, conn = distorted(name, 2, amp=0.15, seed=1)
    k = ElementKernel(name, X, conn)
    d = X.shape[1]
    rng = np.random.default_rng(7)
    A, b = rng.normal(size=(d, d)), rng.normal(size=d)
    U = X @ A.T + b
    eps = k.strain(U)
    assert eps.shape == (k.n_elements, k.n_ip, 6)
    np.testing.assert_allclose(eps, np.broadcast_to(sym_mandel(A), eps.shape), atol=1e-12)
    # same through the explicit B operator, on element DOFs
    B = k.B()
    assert B.shape == (k.n_elements, k.n_ip, 6, k.etype.n_nodes * d)
    ue = U.ravel()[k.element_dofs()]
    np.testing.assert_allclose(np.einsum("eqij,ej->eqi", B, ue), eps, atol=1e-12)
    np.testing.assert_allclose(k.gradient(U), np.broadcast_to(A, (k.n_elements, k.n_ip, d, d)), atol=1e-12)
    # interpolation of linear fields and ip coordinates
    xq = k.ip_coordinates()
    np.testing.assert_allclose(k.interpolate(U), xq @ A.T + b, atol=1e-12)
    np.testing.assert_allclose(k.interpolate(U[:, 0]), xq @ A[0] + b[0], atol=1e-12)
    np.testing.assert_allclose(xq, np.einsum("qa,ead->eqd", k.N, X[conn]), atol=1e-14)


@pytest.mark.parametrize("name", SOLID)
def test_volume_of_distorted_mesh(name):
    d = get_element_type(name).dim
    # straight-sided distortion: the full rule integrates detJ exactly for these types
    X, conn = distorted(name, 3, amp=0.2, seed=2, straight=True)
    k = ElementKernel(name, X, conn)
    np.testing.assert_allclose(k.volume(), box_volume(d), rtol=1e-12)
    assert np.all(k.detJ > 0) and k.dV.shape == (k.n_elements, k.n_ip)
    # curved elements: the mass rule is exact for detJ of every type
    X, conn = distorted(name, 3, amp=0.2, seed=3)
    k = ElementKernel(name, X, conn, quadrature=get_element_type(name).mass_quadrature)
    np.testing.assert_allclose(k.volume(), box_volume(d), rtol=1e-12)


@pytest.mark.parametrize("name", SOLID)
def test_mass_matrix(name):
    X, conn = distorted(name, 2, amp=0.15, seed=4)
    k = ElementKernel(name, X, conn)
    d = X.shape[1]
    M = k.mass_matrix()
    assert sp.isspmatrix_csr(M) and M.shape == (X.shape[0] * d,) * 2
    np.testing.assert_allclose(M.sum(), d * box_volume(d), rtol=1e-12)
    assert abs(M - M.T).max() < 1e-15 * abs(M).max()
    # per-element density and the node-major block structure
    rho = np.linspace(1.0, 3.0, k.n_elements)
    M1 = k.mass_matrix(n_comp=1, density=rho)
    Mk = k.mass_matrix(n_comp=2, density=rho)
    assert M1.shape == (X.shape[0],) * 2
    np.testing.assert_allclose(Mk[0::2, 0::2].toarray(), M1.toarray(), atol=1e-15)
    np.testing.assert_allclose(Mk[0::2, 1::2].toarray(), 0.0)
    kv = ElementKernel(name, X, conn, quadrature=get_element_type(name).mass_quadrature)
    np.testing.assert_allclose(M1.sum(), kv.dV.sum(axis=1) @ rho, rtol=1e-12)
    np.testing.assert_allclose(k.mass_matrix(density=2.5).sum(), 2.5 * d * box_volume(d), rtol=1e-12)
    with pytest.raises(InputError):
        k.mass_matrix(density=np.ones(k.n_elements + 1))


def _reference_rule(family, n=10):
    """High-order rule independent of romnet's: Gauss (tensor cells) or collapsed Gauss."""
    x, w = np.polynomial.legendre.leggauss(n)
    if family in ("quad", "hex"):
        d = 2 if family == "quad" else 3
        P = np.stack(np.meshgrid(*([x] * d), indexing="ij"), -1).reshape(-1, d)
        W = np.prod(np.stack(np.meshgrid(*([w] * d), indexing="ij"), -1).reshape(-1, d), axis=1)
        return P, W
    u, wu = (x + 1) / 2, w / 2
    U, V = np.meshgrid(u, u, indexing="ij")
    tri = np.c_[(U * (1 - V)).ravel(), V.ravel()], (np.outer(wu, wu) * (1 - V)).ravel()
    if family == "tri":
        return tri
    if family == "wedge":
        return np.c_[np.tile(tri[0], (n, 1)), np.repeat(x, n * n)], np.tile(tri[1], n) * np.repeat(w, n * n)
    T = np.repeat(u, n * n)
    return (np.c_[np.tile(tri[0], (n, 1)) * (1 - T)[:, None], T],
            np.tile(tri[1], n) * np.repeat(wu, n * n) * (1 - T) ** 2)


def _high_order_mass(et, Xe):
    """Reference element mass matrix by a 10-point-per-direction (collapsed) Gauss rule."""
    p, w = _reference_rule(et.family)
    J = np.einsum("ad,qak->qdk", Xe, et.shape_derivatives(p))
    N = et.shape(p)
    return np.einsum("q,qa,qb->ab", w * np.linalg.det(J), N, N)


@pytest.mark.parametrize("name", SOLID)
def test_mass_matrix_exact_on_straight_sided_element(name):
    et = get_element_type(name)
    rng = np.random.default_rng(5)
    A = np.eye(et.dim) + 0.3 * rng.uniform(-1, 1, (et.dim, et.dim))  # affine, undistorted
    Xe = et.reference_nodes @ A.T + 1.0
    k = ElementKernel(name, Xe, np.arange(et.n_nodes)[None])
    M = k.mass_matrix(n_comp=1).toarray()
    np.testing.assert_allclose(M, _high_order_mass(et, Xe), atol=1e-14 * abs(M).max() * 10)
    if name == "c3d4":  # closed form V/20 (1 + delta_ij)
        V = abs(np.linalg.det(A)) / 6
        np.testing.assert_allclose(M, V / 20 * (1 + np.eye(4)), rtol=1e-13)


@pytest.mark.parametrize("name", SOLID)
def test_internal_forces_equal_assembled_BT_sigma(name):
    X, conn = distorted(name, 2, amp=0.15, seed=6)
    k = ElementKernel(name, X, conn)
    rng = np.random.default_rng(8)
    sig = rng.normal(size=(k.n_elements, k.n_ip, 6))
    n_dofs = X.size + 3
    f = k.internal_forces(sig, n_dofs)
    ref = np.zeros(n_dofs)
    B, dofs = k.B(), k.element_dofs()
    for e in range(k.n_elements):  # plain reference assembly
        for qp in range(k.n_ip):
            ref[dofs[e]] += B[e, qp].T @ sig[e, qp] * k.dV[e, qp]
    np.testing.assert_allclose(f, ref, atol=1e-12 * abs(ref).max())
    assert np.all(f[X.size:] == 0)
    # constant-stress patch test: self-equilibrated on interior nodes of a straight-sided mesh
    X, conn = distorted(name, 2, amp=0.15, seed=6, straight=True)
    k = ElementKernel(name, X, conn)
    s0 = rng.normal(size=6)
    if X.shape[1] == 2:
        s0[[2, 4, 5]] = 0
    f0 = k.internal_forces(np.broadcast_to(s0, (k.n_elements, k.n_ip, 6))).reshape(X.shape)
    bnd = np.any(np.isclose(X, 0) | np.isclose(X, np.asarray(BOX[:X.shape[1]])), axis=1)
    np.testing.assert_allclose(f0[~bnd], 0.0, atol=1e-12 * abs(f0).max())


@pytest.mark.parametrize("name", SOLID)
def test_stiffness_symmetric_with_rigid_body_null_space(name):
    X, conn = distorted(name, 2, amp=0.15, seed=9)
    k = ElementKernel(name, X, conn)
    D = iso_tangent(k.n_elements, k.n_ip)
    K = k.stiffness(D, X.size)
    assert sp.isspmatrix_csr(K) and K.shape == (X.size, X.size)
    Kd = K.toarray()
    scale = abs(Kd).max()
    np.testing.assert_allclose(Kd, Kd.T, atol=1e-13 * scale)
    R = rigid_modes(X)
    np.testing.assert_allclose(Kd @ R, 0.0, atol=1e-10 * scale)
    ev = np.linalg.eigvalsh(Kd)
    n_rigid = 3 if X.shape[1] == 2 else 6
    assert np.sum(ev < 1e-8 * ev.max()) == n_rigid
    # consistency with internal_forces for a linear-elastic stress
    U = np.random.default_rng(10).normal(size=X.shape)
    sig = np.einsum("eqij,eqj->eqi", D, k.strain(U))
    np.testing.assert_allclose(K @ U.ravel(), k.internal_forces(sig), atol=1e-11 * scale)
    # element matrices against B^T D B
    B = k.B()
    Ke = np.einsum("eqki,eqkl,eqlj,eq->eij", B, D, B, k.dV)
    np.testing.assert_allclose(k.element_stiffness(D), Ke, atol=1e-12 * scale)


@pytest.mark.parametrize("name", SOLID)
def test_body_forces_total(name):
    X, conn = distorted(name, 2, amp=0.15, seed=11)
    k = ElementKernel(name, X, conn)
    d = X.shape[1]
    f = np.arange(1.0, d + 1.0)
    F = k.body_forces(np.broadcast_to(f, (k.n_elements, k.n_ip, d)))
    np.testing.assert_allclose(F.reshape(-1, d).sum(axis=0), f * k.volume(), rtol=1e-12)
    # moment of a constant load: sum x_a F_a = f int x dV
    xq = k.ip_coordinates()
    np.testing.assert_allclose(X.T @ F.reshape(-1, d), np.outer(np.einsum("eqd,eq->d", xq, k.dV), f),
                               rtol=1e-12)


# ----------------------------------------------------------------------------- faces
@pytest.mark.parametrize("name", SOLID)
def test_pressure_on_closed_boundary(name):
    X, conn = distorted(name, 2, amp=0.15, seed=12)
    d = X.shape[1]
    bf = boundary_faces([(name, conn)])
    hi = np.asarray(BOX[:d])
    total, area = np.zeros(d), 0.0
    slope = np.array([0.3, -0.7, 1.1])[:d]
    lin = np.zeros(d)
    n_faces = 0
    for ft, data in bf.items():
        fk = FaceKernel(ft, X, data["nodes"])
        n_faces += fk.n_faces
        total += fk.pressure_forces(2.0).reshape(-1, d).sum(axis=0)
        area += fk.area()
        # linear nodal pressure p = 1 + slope.x: net force -int p n dA = -slope * V
        p_nodal = 1.0 + X[fk.connectivity] @ slope
        lin += fk.pressure_forces(p_nodal).reshape(-1, d).sum(axis=0)
        # every normal is on the outside: the ip lies on the box face the normal points to
        xq, nq = fk.ip_coordinates(), fk.normals
        axis = np.argmax(abs(nq), axis=-1)
        side = np.take_along_axis(nq, axis[..., None], -1)[..., 0] > 0
        coord = np.take_along_axis(xq, axis[..., None], -1)[..., 0]
        np.testing.assert_allclose(coord, np.where(side, hi[axis], 0.0), atol=1e-12)
    expected_area = 2 * sum(np.prod(np.delete(hi, i)) for i in range(d)) if d == 3 else 2 * hi.sum()
    np.testing.assert_allclose(area, expected_area, rtol=1e-12)
    np.testing.assert_allclose(total, 0.0, atol=1e-12)
    np.testing.assert_allclose(lin, -slope * box_volume(d), atol=1e-12)
    el = get_element_type(name)
    n_per_el = len(el.faces)
    assert n_faces < n_per_el * conn.shape[0]


@pytest.mark.parametrize("name", SOLID)
def test_uniform_pressure_on_one_face(name):
    X, conn = distorted(name, 2, amp=0.15, seed=13)
    d = X.shape[1]
    hi = BOX[0]
    p = 3.0
    F, A = np.zeros(d), 0.0
    for ft, data in boundary_faces([(name, conn)]).items():
        on = np.all(np.isclose(X[data["nodes"], 0], hi), axis=1)  # faces on x = hi
        if not on.any():
            continue
        fk = FaceKernel(ft, X, data["nodes"][on])
        np.testing.assert_allclose(fk.normals, np.broadcast_to(np.eye(d)[0], fk.normals.shape), atol=1e-14)
        F += fk.pressure_forces(p, X.size).reshape(-1, d).sum(axis=0)
        F_face = fk.pressure_forces(np.full(fk.n_faces, p)).reshape(-1, d).sum(axis=0)
        F_nod = fk.pressure_forces(np.full((fk.n_faces, fk.n_fn), p)).reshape(-1, d).sum(axis=0)
        np.testing.assert_allclose(F_face, F_nod, atol=1e-13)
        A += fk.area()
    area = np.prod(BOX[1:d])
    np.testing.assert_allclose(A, area, rtol=1e-12)
    np.testing.assert_allclose(F, -p * area * np.eye(d)[0], atol=1e-12)


def test_face_kernel_single_faces_and_tractions():
    # unit square in the plane z = 0, node order counter-clockwise seen from +z -> normal +z
    X = np.array([[0, 0, 0], [2, 0, 0], [2, 1, 0], [0, 1, 0]], float)
    fk = FaceKernel("q4", X, [[0, 1, 2, 3]])
    np.testing.assert_allclose(fk.normals, np.broadcast_to([0, 0, 1], fk.normals.shape))
    np.testing.assert_allclose(fk.area(), 2.0)
    f = fk.pressure_forces(1.0).reshape(-1, 3)
    np.testing.assert_allclose(f, np.tile([0, 0, -0.5], (4, 1)), atol=1e-15)
    t = fk.traction_forces([1.0, 2.0, 0.0]).reshape(-1, 3)
    np.testing.assert_allclose(t.sum(axis=0), [2.0, 4.0, 0.0])
    # t6 consistent loads of a uniform pressure: 0 at corners, 1/3 at mid-edge nodes
    Xt = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [.5, 0, 0], [.5, .5, 0], [0, .5, 0]], float)
    f = FaceKernel("t6", Xt, [np.arange(6)]).pressure_forces(6.0).reshape(-1, 3)
    np.testing.assert_allclose(f[:, 2], [0, 0, 0, -1, -1, -1], atol=1e-14)
    # 2D edge: tangent rotated clockwise; l3 consistent loads 1/6 2/3 1/6
    X2 = np.array([[0, 0], [0, 2], [0, 1]], float)   # edge along +y -> normal +x
    fk = FaceKernel("l3", X2, [[0, 1, 2]])
    np.testing.assert_allclose(fk.normals, np.broadcast_to([1, 0], fk.normals.shape), atol=1e-15)
    np.testing.assert_allclose(fk.area(), 2.0)
    np.testing.assert_allclose(fk.pressure_forces(3.0).reshape(-1, 2)[:, 0], [-1, -1, -4], rtol=1e-14)
    with pytest.raises(InputError, match="pressure must be"):
        fk.pressure_forces(np.ones((1, 2)))
    with pytest.raises(InputError, match="3-dimensional"):
        FaceKernel("q4", X[:, :2], [[0, 1, 2, 3]])
    with pytest.raises(UnsupportedError):
        FaceKernel("c3d8", X, [[0, 1, 2, 3]])
    with pytest.raises(InputError, match="face 0: degenerate"):
        FaceKernel("q4", X, [[0, 1, 1, 0]])


def test_faces_of_elements_and_boundary_faces_mixed_blocks():
    # two wedges and two tets? use hex + the wedge mesh of a neighbouring box sharing x = 1
    Xh, ch = box_mesh("c3d8", 2)
    fo = faces_of_elements("c3d8", ch)
    assert len(fo) == 6 and all(ft == "q4" and c.shape == (ch.shape[0], 4) for ft, c in fo)
    Xw, cw = box_mesh("c3d6", 2)
    Xw = Xw + [BOX[0], 0, 0]
    X = np.concatenate([Xh, Xw])
    # merge coincident nodes on x = 1
    _, idx, inv = np.unique(np.round(X, 12), axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    Xm = X[idx]
    blocks = [("c3d8", inv[ch]), ("c3d6", inv[cw + len(Xh)])]
    bf = boundary_faces(blocks)
    assert set(bf) == {"q4", "t3"}
    vol = sum(ElementKernel(t, Xm, c).volume() for t, c in blocks)
    area = sum(FaceKernel(ft, Xm, d["nodes"]).area() for ft, d in bf.items())
    np.testing.assert_allclose(vol, 2 * box_volume(3))
    np.testing.assert_allclose(area, 2 * (2 * BOX[0] * BOX[1] + 2 * BOX[0] * BOX[2] + BOX[1] * BOX[2]))
    # element numbers are global over blocks, local face numbers index etype.faces
    d = bf["t3"]
    assert np.all(d["element"] >= ch.shape[0])
    et = get_element_type("c3d6")
    for nodes, e, f in zip(d["nodes"], d["element"], d["face"]):
        np.testing.assert_array_equal(nodes, blocks[1][1][e - ch.shape[0]][list(et.faces[f][1])])


# ----------------------------------------------------------------------------- API details
def test_element_dofs_and_shapes():
    X, conn = box_mesh("cpe4", 2)
    k = ElementKernel("CPE4", X, conn)
    assert k.element_dofs().shape == (4, 8)
    np.testing.assert_array_equal(k.element_dofs()[0, :4], [2 * conn[0, 0], 2 * conn[0, 0] + 1,
                                                            2 * conn[0, 1], 2 * conn[0, 1] + 1])
    assert k.N.shape == (4, 4) and k.dN_dx.shape == (4, 4, 4, 2) and k.detJ.shape == (4, 4)
    B = k.B()
    assert B.shape == (4, 4, 6, 8)
    assert np.all(B[:, :, [2, 4, 5]] == 0)
    assert k.interpolate(np.ones((X.shape[0], 3))).shape == (4, 4, 3)
    # flat U accepted
    U = np.random.default_rng(0).normal(size=X.shape)
    np.testing.assert_array_equal(k.strain(U.ravel()), k.strain(U))


def test_reduced_quadrature_override():
    X, conn = box_mesh("c3d8", 2)
    k = ElementKernel("c3d8", X, conn, quadrature=(np.zeros((1, 3)), np.array([8.0])))
    assert k.n_ip == 1
    np.testing.assert_allclose(k.volume(), box_volume(3))


def test_inverted_element_is_named():
    X, conn = box_mesh("c3d10", 2)
    conn = conn.copy()
    conn[5, [1, 2]] = conn[5, [2, 1]]
    conn[5, [4, 6, 8, 9]] = conn[5, [6, 4, 9, 8]]  # mirrored tet: negative Jacobian everywhere
    with pytest.raises(InputError, match=r"element 5: non-positive Jacobian"):
        ElementKernel("c3d10", X, conn)
    X2, c2 = box_mesh("cpe4", 2)
    c2 = c2[:, ::-1].copy()  # clockwise quads
    with pytest.raises(InputError, match=r"element 0: non-positive Jacobian"):
        ElementKernel("cpe4", X2, c2)


def test_bad_input():
    X, conn = box_mesh("c3d8", 1)
    with pytest.raises(UnsupportedError, match="unknown element type 'c3d99'"):
        ElementKernel("c3d99", X, conn)
    with pytest.raises(InputError, match="3"):
        ElementKernel("c3d8", X[:, :2], conn)
    with pytest.raises(InputError, match="connectivity"):
        ElementKernel("c3d8", X, conn[:, :4])
    with pytest.raises(InputError, match="element 0: node index out of range"):
        ElementKernel("c3d8", X, conn + 100)
    with pytest.raises(UnsupportedError):
        ElementKernel("l2", X[:, :1], [[0, 1]])
    k = ElementKernel("c3d8", X, conn)
    with pytest.raises(InputError, match="stress"):
        k.internal_forces(np.zeros((2, 8, 6)))
    with pytest.raises(InputError, match="U must be"):
        k.strain(np.zeros((3, 3)))


def test_assembly_matches_coo_to_csr_and_is_reusable():
    X, conn = distorted("c3d20", 2, amp=0.1, seed=14)
    k = ElementKernel("c3d20", X, conn)
    Ke = np.random.default_rng(15).normal(size=(k.n_elements,) + (k.n_dofs_per_element,) * 2)
    n = X.size + 5
    dofs = k.element_dofs()
    rows = np.repeat(dofs, dofs.shape[1], axis=1).ravel()
    cols = np.tile(dofs, (1, dofs.shape[1])).ravel()
    ref = sp.coo_matrix((Ke.ravel(), (rows, cols)), shape=(n, n)).tocsr()
    for _ in range(2):  # the second call reuses the cached pattern
        A = k.assemble(Ke, n)
        assert A.shape == (n, n) and A.has_sorted_indices
        assert abs(A - ref).max() <= 1e-14 * abs(ref).max()
        A.data[:] = 0.0  # callers may modify the result without touching the cache
    with pytest.raises(InputError, match="n_dofs"):
        k.assemble(Ke, 10)


def test_empty_block():
    X, _ = box_mesh("c3d8", 1)
    k = ElementKernel("c3d8", X, np.zeros((0, 8), dtype=int))
    assert k.n_elements == 0 and k.volume() == 0.0
    assert k.strain(np.zeros_like(X)).shape == (0, 8, 6)
    assert k.stiffness(iso_tangent(0, 8)).nnz == 0
    np.testing.assert_array_equal(k.internal_forces(np.zeros((0, 8, 6))), np.zeros(X.size))
