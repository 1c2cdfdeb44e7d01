"""The library Monte Carlo (romnet.online.montecarlo): the ROM the classifier chose runs
with enrichment itself (a local ROM learns like the global one, issue 17); only a local ROM
whose reduced Newton fails falls back to the global ROM; the settings default from the
[online] schema; the loaded outputs of a problem and the held-out summary."""
import numpy as np
import pytest

from romnet.errors import ConvergenceError
from romnet.online.montecarlo import holdout_summary, loaded_outputs, reliability, run_sample


class _Run:
    def __init__(self, label):
        self.selection = {"label": label, "cluster": None, "predicted": None}


class _Model:
    is_local = True


class _Rom:
    """A local ROM; ``fail``: its reduced Newton fails."""

    def __init__(self, fail=False):
        self.calls, self.fail = [], fail

    def selection(self, pb, cluster):
        return _Model(), None

    def run(self, pb, cluster=None, enrich=False, criterion=None, **kw):
        self.calls.append((cluster, enrich, criterion))
        if self.fail and cluster != "global":
            raise ConvergenceError("reduced increment did not converge")
        return _Run("global" if cluster == "global" else "local 0 of 2")


class _Comm:
    def Barrier(self):
        pass


@pytest.mark.parametrize("criterion", ["indicator", "estimate"])
def test_the_chosen_rom_is_enriched(criterion):
    rom = _Rom()
    on = dict(cluster="classifier", enrich=True, tolerance=1e-2, criterion=criterion)
    res, first, _, fallback, failure = run_sample(rom, None, on, None, _Comm())
    assert failure is None and not fallback and first is None
    assert rom.calls == [(None, True, criterion)] and res.selection["label"] == "local 0 of 2"


def test_failed_local_rom_falls_back_to_global():
    rom = _Rom(fail=True)
    on = dict(cluster="classifier", enrich=True, tolerance=1e-2, criterion="indicator")
    res, _, _, fallback, failure = run_sample(rom, None, on, None, _Comm())
    assert failure is None and fallback and res.selection["label"] == "global"
    assert rom.calls == [(None, True, "indicator"), ("global", True, "indicator")]
    # held-out runs never enrich; without enrichment a failure is recorded, not retried
    rom = _Rom()
    run_sample(rom, None, on, None, _Comm(), enrich=False)
    assert rom.calls == [(None, False, "indicator")]
    rom = _Rom(fail=True)
    res, _, _, fallback, failure = run_sample(rom, None, on, None, _Comm(), enrich=False)
    assert res is None and not fallback and failure and rom.calls == [(None, False, "indicator")]


def test_loaded_outputs_of_the_blade_cycle():
    """Mechanical loads and temperature follow the cycle 0 -> 10 -> 110 -> 120 s: the end
    (t = 120 s, everything back to zero) is the only unloaded output after the start."""
    import sys
    from conftest import REPO
    sys.path.insert(0, str(REPO / "cases" / "blade"))
    import geometry
    import problem as blade
    pb, _, _ = blade.build_problem(geometry.blade_mesh("small"), seed=0)
    times = np.array([t for t, _, _ in pb.stepping.outputs()])
    loaded = loaded_outputs(pb, times)
    assert not loaded[0] and not loaded[-1] and loaded[1:-1].all()


def test_holdout_summary_counts_missed_and_wasted():
    """Tolerance 2e-3: missed = error > 6e-3 with the criterion below (outputs 1 and 5, the
    latter unloaded), wasted = fired with error < 6.7e-4 (output 3); output 0 never counts."""
    u = [0.5, 1e-2, 2e-2, 1e-4, 1e-2, 5e-2]
    fired, loaded = [True, False, True, True, True, False], [False, True, True, True, True, False]
    counts = reliability(u, fired, loaded, 2e-3)
    assert counts == dict(missed=2, missed_unloaded=1, wasted=1, increments=5)
    rec = dict(u_rel_err=u, p_rel_err=[np.nan, 0.1, 0.2, 0.05, 0.3, 0.3],
               p_best_err=[np.nan, 0.05, 0.1, 0.05, 0.1, 0.1], loaded=loaded, fired=fired, speedup=30.0,
               wall_time_s=0.1, hf_wall_time_s=3.0, **counts)
    s = holdout_summary([rec])
    assert s["u_loaded_median"] == pytest.approx(1e-2) and s["u_loaded_max"] == pytest.approx(2e-2)
    assert s["u_unloaded_median"] == pytest.approx(5e-2) and s["p_median"] == pytest.approx(0.2)
    assert s["missed"] == pytest.approx(0.4) and s["missed_unloaded"] == pytest.approx(0.2)
    assert s["wasted"] == pytest.approx(0.2) and s["speedup_median"] == 30
