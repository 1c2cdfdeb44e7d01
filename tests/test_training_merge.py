"""Training families in parts (``romnet train --runs``, job arrays) gathered by
``romnet train-merge``: the merged store equals one ``romnet train`` of the whole family;
resumption, duplicates and refused parts (other family, other case, bad --runs)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_blade_case_dir

from romnet.errors import InputError
from romnet.app.clustering_cli import parse_runs
from romnet.offline.training import read_training, run_training, training_series
from romnet.offline.training_merge import merge_training
from romnet.store import CaseStore, write_case
from romnet.app.workflow.context import load_script

REPO = Path(__file__).resolve().parents[1]
BLADE = load_script(REPO / "cases" / "blade" / "problem.py")
N = 4


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """The small blade case store, a whole family of N runs, and two parts (runs 0:2, 2:4)."""
    d = tmp_path_factory.mktemp("merge")
    case = write_case(d / "case.h5", BLADE.build_case("small", 0))
    whole = d / "whole.h5"
    shutil.copy(case, whole)
    run_training(whole, N, seed=3, sampler=BLADE.SAMPLER, n_increments=3, progress=None)
    parts = []
    for k, runs in enumerate((range(0, 2), range(2, N))):
        p = d / f"part_{k}.h5"
        shutil.copy(case, p)
        rep = run_training(p, N, seed=3, sampler=BLADE.SAMPLER, n_increments=3, progress=None, runs=runs)
        assert rep["ran"] == [f"train_{i:03d}" for i in runs]
        parts.append(p)
    return case, whole, parts


def _fields(path):
    with CaseStore(path) as st:
        return {s: {f: st.read_field(s, f) for f in ("U", "p", "stress")} for s in training_series(path)}


def test_parts_merge_to_the_whole_family(stores, tmp_path):
    case, whole, parts = stores
    target = tmp_path / "target.h5"
    shutil.copy(case, target)
    msgs = []
    rep = merge_training(target, parts, progress=msgs.append)
    assert rep["copied"] == [f"train_{i:03d}" for i in range(N)] and rep["n_samples"] == N
    assert "4 run(s) copied" in msgs[-1] and "4/4 runs complete" in msgs[-1]
    a, b = read_training(whole), read_training(target)
    assert a["series"] == b["series"]
    np.testing.assert_array_equal(a["index"], b["index"])
    np.testing.assert_array_equal(a["temperature"], b["temperature"])
    np.testing.assert_array_equal(a["temperature_fields"], b["temperature_fields"])
    assert a["parameters"] == b["parameters"] and a["seed"] == b["seed"]
    fa, fb = _fields(whole), _fields(target)
    for s in fa:
        for f in fa[s]:
            # the same HF runs (same seeds, same solver): equal to round-off
            np.testing.assert_allclose(fb[s][f], fa[s][f], rtol=0, atol=1e-12 * np.abs(fa[s][f]).max())
    with CaseStore(target) as st:
        g = st.f["training"]
        with CaseStore(whole) as sw:
            for k in ("sampler", "fields", "stepping_times"):
                assert json.loads(g.attrs[k]) == json.loads(sw.f["training"].attrs[k])
        assert g["wall_time"][()].min() > 0 and g["iterations"][()].min() > 0
    # again: nothing new
    rep = merge_training(target, parts, progress=None)
    assert rep["copied"] == [] and len(rep["kept"]) == N


def test_incomplete_target_run_is_replaced_and_duplicates_skipped(stores, tmp_path):
    case, whole, parts = stores
    target = tmp_path / "target.h5"
    shutil.copy(parts[0], target)                   # runs 0, 1 complete
    import h5py
    with h5py.File(target, "r+") as f:              # run 1 as if killed while written
        f["training"]["complete"][1] = 0
        f["results"]["train_001"].attrs["n_complete"] = 0
    rep = merge_training(target, [parts[0], parts[1], parts[1]], progress=None)
    assert rep["kept"] == ["train_000"]
    assert rep["copied"] == ["train_001", "train_002", "train_003"]
    assert rep["duplicates"] == ["train_002", "train_003"]
    assert training_series(target) == [f"train_{i:03d}" for i in range(N)]
    with CaseStore(target) as st:
        assert st.n_complete("train_001") == 4


def test_refused_parts(stores, tmp_path):
    case, whole, parts = stores
    target = tmp_path / "target.h5"
    shutil.copy(case, target)
    with pytest.raises(InputError, match="no training family"):
        merge_training(target, [case], progress=None)
    with pytest.raises(InputError, match="the target itself"):
        merge_training(parts[0], [parts[0]], progress=None)
    with pytest.raises(InputError, match="no part store"):
        merge_training(target, [], progress=None)
    other = tmp_path / "other_seed.h5"
    shutil.copy(case, other)
    run_training(other, 1, seed=4, sampler=BLADE.SAMPLER, n_increments=3, progress=None)
    with pytest.raises(InputError, match="seed") as e:
        merge_training(target, [parts[0], other], progress=None)
    assert str(other) in str(e.value)
    # another case: the same family on a different mesh (seed 0 vs 1 of the generator is the
    # same mesh, so move one node)
    moved = tmp_path / "moved.h5"
    shutil.copy(parts[1], moved)
    import h5py
    with h5py.File(moved, "r+") as f:
        f["mesh"]["coordinates"][0, 0] += 1.0
    with pytest.raises(InputError, match="mesh differs"):
        merge_training(target, [moved], progress=None)
    with CaseStore(target) as st:
        assert "training" not in st.f                                 # nothing written


def test_runs_option_and_bad_runs(stores, tmp_path):
    case, whole, parts = stores
    assert parse_runs("0:3,7") == [0, 1, 2, 7]
    for bad in ("3:1", "a", "-1", "1:2:3", ""):
        with pytest.raises(InputError, match="--runs"):
            parse_runs(bad)
    p = tmp_path / "p.h5"
    shutil.copy(case, p)
    with pytest.raises(InputError, match=r"runs \[4\] are outside the family 0..3"):
        run_training(p, N, seed=3, sampler=BLADE.SAMPLER, n_increments=3, progress=None, runs=[3, 4])


def test_cli(stores, tmp_path):
    case, whole, parts = stores
    target = tmp_path / "t.h5"
    shutil.copy(case, target)
    r = subprocess.run([sys.executable, "-m", "romnet.app.cli", "train-merge", str(target), *map(str, parts)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "4 run(s) copied" in r.stdout
    assert read_training(target)["series"] == read_training(whole)["series"]
    r = subprocess.run([sys.executable, "-m", "romnet.app.cli", "train-merge", str(target), str(case)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode != 0 and "no training family" in r.stderr and "Traceback" not in r.stderr


def test_family_stored_before_sampler_center_is_the_same_family(stores, tmp_path):
    """A sampler stored without the ``center`` field (older stores) equals today's default:
    adding runs and merging are accepted; another sampler is still refused."""
    import h5py
    case, whole, parts = stores
    old = tmp_path / "old.h5"
    shutil.copy(parts[0], old)
    with h5py.File(old, "r+") as f:
        s = json.loads(f["training"].attrs["sampler"])
        assert s.pop("center") is None
        f["training"].attrs["sampler"] = json.dumps(s)
    rep = merge_training(old, [parts[1]], progress=None)
    assert rep["copied"] == ["train_002", "train_003"]
    import dataclasses
    other = dataclasses.replace(BLADE.SAMPLER, center=((0, 0, 0.5), (1, 1, 1)))
    with pytest.raises(InputError, match="sampler"):
        run_training(old, N + 1, seed=3, sampler=other, n_increments=3, progress=None)


def test_case_directory_workflow_in_parts(tmp_path):
    """The job-array workflow of mpi_jobs/ on a small-blade case directory: generate with
    ``romnet run --steps generate``, two ``romnet train PART --case DIR --runs`` tasks, merge
    into the case store, then ``romnet run --steps train,offline``: the train step finds the
    family complete (no HF run), the offline stage builds the ROM from the merged runs."""
    from romnet.errors import ConfigError
    from romnet.app.runner import run_case
    case_dir = write_blade_case_dir(tmp_path / "case", "parts", seed=5)
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="unknown step"):
        run_case(case_dir, output=out, progress=None, steps=["generate", "bogus"])
    assert run_case(case_dir, output=out, progress=None, steps=["generate"]) == 0
    store = out / "case.h5"
    with CaseStore(store) as st:
        assert "training" not in st.f
    parts = []
    for k, runs in enumerate(("0:2", "2")):
        p = tmp_path / f"part_{k}.h5"
        shutil.copy(store, p)
        r = subprocess.run([sys.executable, "-m", "romnet.app.cli", "train", str(p), "--case", str(case_dir),
                            "--runs", runs], capture_output=True, text=True, cwd=REPO)
        assert r.returncode == 0, r.stderr
        assert "3 samples (seed 5)" in r.stdout and "in this task" in r.stdout
        parts.append(p)
    tr = read_training(parts[0])
    assert tr["series"] == ["train_000", "train_001"]
    from romnet.sampling import sample_parameters
    assert tr["parameters"][0] == sample_parameters([5, 0], BLADE.SAMPLER)   # the case's sampler and seed
    assert merge_training(store, parts, progress=None)["stale_rom"] is False
    msgs = []
    assert run_case(case_dir, output=out, progress=msgs.append, steps=["train", "offline"]) == 0
    text = "\n".join(msgs)
    assert "0 run(s), 3 kept" in text
    with CaseStore(store) as st:
        assert "rom" in st.f
    assert training_series(store) == ["train_000", "train_001", "train_002"]
    # a run merged into a store that has a ROM: the ROM is reported as stale
    more = tmp_path / "more.h5"
    shutil.copy(parts[1], more)
    run_training(more, 4, seed=5, sampler=BLADE.SAMPLER, n_increments=3, progress=None, runs=[3])
    msgs = []
    assert merge_training(store, [more], progress=msgs.append)["stale_rom"] is True
    assert "run the offline or cluster step again" in msgs[-1]
