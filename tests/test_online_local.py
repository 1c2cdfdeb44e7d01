"""Online stage with local ROMs (``/rom/clusters``), and the offline stage on a training family.

A family of 6 HF runs of the MecaSequential cube with sampled hot spots (2 increments
each) is built inside the module fixture, clustered with k = 2 (global ROM + 2 local ROMs +
classifier, POD 1e-6, ECM 1e-5). Tolerances:

* a training loading: the classifier's local ROM is the run's own cluster, and its online
  U reproduces the run's HF U to 1e-3 relative (max over outputs of the L2 norm over the
  nodes); the global ROM (forced) reproduces it too (it holds all the snapshots);
* a new sampled loading: the local ROM chosen online is ``predict_cluster``'s answer;
* ``run_offline`` with ``series = "train_*"`` builds the same global ROM as the clustering
  (same snapshots, same column order): singular values to 1e-10 relative.
"""
from __future__ import annotations

import copy
import shutil

import numpy as np
import pytest

from conftest import zset_case
from romnet.errors import InputError
from romnet.offline.classifier import predict_cluster
from romnet.offline.local_bases import run_clustering
from romnet.offline.pipeline import run_offline
from romnet.offline.rom_store import read_rom, rom_summary, series_list
from romnet.offline.training import read_training, run_training
from romnet.online import load_rom
from romnet.problem import Temperature
from romnet.store import CaseStore, write_case

N_RUNS, N_INC, TOL_U = 6, 2, 1e-3
CFG = {"pod_tol": 1e-6, "ecm_tol": 1e-5}


@pytest.fixture(autouse=True)
def _one_blas_thread():
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    from adapters.zset import ADAPTER
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    case.results = {}
    path = write_case(tmp_path_factory.mktemp("local") / "fam.h5", case)
    run_training(path, n_samples=N_RUNS, seed=0, n_increments=N_INC, progress=None)
    rep = run_clustering(path, clusters=[2], max_clusters=2, config=CFG, progress=None)
    return path, rep


def _stepped_problem(path):
    """The store's problem with the training family's stepping (N_INC equal increments)."""
    with CaseStore(path) as st:
        pb = st.problem()
    t = np.asarray(pb.stepping.times, dtype=float)
    pb.stepping = copy.copy(pb.stepping)
    pb.stepping.times = np.linspace(t[0], t[-1], N_INC + 1)
    return pb


def _rel_error(U, Uref):
    return max(np.linalg.norm(U[i] - Uref[i]) / np.linalg.norm(Uref[i]) for i in range(1, len(U)))


def test_load_rom_exposes_local_roms(family):
    path, rep = family
    rom = load_rom(path)
    assert [m.cluster for m in rom.models] == [None, 0, 1] and len(rom.local) == 2
    assert rom.model.series == read_training(path)["series"] and rom.model.k is None
    labels = rep["table"]["labels"]["angle"][2]
    for c, m in enumerate(rom.local):
        assert m.k == 2 and m.series == [f"train_{i:03d}" for i in np.flatnonzero(labels == c)]
        assert m.n_modes == rep["local"][2][c]["modes"]["U"]
        assert m.modes().shape == (343 * 3, m.n_modes)  # the local basis, not the global one
    assert "local ROMs for k = [2]" in rom_summary(path) and f"{N_RUNS} series" in rom_summary(path)


def test_training_loading_picks_its_cluster_and_reproduces_hf(family):
    path, rep = family
    tr = read_training(path)
    labels = rep["table"]["labels"]["angle"][2]
    pred = np.asarray([predict_cluster(path, T) for T in tr["temperature"]])
    print(f"\nlabels {labels.tolist()}, classifier on the training inputs {pred.tolist()}")
    ok = np.flatnonzero(pred == labels)
    assert ok.size >= N_RUNS // 2
    rom = load_rom(path)
    pb = _stepped_problem(path)
    for i in ok[:2]:
        base = pb.temperature
        loading = {"stepping": pb.stepping,
                   "temperature": Temperature(tr["temperature_times"], tr["temperature_fields"][i],
                                              base.period if base is not None else None)}
        res = rom.run(loading)
        assert res.selection["how"] == "classifier" and res.cluster == labels[i] == res.selection["predicted"]
        assert res.model is rom.local[labels[i]] and res.selection["label"] == f"local {labels[i]} of 2"
        with CaseStore(path) as st:
            Uhf = st.read_field(tr["series"][i], "U")
            assert np.allclose(res.times, st.times(tr["series"][i]))
        e_loc = _rel_error(res.U(), Uhf)
        g = rom.run(loading, cluster="global")
        e_glob = _rel_error(g.U(), Uhf)
        print(f"run {i}: cluster {res.cluster}, local ROM {res.model.n_modes} modes U error {e_loc:.2e}; "
              f"global ROM {g.model.n_modes} modes {e_glob:.2e}")
        assert e_loc <= TOL_U and e_glob <= TOL_U
        assert g.cluster is None and g.selection["how"] == "forced" and g.model is rom.model
        other = 1 - int(labels[i])
        f = rom.run(loading, cluster=other)
        assert f.cluster == other and f.selection["how"] == "forced" and f.selection["predicted"] is None
    # the comparison can fail
    assert _rel_error(res.U() * 1.002, Uhf) > TOL_U


