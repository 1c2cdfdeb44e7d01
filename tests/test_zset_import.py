"""Z-set importer on the shared real data (read in place) and on small synthetic meshes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adapters.zset import ADAPTER
from adapters.zset.deck import parse_deck, read_deck
from adapters.zset.geof import FLIP, ZSET_ELEMENTS, read_geof, signed_measure
from adapters.zset.material import read_material
from adapters.zset.parallel import read_cut
from romnet.case import Case

from conftest import zset_case


case_dir = zset_case  # skips (or fails under CI) when the shared data is absent


def raw(path, *shape):
    return np.fromfile(path, dtype=">f4").reshape(shape).astype(np.float64)


@pytest.fixture(scope="module")
def seq():
    return ADAPTER.read(case_dir("MecaSequential") / "cube.ut")


# ---------------------------------------------------------------- mesh
def test_geof_mesh(seq):
    m = seq.mesh
    assert (m.n_nodes, m.n_elements, m.dim) == (343, 216, 3)
    assert m.element_types == ["c3d8"]
    assert m.node_ids.tolist() == list(range(1, 344))
    assert np.allclose(m.coordinates[1], [1 / 6, 0, 0])  # node 2
    for s in ("x0", "x1", "x0y0", "x0y1z1", "center"):
        assert s in m.node_sets
    assert m.node_sets["x0y1z1"].tolist() == [336]
    assert len(m.node_sets["x1"]) == 49 and np.allclose(m.coordinates[m.node_sets["x1"], 0], 1.0)
    assert len(m.element_set("ALL_ELEMENT")) == 216 and len(m.node_set("ALL_NODE")) == 343
    assert m.element_sets["EVP"].tolist() == list(range(108))
    assert set(m.face_sets) == {"x0", "x1", "px0"}
    x1 = m.face_sets["x1"]["q4"]
    assert x1.shape == (36, 4)
    # element 1 = "1 c3d8 1 2 9 8 50 51 58 57"
    assert m.blocks[0].connectivity[0].tolist() == [0, 1, 8, 7, 49, 50, 57, 56]
    assert m.blocks[0].element_ids[0] == 1
    x = m.coordinates
    assert (signed_measure("c3d8", x[m.blocks[0].connectivity]) > 0).all()
    # face normals point out of the cube
    for name, out in (("x1", [1, 0, 0]), ("x0", [-1, 0, 0])):
        p = x[m.face_sets[name]["q4"]]
        n = np.cross(p[:, 1] - p[:, 0], p[:, 3] - p[:, 0])
        assert (n @ np.array(out) > 0).all()
    assert "mirrored_elements" not in seq.metadata


# ---------------------------------------------------------------- results
def test_results_sequential(seq):
    d = case_dir("MecaSequential")
    s = seq.results["imported"]
    assert s.n_times == 11
    assert np.allclose(s.times, np.linspace(0, 2, 11))
    assert s.increments.tolist() == list(range(11)) and set(s.cycles.tolist()) == {1}
    node = raw(d / "cube.node", 11, 6, 343)
    integ = raw(d / "cube.integ", 11, 216, 19, 8)
    ctnod = raw(d / "cube.ctnod", 11, 19, 343)
    u = s.nodal["U"]
    assert u.values.shape == (11, 343, 3) and u.values.dtype == np.float64
    assert u.source_names == ["U1", "U2", "U3"]
    assert np.array_equal(u.values, node[:, :3].transpose(0, 2, 1))
    assert np.array_equal(s.nodal["RU"].values, node[:, 3:].transpose(0, 2, 1))
    shapes = {"strain": 6, "stress": 6, "p": 1, "plastic_strain": 6}
    assert {k: v.values.shape for k, v in s.integ.items()} == {k: (11, 1728, c) for k, c in shapes.items()}
    assert s.integ["strain"].components == ["11", "22", "33", "12", "23", "31"]
    assert s.integ["p"].source_names == ["evrcum"]
    assert s.integ["plastic_strain"].source_names[0] == "evri11"
    # integ: element e, point q -> row 8 e + q; variables 0..5 eto, 6..11 sig, 12 evrcum, 13.. evri
    ip = integ.transpose(0, 1, 3, 2).reshape(11, 1728, 19)
    assert np.array_equal(s.integ["strain"].values, ip[:, :, 0:6])
    assert np.array_equal(s.integ["stress"].values, ip[:, :, 6:12])
    assert np.array_equal(s.integ["p"].values[..., 0], ip[:, :, 12])
    assert np.array_equal(s.integ["plastic_strain"].values, ip[:, :, 13:19])
    assert s.integ["stress"].values[10, 8 * 17 + 5, 3] == integ[10, 17, 9, 5]
    assert np.array_equal(s.nodal["stress_nodes"].values, ctnod[:, 6:12].transpose(0, 2, 1))
    assert np.array_equal(s.nodal["p_nodes"].values[..., 0], ctnod[:, 12])
    assert seq.metadata["code"] == "zset"
    assert {Path(f).name for f in seq.metadata["files"]} >= {"cube.geof", "cube.ut", "cube.node", "cube.integ",
                                                            "cube.ctnod", "cube.inp", "mat", "pressure.node"}


# ---------------------------------------------------------------- deck
MECASEQ_MAT = {
    "law": "gen_evp", "density": 1e-8,
    "elasticity": {"young": {"temperature": [0.0, 2000.0], "value": [2e5, 2e5]}, "poisson": 0.3},
    "thermal_strain": {"alpha": {"temperature": [0.0, 2000.0], "value": [2e-5, 2e-5]}, "ref_temperature": 20.0},
    "flow": {"type": "norton", "K": {"temperature": [0.0, 2000.0], "value": [300.0, 300.0]},
             "n": {"temperature": [0.0, 2000.0], "value": [30.0, 30.0]}},
    "kinematic": {"type": "nonlinear", "C": {"temperature": [0.0, 2000.0], "value": [1e5, 1e5]},
                  "D": {"temperature": [0.0, 2000.0], "value": [1000.0, 1000.0]}},
    "isotropic": {"type": "constant", "R0": {"temperature": [0.0, 2000.0], "value": [10.0, 10.0]}},
    "integration": {"theta": 1.0, "tolerance": 1e-9, "max_iterations": 200, "hardening_theta": 0.999},
}


def test_deck_sequential(seq):
    d = case_dir("MecaSequential")
    pb = seq.problem
    assert [(b.node_set, b.component, b.value, b.table) for b in pb.dirichlet] == [
        ("x0", 0, 0.0, None), ("x0y0", 1, 0.0, None), ("x0y1z1", 2, 0.0, None)]
    st = pb.stepping
    assert np.allclose(st.times, np.linspace(0, 2, 11)) and st.cycles == 1 and st.ratio == 1e-4
    # tables
    tp = pb.tables["pressure"]
    assert (tp.times, tp.values, tp.period) == ([0.0, 0.1, 2.0], [0.0, -100.0, -100.0], 2.0)
    tr = pb.tables["rotation"]
    assert (tr.times, tr.values, tr.period) == ([0.0, 1.0, 2.0], [0.0, 1.0, 1.0], 2.0)
    # pressure: one value per face of x1 (file order == romnet order here), sign flipped
    (p,) = pb.pressure
    assert (p.face_set, p.per, p.table) == ("x1", "face", "pressure")
    assert np.allclose(p.value, -raw(d / "pressure.node", 36))
    # centrifugal: value 1.5e4 is omega -> omega2 = value^2, table squared
    (c,) = pb.centrifugal
    assert (c.element_set, c.center, c.axis) == ("ALL_ELEMENT", [3.5, -20.0, 1.5], [0.0, 0.0, 1.0])
    assert c.omega2 == pytest.approx(1.5e4 ** 2)
    sq = pb.tables[c.table]
    t = np.linspace(0, 2, 41)
    assert np.allclose(sq(st.times), tr(st.times) ** 2, atol=1e-12)
    assert np.allclose(sq(t), tr(t) ** 2, atol=1e-3)
    # temperature
    tem = pb.temperature
    assert np.allclose(tem.times, [0, 1, 2]) and tem.period == 2.0
    assert tem.fields.shape == (3, 343)
    t1, t2 = raw(d / "temperature1.node", 343), raw(d / "temperature2.node", 343)
    assert np.array_equal(tem.fields[0], t1) and np.array_equal(tem.fields[1], t2)
    assert np.array_equal(tem.fields[2], t1)
    assert np.allclose(tem.at(3.0), t2)  # periodic
    (m,) = pb.materials
    assert m.element_set == "ALL_ELEMENT" and Path(m.source).name == "mat"
    assert m.spec == MECASEQ_MAT


def test_cube2_deck_cycles():
    d = case_dir("MecaSequential")
    case = ADAPTER.read(d / "cube2.inp")
    assert case.results == {}
    pb = case.problem
    assert pb.stepping.cycles == 4 and pb.stepping.ratio == 1e-3    # the deck's 0.01, capped (noted)
    assert case.metadata["deck_ratio"] == 0.01 and any("*ratio 0.01 applied as" in n for n in case.metadata["notes"])
    assert pb.centrifugal[0].omega2 == pytest.approx(1e4)
    assert pb.tables["rotation"].values == [0.0, 0.3, 1.0, 0.7, 0.0]


def test_simple_mises_material():
    d = case_dir("MecaSequentialSimpleMises")
    case = ADAPTER.read(d / "cube.inp")
    assert case.problem.materials[0].spec == {
        "law": "gen_evp", "density": 1e-8, "elasticity": {"young": 2e5, "poisson": 0.2},
        "thermal_strain": None, "flow": {"type": "plasticity"}, "kinematic": None,
        "isotropic": {"type": "linear", "R0": 10.0, "H": 100.0},
        "integration": {"theta": 1.0, "tolerance": 1e-9, "max_iterations": 200, "hardening_theta": 0.999}}
    s = case.results["imported"]
    assert s.integ["p"].source_names == ["epcum"] and s.integ["plastic_strain"].source_names[0] == "epi11"
    assert case.problem.centrifugal[0].omega2 == pytest.approx(4e8)


def test_elastic_material_file():
    spec = read_material(case_dir("MecaSequential") / "elas")
    assert spec["law"] == "elastic" and spec["density"] == 8.6e-9
    assert spec["elasticity"] == {"young": 3e5, "poisson": 0.3}
    assert spec["flow"] is None and spec["isotropic"] is None and spec["thermal_strain"] is None


def test_loads_match_zset_reactions(seq):
    """The reactions RU check two conventions against Z-set itself: the pressure file
    holds one value per face (force value * n_out * area, 1/4 per q4 node), and the
    centrifugal value is omega (force ~ (value table)^2, not value table)."""
    s = seq.results["imported"]
    ru = s.nodal["RU"].values
    m = seq.mesh
    pb = seq.problem
    # pressure at t = 1 (table -100, rotation 1): x-forces on x1 nodes
    faces = m.face_sets["x1"]["q4"]
    f = np.zeros(m.n_nodes)
    romnet_p = pb.pressure[0].value * pb.tables["pressure"](1.0)  # compression positive
    np.add.at(f, faces.ravel(), np.repeat(-romnet_p / 36 / 4, 4))  # force = -p n_out A
    nodes = np.unique(faces)
    err = np.abs(ru[5, nodes, 0] - f[nodes]).max()
    assert err < 0.01 * np.abs(f).max()  # the rest is the small centrifugal x-share
    # centrifugal: total y force on free nodes ~ rho omega^2 int (y - cy) dV (0.7 % on fixed nodes)
    free = np.setdiff1d(np.arange(m.n_nodes), m.node_sets["x0y0"])
    for k, t in ((1, 0.2), (5, 1.0)):
        expected = 1e-8 * pb.centrifugal[0].omega2 * pb.table(pb.centrifugal[0].table)(t) * 20.5
        assert ru[k, free, 1].sum() == pytest.approx(expected, rel=0.01)
    assert ru[1, free, 1].sum() < 0.25 * 1e-8 * 1.5e4 * 1.5e4 * 0.2 * 20.5  # not linear in the table


# ---------------------------------------------------------------- parallel
@pytest.fixture(scope="module")
def par():
    return ADAPTER.read(case_dir("MecaParallel"))


def _cut_lists(d, k):
    cut = read_cut(d / "cube-pcuts" / f"cube-{k:03d}.cut")
    (dom,) = cut.domains
    return dom.node_ids - 1, dom.element_ids - 1  # ids 1..n in file order here


def test_parallel_assembly(par):
    d = case_dir("MecaParallel")
    s = par.results["imported"]
    assert np.allclose(s.times, np.linspace(0, 0.4, 11))
    assert s.nodal["U"].values.shape == (11, 343, 3)
    assert s.integ["stress"].values.shape == (11, 1728, 6)
    node_cover = np.zeros(343, int)
    elem_cover = np.zeros(216, int)
    ru_sum = np.zeros((11, 343, 3))
    u_local = []
    for k in (1, 2):
        ng, eg = _cut_lists(d, k)
        node_cover[ng] += 1
        elem_cover[eg] += 1
        loc = raw(d / f"cube-{k:03d}.node", 11, 6, ng.size)
        # shared nodes carry identical values (to float32 round-off, here 1e-35 at worst):
        # the global U equals every subdomain's U
        np.testing.assert_allclose(s.nodal["U"].values[:, ng], loc[:, :3].transpose(0, 2, 1),
                                   rtol=1e-6, atol=1e-30)
        u_local.append(dict(zip(ng.tolist(), loc[:, :3].transpose(2, 0, 1))))
        ru_sum[:, ng] += loc[:, 3:].transpose(0, 2, 1)
        integ = raw(d / f"cube-{k:03d}.integ", 11, eg.size, 19, 8)
        ips = (8 * eg[:, None] + np.arange(8)).ravel()
        assert np.array_equal(s.integ["stress"].values[:, ips],
                              integ[:, :, 6:12].transpose(0, 1, 3, 2).reshape(11, -1, 6))
    assert (node_cover >= 1).all() and (node_cover == 2).sum() == 49
    shared = sorted(set(u_local[0]) & set(u_local[1]))
    assert len(shared) == 49
    for n in shared:
        np.testing.assert_allclose(u_local[0][n], u_local[1][n], rtol=1e-6, atol=1e-30)
    assert (elem_cover == 1).all()
    assert np.allclose(s.nodal["RU"].values, ru_sum)  # reactions of the subdomains add up
    assert np.abs(s.nodal["RU"].values.sum(axis=1)).max() < 1e-4  # self-equilibrated
    assert par.metadata["parallel"]["n_domains"] == 2
    assert par.metadata["parallel"]["shared_nodes"] == 49
    assert par.problem is not None and np.allclose(par.problem.temperature.times, [0, 0.2, 0.4])


def test_parallel_ctnod_is_global_average(par):
    """Assembled .ctnod = average over all elements around a node of the per-element
    extrapolation of the integration-point values (Z-set's rule, as in the sequential file)."""
    s = par.results["imported"]
    conn = par.mesh.blocks[0].connectivity
    g = 1 / np.sqrt(3)
    corners = np.array([[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
                        [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]], float)
    ips = np.array([[x, y, z] for z in (-g, g) for y in (-g, g) for x in (-g, g)])
    ext = np.array([[np.prod((1 + c / g * np.sign(q)) / 2) for q in ips] for c in corners])
    sig = s.integ["stress"].values.reshape(11, 216, 8, 6)
    per_el = np.einsum("nq,teqc->tenc", ext, sig)
    acc = np.zeros((11, 343, 6))
    cnt = np.zeros(343)
    for e in range(216):
        acc[:, conn[e]] += per_el[:, e]
        cnt[conn[e]] += 1
    ref = s.nodal["stress_nodes"].values
    assert np.abs(acc / cnt[None, :, None] - ref).max() < 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("given", ["dir", "cube.inp", "cube-001.ut", "cube-002.ut", "cube.ut"])
def test_parallel_entry_points(given):
    d = case_dir("MecaParallel")
    case = ADAPTER.read(d if given == "dir" else d / given)
    assert isinstance(case, Case) and case.problem is not None
    assert case.results["imported"].nodal["U"].values.shape == (11, 343, 3)


@pytest.mark.parametrize("given", ["dir", "cube.inp", "cube.ut", "cube.geof"])
def test_sequential_entry_points(given):
    d = case_dir("MecaSequential")
    msgs = []
    case = ADAPTER.read(d if given == "dir" else d / given, progress=msgs.append)
    assert case.mesh.n_nodes == 343 and msgs and all(isinstance(x, str) for x in msgs)
    assert (case.problem is None) == (given == "cube.geof")
    assert ("imported" in case.results) == (given != "cube.geof")


def test_adapter_registered():
    from romnet.adapters import get_adapter
    a = get_adapter("zset")
    assert a.name == "zset" and a.available() == (True, "")


def test_deck_on_its_own_mesh():
    d = case_dir("MecaSequential")
    deck = parse_deck(d / "cube.inp")
    assert deck.mesh_file.name == "cube.geof" and any("linear_solver" in x for x in deck.ignored)
    pb = read_deck(d / "cube.inp", read_geof(deck.mesh_file))
    assert len(pb.pressure) == 1


# ---------------------------------------------------------------- element orders
def _reference(etype):
    """Reference element in romnet (Abaqus) order: corners + mid-edge nodes."""
    corners = {
        "c3d4": [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)],
        "c3d6": [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (0, 1, 1)],
        "c3d8": [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)],
        "cpe3": [(0, 0), (1, 0), (0, 1)],
        "cpe4": [(0, 0), (1, 0), (1, 1), (0, 1)],
    }
    edges = {
        "c3d10": ("c3d4", [(0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3)]),
        "c3d15": ("c3d6", [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3), (0, 3), (1, 4), (2, 5)]),
        "c3d20": ("c3d8", [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4),
                           (0, 4), (1, 5), (2, 6), (3, 7)]),
        "cpe6": ("cpe3", [(0, 1), (1, 2), (2, 0)]),
        "cpe8": ("cpe4", [(0, 1), (1, 2), (2, 3), (3, 0)]),
    }
    if etype in corners:
        return np.array(corners[etype], float), []
    base, ed = edges[etype]
    c = np.array(corners[base], float)
    # distort a little so that every node position is distinct and not symmetric
    c = c + 0.05 * np.arange(c.size).reshape(c.shape) / c.size
    return np.vstack([c, [(c[a] + c[b]) / 2 for a, b in ed]]), ed


