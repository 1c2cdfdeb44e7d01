"""CalculiX adapter on real ccx 2.20 runs (decks written by tests/ccx_decks.py).

Checks: nodal displacements equal the .frd text (and the binary .frd, and the .dat
``*NODE PRINT`` table to its 7 digits); integration-point tables keep CalculiX's point
order, which is romnet's: strains computed by romnet.fe.ElementKernel from the imported U
match ccx's strains at every integration point (c3d8 and c3d20; relative tolerance
``STRAIN_RTOL`` of the largest strain, limited by the 7-digit printed values); the deck's
problem definition becomes valid romnet material descriptions; stores written from it
read back with shapes consistent with the kernel's n_ip.
"""
from __future__ import annotations

import numpy as np
import pytest
from ccx_decks import CREEP, PLASTIC, beam_deck, run_ccx

from adapters.calculix import ADAPTER
from adapters.calculix.dat import read_dat
from adapters.calculix.frd import read_frd
from romnet.errors import InputError, UnsupportedError
from romnet.fe.kernel import ElementKernel
from romnet.materials import build_law
from romnet.store import CaseStore, write_case
from romnet.tensors import mandel_to_storage

#: max |eps_romnet - eps_ccx| / max |eps_ccx| over all points and outputs, by .frd layout
#: (text: U printed with 6 digits; binary: float32 U), strains printed with 7 digits
STRAIN_RTOL = {"ascii": 2e-4, "binary": 2e-5}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """ccx runs shared by the tests of this module: name -> deck path."""
    base = tmp_path_factory.mktemp("ccx")
    out = {}
    for name, kw in {
        "c3d8": dict(etype="C3D8"),
        "c3d20": dict(etype="C3D20", nx=2, ny=1, nz=1),
        "c3d8_bin": dict(etype="C3D8", binary=True),
        "c3d20_bin": dict(etype="C3D20", nx=2, ny=1, nz=1, binary=True),
        "creep": dict(etype="C3D8", material=CREEP, procedure="VISCO, CETOL=1.E-3", top_pressure=2.0,
                      pull=-100.0, temperature=20.0, steps=((0.05, 0.1), (10.0, 100.0))),
    }.items():
        d = base / name
        d.mkdir()
        deck = beam_deck(d, name="job", **kw)
        run_ccx(deck)
        out[name] = deck
    return out


def _frd_text_disp(path):
    """Displacements straight from the .frd text: {(step, inc): {node: (u1,u2,u3)}}."""
    out, cur, in_disp = {}, None, False
    for ln in path.read_text().splitlines():
        if ln.startswith("    1PSTEP"):
            t = ln.split()
            cur = (int(t[3]), int(t[2]))
        elif ln.startswith(" -4"):
            in_disp = ln.split()[1] == "DISP"
            if in_disp:
                out[cur] = {}
        elif ln.startswith(" -3"):
            in_disp = False
        elif in_disp and ln.startswith(" -1"):
            nid = int(ln[3:13])
            out[cur][nid] = [float(ln[13 + 12 * k:25 + 12 * k]) for k in range(3)]
    return out


@pytest.mark.parametrize("name", ["c3d8", "c3d20"])
def test_displacements_match_frd_text_and_dat(runs, name):
    deck = runs[name]
    case = ADAPTER.read(deck)
    s = case.results["imported"]
    U = s.nodal["U"].values
    text = _frd_text_disp(deck.with_suffix(".frd"))
    assert len(text) == s.n_times >= 4
    for k, key in enumerate(text):
        ref = np.array([text[key][int(n)] for n in case.mesh.node_ids])
        np.testing.assert_array_equal(U[k], ref)
    # .dat *NODE PRINT (7 digits): same values to the .frd's 6 digits
    dat = [t for t in read_dat(deck.with_suffix(".dat")) if t.kind == "node"]
    assert len(dat) == s.n_times
    for k, t in enumerate(dat):
        idx = case.mesh.node_ids.searchsorted(t.ids)
        np.testing.assert_allclose(U[k, idx], t.values, rtol=0, atol=6e-6 * np.abs(t.values).max())
        assert t.time == pytest.approx(s.times[k], rel=1e-12)


