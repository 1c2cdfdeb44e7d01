"""Calibration of the online error indicator on real runs (issue 6).

ROM: the MecaSequential cube trained on its own Z-set snapshots (POD 1e-6, ECM 1e-5).
Validation family: the same deck with the thermal load scaled, T = 20 + f (T_deck - 20),
HF references by romnet.hifi (10 increments each). The mapping is fitted on
f in CAL = (0.6, 0.9, 1.2, 1.5, 1.9) and checked on the held-out f in HELD = (0.8, 1.1, 1.4,
1.75, 2.1) (2.1 is outside the calibration range).

Tolerances (measured on this machine, 2026-11-24: held-out factor max(est/err, err/est) of
the U error median 1.20, max 2.13 over 50 increments; p error 90th percentile 1.43):

* U error estimated within a factor 3 at every held-out increment, median factor <= 1.5;
* p error estimated within a factor 2 at 90 % of the held-out increments (the others are
  nearly elastic increments, p error ~ 1e-6 .. 1e-13);
* the comparison can fail: the p indicator alone predicts the U error only within a
  factor ~60 on the same runs (measured), far above 3.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import cube_rom, zset_case
from romnet.case import Case
from romnet.app.cli import main
from romnet.hifi import SolverOptions, run_hifi
from romnet.online import load_rom
from romnet.offline.calibration_store import read_calibration
from romnet.online.calibration import (calibrate_rom, prediction_factors, relative_errors,
                                       validation_from_store)
from romnet.online.indicator import calibrate
from romnet.store import CaseStore, write_case

CAL = (0.6, 0.9, 1.2, 1.5, 1.9)
HELD = (0.8, 1.1, 1.4, 1.75, 2.1)


def scaled_family(folder, factors):
    """Validation stores (loading + HF series 'hifi') of the MecaSequential deck with the
    thermal load scaled by each factor; returns {factor: path}."""
    from adapters.zset import ADAPTER
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    T0 = np.asarray(case.problem.temperature.fields, dtype=float).copy()
    out = {}
    for f in factors:
        case.problem.temperature.fields = 20.0 + f * (T0 - 20.0)
        lp = write_case(folder / f"load_{f:g}.h5", Case(case.mesh, case.problem, {}, {"code": "test"}))
        out[f] = folder / f"val_{f:g}.h5"
        run_hifi(lp, out[f], options=SolverOptions(linear="scipy", verbose=False), progress=None)
    return out


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    d = tmp_path_factory.mktemp("calibration")
    _, rom = cube_rom(d)
    return rom, scaled_family(d, CAL + HELD)


def _held_out(rom_path, vals):
    """Per held-out increment: true errors, estimates and both indicators."""
    rom = load_rom(rom_path)
    out = {k: [] for k in ("eU", "ep", "estU", "estp", "eta_p", "eta_s")}
    for f in HELD:
        v = validation_from_store(vals[f])
        res = rom.run(v.loading, times=v.times)
        eU, ep = relative_errors(res.U(), v.U, res.reconstruct("p")[..., 0], v.p)
        for k, x in (("eU", eU), ("ep", ep), ("estU", res.estimated_error["U"][1:]),
                     ("estp", res.estimated_error["p"][1:]), ("eta_p", res.indicators["p"][1:]),
                     ("eta_s", res.indicators["stress"][1:])):
            out[k].append(np.asarray(x))
    return {k: np.concatenate(v) for k, v in out.items()}


def test_calibration_predicts_held_out_runs(family, tmp_path):
    src, vals = family
    store = tmp_path / "cube.h5"
    shutil.copyfile(src, store)
    cal = calibrate_rom(store, validation=[vals[f] for f in CAL], report=tmp_path / "cal", progress=print)
    # the U error follows the stress indicator, the p error the p indicator
    assert cal["fits"]["U"]["indicator"] == "stress" and cal["fits"]["U"]["r2"] > 0.9
    assert cal["fits"]["p"]["indicator"] == "p" and cal["fits"]["p"]["r2"] > 0.9
    assert cal["error_U"].size == 10 * len(CAL) and np.all(cal["error_U"] > 0)
    for k in ("txt", "json", "png"):
        assert (tmp_path / f"cal.{k}").stat().st_size > 0
    stored = read_calibration(store)
    assert stored["fits"]["U"]["slope"] == pytest.approx(cal["fits"]["U"]["slope"])
    assert len(stored["runs"]) == len(CAL) and stored["indicator_stress"].size == 10 * len(CAL)

    h = _held_out(store, vals)
    fU = prediction_factors(stored["fits"]["U"], h["eta_s"], h["eU"])
    fp = prediction_factors(stored["fits"]["p"], h["eta_p"], h["ep"])
    assert np.allclose(h["estU"], 10 ** stored["fits"]["U"]["intercept"] * h["eta_s"] ** stored["fits"]["U"]["slope"])
    print(f"\nheld-out factor U: median {np.nanmedian(fU):.2f}, max {np.nanmax(fU):.2f}; "
          f"p: 90% {np.nanpercentile(fp, 90):.2f}, max {np.nanmax(fp):.2f} ({fU.size} increments)")
    assert np.all(np.isfinite(fU)) and fU.max() <= 3.0 and np.median(fU) <= 1.5
    assert np.nanpercentile(fp, 90) <= 2.0
    # the check can fail: the p indicator does not predict the U error
    bad = calibrate(cal["indicators"]["p"], cal["error_U"])
    assert np.nanmax(prediction_factors(bad, h["eta_p"], h["eU"])) > 3.0


def test_cli_calibrate_and_online_estimate(family, tmp_path, capsys):
    src, vals = family
    store = tmp_path / "cube.h5"
    shutil.copyfile(src, store)
    assert main(["online", str(store)]) == 0
    assert "est. error" not in capsys.readouterr().out          # no calibration yet
    assert main(["calibrate", str(store), "--validation", str(vals[0.9]), str(vals[1.5]),
                 "--report", str(tmp_path / "rep")]) == 0
    txt = capsys.readouterr().out
    assert "calibration U: indicator stress" in txt and (tmp_path / "rep.png").exists()
    assert read_calibration(store) is not None
    assert main(["info", str(store)]) == 0
    txt = capsys.readouterr().out
    assert "calibration: 2 validation run(s)" in txt and "U error ~" in txt and "p error ~" in txt
    assert main(["online", str(store), "-o", str(tmp_path / "o.h5")]) == 0
    txt = capsys.readouterr().out
    assert "est. error U" in txt and "ROM global (global)" in txt
    with CaseStore(tmp_path / "o.h5") as st:
        g = st.f["results/online/rom"]
        assert g.attrs["rom"] == "global" and g["estimated_error_U"].shape == (11,)
    # the estimate criterion needs a calibration: refused on a store without one
    bare = tmp_path / "bare.h5"
    shutil.copyfile(src, bare)
    assert main(["online", str(bare), "--enrich", "--criterion", "estimate"]) == 2
    assert "romnet calibrate" in capsys.readouterr().err
    assert main(["info", str(bare)]) == 0
    assert "calibration: none" in capsys.readouterr().out
    # generated validation runs (default hot-spot sampler: the store has no /training),
    # saved as reusable stores; --dry-run stores nothing
    assert main(["calibrate", str(bare), "--samples", "1", "--save-runs", str(tmp_path / "runs"),
                 "--dry-run", "--report", str(tmp_path / "gen")]) == 0
    assert read_calibration(bare) is None
    v = validation_from_store(tmp_path / "runs" / "val_000.h5")
    assert v.U.shape == (11, 343, 3) and v.p.shape == (11, 1728) and v.p.max() > 0
    assert main(["calibrate", str(bare)]) == 2                  # no validation runs
