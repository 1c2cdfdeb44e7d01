"""Adaptive enrichment on a loading outside the training set (MecaSequential, thermal
strain x1.75: temperature fields 20 + 1.75 (T - 20)); HF reference by romnet.hifi.

Errors: displacement, max over outputs of the L2 norm over the nodes relative to the HF run
on the hot loading. The non-enriched ROM's error (measured 5.0e-2) must exceed 5 x the
tolerance in both tests.

* raw indicator criterion (as in Casenave et al. 2019): indicator tolerance 2e-2, U error
  tolerance 5e-3 (measured: 2.0e-3 with 6 HF increments of 10);
* calibrated criterion (issue 6): the ROM's indicator is calibrated on HF validation runs of
  the thermal factors of tests/test_calibration.py ``CAL`` (0.6 .. 1.9, not 1.75), and the run
  enriches when the *estimated U error* exceeds 1e-3. Tolerance: U error <= 1e-3 with fewer
  HF increments than increments (measured: 5.0e-4 with 8 HF increments of 10; the raw
  indicator at tol 1e-3 enriches at all 10), and after every enrichment the redone reduced
  increment within 1e-3 of the HF increment (measured <= 7e-5).

ECM of an enrichment (the offline ECM, :func:`romnet.offline.ecm.ecm`, with the incremental-QR
NNLS ``nnls_solver="qr"``, :class:`romnet.offline.nnls.WarmNNLS`): the warm-started NNLS gives the same solution
as ``scipy.optimize.nnls``, and the ECM update the same points as the offline ECM on a real
enrichment integrand (weights to 1e-9 relative); 1 vs 2 ranks: same points.
"""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
from scipy.optimize import nnls

import romnet.online.enrichment as enrichment_module
from conftest import REPO, cube_rom, run_mpi
from romnet.case import Case
from romnet.hifi import SolverOptions, run_hifi
from romnet.offline.ecm import ecm
from romnet.offline.ecm_integrand import FactoredIntegrand
from romnet.offline.nnls import WarmNNLS
from romnet.offline.pod import StrainL2
from romnet.offline.rom_store import read_rom
from romnet.online import load_rom
from romnet.online.calibration import calibrate_rom
from romnet.store import CaseStore, write_case
from test_calibration import CAL, scaled_family

U_TOL, IND_TOL = 5e-3, 2e-2
MPI_ENRICH = REPO / "tests" / "mpi" / "online_enrich.py"
U_TOL_CAL = 1e-3
HF = SolverOptions(linear="scipy", verbose=False)


def u_error(U, Uref):
    return max(np.linalg.norm(U[i] - Uref[i]) / np.linalg.norm(Uref[i]) for i in range(1, len(U)))


@pytest.fixture(scope="module")
def hot(tmp_path_factory):
    d = tmp_path_factory.mktemp("enrich")
    case, rom = cube_rom(d)
    shutil.copyfile(rom, d / "cube-pristine.h5")
    pb = case.problem
    pb.temperature.fields = 20.0 + 1.75 * (np.asarray(pb.temperature.fields) - 20.0)
    loading = write_case(d / "hot.h5", Case(case.mesh, pb, {}, {"code": "test"}))
    run_hifi(loading, d / "hot-hifi.h5", options=HF, progress=None)
    with CaseStore(d / "hot-hifi.h5") as st:
        Uref = st.read_field("hifi", "U")
    return rom, loading, Uref, d