def test_binary_frd_equals_text_frd(runs):
    a = read_frd(runs["c3d8"].with_suffix(".frd"))
    b = read_frd(runs["c3d8_bin"].with_suffix(".frd"))
    assert not a.binary and b.binary
    np.testing.assert_array_equal(a.node_ids, b.node_ids)
    np.testing.assert_allclose(a.coordinates, b.coordinates, atol=1e-5)
    assert [(r.name, r.step, r.increment) for r in a.results] == [(r.name, r.step, r.increment) for r in b.results]
    for ra, rb in zip(a.results, b.results):
        scale = max(np.abs(rb.values).max(), 1e-30)
        np.testing.assert_allclose(ra.values, rb.values, rtol=0, atol=6e-6 * scale)
    ca, cb = ADAPTER.read(runs["c3d8"]), ADAPTER.read(runs["c3d8_bin"])
    assert cb.metadata["frd_layout"] == "binary"
    np.testing.assert_allclose(ca.results["imported"].integ["stress"].values,
                               cb.results["imported"].integ["stress"].values)


@pytest.mark.parametrize("name", ["c3d8", "c3d20", "c3d8_bin", "c3d20_bin"])
def test_kernel_strains_match_ccx_integration_points(runs, name):
    """romnet's B operator on the imported U gives ccx's strains at ccx's points, in order."""
    case = ADAPTER.read(runs[name])
    s = case.results["imported"]
    mesh = case.mesh
    (block,) = mesh.blocks
    k = ElementKernel(block.etype, mesh.coordinates, block.connectivity)
    eps_ccx = s.integ["strain"].values.reshape(s.n_times, block.n_elements, k.n_ip, 6)
    worst = 0.0
    for t in range(s.n_times):
        eps = mandel_to_storage(k.strain(s.nodal["U"].values[t]))
        err = np.abs(eps - eps_ccx[t]).max() / np.abs(eps_ccx[t]).max()
        worst = max(worst, err)
    print(name, "worst strain error", worst)
    assert worst < STRAIN_RTOL[case.metadata["frd_layout"]], worst
    # the order really matters: a shuffled point order is far off
    eps = mandel_to_storage(k.strain(s.nodal["U"].values[-1]))
    assert np.abs(eps[:, ::-1] - eps_ccx[-1]).max() > 100 * STRAIN_RTOL['ascii'] * np.abs(eps_ccx[-1]).max()


