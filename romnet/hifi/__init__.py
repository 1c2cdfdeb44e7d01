"""romnet's high-fidelity nonlinear FE solver (small strain, quasi-static, MPI + PETSc).

Public API: :class:`HFSolver`, :class:`SolverOptions`, :class:`HFState`,
:func:`run_hifi`, :func:`compare_stores`. See ``docs/hifi.md``.
"""
from ..errors import ConvergenceError
from .output import CompareReport, compare_stores
from .newton import StepInfo
from .solver import HFSolver, HFState, RunResult, SolverOptions, run_hifi

__all__ = ["HFSolver", "SolverOptions", "HFState", "StepInfo", "RunResult", "run_hifi",
           "compare_stores", "CompareReport", "ConvergenceError"]
