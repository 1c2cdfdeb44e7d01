"""Offline stage: distributed snapshot POD, ECM hyper-reduction with global error control,
QDEIM points, precomputed reduced operators, stored in the case store's ``/rom`` group.

* :mod:`.pod` -- :class:`RowLayout` (rows per rank), inner products (:class:`NodalL2`,
  :class:`IntegL2`), TSQR-based :func:`pod`, incremental :func:`pod_update`.
* :mod:`.ecm` -- :func:`ecm` (greedy + NNLS, global error control, warm start; the one
  ECM of offline and online enrichment); :mod:`.nnls` -- its warm-started NNLS solvers.
* :mod:`.qdeim` -- distributed QDEIM point selection.
* :mod:`.operators` -- strains of modes, reduced loads, point data, Dirichlet check.
* :mod:`.rom_store` -- the one owner of ``/rom`` (``docs/rom-schema.md``): trees, atomic
  writes of the whole ROM or of one sub-ROM, reads, :func:`.rom_store.rom_summary`;
  :mod:`.calibration_store` -- ``/rom/calibration``.
* :mod:`.pipeline` -- :func:`.pipeline.run_offline` (``romnet offline``), the steps shared
  with enrichment (:func:`.pipeline.hyper_reduce`).
* :mod:`.settings` -- the ``[offline]`` table (:class:`.settings.OfflineSettings`,
  :class:`.settings.ClusterSettings`).
* :mod:`.training` -- HF training family (``romnet train``, :class:`.training.TrainingSettings`);
  :mod:`.training_merge`; :mod:`.elastic_snapshots` -- thermo-elastic snapshots of sampled
  temperatures (``romnet train --elastic N``).
* :mod:`.clustering`, :mod:`.local_bases`, :mod:`.classifier` -- local ROMs (``romnet cluster``).
"""
from .ecm import ECMResult, ecm
from .pod import IntegL2, NodalL2, PODBasis, RowLayout, pod, pod_update
from .qdeim import qdeim_points

__all__ = ["RowLayout", "NodalL2", "IntegL2", "PODBasis", "pod", "pod_update", "ecm", "ECMResult",
           "qdeim_points"]
