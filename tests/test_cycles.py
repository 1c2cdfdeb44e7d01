"""Cycle extrapolation (romnet.app.cycles, issue 7): settings validation, periodic problem, and
the acceptance on the small blade: ROM trained on ONE cycle, run over ten, against an
independent HF run of ten cycles: p relative error <= 1e-2 at the last cycle.

Measured on the development machine (2 cores, shared): plain ROM (pod_tol 1e-6, ecm_tol
1e-5: 9 U modes, 8 p modes, 93 ECM + 21 QDEIM points) p_rel_err_last_cycle 2.24e-3, u
3.0e-2; HF ||p|| grows 22 % from cycle 1 to 10 (0.74 % in cycle 10); enriched run
(tolerance 1e-3): 1 HF increment (cycle 8), p 5.2e-4. About 75 s for the whole file.
See docs/online.md, "Cycle extrapolation".
"""
import copy
import json
import shutil

import numpy as np
import pytest
from conftest import REPO, make_small_case, run_mpi

from romnet.app.cycles import (
    DEFAULTS,
    check_settings,
    periodic_problem,
    run_cycle_extrapolation,
)
from romnet.errors import ConfigError, InputError

BLADE = REPO / "cases" / "blade"
MPI_SCRIPT = REPO / "tests" / "mpi" / "cycles_run.py"
#: plain ROM of the acceptance (the offline defaults)
ACCEPT = {"cycles": 10, "pod_tol": 1e-6, "ecm_tol": 1e-5}
BAR = 1e-2


# ---------------------------------------------------------------------------- settings
def test_defaults():
    cfg = check_settings(None)
    assert cfg == DEFAULTS and cfg["cycles"] == 10 and cfg["train_cycles"] == 1
    assert cfg["enrich"] is False and cfg["hf_reference"] is True


@pytest.mark.parametrize("settings, key", [
    ({"cycle": 10}, "cycle"),                 # unknown key (typo)
    ({"cycles": "10"}, "cycles"),             # string
    ({"cycles": 0}, "cycles"),
    ({"cycles": 2.5}, "cycles"),
    ({"cycles": True}, "cycles"),             # a bool is not an int here
    ({"enrich": "yes"}, "enrich"),
    ({"hf_reference": 1}, "hf_reference"),
    ({"pod_tol": -1e-6}, "pod_tol"),
    ({"ecm_tol": "1e-5"}, "ecm_tol"),
    ({"tolerance": 0}, "tolerance"),
    ({"ecm_max_points": 0}, "ecm_max_points"),
    ({"cycles": 3, "train_cycles": 4}, "train_cycles"),
])
def test_bad_settings(settings, key):
    with pytest.raises(ConfigError, match=rf"\[cycles\] {key}:"):
        check_settings(settings)


def test_run_refuses_bad_settings_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="unknown setting"):
        run_cycle_extrapolation(tmp_path / "missing.h5", tmp_path / "out", {"cycels": 3})
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------- problem
def test_periodic_problem():
    pb = make_small_case().problem
    with pytest.raises(InputError, match="time table 'rot'.*would jump"):
        periodic_problem(pb, 3)                       # rot: 0 -> 2 over the cycle
    pb.tables["rot"].values = [0.0, 0.0]
    pb.temperature.period = None
    pb.temperature.fields[-1] = pb.temperature.fields[0]
    out = periodic_problem(pb, 3)
    assert out.stepping.cycles == 3 and pb.stepping.cycles == 1   # a copy
    assert out.temperature.period == 1.0 and all(t.period == 1.0 for t in out.tables.values())
    assert np.allclose(out.temperature.at(2.25), out.temperature.at(0.25))
    assert np.allclose(out.temperature.at(2.0), out.temperature.at(1.0))
    bad = copy.deepcopy(pb)
    bad.tables["load"].period = 0.5
    with pytest.raises(InputError, match="period 0.5"):
        periodic_problem(bad, 2)
    bad = copy.deepcopy(pb)
    bad.temperature.fields[-1] = bad.temperature.fields[0] + 1.0
    with pytest.raises(InputError, match="temperature"):
        periodic_problem(bad, 2)


# ---------------------------------------------------------------------------- blade
def _blade_problem_module():
    from romnet.app.workflow.context import load_script
    return load_script(BLADE / "problem.py")


@pytest.fixture(scope="module")
def blade(tmp_path_factory):
    from romnet.store import write_case
    path = tmp_path_factory.mktemp("blade") / "blade.h5"
    write_case(path, _blade_problem_module().build_case("small", 0))
    return path


@pytest.fixture(scope="module")
def accepted(blade, tmp_path_factory):
    out = tmp_path_factory.mktemp("cycles")
    res = run_cycle_extrapolation(blade, out, dict(ACCEPT))
    return out, res


