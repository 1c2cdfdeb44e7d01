"""Per-subdomain loading files of a Z-set parallel run (``pressure-001.node``, ...), merged
through the decomposition like the results, on a temporary copy of MecaParallel without
its whole-mesh loading files; the merged values equal Z-set's whole-mesh files exactly."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import writable_copy, zset_case
from romnet.errors import InputError


@pytest.fixture
def par(tmp_path):
    return writable_copy("MecaParallel", tmp_path / "MecaParallel")


def _drop_whole(d):
    for f in ("pressure.node", "temperature1.node", "temperature2.node"):
        (d / f).unlink()


def test_pieces_merge_to_the_whole_mesh_files(par):
    from adapters.zset import ADAPTER
    from adapters.zset.geof import read_geof
    from adapters.zset.parallel import SubdomainFiles, subdomain_pieces
    ref = ADAPTER.read(par)
    whole_t2 = np.fromfile(par / "temperature2.node", ">f4").astype(float)
    _drop_whole(par)
    case = ADAPTER.read(par)
    a, b = ref.problem, case.problem
    assert b.pressure[0].per == "face" and np.array_equal(a.pressure[0].value, b.pressure[0].value)
    assert len(np.unique(b.pressure[0].value)) > 10  # a real per-face field: the face mapping is tested
    assert np.array_equal(a.temperature.fields, b.temperature.fields)
    # temperature2 (not used by the deck) varies in space: the node mapping is tested on it
    sf = SubdomainFiles(par / "cube.cut", read_geof(par / "cube.geof"))
    merged = sf.nodal(par / "temperature2.node", subdomain_pieces(par / "temperature2.node"))
    assert merged.shape == (1, 343) and np.array_equal(merged[0], whole_t2) and np.ptp(whole_t2) > 300
    assert any("pressure-002.node" in f for f in case.metadata["files"])


def test_missing_piece(par):
    from adapters.zset import ADAPTER
    _drop_whole(par)
    (par / "pressure-002.node").unlink()
    with pytest.raises(InputError, match=r"pressure-002\.node: 'pressure\.node' not found and subdomain file "
                                         r"'pressure-002\.node' missing \(2 domains in cube\.cut"):
        ADAPTER.read(par)


def test_wrong_size_piece_and_disagreeing_shared_node(par):
    from adapters.zset import ADAPTER
    _drop_whole(par)
    (par / "pressure-001.node").write_bytes(b"\0" * 40)
    with pytest.raises(InputError, match=r"pressure-001\.node:byte 40: expected 72 bytes \(one float32 per face "
                                         r"of x1 in cube-001\.geof\), found 40 bytes"):
        ADAPTER.read(par)
    shutil.copyfile(zset_case("MecaParallel") / "pressure-001.node", par / "pressure-001.node")
    t = np.fromfile(par / "temperature1-002.node", ">f4")
    t[:] = 25.0  # shared interface nodes now disagree with subdomain 1 (20)
    t.astype(">f4").tofile(par / "temperature1-002.node")
    with pytest.raises(InputError, match=r"temperature1-002\.node: node \d+ shared by subdomains has 25 here and "
                                         r"20 in another subdomain file"):
        ADAPTER.read(par)


def test_missing_cut_file(par):
    from adapters.zset import ADAPTER
    _drop_whole(par)
    for p in par.glob("cube-0*"):
        p.unlink()
    (par / "cube.cut").unlink()
    with pytest.raises(InputError, match=r"cube\.cut: per-subdomain files need the decomposition file 'cube\.cut'"):
        ADAPTER.read(par / "cube.inp")
