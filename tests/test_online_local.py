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


#: enrichment tolerance of the new-local-ROM tests: the first run of sample (7, 0) enriches
#: its local ROM twice (indicator 0.50 and 0.13), a second run from the store needs none
NEW_TOL = 2e-2


def _sample(store, j=0):
    from romnet.sampling import HotSpotSampler, sample_parameters, temperature_field, with_temperature
    with CaseStore(store) as st:
        x = st.mesh().coordinates
    sampler = HotSpotSampler(dim=3)
    T = temperature_field(x, sample_parameters([7, j], sampler))
    return T, with_temperature(_stepped_problem(store), T, sampler.t_ref)


def test_unrepresented_sample_starts_a_new_local_rom(family, tmp_path):
    """Issue 17: a sample that its local ROM c does not represent (here: it needed
    enrichments of c) starts local ROM 2 = c with the sample's enrichments; c goes back to
    its offline state; the refitted classifier sends the sample to the new local ROM, where a
    second run needs no enrichment; one new version, rolled back like any other."""
    from romnet.offline.rom_store import read_modes, resolve_version, rom_path
    from romnet.offline.rom_versions import use_version
    path, _ = family
    store = tmp_path / "new.h5"
    shutil.copyfile(path, store)
    rom = load_rom(store)
    sizes = [m.n_modes for m in rom.models]
    T, pb = _sample(store)
    res = rom.run(pb, enrich=True, tol=NEW_TOL)
    c = res.cluster
    assert res.selection["how"] == "classifier" and res.version == 1 and len(res.enrichments) == 2
    assert res.model.n_modes > sizes[1 + c]
    made = rom.start_local_rom(pb, res, 0, dict(sample=0))
    assert made["cluster"] == 2 and made["version"] == 2 == resolve_version(store)
    assert made["classifier"]["routes_added"]
    again = load_rom(store)
    assert [m.label for m in again.local] == ["local 0 of 3", "local 1 of 3", "local 2 of 3"]
    assert [m.n_modes for m in again.models] == sizes + [res.model.n_modes]
    # the new local ROM holds c's enriched basis (version 1), c its offline one (version 0)
    new_U, c_U = read_modes(store, "U", at=rom_path(2, 2)), read_modes(store, "U", at=rom_path(2, c))
    np.testing.assert_array_equal(new_U, read_modes(store, "U", at=rom_path(2, c), version=1))
    np.testing.assert_array_equal(c_U, read_modes(store, "U", at=rom_path(2, c), version=0))
    np.testing.assert_array_equal(again.local[2].ip, res.model.ip)
    assert predict_cluster(store, T) == 2
    # the training runs keep their clusters (1-nearest neighbour on the runs and the sample)
    tr = read_training(store)
    labels = read_rom(store, modes=False)["clusters"]["2"]["labels"]
    assert [predict_cluster(store, tr["temperature"][i]) for i in range(N_RUNS)] == list(labels)
    second = again.run(pb, enrich=True, tol=NEW_TOL)
    assert second.cluster == 2 and second.selection["how"] == "classifier" and not second.enrichments
    assert "new_local_rom 2" in rom_summary(store)
    use_version(store, 1)                          # rolled back: two local ROMs, c enriched
    back = load_rom(store)
    assert len(back.local) == 2 and back.local[c].n_modes == res.model.n_modes
    assert back.selection(pb)[1]["cluster"] == c
    use_version(store, 2)
    # the next new local ROM extends the classifier's added samples (their own clusters kept)
    T1, pb1 = _sample(store, 3)
    rom = load_rom(store)
    r1 = rom.run(pb1, enrich=True, tol=NEW_TOL)
    made = rom.start_local_rom(pb1, r1, 2, dict(sample=3))
    cls = read_rom(store, modes=False)["clusters"]["2"]["classifier"]
    assert made["cluster"] == 3 and list(cls["added_labels"]) == [2, 3]
    assert predict_cluster(store, T) == 2 and predict_cluster(store, T1) == 3


def test_new_local_rom_same_on_1_and_2_ranks(family, tmp_path):
    """The run that enriches, the new local ROM and the second run from the store: the same
    local ROMs, sizes, points and coordinates on 1 and 2 ranks (1e-8 relative)."""
    from conftest import REPO, run_mpi
    path, _ = family
    out = {}
    for n in (1, 2):
        store = tmp_path / f"n{n}.h5"
        shutil.copyfile(path, store)
        run_mpi(REPO / "tests" / "mpi" / "new_local_rom.py", store, N_INC, NEW_TOL, tmp_path / f"n{n}.npz", n=n)
        out[n] = np.load(tmp_path / f"n{n}.npz")
    assert int(out[2]["size"]) == 2 and int(out[1]["new"]) == 2 and int(out[1]["cluster2"]) == 2
    for k in ("enr1", "enr2", "cluster1", "cluster2", "new", "version", "n_modes", "points"):
        assert out[1][k].tolist() == out[2][k].tolist(), k
    for k in ("coords1", "coords2", "U"):
        a, b = out[1][k], out[2][k]
        assert np.abs(a - b).max() <= 1e-8 * np.abs(a).max(), (k, np.abs(a - b).max() / np.abs(a).max())


def test_montecarlo_sample_whose_local_rom_fails_starts_one(family, tmp_path, monkeypatch):
    """A sample whose local ROM fails (forced: every local reduced increment raises) falls
    back to the global ROM and starts local ROM 2 = the global ROM as it served the sample;
    the classifier then chooses local ROM 2 for that field. With new_local_rom = false, or
    without learning, nothing is started."""
    from romnet.errors import ConvergenceError
    from romnet.online import solver as solver_mod
    from romnet.online.montecarlo import run_montecarlo
    from romnet.sampling import HotSpotSampler, sample_parameters, temperature_field
    path, _ = family
    real = solver_mod.ReducedSolver.step

    def step(self, state, t1, info=None, depth=0):
        if self.model.is_local and self.model.cluster < 2:
            raise ConvergenceError("forced failure of the local ROM")
        return real(self, state, t1, info, depth)
    monkeypatch.setattr(solver_mod.ReducedSolver, "step", step)
    on = dict(samples=1, seed=7, enrich=True, tolerance=NEW_TOL, cluster="classifier")
    for learning, started in ((dict(new_local_rom=False), False), (dict(learn=False), False), ({}, True)):
        store = tmp_path / f"mc{len(learning)}{started}.h5"
        shutil.copyfile(path, store)
        n_global = load_rom(store).model.n_modes
        mc = run_montecarlo(store, on, HotSpotSampler(dim=3), progress=None, learning=learning)
        rec = mc["samples"][0]
        assert rec["fallback"] and rec["final_rom"] == "global" and rec["rom"].startswith("local ")
        assert ("new_local_rom" in rec) == started and mc["summary"]["new_local_roms"] == ([2] if started else [])
        rom = load_rom(store)
        assert len(rom.local) == (3 if started else 2)
        if started:
            assert rom.local[2].n_modes == rom.model.n_modes >= n_global
            with CaseStore(store) as st:
                x = st.mesh().coordinates
            T = temperature_field(x, sample_parameters([7, 0], HotSpotSampler(dim=3)))
            assert predict_cluster(store, T) == 2
