"""Anisotropic elasticity, orientation and the crystal-plasticity gen_evp law.

Analytic references (tolerances stated per test): rotated cubic stiffness (4th-order tensor
rotation written independently of the Mandel 6x6 one), slip rates of a uniaxial stress
along [001] / [111] from the Schmid factors in closed form, saturation x -> C/D of the
nonlinear kinematic hardening, closed-form static recovery, the interaction matrix of
TFEL / code_aster entry by entry, backward-Euler tangent vs central finite differences,
Runge-Kutta vs a converged backward Euler, bad input.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from hifi_cases import CRYSTAL_MAT, crystal_spec
from test_laws import _mod
from romnet.errors import InputError, MaterialError, UnsupportedError
from romnet.materials import build_law, euler_bunge_matrix
from romnet.materials.anisotropy import mandel_rotation
from romnet.materials.slip_systems import interaction_classes, schmid_mandel
from romnet.tensors import SQRT2

Y1111, Y1122, Y1212 = 2.5e5, 1.6e5, 1.3e5


def cubic_tensor(c11, c12, c44):
    C = np.zeros((3, 3, 3, 3))
    for i in range(3):
        for j in range(3):
            for k in range(3):
                for l in range(3):
                    C[i, j, k, l] = (c12 * (i == j) * (k == l) + c44 * ((i == k) * (j == l) + (i == l) * (j == k))
                                     + (c11 - c12 - 2 * c44) * (i == j == k == l))
    return C


def mandel(t):
    return np.array([t[0, 0], t[1, 1], t[2, 2], SQRT2 * t[0, 1], SQRT2 * t[1, 2], SQRT2 * t[0, 2]])


def tensor(m):
    s = m[3:] / SQRT2
    return np.array([[m[0], s[0], s[2]], [s[0], m[1], s[1]], [s[2], s[1], m[2]]])


def simple_crystal(method="runge_kutta", kin=None, iso=None, R=None, families=("octahedral",), flow=None):
    pots = []
    for fam in families:
        p = {"name": fam[:3], "family": fam,
             "flow": flow or {"type": "norton", "K": 200.0, "n": 5.0},
             "isotropic": iso or {"type": "constant", "R0": 50.0}}
        if kin is not None:
            p["kinematic"] = kin
        pots.append(p)
    spec = {"law": "gen_evp", "elasticity": {"type": "cubic", "y1111": Y1111, "y1122": Y1122, "y1212": Y1212},
            "potentials": pots,
            "integration": ({"method": "runge_kutta", "tolerance": 1e-8} if method == "runge_kutta"
                            else {"method": "theta_method_a", "tolerance": 1e-12})}
    if R is not None:
        spec["orientation"] = {"type": "matrix", "R": np.asarray(R).tolist()}
    return spec


# ----------------------------------------------------------------------------- elasticity
@pytest.mark.parametrize("law", ["elastic", "crystal"])
def test_cubic_elasticity_rotated(law):
    """sigma = C_global : eps with C_global_ijkl = R_pi R_qj R_rk R_sl C_pqrs (tensor form)."""
    R = euler_bunge_matrix(35.0, 50.0, 70.0)
    C = cubic_tensor(Y1111, Y1122, Y1212)
    Cg = np.einsum("pi,qj,rk,sl,pqrs->ijkl", R, R, R, R, C)
    rng = np.random.default_rng(1)
    eps = [tensor(v) for v in rng.normal(scale=1e-5, size=(5, 6))]
    if law == "elastic":
        spec = {"law": "elastic", "elasticity": {"type": "cubic", "y1111": Y1111, "y1122": Y1122, "y1212": Y1212},
                "orientation": {"type": "matrix", "R": R.tolist()}}
    else:
        spec = simple_crystal(R=R, iso={"type": "constant", "R0": 1e4})   # stays elastic
    lw = build_law(spec)
    res = lw.integrate(np.array([mandel(e) for e in eps]), 20.0, 1.0, None, tangent=True)
    ref = np.array([mandel(np.einsum("ijkl,kl->ij", Cg, e)) for e in eps])
    assert np.abs(res.stress - ref).max() <= 1e-10 * np.abs(ref).max()
    # the tangent is the rotated stiffness; a wrong rotation (R^T) is detected
    Cm = np.array([[mandel(np.einsum("ijkl,kl->ij", Cg, tensor(b))) for b in np.eye(6)]]).transpose(0, 2, 1)[0]
    assert np.abs(res.tangent[0] - Cm).max() <= 1e-9 * np.abs(Cm).max()
    Q = mandel_rotation(R.T)
    assert np.abs(Q.T @ build_law({**spec, "orientation": None}).integrate(
        np.eye(6) * 1e-6, 20.0, 1.0, None).tangent[0] @ Q * 1e-6 - Cm * 1e-6).max() > 1e-3 * np.abs(Cm).max() * 1e-6


def test_orthotropic_and_anisotropic_constants():
    E1, E2, E3, n12, n13, n23, G12, G13, G23 = 1.5e5, 1.0e5, 0.8e5, 0.3, 0.25, 0.35, 5e4, 4e4, 3e4
    law = build_law({"law": "elastic", "elasticity": {"type": "orthotropic", "E1": E1, "E2": E2, "E3": E3,
                                                      "nu12": n12, "nu13": n13, "nu23": n23,
                                                      "G12": G12, "G13": G13, "G23": G23}})
    C = law.integrate(np.zeros((1, 6)), 20.0, 1.0, None).tangent[0]
    S = np.linalg.inv(C)
    # uniaxial stress along 1: eps1 = s/E1, eps2 = -nu12 s/E1; shear: eps12 = s12 / (2 G12)
    assert np.isclose(S[0, 0], 1 / E1) and np.isclose(S[1, 0], -n12 / E1) and np.isclose(S[2, 1], -n23 / E2)
    assert np.isclose(S[3, 3], 1 / (2 * G12)) and np.isclose(S[4, 4], 1 / (2 * G23)) and np.isclose(S[5, 5], 1 / (2 * G13))
    # the 21 Abaqus-ordered constants of a known tensor give the same stresses
    Ct = cubic_tensor(Y1111, Y1122, Y1212)
    Ct[0, 1, 2, 2] = Ct[1, 0, 2, 2] = Ct[2, 2, 0, 1] = Ct[2, 2, 1, 0] = 7e3            # D1233 -> "D3312"
    names = ("D1111 D1122 D2222 D1133 D2233 D3333 D1112 D2212 D3312 D1212 D1113 D2213 D3313 D1213 D1313 D1123 "
             "D2223 D3323 D1223 D1323 D2323").split()
    el = {"type": "anisotropic", **{k: float(Ct[tuple(int(c) - 1 for c in k[1:])]) for k in names}}
    lw = build_law({"law": "elastic", "elasticity": el})
    e = np.array([1e-4, -2e-4, 3e-4, 1e-4, -1e-4, 2e-4])
    ref = mandel(np.einsum("ijkl,kl->ij", Ct, tensor(e)))
    assert np.allclose(lw.integrate(e[None], 20.0, 1.0, None).stress[0], ref, rtol=1e-12, atol=1e-9)
    # today's isotropic spelling and the explicit type agree
    a = build_law({"law": "elastic", "elasticity": {"young": 2e5, "poisson": 0.3}}).integrate(e[None], 20.0)
    b = build_law({"law": "elastic", "elasticity": {"type": "isotropic", "young": 2e5, "poisson": 0.3}}).integrate(
        e[None], 20.0)
    assert np.array_equal(a.stress, b.stress)


def test_interaction_matrix_is_tfel_code_aster():
    """The 12x12 octahedral matrix (h1 self, h2 coplanar, h3 Hirth, h4 collinear, h5 glissile,
    h6 Lomer) is TFEL's MetallicCFCGenericSlidingSystemsInteractionMatrix entry by entry."""
    rows = ["1 2 2 4 5 5 5 6 3 5 3 6", "2 1 2 5 3 6 4 5 5 5 6 3", "2 2 1 5 6 3 5 3 6 4 5 5",
            "4 5 5 1 2 2 6 5 3 6 3 5", "5 3 6 2 1 2 3 5 6 5 5 4", "5 6 3 2 2 1 5 4 5 3 6 5",
            "5 4 5 6 3 5 1 2 2 6 5 3", "6 5 3 5 5 4 2 1 2 3 5 6", "3 5 6 3 6 5 2 2 1 5 4 5",
            "5 5 4 6 5 3 6 3 5 1 2 2", "3 6 5 3 5 6 5 5 4 2 1 2", "6 3 5 5 4 5 3 6 5 2 2 1"]
    ref = np.array([[int(v) - 1 for v in r.split()] for r in rows])
    assert np.array_equal(interaction_classes("octahedral"), ref)
    assert np.array_equal(interaction_classes("octahedral"), interaction_classes("octahedral").T)


