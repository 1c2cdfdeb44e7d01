"""Case store: round trip, schema version, atomic writes, slices, bad stores."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from conftest import REPO, make_small_case, run_mpi
from romnet.errors import SchemaVersionError, StoreError
from romnet.store import SCHEMA_VERSION, CaseStore, read_case, rewrite_store, write_case


def test_round_trip_exact(tmp_path, small_case):
    path = write_case(tmp_path / "c.h5", small_case)
    back = read_case(path)
    m0, m1 = small_case.mesh, back.mesh
    np.testing.assert_array_equal(m0.coordinates, m1.coordinates)
    np.testing.assert_array_equal(m0.blocks[0].connectivity, m1.blocks[0].connectivity)
    assert m1.blocks[0].etype == "c3d8"
    assert set(m1.node_sets) == {"x0", "odd/name"}
    np.testing.assert_array_equal(m1.face_sets["x2"]["q4"], m0.face_sets["x2"]["q4"])
    s0, s1 = small_case.results["imported"], back.results["imported"]
    np.testing.assert_array_equal(s0.times, s1.times)
    for name in ("U",):
        np.testing.assert_array_equal(s0.nodal[name].values, s1.nodal[name].values)
    for name in ("stress", "p"):
        np.testing.assert_array_equal(s0.integ[name].values, s1.integ[name].values)
    assert s1.integ["p"].source_names == ["evrcum"]
    p0, p1 = small_case.problem, back.problem
    assert p1.materials[0].spec == p0.materials[0].spec
    np.testing.assert_array_equal(p1.pressure[0].value, p0.pressure[0].value)
    assert p1.pressure[1].value == 5.0
    np.testing.assert_array_equal(p1.temperature.fields, p0.temperature.fields)
    assert p1.temperature.period == 1.0
    assert p1.tables["load"](1.5) == pytest.approx(0.5)  # periodic table
    assert p1.centrifugal[0].omega2 == 1.5e4
    np.testing.assert_array_equal(p1.stepping.times, p0.stepping.times)
    assert back.metadata == {"code": "synthetic"}


def test_no_pickles_anywhere(tmp_path, small_case):
    """Every dataset is numeric or text: no opaque (pickled) objects."""
    path = write_case(tmp_path / "c.h5", small_case)
    kinds = set()
    with h5py.File(path) as f:
        f.visititems(lambda n, o: kinds.add(o.dtype.kind) if isinstance(o, h5py.Dataset) else None)
    assert kinds <= {"f", "i", "u", "O", "S"}  # 'O' = variable-length UTF-8 strings (JSON)
    with h5py.File(path) as f:
        assert isinstance(f["problem/definition"][()], bytes)


def test_snapshots_chunked_time_by_dof(tmp_path, small_case):
    path = write_case(tmp_path / "c.h5", small_case)
    with h5py.File(path) as f:
        ds = f["results/imported/nodal/U"]
        assert ds.shape == (4, 36) and ds.chunks == (1, 36)


def test_slice_read_matches_full(tmp_path, small_case):
    path = write_case(tmp_path / "c.h5", small_case)
    u = small_case.results["imported"].nodal["U"].values
    with CaseStore(path) as st:
        part = st.read_field("imported", "U", times=slice(1, 3), points=slice(4, 9))
        assert st.field_info("imported", "stress")["shape"] == (4, 16, 6)
    np.testing.assert_array_equal(part, u[1:3, 4:9])


def test_other_schema_version_refused(tmp_path, small_case):
    path = write_case(tmp_path / "c.h5", small_case)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(SchemaVersionError, match=r"c\.h5.*schema version 2.*reads version 1"):
        CaseStore(path)


def test_not_a_store(tmp_path):
    bad = tmp_path / "junk.h5"
    bad.write_bytes(b"this is not hdf5")
    with pytest.raises(StoreError, match="junk.h5"):
        CaseStore(bad)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(StoreError, match="not a romnet case store"):
        CaseStore(tmp_path / "other.h5")
    with pytest.raises(StoreError, match="no such case store"):
        CaseStore(tmp_path / "missing.h5")


def test_failed_write_leaves_old_store_and_no_temp(tmp_path, small_case):
    path = write_case(tmp_path / "c.h5", small_case)
    before = path.read_bytes()
    bad = make_small_case()
    bad.results["imported"].nodal["U"].values = np.zeros((4, 12))  # wrong rank -> StoreError mid-write
    with pytest.raises(StoreError):
        write_case(path, bad)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.h5"]


def test_crash_during_first_write_leaves_nothing(tmp_path, small_case):
    def boom(f):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_case(tmp_path / "new.h5", small_case, extra=boom)
    assert list(tmp_path.iterdir()) == []


def test_rewrite_store_atomic(tmp_path, small_case):
    path = write_case(tmp_path / "c.h5", small_case)
    with rewrite_store(path) as f:
        f.create_group("rom").attrs["n_modes"] = 3
    with h5py.File(path) as f:
        assert f["rom"].attrs["n_modes"] == 3
    with pytest.raises(RuntimeError):
        with rewrite_store(path) as f:
            del f["rom"]
            raise RuntimeError("interrupted")
    with h5py.File(path) as f:
        assert "rom" in f
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.h5"]


def test_two_ranks_read_their_own_slice(tmp_path, small_case):
    path = write_case(tmp_path / "c.h5", small_case)
    res = run_mpi(REPO / "tests" / "mpi" / "store_slices.py", path)
    assert "OK 2 ranks" in res.stdout


def test_periodic_table_and_temperature_at_period_end():
    """The end of a period belongs to that period: value at t0 + period, not at t0."""
    from romnet.problem import Temperature, TimeTable
    tab = TimeTable("p", [0.0, 0.1, 2.0], [0.0, -100.0, -100.0], period=2.0)
    assert tab(2.0) == -100.0 and tab(4.0) == -100.0
    assert tab(0.0) == 0.0 and tab(2.05) == pytest.approx(-50.0)
    temp = Temperature(np.array([0.0, 1.0, 2.0]), np.array([[20.0], [400.0], [300.0]]), period=2.0)
    assert temp.at(2.0)[0] == 300.0 and temp.at(0.0)[0] == 20.0
    assert temp.at(3.0)[0] == 400.0 and temp.at(4.0)[0] == 300.0


def test_n_complete_hides_rows_of_an_interrupted_write(tmp_path, small_case):
    path = write_case(tmp_path / "c.h5", small_case)
    with h5py.File(path, "r+") as f:
        f["results/imported"].attrs["n_complete"] = 2
    with CaseStore(path) as st:
        assert len(st.times("imported")) == 2
        assert st.read_field("imported", "U").shape == (2, 12, 3)
        assert st.read_field("imported", "U", times=slice(1, None)).shape == (1, 12, 3)
        assert st.series("imported").integ["p"].values.shape == (2, 16, 1)
