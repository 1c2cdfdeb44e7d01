"""Plane-stress, axisymmetric, reduced-integration, hourglass and B-bar formulations of
romnet.fe (kernel level).

Tolerances: patch tests and identities 1e-12 relative (round-off on O(1) values);
plane-stress Newton sigma33 <= 1e-10 of the stress; finite-difference tangents 1e-5.
"""
import numpy as np
import pytest

from romnet.errors import InputError, UnsupportedError
from romnet.fe import (AXISYMMETRIC_TYPES, PLANE_STRESS_TYPES, REDUCED_TYPES, ElementKernel, FaceKernel,
                       get_element_type, hourglass_matrices, hourglass_modulus, is_axisymmetric)
from romnet.fe.hourglass import HOURGLASS_FACTOR
from romnet.fe.plane_stress import PlaneStressLaw, wrap_law
from romnet.materials import build_law
from romnet.meshing import box_mesh
from test_fe_kernel import distort, iso_tangent

NEW = sorted(set(PLANE_STRESS_TYPES) | set(AXISYMMETRIC_TYPES) | set(REDUCED_TYPES)
             | {"c3d8_bbar", "cpe4_bbar", "cax4_bbar"})
E, NU = 2.0e5, 0.3


def mesh_of(name, n=2, shift=1.0, seed=0):
    """Distorted structured mesh; 2D meshes shifted to x1 >= shift (axisymmetric r > 0)."""
    X, conn = box_mesh(name, n)
    X = distort(name, X, conn, amp=0.15, seed=seed)
    if X.shape[1] == 2:
        X = X + np.array([shift, 0.0])
    return X, conn


def test_catalogue_of_formulations():
    assert get_element_type("cps4").kinematics == "plane_stress"
    assert get_element_type("cax8r").kinematics == "axisymmetric"
    assert get_element_type("cpe4").kinematics == "plane_strain"
    assert get_element_type("c3d20").kinematics == "solid"
    for name in NEW:
        et = get_element_type(name)
        base = get_element_type(et.base)
        assert et.n_nodes == base.n_nodes and np.array_equal(et.reference_nodes, base.reference_nodes)
        assert [n for _, n in et.faces] == [n for _, n in base.faces]
    assert get_element_type("c3d20r").n_ip == 8 and get_element_type("cps8r").n_ip == 4
    # integration-point order of the reduced rules: CalculiX gauss3d2 / gauss2d2 (xi fastest)
    g = 1 / np.sqrt(3)
    assert np.allclose(get_element_type("c3d20r").quadrature[0][:3], [[-g, -g, -g], [g, -g, -g], [-g, g, -g]])
    assert np.allclose(get_element_type("cax8r").quadrature[0], [[-g, -g], [g, -g], [-g, g], [g, g]])
    assert get_element_type("c3d8r").hourglass and get_element_type("c3d8r").n_ip == 1
    # CalculiX' lower face rules of reduced hexahedra
    assert get_element_type("c3d20r").faces[0][0] == "q8r" and get_element_type("q8r").load_quadrature[1].size == 4
    assert get_element_type("c3d8r").faces[2][0] == "q4r" and get_element_type("q4r").load_quadrature[1].size == 1
    assert get_element_type("q8").load_quadrature[1].size == 9


@pytest.mark.parametrize("name", NEW)
def test_patch_linear_field_exact_strain(name):
    """A linear displacement gives its exact constant strain at every point (hoop strain
    u_r / r for axisymmetric elements with u_r = A r: A)."""
    X, conn = mesh_of(name)
    k = ElementKernel(name, X, conn)
    d = X.shape[1]
    A = np.array([[1e-3, 2e-3, -1e-3], [-3e-3, 2e-3, 1e-3], [4e-4, -2e-3, 3e-3]])[:d, :d]
    if k.kinematics == "axisymmetric":
        A = np.array([[1e-3, 0.0], [0.0, 2e-3]])     # u_r = a r, u_z = b z (+ shear: not axisymmetric-linear)
    U = X @ A.T
    eps = k.strain(U)
    H = np.zeros((3, 3))
    H[:d, :d] = A
    if k.kinematics == "axisymmetric":
        H[2, 2] = A[0, 0]
    S = (H + H.T) / 2
    r2 = np.sqrt(2)
    ref = np.array([S[0, 0], S[1, 1], S[2, 2], r2 * S[0, 1], r2 * S[1, 2], r2 * S[2, 0]])
    assert np.abs(eps - ref).max() <= 1e-12 * np.abs(ref).max()
    # hourglass forces vanish for linear fields in 2D (complete formula) ...
    if get_element_type(name).hourglass and d == 2:
        H = hourglass_matrices(k)
        assert np.abs(np.einsum("eij,ej->ei", H, U.ravel()[k.element_dofs()])).max() < 1e-15 * np.abs(H).max()


