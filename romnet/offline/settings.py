"""Settings of the offline stage: the ``[offline]`` table of a case.toml (one schema, the
defaults live here only; :mod:`romnet.settings`).

:class:`OfflineSettings` -- ``romnet offline`` / the step ``offline`` and every ROM that
``romnet cluster`` builds (:func:`romnet.offline.pipeline.run_offline`,
:func:`romnet.offline.pipeline.build_rom_tree`); :class:`ClusterSettings` -- the
clustering of ``romnet cluster`` / the step ``cluster``
(:func:`romnet.offline.local_bases.run_clustering`). Both share the ``[offline]`` table.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..settings import Bool, Const, Int, ListOf, Num, OneOf, Str, setting

__all__ = ["OfflineSettings", "ClusterSettings", "DISSIMILARITIES"]

#: plausible upper bounds of counts and indices (modes, points, integration-point indices, clusters)
MAX_COUNT = 10**9
MAX_INDEX = 2**62
MAX_CLUSTERS = 1000
#: dissimilarities between training simulations (:func:`romnet.offline.clustering.dissimilarity`)
DISSIMILARITIES = ("angle", "principal", "chordal", "snapshot-angle", "euclidean")


@dataclass
class OfflineSettings:
    """``[offline]``: POD, ECM and QDEIM settings of one ROM."""
    series: object = setting("imported", OneOf(Str(), ListOf(Str(), nonempty=True),
                                               text="a string or a non-empty list of strings"),
                             "result series of the training snapshots: a name, a list of names or a glob "
                             '("train_*": a training family)')
    displacement: str = setting("U", Str(), "nodal displacement field")
    dual_fields: list = setting(None, ListOf(Str()), "integration-point fields to POD (default: every integ "
                                "field except strain, which follows from U)")
    pod_tol: float = setting(1e-6, Num(gt=0, le=1), "displacement POD tolerance (relative RMS projection error)")
    pod_max_modes: int = setting(None, Int(ge=1, le=MAX_COUNT), "cap on the number of displacement modes")
    dual_tol: float = setting(None, Num(gt=0, le=1), "tolerance of the dual PODs (default: pod_tol)")
    dual_max_modes: int = setting(None, Int(ge=1, le=MAX_COUNT), "cap on the modes of the dual PODs")
    ecm_tol: float = setting(1e-5, Num(gt=0, le=1), "max relative error of the reduced internal forces of any "
                             "training snapshot")
    ecm_stress: str = setting("stress", Str(), "stress field of the ECM integrand")
    ecm_max_points: int = setting(None, Int(ge=1, le=MAX_COUNT), "cap on the ECM points")
    warm_start: list = setting(None, ListOf(Int(ge=0, le=MAX_INDEX)), "global integration-point indices to start the ECM from")
    qdeim_fields: list = setting(None, ListOf(Str()), "dual fields whose QDEIM points are added (zero weight; "
                                 "default: every dual field)")
    reorthogonalize: object = setting("auto", OneOf(Bool, Const("auto"), text='true, false or "auto"'),
                                      "re-orthonormalise the POD modes (auto: when s_0 / s_n > 1e3)")


@dataclass
class ClusterSettings:
    """``[offline]`` keys of the clustering into local ROMs."""
    clusters: object = setting("auto", OneOf(Int(ge=1, le=MAX_CLUSTERS), ListOf(Int(ge=1, le=MAX_CLUSTERS), nonempty=True), Const("auto"),
                                             text='an integer >= 1, a list of them or "auto"'),
                               "numbers of clusters k to build local ROMs for (auto: the a priori criterion "
                               "chooses)")
    max_clusters: int = setting(6, Int(ge=1, le=MAX_CLUSTERS), "largest k of the a priori criterion table")
    dissimilarity: str = setting("angle", Str(DISSIMILARITIES), "dissimilarity between training simulations")
