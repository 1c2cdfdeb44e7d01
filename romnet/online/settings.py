"""Settings of the online stage: the ``[online]`` table (one schema and one dialect for
``romnet run`` and ``romnet online --config``; the defaults live here only,
:mod:`romnet.settings`).

``samples`` set: the Monte Carlo of :func:`romnet.online.montecarlo.run_montecarlo` (new
temperature fields of the case's sampler); unset: one run on the store's own loading or on
``loading``. Old spelling: ``tol`` (``romnet online --config`` before issue 16) is read as
``tolerance`` with a deprecation note.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..settings import Bool, Const, Int, Num, OneOf, PathKind, setting
from .solver import OnlineOptions

__all__ = ["OnlineSettings", "CRITERIA", "cluster_choice", "solver_options"]

#: enrichment criteria (:meth:`romnet.online.api.OnlineROM.run`)
CRITERIA = ("indicator", "estimate")


@dataclass
class OnlineSettings:
    """``[online]``: the ROM runs of the online stage."""
    samples: int = setting(None, Int(ge=1, le=10**7), "Monte Carlo: number of new temperature fields (unset: one run)")
    seed: int = setting(1000, Int(ge=0, le=2**63 - 1), "Monte Carlo: sample i uses the seed sequence (seed, i) (keep it "
                        "different from [training] seed)")
    tolerance: float = setting(1e-3, Num(gt=0, le=1e6), "tolerance of the enrichment criterion (the indicator, or "
                               "the estimated error with criterion = \"estimate\")", renamed={"tol": "deprecated"})
    hf_references: int = setting(0, Int(ge=0, le=10**7), "Monte Carlo: the first N samples also run with the HF solver")
    enrich: bool = setting(False, Bool, "adaptive enrichment (one HF increment where the criterion exceeds "
                           "tolerance)")
    cluster: object = setting("classifier", OneOf(Const("classifier", "global"), Int(ge=0, le=999),
                                                  text='"classifier", "global" or a cluster index >= 0'),
                              "ROM to run: the classifier's local ROM, the global ROM, or local ROM c")
    ratio: float = setting(None, Num(gt=0, le=1), "reduced Newton tolerance on ||R|| / F_ref (default: the "
                           "reduced solver's, romnet.online.solver.OnlineOptions)")
    criterion: str = setting(CRITERIA[0], Const(*CRITERIA), "enrichment criterion: the raw indicator or the "
                             "estimated U error of the stored calibration (romnet calibrate)")
    loading: str = setting(None, PathKind, "one run (no Monte Carlo): case store whose problem is the loading "
                           "(relative to the case directory; default: the store's own problem)")


def cluster_choice(value):
    """The ``cluster`` argument of :meth:`romnet.online.api.OnlineROM.run` for a setting
    value: None for ``"classifier"``, ``"global"``, or the local ROM index."""
    return None if value in (None, "classifier") else value


def solver_options(settings: dict) -> OnlineOptions:
    """:class:`OnlineOptions` of the reduced solver with the ``ratio`` setting (when given)."""
    ratio = settings.get("ratio")
    return OnlineOptions() if ratio is None else OnlineOptions(ratio=float(ratio))