def test_new_loading_uses_predict_cluster(family):
    path, _ = family
    from romnet.sampling import HotSpotSampler, sample_parameters, temperature_field, with_temperature
    with CaseStore(path) as st:
        x = st.mesh().coordinates
    rom = load_rom(path)
    pb0 = _stepped_problem(path)
    sampler = HotSpotSampler(dim=3)
    seen = set()
    for j in range(3):
        T = temperature_field(x, sample_parameters([7, j], sampler))
        pb = with_temperature(pb0, T, sampler.t_ref)
        res = rom.run(pb)
        assert res.cluster == predict_cluster(path, T) == predict_cluster(path, pb.temperature.fields)
        assert res.selection["how"] == "classifier" and np.all(np.isfinite(res.coords))
        seen.add(res.cluster)
    print(f"\nnew loadings: clusters {sorted(seen)}")
    with pytest.raises(InputError, match="local ROMs"):
        rom.run(pb, cluster=5)
    # a local ROM can be enriched (issue 17: the ROM that ran learns); learn=False: the ROM
    # object goes back to the stored local ROM afterwards (the store is not written)
    n0 = rom.local[0].n_modes
    res = rom.run(pb, cluster=0, enrich=True, tol=1e-12, learn=False)
    assert res.enrichments and res.model.is_local and res.model.cluster == 0
    assert res.model.n_modes > n0 and rom.local[0].n_modes == n0 and res.version is None


def test_offline_on_several_series(family, tmp_path):
    """run_offline with series "train_*" (and an explicit list): one global ROM of all the
    runs; /rom series is a JSON list; the same ROM as run_clustering's global one."""
    path, rep = family
    glob_ref = read_rom(path, modes=False)
    p2 = tmp_path / "all.h5"
    shutil.copyfile(path, p2)
    r = run_offline(p2, {**CFG, "series": "train_*"}, progress=None)
    names = read_training(path)["series"]
    assert r["series"] == names and r["n_snapshots"] == N_RUNS * (N_INC + 1)
    rom = read_rom(p2, modes=False)
    assert rom["series"] == names and series_list(rom["series"]) == names
    assert rom["snapshot_times"].size == N_RUNS * (N_INC + 1) and "clusters" not in rom
    for n in ("U", "p"):
        a, b = rom["pod"][n]["singular_values"], glob_ref["pod"][n]["singular_values"]
        assert np.allclose(a, b, rtol=0, atol=1e-10 * b[0]), n
    assert rom["pod"]["U"]["n_modes"] == glob_ref["pod"]["U"]["n_modes"]
    m = load_rom(p2)
    assert m.model.series == names and not m.local and m.select() is m.model
    # an explicit list; a single name stays a plain string attribute
    r = run_offline(p2, {**CFG, "series": ["train_001", "train_004"]}, progress=None)
    assert read_rom(p2, modes=False)["series"] == ["train_001", "train_004"]
    assert r["n_snapshots"] == 2 * (N_INC + 1)
    run_offline(p2, {**CFG, "series": "train_002"}, progress=None)
    rom = read_rom(p2, modes=False)
    assert rom["series"] == "train_002" and load_rom(p2).model.series == ["train_002"]
    with pytest.raises(InputError, match="matches"):
        run_offline(p2, {**CFG, "series": "nothing_*"}, progress=None)
    with pytest.raises(InputError, match="no result series"):
        run_offline(p2, {**CFG, "series": ["train_001", "bogus"]}, progress=None)


def test_cli_cluster_option(family, capsys):
    """``romnet online --cluster K|global``: the progress and the last line say which ROM ran."""
    from romnet.app.cli import main
    path = str(family[0])
    assert main(["online", path, "--cluster", "global"]) == 0
    out = capsys.readouterr().out
    assert "online: global ROM (forced)" in out and "ROM global (forced)" in out
    assert main(["online", path, "--cluster", "1"]) == 0
    out = capsys.readouterr().out
    assert "online: local 1 of 2 ROM (forced)" in out and "ROM local 1 of 2 (forced)" in out
    assert main(["online", path]) == 0
    out = capsys.readouterr().out
    assert "(classifier, classifier: cluster" in out and "ROM local " in out
    assert main(["online", path, "--cluster", "7"]) == 2
    assert main(["online", path, "--cluster", "hot"]) == 2
    assert "--cluster" in capsys.readouterr().err


def test_local_rom_learning_persists(family, tmp_path):
    """Issue 17: the local ROM that ran learns and keeps it (a new ROM version holding that
    local ROM's extended basis); the other local ROM and the global ROM are untouched; the
    offline ROM stays version 0."""
    from romnet.offline.rom_store import resolve_version
    from romnet.sampling import HotSpotSampler, sample_parameters, temperature_field, with_temperature
    path, _ = family
    store = tmp_path / "learn.h5"
    shutil.copyfile(path, store)
    with CaseStore(store) as st:
        x = st.mesh().coordinates
    rom = load_rom(store)
    sizes = (rom.model.n_modes, rom.local[0].n_modes, rom.local[1].n_modes)
    sampler = HotSpotSampler(dim=3)
    pb = with_temperature(_stepped_problem(store), temperature_field(x, sample_parameters([7, 0], sampler)),
                          sampler.t_ref)
    res = rom.run(pb, cluster=0, enrich=True, tol=1e-12)
    assert res.enrichments and res.version == 1 and resolve_version(store) == 1
    again = load_rom(store)                                   # a later process loads the learned ROM
    assert again.local[0].n_modes == res.model.n_modes > sizes[1]
    assert (again.model.n_modes, again.local[1].n_modes) == (sizes[0], sizes[2])
    from romnet.offline.rom_versions import use_version
    use_version(store, 0)                                     # rolled back: the offline local ROM
    assert load_rom(store).local[0].n_modes == sizes[1]
