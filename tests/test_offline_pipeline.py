"""run_offline / romnet offline on MecaSequential: the /rom group and its operators checked
against independent computations (element kernel, face kernel) to 1e-12 relative."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import make_small_case, zset_case
from romnet.app.cli import main
from romnet.errors import ConfigError, InputError
from romnet.fe import ElementKernel, FaceKernel
from romnet.offline.pipeline import run_offline
from romnet.offline.rom_store import read_modes, read_rom, rom_summary
from romnet.store import CaseStore, write_case


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from adapters.zset import ADAPTER
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    path = write_case(tmp_path_factory.mktemp("zpipe") / "cube.h5", case)
    report = run_offline(path, {"pod_tol": 1e-6, "ecm_tol": 1e-5}, progress=print)
    return path, report, read_rom(path), case


def test_report_and_summary(built):
    path, rep, rom, _ = built
    assert rep["modes"]["U"] >= 1 and set(rep["modes"]) == {"U", "stress", "p", "plastic_strain"}
    assert rep["ecm_converged"] and rep["ecm_error"] <= 1e-5
    assert rep["n_points"] == rep["n_ecm_points"] + rep["n_qdeim_extra"]
    for k in ("read", "pod_displacement", "pod_dual", "ecm", "qdeim", "operators", "write", "total"):
        assert k in rep["timings"]
    assert rom["settings"]["ecm_tol"] == 1e-5 and "ecm" in rom["timings"]
    txt = rom_summary(path)
    print(txt)
    assert f"reduced integration points: {rep['n_points']}" in txt and "POD U" in txt
    # every dual basis is well posed for Gappy-POD at the reduced points
    for n, g in rep["gappy"].items():
        assert g["rank"] == rep["modes"][n], n


def test_stored_modes_reconstruct_snapshots(built):
    path, rep, rom, case = built
    U = case.results["imported"].nodal["U"].values.reshape(11, -1).T
    Phi = read_modes(path, "U")
    assert Phi.shape == (343 * 3, rep["modes"]["U"])
    k = ElementKernel("c3d8", case.mesh.coordinates, case.mesh.blocks[0].connectivity)
    M = k.mass_matrix()
    assert np.abs(Phi.T @ M @ Phi - np.eye(Phi.shape[1])).max() < 1e-12
    E = U - Phi @ (Phi.T @ (M @ U))
    assert np.sqrt(np.sum(E * (M @ E))) <= 1e-6 * np.sqrt(np.sum(U * (M @ U)))
    # partial read = slice of the full one
    assert np.array_equal(read_modes(path, "U", slice(10, 20)), Phi[30:60])
    # stress modes are Mandel and dV-orthonormal; they reconstruct the Mandel snapshots
    from romnet.tensors import storage_to_mandel
    S = storage_to_mandel(case.results["imported"].integ["stress"].values).reshape(11, -1).T
    ps = rom["pod"]["stress"]
    assert ps["convention"] == "mandel" and ps["inner_product"] == "L2-dV"
    Ps = ps["modes"].T
    dV = np.repeat(k.dV.ravel(), 6)[:, None]
    assert np.abs(Ps.T @ (dV * Ps) - np.eye(Ps.shape[1])).max() < 1e-12
    E = S - Ps @ (Ps.T @ (dV * S))
    assert np.sqrt(np.sum(E * dV * E)) <= 1e-6 * np.sqrt(np.sum(S * dV * S))


def test_operators_match_independent_computation(built):
    path, rep, rom, case = built
    mesh, pb = case.mesh, case.problem
    Phi = read_modes(path, "U")
    k = Phi.shape[1]
    pts = rom["points"]
    ip = pts["ip"]
    el, q = ip // 8, ip % 8
    assert np.array_equal(pts["element"], el) and np.array_equal(pts["local_ip"], q)
    assert np.all(pts["weight"] >= 0) and np.all(pts["weight"][pts["ecm"] == 0] == 0)
    ker = ElementKernel("c3d8", mesh.coordinates, mesh.blocks[0].connectivity)
    # strains of every mode at the points
    eps = np.stack([ker.strain(Phi[:, j].reshape(-1, 3))[el, q] for j in range(k)], axis=-1)
    sm = rom["operators"]["strain_modes"]
    assert sm.shape == (ip.size, 6, k)
    assert np.abs(sm - eps).max() <= 1e-12 * np.abs(eps).max()
    # coordinates and temperature interpolation
    assert np.allclose(pts["coordinates"], ker.ip_coordinates()[el, q], rtol=0, atol=1e-14)
    T = pb.temperature.fields[-1]
    T_pts = np.sum(pts["shape"] * T[pts["nodes"]], axis=1)
    assert np.allclose(T_pts, ker.interpolate(T)[el, q], rtol=1e-14)
    # dual bases at the points = rows of the stored full bases
    for n in ("stress", "p"):
        full = rom["pod"][n]["modes"].T.reshape(1728, rom["pod"][n]["n_comp"], -1)
        assert np.array_equal(rom["operators"]["dual"][n]["modes_at_points"], full[ip])
    # pressure: per-face values included (magnitude 1)
    (pr,) = pb.pressure
    ((ft, conn),) = mesh.face_set(pr.face_set).items()
    f = FaceKernel(ft, mesh.coordinates, conn).pressure_forces(pr.value)
    ld = rom["operators"]["loads"]["pressure"]["000"]
    assert ld["magnitude"] == 1.0 and ld["table"] == pr.table
    assert np.allclose(ld["phi_f"], Phi.T @ f, rtol=1e-12, atol=1e-14 * np.abs(Phi.T @ f).max())
    # centrifugal: unit omega^2, rho r
    (cf,) = pb.centrifugal
    rho = pb.materials[0].spec["density"]
    x = ker.ip_coordinates() - np.asarray(cf.center)
    a = np.asarray(cf.axis) / np.linalg.norm(cf.axis)
    r = x - np.einsum("eqd,d->eq", x, a)[..., None] * a
    fc = ker.body_forces(rho * r)
    ld = rom["operators"]["loads"]["centrifugal"]["000"]
    assert ld["magnitude"] == cf.omega2
    assert np.allclose(ld["phi_f"], Phi.T @ fc, rtol=1e-12)
    assert rom["dirichlet"]["mode_violation"] <= 1e-14


def test_cli_offline(built, tmp_path, capsys):
    path = tmp_path / "c.h5"
    shutil.copyfile(built[0], path)
    assert main(["offline", str(path), "--ecm-tol", "1e-4", "--pod-tol", "1e-3"]) == 0
    out = capsys.readouterr().out
    assert "reduced integration points" in out
    rom = read_rom(path, modes=False)
    assert rom["ecm"]["tolerance"] == 1e-4 and rom["pod"]["U"]["tolerance"] == 1e-3
    assert "modes" not in rom["pod"]["U"]
    cfg = tmp_path / "case.toml"
    cfg.write_text("[offline]\npod_tol = 1e-5\nbogus = 1\n")
    assert main(["offline", str(path), "--config", str(cfg)]) == 2
    assert "bogus" in capsys.readouterr().err


def test_snapshots_not_matching_imposed_values_refused(tmp_path):
    # non-zero imposed values are a lifting now (tests/test_rom_deck_features.py); snapshots
    # that do not take those values are still refused
    case = make_small_case()
    case.problem.dirichlet[0].value = 0.1
    path = write_case(tmp_path / "s.h5", case)
    with pytest.raises(InputError, match="do not satisfy the problem.s Dirichlet conditions"):
        run_offline(path, progress=None)
    with CaseStore(path) as st:
        assert "rom" not in st.f


def test_snapshots_violating_dirichlet_refused(tmp_path):
    case = make_small_case()  # random U, nonzero on the x0 nodes
    path = write_case(tmp_path / "s.h5", case)
    with pytest.raises(InputError, match="Dirichlet"):
        run_offline(path, progress=None)


def test_unknown_setting(tmp_path):
    with pytest.raises(ConfigError):
        run_offline(tmp_path / "x.h5", {"pod_tolerance": 1})