def test_blade_cycle_extrapolation_acceptance(accepted):
    """Issue 7 acceptance (plain ROM trained on cycle 1): p within 1e-2 at cycle 10."""
    out, r = accepted
    print(f"\np_rel_err_cycle {np.array2string(np.array(r['p_rel_err_cycle']), precision=2)}"
          f"\nu_rel_err_cycle {np.array2string(np.array(r['u_rel_err_cycle']), precision=2)}"
          f"\np_max_hf_cycle {np.array2string(np.array(r['p_max_hf_cycle']), precision=4)}"
          f"\ntimes {r['times']} speedup {r['speedup']:.1f}")
    assert r["cycles"] == 10 and r["train_cycles"] == 1 and r["n_increments"] == 16
    assert r["n_outputs"] == 161 and len(r["p_rel_err"]) == 161
    for k in ("u_rel_err_cycle", "p_rel_err_cycle", "p_max_hf_cycle", "p_norm_hf_cycle",
              "p_gappy_hf_rel_err_cycle", "p_points_rel_err_cycle"):
        assert len(r[k]) == 10, k
    assert r["enrichments"] == 0
    # the test is not trivial: p keeps growing in every cycle, and "cycle 1 repeated" is far off
    pn = np.array(r["p_norm_hf_cycle"])
    assert np.all(np.diff(pn) > 0)
    assert pn[-1] / pn[-2] - 1 > 1e-3                 # measured 7.4e-3 in cycle 10
    assert r["p_change_first_to_last"] > 10 * BAR     # measured 0.19
    # the acceptance
    assert r["p_rel_err_last_cycle"] <= BAR, r["p_rel_err_last_cycle"]   # measured 2.24e-3
    assert r["p_rel_err_last_cycle"] == max(r["p_rel_err"][-16:])
    # U: the worst output of a cycle is its end (unloaded: residual displacement, ||U|| ~1.5 %
    # of the peak); measured 3.0e-2
    assert r["u_rel_err_last_cycle"] <= 1e-1
    assert r["speedup"] > 1
    saved = json.loads((out / "cycles.json").read_text())
    assert saved["p_rel_err_last_cycle"] == r["p_rel_err_last_cycle"]


def test_blade_enrichment_reuses_hf_runs(accepted, blade):
    """Enriched online run in the same folder: both HF runs are reused (same problem), the
    enrichment increments are counted, the reference stays the independent HF run."""
    out, _ = accepted
    r = run_cycle_extrapolation(blade, out, dict(cycles=10, enrich=True, tolerance=1e-3))
    assert r["hf_train_reused"] and r["hf_reference_reused"]
    assert r["enrichments"] >= 1 and len(r["enrichment_log"]) == r["enrichments"]   # measured 1 (t = 860 s)
    assert all(e["indicator_before"] > 1e-3 for e in r["enrichment_log"])
    assert r["p_rel_err_last_cycle"] <= BAR           # measured 5.2e-4
    assert r["p_points_rel_err_cycle"] is None        # points changed by the enrichment


def test_blade_without_reference(accepted, blade):
    """hf_reference = false: the ROM only (training run reused), no error figures."""
    out, _ = accepted
    r = run_cycle_extrapolation(blade, out, {"cycles": 3, "hf_reference": False})
    assert r["hf_train_reused"] and r["reference_store"] is None
    assert r["p_rel_err_last_cycle"] is None and r["speedup"] is None and r["times"]["hf_reference_s"] is None
    assert r["n_outputs"] == 49 and len(r["p_max_rom_cycle"]) == 3
    assert r["p_max_rom_cycle"][2] > r["p_max_rom_cycle"][0] > 0


def test_blade_two_ranks(accepted, blade, tmp_path):
    """mpirun -n 2 (HF training run, offline, online, distributed error norms; the HF
    reference reused) gives the figures of one rank: the same ECM points (needs the ECM
    with the self-equilibrated-snapshot floor, romnet/offline/ecm.py ZERO_TOL: before it the
    greedy stalled unconverged and 1 vs 2 ranks ended with 55 vs 52 points, p 9.7e-3 vs
    1.6e-2), errors within 1e-6 relative (measured 6e-8: the 2-rank HF training run differs
    by ~1e-10). Also: the 2-rank figures equal a 1-rank recomputation from the ROM the
    2-rank run wrote (distributed error norms)."""
    from romnet.app.cycles import cycle_errors
    from romnet.online import load_rom
    from romnet.store import CaseStore
    out, one = accepted
    two_dir = tmp_path / "two"
    two_dir.mkdir()
    for name in ("reference.h5", "reference.json"):
        shutil.copy(out / name, two_dir / name)
    run_mpi(MPI_SCRIPT, blade, two_dir, json.dumps(ACCEPT), n=2, timeout=900)
    two = json.loads((two_dir / "cycles.json").read_text())
    assert two["hf_reference_reused"] and not two["hf_train_reused"]
    assert two["p_rel_err_last_cycle"] <= BAR, two["p_rel_err_last_cycle"]
    for k in ("p_max_hf_cycle", "p_norm_hf_cycle"):
        np.testing.assert_allclose(two[k], one[k], rtol=1e-12, err_msg=k)
    with CaseStore(blade) as st:
        problem = periodic_problem(st.problem(), 10)
    res = load_rom(two_dir / "train.h5").run(loading=problem)
    serial = cycle_errors(res, two_dir / "reference.h5", 16)
    keys = ("p_rel_err", "u_rel_err", "p_points_rel_err_cycle", "p_gappy_hf_rel_err_cycle", "p_max_rom_cycle")
    for k in keys:
        np.testing.assert_allclose(two[k], serial[k], rtol=1e-6, atol=1e-12, err_msg=k)
    # the same as one rank
    assert two["rom"]["n_ecm_points"] == one["rom"]["n_ecm_points"]
    assert two["rom"]["n_points"] == one["rom"]["n_points"]
    for k in keys:
        np.testing.assert_allclose(two[k], one[k], rtol=1e-6, atol=1e-12, err_msg=k)
