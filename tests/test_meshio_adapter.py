"""meshio adapter: XDMF time series (exact times), VTU series via .pvd, MED."""
from __future__ import annotations

import meshio
import numpy as np
import pytest
from conftest import make_small_case

from adapters.meshio_formats import ADAPTER
from romnet.errors import ConfigError, InputError
from romnet.export import export_xdmf, vtk_permutation
from romnet.store import write_case


def test_xdmf_round_trip_through_export(tmp_path):
    case = make_small_case(n_times=4)
    case.results["imported"].times[:] = [0.0, 0.1, 0.30000000000000004, 1 / 3]
    store = write_case(tmp_path / "c.h5", case)
    with pytest.raises(ConfigError, match="overwrite the case store"):
        export_xdmf(store, "imported", tmp_path / "c.xdmf")
    out = export_xdmf(store, "imported", tmp_path / "c_out.xdmf")
    back = ADAPTER.read(out)
    s0, s1 = case.results["imported"], back.results["imported"]
    np.testing.assert_array_equal(s1.times, s0.times)  # exact float64 times
    np.testing.assert_array_equal(s1.nodal["U"].values, s0.nodal["U"].values)
    np.testing.assert_array_equal(back.mesh.blocks[0].connectivity, case.mesh.blocks[0].connectivity)
    np.testing.assert_array_equal(back.mesh.coordinates, case.mesh.coordinates)
    # the export's cell means of the integration-point fields are reported, not imported
    assert back.metadata["notes"] == ["cell data not imported (one value per cell, not at integration "
                                      "points): p, stress"]
    assert not back.results["imported"].integ


def _wedge_mesh():
    """Two c3d6 wedges (romnet order) forming a unit cube slab, VTK cells for meshio."""
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1],
                    [1, 1, 0], [1, 1, 1]], dtype=float)
    conn = np.array([[0, 1, 2, 3, 4, 5], [1, 6, 2, 4, 7, 5]])
    return pts, conn


def test_pvd_vtu_series_with_wedges(tmp_path):
    pts, conn = _wedge_mesh()
    times = [0.0, 0.25, 0.7]
    rng = np.random.default_rng(1)
    us = [rng.normal(size=(8, 3)) for _ in times]
    rows = []
    for k, (t, u) in enumerate(zip(times, us)):
        name = f"s_{k}.vtu"
        meshio.write(tmp_path / name, meshio.Mesh(pts, [("wedge", conn[:, vtk_permutation("c3d6")])],
                                                  point_data={"displacement": u, "T": u[:, 0]}))
        rows.append(f'<DataSet timestep="{t!r}" file="{name}"/>')
    pvd = tmp_path / "s.pvd"
    pvd.write_text('<?xml version="1.0"?><VTKFile type="Collection"><Collection>'
                   + "".join(reversed(rows)) + "</Collection></VTKFile>")
    case = ADAPTER.read(pvd)
    s = case.results["imported"]
    np.testing.assert_array_equal(s.times, times)
    np.testing.assert_array_equal(s.nodal["U"].values, np.stack(us))
    np.testing.assert_array_equal(case.mesh.blocks[0].connectivity, conn)
    from romnet.fe.kernel import ElementKernel
    k = ElementKernel("c3d6", case.mesh.coordinates, case.mesh.blocks[0].connectivity)
    assert k.volume() == pytest.approx(1.0)  # positive Jacobians after the permutation
    (tmp_path / "s_1.vtu").unlink()
    with pytest.raises(InputError, match=r"s\.pvd: DataSet file 's_1\.vtu' not found"):
        ADAPTER.read(pvd)


def test_med_nodal_field(tmp_path):
    case = make_small_case()
    m = case.mesh
    u = np.arange(36.0).reshape(12, 3)
    f = tmp_path / "c.med"
    meshio.write(f, meshio.Mesh(m.coordinates, [("hexahedron", m.blocks[0].connectivity)],
                                point_data={"DEPL": u}))
    back = ADAPTER.read(f)
    np.testing.assert_array_equal(back.results["imported"].nodal["U"].values[0], u)


def test_bad_inputs(tmp_path):
    (tmp_path / "e.xdmf").write_text("")
    with pytest.raises(InputError, match=r"e\.xdmf: empty file"):
        ADAPTER.read(tmp_path / "e.xdmf")
    (tmp_path / "g.xdmf").write_text("<Xdmf><garbage")
    with pytest.raises(InputError, match=r"g\.xdmf: XDMF: cannot read"):
        ADAPTER.read(tmp_path / "g.xdmf")
    with pytest.raises(InputError, match="not found"):
        ADAPTER.read(tmp_path / "none.vtu")


def test_cell_data_is_reported_not_dropped_silently(tmp_path, monkeypatch):
    """Cell data (a von Mises stress per cell) cannot be integration-point values: it is not
    imported, and the note naming it is in the metadata and in `romnet info`."""
    import subprocess
    import sys
    from conftest import REPO
    pts, conn = _wedge_mesh()
    cells = [("wedge", conn[:, vtk_permutation("c3d6")])]
    vm = [np.array([1.0, 2.0])]
    meshio.write(tmp_path / "a.vtu", meshio.Mesh(pts, cells, point_data={"U": np.zeros((8, 3))},
                                                 cell_data={"von_mises": vm}))
    case = ADAPTER.read(tmp_path / "a.vtu")
    note = "cell data not imported (one value per cell, not at integration points): von_mises"
    assert note in case.metadata["notes"]
    monkeypatch.chdir(tmp_path)  # meshio writes the heavy data relative to the working directory
    with meshio.xdmf.TimeSeriesWriter("b.xdmf") as w:
        w.write_points_cells(pts, cells)
        for t in (0.0, 1.0):
            w.write_data(t, point_data={"U": np.full((8, 3), t)}, cell_data={"S_vm": vm})
    case = ADAPTER.read(tmp_path / "b.xdmf")
    assert "cell data not imported (one value per cell, not at integration points): S_vm" in case.metadata["notes"]
    store = write_case(tmp_path / "b.h5", case)
    out = subprocess.run([sys.executable, "-m", "romnet.app.cli", "info", str(store)], capture_output=True,
                         text=True, cwd=REPO)
    assert "S_vm" in out.stdout and "cell data not imported" in out.stdout
