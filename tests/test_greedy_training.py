"""Greedy training (``[training] strategy = "greedy"``, romnet.online.greedy_training) on the
Z-set MecaSequential cube with sampled hot spots (the family of tests/test_clustering.py):
the chosen run is the candidate with the largest score, recomputed here independently (ROM
of exactly the runs made so far, each candidate's field (seed, i) run on it, max of its
stress indicator); the family index stays that of one family of ``pool`` samples; settings
are checked; 1 and 2 ranks choose the same runs with the same scores."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import run_mpi, write_blade_case_dir, zset_case

from romnet.errors import ConfigError, InputError
from romnet.offline.pipeline import run_offline
from romnet.offline.rom_store import read_rom, series_list
from romnet.offline.training import (TrainingSettings, completed_runs, read_training, run_training,
                                     training_family, with_increments)
from romnet.online.api import load_rom
from romnet.online.greedy_training import greedy_sizes, run_greedy_training, train_family
from romnet.sampling import sample_temperature, sampled_problem
from romnet.settings import check_table
from romnet.store import CaseStore, write_case

OFFLINE = {"pod_tol": 1e-3, "ecm_tol": 1e-3}
INCS = 4
MPI_SCRIPT = Path(__file__).parent / "mpi" / "greedy_run.py"


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    """The MecaSequential cube (mesh + deck, no results) as a case store."""
    from adapters.zset import ADAPTER
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    case.results = {}
    return write_case(tmp_path_factory.mktemp("greedy") / "cube.h5", case)


def _copy(cube, tmp_path, name="fam.h5"):
    return shutil.copy(cube, tmp_path / name)


def _scores_by_hand(store, runs, candidates, score="stress"):
    """Max ``score`` indicator of each candidate on the ROM of exactly ``runs``."""
    run_offline(store, {**OFFLINE, "series": [f"train_{i:03d}" for i in runs]}, progress=None)
    rom = load_rom(store)
    with CaseStore(store) as st:
        mesh, pb = st.mesh(), st.problem()
    pb = with_increments(pb, INCS)
    out = []
    for i in candidates:
        q, _, _ = sampled_problem(pb, mesh.coordinates, [0, i])
        res = rom.run(q, enrich=False, learn=False)
        assert len(res.times) == INCS + 1
        out.append(float(np.max(res.indicators[score])))
    return np.asarray(out)


def test_greedy_picks_the_largest_score_and_keeps_the_family_index(cube, tmp_path):
    store = _copy(cube, tmp_path)
    lines = []
    rep = run_greedy_training(store, 3, seed=0, pool=5, initial=1, n_increments=INCS, offline=OFFLINE,
                              progress=lines.append)
    chosen = [c["index"] for c in rep["choices"]]
    assert [c["how"] for c in rep["choices"]] == ["initial", "greedy", "greedy"] and chosen[0] == 0
    assert len(set(chosen)) == 3 and all(0 <= i < 5 for i in chosen)
    # one line per chosen run: index, score, the best remaining
    for k, c in enumerate(rep["choices"][1:]):
        line = next(s for s in lines if s.startswith(f"  [{k + 2}/3] train_{c['index']:03d}: greedy"))
        assert f"score {c['score']:.3e}" in line and f"next best {c['next_best']:.3e} (run {c['next_index']})" in line
    # every greedy choice is the first maximum of its candidates' scores
    for step in rep["scores"]:
        s = np.asarray(step["scores"])
        assert step["index"] == step["candidates"][int(np.argmax(s))]
        assert np.all(np.isfinite(s)) and s.max() > 0
    # final_rom: /rom is the ROM of the three chosen runs
    assert series_list(read_rom(store, modes=False)["series"]) == [f"train_{i:03d}" for i in sorted(chosen)]
    # the last choice again, independently: ROM of the first two runs, every other candidate run on it
    last = rep["scores"][-1]
    assert last["candidates"] == [i for i in range(5) if i not in chosen[:2]]
    mine = _scores_by_hand(store, chosen[:2], last["candidates"])
    np.testing.assert_allclose(mine, last["scores"], rtol=1e-9, atol=0)
    assert last["candidates"][int(np.argmax(mine))] == chosen[2]
    assert sorted(mine)[-1] > sorted(mine)[-2]          # a real choice, not a tie
    assert rep["choices"][2]["next_best"] == pytest.approx(sorted(mine)[-2], rel=1e-9)

    # the family index: one family of pool = 5 samples, the chosen runs complete
    tr = read_training(store)
    assert list(tr["index"]) == sorted(chosen) and tr["series"] == [f"train_{i:03d}" for i in sorted(chosen)]
    assert completed_runs(store) == sorted(chosen)
    fam = training_family(store)
    assert fam["n_samples"] == 5 and fam["seed"] == 0
    with CaseStore(store) as st:
        coords = st.mesh().coordinates
        assert sorted(s for s in st.series_names() if s.startswith("train_")) == tr["series"]
        flags = st.read("training/complete")
    assert flags.shape == (5,) and flags.sum() == 3
    for row, i in enumerate(tr["index"]):
        np.testing.assert_array_equal(tr["temperature"][row], sample_temperature(coords, [0, int(i)])[0])
    # the same family for romnet train: the chosen runs are kept, another seed refused
    again = run_training(store, 5, seed=0, n_increments=INCS, runs=chosen, progress=None)
    assert again["ran"] == [] and len(again["skipped"]) == 3
    with pytest.raises(InputError, match="seed"):
        run_training(store, 5, seed=7, n_increments=INCS, runs=[1], progress=None)
    # resumable: the complete runs count towards samples
    rep2 = run_greedy_training(store, 3, seed=0, pool=5, initial=1, n_increments=INCS, offline=OFFLINE,
                               progress=None)
    assert rep2["ran"] == [] and [c["how"] for c in rep2["choices"]] == ["kept"] * 3


def test_greedy_settings_are_checked(cube, tmp_path):
    with pytest.raises(ConfigError, match=r"case.toml: \[training\] strategy: expected \"random\" or \"greedy\""):
        check_table({"samples": 4, "strategy": "best"}, TrainingSettings, "case.toml", "training")
    with pytest.raises(ConfigError, match=r"\[training\] score: expected \"stress\" or \"p\""):
        check_table({"samples": 4, "score": "U"}, TrainingSettings, "case.toml", "training")
    with pytest.raises(ConfigError, match=r"\[training\] pool: expected an integer >= 1"):
        check_table({"samples": 4, "pool": 0}, TrainingSettings, "case.toml", "training")
    assert greedy_sizes(4) == (4, 16, 2)
    with pytest.raises(ConfigError, match=r"\[training\] pool = 3: .* pool must be >= samples"):
        greedy_sizes(4, pool=3)
    with pytest.raises(ConfigError, match=r"\[training\] initial = 5"):
        greedy_sizes(4, pool=8, initial=5)
    # through a case.toml: the file, the table and the key
    from romnet.app.config import load_case_config
    (tmp_path / "case.toml").write_text('[case]\nsteps = ["train"]\n[training]\nsamples = 2\nstrategy = "smart"\n')
    with pytest.raises(ConfigError, match=r"case.toml: \[training\] strategy: expected"):
        load_case_config(tmp_path)
    store = _copy(cube, tmp_path)
    with pytest.raises(ConfigError, match="--runs"):
        train_family(store, {"samples": 2, "strategy": "greedy"}, runs=[0])
    with pytest.raises(ConfigError, match=r"\[training\] pool = 1"):
        train_family(store, {"samples": 2, "strategy": "greedy", "pool": 1})
    # the score field must have a basis in the scoring ROM
    with pytest.raises(ConfigError, match=r"\[training\] score = \"stress\": the ROM has no 'stress' basis"):
        run_greedy_training(store, 2, seed=0, pool=3, initial=1, n_increments=2,
                            offline={**OFFLINE, "dual_fields": ["p"]}, progress=None)


def test_romnet_train_greedy_command(cube, tmp_path, capsys):
    from romnet.app.cli import main
    store = _copy(cube, tmp_path)
    assert main(["train", str(store), "--samples", "2", "--seed", "0", "--increments", "2", "--strategy", "greedy",
                 "--pool", "3", "--initial", "1", "--score", "p"]) == 0
    out = capsys.readouterr().out
    assert "romnet train (greedy)" in out and "(max p indicator)" in out and "[2/2] train_" in out
    assert len(completed_runs(store)) == 2 and training_family(store)["n_samples"] == 3
    assert main(["train", str(store), "--samples", "2", "--strategy", "greedy", "--runs", "0:1"]) == 2
    assert "--runs" in capsys.readouterr().err


def test_greedy_same_on_one_and_two_ranks(cube, tmp_path):
    out = {}
    for n in (1, 2):
        store = _copy(cube, tmp_path, f"fam{n}.h5")
        run_mpi(MPI_SCRIPT, store, tmp_path / f"g{n}.json", 3, 5, 1, INCS, n=n)
        out[n] = json.loads((tmp_path / f"g{n}.json").read_text())
    assert out[1]["size"] == 1 and out[2]["size"] == 2
    assert [c["index"] for c in out[1]["choices"]] == [c["index"] for c in out[2]["choices"]]
    for a, b in zip(out[1]["scores"], out[2]["scores"]):
        assert a["candidates"] == b["candidates"]
        np.testing.assert_allclose(b["scores"], a["scores"], rtol=1e-8, atol=0)
    assert out[1]["modes"] == out[2]["modes"] and out[1]["n_points"] == out[2]["n_points"]


def test_romnet_run_train_step_greedy(tmp_path, capsys):
    """The step train of ``romnet run`` with ``strategy = "greedy"`` on the small blade (its
    SAMPLER; scoring ROMs with the case's [offline] settings), then the step offline on the
    chosen runs."""
    from romnet.app.cli import main
    toml = write_blade_case_dir(tmp_path, "greedy_blade", seed=1, samples=2) / "case.toml"
    text = toml.read_text()
    assert "increments = 3\n" in text
    toml.write_text(text.replace("increments = 3\n", 'increments = 3\nstrategy = "greedy"\npool = 3\ninitial = 1\n'))
    assert main(["run", str(tmp_path), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "romnet train (greedy)" in out and "[2/2] train_" in out and "greedy, score" in out
    assert "/rom: ROM of the" not in out                    # left to the step offline
    store = tmp_path / "out" / "case.h5"
    done = completed_runs(store)
    assert len(done) == 2 and done[0] == 0 and training_family(store)["n_samples"] == 3
    assert series_list(read_rom(store, modes=False)["series"]) == [f"train_{i:03d}" for i in done]