def _write_geof(path, x, zset_type, conn_zset):
    dim = x.shape[1]
    lines = ["***geometry", "**node", f"{len(x)} {dim}"]
    lines += [f"{i + 1} " + " ".join(f"{v:.17g}" for v in p) for i, p in enumerate(x)]
    lines += ["**element", "1", f"7 {zset_type} " + " ".join(str(i + 1) for i in conn_zset), "***return"]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("zset_type", sorted(ZSET_ELEMENTS))
@pytest.mark.parametrize("mirrored", [False, True])
def test_zset_node_order_gives_positive_elements(tmp_path, zset_type, mirrored):
    """Write a reference element in Z-set order (inverse of the documented permutation,
    optionally mirrored as pymicro says Z-set writes some types), read it back: romnet
    order with positive volume and every mid-edge node in the middle of its edge."""
    rtype, nn, perm = ZSET_ELEMENTS[zset_type]
    x, edges = _reference(rtype)
    romnet_conn = np.arange(nn)
    if mirrored:
        romnet_conn = romnet_conn[FLIP[rtype]]
    perm = np.arange(nn) if perm is None else np.asarray(perm)
    zconn = np.empty(nn, int)
    zconn[perm] = romnet_conn  # romnet[i] = zset[perm[i]]
    _write_geof(tmp_path / "e.geof", x, zset_type, zconn)
    g = read_geof(tmp_path / "e.geof")
    (blk,) = g.mesh.blocks
    assert blk.etype == rtype and blk.element_ids.tolist() == [7]
    conn = blk.connectivity[0]
    vol = signed_measure(rtype, g.mesh.coordinates[conn][None])[0]
    assert vol > 0
    nc = {"c3d10": 4, "c3d15": 6, "c3d20": 8, "cpe6": 3, "cpe8": 4}.get(rtype, nn)
    xc = g.mesh.coordinates[conn]
    for k, (a, b) in enumerate(edges):
        assert np.allclose(xc[nc + k], (xc[a] + xc[b]) / 2)
    assert g.flipped_elements.get(rtype, 0) == int(mirrored)


