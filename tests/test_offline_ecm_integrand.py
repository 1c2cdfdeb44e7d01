"""The ECM integrand in factored form (romnet.offline.ecm_integrand.FactoredIntegrand).

Reference: the formed integrand of :func:`romnet.offline.ecm.internal_force_integrand` on
MecaSequential (Z-set stresses, POD modes) -- products, integrals, row norms, the group
normalisation (including a self-equilibrated snapshot, whose norm needs the exact
integrals of |G|: the Cauchy-Schwarz bound would measure it against up to several times
more) and whole ECM runs (cold, warm-started with a candidate pool and a group floor):
the same points, weights to 1e-9. The 1-vs-2-rank equality of the enrichments that use it
is tests/test_online_learning.py's.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest

from conftest import zset_case
from romnet.offline.ecm import ZERO_TOL, cubature_error, ecm, internal_force_integrand, normalisation
from romnet.offline.ecm_integrand import FactoredIntegrand, factored_force_integrand
from romnet.offline.operators import mode_strains
from romnet.offline.pipeline import read_local
from romnet.offline.pod import NodalL2, RowLayout, pod
from romnet.store import CaseStore, write_case

ecm_module = importlib.import_module("romnet.offline.ecm")    # the module (romnet.offline.ecm is the function)


@pytest.fixture(scope="module")
def zset(tmp_path_factory):
    from adapters.zset import ADAPTER
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    path = write_case(tmp_path_factory.mktemp("zfact") / "cube.h5", case)
    with CaseStore(path) as st:
        L = RowLayout(st.mesh())
        U, _ = read_local(st, "imported", "U", L)
        sig, _ = read_local(st, "imported", "stress", L)  # Mandel
    eps = mode_strains(L, pod(U, NodalL2(L), tol=1e-6).modes)
    sig = sig.reshape(L.n_ip_local, 6, -1)
    # a self-equilibrated stress (reduced forces ~0, like residual stresses after unloading)
    dV = L.local_dV()
    s0 = sig[:, :, -1]
    gram = np.einsum("qci,q,qcj->ij", eps, dV, eps)
    c = np.linalg.solve(gram, np.einsum("qci,q,qc->i", eps, dV, s0))
    sig = np.concatenate([sig, (s0 - np.einsum("qci,i->qc", eps, c))[:, :, None]], axis=2)
    G, groups = internal_force_integrand(sig, eps)
    F, fgroups = factored_force_integrand(sig, eps)
    assert np.array_equal(groups, fgroups)
    return dict(sig=sig, eps=eps, G=G, F=F, groups=groups, dV=dV)


def test_products_rows_integrals(zset):
    G, F, dV = zset["G"], zset["F"], zset["dV"]
    assert F.shape == G.shape
    v = np.random.default_rng(0).normal(size=G.shape[1])
    assert np.allclose(F.dot(v), G @ v, rtol=0, atol=1e-12 * np.abs(G).max() * np.abs(v).sum())
    idx = [0, 5, G.shape[0] - 1, 5]
    assert np.array_equal(F.rows(idx), G[idx])
    assert F.rows([]).shape == (0, G.shape[1])           # a rank without candidates
    b, A_hat = F.integrals(dV)
    assert np.allclose(b, G.T @ dV, rtol=1e-12, atol=1e-12 * np.abs(G.T @ dV).max())
    A = np.abs(G).T @ dV
    assert np.all(A_hat >= A * (1 - 1e-12))                        # an upper bound ...
    assert np.allclose(F.abs_integrals(dV, np.arange(F.n_s)), A, rtol=1e-12)   # ... and the exact values
    assert np.allclose(F.abs_integrals(dV, [1])[F.n_m:2 * F.n_m], A[F.n_m:2 * F.n_m], rtol=1e-12)
    assert not np.any(F.abs_integrals(dV, [1])[:F.n_m])           # other groups untouched


def test_row_norms_need_a_scale_constant_per_group(zset):
    G, F = zset["G"], zset["F"]
    s = np.repeat(np.linspace(1.0, 2.0, F.n_s), F.n_m)
    s = np.append(s, 0.5)
    assert np.allclose(F.row_norms(s), np.sqrt(np.square(G) @ s ** 2), rtol=1e-12)
    s[1] *= 3.0
    with pytest.raises(ValueError, match="constant within each group"):
        F.row_norms(s)
    # the ECM's helper falls back to formed rows
    assert np.allclose(ecm_module._row_norms(F, s, 64), ecm_module._row_norms(G, s, 64), rtol=1e-12)


@pytest.mark.parametrize("floor", [0.0, 0.1])
def test_normalisation_is_the_formed_one(zset, floor):
    G, F, dV, g = zset["G"], zset["F"], zset["dV"], zset["groups"]
    a, b = normalisation(G, dV, groups=g, group_floor=floor), normalisation(F, dV, groups=g, group_floor=floor)
    assert np.array_equal(a["columns"], b["columns"]) and np.array_equal(a["group"], b["group"])
    assert np.allclose(a["group_norm"], b["group_norm"], rtol=1e-12)
    last = g.max() - 1                                 # the self-equilibrated group: its norm is ZERO_TOL x A
    if floor == 0.0:
        assert a["group_norm"][last] == pytest.approx(ZERO_TOL * a["group_A"][last], rel=1e-12)
        assert b["group_A"][last] == pytest.approx(a["group_A"][last], rel=1e-12)


def test_degenerate_keep_rule_uses_exact_values():
    """A group 1e13 x smaller than the others: its bound of |G| is above 1e-14 x the largest
    b, its b below 1e-14 x the largest bound, so the bounds do not decide the keep rule
    (A_g > 1e-14 max A): every A is computed exactly and the decision is the formed
    integrand's (kept)."""
    rng = np.random.default_rng(3)
    n = 200
    S = rng.normal(size=(n, 6, 3))
    S[:, :, 2] *= 1e-13
    E = rng.normal(size=(n, 6, 2))
    dV = np.full(n, 0.1)
    G, g = internal_force_integrand(S, E)
    F, _ = factored_force_integrand(S, E)
    a, b = normalisation(G, dV, groups=g), normalisation(F, dV, groups=g)
    assert np.array_equal(a["columns"], b["columns"]) and 2 in g[a["columns"]]
    assert np.allclose(a["group_A"], b["group_A"], rtol=1e-12)


