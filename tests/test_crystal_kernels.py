"""The fast kernels of the crystal law against plain references.

* packed 6x6 algebra (romnet/materials/sym6.py) vs numpy.linalg (1e-12 relative), and a
  matrix that is not positive definite is flagged;
* the backward-Euler static-recovery update (closed forms for m = 1, 2, 3, Newton
  otherwise) solves its scalar equation to 1e-14 relative;
* compliance() of every elasticity type is the inverse stiffness (1e-13);
* integration in blocks of points gives the results of one block (1e-12; Runge-Kutta: 1e-9
  and tangent 1e-5, see the test);
* the general Newton / tangent path (where S + B is not positive definite) gives the
  results of the Cholesky path, tangent within 1e-5 of finite differences;
* the Runge-Kutta tangent from the substep sensitivities is closer to the derivative of the
  exact increment (finite differences of a tolerance-1e-11 integration) than the
  backward-Euler tangent at the end state: max 4e-2 (measured 3.5e-2) and 2x smaller on
  average.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from hifi_cases import crystal_spec
from test_crystal import fd_tangent, loaded_state, random_path
from romnet.materials import build_law, crystal, euler_bunge_matrix, sym6
from romnet.materials.anisotropy import mandel_rotation, parse_elasticity, stiffness_provider


def test_sym6_cholesky_solve_inverse_rotation():
    rng = np.random.default_rng(0)
    n = 50
    X = rng.normal(size=(n, 6, 6))
    A = X @ X.transpose(0, 2, 1) + 0.1 * np.eye(6)
    P = sym6.pack(A)
    assert np.array_equal(sym6.unpack(P), A) and np.array_equal(sym6.pack_rows(A).T, P)
    ch = sym6.Cholesky(P)
    assert ch.ok.all()
    b = rng.normal(size=(6, n))
    ref = np.linalg.solve(A, b.T[:, :, None])[:, :, 0]
    assert np.abs(ch.solve(b).T - ref).max() <= 1e-12 * np.abs(ref).max()
    B = rng.normal(size=(6, n, 3))
    ref3 = np.linalg.solve(A, B.transpose(1, 0, 2))
    assert np.abs(ch.solve(B).transpose(1, 0, 2) - ref3).max() <= 1e-12 * np.abs(ref3).max()
    inv = np.linalg.inv(A)
    assert np.abs(sym6.unpack(ch.inverse()) - inv).max() <= 1e-12 * np.abs(inv).max()
    Q = mandel_rotation(euler_bunge_matrix(10.0, 70.0, -30.0))
    assert np.abs(sym6.unpack(sym6.rotation(Q) @ P) - Q.T @ A @ Q).max() <= 1e-12 * np.abs(A).max()
    w = rng.random((n, 18))
    M = rng.normal(size=(18, 6))
    assert np.allclose(sym6.unpack((w @ sym6.pair_products(M)).T), np.einsum("si,ns,sj->nij", M, w, M),
                       rtol=1e-13, atol=0)
    A[3] -= 20.0 * np.eye(6)                                       # indefinite
    assert np.flatnonzero(~sym6.Cholesky(sym6.pack(A)).ok).tolist() == [3]


@pytest.mark.parametrize("m", [1.0, 2.0, 3.0, 2.5, 4.0])
def test_recovery_update_solves_its_equation(m):
    """den alpha + beta |alpha|^m sign(alpha) = rhs over 12 decades of beta."""
    spec = copy.deepcopy(crystal_spec("theta_method_a"))
    spec["potentials"][0]["kinematic"]["m"] = m
    law = build_law(spec)
    rng = np.random.default_rng(1)
    n, N = 400, law.N
    rhs = rng.normal(size=(n, N)) * 10 ** rng.uniform(-7, -2, (n, 1))
    den = 1.0 + 5.0 * rng.random((n, N))
    beta = 10 ** rng.uniform(-10, 12, (n, 1)) * (law._rows["Mrec"] < np.inf)
    c = {"beta": beta, "mrec": law._rows["mrec"]}
    alpha, dres = law._kinematic(rhs, den.copy(), c)
    res = den * alpha + beta * np.abs(alpha) ** m * np.sign(alpha) - rhs
    assert np.abs(res).max() <= 1e-14 * np.abs(rhs).max()
    assert np.all(np.sign(alpha) == np.sign(rhs))
    assert np.allclose(dres, den + m * beta * np.abs(alpha) ** (m - 1.0), rtol=1e-13, atol=0)


@pytest.mark.parametrize("spec", [
    {"type": "cubic", "y1111": {"temperature": [20, 1000], "value": [2.5e5, 2e5]}, "y1122": 1.6e5, "y1212": 1.3e5},
    {"young": {"temperature": [20, 1000], "value": [2e5, 1.5e5]}, "poisson": 0.3},
    {"type": "orthotropic", "E1": 1.5e5, "E2": 1e5, "E3": 0.8e5, "nu12": 0.3, "nu13": 0.25, "nu23": 0.35,
     "G12": 5e4, "G13": 4e4, "G23": 3e4}])
def test_compliance_is_inverse_stiffness(spec):
    el = stiffness_provider(parse_elasticity(spec))
    T = np.array([20.0, 300.0, 900.0])
    assert np.abs(el.compliance(T) @ el.stiffness(T) - np.eye(6)).max() <= 1e-13


@pytest.mark.parametrize("method", ["theta_method_a", "runge_kutta"])
def test_blocks_of_points(method, monkeypatch):
    law = build_law(crystal_spec(method))
    rng = np.random.default_rng(2)
    n = 30
    target = random_path(n, rng, 6e-3)
    st = loaded_state(law, target, 600.0, 0.5, 2)
    ref = law.integrate(target * 1.2, 600.0, 0.5, st)
    monkeypatch.setitem(crystal.POINTS_PER_BLOCK, method, 7)
    res = law.integrate(target * 1.2, 600.0, 0.5, st)
    # backward Euler: the same arithmetic per point; Runge-Kutta: round-off in the BLAS products
    # of other sizes can flip a step acceptance (errmax = 1 +- 1e-15), which moves the result
    # within the integration tolerance and the substep-sensitivity tangent by O(substep)
    rk = method == "runge_kutta"
    for a, b, tol in ((res.stress, ref.stress, 1e-9 if rk else 1e-12), (res.state, ref.state, 1e-9 if rk else 1e-12),
                      (res.tangent, ref.tangent, 1e-5 if rk else 1e-12)):
        assert np.abs(a - b).max() <= tol * np.abs(b).max()
    assert res.all_converged and (rk or res.iterations == ref.iterations)


def test_backward_euler_general_path(monkeypatch):
    """Where S + B is not positive definite (dalpha < 0: a kinematic variable beyond its
    saturation after a temperature change) Newton steps and tangent take the general path
    (slip-space blocks + 6x6 LU): forced at every point here, it gives the results of the
    Cholesky path (1e-9) and a tangent within 1e-5 of finite differences."""
    law = build_law(crystal_spec("theta_method_a"))
    rng = np.random.default_rng(4)
    n = 10
    target = random_path(n, rng, 6e-3)
    temp = rng.uniform(100, 800, n)
    st = loaded_state(law, target, temp, 0.5)
    e = target * 1.15
    ref = law.integrate(e, temp, 0.5, st)

    class NotPositive(sym6.Cholesky):
        def __init__(self, p):
            super().__init__(p)
            self.ok = np.zeros_like(self.ok)
    monkeypatch.setattr(sym6, "Cholesky", NotPositive)
    res = law.integrate(e, temp, 0.5, st)
    assert res.all_converged and np.abs(res.stress - ref.stress).max() <= 1e-9 * np.abs(ref.stress).max()
    assert np.abs(res.tangent - ref.tangent).max() <= 1e-9 * np.abs(ref.tangent).max()
    fd = fd_tangent(law, e, temp, 0.5, st)
    err = np.linalg.norm(res.tangent - fd, axis=(1, 2)) / np.linalg.norm(fd, axis=(1, 2))
    assert err.max() < 1e-5, err.max()


def test_runge_kutta_sensitivity_tangent(monkeypatch):
    spec = crystal_spec("runge_kutta")
    law = build_law(spec)
    tight = copy.deepcopy(spec)
    tight["integration"] = dict(spec["integration"], tolerance=1e-11)
    ref = build_law(tight)
    rng = np.random.default_rng(6)
    n = 8
    target = random_path(n, rng, 6e-3)
    st = loaded_state(ref, target, 500.0, 0.5)
    e = target * 1.1
    fd = fd_tangent(ref, e, 500.0, 0.5, st, h=1e-7)

    def error():
        t = law.integrate(e, 500.0, 0.5, st).tangent
        return np.linalg.norm(t - fd, axis=(1, 2)) / np.linalg.norm(fd, axis=(1, 2))
    sens = error()
    monkeypatch.setattr(crystal, "RK_SENSITIVITY_TANGENT", False)
    end = error()
    print(f"\nRK tangent vs exact-increment FD: sensitivities max {sens.max():.2e} mean {sens.mean():.2e}; "
          f"backward Euler at the end state max {end.max():.2e} mean {end.mean():.2e}")
    assert sens.max() < 4e-2 and sens.mean() < 0.5 * end.mean()


@pytest.mark.parametrize("strength", [1e-4, 1.0, 30.0])
def test_slip_solve_with_isotropic_coupling(strength):
    """(D0 + E)^-1 rhs by potential blocks vs a dense N x N solve, weak to strong coupling
    through the isotropic hardening: 1e-12."""
    from romnet.materials import crystal_implicit
    spec = copy.deepcopy(crystal_spec("theta_method_a"))
    for p in spec["potentials"]:
        p["isotropic"] = {"type": "nonlinear", "R0": 60.0, "Q": 30.0, "b": 8.0}
    law = build_law(spec)
    rng = np.random.default_rng(8)
    m, N = 40, law.N
    c = law._coefs(np.full(m, 500.0), 0.5)
    q = {"act": rng.random((m, N)) < 0.6, "dalpha": rng.random((m, N)) * 1e-5, "gp": rng.random((m, N)) * 1e-4,
         "bev": 8.0 * rng.random((m, N)) * strength, "sz": np.sign(rng.normal(size=(m, N))),
         "sw": np.sign(rng.normal(size=(m, N)))}
    rhs = rng.normal(size=(m, N, 7))
    d0 = 1.0 + q["act"] * c["C"] * q["dalpha"]
    J = (q["act"] * q["sz"] * c["Q"])[:, :, None] * law.Hb * (q["bev"] * q["gp"] * q["sw"])[:, None, :]
    J[:, np.arange(N), np.arange(N)] += d0
    ref = np.linalg.solve(J, rhs)
    out = crystal_implicit._slip_solve(law, q, c, rhs)
    assert np.abs(out - ref).max() <= 1e-12 * np.abs(ref).max()
