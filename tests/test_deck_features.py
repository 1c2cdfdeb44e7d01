"""Deck features of the shared Abaqus/CalculiX reader (adapters/abaqus_deck), read from
small decks written here: sets, loads, local systems, constraints, materials and
orientations, initial conditions, submodels, .dat variants, errors naming file:line, and
the problem's round trip through the case store. The ccx comparisons of these features are
in tests/test_ccx_suite.py; a non-matching *TIE is compared with ccx here.
"""
from __future__ import annotations

import numpy as np
import pytest

from adapters.abaqus_deck import build_mesh, parse_deck
from adapters.abaqus_deck.constraints import cylindrical_axes
from adapters.abaqus_deck.problem import read_problem
from adapters.abaqus_deck.submodel import GlobalResults, interpolation
from adapters.calculix.dat import read_dat
from romnet.errors import InputError, UnsupportedError
from romnet.problem import Problem
from romnet.store import CaseStore, write_case

MAT = "*MATERIAL, NAME=M\n*ELASTIC\n200000., 0.3\n*DENSITY\n7.8E-9\n*SOLID SECTION, ELSET=EALL, MATERIAL=M\n"


def cube_deck(tmp_path, n=2, etype="C3D8", extra_model="", step="", name="d.inp", size=1.0):
    """Deck of an n^3 grid of C3D8 (node id = 1 + i + (n+1) j + (n+1)^2 k) plus text."""
    m = n + 1
    lines = ["*NODE, NSET=NALL"]
    for k in range(m):
        for j in range(m):
            for i in range(m):
                lines.append(f"{1 + i + m * j + m * m * k}, {size * i / n}, {size * j / n}, {size * k / n}")
    lines.append(f"*ELEMENT, TYPE={etype}, ELSET=EALL")
    e = 1
    for k in range(n):
        for j in range(n):
            for i in range(n):
                c = lambda a, b, d: 1 + (i + a) + m * (j + b) + m * m * (k + d)  # noqa: E731
                lines.append(", ".join(map(str, [e, c(0, 0, 0), c(1, 0, 0), c(1, 1, 0), c(0, 1, 0),
                                                 c(0, 0, 1), c(1, 0, 1), c(1, 1, 1), c(0, 1, 1)])))
                e += 1
    text = "\n".join(lines) + "\n" + MAT + extra_model
    if step:
        text += "*STEP\n*STATIC\n0.5, 1.\n" + step + "*END STEP\n"
    p = tmp_path / name
    p.write_text(text)
    return p


def read(path, dialect="calculix", **kw):
    deck = parse_deck(path)
    dm = build_mesh(deck)
    return dm, read_problem(deck, dm, dialect=dialect, **kw)


def line_of(path, start):
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln.startswith(start))


# ---------------------------------------------------------------- sets
def test_generate_skips_ids_that_do_not_exist(tmp_path):
    p = cube_deck(tmp_path, extra_model="*NSET, NSET=A, GENERATE\n1, 1000, 3\n*ELSET, ELSET=B, GENERATE\n"
                                        "2, 50, 2\n*NSET, NSET=C\n1, 2\n")
    dm, _ = read(p)
    assert dm.mesh.node_ids[dm.mesh.node_sets["A"]].tolist() == list(range(1, 28, 3))
    assert dm.element_ids[dm.mesh.element_sets["B"]].tolist() == [2, 4, 6, 8]
    p = cube_deck(tmp_path, extra_model="*NSET, NSET=C\n1, 2000\n")       # listed ids must exist
    with pytest.raises(InputError, match=rf"d\.inp:{line_of(p, '*NSET, NSET=C') + 1}: unknown node id 2000"):
        read(p)