@pytest.mark.parametrize("name", NEW)
def test_forces_stiffness_consistency(name):
    """internal_forces = sum B^T sigma dV; stiffness = sum B^T D B dV, symmetric; the
    rigid translations (and the in-plane rotation for plane elements) are in its null space."""
    X, conn = mesh_of(name, seed=1)
    k = ElementKernel(name, X, conn, thickness=0.7 if name.startswith(("cps", "cpe")) else None)
    rng = np.random.default_rng(3)
    s = rng.normal(size=(k.n_elements, k.n_ip, 6))
    if X.shape[1] == 2:
        s[..., 4:] = 0.0
    B = k.B()
    fe = np.einsum("eqij,eqi,eq->ej", B, s, k.dV)
    f = np.bincount(k.element_dofs().ravel(), fe.ravel(), minlength=X.size)
    assert np.abs(k.internal_forces(s) - f).max() <= 1e-12 * np.abs(f).max()
    K = k.stiffness(iso_tangent(k.n_elements, k.n_ip)).toarray()
    assert np.abs(K - K.T).max() <= 1e-12 * np.abs(K).max()
    n, d = X.shape
    rigid = []
    comps = [1] if k.kinematics == "axisymmetric" else range(d)
    for c in comps:
        u = np.zeros((n, d))
        u[:, c] = 1.0
        rigid.append(u.ravel())
    if d == 2 and k.kinematics != "axisymmetric":
        rigid.append(np.stack([-X[:, 1], X[:, 0]], 1).ravel())
    for u in rigid:
        assert np.abs(K @ u).max() <= 1e-10 * np.abs(K).max()


def test_axisymmetric_volume_and_pressure_over_the_circumference():
    """Revolved volume (Pappus) and pressure force: p on the inner face r = a of a ring,
    total radial force over the circumference is 2 pi a h p, axial 0."""
    a, h = 1.5, 0.5
    X, conn = box_mesh("cax8", (3, 2), (1.0, h))
    X[:, 0] += a
    k = ElementKernel("cax8", X, conn)
    assert k.volume() == pytest.approx(np.pi * ((a + 1) ** 2 - a ** 2) * h, rel=1e-12)
    inner = np.flatnonzero(np.isclose(X[:, 0], a))
    from romnet.fe import boundary_faces
    bf = boundary_faces([("cax8", conn)])["l3"]
    sel = np.all(np.isin(bf["nodes"], inner), axis=1)
    fk = FaceKernel("l3", X, bf["nodes"][sel], axisymmetric=True)
    f = fk.pressure_forces(7.0).reshape(-1, 2)
    assert f[:, 0].sum() == pytest.approx(2 * np.pi * a * h * 7.0, rel=1e-12)
    assert abs(f[:, 1].sum()) < 1e-12
    assert is_axisymmetric(["cax4", "cax8r"]) and not is_axisymmetric(["cps4"])
    with pytest.raises(UnsupportedError, match="mixing axisymmetric"):
        is_axisymmetric(["cax4", "cpe4"])


def test_thickness_scales_volume_and_forces():
    X, conn = mesh_of("cps4")
    k1 = ElementKernel("cps4", X, conn)
    k2 = ElementKernel("cps4", X, conn, thickness=0.25)
    assert k2.volume() == pytest.approx(0.25 * k1.volume(), rel=1e-14)
    D = iso_tangent(k1.n_elements, k1.n_ip)
    assert np.allclose(k2.stiffness(D).toarray(), 0.25 * k1.stiffness(D).toarray(), rtol=1e-13, atol=0)
    with pytest.raises(InputError, match="no thickness"):
        ElementKernel("c3d8", *box_mesh("c3d8", 1), thickness=2.0)
    with pytest.raises(InputError, match="positive"):
        ElementKernel("cps4", X, conn, thickness=-1.0)


def test_axisymmetric_point_on_axis_is_refused():
    X, conn = box_mesh("cax4", 2)
    X[:, 0] -= 0.6
    with pytest.raises(InputError, match=r"r = x1 = .* <= 0"):
        ElementKernel("cax4", X, conn)


