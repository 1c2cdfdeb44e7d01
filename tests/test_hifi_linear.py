"""Linear-solver defaults of the HF solver (size-based MUMPS / CG or GMRES + GAMG), the
first-iteration tangent and the CalculiX temperature convention."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from hifi_cases import box_plastic_case
from romnet.hifi import HFSolver, SolverOptions
from romnet.errors import DependencyError, RomnetError
from romnet.hifi.linear import DIRECT_MAX_DOFS, check_petsc_version, iterative_rtol, petsc
from romnet.hifi.petsc_assembly import assembly_kinds
from romnet.meshing import box
from romnet.problem import Temperature

needs_petsc = pytest.mark.skipif(petsc() is None, reason="petsc4py not importable: PETSc defaults untested")
MUMPS = "-ksp_type preonly -pc_type lu -pc_factor_mat_solver_type mumps"


def _run(mesh, pb, **kw):
    s = HFSolver(mesh, pb, options=SolverOptions(verbose=False, **kw))
    st = s.initial_state()
    its = []
    for t, _, _ in s.schedule()[1:]:
        st, info = s.step(st, t)
        its.append(info.iterations)
    return s, s.gather_U(st), its


def test_iterative_rtol():
    assert iterative_rtol(1e-7) == pytest.approx(1e-6)
    assert iterative_rtol(1e-5) == pytest.approx(1e-4)
    assert iterative_rtol(1e-2) == pytest.approx(1e-4)
    assert iterative_rtol(None) == pytest.approx(1e-4)
    assert iterative_rtol(1e-20) == pytest.approx(1e-12)


@needs_petsc
def test_default_is_direct_below_threshold():
    mesh, pb = box_plastic_case(n_inc=2)
    s = HFSolver(mesh, pb, options=SolverOptions(verbose=False, linear="petsc"))
    assert s.layout.n_dofs < DIRECT_MAX_DOFS
    assert "mumps" in s.backend.describe() and not s.backend.iterative


@needs_petsc
def test_cg_gamg_default_above_threshold_matches_mumps():
    mesh, pb = box_plastic_case(n=(6, 4, 4), n_inc=4, strain_max=4e-3)
    pb.stepping.ratio = 1e-8
    s, U_it, its_it = _run(mesh, pb, linear="petsc", direct_max_dofs=0)
    d = s.backend.describe()
    assert "ksp=cg" in d and "gamg" in d and "near null space" in d, d
    assert s.backend.A.getBlockSize() == 3
    assert max(s.backend.krylov_iterations) > 1
    _, U_lu, its_lu = _run(mesh, pb, linear="petsc", direct_max_dofs=0, petsc_options=MUMPS)
    assert np.linalg.norm(U_it - U_lu) <= 1e-6 * np.linalg.norm(U_lu)
    assert abs(sum(its_it) - sum(its_lu)) <= len(its_lu)


@needs_petsc
def test_preconditioner_lag_same_solution_fewer_builds():
    """pc_lag (default): GAMG is set up once per increment (plus rebuilds when a lagged
    solve degrades); the converged solution matches the fresh-preconditioner run to the
    Newton tolerance, with the same Newton iteration counts (+-1 per increment)."""
    mesh, pb = box_plastic_case(n=(6, 4, 4), n_inc=4, strain_max=4e-3)
    pb.stepping.ratio = 1e-8
    s_lag, U_lag, its_lag = _run(mesh, pb, linear="petsc", direct_max_dofs=0)
    s_new, U_new, its_new = _run(mesh, pb, linear="petsc", direct_max_dofs=0, pc_lag=False)
    assert s_new.backend.pc_builds == sum(its_new)             # one set-up per Newton solve
    assert len(its_lag) <= s_lag.backend.pc_builds < sum(its_lag)
    assert np.linalg.norm(U_lag - U_new) <= 1e-6 * np.linalg.norm(U_new)
    assert all(abs(a - b) <= 1 for a, b in zip(its_lag, its_new))


@needs_petsc
def test_multigrid_level_options_take_effect_then_leave_the_database():
    """Level options (read when GAMG builds its levels, at the first solve) reach the
    smoothers; afterwards the options this solver added are gone from PETSc's database."""
    mesh, pb = box_plastic_case(n=(6, 4, 4), n_inc=1)
    s, _, _ = _run(mesh, pb, linear="petsc", direct_max_dofs=0,
                   petsc_options="-mg_levels_ksp_max_it 3 -pc_gamg_threshold 0.01")
    pc = s.backend.ksp.getPC()
    assert pc.getMGLevels() >= 2
    assert pc.getMGSmoother(pc.getMGLevels() - 1).getTolerances()[3] == 3
    names = set(petsc().Options().getAll())
    assert not names & {"mg_levels_ksp_max_it", "pc_gamg_threshold", "pc_gamg_reuse_interpolation"}, names
    s2, _, _ = _run(mesh, pb, linear="petsc", direct_max_dofs=0)
    pc2 = s2.backend.ksp.getPC()
    assert pc2.getMGSmoother(pc2.getMGLevels() - 1).getTolerances()[3] == 1   # the default


@needs_petsc
def test_gmres_for_nonsymmetric_tangent():
    mesh, pb = box_plastic_case(n_inc=2)
    pb = copy.deepcopy(pb)
    for m in pb.materials:
        m.spec["kinematic"] = {"type": "nonlinear", "C": 5e4, "D": 500.0}
    s = HFSolver(mesh, pb, options=SolverOptions(verbose=False, linear="petsc", direct_max_dofs=0))
    assert not s.model.symmetric
    assert "ksp=gmres" in s.backend.describe()
    st = s.initial_state()
    for t, _, _ in s.schedule()[1:]:
        st, _ = s.step(st, t)


