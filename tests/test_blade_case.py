"""cases/blade: mesh validity (Jacobians, conformity, outward face sets), problem store,
and two HF increments on the small variant."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BLADE = Path(__file__).resolve().parents[1] / "cases" / "blade"


def _load(name):
    mod_name = f"romnet_cases_blade_{name}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, BLADE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def geo():
    return _load("geometry")


@pytest.fixture(scope="module")
def prob():
    return _load("problem")


@pytest.fixture(scope="module")
def mesh(geo):
    return geo.blade_mesh("small")


def test_small_mesh_size_and_sets(mesh, geo):
    assert 3000 <= geo.n_dofs(mesh) <= 6000
    assert mesh.element_types == ["c3d8"]
    for name in ("root_bottom", "tip", "pressure_side", "suction_side", "leading_edge", "trailing_edge"):
        assert mesh.node_sets[name].size > 0
    X = mesh.coordinates
    assert np.allclose(X[mesh.node_sets["root_bottom"], 2], X[:, 2].min())
    assert np.allclose(X[mesh.node_sets["tip"], 2], X[:, 2].max())
    el = mesh.element_sets
    assert np.array_equal(np.sort(np.concatenate([el["root"], el["airfoil"]])), el["ALL"])
    assert np.array_equal(el["ALL"], np.arange(mesh.n_elements))


def test_small_mesh_valid(mesh, geo):
    from romnet.fe import ElementKernel
    k = ElementKernel("c3d8", mesh.coordinates, mesh.blocks[0].connectivity)  # raises on detJ <= 0
    assert k.detJ.min() > 0
    rep = geo.check_mesh(mesh)  # coincident nodes, unused nodes, face orientation
    assert rep["airfoil_flux"] > 0


def test_conforming_interface(mesh):
    """The airfoil and the root share the nodes of the root section (no duplicates)."""
    conn = mesh.blocks[0].connectivity
    air = np.unique(conn[mesh.element_sets["airfoil"]])
    root = np.unique(conn[mesh.element_sets["root"]])
    shared = np.intersect1d(air, root)
    assert shared.size > 0
    assert np.allclose(mesh.coordinates[shared, 2], 0.0)
    from scipy.spatial import cKDTree
    assert not cKDTree(mesh.coordinates).query_pairs(1e-6)


def test_face_sets_outward(mesh):
    """Pressure / suction normals point out of their elements and away from each other."""
    from romnet.fe import FaceKernel
    X = mesh.coordinates
    conn = mesh.blocks[0].connectivity
    air = mesh.element_sets["airfoil"]
    centroid = X[np.unique(conn[air])].mean(axis=0)
    means = {}
    for name in ("pressure_side", "suction_side"):
        fc = mesh.face_sets[name]["q4"]
        fk = FaceKernel("q4", X, fc)
        n = (fk.normals * fk.dA[..., None]).sum(axis=(0, 1))
        means[name] = n / np.linalg.norm(n)
        # each face: outward with respect to the mid-thickness point at its height
        xm = fk.ip_coordinates()
        r = xm - centroid
        r[..., 2] = 0.0
        assert np.einsum("fqd,fqd,fq->", fk.normals, r, fk.dA) > 0
    assert means["pressure_side"] @ means["suction_side"] < -0.5


def test_problem_store(tmp_path, prob):
    from romnet.store import read_case, write_case
    case = prob.build_case("small", seed=3)
    p = tmp_path / "blade.h5"
    write_case(p, case)
    back = read_case(p)
    assert back.mesh.n_nodes == case.mesh.n_nodes
    pb = back.problem
    assert pb.materials[0].spec["law"] == "gen_evp"
    assert [d.component for d in pb.dirichlet] == [0, 1, 2]
    assert all(d.value == 0.0 for d in pb.dirichlet)
    assert pb.pressure[0].face_set == "pressure_side"
    assert pb.centrifugal[0].omega2 == pytest.approx(1e6)
    T = np.asarray(pb.temperature.fields)
    assert np.allclose(T[0], 20.0) and np.allclose(T[-1], 20.0) and T.max() > 500.0
    assert 10 <= len(pb.stepping.times) - 1 <= 20
    # seeded: same seed same field, other seed other field
    T2 = np.asarray(prob.build_case("small", seed=3).problem.temperature.fields)
    T3 = np.asarray(prob.build_case("small", seed=4).problem.temperature.fields)
    assert np.array_equal(T, T2) and not np.allclose(T, T3)
    from romnet.materials import build_law
    build_law(pb.materials[0].spec)


def test_hf_two_increments(prob):
    from romnet.hifi import HFSolver, SolverOptions
    case = prob.build_case("small", seed=0)
    solver = HFSolver(case.mesh, case.problem, options=SolverOptions(verbose=False))
    state = solver.initial_state()
    for t in (5.0, 10.0):  # the end of the ramp: plastic points appear
        state, info = solver.step(state, t)
    U = solver.gather_U(state)
    assert np.all(np.isfinite(U)) and np.abs(U).max() > 0.1
    assert np.abs(U[case.mesh.node_sets["root_bottom"]]).max() == 0.0