def test_signed_measure_negative_for_mirror():
    for rtype in ("c3d4", "c3d6", "c3d8", "cpe3", "cpe4"):
        x, _ = _reference(rtype)
        assert signed_measure(rtype, x[None])[0] > 0
        assert signed_measure(rtype, x[FLIP[rtype]][None])[0] < 0
    x, _ = _reference("c3d8")
    assert signed_measure("c3d8", x[None])[0] == pytest.approx(1.0)


def test_faces_reoriented_outward_and_pressure_sign(tmp_path):
    """A faset written inward is reversed; its uniform pressure becomes per-face with the
    sign that keeps Z-set's force (value along the face normal as written)."""
    geof = tmp_path / "two.geof"
    geof.write_text("""***geometry
**node
12 3
1 0 0 0
2 1 0 0
3 2 0 0
4 0 1 0
5 1 1 0
6 2 1 0
7 0 0 1
8 1 0 1
9 2 0 1
10 0 1 1
11 1 1 1
12 2 1 1
**element
2
1 c3d8 1 2 5 4 7 8 11 10
2 c3d8 2 3 6 5 8 9 12 11
***group
**faset right
q4 3 6 12 9
q4 3 9 12 6
**nset left
1 4 7 10
**elset e2
2
**elset e1
1
***return
""")
    deck = tmp_path / "two.inp"
    (tmp_path / "m").write_text("***behavior linear_elastic\n**elasticity\n young 1.\n poisson 0.3\n***return\n")
    deck.write_text("""****calcul
***mesh
**file two.geof
***resolution newton
**sequence
*time 1.
*increment 2
***bc
**impose_nodal_dof
left U1 0.
**pressure
right 10. tab
***table
**name tab
*time 0. 1.
*value 0. 1.
***material
*file m
*elset e2
***material
*file m
*elset e1
****return
""")
    case = ADAPTER.read(deck)
    m = case.mesh
    p = m.coordinates[m.face_sets["right"]["q4"]]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 3] - p[:, 0])
    assert (n[:, 0] > 0).all()  # both outward now
    (pr,) = case.problem.pressure
    # face 1 written outward: Z-set pulls (+10 along n_out) -> romnet -10; face 2 inward -> +10
    assert pr.per == "face" and pr.value.tolist() == [-10.0, 10.0]
    assert case.problem.materials[0].element_set == "e2"
    assert m.element_sets["e2"].tolist() == [1]
    assert np.allclose(case.problem.stepping.times, [0, 0.5, 1])