# --------------------------------------------------------------------------- mean strain, hourglass
def test_c3d8r_mean_strain_operator_is_calculix_volume_derivative():
    """CalculiX shape8hr: Bbar_ai = (1/V) dV/dx_ai (V the exact hexahedron volume); checked
    by finite differences of the volume computed with the 2x2x2 rule."""
    X, conn = mesh_of("c3d8r", n=1, seed=4)
    k = ElementKernel("c3d8r", X, conn)
    V = k.dV[0, 0]
    assert V == pytest.approx(ElementKernel("c3d8", X, conn).volume(), rel=1e-14)
    h = 1e-6
    for a in range(8):
        for i in range(3):
            Y = X.copy()
            Y[conn[0, a], i] += h
            Z = X.copy()
            Z[conn[0, a], i] -= h
            dV = (ElementKernel("c3d8", Y, conn).volume() - ElementKernel("c3d8", Z, conn).volume()) / (2 * h)
            assert k.dN_dx[0, 0, a, i] == pytest.approx(dV / V, rel=1e-7, abs=1e-9)
    assert np.allclose(k.N, 1 / 8)


def test_hourglass_modes_of_a_cube():
    """Unit-spaced cube of side L: without hourglass control the one-point stiffness has 12
    zero-energy modes besides the 6 rigid ones; with it only the rigid ones. The hourglass
    energy of u = h_1 e_x is E a (h.h)^2 with a = 0.0005 V sum Bbar^2 = 0.0005 * 1.5 L."""
    L = 2.0
    X, conn = box_mesh("c3d8r", 1, (L, L, L))
    k = ElementKernel("c3d8r", X, conn)
    K0 = k.stiffness(iso_tangent(1, 1, E, NU)).toarray()
    H = k.assemble(E * hourglass_matrices(k)).toarray()
    ev0 = np.linalg.eigvalsh(K0)
    ev = np.linalg.eigvalsh(K0 + H)
    tol = 1e-10 * ev0.max()
    assert np.sum(np.abs(ev0) < tol) == 18
    assert np.sum(np.abs(ev) < tol) == 6
    h1 = np.array([1, 1, -1, -1, -1, -1, 1, 1], float)        # CalculiX gb(:, 1) at the element nodes
    u = np.zeros((8, 3))
    u[conn[0], 0] = h1
    assert np.abs(K0 @ u.ravel()).max() < tol                 # an hourglass mode of the one-point element
    a = HOURGLASS_FACTOR * 1.5 * L
    assert u.ravel() @ H @ u.ravel() == pytest.approx(E * a * 64.0, rel=1e-12)


def test_calculix_hourglass_vectors_keep_only_the_z_term():
    """On a distorted hexahedron the gamma vectors are h - Bbar[:, z] (z^T h) (CalculiX 2.20
    shape8hr): a linear field in z has no hourglass force, one in x generally has."""
    X, conn = mesh_of("c3d8r", n=1, seed=7)
    X = X + np.random.default_rng(8).uniform(-0.08, 0.08, X.shape)  # non-parallelepiped element
    k = ElementKernel("c3d8r", X, conn)
    H = hourglass_matrices(k)[0]
    e = k.element_dofs()[0]
    for comp in range(3):
        uz = np.zeros_like(X)
        uz[:, comp] = X[:, 2]
        assert np.abs(H @ uz.ravel()[e]).max() < 1e-12 * np.abs(H).max()
    ux = np.zeros_like(X)
    ux[:, 0] = X[:, 0]
    assert np.abs(H @ ux.ravel()[e]).max() > 1e-6 * np.abs(H).max()


def test_hourglass_modulus():
    el = build_law({"law": "elastic", "elasticity": {"young": {"temperature": [0, 100], "value": [2e5, 1e5]},
                                                      "poisson": 0.3}})
    assert np.allclose(hourglass_modulus(el, [0.0, 50.0]), [2e5, 1.5e5])
    assert np.allclose(hourglass_modulus(PlaneStressLaw(el), [100.0]), [1e5])