# ----------------------------------------------------------------------------- flow
def uniaxial_state(law, sigma0, R):
    """Strain (1, 6) giving the uniaxial stress sigma0 e3 (x) e3 (global) elastically."""
    C = law.integrate(np.zeros((1, 6)), 20.0, 1.0, None, tangent=True).tangent[0]
    s = np.zeros(6)
    s[2] = sigma0
    return np.linalg.solve(C, s)[None]


@pytest.mark.parametrize("axis,family,schmid,active", [
    ((0, 0, 1), "octahedral", 1 / np.sqrt(6), 8),
    ((1, 1, 1), "cubic", np.sqrt(2) / 3, 3),
    ((1, 1, 1), "octahedral", np.sqrt(6) / 9, 6)])
def test_uniaxial_slip_rates_closed_form(axis, family, schmid, active):
    """Uniaxial stress sigma0 along the crystal direction `axis` (the crystal is rotated so
    that it is the global z axis): the systems with Schmid factor m slip at
    (<m sigma0 - R0> / K)^n, the others not; eps_p_dot_zz = sum m gamma_dot. Checked on a
    short time step (stress change 1e-9 relative): rates within 1e-5."""
    a = np.array(axis, float) / np.linalg.norm(axis)
    b = np.cross(a, [1.0, 0, 0] if abs(a[0]) < 0.9 else [0, 1.0, 0])
    b /= np.linalg.norm(b)
    R = np.column_stack([b, np.cross(a, b), a])            # R e3 = a: global z = crystal `axis`
    K, n, R0, sigma0 = 200.0, 5.0, 50.0, 400.0
    law = build_law(simple_crystal(R=R, families=(family,)))
    eps = uniaxial_state(law, sigma0, R)
    dt = 1e-9
    st = law.initial_state(1)
    st[0, 7:13], st[0, 13], st[0, 14] = eps[0], 20.0, 1.0   # held strain: eto_n = eps, T_n, init
    res = law.integrate(eps, 20.0, dt, st)
    assert np.allclose(res.stress[0], [0, 0, sigma0, 0, 0, 0], atol=1e-6 * sigma0)
    gdot = law.slips(res.state)[0] / dt
    expected = (max(schmid * sigma0 - R0, 0.0) / K) ** n
    on = np.abs(gdot) > 1e-3 * expected
    assert on.sum() == active
    assert np.allclose(np.abs(gdot[on]), expected, rtol=1e-5)
    epdot = law.plastic_strain(res.state)[0] / dt
    assert np.isclose(epdot[2], active * schmid * expected, rtol=1e-5)
    # the same through the implicit scheme (one small step)
    law_i = build_law(simple_crystal("theta_method_a", R=R, families=(family,)))
    res_i = law_i.integrate(eps, 20.0, dt, law_i.initial_state(1))
    assert np.allclose(law_i.slips(res_i.state)[0] / dt, gdot, rtol=1e-5, atol=1e-8 * expected)