# ---------------------------------------------------------------- loads
def test_cload_histories_op_new_and_amplitude(tmp_path):
    p = cube_deck(tmp_path, extra_model="*AMPLITUDE, NAME=A\n0., 0., 0.5, 2., 1., 1.\n"
                                        "*BOUNDARY\n1, 1, 3\n",
                  step="*CLOAD\n27, 3, 10.\n25, 1, 4.\n")
    text = p.read_text() + "*STEP\n*STATIC\n0.5, 1.\n*CLOAD, OP=NEW\n27, 2, -5.\n*CLOAD, AMPLITUDE=A\n19, 1, 3.\n*END STEP\n"
    p.write_text(text)
    dm, pb = read(p)
    forces = {}
    for f in pb.nodal_forces:
        tab = pb.table(f.table)
        for n, F in zip(f.nodes, f.forces):
            forces.setdefault(int(dm.mesh.node_ids[n]), []).append((F, f.value, tab))

    def at(nid, t):
        return sum((F * v * float(tab(t)) for F, v, tab in forces[nid]), np.zeros(3))
    assert np.allclose(at(27, 1.0), [0, 0, 10]) and np.allclose(at(27, 0.5), [0, 0, 5])
    assert np.allclose(at(27, 2.0), [0, -5, 0]) and np.allclose(at(27, 1.5), [0, -2.5, 5])   # OP=NEW ramps
    assert np.allclose(at(25, 2.0), 0) and np.allclose(at(25, 1.5), [2, 0, 0])
    assert np.allclose(at(19, 1.5), [6, 0, 0]) and np.allclose(at(19, 2.0), [3, 0, 0])     # amplitude of step time
    assert "nodal forces" in pb.summary()


def test_cload_moment_refused_with_line(tmp_path):
    p = cube_deck(tmp_path, step="*CLOAD\n27, 5, 1.\n")
    with pytest.raises(UnsupportedError, match=rf"d\.inp:{line_of(p, '*CLOAD') + 1}: \*CLOAD: dof 5 not supported"):
        read(p)


def test_gravity_and_network_pressure(tmp_path):
    p = cube_deck(tmp_path, extra_model="*NODE\n900, 5., 5., 5.\n*ELSET, ELSET=TOP\n5, 6, 7, 8\n",
                  step="*DLOAD\nEALL, GRAV, 9810., 0., 0., -2.\nTOP, P2NP, 900\n*BOUNDARY\n900, 2, 2, -3.\n")
    dm, pb = read(p)
    (g,) = pb.gravity
    assert g.value * pb.table(g.table)(1.0) == 9810.0 and np.allclose(g.direction, [0, 0, -1])
    assert g.value * pb.table(g.table)(0.5) == 0.5 * 9810.0
    (pr,) = pb.pressure
    assert pr.face_set == "DLOAD_TOP_P2" and pr.value * pb.table(pr.table)(1.0) == -3.0
    p = cube_deck(tmp_path, extra_model="*ELSET, ELSET=TOP\n5\n", step="*DLOAD\nTOP, P2NP, 3\n")
    with pytest.raises(InputError, match="pressure node 3 has no value on its DOF 2"):
        read(p)


def test_boundary_first_imposed_in_a_later_step(tmp_path):
    p = cube_deck(tmp_path, extra_model="*BOUNDARY\n1, 1, 3\n", step="*CLOAD\n27, 3, 1.\n")
    p.write_text(p.read_text() + "*STEP\n*STATIC\n*BOUNDARY, FIXED\n27, 1, 3\n*END STEP\n"
                 "*STEP\n*STATIC\n*BOUNDARY\n26, 1, 1, 0.1\n*END STEP\n")
    with pytest.raises(UnsupportedError, match=r"imposed first in step 3 .* except \*BOUNDARY, FIXED"):
        read(p)
    p.write_text(p.read_text().rsplit("*STEP", 1)[0])
    _, pb = read(p)
    held = [d for d in pb.dirichlet if d.hold]
    assert len(held) == 3 and all(d.start == 1.0 for d in held)


# ---------------------------------------------------------------- local systems and constraints
def test_transform_axes_and_local_loads(tmp_path):
    x = np.array([2.0, 3.0, 7.0])
    R = cylindrical_axes(x, np.zeros(3), np.array([0.0, 0.0, 1.0]))
    assert np.allclose(R[0], [2 / np.sqrt(13), 3 / np.sqrt(13), 0]) and np.allclose(R[2], [0, 0, 1])
    assert np.allclose(R[1], np.cross(R[2], R[0])) and np.allclose(R @ R.T, np.eye(3))
    p = cube_deck(tmp_path, extra_model="*NSET, NSET=T\n27, 9\n*TRANSFORM, NSET=T, TYPE=C\n0., 0., 0., 0., 0., 1.\n"
                                        "*BOUNDARY\nT, 1, 1, 0.01\n",
                  step="*CLOAD\n27, 2, 10.\n")
    dm, pb = read(p)
    (c,) = [c for c in pb.constraints if c.kind == "transform"]
    assert c.n_equations == 2 and c.values == 0.01
    X = dm.mesh.coordinates
    for e in range(2):
        n = c.nodes[c.offsets[e]]
        assert np.allclose(c.coefficients[c.offsets[e]:c.offsets[e + 1]],
                           sorted(X[n, :2] / np.linalg.norm(X[n, :2]), key=lambda v: -abs(v)))
    (f,) = pb.nodal_forces
    n27 = dm.node_index([27])[0]
    assert np.allclose(f.forces[0] * f.value * pb.table(f.table)(1.0), 10 * np.array([-1, 1, 0]) / np.sqrt(2))
    assert f.nodes[0] == n27


