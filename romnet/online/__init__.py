"""Online stage: hyper-reduced Newton solver on the reduced coordinates, reconstruction
(U = Phi a, dual fields by Gappy-POD), error indicator (Gappy residual of p) and adaptive
enrichment by one HF increment (``docs/online.md``).

* :mod:`.reduced_model` -- what is read from ``/rom`` (:class:`ReducedModel`).
* :mod:`.solver` -- :class:`ReducedSolver` (Newton, increment cutting, MPI over points).
* :mod:`.reconstruction` -- :class:`Gappy`, full fields, result store / XDMF.
* :mod:`.indicator` -- :class:`PIndicator` (relative Gappy residual of p / stress), the
  log-log fit and reports.
* :mod:`.calibration` -- :func:`calibrate_rom`: indicator -> estimated error on validation
  runs with HF references, stored at ``/rom/calibration`` (``romnet calibrate``; storage:
  :mod:`romnet.offline.calibration_store`).
* :mod:`.enrichment` -- :class:`Enricher` (HF increment, POD update, the offline ECM
  warm-started from the current points, the offline operators).
* :mod:`.api` -- :func:`load_rom`, :meth:`OnlineROM.run`, :class:`OnlineResult`.
* :mod:`.montecarlo` -- :func:`run_montecarlo`: ROM runs over new temperature fields,
  with HF references (``romnet run``, step ``online``).
* :mod:`.greedy_training` -- :func:`run_greedy_training`: ``[training] strategy = "greedy"``,
  the next HF training run is the candidate field the current ROM scores worst.
* :mod:`.settings` -- :class:`OnlineSettings`, the ``[online]`` table.
"""
from .api import OnlineResult, OnlineROM, load_rom, read_loading
from .reduced_model import ReducedModel
from .solver import OnlineOptions, ReducedSolver

__all__ = ["load_rom", "OnlineROM", "OnlineResult", "read_loading", "ReducedModel", "ReducedSolver",
           "OnlineOptions"]