@pytest.mark.parametrize("method", ["runge_kutta", "theta_method_a"])
def test_kinematic_saturation(method):
    """Monotonic slip: x_s = C alpha_s -> C/D on the active systems (within 1e-6 after a
    slip of ~ 20/D)."""
    C, D = 5e4, 500.0
    law = build_law(simple_crystal(method, kin={"type": "nonlinear", "C": C, "D": D}))
    st = law.initial_state(1)
    e = np.zeros((1, 6))
    for k in range(1, 61):
        e[0, 2] = 0.2 * k / 60                       # tension along [001], slow
        e[0, 0] = e[0, 1] = -0.5 * e[0, 2]
        res = law.integrate(e, 20.0, 1.0, st, tangent=False)
        assert res.all_converged
        st = res.state
    x = C * st[0, law.ALPHA]
    g = law.slips(st)[0]
    act = np.abs(g) > 1e-3
    assert act.sum() == 8
    assert np.allclose(np.abs(x[act]), C / D, rtol=1e-6)


def test_static_recovery_closed_form():
    """No slip (|x| < R0, zero stress): alpha_dot = -(C alpha / M)^m, so
    alpha^(1-m) = alpha0^(1-m) + (m - 1) (C/M)^m t."""
    C, m, M, a0, t = 8e4, 3.0, 2000.0, 4e-4, 50.0
    spec = simple_crystal(kin={"type": "nonlinear", "C": C, "D": 100.0, "m": m, "M": M},
                          iso={"type": "constant", "R0": 100.0})
    law = build_law(spec)
    st = law.initial_state(1)
    st[0, law.ALPHA.start + 3] = a0
    res = law.integrate(np.zeros((1, 6)), 20.0, t, st)
    ref = (a0 ** (1 - m) + (m - 1) * (C / M) ** m * t) ** (1 / (1 - m))
    assert np.isclose(res.state[0, law.ALPHA.start + 3], ref, rtol=1e-6)
    assert np.all(law.slips(res.state) == 0)
    law_i = build_law({**spec, "integration": {"method": "theta_method_a", "tolerance": 1e-12}})
    st_i = st.copy()
    for _ in range(400):                       # backward Euler converges to the same value
        st_i = law_i.integrate(np.zeros((1, 6)), 20.0, t / 400, st_i).state
    assert np.isclose(st_i[0, law.ALPHA.start + 3], ref, rtol=2e-3)


