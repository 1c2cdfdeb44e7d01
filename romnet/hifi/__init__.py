"""romnet's high-fidelity nonlinear FE solver (small strain, quasi-static, MPI + PETSc).

Public API: :class:`HFSolver` (time loop :meth:`HFSolver.outputs`), :class:`SolverOptions`,
:class:`HFState`, :func:`run_hifi`, :func:`hf_outputs` (one run's outputs in memory),
:func:`compare_stores`. See ``docs/hifi.md``.
"""
from ..errors import ConvergenceError
from .output import CompareReport, compare_stores
from .newton import StepInfo
from .solver import OUTPUT_FIELDS, HFOutputs, HFSolver, HFState, RunResult, SolverOptions, hf_outputs, run_hifi

__all__ = ["HFSolver", "SolverOptions", "HFState", "StepInfo", "RunResult", "run_hifi", "hf_outputs", "HFOutputs",
           "OUTPUT_FIELDS", "compare_stores", "CompareReport", "ConvergenceError"]