def test_plastic_problem_definition_and_fields(runs):
    case = ADAPTER.read(runs["c3d8"])
    pb = case.problem
    (ma,) = pb.materials
    spec = ma.spec
    assert spec["law"] == "gen_evp" and spec["flow"] == {"type": "plasticity"}
    assert spec["isotropic"]["type"] == "linear"
    assert spec["isotropic"]["R0"] == {"temperature": [20.0, 500.0], "value": [180.0, 140.0]}
    assert spec["isotropic"]["H"] == {"temperature": [20.0, 500.0], "value": [1000.0, 800.0]}
    assert spec["elasticity"]["young"]["value"] == [200000.0, 180000.0]
    assert spec["thermal_strain"]["ref_temperature"] == 20.0
    build_law(spec)  # valid romnet material
    assert {(d.node_set, d.component) for d in pb.dirichlet} == {("CLAMP", 0), ("CLAMP", 1), ("CLAMP", 2)}
    assert {p.face_set for p in pb.pressure} == {"DLOAD_TOP_P2", "SEND"}
    s = case.results["imported"]
    np.testing.assert_allclose(pb.stepping.times[1:], s.times)
    assert s.times[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(pb.temperature.at(s.times[-1]), 300.0)
    np.testing.assert_allclose(s.nodal["temperature"].values[-1, :, 0], 300.0)
    p = s.integ["p"].values
    assert p.max() > 1e-4, "the run should be plastic"
    assert np.all(np.diff(p[:, :, 0], axis=0) >= -1e-12)
    # face sets point outwards: SEND (x = 4) normals along +x
    from romnet.fe.faces import FaceKernel
    fk = FaceKernel("q4", case.mesh.coordinates, case.mesh.face_sets["SEND"]["q4"])
    assert np.all(fk.normals[..., 0] > 0.9)
    fk = FaceKernel("q4", case.mesh.coordinates, case.mesh.face_sets["DLOAD_TOP_P2"]["q4"])
    assert np.all(fk.normals[..., 2] > 0.9)


def test_creep_norton_two_steps(runs):
    case = ADAPTER.read(runs["creep"])
    spec = case.problem.materials[0].spec
    assert spec["flow"]["type"] == "norton"
    assert spec["flow"]["K"] == pytest.approx(1e-15 ** (-1 / 5.0))
    assert spec["flow"]["n"] == 5.0
    build_law(spec)
    s = case.results["imported"]
    assert s.times[-1] == pytest.approx(100.1, rel=1e-6)   # total time over both steps
    assert np.all(np.diff(s.times) > 0)
    assert case.problem.stepping.times[-1] == pytest.approx(100.1, rel=1e-6)
    p = s.integ["p"].values[:, :, 0]
    assert p[-1].max() > 10 * max(p[0].max(), 1e-12)  # creep strain grows during the hold


@pytest.mark.parametrize("name", ["c3d8", "c3d20", "creep"])
def test_store_round_trip_for_offline(runs, name, tmp_path):
    """U at all increments, stress/strain/p at integration points in the kernel's n_ip."""
    case = ADAPTER.read(runs[name])
    out = write_case(tmp_path / "case.h5", case)
    with CaseStore(out) as st:
        mesh = st.mesh()
        n_ip = sum(ElementKernel(b.etype, mesh.coordinates, b.connectivity).n_ip * b.n_elements
                   for b in mesh.blocks)
        t = st.times("imported")
        assert st.field_info("imported", "U")["shape"] == (len(t), mesh.n_nodes, 3)
        for f, nc in (("stress", 6), ("strain", 6), ("p", 1)):
            assert st.field_info("imported", f)["shape"] == (len(t), n_ip, nc)
        assert st.problem().materials[0].spec == case.problem.materials[0].spec
        np.testing.assert_array_equal(st.read_field("imported", "U"), case.results["imported"].nodal["U"].values)


def test_frd_only_import_has_mesh_and_results(runs):
    case = ADAPTER.read(runs["c3d20"].with_suffix(".frd"))
    ref = ADAPTER.read(runs["c3d20"])
    assert case.problem is None
    np.testing.assert_array_equal(case.mesh.blocks[0].connectivity, ref.mesh.blocks[0].connectivity)
    np.testing.assert_allclose(case.results["imported"].integ["stress"].values,
                               ref.results["imported"].integ["stress"].values)


def test_cli_import(runs, tmp_path):
    from romnet.app.cli import main
    out = tmp_path / "s.h5"
    from unittest import mock

    import adapters.calculix as mod
    ep = mock.Mock()
    ep.load.return_value = mod.ADAPTER
    with mock.patch("romnet.adapters.list_adapters", return_value={"calculix": ep}):
        assert main(["import", "calculix", str(runs["c3d8"]), "-o", str(out)]) == 0
    assert out.is_file()


# ------------------------------------------------------------------ deck errors (no ccx needed)
def test_unsupported_keyword_names_keyword_and_line(tmp_path):
    # (*CLOAD, the keyword this test used before, is supported now: tests/test_deck_features.py)
    deck = beam_deck(tmp_path, extra_model="*PRE-TENSION SECTION, SURFACE=SEND, NODE=1\n1., 0., 0.")
    line = next(i for i, ln in enumerate(deck.read_text().splitlines(), 1) if ln.startswith("*PRE-TENSION"))
    with pytest.raises(UnsupportedError, match=rf"beam\.inp:{line}: \*PRE-TENSION SECTION: pre-tension"):
        ADAPTER.read(deck)


def test_unsupported_hardening_curve(tmp_path):
    mat = PLASTIC.replace("280., 0.1, 20.", "280., 0.1, 20.\n300., 0.5, 20.")
    deck = beam_deck(tmp_path, material=mat)
    with pytest.raises(UnsupportedError, match=r"\*PLASTIC: multilinear"):
        ADAPTER.read(deck)


def test_unknown_element_type_and_bad_node(tmp_path):
    deck = beam_deck(tmp_path)
    text = deck.read_text()
    deck.write_text(text.replace("TYPE=C3D8,", "TYPE=C3D8X,"))
    with pytest.raises(UnsupportedError, match=r"beam\.inp:\d+: unsupported element type 'C3D8X'"):
        ADAPTER.read(deck)
    deck.write_text(text.replace("\n1, 1, 2,", "\n1, 1, 99999,", 1))
    with pytest.raises(InputError, match=r"beam\.inp:\d+: unknown node id 99999"):
        ADAPTER.read(deck)


def test_calculix_run_goes_through_offline_unchanged(runs, tmp_path):
    """Issue acceptance: a CalculiX nonlinear (plastic, thermal) run imported into the
    store goes through the offline stage as it is, and the ROM reproduces its snapshots."""
    from romnet.offline.pipeline import run_offline
    from romnet.offline.rom_store import read_rom
    out = write_case(tmp_path / "ccx.h5", ADAPTER.read(runs["c3d8"]))
    report = run_offline(out, config={"pod_tol": 1e-6, "ecm_tol": 1e-4}, progress=None)
    rom = read_rom(out, modes=False)
    assert rom["ecm"]["error"] <= 1e-4
    assert report["modes"]["U"] >= 1 and len(rom["points"]["ip"]) > 0