def random_path(n, rng, amp=4e-3):
    d = rng.normal(size=(n, 6))
    d /= np.linalg.norm(d, axis=1)[:, None]
    return d * rng.uniform(0.5 * amp, amp, n)[:, None]


def loaded_state(law, target, temp, dt, n_inc=3):
    """State after loading proportionally to ``target`` in n_inc increments of dt."""
    st = law.initial_state(target.shape[0])
    for k in range(1, n_inc + 1):
        st = law.integrate(target * k / n_inc, temp, dt, st, tangent=False).state
    return st


def test_runge_kutta_vs_converged_backward_euler():
    """Same multiaxial history: Runge-Kutta (10 increments, tolerance 1e-8) vs backward
    Euler with 100 sub-increments per increment (first order): stresses within 1e-3."""
    rng = np.random.default_rng(3)
    R = euler_bunge_matrix(10.0, 20.0, 30.0)
    kin = {"type": "nonlinear", "C": 6e4, "D": 600.0, "m": 2.0, "M": 3000.0}
    rk = build_law(simple_crystal("runge_kutta", kin=kin, R=R, families=("octahedral", "cubic")))
    be = build_law(simple_crystal("theta_method_a", kin=kin, R=R, families=("octahedral", "cubic")))
    n = 20
    target = random_path(n, rng)
    s_rk, s_be = rk.initial_state(n), be.initial_state(n)
    for k in range(1, 11):
        e = target * k / 10
        r1 = rk.integrate(e, 20.0, 0.5, s_rk, tangent=False)
        s_rk = r1.state
        for j in range(1, 101):
            r2 = be.integrate(target * (k - 1 + j / 100) / 10, 20.0, 0.005, s_be, tangent=False)
            s_be = r2.state
        assert r1.all_converged and r2.all_converged
    err = np.abs(r1.stress - r2.stress).max() / np.abs(r2.stress).max()
    assert err < 1e-3 and rk.cumulated_plastic_strain(s_rk).min() > 1e-4
    assert np.allclose(rk.plastic_strain(s_rk), be.plastic_strain(s_be), rtol=0, atol=2e-3 * np.abs(
        be.plastic_strain(s_be)).max())