# --------------------------------------------------------------------------- B-bar
@pytest.mark.parametrize("name", ["c3d8_bbar", "cpe4_bbar", "cax4_bbar"])
def test_bbar_volumetric_strain_is_the_element_mean(name):
    X, conn = mesh_of(name, seed=2)
    k = ElementKernel(name, X, conn)
    U = np.random.default_rng(5).normal(size=X.shape) * 1e-3
    eps = k.strain(U)
    tr = eps[..., :3].sum(-1)
    ref = ElementKernel(name.replace("_bbar", ""), X, conn)
    tr_full = ref.strain(U)[..., :3].sum(-1)
    mean = (tr_full * ref.dV).sum(1) / ref.dV.sum(1)
    assert np.abs(tr - mean[:, None]).max() <= 1e-12 * np.abs(tr).max()
    dev = eps.copy()
    dev[..., :3] -= tr[..., None] / 3
    dev_full = ref.strain(U)
    dev_full[..., :3] -= tr_full[..., None] / 3
    assert np.abs(dev - dev_full).max() <= 1e-12 * np.abs(dev).max()


# --------------------------------------------------------------------------- plane stress law
def test_plane_stress_elastic_is_hooke_in_plane_stress():
    law = PlaneStressLaw(build_law({"law": "elastic", "elasticity": {"young": E, "poisson": NU},
                                    "thermal_strain": {"alpha": 1e-5, "ref_temperature": 20.0}}))
    rng = np.random.default_rng(0)
    eps = np.zeros((5, 6))
    eps[:, [0, 1, 3]] = rng.normal(size=(5, 3)) * 1e-3
    T = np.full(5, 220.0)
    r = law.integrate(eps, T, 1.0, None)
    th = 1e-5 * 200.0
    e11, e22, g = eps[:, 0] - th, eps[:, 1] - th, eps[:, 3]
    c = E / (1 - NU ** 2)
    assert np.allclose(r.stress[:, 0], c * (e11 + NU * e22), rtol=1e-12)
    assert np.allclose(r.stress[:, 1], c * (e22 + NU * e11), rtol=1e-12)
    assert np.allclose(r.stress[:, 3], E / (1 + NU) * g, rtol=1e-12)
    assert np.all(r.stress[:, 2] == 0.0)
    e33 = law.thickness_strain(r.state)
    assert np.allclose(e33, th - NU / (1 - NU) * (e11 + e22), rtol=1e-12)
    Dps = np.zeros((3, 3))
    Dps[:2, :2] = c * np.array([[1, NU], [NU, 1]])
    Dps[2, 2] = E / (1 + NU)
    assert np.allclose(r.tangent[0][np.ix_([0, 1, 3], [0, 1, 3])], Dps, rtol=1e-12)
    assert np.all(r.tangent[:, 2, :] == 0) and np.all(r.tangent[:, :, 2] == 0)


def test_plane_stress_plastic_tangent_and_constraint():
    """gen_evp (rate-independent, linear hardening): sigma33 = 0 at convergence and the
    condensed tangent matches finite differences of the in-plane stress."""
    base = build_law({"law": "gen_evp", "elasticity": {"young": E, "poisson": NU},
                      "flow": {"type": "plasticity"}, "isotropic": {"type": "linear", "R0": 100.0, "H": 3000.0}})
    law = PlaneStressLaw(base)
    eps = np.zeros((3, 6))
    eps[:, 0] = [1e-3, 2e-3, -1.5e-3]
    eps[:, 1] = [4e-4, -1e-3, 5e-4]
    eps[:, 3] = [3e-4, 1e-3, -2e-3]
    T = np.zeros(3)
    st = law.initial_state(3)
    r = law.integrate(eps, T, 1.0, st)
    assert r.converged.all() and base.cumulated_plastic_strain(r.state[:, :-1]).min() > 0
    inner = base.integrate(law.full_strain(eps, r.state), T, 1.0, base.initial_state(3))
    assert np.abs(inner.stress[:, 2]).max() <= 1e-10 * np.abs(inner.stress).max()
    h = 1e-8
    for j in (0, 1, 3):
        ep, em = eps.copy(), eps.copy()
        ep[:, j] += h
        em[:, j] -= h
        fd = (law.integrate(ep, T, 1.0, st).stress - law.integrate(em, T, 1.0, st).stress) / (2 * h)
        assert np.allclose(r.tangent[:, [0, 1, 3], j], fd[:, [0, 1, 3]], rtol=1e-5, atol=1e-5 * E)


def test_wrap_law_refuses_mixed_formulations():
    law = build_law({"law": "elastic", "elasticity": {"young": E, "poisson": NU}})
    assert isinstance(wrap_law(law, [True, True]), PlaneStressLaw)
    assert wrap_law(law, [False]) is law
    with pytest.raises(UnsupportedError, match="plane-stress"):
        wrap_law(law, [True, False], "SET")