@pytest.mark.parametrize("floor", [0.0, 0.1])
def test_ecm_same_points(zset, floor):
    G, F, dV, g = zset["G"], zset["F"], zset["dV"], zset["groups"]
    a = ecm(G, dV, tol=1e-4, groups=g, group_floor=floor)
    b = ecm(F, dV, tol=1e-4, groups=g, group_floor=floor)
    assert a.converged and b.converged
    assert np.array_equal(a.points, b.points)
    assert np.allclose(a.weights, b.weights, rtol=1e-9, atol=1e-9 * a.weights.max())
    warm = a.points[: a.points.size // 2]
    kw = dict(tol=1e-6, groups=g, group_floor=floor, warm_start=warm, pool=40)
    c, d = ecm(G, dV, **kw), ecm(F, dV, **kw)
    assert np.array_equal(c.points, d.points) and c.error == pytest.approx(d.error, rel=1e-8)
    assert cubature_error(F, dV, d.points, d.weights, groups=g, group_floor=floor) == \
        pytest.approx(cubature_error(G, dV, c.points, c.weights, groups=g, group_floor=floor), rel=1e-8)


def test_bad_shapes():
    with pytest.raises(ValueError, match="expected"):
        FactoredIntegrand(np.zeros((4, 6, 2)), np.zeros((5, 6, 2)))
    with pytest.raises(ValueError, match="expected"):
        FactoredIntegrand(np.zeros((4, 3, 2)), np.zeros((4, 3, 2)))
