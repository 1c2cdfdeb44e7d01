"""HF solver features against analytic solutions (structured boxes of romnet.meshing).

Tolerances: linear elastic / thermal / uniaxial plastic on exact-representable fields:
1e-8 relative; resume vs uninterrupted run: 1e-12 relative.
"""
from __future__ import annotations

import numpy as np
import pytest

from hifi_cases import E, NU, box_plastic_case, elastic_spec, plastic_spec, ramp, symmetry_bcs
from romnet.errors import ConvergenceError
from romnet.hifi import HFSolver, SolverOptions, HFState
from romnet.meshing import box
from romnet.problem import MaterialAssignment, Pressure, Problem, Temperature, TimeStepping
from romnet.store import CaseStore, write_case
from romnet.case import Case

OPT = SolverOptions(linear="scipy", verbose=False)


def run_all(mesh, pb, opt=OPT):
    s = HFSolver(mesh, pb, options=opt)
    st = s.initial_state()
    for t, _, _ in s.schedule()[1:]:
        st, info = s.step(st, t)
    return s, st


@pytest.mark.parametrize("etype", ["c3d8", "c3d4", "c3d10", "c3d20"])
def test_uniaxial_elastic_bar_pressure(etype):
    sig = 50.0
    mesh = box(etype, (2, 2, 2), (2.0, 1.0, 1.0))
    pb = Problem(materials=[MaterialAssignment("ALL", elastic_spec())], dirichlet=symmetry_bcs(),
                 pressure=[Pressure("x1", -sig, "ramp")], tables={"ramp": ramp()},
                 stepping=TimeStepping(np.array([0.0, 0.5, 1.0]), ratio=1e-10))
    s, st = run_all(mesh, pb)
    U = s.gather_U(st)
    X = mesh.coordinates
    exact = np.c_[sig / E * X[:, 0], -NU * sig / E * X[:, 1], -NU * sig / E * X[:, 2]]
    assert np.abs(U - exact).max() <= 1e-8 * np.abs(exact).max()
    assert np.allclose(st.stress[:, 0], sig, rtol=1e-8)


def test_free_thermal_expansion_is_stress_free():
    mesh = box("c3d8", 2)
    nn = mesh.n_nodes
    T = Temperature(np.array([0.0, 1.0]), np.vstack([np.full(nn, 20.0), np.full(nn, 120.0)]))
    pb = Problem(materials=[MaterialAssignment("ALL", elastic_spec(alpha=1e-5))], dirichlet=symmetry_bcs(),
                 temperature=T, stepping=TimeStepping(np.array([0.0, 1.0]), ratio=1e-8))
    s, st = run_all(mesh, pb)
    U = s.gather_U(st)
    assert np.abs(U - 1e-3 * mesh.coordinates).max() <= 1e-12
    assert np.abs(st.stress).max() <= 1e-6


def test_uniaxial_elastoplastic_linear_hardening():
    R0, H, emax = 100.0, 1000.0, 3e-3
    mesh, pb = box_plastic_case(R0=R0, H=H, strain_max=emax)
    s, st = run_all(mesh, pb)
    sig = (emax + R0 / H) / (1 / E + 1 / H)
    p_exact = emax - sig / E
    assert np.allclose(st.stress[:, 0], sig, rtol=1e-8)
    p, _ = s.model.plastic_fields(st.states)
    assert np.allclose(p, p_exact, rtol=1e-7)


def test_two_materials_in_series():
    mesh = box("c3d8", (4, 1, 1), (2.0, 1.0, 1.0))
    c = mesh.coordinates[mesh.blocks[0].connectivity].mean(axis=1)
    mesh.element_sets["left"] = np.flatnonzero(c[:, 0] < 1.0)
    mesh.element_sets["right"] = np.flatnonzero(c[:, 0] > 1.0)
    E2, sig = 5e4, 40.0
    # nu = 0: no lateral mismatch at the interface, the exact field is piecewise linear
    pb = Problem(materials=[MaterialAssignment("left", elastic_spec(nu=0.0)),
                            MaterialAssignment("right", elastic_spec(E=E2, nu=0.0))],
                 dirichlet=symmetry_bcs(), pressure=[Pressure("x1", -sig)],
                 stepping=TimeStepping(np.array([0.0, 1.0]), ratio=1e-10))
    s, st = run_all(mesh, pb)
    U = s.gather_U(st)
    tip = U[mesh.node_sets["x1"], 0]
    assert np.allclose(tip, sig / E + sig / E2, rtol=1e-8)


def test_plastic_multimaterial_state_widths():
    mesh = box("c3d8", (2, 1, 1))
    mesh.element_sets["a"] = np.array([0])
    mesh.element_sets["b"] = np.array([1])
    pb = Problem(materials=[MaterialAssignment("a", elastic_spec()), MaterialAssignment("b", plastic_spec())],
                 dirichlet=symmetry_bcs(pull=2e-3, table="ramp"), tables={"ramp": ramp()},
                 stepping=TimeStepping(np.linspace(0, 1, 3), ratio=1e-8))
    s, st = run_all(mesh, pb)
    packed = s.model.pack_states(st.states)
    assert packed.shape == (16, 13) and np.all(packed[:8] == 0) and np.all(packed[8:, 0] > 0)