def test_enrichment_reaches_tolerance(hot, monkeypatch):
    rom_path, loading, Uref, d = hot
    plain = load_rom(rom_path).run(loading)
    e0 = u_error(plain.U(), Uref)
    assert e0 > 5 * U_TOL, e0
    assert plain.indicator.max() > IND_TOL
    captured = []
    real = enrichment_module.ecm

    def spy(G, dV, comm, **kw):
        r = real(G, dV, comm, **kw)
        if not captured:                 # the enrichment's integrand is not formed: form it
            assert isinstance(G, FactoredIntegrand)
            dense = G.rows(np.arange(G.shape[0]))
            captured.append((dense, np.array(dV), kw))
            # the formed integrand gives the same cubature (its own normalisation pass)
            f = real(dense, dV, comm, **{k: v for k, v in kw.items() if k != "norm"})
            assert np.array_equal(f.points, r.points)
            assert np.allclose(f.weights, r.weights, rtol=1e-9, atol=1e-9 * r.weights.max())
            assert f.error == pytest.approx(r.error, rel=1e-8)
        return r
    monkeypatch.setattr(enrichment_module, "ecm", spy)
    t0 = time.perf_counter()
    res = load_rom(rom_path).run(loading, enrich=True, tol=IND_TOL, progress=print, hf_options=HF)
    wall = time.perf_counter() - t0
    e1 = u_error(res.U(), Uref)
    n_inc = len(res.times) - 1
    print(f"\nnon-enriched U error {e0:.2e}; enriched {e1:.2e} with {res.hf_increments} HF increments "
          f"of {n_inc} in {wall:.1f} s (ECM {sum(r['ecm_seconds'] for r in res.enrichments):.1f} s); log: "
          f"{[(r['increment'], r['modes_after'], r['points_after']) for r in res.enrichments]}")
    assert res.enrichments and 0 < res.hf_increments < n_inc
    assert e1 <= U_TOL
    for r in res.enrichments:
        assert r["indicator_after"] < IND_TOL and r["modes_after"] > r["modes_before"]
        assert r["ecm_converged"]
    # the enriched ROM was stored: the next run starts improved
    rom = read_rom(rom_path, modes=False)
    assert rom["enrichment"]["count"] == len(res.enrichments)
    assert rom["pod"]["U"]["n_modes"] == res.model.n_modes
    again = load_rom(rom_path).run(loading)
    assert u_error(again.U(), Uref) < e0 / 5
    np.savez(d / "ecm_case.npz", G=captured[0][0], dV=captured[0][1], groups=captured[0][2]["groups"],
             warm=captured[0][2]["warm_start"], tol=captured[0][2]["tol"])


def test_hf_increment_starts_from_the_rom(hot, tmp_path):
    """``[learning] hf_start``: the enrichment's HF Newton from the ROM's own solution at
    t_n+1 ("rom", default) or from U_n ("previous") converges to the same HF increment: the
    same enrichments, both enriched runs within U_TOL of the HF reference and within
    U_TOL / 5 of each other (measured 1.7e-4: the HF increments agree to the HF Newton
    tolerance), and fewer HF iterations from the ROM's solution (measured 2 per enrichment
    instead of 3-4)."""
    runs = {}
    for start in ("previous", "rom"):
        path = tmp_path / f"{start}.h5"
        shutil.copyfile(hot[3] / "cube-pristine.h5", path)
        rom = load_rom(path)
        rom.learning = {"hf_start": start, "learn": False}
        runs[start] = rom.run(hot[1], enrich=True, tol=IND_TOL, hf_options=HF)
    a, b = runs["previous"], runs["rom"]
    its = {k: [e["hf_iterations"] for e in r.enrichments] for k, r in runs.items()}
    print(f"\nHF iterations per enrichment: from U_n {its['previous']}, from the ROM {its['rom']}")
    assert [e["increment"] for e in a.enrichments] == [e["increment"] for e in b.enrichments]
    assert sum(its["rom"]) < sum(its["previous"])
    assert u_error(a.U(), hot[2]) <= U_TOL and u_error(b.U(), hot[2]) <= U_TOL
    assert u_error(b.U(), a.U()) <= U_TOL / 5


def test_enrichment_same_on_1_and_2_ranks(hot, tmp_path):
    """Enrichment under mpirun -n 2 (HF increment on the partitioned mesh, its fields
    redistributed to the offline layout by all-to-all, POD updates, ECM update) gives the
    run of one rank: same enriched increments and reduced points, coordinates, U and
    indicator to 1e-10 relative (the issue's bar; HF increments solved by MUMPS on both;
    measured: coordinates 1.4e-14, U 1.9e-14, indicator 5.2e-13), and the enriched run meets
    the tolerance."""
    _, loading, Uref, d = hot
    out = {}
    for n in (1, 2):
        run_mpi(MPI_ENRICH, d / "cube-pristine.h5", loading, IND_TOL, tmp_path / f"e{n}.npz", n=n)
        out[n] = np.load(tmp_path / f"e{n}.npz")
    assert int(out[2]["size"]) == 2
    assert out[1]["enriched"].size > 0
    assert out[1]["enriched"].tolist() == out[2]["enriched"].tolist()
    assert out[1]["points"].tolist() == out[2]["points"].tolist()
    for k in ("coords", "U", "indicator"):
        a, b = out[1][k], out[2][k]
        assert np.abs(a - b).max() <= 1e-10 * np.abs(a).max(), (k, np.abs(a - b).max() / np.abs(a).max())
    assert u_error(out[2]["U"], Uref) <= U_TOL
    assert np.all(out[2]["redo_vs_hf"] <= 1e-3)
    # the full-quadrature ROM (a diagnostic): same operators and run on 1 and 2 ranks
    for k in ("full_weights", "full_strain_modes", "full_coords"):
        a, b = out[1][k], out[2][k]
        assert a.shape == b.shape and np.abs(a - b).max() <= 1e-10 * np.abs(a).max(), k


