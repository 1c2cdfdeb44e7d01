"""Abaqus adapter on the real ASCII .fil files of the pybaqus sdist.

Displacements and integration-point values are compared with pybaqus' own reader when it
is importable, and always with the file's own records; integration-point coordinates
(COORD) written by Abaqus equal romnet.fe's integration-point positions, which checks the
point order.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from data_fetch import pybaqus_dir, pybaqus_fil_files

from adapters.abaqus import ADAPTER
from adapters.abaqus.fil import read_fil
from adapters.abaqus_deck import build_mesh, parse_deck
from romnet.errors import InputError, UnsupportedError
from romnet.fe.kernel import ElementKernel
from romnet.store import CaseStore, write_case


@pytest.fixture(scope="module")
def fil_files():
    return pybaqus_fil_files()


def test_all_samples_import(fil_files, tmp_path):
    assert len(fil_files) >= 10
    for f in fil_files:
        case = ADAPTER.read(f)
        s = case.results["imported"]
        assert s.nodal["U"].values.shape == (s.n_times, case.mesh.n_nodes, case.mesh.dim)
        out = write_case(tmp_path / (f.stem + ".h5"), case)
        with CaseStore(out) as st:
            np.testing.assert_array_equal(st.read_field("imported", "U"), s.nodal["U"].values)


def test_displacements_match_records_and_pybaqus(fil_files):
    for f in fil_files:
        case = ADAPTER.read(f)
        fil = read_fil(f)
        U = case.results["imported"].nodal["U"].values
        for k, inc in enumerate(fil.increments):
            rec = inc.nodal["U"]
            ref = np.array([rec[int(n)][:case.mesh.dim] for n in case.mesh.node_ids])
            np.testing.assert_array_equal(U[k], ref)
    pybaqus = pytest.importorskip("pybaqus", reason="pybaqus not installed: compared with records only")
    for f in fil_files:
        case = ADAPTER.read(f)
        m = pybaqus.open_fil(str(f))
        out = m.nodal_output[1][1]
        U = case.results["imported"].nodal["U"].values[-1]
        for d in range(case.mesh.dim):
            ref = np.array([out[f"U{d + 1}"][int(n)] for n in case.mesh.node_ids])
            np.testing.assert_array_equal(U[:, d], ref, err_msg=f.name)
        # stresses: pybaqus keeps Abaqus' component order S1..Sn (11 22 33 12 [13 23])
        S = case.results["imported"].integ.get("stress")
        if S is None:
            continue
        eo = m.elem_output[1][1]
        _, _, _, ndi, nshr = read_fil(f).increments[-1].element["S"][0][:5]
        perm = list(range(ndi)) + [3, 5, 4][:nshr]  # Abaqus 11 22 [33] 12 [13 23] -> storage slots
        eids = np.concatenate([b.element_ids for b in case.mesh.blocks])
        n_ip = S.values.shape[1] // len(eids)
        for j, slot in enumerate(perm):
            ref = np.concatenate([np.ravel(eo[f"S{j + 1}"][int(e)]) for e in eids])
            np.testing.assert_array_equal(S.values[-1].reshape(len(eids), n_ip, 6)[:, :, slot].ravel(), ref)


def test_integration_point_order_matches_abaqus_coordinates(fil_files):
    checked = 0
    for f in fil_files:
        case = ADAPTER.read(f)
        s = case.results["imported"]
        if "ip_coordinates" not in s.integ:
            continue
        (b,) = case.mesh.blocks
        k = ElementKernel(b.etype, case.mesh.coordinates, b.connectivity)
        np.testing.assert_allclose(s.integ["ip_coordinates"].values[0].reshape(k.n_elements, k.n_ip, -1),
                                   k.ip_coordinates(), rtol=1e-6, atol=1e-9 * np.abs(case.mesh.coordinates).max(),
                                   err_msg=f.name)
        checked += 1
    assert checked >= 6


def test_engineering_shear_halved(fil_files):
    f = next(p for p in fil_files if p.name == "hex_C3D8.fil")
    case = ADAPTER.read(f)
    fil = read_fil(f)
    rows = fil.increments[0].element["E"]
    raw = np.stack([r[5] for r in rows])  # 11 22 33 g12 g13 g23
    eps = case.results["imported"].integ["strain"].values[0]
    np.testing.assert_array_equal(eps[:, 3], raw[:, 3] / 2)
    np.testing.assert_array_equal(eps[:, 4], raw[:, 5] / 2)
    np.testing.assert_array_equal(eps[:, 5], raw[:, 4] / 2)


def test_deck_mesh_agrees_with_fil(fil_files):
    src = pybaqus_dir() / "tests" / "abaqus" / "input"
    for name in ("hex_C3D8", "quad_CPE4", "tri_CPE3"):
        dm = build_mesh(parse_deck(src / f"{name}.inp"))
        fil_case = ADAPTER.read(next(p for p in fil_files if p.stem == name))
        np.testing.assert_allclose(dm.mesh.coordinates, fil_case.mesh.coordinates)
        np.testing.assert_array_equal(dm.mesh.blocks[0].connectivity, fil_case.mesh.blocks[0].connectivity)


def test_odb_is_refused_with_export_advice(tmp_path):
    p = tmp_path / "job.odb"
    p.write_bytes(b"\0" * 10)
    with pytest.raises(InputError) as e:
        ADAPTER.read(p)
    msg = str(e.value)
    assert "job.odb" in msg and "*FILE FORMAT, ASCII" in msg and "abaqus python" in msg


def test_bad_fil_records(fil_files, tmp_path):
    f = tmp_path / "x.fil"
    text = next(p for p in fil_files if p.name == "quad_CPE4.fil").read_text()
    f.write_text(text.replace("I 41901I 13D", "I 41901I 13Q", 1))
    with pytest.raises(InputError, match=r"x\.fil:line \d+: unexpected character 'Q'"):
        ADAPTER.read(f)
    f.write_text(text.replace("ACPE4    ", "ACPX4    ", 1))
    with pytest.raises(UnsupportedError, match="unsupported element type 'CPX4'"):
        ADAPTER.read(f)
    shutil.copyfile(next(p for p in fil_files if p.name == "quad_CPE4.fil"), f)
    f.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match=r"x\.fil"):
        ADAPTER.read(f)