def test_loading_first_tangent_saves_iterations():
    mesh, pb = box_plastic_case(n=(4, 2, 2), n_inc=6, strain_max=6e-3)
    pb.stepping.ratio = 1e-8
    _, U_a, its_a = _run(mesh, pb, linear="scipy", first_tangent="loading")
    _, U_b, its_b = _run(mesh, pb, linear="scipy", first_tangent="current")
    assert np.linalg.norm(U_a - U_b) <= 1e-7 * np.linalg.norm(U_b)
    assert sum(its_a) < sum(its_b)
    with pytest.raises(Exception, match="first_tangent"):
        HFSolver(mesh, pb, options=SolverOptions(linear="scipy", first_tangent="nope"))


def test_temperature_element_mean():
    mesh, pb = box_plastic_case(n=(3, 2, 2), n_inc=2)
    T = 20.0 + 100.0 * mesh.coordinates[:, 0] + 10.0 * mesh.coordinates[:, 1]
    pb.temperature = Temperature(np.array([0.0, 1.0]), np.stack([T, T]))
    s = HFSolver(mesh, pb, options=SolverOptions(linear="scipy", verbose=False, temperature_at_ips="element_mean"))
    conn = mesh.blocks[0].connectivity
    got = s.model.temperature(0.5)
    assert np.allclose(got, np.repeat(T[conn].mean(axis=1), 8))
    s2 = HFSolver(mesh, pb, options=SolverOptions(linear="scipy", verbose=False))
    assert not np.allclose(s2.model.temperature(0.5), got)
    assert box  # meshing import used by hifi_cases


def test_petsc_older_than_supported_is_refused(monkeypatch):
    """Below PETSC_MIN_VERSION (3.18) romnet says what it needs instead of failing later
    with an AttributeError; petsc(), the HF solver and the report all say it."""
    import sys
    import types

    import romnet.hifi.linear as lin
    check_petsc_version((3, 18, 5))
    check_petsc_version((4, 0, 0))
    with pytest.raises(DependencyError, match=r"needs PETSc/petsc4py >= 3\.18, found 3\.17\.4 \(/x\)"):
        check_petsc_version((3, 17, 4), "/x")
    old = types.ModuleType("petsc4py")
    old.__file__ = "/opt/petsc-3.17/petsc4py/__init__.py"
    old.PETSc = types.SimpleNamespace(Sys=types.SimpleNamespace(getVersion=lambda: (3, 17, 1)))
    monkeypatch.setitem(sys.modules, "petsc4py", old)
    monkeypatch.setitem(sys.modules, "petsc4py.PETSc", old.PETSc)
    monkeypatch.setattr(lin, "_PETSC", None)
    monkeypatch.setattr(lin, "_PETSC_ERROR", None)
    with pytest.raises(DependencyError, match=r"found 3\.17\.1 \(/opt/petsc-3\.17/petsc4py\)"):
        lin.petsc()
    mesh, pb = box_plastic_case(n=(2, 1, 1), n_inc=1)
    with pytest.raises(DependencyError, match="docs/install.md"):
        HFSolver(mesh, pb, options=SolverOptions(verbose=False))
    assert "3.17.1" in lin.petsc_description()["error"]


@needs_petsc
def test_csr_assembly_same_matrix_as_coo():
    """The CSR assembly (petsc4py 3.18 has no COO methods) builds the same sparsity
    pattern and values as PETSc's COO assembly, and the same Newton iterates (direct and
    CG + GAMG with block size 3); on a petsc4py without COO only CSR exists."""
    kinds = assembly_kinds(petsc())
    if "coo" not in kinds:
        pytest.skip(f"petsc4py {petsc().Sys.getVersion()} has no Mat.setPreallocationCOO: CSR is its only "
                    "assembly (run by every PETSc test here)")
    mesh, pb = box_plastic_case(n=(6, 4, 4), n_inc=3, strain_max=4e-3)
    pb.stepping.ratio = 1e-8
    for dmax in (None, 0):
        s_coo, U_coo, its_coo = _run(mesh, pb, linear="petsc", direct_max_dofs=dmax, petsc_assembly="coo")
        s_csr, U_csr, its_csr = _run(mesh, pb, linear="petsc", direct_max_dofs=dmax, petsc_assembly="csr")
        assert (s_coo.backend.assembly.kind, s_csr.backend.assembly.kind) == ("coo", "csr")
        assert its_coo == its_csr
        assert np.linalg.norm(U_csr - U_coo) <= 1e-12 * np.linalg.norm(U_coo)
    assert s_coo.backend.assembly.size == s_csr.backend.assembly.size
    values = np.random.default_rng(0).normal(size=s_coo.backend.assembly.size)
    mats = []
    for s in (s_coo, s_csr):
        s.backend.assembly.set_values(values)
        mats.append(s.backend.A.getValuesCSR())
    (ip0, ix0, v0), (ip1, ix1, v1) = mats
    assert np.array_equal(ip0, ip1) and np.array_equal(ix0, ix1)
    assert np.max(np.abs(v1 - v0)) <= 1e-14 * np.max(np.abs(v0))
    with pytest.raises(RomnetError, match="not available"):
        _run(mesh, pb, linear="petsc", petsc_assembly="nope")
