"""The /rom owner (romnet.offline.rom_store): a ROM tree written and read back, one sub-ROM
replaced in place (a new version of local ROM c) with the rest of /rom kept, JSON members,
a refused write without /rom; and the HF time loop (HFSolver.outputs / hf_outputs) against
the stored run of romnet hifi."""
import numpy as np
import pytest

from romnet.errors import StoreError
from romnet.offline.rom_store import (has_rom, read_modes, read_rom, rom_path, rom_summary, selected_k,
                                      write_rom)
from romnet.store import CaseStore, write_case


def _tree(tag):
    return dict(settings={"pod_tol": 1e-3, "tag": tag}, series=["train_000", "train_001"],
                snapshot_times=np.arange(3.0), report={"n_points": 2},
                pod=dict(U=dict(n_points=12, n_comp=3, kind="nodal", n_modes=2, n_snapshots=3,
                                singular_values=np.array([2.0, 1.0]), inner_product="L2-mass",
                                tolerance=1e-3, relative_error=0.1)),
                enrichment=dict(log=[{"t_from": 0.0, "t_to": 1.0}], count=1), note=None)


def test_write_read_and_replace_a_sub_rom(tmp_path, small_case):
    path = write_case(tmp_path / "s.h5", small_case)
    assert not has_rom(path) and rom_summary(path) == ""
    with pytest.raises(StoreError, match="no /rom to write /rom/calibration"):
        write_rom(path, {"x": np.zeros(2)}, at="calibration")
    modes = np.arange(72.0).reshape(36, 2)
    glob = _tree("global")
    glob["clusters"] = dict(selected=2, stored=[2], **{"2": {"000": _tree("local 0"), "001": _tree("local 1")}})
    dist = {"pod/U/modes": (modes, 0, 36)}
    for c in (0, 1):
        dist[f"{rom_path(2, c)}/pod/U/modes"] = (modes * (c + 2), 0, 36)
    write_rom(path, glob, dist)
    rom = read_rom(path, modes=False)
    assert rom["format"] == "romnet-rom" and rom["settings"] == {"pod_tol": 1e-3, "tag": "global"}
    assert rom["series"] == ["train_000", "train_001"] and rom["note"] is None
    assert rom["enrichment"]["log"] == [{"t_from": 0.0, "t_to": 1.0}] and "modes" not in rom["pod"]["U"]
    assert selected_k(path) == 2 and rom["clusters"]["stored"] == [2]
    assert np.array_equal(read_modes(path, "U", slice(2, 5)), modes[6:15])
    # a new version of local ROM 1 only: the global ROM and local ROM 0 stay as they were
    created = rom["created"]
    new = _tree("local 1, version 2")
    write_rom(path, new, {"pod/U/modes": (-modes, 0, 36)}, at=rom_path(2, 1))
    with CaseStore(path) as st:                                # helpers take an open store
        assert read_rom(st, modes=False, at=rom_path(2, 1))["settings"]["tag"] == "local 1, version 2"
        assert read_rom(st, modes=False, at=rom_path(2, 0))["settings"]["tag"] == "local 0"
        assert np.array_equal(read_modes(st, "U", at=rom_path(2, 1)), -modes)
        assert np.array_equal(read_modes(st, "U", at=rom_path(2, 0)), 2 * modes)
        assert np.array_equal(read_modes(st, "U"), modes)
        assert read_rom(st, modes=False)["created"] == created
    with pytest.raises(StoreError, match="no ROM at /rom/clusters/3/000"):
        read_rom(path, at=rom_path(3, 0))
    assert "local ROMs for k = [2], selected k = 2" in rom_summary(path)


def test_hf_time_loop_is_the_stored_run(tmp_path):
    """hf_outputs (HFSolver.outputs, outputs gathered in memory) gives the U and p that
    romnet hifi (HFSolver.run, outputs written as computed) stores, to round-off."""
    from conftest import zset_case

    from adapters.zset import ADAPTER
    from romnet.hifi import SolverOptions, hf_outputs, run_hifi
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    store = write_case(tmp_path / "cube.h5", case)
    opts = SolverOptions(linear="scipy", verbose=False)
    res = run_hifi(store, tmp_path / "hifi.h5", options=opts, progress=None)
    run = hf_outputs(case.mesh, case.problem, fields=("U", "p"), options=opts)
    with CaseStore(tmp_path / "hifi.h5") as st:
        U, p = st.read_field("hifi", "U"), st.read_field("hifi", "p")
    assert np.allclose(run.times, res.times) and run.fields["U"].shape == U.shape
    assert np.abs(run.fields["U"] - U).max() <= 1e-12 * np.abs(U).max()
    assert np.abs(run.fields["p"] - p).max() <= 1e-12 * max(np.abs(p).max(), 1e-300)
    assert run.iterations == sum(res.iterations) and run.wall_time > 0
