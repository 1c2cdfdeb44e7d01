"""The library Monte Carlo (romnet.online.montecarlo): the fallback of a local ROM to the
enriched global ROM follows the [online] criterion -- the raw indicator, or with
criterion = "estimate" the calibrated estimate of the U error -- and the settings default
from the [online] schema."""
import numpy as np
import pytest

from romnet.online.montecarlo import run_sample


class _Run:
    def __init__(self, label, indicator, estimate):
        self.selection = {"label": label, "cluster": None, "predicted": None}
        self.indicator = np.asarray(indicator)
        self.estimated_error = {"U": np.asarray(estimate)}


class _Model:
    is_local = True


class _Rom:
    """A local ROM whose indicator stays below the tolerance while its estimated U error
    does not (the case the estimate criterion exists for: elastic increments)."""

    def __init__(self):
        self.calls = []

    def selection(self, pb, cluster):
        return _Model(), None

    def run(self, pb, cluster=None, enrich=False, criterion=None, **kw):
        self.calls.append((cluster, enrich, criterion))
        return _Run("global" if cluster == "global" else "local 0 of 2", [0.0, 1e-3], [0.0, 5e-2])


class _Comm:
    def Barrier(self):
        pass


@pytest.mark.parametrize("criterion, falls_back", [("indicator", False), ("estimate", True)])
def test_fallback_follows_the_criterion(criterion, falls_back):
    rom = _Rom()
    on = dict(cluster="classifier", enrich=True, tolerance=1e-2, criterion=criterion)
    res, first, _, fallback, failure = run_sample(rom, None, on, None, _Comm())
    assert failure is None and fallback is falls_back
    if falls_back:
        assert rom.calls == [(None, False, None), ("global", True, "estimate")]
        assert res.selection["label"] == "global" and first.selection["label"] == "local 0 of 2"
    else:
        assert rom.calls == [(None, False, None)] and first is None