# ----------------------------------------------------------------------------- tangent
def fd_tangent(law, eps, temp, dt, state, h=1e-8):
    out = np.empty((eps.shape[0], 6, 6))
    for j in range(6):
        ep, em = eps.copy(), eps.copy()
        ep[:, j] += h
        em[:, j] -= h
        out[:, :, j] = (law.integrate(ep, temp, dt, state, tangent=False).stress
                        - law.integrate(em, temp, dt, state, tangent=False).stress) / (2 * h)
    return out


@pytest.mark.parametrize("iso", ["constant", "nonlinear"])
@pytest.mark.parametrize("recovery", [False, True])
def test_backward_euler_tangent_vs_finite_differences(iso, recovery):
    """Exact consistent tangent of the backward-Euler scheme: relative Frobenius error < 1e-5
    at every point (loading and unloading from plastic states, T-dependent coefficients)."""
    spec = copy.deepcopy(crystal_spec("theta_method_a"))
    for p in spec["potentials"]:
        if iso == "nonlinear":
            p["isotropic"] = {"type": "nonlinear", "R0": 60.0, "Q": 30.0, "b": 8.0}
        if not recovery:
            p["kinematic"].pop("m", None)
            p["kinematic"].pop("M", None)
    law = build_law(spec)
    rng = np.random.default_rng(5)
    n = 12
    target = random_path(n, rng, 6e-3)
    temp = rng.uniform(100, 800, n)
    st = loaded_state(law, target, temp, 0.5)
    for e in (target * 1.15, target * 0.9):
        res = law.integrate(e, temp, 0.5, st)
        fd = fd_tangent(law, e, temp, 0.5, st)
        err = np.linalg.norm(res.tangent - fd, axis=(1, 2)) / np.linalg.norm(fd, axis=(1, 2))
        assert err.max() < 1e-5, err.max()


def test_runge_kutta_tangent_measured():
    """The Runge-Kutta law returns the backward-Euler tangent at its end state: close to the
    exact derivative of the Runge-Kutta update (measured here: 5e-2 relative at most), enough for
    the HF Newton to converge (tests/test_crystal_hifi.py)."""
    law = build_law(crystal_spec("runge_kutta"))
    rng = np.random.default_rng(6)
    n = 8
    target = random_path(n, rng, 6e-3)
    st = loaded_state(law, target, 500.0, 0.5)
    e = target * 1.1
    res = law.integrate(e, 500.0, 0.5, st)
    fd = fd_tangent(law, e, 500.0, 0.5, st, h=1e-7)
    err = np.linalg.norm(res.tangent - fd, axis=(1, 2)) / np.linalg.norm(fd, axis=(1, 2))
    print(f"\nRK tangent vs FD: max relative error {err.max():.2e}")
    assert err.max() < 0.1


# ----------------------------------------------------------------------------- bad input
BASE = simple_crystal(kin={"type": "nonlinear", "C": 1e4, "D": 100.0})