def test_full_quadrature_model(hot):
    """``Enricher.full_quadrature``: the ROM's bases with every integration point of the mesh
    at its weight dV. Its operators at the ECM points are the ROM's; its weights sum to the
    volume the ECM integrates (the ECM's volume column, to its tolerance 1e-5); its Galerkin
    run on the training loading is the ECM ROM's to 1e-4 (measured 3.3e-6). On the hot
    loading (outside the training set) its strain-norm error, max over outputs, is within
    1.5x of the best approximation of the HF solution by the basis in that norm (measured
    0.190 vs 0.164; the ECM ROM 0.180): the Galerkin ROM is near-optimal in the strain norm,
    its error there is the basis' (in L2 the two ROMs differ more: 8.0e-2 and 5.0e-2)."""
    rom_path, loading, Uref, d = hot
    rom = load_rom(d / "cube-pristine.h5")
    model = rom.models[0]
    full = rom.enricher().full_quadrature(model)
    n_ip = model.n_ip_total
    assert full.n_points == n_ip and np.array_equal(full.ip, np.arange(n_ip))
    assert full.n_modes == model.n_modes and set(full.dual) == set(model.dual)
    S = model.strain_modes
    assert np.abs(full.strain_modes[model.ip] - S).max() <= 1e-12 * np.abs(S).max()
    assert np.all(full.weights > 0)
    ecm = model.weights > 0
    assert full.weights.sum() == pytest.approx(model.weights[ecm].sum(), rel=1e-5)
    with CaseStore(rom_path) as st:
        own = st.problem()
    errs = {}
    for name, m in (("ecm", model), ("full", full)):
        rom.models[0] = m
        errs[name] = (rom.run(own).U(), rom.run(loading).U())
    d_train = u_error(errs["full"][0], errs["ecm"][0])
    e_ecm, e_full = u_error(errs["ecm"][1], Uref), u_error(errs["full"][1], Uref)
    print(f"\nfull quadrature vs ECM on the training loading {d_train:.1e}; hot loading: ECM ROM "
          f"{e_ecm:.2e}, full-quadrature ROM {e_full:.2e}")
    assert d_train <= 1e-4
    u_only = rom.enricher().full_quadrature(model, dual=False)     # without the dual operators: same U
    assert not u_only.dual and np.array_equal(u_only.weights, full.weights)
    rom.models[0] = u_only
    assert u_error(rom.run(own).U(), errs["full"][0]) <= 1e-12
    # in the strain norm the Galerkin ROM is near its basis' best approximation
    meas = StrainL2(rom.enricher().layout)
    n_t = Uref.shape[0]

    def strain(X):
        return np.concatenate(list(meas.row_blocks(X)), axis=0)
    S_phi = strain(model.modes())
    S_h = strain(np.asarray(Uref)[:, :, :model.dim].reshape(n_t, -1).T)
    best = S_phi @ np.linalg.solve(S_phi.T @ S_phi, S_phi.T @ S_h)
    den = np.linalg.norm(S_h, axis=0)[1:]
    e_best = np.linalg.norm(best - S_h, axis=0)[1:] / den
    e_gal = {k: np.linalg.norm(strain(v[1].reshape(n_t, -1).T) - S_h, axis=0)[1:] / den for k, v in errs.items()}
    print(f"strain norm, max over outputs: best {e_best.max():.2e}, full-quadrature ROM {e_gal['full'].max():.2e}, "
          f"ECM ROM {e_gal['ecm'].max():.2e}")
    assert e_gal["full"].max() <= 1.5 * e_best.max()