def _limit_case():
    mesh = box("c3d8", (2, 1, 1))
    pb = Problem(materials=[MaterialAssignment("ALL", plastic_spec(R0=100.0, H=0.0))],
                 dirichlet=symmetry_bcs(), pressure=[Pressure("x1", -150.0, "ramp")],
                 tables={"ramp": ramp()}, stepping=TimeStepping(np.linspace(0, 1, 5), ratio=1e-6))
    return mesh, pb


def test_limit_load_cuts_then_convergence_error_keeps_store(tmp_path):
    mesh, pb = _limit_case()
    store = write_case(tmp_path / "in.h5", Case(mesh, pb, {}, {"code": "test"}))
    s = HFSolver(mesh, pb, options=SolverOptions(linear="scipy", verbose=False, max_cuts=3))
    with pytest.raises(ConvergenceError, match="did not converge after 3 cut"):
        s.run(store_out=tmp_path / "out.h5", store_in=store, progress=None)
    with CaseStore(tmp_path / "out.h5") as st:
        t = st.times("hifi")
        n_complete = int(st.f["results/hifi"].attrs["n_complete"])
    # loads 0, 37.5, 75 converge (limit 100): outputs t = 0, 0.25, 0.5 are kept
    assert n_complete == len(t) == 3
    assert np.allclose(t, [0.0, 0.25, 0.5])


def test_resume_gives_same_result(tmp_path):
    mesh, pb = box_plastic_case(n_inc=5)
    store = write_case(tmp_path / "in.h5", Case(mesh, pb, {}, {"code": "test"}))
    HFSolver(mesh, pb, options=OPT).run(store_out=tmp_path / "full.h5", store_in=store, progress=None)
    s = HFSolver(mesh, pb, options=OPT)
    s.run(store_out=tmp_path / "part.h5", store_in=store, progress=None, stop_after=2)
    with CaseStore(tmp_path / "part.h5") as st:
        assert len(st.times("hifi")) == 3
    res = HFSolver(mesh, pb, options=OPT).run(store_out=tmp_path / "part.h5", store_in=store, resume=True,
                                             progress=None)
    assert res.resumed_from == 3
    with CaseStore(tmp_path / "part.h5") as a, CaseStore(tmp_path / "full.h5") as b:
        assert np.allclose(a.times("hifi"), b.times("hifi"))
        for f in ("U", "stress", "p", "state"):
            x, y = a.read_field("hifi", f), b.read_field("hifi", f)
            assert np.array_equal(x, y), f               # bitwise: resume = the uninterrupted run


def two_plastic_increments():
    """(solver, state after 2 of the 4 increments of box_plastic_case, output times)."""
    mesh, pb = box_plastic_case(n_inc=4)
    s = HFSolver(mesh, pb, options=OPT)
    st = s.initial_state()
    ts = [t for t, _, _ in s.schedule()[1:]]
    for t in ts[:2]:
        st, _ = s.step(st, t)
    return s, st, ts


def test_state_from_arrays_one_step_matches():
    s, st, ts = two_plastic_increments()
    st2 = HFState.from_arrays(s, st.t, s.gather_U(st), s.gather_ip(s.model.pack_states(st.states)))
    a, _ = s.step(st, ts[2])
    b, info = s.step(st2, ts[2])
    assert info.iterations >= 1 and info.cuts == 0
    assert np.allclose(a.U, b.U, rtol=0, atol=1e-14 * np.abs(a.U).max())


def test_step_from_a_guess():
    """HFSolver.step(guess=...) (an enrichment starts the HF Newton from the ROM's solution):
    the same converged increment (tolerance 1e-8 relative, the increment's ratio) from a
    close guess in no more iterations, from a far guess (U = 0) too; a guess of the wrong
    size is refused."""
    from romnet.errors import RomnetError
    s, st, ts = two_plastic_increments()
    ref, info_ref = s.step(st, ts[2])
    assert ref.states[0][:, 0].max() > 0                     # a plastic increment
    scale = np.abs(ref.U).max()
    close, info = s.step(st, ts[2], guess=ref.U * (1.0 + 1e-4))
    assert np.allclose(close.U, ref.U, rtol=0, atol=1e-8 * scale)
    assert info.iterations <= info_ref.iterations and info.cuts == 0
    far, _ = s.step(st, ts[2], guess=np.zeros_like(ref.U))
    assert np.allclose(far.U, ref.U, rtol=0, atol=1e-8 * scale)
    with pytest.raises(RomnetError, match="guess"):
        s.step(st, ts[2], guess=np.zeros(3))
