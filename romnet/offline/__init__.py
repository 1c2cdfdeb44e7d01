"""Offline stage: distributed snapshot POD, ECM hyper-reduction with global error control,
QDEIM points, precomputed reduced operators, stored in the case store's ``/rom`` group.

* :mod:`.pod` — :class:`RowLayout` (rows per rank), inner products (:class:`NodalL2`,
  :class:`IntegL2`), TSQR-based :func:`pod`, incremental :func:`pod_update`.
* :mod:`.ecm` — :func:`ecm` (greedy + NNLS, global error control, warm start).
* :mod:`.qdeim` — distributed QDEIM point selection.
* :mod:`.operators` — strains of modes, reduced loads, point data, Dirichlet check.
* :mod:`.rom_store` — ``/rom`` schema (``docs/rom-schema.md``), :func:`rom_summary`.
* :mod:`.pipeline` — :func:`run_offline` (``romnet offline``).
* :mod:`.training` — HF training family (``romnet train``); :mod:`.elastic_snapshots` —
  thermo-elastic snapshots of sampled temperatures (``romnet train --elastic N``).
* :mod:`.clustering`, :mod:`.local_bases`, :mod:`.classifier` — local ROMs (``romnet cluster``).
"""
from .ecm import ECMResult, ecm
from .pod import IntegL2, RowLayout, NodalL2, PODBasis, pod, pod_update
from .qdeim import qdeim_points

__all__ = ["RowLayout", "NodalL2", "IntegL2", "PODBasis", "pod", "pod_update", "ecm", "ECMResult",
           "qdeim_points", "run_offline", "rom_summary", "read_rom"]


def run_offline(*args, **kw):
    from .pipeline import run_offline as f
    return f(*args, **kw)


def rom_summary(store):
    from .rom_store import rom_summary as f
    return f(store)


def read_rom(store, modes=True):
    from .rom_store import read_rom as f
    return f(store, modes)