def test_calibrated_enrichment_reaches_1e3(hot, tmp_path):
    rom_src, loading, Uref, d = hot
    store = tmp_path / "cube.h5"
    shutil.copyfile(d / "cube-pristine.h5", store)
    vals = scaled_family(tmp_path, CAL)
    cal = calibrate_rom(store, validation=list(vals.values()), progress=None)
    assert cal["fits"]["U"]["indicator"] == "stress"
    plain = load_rom(store).run(loading)
    e0 = u_error(plain.U(), Uref)
    assert e0 > 5 * U_TOL_CAL
    res = load_rom(store).run(loading, enrich=True, tol=U_TOL_CAL, criterion="estimate", progress=print,
                              hf_options=HF)
    U = res.U()
    per = [np.linalg.norm(U[i] - Uref[i]) / np.linalg.norm(Uref[i]) for i in range(1, len(U))]
    n_inc = len(res.times) - 1
    print(f"\nestimate criterion, tol {U_TOL_CAL:g}: U error {max(per):.2e} with {res.hf_increments} HF "
          f"increments of {n_inc} (enriched at {[r['increment'] for r in res.enrichments]}); per increment "
          + " ".join(f"{x:.1e}" for x in per) + "; estimated " + " ".join(
              f"{x:.1e}" for x in res.estimated_error["U"][1:]) + "; redone vs HF "
          + " ".join(f"{r['redo_vs_hf']:.1e}" for r in res.enrichments))
    assert max(per) <= U_TOL_CAL
    assert 0 < res.hf_increments < n_inc
    for r in res.enrichments:
        assert r["criterion"] == "estimate" and r["estimate_before"] > U_TOL_CAL
        assert r["redo_vs_hf"] <= 1e-3
    # increments that were not enriched were estimated below the tolerance
    enriched = {r["increment"] for r in res.enrichments}
    for j in range(1, n_inc + 1):
        if j not in enriched:
            assert res.estimated_error["U"][j] <= U_TOL_CAL
    # the calibration survives the rewrite of /rom by the enrichment
    rom = read_rom(store, modes=False)
    assert rom["enrichment"]["count"] == res.hf_increments
    assert rom["calibration"]["fits"]["U"]["slope"] == pytest.approx(cal["fits"]["U"]["slope"])


def test_warm_nnls_matches_scipy():
    """Each add() gives scipy's NNLS solution on (previous positive columns + the new one)."""
    rng = np.random.default_rng(3)
    for trial in range(4):
        m = 40
        b = rng.normal(size=m) if trial % 2 else np.abs(rng.normal(size=m))
        s = WarmNNLS(b, refresh=7)
        cols = {}
        for step in range(45):
            c = rng.normal(size=m) + (0.5 if trial > 1 else 0.0)
            cols[step] = c
            prev = list(s.ids)
            s.add([step], c[:, None])
            ids = prev + [step]
            w_ref, _ = nnls(np.column_stack([cols[i] for i in ids]), b)
            w = np.zeros(len(ids))
            w[[ids.index(i) for i in s.ids]] = s.w
            assert np.allclose(w, w_ref, rtol=1e-8, atol=1e-9 * max(np.abs(w_ref).max(), 1e-300)), (trial, step)
            assert np.all(s.w > 0) and s.C.shape == (m, len(s.ids))
        assert s.calls == 45


def test_ecm_update_same_points_as_offline_ecm(hot, tmp_path):
    _, _, _, d = hot
    case = d / "ecm_case.npz"
    if not case.exists():
        pytest.skip("needs test_enrichment_reaches_tolerance (captures a real enrichment integrand)")
    z = np.load(case)
    kw = dict(tol=float(z["tol"]), groups=z["groups"], warm_start=z["warm"])
    t0 = time.perf_counter()
    a = ecm(z["G"], z["dV"], **kw)
    t1 = time.perf_counter()
    b = ecm(z["G"], z["dV"], nnls_solver="qr", **kw)
    t2 = time.perf_counter()
    print(f"\nECM on an enrichment integrand {z['G'].shape}: offline {a.points.size} points in {t1 - t0:.2f} s, "
          f"update {b.points.size} points in {t2 - t1:.2f} s, NNLS fallbacks {b.nnls_fallbacks}")
    assert np.array_equal(a.points, b.points)
    assert np.allclose(a.weights, b.weights, rtol=1e-9, atol=1e-9 * a.weights.max())
    assert b.error <= kw["tol"] and b.converged
    # the error is what it says: recomputed from the points and weights
    G, dV, g = z["G"], z["dV"], z["groups"]
    exact = G.T @ dV
    red = G[b.points].T @ b.weights
    A = np.sqrt(np.bincount(g, weights=(np.abs(G).T @ dV) ** 2))
    B = np.sqrt(np.bincount(g, weights=exact ** 2))
    err = np.sqrt(np.bincount(g, weights=(red - exact) ** 2)) / np.maximum(B, 1e-3 * A)
    assert err.max() == pytest.approx(b.error, rel=1e-6)
    # 1 vs 2 ranks
    out = {}
    for n in (1, 2):
        run_mpi(REPO / "tests" / "mpi" / "online_ecm.py", case, tmp_path / f"e{n}.npz", n=n)
        out[n] = np.load(tmp_path / f"e{n}.npz")
    assert int(out[2]["size"]) == 2
    assert np.array_equal(out[1]["points"], out[2]["points"]) and np.array_equal(out[1]["points"], b.points)
    assert np.abs(out[1]["weights"] - out[2]["weights"]).max() <= 1e-10 * b.weights.max()
