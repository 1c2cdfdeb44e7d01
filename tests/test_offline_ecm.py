"""ECM with global error control and QDEIM (romnet.offline.ecm / qdeim).

Acceptance: on MecaSequential (Z-set), ECM at tol 1e-5 reproduces the reduced internal
forces Phi^T F_int(sigma_j) of every training snapshot within 1e-5 relative; F_int is
assembled independently with ElementKernel.internal_forces. The check fails when the
weights are perturbed or when ECM is stopped early (tol 1e-2).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla

from conftest import zset_case
from romnet.fe import ElementKernel
from romnet.offline.ecm import ecm, internal_force_integrand
from romnet.offline.operators import mode_strains
from romnet.offline.pipeline import read_local
from romnet.offline.pod import NodalL2, RowLayout, pod
from romnet.offline.qdeim import qdeim_points, qdeim_rows
from romnet.store import CaseStore, write_case
from romnet.tensors import SQRT2


@pytest.fixture(scope="module")
def zset(tmp_path_factory):
    from adapters.zset import ADAPTER
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    path = write_case(tmp_path_factory.mktemp("zecm") / "cube.h5", case)
    with CaseStore(path) as st:
        mesh = st.mesh()
        L = RowLayout(mesh)
        U, _ = read_local(st, "imported", "U", L)
        sig, _ = read_local(st, "imported", "stress", L)  # Mandel
    basis = pod(U, NodalL2(L), tol=1e-6)
    eps = mode_strains(L, basis.modes)
    sig = sig.reshape(L.n_ip_local, 6, -1)
    G, groups = internal_force_integrand(sig, eps)
    return dict(mesh=mesh, L=L, basis=basis, sig=sig, eps=eps, G=G, groups=groups, dV=L.local_dV())


def reference_forces(z):
    """Phi^T F_int(sigma_j) assembled by the element kernel (independent of the integrand)."""
    mesh, Phi = z["mesh"], z["basis"].modes
    k = ElementKernel("c3d8", mesh.coordinates, mesh.blocks[0].connectivity)
    sig = z["sig"]
    return np.stack([Phi.T @ k.internal_forces(sig[:, :, j].reshape(mesh.n_elements, 8, 6))
                     for j in range(sig.shape[2])])  # (n_snap, n_modes)


def reduced_forces(z, points, weights):
    s = z["sig"][points]           # (p, 6, n_snap)
    e = z["eps"][points]           # (p, 6, k)
    return np.einsum("p,pcj,pck->jk", weights, s, e)


def worst_rel(f, ref):
    nrm = np.linalg.norm(ref, axis=1)
    ok = nrm > 1e-12 * nrm.max()
    return (np.linalg.norm(f - ref, axis=1)[ok] / nrm[ok]).max()



def test_zset_ecm_reproduces_internal_forces(zset):
    z = zset
    # the integrand reproduces the kernel's internal forces exactly with all points
    ref = reference_forces(z)
    full = reduced_forces(z, np.arange(z["G"].shape[0]), z["dV"])
    assert worst_rel(full, ref) <= 1e-12
    res = ecm(z["G"], z["dV"], tol=1e-5, groups=z["groups"])
    red = reduced_forces(z, res.points, res.weights)
    err = worst_rel(red, ref)
    print(f"Z-set ECM tol 1e-5: {res.points.size} reduced integration points of {z['G'].shape[0]}, "
          f"worst snapshot relative error {err:.2e} (ECM estimate {res.error:.2e}), {res.iterations} steps")
    assert res.converged and np.all(res.weights > 0)
    assert err <= 1e-5
    vol = res.weights.sum()
    assert abs(vol - z["dV"].sum()) <= 1e-5 * z["dV"].sum()
    # the check can fail: perturbed weights, or an early stop
    assert worst_rel(reduced_forces(z, res.points, res.weights * (1 + 1e-3 * np.cos(np.arange(res.points.size)))),
                     ref) > 1e-5
    early = ecm(z["G"], z["dV"], tol=1e-2, groups=z["groups"])
    assert worst_rel(reduced_forces(z, early.points, early.weights), ref) > 1e-5


def test_ecm_warm_start(zset):
    z = zset
    res = ecm(z["G"], z["dV"], tol=1e-5, groups=z["groups"])
    again = ecm(z["G"], z["dV"], tol=1e-5, groups=z["groups"], warm_start=res.points)
    assert again.iterations == 0 and again.converged
    assert np.array_equal(again.points, res.points)
    half = ecm(z["G"], z["dV"], tol=1e-5, groups=z["groups"], warm_start=res.points[::2])
    assert half.converged and half.error <= 1e-5
    assert half.iterations < res.iterations


def test_ecm_candidate_pool(zset):
    """The pooled greedy (the enrichments' choice) meets the same tolerance on the whole
    integrand with about as many points, scoring every point only at its refreshes; the
    internal forces it integrates are checked independently."""
    z = zset
    n_ip = z["G"].shape[0]
    ref = ecm(z["G"], z["dV"], tol=1e-5, groups=z["groups"])
    res = ecm(z["G"], z["dV"], tol=1e-5, groups=z["groups"], pool=n_ip // 8)
    print(f"pool {n_ip // 8} of {n_ip}: {res.points.size} points vs {ref.points.size}, {res.iterations} steps, "
          f"{res.timings['pool_refreshes']} full scorings")
    assert res.converged and res.error <= 1e-5
    assert res.points.size <= 1.2 * ref.points.size + 5
    assert res.timings["pool_refreshes"] < res.iterations / 5
    assert worst_rel(reduced_forces(z, res.points, res.weights), reference_forces(z)) <= 1e-5
    # warm-started from half the points (an enrichment's situation)
    half = ecm(z["G"], z["dV"], tol=1e-5, groups=z["groups"], warm_start=ref.points[::2], pool=n_ip // 8)
    assert half.converged and half.error <= 1e-5


def test_ecm_unrefined_steps_then_refined_final_weights(zset, monkeypatch):
    """``refine=0`` (the online enrichments): no refinement pass at the greedy steps, one
    fully refined NNLS of the final set; the same points and weights (1e-9) as the refined
    greedy on this integrand, cold and warm-started, and the internal forces to the tolerance."""
    import importlib
    ecm_mod = importlib.import_module("romnet.offline.ecm")     # the module (the package exports the function)
    z = zset
    ref = ecm(z["G"], z["dV"], tol=1e-5, groups=z["groups"])
    seen = []
    real = ecm_mod.nnls_normal

    def spy(*a, **k):
        seen.append(k.get("refine"))
        return real(*a, **k)
    monkeypatch.setattr(ecm_mod, "nnls_normal", spy)
    for warm in (None, ref.points[::2]):
        seen.clear()
        res = ecm(z["G"], z["dV"], tol=1e-5, groups=z["groups"], refine=0, warm_start=warm)
        assert res.converged and res.error <= 1e-5
        assert seen[:-1] == [0] * (len(seen) - 1) and seen[-1] == ecm_mod.NNLS_REFINE and len(seen) > 2
        assert worst_rel(reduced_forces(z, res.points, res.weights), reference_forces(z)) <= 1e-5
        if warm is None:
            assert np.array_equal(res.points, ref.points)
            assert np.abs(res.weights - ref.weights).max() <= 1e-9 * ref.weights.max()


def test_ecm_max_points_and_zero_groups(zset):
    z = zset
    res = ecm(z["G"], z["dV"], tol=1e-12, groups=z["groups"], max_points=10)
    assert res.points.size <= 10 and not res.converged
    # the first snapshot (t = 0) has zero stress: its group is dropped, not a division by 0
    assert res.group_errors.size == len(np.unique(z["groups"])) - 1


def test_qdeim_matches_pivoted_qr():
    rng = np.random.default_rng(2)
    Phi = np.linalg.qr(rng.normal(size=(300, 7)))[0]
    _, _, piv = sla.qr(Phi.T, pivoting=True, mode="economic")
    rows = qdeim_rows(Phi)
    assert np.array_equal(rows, piv[:7])
    pts = qdeim_points(np.repeat(Phi, 2, axis=0), n_comp=2)  # 2 rows per point
    assert set(pts) <= set(range(300)) and len(pts) >= 4
    # the selected rows give an invertible square system
    assert np.linalg.cond(Phi[rows]) < 1e3


def test_internal_force_integrand_mandel_dot():
    s = np.random.default_rng(0).normal(size=(5, 6, 2))
    e = np.random.default_rng(1).normal(size=(5, 6, 3))
    G, groups = internal_force_integrand(s, e)
    assert G.shape == (5, 7) and list(groups) == [0, 0, 0, 1, 1, 1, 2]
    # Mandel dot = double contraction of the tensors
    def full(v):
        r = 1 / SQRT2
        return np.array([[v[0], r * v[3], r * v[5]], [r * v[3], v[1], r * v[4]], [r * v[5], r * v[4], v[2]]])
    assert np.isclose(G[2, 1 * 3 + 2], np.sum(full(s[2, :, 1]) * full(e[2, :, 2])))


def _self_equilibrated(z, j):
    """Stress of snapshot j minus its dV-projection on the mode strains: its reduced internal
    forces vanish to round-off (like residual stresses after unloading)."""
    eps, dV = z["eps"], z["dV"]
    s0 = z["sig"][:, :, j]
    gram = np.einsum("qci,q,qcj->ij", eps, dV, eps)
    c = np.linalg.solve(gram, np.einsum("qci,q,qc->i", eps, dV, s0))
    return s0 - np.einsum("qci,i->qc", eps, c)


def test_ecm_self_equilibrated_snapshot(zset):
    """A snapshot with (nearly) zero reduced forces but large stresses: measured against
    ZERO_TOL x its integrand's magnitude, ECM converges; normalised by its own |b| (the
    former ECM, zero_tol=0) it cannot, and says so with the error it reached."""
    from romnet.offline.ecm import ZERO_TOL
    z = zset
    se = _self_equilibrated(z, z["sig"].shape[2] - 1)
    sig = np.concatenate([z["sig"], se[:, :, None]], axis=2)
    G, groups = internal_force_integrand(sig, z["eps"])
    last = groups == groups[-2]
    b, A = G[:, last].T @ z["dV"], np.abs(G[:, last]).T @ z["dV"]
    assert np.linalg.norm(b) < 1e-10 * np.linalg.norm(A)
    res = ecm(G, z["dV"], tol=1e-5, groups=groups)
    again = ecm(G, z["dV"], tol=1e-5, groups=groups)
    assert res.converged and res.error <= 1e-5 and res.message.startswith("converged")
    assert np.array_equal(res.points, again.points) and np.array_equal(res.weights, again.weights)
    # the self-equilibrated group is integrated to tol x ZERO_TOL x |int |g| dV||
    red = np.einsum("p,pc,pck->k", res.weights, se[res.points], z["eps"][res.points])
    assert np.linalg.norm(red - b) <= 1.001e-5 * ZERO_TOL * np.linalg.norm(A)
    old = ecm(G, z["dV"], tol=1e-5, groups=groups, zero_tol=0.0, max_iterations=200)
    assert not old.converged and old.error > 1e-3
    assert old.message.startswith("NOT converged") and f"{old.error:.3e}" in old.message


def test_ecm_near_ties_go_to_the_smallest_index(zset):
    """Every point duplicated (half weight each), the copy's row perturbed by 1e-13
    relative (random signs): scores differ by round-off only, and the greedy must pick the
    original (smaller global index) every time; with tie_rtol=0 it picks copies too."""
    z = zset
    n = z["G"].shape[0]
    noise = np.random.default_rng(0).choice([-1.0, 1.0], size=z["G"].shape)
    G2 = np.vstack([z["G"], z["G"] * (1 + 1e-13 * noise)])
    dV2 = np.concatenate([z["dV"], z["dV"]]) / 2
    res = ecm(G2, dV2, tol=1e-4, groups=z["groups"])
    assert res.converged and res.points.max() < n
    strict = ecm(G2, dV2, tol=1e-4, groups=z["groups"], tie_rtol=0.0)
    assert strict.points.max() >= n


def test_ecm_stop_messages(zset):
    z = zset
    res = ecm(z["G"], z["dV"], tol=1e-12, groups=z["groups"], max_points=10)
    assert not res.converged and "max_points=10" in res.message and f"{res.error:.3e}" in res.message
    assert set(res.timings) >= {"setup", "score", "select", "nnls", "total"}


@pytest.mark.parametrize("seed", range(6))
def test_warm_started_nnls_matches_scipy(seed):
    """nnls_normal (normal equations, warm start, refinement) vs scipy.optimize.nnls on
    random problems whose unconstrained solution has negative entries (active bounds), cold
    and warm-started from the optimum of the problem without the last column (the greedy's
    situation)."""
    from scipy.optimize import nnls

    from romnet.offline.nnls import nnls_normal
    rng = np.random.default_rng(seed)
    n_col, n = 120, 25
    A = rng.standard_normal((n_col, n)) @ np.diag(np.logspace(0, -3, n))   # cond ~1e3
    b = A @ rng.standard_normal(n) + 0.1 * rng.standard_normal(n_col)
    ref, _ = nnls(A, b)
    assert 0 < np.count_nonzero(ref) < n                                   # some bounds active
    rows = A.T
    M, c = rows @ rows.T, rows @ b
    cold = nnls_normal(M, c, rows=rows, b=b)
    prev, _ = nnls(A[:, :-1], b)
    warm = nnls_normal(M, c, np.append(prev, 0.0), rows=rows, b=b)
    for w in (cold, warm):
        assert np.array_equal(w > 0, ref > 0)
        assert np.abs(w - ref).max() <= 1e-9 * np.abs(ref).max()


def test_nnls_cholesky_cache_appends_and_deletes_rows(monkeypatch):
    """nnls_normal with the greedy's factor cache: a sequence of NNLS problems each with one
    more column (the greedy's) gives the weights of scipy's nnls (1e-9 relative) while
    factorising from scratch only at the start (a new point appends one row to the factor, a
    point that leaves deletes its row: no new factorisation either)."""
    from scipy.optimize import nnls

    from romnet.offline import nnls as mod
    calls = []
    real = np.linalg.cholesky
    monkeypatch.setattr(mod.np.linalg, "cholesky", lambda a: calls.append(a.shape[0]) or real(a))
    rng = np.random.default_rng(3)
    n_col, n = 200, 60
    A = rng.standard_normal((n_col, n))
    b = A @ np.abs(rng.standard_normal(n)) + 0.05 * rng.standard_normal(n_col)   # mostly passive
    cache, w, drops = {}, np.zeros(0), 0
    ids = []
    for j in range(n):
        ids.append(j)
        rows = A[:, ids].T
        w = mod.nnls_normal(rows @ rows.T, rows @ b, np.append(w, 0.0), rows=rows, b=b, cache=cache)
        ref, _ = nnls(rows.T, b)
        assert np.abs(w - ref).max() <= 1e-9 * np.abs(ref).max()
        keep = w > 0
        drops += int(np.count_nonzero(~keep))
        ids = [i for i, k in zip(ids, keep) if k]                 # the greedy drops zero weights
        w = w[keep]
        mod.keep_factor(cache, keep)
    print(f"{n} steps, {len(calls)} factorisations, {drops} points dropped")
    assert drops >= 3                                             # the delete path ran
    assert len(calls) <= 1 + drops // 3                            # a point that leaves: no new factorisation


@pytest.mark.parametrize("j", [0, 1, 17, 38, 39])
def test_cholesky_delete_matches_a_new_factorisation(j):
    """chol_delete(L, j) = the Cholesky factor of A without row and column j (1e-12
    relative), for the first, an inner and the last index."""
    from romnet.offline.nnls import chol_delete
    rng = np.random.default_rng(j)
    X = rng.standard_normal((40, 90)) * np.logspace(0, -2, 40)[:, None]
    A = X @ X.T
    L = np.linalg.cholesky(A)
    keep = np.delete(np.arange(40), j)
    ref = np.linalg.cholesky(A[np.ix_(keep, keep)])
    new = chol_delete(L, j)
    assert new.shape == (39, 39)
    assert np.abs(new - ref).max() <= 1e-12 * np.abs(ref).max()
    assert np.array_equal(L, np.linalg.cholesky(A))               # input not modified
