"""Online stage: hyper-reduced Newton solver on the reduced coordinates, reconstruction
(U = Phi a, dual fields by Gappy-POD), error indicator (Gappy residual of p) and adaptive
enrichment by one HF increment (``docs/online.md``).

* :mod:`.reduced_model` -- what is read from ``/rom`` (:class:`ReducedModel`).
* :mod:`.solver` -- :class:`ReducedSolver` (Newton, increment cutting, MPI over points).
* :mod:`.reconstruction` -- :class:`Gappy`, full fields, result store / XDMF.
* :mod:`.indicator` -- :class:`PIndicator`, calibration.
* :mod:`.enrichment` -- :class:`Enricher` (HF increment, POD update, ECM warm start).
* :mod:`.api` -- :func:`load_rom`, :meth:`OnlineROM.run`, :class:`OnlineResult`.
"""
from .api import OnlineResult, OnlineROM, load_rom, read_loading
from .reduced_model import ReducedModel
from .solver import OnlineOptions, ReducedSolver

__all__ = ["load_rom", "OnlineROM", "OnlineResult", "read_loading", "ReducedModel", "ReducedSolver",
           "OnlineOptions"]
