"""Consistent tangents vs central finite differences.

For each law, random multiaxial strains (Mandel) at random temperatures with
temperature-dependent coefficients; the analytic tangent must match
``(sigma(eps + h e_j) - sigma(eps - h e_j)) / 2h`` (h = 1e-8, strains ~1e-3) with
``||T_fd - T||_F / ||T||_F < 1e-5`` at every point, in plastic loading and in elastic
unloading from a plastic state.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from romnet.materials import build_law
from romnet.tensors import deviator

from test_laws import NORTON_AF, NORTON_T, PLASTIC_LIN, tab

H = 1e-8
TOL = 1e-5

ELASTIC_T = {"law": "elastic",
             "elasticity": {"young": tab((0, 2.1e5), (500, 1.6e5)), "poisson": tab((0, 0.28), (500, 0.34))},
             "thermal_strain": {"alpha": tab((0, 1.2e-5), (500, 1.8e-5)), "ref_temperature": 20.0}}
VOCE_T = {"law": "gen_evp",
          "elasticity": ELASTIC_T["elasticity"], "thermal_strain": ELASTIC_T["thermal_strain"],
          "flow": {"type": "plasticity"},
          "isotropic": {"type": "nonlinear", "R0": tab((0, 150), (500, 80)), "Q": tab((0, 80), (500, 40)),
                        "b": tab((0, 30), (500, 60))}}
PLASTIC_AF_T = dict(copy.deepcopy(VOCE_T),
                    kinematic={"type": "nonlinear", "C": tab((0, 5e4), (500, 3e4)), "D": tab((0, 300), (500, 500))})
PLASTIC_LINKIN = {"law": "gen_evp", "elasticity": {"young": 2e5, "poisson": 0.3},
                  "flow": {"type": "plasticity"}, "kinematic": {"type": "linear", "C": tab((0, 3e4), (500, 1e4))},
                  "isotropic": {"type": "linear", "R0": 100.0, "H": tab((0, 500), (500, 100))}}

CASES = {
    "plastic_linear": (PLASTIC_LIN, 1.0),
    "voce_T": (VOCE_T, 1.0),
    "plastic_af_T": (PLASTIC_AF_T, 1.0),
    "plastic_linear_kinematic": (PLASTIC_LINKIN, 1.0),
    "norton_af_dt0.2": (NORTON_AF, 0.2),
    "norton_af_dt1e-5": (NORTON_AF, 1e-5),
    "norton_af_dt1e3": (NORTON_AF, 1e3),
    "norton_T_dt1": (NORTON_T, 1.0),
    # hardening evaluated inside the increment (Z-set's theta_method_a convention)
    "voce_T_hardening_theta": ({**VOCE_T, "integration": {"hardening_theta": 0.9}}, 1.0),
    "norton_T_hardening_theta": ({**NORTON_T, "integration": {"hardening_theta": 0.95}}, 1.0),
}


def fd_tangent(law, eps, temp, dt, state):
    n = eps.shape[0]
    out = np.empty((n, 6, 6))
    for j in range(6):
        ep, em = eps.copy(), eps.copy()
        ep[:, j] += H
        em[:, j] -= H
        rp = law.integrate(ep, temp, dt, state, tangent=False)
        rm = law.integrate(em, temp, dt, state, tangent=False)
        assert rp.converged.all() and rm.converged.all()
        out[:, :, j] = (rp.stress - rm.stress) / (2 * H)
    return out


def rel_err(a, b):
    return np.linalg.norm(a - b, axis=(1, 2)) / np.linalg.norm(b, axis=(1, 2))


def preloaded(law, n, rng, dt):
    """Random multiaxial loading history of 3 increments (strain ~ 1e-3 .. 5e-3)."""
    state = law.initial_state(n)
    eps = np.zeros((n, 6))
    temp = rng.uniform(20, 450, n)
    for _ in range(3):
        eps = eps + rng.normal(size=(n, 6)) * 1.5e-3
        r = law.integrate(eps, temp, dt, state, tangent=False)
        assert r.converged.all()
        state = r.state
    return eps, temp, state


def test_elastic_tangent():
    law = build_law(ELASTIC_T)
    rng = np.random.default_rng(0)
    eps = rng.normal(size=(40, 6)) * 2e-3
    temp = rng.uniform(-50, 600, 40)
    r = law.integrate(eps, temp, 1.0, None)
    assert rel_err(r.tangent, fd_tangent(law, eps, temp, 1.0, None)).max() < TOL


@pytest.mark.parametrize("name", list(CASES))
def test_consistent_tangent_loading(name):
    spec, dt = CASES[name]
    law = build_law(spec)
    rng = np.random.default_rng(list(CASES).index(name))
    n = 60
    eps, temp, state = preloaded(law, n, rng, dt)
    eps = eps + rng.normal(size=(n, 6)) * 1.5e-3
    temp = np.clip(temp + rng.normal(size=n) * 30, 0, 500)
    r = law.integrate(eps, temp, dt, state, tangent=True)
    assert r.converged.all()
    flowing = r.state[:, 0] > state[:, 0]
    assert flowing.mean() > 0.5                         # really a plastic test
    err = rel_err(r.tangent, fd_tangent(law, eps, temp, dt, state))
    assert err.max() < TOL, (err.max(), int(np.argmax(err)))
    # the plastic tangent differs from the elastic one (otherwise the test is void); a
    # point barely over the threshold (Norton, small dt) may have a near-elastic tangent
    el = law.elasticity.tangent(*law.elasticity.moduli(temp), n)
    assert np.median(rel_err(r.tangent, el)[flowing]) > 1e-2


@pytest.mark.parametrize("name", list(CASES))
def test_consistent_tangent_elastic_unloading(name):
    """From a plastic state, move the strain back along the flow direction so that
    J(sigma - X) = R/2: no flow, tangent = elastic C(T), FD agrees."""
    spec, dt = CASES[name]
    law = build_law(spec)
    rng = np.random.default_rng(100 + list(CASES).index(name))
    n = 40
    eps, temp, state = preloaded(law, n, rng, dt)
    r0 = law.integrate(eps, temp, dt, state, tangent=False)
    st = r0.state
    c = np.broadcast_to(law.kinematic[0](temp), (n,)) if law.kinematic else np.zeros(n)
    xi = deviator(r0.stress) - (2 / 3 * c)[:, None] * st[:, 7:13]
    j = np.sqrt(1.5 * np.sum(xi ** 2, axis=1))
    rr, _ = law.isotropic.value(law.isotropic.coefficients(temp), st[:, 0])
    g = np.broadcast_to(law.elasticity.moduli(temp)[0], (n,))
    lam = (j - 0.5 * rr) / (3 * g)
    eps_u = eps - lam[:, None] * 1.5 * xi / j[:, None]
    r = law.integrate(eps_u, temp, dt, st, tangent=True)
    assert np.array_equal(r.state, st)                   # no flow at all
    el = law.elasticity.tangent(*law.elasticity.moduli(temp), n)
    np.testing.assert_allclose(r.tangent, el, rtol=1e-14, atol=1e-9)
    assert rel_err(r.tangent, fd_tangent(law, eps_u, temp, dt, st)).max() < TOL


def test_tangent_mixed_points_in_one_call():
    """Elastic and plastic points in the same call get their own tangents."""
    law = build_law(NORTON_T)
    rng = np.random.default_rng(5)
    n = 50
    eps = rng.normal(size=(n, 6)) * 3e-3
    eps[::2] *= 1e-3                                     # half of the points stay elastic
    temp = rng.uniform(20, 400, n)
    r = law.integrate(eps, temp, 0.5, law.initial_state(n))
    flowing = r.state[:, 0] > 0
    assert flowing[1::2].all() and not flowing[::2].any()
    assert rel_err(r.tangent, fd_tangent(law, eps, temp, 0.5, law.initial_state(n))).max() < TOL
