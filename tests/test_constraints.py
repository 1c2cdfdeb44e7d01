"""Dirichlet conditions and multi-point constraints in the HF solver (romnet/hifi/constraints.py).

* the elimination: cascades, substitution of imposed values, redundant and contradictory
  equations, the dependent DOF choice, nodes outside every element;
* the solver on the featured box (tests/deck_cases.py: imposed values, equations, nodal
  force, gravity): the solution satisfies every constraint to round-off, scipy and PETSc
  agree, 1 and 2 ranks agree with equations spanning the partition (tests/mpi/constraints_run.py,
  which also runs the ROM on both);
* conditions activated in a later step and held ones (CalculiX ``*BOUNDARY, FIXED``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import run_mpi
from deck_cases import featured_box
from romnet.errors import InputError
from romnet.hifi import HFSolver, SolverOptions
from romnet.hifi.constraints import eliminate
from romnet.hifi.linear import petsc
from romnet.mesh import ElementBlock, Mesh
from romnet.problem import Constraint, Dirichlet, Problem, TimeTable

SCRIPT = Path(__file__).parent / "mpi" / "constraints_run.py"


def two_cells():
    x = np.array([[i, j, k] for k in (0, 1) for j in (0, 1) for i in (0, 1, 2)], dtype=float)
    x = np.vstack([x, [[5.0, 5.0, 5.0]]])                      # node 12: outside every element
    conn = np.array([[0, 1, 4, 3, 6, 7, 10, 9], [1, 2, 5, 4, 7, 8, 11, 10]])
    return Mesh(x, np.arange(1, 14), [ElementBlock("c3d8", conn, [1, 2])],
                node_sets={"x0": np.array([0, 3, 6, 9]), "n2": np.array([2])})


def eq(name, terms, value=0.0):
    n, c, a = zip(*terms)
    return Constraint(name, np.array(n), np.array(c), np.array(a, dtype=float), np.array([0, len(terms)]), value)


def expr(e, dof):
    """{master: a}, {source: beta} of dependent ``dof``."""
    p = int(np.searchsorted(e.dependent, dof))
    assert e.dependent[p] == dof
    m = {int(c): float(v) for r, c, v in zip(e.t_rows, e.t_cols, e.t_vals) if r == p}
    g = {int(c): float(v) for r, c, v in zip(e.g_rows, e.g_cols, e.g_vals) if r == p}
    return m, g


def test_elimination_cascade_substitution_and_orphans():
    mesh = two_cells()
    pb = Problem(dirichlet=[Dirichlet("x0", 0, 0.0), Dirichlet("n2", 1, 0.3, "tab")],
                 constraints=[eq("a", [(1, 0, 1.0), (2, 0, -1.0)]),              # u1x = u2x
                              eq("b", [(2, 0, 1.0), (5, 0, -2.0)], 0.5),         # u2x = 2 u5x + 0.5
                              eq("c", [(2, 1, 1.0), (4, 1, -1.0)]),              # u2y (imposed) = u4y
                              eq("d", [(12, 0, 1.0), (8, 0, -1.0)])],            # orphan x DOF
                 tables={"tab": TimeTable("tab", [0.0, 1.0], [0.0, 1.0])})
    e = eliminate(mesh, pb, 1.0)
    m, g = expr(e, 1 * 3 + 0)                       # u1x = 2 u5x + 0.5 (cascade back-substituted)
    assert m == {5 * 3: 2.0} and list(g.values()) == [0.5]
    m, g = expr(e, 4 * 3 + 1)                       # dependent of c: u2y is imposed, so u4y = 0.3 tab
    assert m == {} and list(g.values()) == [0.3]
    assert e.sources[list(g)[0]] == ("tab", "dirichlet", 1)
    orphan = np.arange(36, 39)
    assert 36 in e.dependent and 37 in e.dependent and 38 in e.dependent    # 12y, 12z clamped; 12x = u8x
    assert expr(e, 36)[0] == {24: 1.0}
    assert np.allclose(e.g(pb, 1.0)[np.searchsorted(e.dependent, orphan[1:])], 0.0)


def test_redundant_and_contradictory_equations():
    mesh = two_cells()
    pb = Problem(dirichlet=[Dirichlet("x0", c, 0.0) for c in range(3)],
                 constraints=[eq("r", [(0, 0, 1.0), (3, 0, 1.0)])])                # both imposed to 0
    e = eliminate(mesh, pb, 1.0)
    assert any("redundant" in n for n in e.notes)
    pb.constraints = [eq("x", [(0, 0, 1.0), (3, 0, 1.0)], 1.0)]
    with pytest.raises(InputError, match="contradicts"):
        eliminate(mesh, pb, 1.0)


def test_dependent_falls_back_when_preferred_is_taken():
    mesh = two_cells()
    pb = Problem(constraints=[eq("a", [(1, 0, 1.0), (2, 0, -1.0)]), eq("b", [(1, 0, 1.0), (4, 0, -3.0)])])
    e = eliminate(mesh, pb, 1.0)
    # b's preferred u1x is a's dependent: substituted, b eliminates u4x = u2x / 3 (its largest term)
    assert expr(e, 3)[0] == {6: 1.0} and expr(e, 12)[0] == {6: pytest.approx(1 / 3)}


def _solve(case, linear):
    s = HFSolver(case.mesh, case.problem, options=SolverOptions(linear=linear, verbose=False))
    st = s.initial_state()
    Us = []
    for t, _, _ in s.schedule()[1:]:
        st, _ = s.step(st, t)
        Us.append(s.gather_U(st))
    s.close()
    return np.array(Us)


def test_solution_satisfies_constraints_scipy_and_petsc():
    case = featured_box()
    U = _solve(case, "scipy")
    pb = case.problem
    times = pb.stepping.times[1:]
    for c in pb.constraints:
        rows = np.repeat(np.arange(c.n_equations), np.diff(c.offsets))
        for k, t in enumerate(times):
            lhs = np.bincount(rows, weights=c.coefficients * U[k][c.nodes, c.components])
            assert np.allclose(lhs, c.rhs() * float(pb.table(c.table)(t)), rtol=0, atol=1e-14), c.name
    x4 = case.mesh.node_sets["x4"]
    assert np.allclose(U[-1][x4, 0], 0.01 * float(pb.table("pull")(1.0)), rtol=1e-14)
    if petsc() is None:
        pytest.skip("petsc4py not importable: PETSc backend not compared")
    Up = _solve(case, "petsc")
    assert np.abs(Up - U).max() <= 1e-10 * np.abs(U).max()


def test_activation_and_held_values():
    """A condition starting at t = 0.5 leaves its DOFs free before; a held one keeps the
    displacement its DOFs have at t = 0.5 (CalculiX *BOUNDARY, FIXED)."""
    case = featured_box(times=np.linspace(0, 1, 5))
    pb = case.problem
    X = case.mesh.coordinates
    mid = np.flatnonzero(np.isclose(X[:, 0], 2.0) & np.isclose(X[:, 2], 1.0))
    case.mesh.node_sets["mid"] = mid
    pb.dirichlet.append(Dirichlet("mid", 2, 0.0, None, start=0.5, hold=True))
    U = _solve(case, "scipy")
    free = _solve(featured_box(times=np.linspace(0, 1, 5)), "scipy")
    assert np.allclose(U[:2], free[:2], rtol=0, atol=1e-15)                 # t = 0.25, 0.5: not active
    assert np.allclose(U[2:, mid, 2], U[1, mid, 2], rtol=0, atol=1e-15)     # held at the t = 0.5 values
    assert not np.allclose(free[3, mid, 2], free[1, mid, 2])


def test_one_vs_two_ranks_constraints_across_the_partition(tmp_path):
    if petsc() is None:
        pytest.skip("petsc4py not importable: 2 ranks need PETSc")
    out = {}
    for n in (1, 2):
        (tmp_path / str(n)).mkdir()
        run_mpi(SCRIPT, tmp_path / str(n), tmp_path / f"r{n}.npz", n=n)
        out[n] = np.load(tmp_path / f"r{n}.npz")
    assert int(out[2]["size"]) == 2 and int(out[2]["spanning"]) > 0      # equations span the ranks
    for k in ("U_train", "U_new", "U_rom"):
        a, b = out[1][k], out[2][k]
        assert np.abs(a - b).max() <= 1e-10 * np.abs(a).max(), k