@pytest.mark.parametrize("spec,where", [
    (_mod(BASE, ["orientation"], {"type": "matrix", "R": [[1, 0, 0], [0, 1, 0], [0, 0.1, 1]]}), "orientation.R"),
    (_mod(BASE, ["orientation"], {"type": "matrix", "R": [[1, 0, 0], [0, 1, 0], [0, 0, -1]]}), "orientation.R"),
    (_mod(BASE, ["orientation"], {"type": "euler", "R": np.eye(3).tolist()}), "orientation.type"),
    (_mod(BASE, ["elasticity", "y1212"], KeyError), "elasticity.y1212"),
    (_mod(BASE, ["elasticity", "y1122"], 3e5), "positive definite"),
    (_mod(BASE, ["elasticity", "type"], "hexagonal"), "elasticity.type"),
    (_mod(BASE, ["potentials", 0, "family"], "bcc"), "potentials[0].family"),
    (_mod(BASE, ["potentials", 0, "flow"], {"type": "hyperbolic", "K": 1.0, "n": 2.0}), "potentials[0].flow.eps0"),
    (_mod(BASE, ["potentials", 0, "kinematic", "m"], 2.0), "needs both 'm' and 'M'"),
    (_mod(BASE, ["potentials", 0, "interaction"], [1, 2, 3, 4, 5, 6, 7]), "potentials[0].interaction"),
    (_mod(BASE, ["integration", "method"], "euler"), "integration.method"),
    (_mod(BASE, ["flow"], {"type": "norton", "K": 1, "n": 1}), "inside 'potentials'"),
    ({"law": "gen_evp", "elasticity": BASE["elasticity"], "flow": {"type": "plasticity"}}, "needs isotropic"),
])
def test_bad_crystal_spec(spec, where):
    with pytest.raises(MaterialError, match=r".*" + __import__("re").escape(where)):
        build_law(spec)


ZSET_BAD = [
    ("*interaction slip\n      1. 1. 0.6 12.3 1.6 1.8", "*interaction slip\n      1. 1. 0.6 12.3 1.6 1.8 2.",
     InputError, "7 coefficients"),
    ("      Kinf  40.", "", InputError, "missing coefficient 'Kinf'"),
    ("    *isotropic constant\n      R0  160.", "    *isotropic linear\n      R0  160.", UnsupportedError,
     "*isotropic linear"),
    ("    x2 -1. 1. 0.", "    x2 1. 1. 0.", InputError, "parallel"),   # non-orthogonal axes are orthogonalised
    ("  **potential cubic cub", "  **potential dodecahedral cub", UnsupportedError, "dodecahedral"),
    ("  **potential cubic cub", "  **potential cubic oct", InputError, "used twice"),
    ("    *integration runge_kutta 1.e-5 dtmin 1.e-12", "    *integration runge_kutta 1.e-5 dmin 1.e-12",
     InputError, "dtmin"),
    ("***behavior gen_evp runge_jacobian", "***behavior gen_evp runge_jacobian fast", UnsupportedError, "'fast'"),
    ("      m  3.", "      m  3.\n      q  2.", UnsupportedError, "unknown coefficient 'q'"),
]


@pytest.mark.parametrize("old,new,exc,msg", ZSET_BAD)
def test_bad_zset_crystal_material(tmp_path, old, new, exc, msg):
    from adapters.zset.material import read_material
    text = CRYSTAL_MAT.read_text()
    assert old in text
    p = tmp_path / "mat"
    p.write_text(text.replace(old, new, 1))
    with pytest.raises(exc) as info:
        read_material(p)
    s = str(info.value)
    assert msg in s and s.startswith(str(p) + ":"), s


def test_zset_crystal_material_reads_and_builds():
    from adapters.zset.material import read_material
    spec = read_material(CRYSTAL_MAT)
    law = build_law(spec)
    assert [p.name for p in law.potentials] == ["oct", "cub"] and law.N == 18
    assert law.method == "runge_kutta" and law.tolerance == 1e-5 and law.dtmin == 1e-12
    assert np.allclose(law.orientation.R[0], [2 ** -0.5, 2 ** -0.5, 0])
    assert law.potentials[1].h == [1.0, 0.5, 0.5] and law.potentials[0].h[3] == 12.3
    assert law.state_names[:2] == ["p", "evp11"] and "cub_gamma6" in law.state_names


def test_zset_crystal_unconfirmed_conventions_are_noted():
    """romnet info shows the crystal conventions that could not be confirmed (hyperbolic flow
    formula, order of the interaction coefficients); none for a Norton law without
    interaction coefficients."""
    from adapters.zset.material import crystal_notes, read_material
    notes = crystal_notes(read_material(CRYSTAL_MAT))
    assert len(notes) == 2 and "*flow hyperbolic" in notes[0] and "cubic, octahedral" in notes[1]
    assert crystal_notes(simple_crystal()) == []