def test_equation_parsing_and_errors(tmp_path):
    eq = "*EQUATION\n3\n27, 1, 1., 26, 1, -0.5, 25,\n1, -0.5\n2\nNS, 3, 1., NT, 3, -1.\n"
    p = cube_deck(tmp_path, extra_model="*NSET, NSET=NS\n19, 20\n*NSET, NSET=NT\n1, 2\n" + eq)
    dm, pb = read(p)
    (c,) = pb.constraints
    assert c.n_equations == 3 and c.kind == "equation"
    ids = dm.mesh.node_ids
    assert ids[c.nodes[:3]].tolist() == [27, 26, 25] and c.coefficients[:3].tolist() == [1, -0.5, -0.5]
    assert ids[c.nodes[3:]].tolist() == [19, 1, 20, 2] and c.components[3:].tolist() == [2] * 4
    p = cube_deck(tmp_path, extra_model="*EQUATION\n2\n27, 1, 1.\n")
    with pytest.raises(InputError, match=r"equation with 2 terms: only 1 given"):
        read(p)
    p = cube_deck(tmp_path, extra_model="*EQUATION\n2\n27, 1, 1., 26, 7, 1.\n")
    with pytest.raises(UnsupportedError, match=r"d\.inp:\d+: \*EQUATION: dof 7 not supported"):
        read(p)


def test_meanrot_and_rigid_body_hold_for_rigid_motions(tmp_path):
    """The linearized equations are satisfied by small rigid motions (u = theta x r)."""
    p = cube_deck(tmp_path, extra_model="*NODE\n900, 0., 0., 1.\n901, 0.5, 0.5, 0.5\n902, 0., 0., 0.\n"
                                        "*MPC\nMEANROT, 19, 19, 19, 21, 21, 21, 25, 25, 25, 27, 27, 27, 900\n"
                                        "*NSET, NSET=RB\n1, 3, 7, 9\n*RIGID BODY, NSET=RB, REF NODE=901, ROT NODE=902\n")
    dm, pb = read(p)
    mr, rb = pb.constraints
    X = dm.mesh.coordinates
    theta = 1e-3
    # about the z axis through the centre of 19, 21, 25, 27 (the top face)
    c = X[mr.nodes[:-1]].mean(axis=0)
    U = np.zeros_like(X)
    U[:] = theta * np.cross([0, 0, 1.0], X - [0.5, 0.5, 0])
    U[dm.node_index([900])[0]] = [theta, 0, 0]
    assert abs(np.sum(mr.coefficients * U[mr.nodes, mr.components])) <= 1e-15
    assert np.isclose(c[2], 1.0)
    th = np.array([1e-3, -2e-3, 5e-4])
    U = np.cross(th, X - X[dm.node_index([901])[0]]) + [1e-4, 2e-4, 3e-4]
    U[dm.node_index([902])[0]] = th
    r = [np.sum(rb.coefficients[a:b] * U[rb.nodes[a:b], rb.components[a:b]])
         for a, b in zip(rb.offsets[:-1], rb.offsets[1:])]
    assert rb.n_equations == 12 and np.abs(r).max() <= 1e-17


