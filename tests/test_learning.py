"""A ROM that learns across queries (issue 17): every enrichment is kept as a new ROM version
of the store (romnet.offline.rom_versions), for the global and the local ROMs; a second run of
the same loading needs no enrichment; versions roll back; the same on 1 and 2 ranks.

Cube: the MecaSequential ROM (tests/conftest.py cube_rom) on hotter loadings (thermal strain
x1.75 and x1.5: outside the training family, the raw indicator exceeds its tolerance 2e-2)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import REPO, cube_rom, run_mpi
from romnet.case import Case
from romnet.errors import StoreError
from romnet.hifi import SolverOptions, run_hifi
from romnet.offline import rom_versions
from romnet.offline.rom_store import read_modes, read_rom, resolve_version, rom_base
from romnet.online import load_rom
from romnet.store import CaseStore, write_case

IND_TOL = 2e-2
HF = SolverOptions(linear="scipy", verbose=False)
MPI_LEARN = REPO / "tests" / "mpi" / "online_learn.py"
#: dual_only_below of the 1-vs-2-rank sequence's second run (between the U errors its HF increments measure)
DUAL_ONLY = 6e-4


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    d = tmp_path_factory.mktemp("learn")
    case, rom = cube_rom(d)
    shutil.copyfile(rom, d / "pristine.h5")
    loads = {}
    for f in (1.75, 1.5):
        pb = case.problem
        import copy
        pb = copy.deepcopy(pb)
        pb.temperature.fields = 20.0 + f * (np.asarray(case.problem.temperature.fields) - 20.0)
        loads[f] = write_case(d / f"hot{f}.h5", Case(case.mesh, pb, {}, {"code": "test"}))
    return d, loads


def _fresh(d, tmp_path):
    store = tmp_path / "cube.h5"
    shutil.copyfile(d / "pristine.h5", store)
    return store


def test_enrichment_persists_and_second_run_needs_none(cube, tmp_path):
    d, loads = cube
    store = _fresh(d, tmp_path)
    k0 = read_rom(store, modes=False)["pod"]["U"]["n_modes"]
    res = load_rom(store).run(loads[1.75], enrich=True, tol=IND_TOL, hf_options=HF)
    assert res.enrichments and res.version == 1 and resolve_version(store) == 1
    idx = json.loads((rom_versions.versions_dir(store) / "index.json").read_text())
    assert idx["current"] == 1 and idx["versions"][0]["parent"] == 0
    logged = idx["versions"][0]["log"]["enrichments"]
    assert [e["increment"] for e in logged] == [e["increment"] for e in res.enrichments]
    # the store's own /rom (version 0) is untouched; the learned version is what loads now
    assert read_rom(store, modes=False, version=0)["pod"]["U"]["n_modes"] == k0
    tree = read_rom(store, modes=False)
    assert tree["pod"]["U"]["n_modes"] == res.model.n_modes > k0
    assert tree["enrichment"]["count"] == len(res.enrichments)
    # greedy extension: the first k0 modes are the offline ones, only the new columns were written
    np.testing.assert_array_equal(read_modes(store, "U")[:, :k0], read_modes(store, "U", version=0))
    import h5py
    with h5py.File(rom_versions.version_file(store, 1), "r") as f:
        assert f["rom/pod/U/modes"].shape[0] == res.model.n_modes - k0 and f["rom/pod/U/modes"].attrs["first"] == k0
    # a second run of the same loading (a new process) needs no enrichment
    again = load_rom(store).run(loads[1.75], enrich=True, tol=IND_TOL, hf_options=HF)
    assert not again.enrichments and again.version is None
    # the same answer at the end of the run (the first run's earlier increments ran on smaller bases:
    # its law states at the points differ a little)
    assert np.abs(again.coords[-1] - res.coords[-1]).max() <= 1e-3 * np.abs(res.coords[-1]).max()


def test_versions_roll_back_and_forward(cube, tmp_path):
    d, loads = cube
    store = _fresh(d, tmp_path)
    k0 = load_rom(store).model.n_modes
    r1 = load_rom(store).run(loads[1.75], enrich=True, tol=IND_TOL, hf_options=HF)
    r2 = load_rom(store).run(loads[1.5], enrich=True, tol=IND_TOL / 4, hf_options=HF)
    assert (r1.version, r2.version) == (1, 2) and r2.model.n_modes >= r1.model.n_modes > k0
    rom_versions.use_version(store, 0, rom_base(store))
    assert load_rom(store).model.n_modes == k0
    rom_versions.use_version(store, 1, rom_base(store))
    assert load_rom(store).model.n_modes == r1.model.n_modes
    # learning from version 1 branches: version 3 has parent 1, version 2 stays selectable
    r3 = load_rom(store).run(loads[1.5], enrich=True, tol=IND_TOL / 4, hf_options=HF)
    idx = rom_versions.read_index(store, rom_base(store))
    assert r3.version == 3 and idx["versions"][-1]["parent"] == 1
    rom_versions.use_version(store, 2, rom_base(store))
    assert load_rom(store).model.n_modes == r2.model.n_modes
    with pytest.raises(StoreError, match="no learned ROM version 9"):
        rom_versions.use_version(store, 9, rom_base(store))
    # learn=False (--frozen): nothing written, the ROM object back to what it was
    rom = load_rom(store)
    n = rom.model.n_modes
    res = rom.run(loads[1.75], enrich=True, tol=1e-6, learn=False, hf_options=HF)
    assert res.enrichments and res.version is None and rom.model.n_modes == n and resolve_version(store) == 2


def test_offline_rewrite_makes_versions_stale(cube, tmp_path):
    d, loads = cube
    store = _fresh(d, tmp_path)
    load_rom(store).run(loads[1.75], enrich=True, tol=IND_TOL, hf_options=HF)
    assert resolve_version(store) == 1
    from romnet.offline.pipeline import run_offline
    tree = read_rom(store, modes=False, version=0)
    run_offline(store, config=json.loads(tree["settings"]) if isinstance(tree["settings"], str) else tree["settings"],
                progress=None)
    assert resolve_version(store) == 0          # the versions extend the old /rom: ignored
    assert "older /rom" in rom_versions.describe_versions(store, rom_base(store))
    res = load_rom(store).run(loads[1.75], enrich=True, tol=IND_TOL, hf_options=HF)
    assert res.version == 1 and resolve_version(store) == 1


def test_a_killed_version_write_leaves_the_previous_state(cube, tmp_path, monkeypatch):
    d, loads = cube
    store = _fresh(d, tmp_path)
    import romnet.offline.rom_store as rs
    real = rs._write_tree

    def boom(g, tree):
        real(g, tree)
        raise KeyboardInterrupt("killed while writing")
    monkeypatch.setattr(rs, "_write_tree", boom)
    with pytest.raises(KeyboardInterrupt):
        load_rom(store).run(loads[1.75], enrich=True, tol=IND_TOL, hf_options=HF)
    monkeypatch.setattr(rs, "_write_tree", real)
    vdir = rom_versions.versions_dir(store)
    assert resolve_version(store) == 0 and not list(vdir.glob("*.tmp")) and not list(vdir.glob("v*.h5"))


def test_learning_sequence_same_on_1_and_2_ranks(cube, tmp_path):
    """Two runs with enrichment, the second loading the first one's version from the store
    (and extending only the dual bases where the ROM's U error is below ``DUAL_ONLY``):
    same enriched increments, reduced points, coordinates and indicators on 1 and 2 ranks (1e-8
    relative: the HF increments are solved by MUMPS / scipy's direct solver on both)."""
    d, loads = cube
    out = {}
    for n in (1, 2):
        store = tmp_path / f"cube{n}.h5"
        shutil.copyfile(d / "pristine.h5", store)
        run_mpi(MPI_LEARN, store, loads[1.75], loads[1.5], IND_TOL / 4, tmp_path / f"l{n}.npz", DUAL_ONLY, n=n)
        out[n] = np.load(tmp_path / f"l{n}.npz")
    assert int(out[2]["size"]) == 2 and int(out[1]["v1"]) == 1
    # the second run mixes dual-only and full enrichments: the same ones on both
    assert 0 < out[1]["dual2"].sum() < out[1]["dual2"].size, (out[1]["dual2"], out[1]["err2"])
    for k in ("enr1", "enr2", "dual2", "points"):
        assert out[1][k].tolist() == out[2][k].tolist(), k
    assert int(out[1]["v2"]) == int(out[2]["v2"])
    for k in ("coords1", "coords2", "ind1", "ind2", "U"):
        a, b = out[1][k], out[2][k]
        assert np.abs(a - b).max() <= 1e-8 * np.abs(a).max(), (k, np.abs(a - b).max() / np.abs(a).max())


def test_bounded_growth_recompresses_over_the_budget(cube, tmp_path):
    """With a U budget one mode above the offline ROM's, the second mode an enrichment adds
    triggers a recompression (truncated POD of every snapshot the basis represents, at most
    the budget): the basis never exceeds it, the run stays accurate, and the version written
    after it holds a self-contained U block (``first = 0``)."""
    import h5py
    d, loads = cube
    store = _fresh(d, tmp_path)
    rom = load_rom(store)
    k0 = rom.model.n_modes
    rom.learning = dict(max_modes=k0 + 1)
    res = rom.run(loads[1.75], enrich=True, tol=IND_TOL / 4, hf_options=HF)
    logs = res.enrichments
    assert any("U" in e["recompressed"] for e in logs), [e["recompressed"] for e in logs]
    assert all(e["modes_after"] <= k0 + 1 for e in logs) and res.model.n_modes <= k0 + 1
    with h5py.File(rom_versions.version_file(store, res.version), "r") as f:
        assert f["rom/pod/U/modes"].attrs["first"] == 0 and f["rom/pod/U/modes"].shape[0] == res.model.n_modes
    # the recompressed ROM still reproduces the hot loading's HF run
    from romnet.hifi import run_hifi
    run_hifi(loads[1.75], tmp_path / "hot-hifi.h5", options=HF, progress=None)
    with CaseStore(tmp_path / "hot-hifi.h5") as st:
        Uref = st.read_field("hifi", "U")
    U = load_rom(store).run(loads[1.75]).U()
    err = max(np.linalg.norm(U[i] - Uref[i]) / np.linalg.norm(Uref[i]) for i in range(1, len(U)))
    print(f"\nbudget {k0 + 1} U modes: {len(logs)} enrichments, U error of the stored ROM {err:.2e}")
    assert err < 2e-2


def test_dual_only_enrichment_keeps_u_and_the_ecm_points(cube, tmp_path, capsys):
    """``dual_only_below`` above every U error the HF increments measure: each enrichment
    extends only the dual bases (p learns: the indicator is smaller after each of them),
    the U basis and the ECM points and weights stay the offline ROM's, and it costs no ECM;
    the log and ``romnet rom`` say so. With the default (0) the same loading extends U and
    updates the ECM."""
    d, loads = cube
    store = _fresh(d, tmp_path)
    rom = load_rom(store)
    m0 = rom.model
    k0, p0 = m0.n_modes, m0.dual["p"].shape[2]
    ecm0 = (m0.ip[m0.weights > 0].copy(), m0.weights[m0.weights > 0].copy())
    rom.learning = dict(dual_only_below=1.0)
    res = rom.run(loads[1.75], enrich=True, tol=IND_TOL, hf_options=HF)
    logs = res.enrichments
    assert logs and all(e["dual_only"] and e["added"]["U"] == 0 for e in logs), logs
    assert all(e["indicator_after"] < e["indicator_before"] for e in logs), \
        [(e["indicator_before"], e["indicator_after"]) for e in logs]
    m = res.model
    assert m.n_modes == k0 and m.dual["p"].shape[2] > p0
    np.testing.assert_array_equal(m.ip[m.weights > 0], ecm0[0])
    np.testing.assert_array_equal(m.weights[m.weights > 0], ecm0[1])
    assert all(e["ecm_seconds"] == 0.0 for e in logs)
    # the stored version carries the same (the U block of the version is empty)
    tree = read_rom(store, modes=False)
    assert tree["pod"]["U"]["n_modes"] == k0 and tree["pod"]["p"]["n_modes"] == m.dual["p"].shape[2]
    # `romnet rom` says which enrichments were dual-only; --use 0 goes back to the offline ROM
    from romnet.app.cli import main
    assert main(["rom", str(store)]) == 0
    listing = capsys.readouterr().out
    assert "v1 from v0" in listing and listing.count("(dual-only)") == min(3, len(logs)), listing
    assert main(["rom", str(store), "--use", "0"]) == 0 and resolve_version(store) == 0
    (tmp_path / "full").mkdir()
    res_full = load_rom(_fresh(d, tmp_path / "full")).run(loads[1.75], enrich=True, tol=IND_TOL, hf_options=HF)
    assert not any(e["dual_only"] for e in res_full.enrichments) and res_full.model.n_modes > k0


class _Comm1:
    def Get_size(self):
        return 1

    def allreduce(self, x):
        return x


class _Weighted:
    """Euclidean product with row weights (a stand-in for StrainL2: a direction of small
    amplitude can carry a large norm)."""
    kind = "nodal"

    def __init__(self, w):
        self.sw = np.sqrt(np.asarray(w, dtype=float))

    def row_blocks(self, X):
        yield self.sw[:, None] * np.asarray(X, dtype=float)


def test_extend_and_recompress_in_another_norm_keep_a_small_stiff_direction():
    """A direction 1e-4 of the snapshot in L2 but dominant in the measure (x 1e10 weight):
    extend_basis(measure=) adds it where the L2 test does not, and recompress_basis with
    the measure's Gram keeps it where the L2 recompression drops it; the kept modes stay
    orthonormal in L2 and R maps the old coordinates."""
    from romnet.offline.pod import Euclidean, extend_basis, gram, pod, recompress_basis
    rng = np.random.default_rng(1)
    n = 120
    w = np.ones(n)
    w[7] = 1e10                                           # row 7: "stiff"
    S = rng.normal(size=(n, 5)) @ np.diag([10, 6, 3, 2, 1])
    S[7] = 0.0
    b0 = pod(S, Euclidean(), _Comm1(), tol=None)
    s_new = S[:, :1] + 1e-4 * np.linalg.norm(S[:, 0]) * np.eye(n)[:, 7:8]
    _, added_l2 = extend_basis(b0, s_new, Euclidean(), _Comm1(), tol=1e-3)
    b1, added_m = extend_basis(b0, s_new, Euclidean(), _Comm1(), tol=1e-3, measure=_Weighted(w))
    assert added_l2 == 0 and added_m == 1 and b1.n_modes == 6
    # recompression: a pure stiff snapshot (1e-4 of the others in L2, dominant in the measure)
    b1, _ = extend_basis(b0, 1e-4 * np.linalg.norm(S[:, 0]) * np.eye(n)[:, 7:8], Euclidean(), _Comm1(), tol=1e-8)
    X = b1.modes @ b1.coef                                # the snapshots the basis represents
    Wh = np.sqrt(w)[:, None]

    def measure_error(modes):                             # best approximation of X in the measure
        A = Wh * modes
        return np.linalg.norm(Wh * X - A @ np.linalg.lstsq(A, Wh * X, rcond=None)[0]) / np.linalg.norm(Wh * X)
    b_l2, _ = recompress_basis(b1, None, 3)
    M = gram(_Weighted(w).row_blocks(b1.modes), None, _Comm1())
    b_m, R = recompress_basis(b1, None, 3, gram_measure=M)
    se = np.linalg.svd(Wh * X, compute_uv=False)
    # the measure's truncated POD: its error is the discarded singular values'; the L2
    # recompression leaves the stiff row out
    assert measure_error(b_m.modes) == pytest.approx(np.sqrt(np.sum(se[3:] ** 2) / np.sum(se ** 2)), rel=1e-8)
    assert measure_error(b_l2.modes) > 0.9 and measure_error(b_m.modes) < 0.1
    np.testing.assert_allclose(b_m.modes.T @ b_m.modes, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(b_m.modes, b1.modes @ R, atol=1e-14)
    # coefficients: the snapshots' L2 coordinates in the kept subspace (their principal directions)
    np.testing.assert_allclose(np.linalg.svd(b_m.modes.T @ X, compute_uv=False), np.diag(b_m.coef), rtol=1e-10)


def test_recompress_basis_is_the_pod_of_what_it_represents():
    """recompress_basis on an extended basis = the truncated POD of its snapshots (coefficients)."""
    from romnet.offline.pod import Euclidean, PODBasis, extend_basis, pod, recompress_basis

    class _Comm:
        def Get_size(self):
            return 1

        def allreduce(self, x):
            return x
    rng = np.random.default_rng(0)
    S = rng.normal(size=(200, 6)) @ np.diag([10, 5, 2, 1, 0.5, 0.1])
    b0 = pod(S[:, :3], Euclidean(), _Comm(), tol=None)
    b1, added = extend_basis(b0, S[:, 3:], Euclidean(), _Comm(), tol=1e-8)
    assert added == 3 and b1.n_modes == 6
    b2, R = recompress_basis(b1, None, 4)
    ref = pod(S, Euclidean(), _Comm(), tol=None)
    assert b2.n_modes == 4 and R.shape == (6, 4)
    np.testing.assert_allclose(b2.sigma, ref.sigma[:4], rtol=1e-10)
    # same subspace as the direct POD's first 4 modes
    P = b2.modes @ b2.modes.T
    assert np.abs(P @ ref.modes[:, :4] - ref.modes[:, :4]).max() < 1e-8
