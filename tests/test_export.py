"""romnet export: store -> XDMF time series, read back with meshio, values equal."""
from __future__ import annotations

import meshio
import numpy as np
import pytest
from conftest import make_small_case

from romnet.app.cli import main
from romnet.errors import StoreError
from romnet.export import export_xdmf, romnet_permutation, vtk_permutation
from romnet.store import write_case


def _read_back(path):
    with meshio.xdmf.TimeSeriesReader(str(path)) as r:
        points, cells = r.read_points_cells()
        steps = [r.read_data(k) for k in range(r.num_steps)]
    return points, cells, steps


def test_export_cli_round_trip(tmp_path):
    case = make_small_case(n_times=5)
    store = write_case(tmp_path / "c.h5", case)
    out = tmp_path / "out" / "c.xdmf"
    assert main(["export", str(store), "-o", str(out)]) == 0
    points, cells, steps = _read_back(out)
    np.testing.assert_array_equal(points, case.mesh.coordinates)
    np.testing.assert_array_equal(cells[0].data, case.mesh.blocks[0].connectivity)
    s = case.results["imported"]
    assert len(steps) == s.n_times
    for k, (t, pdata, cdata) in enumerate(steps):
        assert t == s.times[k]
        np.testing.assert_array_equal(pdata["U"], s.nodal["U"].values[k])
        mean = s.integ["stress"].values[k].reshape(2, 8, 6).mean(axis=1)
        np.testing.assert_allclose(cdata["stress"][0], mean, rtol=1e-15, atol=1e-15)
        np.testing.assert_allclose(cdata["p"][0][:, 0], s.integ["p"].values[k].reshape(2, 8).mean(axis=1))


def test_export_selected_fields_and_errors(tmp_path):
    store = write_case(tmp_path / "c.h5", make_small_case())
    out = export_xdmf(store, "imported", tmp_path / "u.xdmf", fields=["U"])
    _, _, steps = _read_back(out)
    assert set(steps[0][1]) == {"U"} and not steps[0][2]
    with pytest.raises(StoreError, match="no field nothere"):
        export_xdmf(store, "imported", tmp_path / "x.xdmf", fields=["nothere"])
    with pytest.raises(StoreError, match="no result series 'bad'"):
        export_xdmf(store, "bad", tmp_path / "x.xdmf")
    assert main(["export", str(tmp_path / "missing.h5"), "-o", str(tmp_path / "m.xdmf")]) == 2


@pytest.mark.parametrize("etype", ["c3d4", "c3d10", "c3d6", "c3d15", "c3d8", "c3d20", "cpe3", "cpe6", "cpe4", "cpe8"])
def test_vtk_permutations_are_permutations(etype):
    p = vtk_permutation(etype)
    assert sorted(p.tolist()) == list(range(p.size))
    np.testing.assert_array_equal(p[romnet_permutation(etype)], np.arange(p.size))


def test_wedge_orientation_positive_in_vtk(tmp_path):
    """A romnet wedge with positive Jacobian becomes a VTK wedge with positive volume."""
    from romnet.fe.elements import get_element_type
    for etype, vtk in (("c3d6", "wedge"), ("c3d15", "wedge15")):
        et = get_element_type(etype)
        x = et.reference_nodes.copy()
        v = x[vtk_permutation(etype)]
        # VTK: (0,1,2) normal points away from (3,4,5)
        n = np.cross(v[1] - v[0], v[2] - v[0])
        assert np.dot(n, v[3] - v[0]) < 0, vtk