def test_tie_non_matching_interpolates_linear_fields(tmp_path):
    """Slave nodes of a finer face tied to a coarser one: sum N_a u_a reproduces any
    linear field exactly, nodes off the master or on it are not tied (notes)."""
    p = cube_deck(tmp_path, n=2)
    text = p.read_text()
    fine = ["*NODE, NSET=FINE"] + [f"{1000 + 5 * j + i}, {i / 4:.6g}, {j / 4:.6g}, 1.0" for j in range(5) for i in range(5)]
    fine += ["1100, 0.5, 0.5, 1.5"]                          # far from the master surface
    text = text.replace("*MATERIAL", "\n".join(fine) + "\n*ELSET, ELSET=TOPEL\n5, 6, 7, 8\n"
                        "*SURFACE, NAME=MASTER\nTOPEL, S2\n*NSET, NSET=SL\nFINE, 27\n*SURFACE, NAME=SLAVE, TYPE=NODE\nSL\n"
                        "*TIE, NAME=T\nSLAVE, MASTER\n*MATERIAL", 1)
    p.write_text(text)
    dm, pb = read(p)
    (c,) = pb.constraints
    assert c.kind == "tie" and c.n_equations == 3 * 25
    assert any("1 slave node(s) farther than" in n for n in pb.notes)
    assert any("also on the master" in n for n in pb.notes)
    X = dm.mesh.coordinates
    U = X @ np.array([[1.0, 2, -1], [0.5, 0, 3], [2, 1, 1]]) * 1e-3
    res = np.bincount(np.repeat(np.arange(c.n_equations), np.diff(c.offsets)),
                      weights=c.coefficients * U[c.nodes, c.components])
    assert np.abs(res).max() <= 1e-15


def test_tie_non_matching_matches_ccx(tmp_path):
    """Two blocks, 2 x 2 and 3 x 3 elements across the tied face, clamped and pulled:
    romnet's HF solver with the tie constraints matches ccx 2.20."""
    from ccx_decks import ccx_or_skip, run_ccx

    from adapters.calculix import ADAPTER
    from romnet.hifi.output import compare_stores
    from romnet.hifi.solver import SolverOptions, run_hifi
    ccx_or_skip()

    def block(i0, n, x0):
        nodes, els = [], []
        m = n + 1
        for k in range(m):
            for j in range(m):
                for i in range(m):
                    nodes.append(f"{i0 + i + m * j + m * m * k}, {x0 + i / n:.12g}, {j / n:.12g}, {k / n:.12g}")
        for k in range(n):
            for j in range(n):
                for i in range(n):
                    c = lambda a, b, d: i0 + (i + a) + m * (j + b) + m * m * (k + d)  # noqa: E731
                    els.append(", ".join(map(str, [i0 + i + n * j + n * n * k, c(0, 0, 0), c(1, 0, 0), c(1, 1, 0),
                                                   c(0, 1, 0), c(0, 0, 1), c(1, 0, 1), c(1, 1, 1), c(0, 1, 1)])))
        return nodes, els
    na, ea = block(1, 2, 0.0)
    nb, eb = block(1001, 3, 1.0)
    text = "\n".join(["*NODE, NSET=NALL"] + na + nb + ["*ELEMENT, TYPE=C3D8, ELSET=A"] + ea
                     + ["*ELEMENT, TYPE=C3D8, ELSET=B"] + eb) + "\n"
    # (explicit node lists: ccx 2.20 underestimates its boundary-condition count with GENERATE)
    text += ("*ELSET, ELSET=EALL\nA, B\n*NSET, NSET=FIX\n" + ", ".join(map(str, range(1, 28, 3)))
             + "\n*NSET, NSET=END\n" + ", ".join(map(str, range(1004, 1065, 4))) + "\n"
             "*ELSET, ELSET=AR\n2, 4, 6, 8\n*ELSET, ELSET=BL\n1001, 1004, 1007, 1010, 1013, 1016, 1019, 1022, 1025\n"
             "*SURFACE, NAME=MS\nAR, S4\n*SURFACE, NAME=SS\nBL, S6\n*TIE, NAME=GLUE\nSS, MS\n" + MAT
             + "*BOUNDARY\nFIX, 1, 3\n*STEP\n*STATIC\n*CLOAD\nEND, 1, 10.\nEND, 3, -2.\n*NODE FILE\nU\n*END STEP\n")
    deck = tmp_path / "tie.inp"
    deck.write_text(text)
    run_ccx(deck)
    case = ADAPTER.read(deck)
    (c,) = case.problem.constraints
    assert c.n_equations == 3 * 16                     # the 4 x 4 slave nodes of the finer face
    write_case(tmp_path / "tie.h5", case)
    run_hifi(tmp_path / "tie.h5", tmp_path / "tie-hifi.h5", options=SolverOptions(verbose=False), progress=None)
    err = compare_stores(tmp_path / "tie-hifi.h5", tmp_path / "tie.h5").u_rel_err
    print(f"\nnon-matching tie vs ccx: U {err:.2e}")
    assert err <= 1e-4, err


