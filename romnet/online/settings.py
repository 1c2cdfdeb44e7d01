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

__all__ = ["OnlineSettings", "LearningSettings", "CRITERIA", "STATE_RECONSTRUCTIONS", "HF_STARTS", "cluster_choice",
           "solver_options"]

#: how an enrichment builds the HF internal variables at t_n (:mod:`romnet.online.enrichment`)
STATE_RECONSTRUCTIONS = ("replay", "gappy")
#: first iterate of an enrichment's HF increment (``[learning] hf_start``)
HF_STARTS = ("rom", "previous")
#: norms of the U residual that [learning] add_tolerance bounds (enrichment.Enricher.enrich)
ADD_NORMS = ("strain", "l2")

#: enrichment criteria (:meth:`romnet.online.api.OnlineROM.run`)
CRITERIA = ("indicator", "estimate", "learned")


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
    criterion: str = setting(CRITERIA[0], Const(*CRITERIA), "enrichment criterion: the raw indicator, the "
                             "errors estimated from the indicators by a fit on the errors measured at earlier "
                             "enrichments (\"learned\": error_tolerance on U, p_error_tolerance on p), or the "
                             "estimated U error of the stored calibration (romnet calibrate)")
    loading: str = setting(None, PathKind, "one run (no Monte Carlo): case store whose problem is the loading "
                           "(relative to the case directory; default: the store's own problem)")
    stress_tolerance: float = setting(None, Num(gt=0), "with criterion = \"indicator\": also enrich where the "
                                      "stress indicator (relative Gappy residual of the stress, never blind when "
                                      "p = 0) exceeds this (unset: the p indicator only)")
    holdout: int = setting(0, Int(ge=0), "Monte Carlo: after the sequence, this many new samples run on the "
                           "frozen (no enrichment) learned ROM with HF references: the held-out errors, "
                           "speed-up and indicator reliability of montecarlo.json's 'holdout'")
    holdout_seed: int = setting(2000, Int(ge=0), "Monte Carlo: held-out sample i uses the seed sequence "
                                "(holdout_seed, i) (keep it different from seed and [training] seed)")
    p_error_tolerance: float = setting(5e-2, Num(gt=0), "criterion \"learned\": enrich where the estimated "
                                       "relative p error exceeds this")
    error_tolerance: float = setting(5e-3, Num(gt=0), "relative U error the learning aims at (criterion "
                                     "\"learned\": enrich where the estimate exceeds it); the held-out "
                                     "reliability counts 'missed' increments (error > 3x this, criterion "
                                     "silent) and 'wasted' ones (criterion fires, error < this / 3)")


@dataclass
class LearningSettings:
    """``[learning]``: how enrichments are kept and how the ROM's growth is bounded
    (:mod:`romnet.online.enrichment`)."""
    learn: bool = setting(True, Bool, "keep every enrichment: a new ROM version of the store after each run "
                          "that enriched (false: each run starts from the stored ROM, reproducible)")
    add_tolerance: float = setting(1e-4, Num(gt=0), "an HF field becomes a new mode where its residual against "
                                   "the basis exceeds this fraction of the field")
    add_norm: str = setting(ADD_NORMS[0], Const(*ADD_NORMS), "norm of the U residual that add_tolerance "
                            "bounds: 'strain' (the strain of the residual against the field's: the norm a "
                            "Galerkin solution is accurate in) or 'l2' (the displacement itself); dual fields: "
                            "always L2")
    max_modes: int = setting(60, Int(ge=1), "budget of U modes of a ROM: over it the basis is recompressed "
                             "(truncated POD at the ROM's tolerance, to at most 3/4 of this: enrichment.RECOMPRESS_KEEP)")
    max_dual_modes: int = setting(150, Int(ge=1), "budget of modes of each dual basis (stress, p, state)")
    ecm_tolerance: float = setting(None, Num(gt=0), "ECM tolerance of the enrichments (unset: the ROM's own)")
    group_floor: float = setting(0.1, Num(ge=0), "ECM of the enrichments: error of a stress component measured "
                                 "against at least this fraction of the largest one (0: each against itself)")
    max_points: int = setting(None, Int(ge=1), "cap on the ECM points of an enriched ROM")
    ecm_pool: int = setting(2000, Int(ge=0), "ECM of the enrichments: between two full scorings (every 10 "
                            "steps) the greedy scores only this many best candidate points (0: every point at "
                            "every step; romnet.offline.ecm, 'Candidate pool')")
    reselect_points: int = setting(None, Int(ge=1), "when the ECM points of an enriched ROM pass this, they are "
                                   "re-selected from scratch with every stress component measured against the "
                                   "largest (group floor 1: fewer points; the growth of the points is bounded)")
    snapshot_groups: bool = setting(False, Bool, "ECM of the enrichments: also integrate every enriched stress "
                                    "state to the ECM tolerance (its own error group, not floored); more "
                                    "accurate at the enriched states, but the points and the ECM time grow "
                                    "with every enrichment (measured: 860 points, 40 s per ECM after 20 samples "
                                    "of the small blade)")
    dual_only_below: float = setting(0.0, Num(ge=0), "an enrichment whose HF increment shows a ROM U error "
                                     "(relative, before the enrichment) below this extends only the dual bases "
                                     "(p, stress, ...): the U basis and the ECM points are kept (the U solution, "
                                     "and so its hyper-reduction, was accurate at that state), so it costs the HF "
                                     "increment and the dual operators instead of an ECM update; 0: every "
                                     "enrichment also extends U and updates the ECM")
    new_local_rom: bool = setting(True, Bool, "with local ROMs: a sample whose local ROM (the classifier's "
                                  "choice) fails, so that it falls back to the global ROM, starts a new local ROM "
                                  "(the global ROM as it served the sample) and the classifier is refitted "
                                  "(romnet.online.new_local_rom)")
    new_local_rom_after: int = setting(0, Int(ge=0), "with local ROMs: a sample that needs at least this many "
                                       "enrichments of its local ROM starts a new local ROM (that local ROM "
                                       "with the sample's enrichments; the local ROM itself goes back to "
                                       "what it was before the sample); 0: only failures start one")
    max_local_roms: int = setting(8, Int(ge=1), "no new local ROM once the ROM has this many")
    state: str = setting(STATE_RECONSTRUCTIONS[0], Const(*STATE_RECONSTRUCTIONS), "internal variables of the HF "
                         "increment: 'replay' the law along the run's reduced history (exact for the ROM's "
                         "trajectory; kept across the run's enrichments: at most one law evaluation over the "
                         "mesh per increment of a run that enriches), or 'gappy': Gappy-POD of the 'state' "
                         "basis (O(mesh) but approximate: the HF increment then also relaxes the "
                         "reconstruction's error)")
    hf_start: str = setting(HF_STARTS[0], Const(*HF_STARTS), "first Newton iterate of the enrichment's HF "
                            "increment: 'rom' the ROM's own solution at t_n+1 (computed anyway: it measures "
                            "the ROM's error; closer than U_n, fewer HF iterations), 'previous' U_n")


def cluster_choice(value):
    """The ``cluster`` argument of :meth:`romnet.online.api.OnlineROM.run` for a setting
    value: None for ``"classifier"``, ``"global"``, or the local ROM index."""
    return None if value in (None, "classifier") else value


def solver_options(settings: dict) -> OnlineOptions:
    """:class:`OnlineOptions` of the reduced solver with the ``ratio`` setting (when given)."""
    ratio = settings.get("ratio")
    return OnlineOptions() if ratio is None else OnlineOptions(ratio=float(ratio))