#: the 7 nodes of the mixed c3d4 / c3d6 meshes of these tests and tests/test_zset_bad_input.py
MIXED_NODES = """***geometry
**node
7 3
1 0 0 0
2 1 0 0
3 0 1 0
4 0 0 1
5 1 1 0
6 1 0 1
7 1 1 1
"""


def test_mixed_types_block_order(tmp_path):
    """Element sets and .integ rows follow romnet's block order, not the file order."""
    geof = tmp_path / "mix.geof"
    geof.write_text(MIXED_NODES + """**element
3
10 c3d4 1 2 3 4
20 c3d6 2 5 3 6 7 4
30 c3d4 2 5 3 7
***group
**elset b
20 30
***return
""")
    g = read_geof(geof)
    assert g.mesh.element_types == ["c3d4", "c3d6"]
    assert g.mesh.blocks[0].element_ids.tolist() == [10, 30]
    assert g.file_order.tolist() == [0, 2, 1]
    assert sorted(g.mesh.element_sets["b"].tolist()) == [1, 2]


def _write_results(d: Path, stem: str, n_nodes: int, node_vars, integ_vars, n_ip_total, n_out=2):
    rng = np.random.default_rng(1)
    (d / f"{stem}.ut").write_text(
        f"**meshfile {stem}.geof\n**node {' '.join(node_vars)}\n**integ {' '.join(integ_vars)}\n**element\n"
        + "".join(f"{k + 1} 1 1 {k} {0.5 * k:.15e}\n" for k in range(n_out)))
    node = rng.normal(size=(n_out, len(node_vars), n_nodes)).astype(">f4")
    integ = rng.normal(size=(n_out, len(integ_vars) * n_ip_total)).astype(">f4")
    node.tofile(d / f"{stem}.node")
    integ.tofile(d / f"{stem}.integ")
    return node.astype(float), integ.astype(float)


