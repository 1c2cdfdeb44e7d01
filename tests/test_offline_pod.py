"""Snapshot POD (romnet.offline.pod): exactness of the weighted rows, accuracy vs the
correlation method, truncation, incremental update, Z-set acceptance.

Tolerances: A^T A = S^T M S to 1e-13 relative; singular values down to 1e-10 s_0 to 1e-6
relative (the correlation method is off by > 1 there); at tol = 1e-8 the projection error
is <= tol and the modes are M-orthonormal to 1e-12 (the correlation method fails both);
incremental vs from-scratch: singular values 1e-10 relative, projectors 1e-10; Z-set U at
tol 1e-6 reconstructs every snapshot within 1e-5 relative in the M-norm.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import zset_case
from romnet.fe import ElementKernel
from romnet.meshing import box
from romnet.offline.pod import (IntegL2, NodalL2, RowLayout, gram, pod, pod_correlation, pod_update, tsqr,
                                truncation_rank)


@pytest.fixture(scope="module")
def mesh_setup():
    mesh = box("c3d8", 6)
    L = RowLayout(mesh)
    M = ElementKernel("c3d8", mesh.coordinates, mesh.blocks[0].connectivity).mass_matrix().toarray()
    return mesh, L, NodalL2(L), M


def synthetic(M, s, seed=1):
    """S = Q diag(s) W^T with Q M-orthonormal, W orthogonal: exact singular values s."""
    rng = np.random.default_rng(seed)
    n, m = M.shape[0], len(s)
    X = rng.normal(size=(n, m))
    C = np.linalg.cholesky(X.T @ M @ X)
    Q = np.linalg.solve(C, X.T).T
    W = np.linalg.qr(rng.normal(size=(m, m)))[0]
    return (Q * s) @ W.T


def proj_error(S, P, M):
    E = S - P @ (P.T @ M @ S)
    return np.sqrt(np.trace(E.T @ M @ E) / np.trace(S.T @ M @ S))


def test_weighted_rows_give_mass_gram(mesh_setup):
    _, L, inner, M = mesh_setup
    S = np.random.default_rng(0).normal(size=(M.shape[0], 9))
    R = tsqr(inner.row_blocks(S), 9)
    G = S.T @ M @ S
    assert np.abs(R.T @ R - G).max() <= 1e-13 * np.abs(G).max()
    assert np.all(np.diag(R) >= 0)


def test_integ_inner_product(mesh_setup):
    mesh, L, _, _ = mesh_setup
    inner = IntegL2(L, 2)
    X = np.random.default_rng(3).normal(size=(L.n_ip_local * 2, 4))
    R = tsqr(inner.row_blocks(X), 4)
    dV = np.repeat(L.local_dV(), 2)
    assert np.allclose(R.T @ R, X.T @ (dV[:, None] * X), rtol=1e-13, atol=0)


def test_small_singular_values_accurate_where_correlation_fails(mesh_setup):
    _, L, inner, M = mesh_setup
    s = np.logspace(0, -12, 40)
    S = synthetic(M, s)
    b = pod(S, inner, tol=None)
    c = pod_correlation(S, inner, tol=None)
    sel = s >= 1e-10
    err_t = np.abs(b.singular_values[:40] - s) / s
    err_c = np.abs(c.singular_values[:40] - s) / s
    print(f"max rel. error of sigma >= 1e-10: TSQR {err_t[sel].max():.1e}, correlation {err_c[sel].max():.1e}")
    assert err_t[sel].max() <= 1e-6
    assert err_c[sel].max() > 1.0  # the correlation method loses half the digits


@pytest.mark.parametrize("tol", [1e-4, 1e-6, 1e-8])
def test_truncation_meets_tolerance_down_to_1e8(mesh_setup, tol):
    _, L, inner, M = mesh_setup
    s = np.logspace(0, -12, 40)
    S = synthetic(M, s)
    b = pod(S, inner, tol=tol)
    n_exact = truncation_rank(s, tol)
    err = proj_error(S, b.modes, M)
    orth = np.abs(b.modes.T @ M @ b.modes - np.eye(b.n_modes)).max()
    c = pod_correlation(S, inner, tol=tol)
    err_c = proj_error(S, c.modes, M)
    orth_c = np.abs(c.modes.T @ M @ c.modes - np.eye(c.n_modes)).max()
    print(f"tol {tol:g}: TSQR {b.n_modes} modes err {err:.2e} orth {orth:.1e}; "
          f"correlation {c.n_modes} modes err {err_c:.2e} orth {orth_c:.1e}")
    assert b.n_modes == n_exact
    assert err <= tol * (1 + 1e-6)
    assert abs(b.relative_error() - err) <= 1e-3 * tol
    assert orth <= 1e-12
    if tol <= 1e-8:
        assert c.n_modes != n_exact or err_c > tol or orth_c > 1e-3


def test_truncation_rank_definition():
    s = np.array([1.0, 0.1, 0.01, 0.001, 0.0])
    E = np.sum(s ** 2)
    for tol in (0.5, 0.05, 0.005, 1e-9):
        n = truncation_rank(s, tol)
        assert np.sqrt(np.sum(s[n:] ** 2) / E) <= tol
        assert n == 0 or np.sqrt(np.sum(s[n - 1:] ** 2) / E) > tol
    assert truncation_rank(s, None) == 4  # the zero singular value is never kept
    assert truncation_rank(s, 1e-9, max_modes=2) == 2


def test_incremental_update_matches_scratch(mesh_setup):
    _, L, inner, M = mesh_setup
    s = np.logspace(0, -6, 24)
    S = synthetic(M, s, seed=4)
    full = pod(S, inner, tol=None)
    b = pod(S[:, :10], inner, tol=None)
    b = pod_update(b, S[:, 10:17], inner)
    b = pod_update(b, S[:, 17:], inner)
    n = full.n_modes
    assert b.n_modes == n
    sv_err = np.abs(b.sigma - full.sigma).max() / full.sigma[0]
    Pf = full.modes @ full.modes.T @ M
    Pb = b.modes @ b.modes.T @ M
    proj = np.abs(Pf - Pb).max()
    orth = np.abs(b.modes.T @ M @ b.modes - np.eye(n)).max()
    print(f"incremental vs scratch: sigma {sv_err:.1e}, projector {proj:.1e}, orthonormality {orth:.1e}")
    assert sv_err <= 1e-10
    assert proj <= 1e-10
    assert orth <= 1e-12
    # a snapshot already in the span adds no mode
    b2 = pod_update(b, S[:, :3] @ np.ones((3, 1)), inner)
    assert b2.n_modes == n


def test_incremental_update_with_truncation_keeps_tolerance(mesh_setup):
    _, L, inner, M = mesh_setup
    S = synthetic(M, np.logspace(0, -8, 30), seed=5)
    b = pod(S[:, :15], inner, tol=1e-4)
    b = pod_update(b, S[:, 15:], inner)
    full = pod(S, inner, tol=1e-4)
    err = proj_error(S, b.modes, M)
    print(f"truncated update: {b.n_modes} modes (scratch {full.n_modes}), error {err:.2e}, "
          f"estimate {b.relative_error():.2e}")
    assert err <= 1.5e-4
    assert abs(b.n_modes - full.n_modes) <= 1


@pytest.fixture(scope="module")
def zset_store(tmp_path_factory):
    from adapters.zset import ADAPTER
    from romnet.store import write_case
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    return write_case(tmp_path_factory.mktemp("zpod") / "cube.h5", case)


@pytest.mark.parametrize("tol,expect_ok", [(1e-6, True), (1e-2, False)])
def test_zset_displacement_pod_reconstructs_snapshots(zset_store, tol, expect_ok):
    """tol 1e-6 -> every snapshot within 1e-5 (M-norm); tol 1e-2 shows the check can fail."""
    from romnet.offline.pipeline import read_local
    from romnet.store import CaseStore
    with CaseStore(zset_store) as st:
        mesh = st.mesh()
        L = RowLayout(mesh)
        S, _ = read_local(st, "imported", "U", L)
    M = ElementKernel("c3d8", mesh.coordinates, mesh.blocks[0].connectivity).mass_matrix()
    b = pod(S, NodalL2(L), tol=tol)
    P = b.modes
    E = S - P @ (P.T @ (M @ S))
    nrm = np.sqrt(np.einsum("ij,ij->j", S, M @ S))
    err = np.sqrt(np.einsum("ij,ij->j", E, M @ E))
    rel = np.where(nrm > 0, err / np.where(nrm > 0, nrm, 1), 0.0)
    print(f"Z-set U, tol {tol:g}: {b.n_modes} modes, worst snapshot relative error {rel.max():.2e}")
    assert (rel.max() <= 1e-5) == expect_ok


def test_strain_inner_product(mesh_setup):
    """StrainL2 (the norm the learning ROM's U extension and recompression use): rigid
    motions have zero strain norm; u = A x has eps = sym(A) everywhere, so its squared norm
    is |sym A|_F^2 x volume (1e-12)."""
    from romnet.offline.pod import StrainL2
    mesh, L, _, _ = mesh_setup
    x = mesh.coordinates
    A = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [0.0, 1.0, 2.0]])
    W = np.array([[0.0, -1.0, 2.0], [1.0, 0.0, -0.5], [-2.0, 0.5, 0.0]])   # skew: a rotation
    X = np.stack([np.tile([1.0, -2.0, 0.5], (len(x), 1)), x @ W.T, x @ A.T], axis=-1).reshape(-1, 3)
    G = gram(StrainL2(L).row_blocks(X), None)
    vol = float(np.prod(x.max(0) - x.min(0)))
    S = 0.5 * (A + A.T)
    assert np.abs(G[:2]).max() <= 1e-12 * G[2, 2]
    assert G[2, 2] == pytest.approx(np.sum(S * S) * vol, rel=1e-12)
