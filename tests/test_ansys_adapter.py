"""Ansys adapter on the example .rst shipped with ansys-mapdl-reader (optional extra)."""
from __future__ import annotations

import builtins
from unittest import mock

import numpy as np
import pytest
from data_fetch import ansys_examples

from adapters.ansys import ADAPTER
from romnet.errors import InputError
from romnet.store import CaseStore, write_case


def test_unavailable_without_the_extra():
    real_import = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("ansys"):
            raise ImportError("no ansys")
        return real_import(name, *a, **k)

    with mock.patch("builtins.__import__", fake):
        assert ADAPTER.available() == (False, "pip install romnet[ansys]")
    assert ADAPTER.extras == ["ansys"]


def test_example_rst_matches_reader(tmp_path):
    from ansys.mapdl.reader import read_binary
    for f in ansys_examples():
        case = ADAPTER.read(f)
        rst = read_binary(str(f))
        modes = case.metadata["analysis"] in ("modal", "buckling")
        s = case.results["modes" if modes else "imported"]
        if modes:  # mode shapes: mode numbers as "times", frequencies recorded with a note
            np.testing.assert_array_equal(s.times, np.arange(1, rst.n_results + 1))
            np.testing.assert_array_equal(case.metadata["frequencies"], rst.time_values)
            assert any("mode shapes" in n for n in case.metadata["notes"])
        else:
            np.testing.assert_array_equal(s.times, rst.time_values)
        idx = {int(n): i for i, n in enumerate(case.mesh.node_ids)}
        for k in range(rst.n_results):
            nnum, d = rst.nodal_displacement(k)
            np.testing.assert_array_equal(s.nodal["U"].values[k, [idx[int(n)] for n in nnum]], d[:, :3])
        assert not s.integ  # element results are not at integration points
        assert any("not at integration points" in n for n in case.metadata["notes"])
        assert "not at integration points" in case.metadata["element_results"]
        out = write_case(tmp_path / "a.h5", case)
        with CaseStore(out) as st:
            assert st.field_info("modes" if modes else "imported", "U")["shape"] == \
                (rst.n_results, case.mesh.n_nodes, 3)
        from romnet.fe.kernel import ElementKernel
        for b in case.mesh.blocks:  # positive Jacobians: node order converted correctly
            assert ElementKernel(b.etype, case.mesh.coordinates, b.connectivity).volume() > 0


def test_bad_rst(tmp_path):
    ansys_examples()
    f = tmp_path / "bad.rst"
    f.write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError, match=r"bad\.rst"):
        ADAPTER.read(f)


def test_example_is_solid186_with_every_node():
    """The example is a modal SOLID186 result: all 321 nodes, 40 c3d20 elements whose nodes
    are the MAPDL element records' own (MAPDL's 20-node order is romnet's), no node left
    out, and the romnet element volumes add up to the reader's."""
    from ansys.mapdl.reader import examples, read_binary
    case = ADAPTER.read(examples.rstfile)
    rst = read_binary(examples.rstfile)
    assert case.metadata["analysis"] == "modal"
    assert case.metadata["ansys_element_types"] == {"SOLID186": 40}
    assert case.mesh.n_nodes == 321 and case.mesh.element_types == ["c3d20"]
    conn = case.mesh.blocks[0].connectivity
    assert np.unique(conn).size == 321
    ids = case.mesh.node_ids
    row = {int(e): i for i, e in enumerate(case.mesh.blocks[0].element_ids)}
    mine = conn[[row[int(e)] for e in rst.mesh.enum]]
    np.testing.assert_array_equal(ids[mine], np.array([e[10:30] for e in rst.mesh.elem]))
    from romnet.fe.kernel import ElementKernel
    vol = ElementKernel("c3d20", case.mesh.coordinates, conn).volume()
    assert vol == pytest.approx(float(rst.quadgrid.volume), rel=1e-9)
    assert "modes" in case.results and "imported" not in case.results