def test_single_non_hex_type_ip_count_from_file_size(tmp_path):
    """c3d4 only: the integration points per element come from the .integ size."""
    (tmp_path / "t.geof").write_text("""***geometry
**node 5 3
1 0 0 0
2 1 0 0
3 0 1 0
4 0 0 1
5 1 1 1
**element 2
1 c3d4 1 2 3 4
2 c3d4 2 5 3 4
***return
""")
    node, integ = _write_results(tmp_path, "t", 5, ["U1", "U2", "U3"], ["sig11", "x"], 2 * 4)
    case = ADAPTER.read(tmp_path / "t.ut")
    s = case.results["imported"]
    assert s.integ["sig11"].values.shape == (2, 8, 1)
    assert np.allclose(s.times, [0, 0.5])
    ref = integ.reshape(2, 2, 2, 4)  # [out][element][var][ip]
    assert np.allclose(s.integ["x"].values[:, :, 0], ref[:, :, 1, :].reshape(2, 8))
    assert np.allclose(s.nodal["U"].values, node.transpose(0, 2, 1))


def test_2d_mesh_and_liset(tmp_path):
    (tmp_path / "p.geof").write_text("""***geometry
**node
6 2
1 0 0
2 1 0
3 2 0
4 0 1
5 1 1
6 2 1
**element
2
1 c2d4 1 4 5 2
2 c2d4 2 5 6 3
***group
**liset top
line 4 5
line 6 5
***return
""")
    g = read_geof(tmp_path / "p.geof")
    m = g.mesh
    assert m.dim == 2 and m.element_types == ["cpe4"]
    assert g.flipped_elements == {"cpe4": 2}  # written clockwise -> mirrored
    x = m.coordinates
    assert (signed_measure("cpe4", x[m.blocks[0].connectivity]) > 0).all()
    e = m.face_sets["top"]["l2"]
    t = x[e[:, 1]] - x[e[:, 0]]
    assert (t[:, 0] < 0).all()  # right-hand normal (t_y, -t_x) points up (+y): out of the solid
    assert g.face_flips["top"]["l2"].tolist() == [True, False]


def test_case_store_round_trip(par, tmp_path):
    """Everything the importer produces (metadata, tables, per-face pressure) is storable."""
    from romnet.store import read_case, write_case
    p = write_case(tmp_path / "par.h5", par)
    back = read_case(p)
    assert back.metadata["parallel"]["shared_nodes"] == 49
    assert np.allclose(back.problem.pressure[0].value, par.problem.pressure[0].value)
    assert back.problem.tables["rotation_squared"].times == par.problem.tables["rotation_squared"].times
    assert back.problem.materials[0].spec == par.problem.materials[0].spec
    assert np.array_equal(back.results["imported"].integ["stress"].values,
                          par.results["imported"].integ["stress"].values)