# ---------------------------------------------------------------- materials and orientations
def test_elastic_types_and_orientation(tmp_path, monkeypatch):
    """The mapping onto the material description keys (the laws: romnet/materials/)."""
    import adapters.abaqus_deck.problem as deck_problem
    monkeypatch.setattr(deck_problem, "build_law", lambda spec: None)
    mats = ("*MATERIAL, NAME=O\n*ELASTIC, TYPE=ORTHO\n500000., 157200., 400000., 157200., 157200., 300000., 126200., 126200.,\n"
            "126200., 294.\n*MATERIAL, NAME=E\n*ELASTIC, TYPE=ENGINEERING CONSTANTS\n1., 2., 3., .1, .2, .3, 4., 5.,\n6.\n"
            "*MATERIAL, NAME=A\n*ELASTIC, TYPE=ANISO\n" + ", ".join(str(float(i)) for i in range(1, 9)) + ",\n"
            + ", ".join(str(float(i)) for i in range(9, 17)) + ",\n" + ", ".join(str(float(i)) for i in range(17, 22))
            + "\n*ORIENTATION, NAME=OR\n0., 0., 1., 1., 0., 0.\n*ELSET, ELSET=E1\n1\n*ELSET, ELSET=E2\n2\n*ELSET, ELSET=E3\n3\n"
            "*SOLID SECTION, ELSET=E1, MATERIAL=O, ORIENTATION=OR\n*SOLID SECTION, ELSET=E2, MATERIAL=E\n"
            "*SOLID SECTION, ELSET=E3, MATERIAL=A\n*ORIENTATION, NAME=OI\n1., 0., 0., 0., 1., 0.\n"
            "*SOLID SECTION, ELSET=EALL, MATERIAL=M, ORIENTATION=OI\n")
    p = cube_deck(tmp_path, extra_model=mats)
    _, pb = read(p)
    m0, o, e, a, iso = [m.spec for m in pb.materials]
    assert o["elasticity"]["type"] == "anisotropic" and o["elasticity"]["D1111"] == 500000.0
    assert o["elasticity"]["D2323"] == 126200.0 and o["elasticity"]["D1112"] == 0.0
    assert np.allclose(o["orientation"]["R"], [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert e["elasticity"] == {"type": "orthotropic", "E1": 1.0, "E2": 2.0, "E3": 3.0, "nu12": 0.1, "nu13": 0.2,
                               "nu23": 0.3, "G12": 4.0, "G13": 5.0, "G23": 6.0}
    assert a["elasticity"]["D1111"] == 1.0 and a["elasticity"]["D2323"] == 21.0 and a["elasticity"]["D1213"] == 14.0
    assert "orientation" not in iso                   # isotropic: the orientation changes nothing
    p = cube_deck(tmp_path, extra_model="*ORIENTATION, NAME=C, SYSTEM=CYLINDRICAL\n0., 0., 0., 0., 0., 1.\n")
    with pytest.raises(UnsupportedError, match=r"\*ORIENTATION: SYSTEM=CYLINDRICAL: the local axes vary"):
        read(p)


def test_material_the_laws_cannot_run_is_refused_at_import(tmp_path):
    """A material romnet's laws reject (here anisotropic elasticity, while the laws lack it)
    is refused at import, naming *ELASTIC and its line; with the laws it imports."""
    from adapters.abaqus_deck.materials import ANISO_KEYS
    from romnet.errors import MaterialError
    from romnet.materials import build_law
    p = cube_deck(tmp_path, extra_model="*MATERIAL, NAME=A\n*ELASTIC, TYPE=ORTHO\n5., 1., 4., 1., 1., 3., 1., 1.,\n1.\n"
                                        "*SOLID SECTION, ELSET=EALL, MATERIAL=A\n")
    try:
        build_law({"law": "elastic", "elasticity": {"type": "anisotropic", **{
            k: 1.0 if k[1:3] == k[3:5] else 0.0 for k in ANISO_KEYS}}})
    except MaterialError:
        with pytest.raises(UnsupportedError, match=rf"d\.inp:{line_of(p, '*ELASTIC, TYPE=ORTHO')}: \*ELASTIC: "
                                                   r"material A on EALL: romnet's laws cannot run it"):
            read(p)
    else:
        read(p)


# ---------------------------------------------------------------- initial conditions
def test_initial_stress_and_plastic_strain(tmp_path):
    ini = "*INITIAL CONDITIONS, TYPE=STRESS\n" + "\n".join(f"2, {i}, -100., -50., 0., 10., 20., 30." for i in range(1, 9))
    ini += "\n*INITIAL CONDITIONS, TYPE=PLASTIC STRAIN\n3, 2, .01, 0., 0., .002, 0., 0.\n"
    p = cube_deck(tmp_path, extra_model=ini)
    dm, pb = read(p)
    s = pb.initial.stress.reshape(8, 8, 6)
    assert np.allclose(s[1], [-100, -50, 0, 10, 30, 20])          # 11 22 33 12 23 31
    assert not s[0].any() and pb.initial.plastic_strain.reshape(8, 8, 6)[2, 1, 3] == 0.002
    _, pb = read(cube_deck(tmp_path, extra_model="*INITIAL CONDITIONS, TYPE=STRESS\nEALL, 1., 2., 3., 4., 5., 6.\n"),
                 dialect="abaqus")
    assert np.allclose(pb.initial.stress, [1, 2, 3, 4, 6, 5])
    p = cube_deck(tmp_path, extra_model="*INITIAL CONDITIONS, TYPE=STRESS, USER\n")
    with pytest.raises(UnsupportedError, match=r"USER: the values come from a user subroutine"):
        read(p)


def test_initial_stress_across_integration_rules(tmp_path):
    """Reduced-integration elements run with another rule: per-element constants carry
    over exactly, varying values are refused."""
    from adapters.abaqus_deck.mesh import ELEMENT_TYPES
    from romnet.fe.elements import get_element_type
    et, n_src = ELEMENT_TYPES["C3D8R"]
    if get_element_type(et).n_ip == n_src:
        pytest.skip("romnet runs C3D8R with its own rule: nothing to carry over")
    p = cube_deck(tmp_path, etype="C3D8R", extra_model="*INITIAL CONDITIONS, TYPE=STRESS\n1, 1, 5., 0., 0., 0., 0., 0.\n")
    _, pb = read(p)
    assert np.allclose(pb.initial.stress.reshape(8, -1, 6)[0, :, 0], 5.0)


# ---------------------------------------------------------------- submodel
def test_submodel_interpolation_is_exact_for_quadratic_fields():
    """A global C3D20 element; points inside it get the interpolated field exactly."""
    from romnet.fe.elements import get_element_type
    et = get_element_type("c3d20")
    X = (et.reference_nodes + 1.0) * [1.0, 0.5, 2.0] + [0.3, 0.0, -1.0]
    X[8] += [0.0, -0.05, 0.0]                                  # a curved edge
    g = GlobalResults(None, X, np.arange(1, 21), [("c3d20", np.arange(20)[None], np.array([7]))], {}, {}, {})
    rng = np.random.default_rng(0)
    xi = rng.uniform(-0.9, 0.9, (10, 3))
    P = et.shape(xi) @ X
    W, C = interpolation(g, P, None, "global.frd")
    f = X[:, 0] ** 2 + X[:, 1] * X[:, 2]
    assert np.allclose(W @ f[np.arange(20)], et.shape(xi) @ f, atol=1e-12)
    with pytest.raises(InputError, match="not inside the global mesh"):
        interpolation(g, np.array([[10.0, 10.0, 10.0]]), None, "global.frd")


# ---------------------------------------------------------------- .dat variants
def test_dat_local_flags_and_totals(tmp_path):
    p = tmp_path / "j.dat"
    p.write_text("\n displacements (vx,vy,vz) for set NALL and time  0.1000000E+01\n\n"
                 "         1  1.0E+00 -2.0E+00  3.0E+00 L\n         2  4.0E+00  5.0E+00  6.0E+00\n\n"
                 " forces (fx,fy,fz) for set N and time  0.1000000E+01\n\n         5 -1.0E-01 -3.0E-01 -2.0E+00\n\n"
                 " total force (fx,fy,fz) for set N and time  0.1000000E+01\n\n        6.253837E-11  9.045126E+00  2.3E-12\n")
    disp, forces, total = read_dat(p)
    assert disp.local.tolist() == [True, False] and np.allclose(disp.values[0], [1, -2, 3])
    assert total.kind == "total" and total.ids.size == 0 and np.allclose(total.values, [[6.253837e-11, 9.045126, 2.3e-12]])
    p.write_text(p.read_text() + "\n total force (fx,fy,fz) for set M and time  0.1000000E+01\n\n 1. 2. 3.\n 4. 5. 6.\n")
    with pytest.raises(InputError, match=r"j\.dat:\d+: table 'total force': expected one line of totals"):
        read_dat(p)


# ---------------------------------------------------------------- store round trip
def test_problem_round_trip_through_the_store(tmp_path):
    from deck_cases import featured_box
    case = featured_box()
    pb = case.problem
    pb.dirichlet[0].start, pb.dirichlet[1].hold = 0.5, True
    pb.dirichlet[2].value = np.arange(len(case.mesh.node_sets["x0"]), dtype=float)
    pb.thermal_reference, pb.temperature_at_ips, pb.notes = "initial", ["trilinear"], ["a note"]
    from romnet.problem import InitialState
    pb.initial = InitialState(np.arange(64 * 8 * 6.0).reshape(-1, 6), None)
    path = write_case(tmp_path / "s.h5", case)
    with CaseStore(path) as st:
        back = st.problem()
    assert isinstance(back, Problem)
    for a, b in zip(pb.constraints, back.constraints):
        for k in ("nodes", "components", "coefficients", "offsets"):
            assert np.array_equal(getattr(a, k), getattr(b, k))
        assert np.allclose(a.values, b.values) and a.table == b.table and a.kind == b.kind
    assert back.dirichlet[0].start == 0.5 and back.dirichlet[1].hold
    assert np.array_equal(back.dirichlet[2].value, pb.dirichlet[2].value)
    assert np.array_equal(back.nodal_forces[0].forces, pb.nodal_forces[0].forces)
    assert back.gravity[0] == pb.gravity[0]
    assert np.array_equal(back.initial.stress, pb.initial.stress) and back.initial.plastic_strain is None
    assert (back.thermal_reference, back.temperature_at_ips, back.notes) == ("initial", ["trilinear"], ["a note"])
    assert back.summary() == pb.summary()


def test_part_and_assembly_sets_of_the_same_name(tmp_path):
    """Abaqus: a part's Set-1 (every node) and the assembly's Set-1 (some nodes of the
    instance) are two sets; the part's section uses the part's, the model data the
    assembly's, and the assembly can name the part's as Instance.Set-1."""
    p = tmp_path / "a.inp"
    p.write_text("*Part, name=P\n*Node\n1, 0., 0., 0.\n2, 1., 0., 0.\n3, 1., 1., 0.\n4, 0., 1., 0.\n"
                 "5, 0., 0., 1.\n6, 1., 0., 1.\n7, 1., 1., 1.\n8, 0., 1., 1.\n*Element, type=C3D8\n1, 1, 2, 3, 4, 5, 6, 7, 8\n"
                 "*Nset, nset=Set-1, generate\n1, 8, 1\n*Elset, elset=Set-1\n1\n"
                 "*Solid Section, elset=Set-1, material=M\n*End Part\n*Assembly, name=A\n*Instance, name=P-1, part=P\n"
                 "*End Instance\n*Nset, nset=Set-1, instance=P-1\n1, 4, 5, 8\n*Nset, nset=Both, instance=P-1\nP-1.Set-1\n"
                 "*End Assembly\n*Material, name=M\n*Elastic\n1000., 0.3\n*Boundary\nSet-1, 1, 1\n*Step\n*Static\n"
                 "*Cload\nBoth, 2, 1.\n*End Step\n")
    dm, pb = read(p, dialect="abaqus")
    ns = dm.mesh.node_sets
    assert sorted(ns["SET-1"].tolist()) == [0, 3, 4, 7] and ns["P-1.SET-1"].size == 8 and ns["BOTH"].size == 8
    (d,) = pb.dirichlet
    assert d.node_set == "SET-1" and pb.materials[0].element_set == "P-1.SET-1"
    assert pb.nodal_forces[0].forces.shape == (8, 3)
    p.write_text(p.read_text().replace("*End Instance\n", "*End Instance\n*Instance, name=P-2, part=P\n*End Instance\n"))
    with pytest.raises(UnsupportedError, match=r"a\.inp:\d+: \*INSTANCE: a second instance \(P-2\) of part P"):
        read(p, dialect="abaqus")
