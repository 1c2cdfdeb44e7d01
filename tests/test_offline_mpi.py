"""1 rank vs 2 ranks (mpirun -n 2): same singular values (1e-10 relative), same subspaces
(M-orthogonal projector difference <= 1e-10), ECM meets the same global tolerance
(and here picks the same points), same QDEIM points and reduced operators."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_mpi, zset_case
from romnet.fe import ElementKernel
from romnet.meshing import box
from romnet.store import write_case

SCRIPT = Path(__file__).parent / "mpi" / "offline_compare.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from adapters.zset import ADAPTER
    d = tmp_path_factory.mktemp("offmpi")
    base = write_case(d / "cube.h5", ADAPTER.read(zset_case("MecaSequential") / "cube.ut"))
    out = {}
    for n in (1, 2):
        store = d / f"cube{n}.h5"
        shutil.copyfile(base, store)
        r = run_mpi(SCRIPT, store, d / f"r{n}.npz", n=n, timeout=300)
        assert f"OK {n} ranks" in r.stdout, r.stdout
        out[n] = dict(np.load(d / f"r{n}.npz"))
    return out


def projector_gap(P1, P2, M):
    """max |P1 P1^T M - P2 P2^T M| / max |P1 P1^T M| (M-orthogonal projectors)."""
    A = P1 @ (P1.T @ M)
    return np.abs(A - P2 @ (P2.T @ M)).max() / np.abs(A).max()


def rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def test_pod_same_on_1_and_2_ranks(runs):
    a, b = runs[1], runs[2]
    n = (a["syn_sv"] > 1e-13 * a["syn_sv"][0]).sum()
    assert rel(b["syn_sv"][:n], a["syn_sv"][:n]) <= 1e-10
    M = ElementKernel("c3d8", box("c3d8", 7).coordinates, box("c3d8", 7).blocks[0].connectivity).mass_matrix()
    gap = projector_gap(a["syn_modes"], b["syn_modes"], M)
    gap_u = projector_gap(a["syn_upd_modes"], a["syn_modes"], M)
    gap_u2 = projector_gap(b["syn_upd_modes"], a["syn_modes"], M)
    print(f"synthetic: sigma rel diff {rel(b['syn_sv'][:n], a['syn_sv'][:n]):.1e}, projector gap {gap:.1e}, "
          f"update vs scratch {gap_u:.1e} (1 rank) {gap_u2:.1e} (2 ranks)")
    assert gap <= 1e-10 and gap_u <= 1e-10 and gap_u2 <= 1e-10
    assert rel(b["syn_upd_sv"][:n], a["syn_sv"][:n]) <= 1e-10
    k = a["syn_dual_sv"] > 1e-13 * a["syn_dual_sv"][0]
    assert rel(b["syn_dual_sv"][k], a["syn_dual_sv"][k]) <= 1e-10


def test_ecm_and_qdeim_same_on_1_and_2_ranks(runs):
    a, b = runs[1], runs[2]
    assert a["syn_ecm_error"] <= 1e-6 and b["syn_ecm_error"] <= 1e-6
    print(f"synthetic ECM: {a['syn_ecm_points'].size} / {b['syn_ecm_points'].size} points, errors "
          f"{a['syn_ecm_error']:.2e} / {b['syn_ecm_error']:.2e}")
    assert np.array_equal(a["syn_ecm_points"], b["syn_ecm_points"])
    assert rel(b["syn_ecm_weights"], a["syn_ecm_weights"]) <= 1e-8
    assert np.array_equal(a["syn_qdeim"], b["syn_qdeim"])


def test_ecm_candidate_pool_same_on_1_and_2_ranks(runs):
    """The pooled greedy (pool threshold taken over all ranks) picks the same points."""
    a, b = runs[1], runs[2]
    assert a["pool_error"] <= 1e-6 and b["pool_error"] <= 1e-6
    assert a["pool_refreshes"] < a["pool_steps"]
    print(f"pooled ECM: {a['pool_points'].size} / {b['pool_points'].size} points, {a['pool_steps']} steps, "
          f"{a['pool_refreshes']} full scorings")
    assert np.array_equal(a["pool_points"], b["pool_points"])
    assert rel(b["pool_weights"], a["pool_weights"]) <= 1e-8


def test_ecm_with_self_equilibrated_snapshot_same_on_1_and_2_ranks(runs):
    """A snapshot whose reduced forces vanish (|b| / int |g| ~ round-off) converges (its
    error floored by ZERO_TOL x its integrand) and gives the same points on 1 and 2 ranks."""
    a, b = runs[1], runs[2]
    assert a["se_ratio"] < 1e-8 and b["se_ratio"] < 1e-8
    assert a["se_converged"] and b["se_converged"] and a["se_error"] <= 1e-6 and b["se_error"] <= 1e-6
    assert np.array_equal(a["se_points"], b["se_points"])
    assert rel(b["se_weights"], a["se_weights"]) <= 1e-8


def test_pipeline_same_on_1_and_2_ranks(runs):
    a, b = runs[1], runs[2]
    k = a["store_modes_U"].shape[1]
    assert b["store_modes_U"].shape[1] == k
    assert rel(b["store_sv_U"][:k], a["store_sv_U"][:k]) <= 1e-10
    ks = a["store_modes_stress"].shape[1]
    assert rel(b["store_sv_stress"][:ks], a["store_sv_stress"][:ks]) <= 1e-10
    assert a["store_ecm_error"] <= 1e-5 and b["store_ecm_error"] <= 1e-5
    print(f"Z-set pipeline: {k} U modes, sigma diff {rel(b['store_sv_U'][:k], a['store_sv_U'][:k]):.1e}, "
          f"points {a['store_points'].size} / {b['store_points'].size}, ECM error "
          f"{a['store_ecm_error']:.2e} / {b['store_ecm_error']:.2e}")
    assert np.array_equal(a["store_points"], b["store_points"])
    for key in ("store_strain_modes", "store_pressure", "store_centrifugal", "store_weights"):
        assert rel(b[key], a[key]) <= 1e-8, key


def test_pipeline_subspace_same_on_1_and_2_ranks(runs, tmp_path):
    from adapters.zset import ADAPTER
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    M = ElementKernel("c3d8", case.mesh.coordinates, case.mesh.blocks[0].connectivity).mass_matrix()
    gap = projector_gap(runs[1]["store_modes_U"], runs[2]["store_modes_U"], M)
    print(f"Z-set U subspace gap 1 vs 2 ranks: {gap:.1e}")
    assert gap <= 1e-10
