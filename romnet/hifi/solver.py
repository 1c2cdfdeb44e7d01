"""Public API of romnet's high-fidelity (HF) nonlinear FE solver.

>>> from romnet.hifi import HFSolver, SolverOptions
>>> solver = HFSolver(mesh, problem, options=SolverOptions(linear="auto"))
>>> state = solver.initial_state()
>>> state, info = solver.step(state, 0.2)          # one increment (with internal cuts)
>>> result = solver.run(store_out="out.h5")          # every increment, written as computed

Distributed: every rank holds the mesh and problem; elements are partitioned
(:mod:`romnet.hifi.partition`), each rank integrates and assembles its own elements; DOFs
are numbered so each rank owns a contiguous block. :class:`HFState` holds ``U`` as the
owned block of that numbering (the whole field, in that numbering, on one rank -- use
:meth:`HFSolver.gather_U` for mesh order) and the law states at this rank's integration
points.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import RomnetError
from ..mpi import comm as world
from ..tensors import mandel_to_storage
from .linear import make_backend
from .loads import Loads
from .model import Model
from .newton import StepInfo, advance
from .partition import Layout, partition_elements

__all__ = ["SolverOptions", "HFState", "HFSolver", "RunResult", "run_hifi"]


@dataclass
class SolverOptions:
    """linear: "auto" (PETSc when petsc4py imports, else scipy), "scipy" (serial) or
    "petsc"; petsc_options: PETSc options string (``"-ksp_type gmres -pc_type gamg"``);
    max_cuts: levels of increment halving; max_iterations / ratio: None -> the problem's
    ``stepping`` values; verbose: True (one line per increment), "iterations" (also per
    Newton iteration) or False; first_tangent: matrix of the first Newton iteration of an
    increment, "loading" (the law's tangent for a small further deviatoric loading from
    the converged state: the elastic-plastic tangent at plastic points, close to the
    previous increment's tangent, as Abaqus / CalculiX use; about 2x fewer iterations
    under monotonic plastic loading; a function of U_n and the states only, so a resumed
    run is identical) or "current" (the law evaluated at U_n: elastic at every point); temperature_at_ips: "interpolate" (shape functions) or
    "element_mean" (mean of the element's nodal temperatures at every ip, CalculiX's
    convention for C3D8, e.g. to compare with it); pc_lag: iterative linear solvers keep the
    preconditioner built at the first Newton iteration of an increment for its later
    iterations while it stays effective (:meth:`romnet.hifi.linear.PetscBackend.solve`);
    petsc_assembly: PETSc matrix assembly, None (COO when petsc4py has it, else CSR: 3.18),
    "coo" or "csr" (:mod:`romnet.hifi.petsc_assembly`; same matrix to round-off)."""
    linear: str = "auto"
    petsc_options: str = ""
    max_cuts: int = 6
    max_iterations: int | None = None
    ratio: float | None = None
    verbose: object = True
    use_mesh_partition: bool = True
    first_tangent: str = "loading"
    direct_max_dofs: int | None = None
    temperature_at_ips: str = "interpolate"
    pc_lag: bool = True
    petsc_assembly: str | None = None


@dataclass
class HFState:
    """Solver state at time ``t`` on one rank: ``U`` owned block (distributed numbering,
    flat), ``states`` law states per material at this rank's ips, and, when computed by a
    step, ``stress`` / ``strain`` (n_ip_local, 6) Mandel and ``residual`` (owned block of
    F_int - F_ext)."""
    t: float
    U: np.ndarray
    states: list
    stress: np.ndarray | None = None
    strain: np.ndarray | None = None
    residual: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, solver, t, U_global, states_global_ip):
        """State from global arrays given on every rank: ``U_global`` (n_nodes, dim) in mesh
        node order, ``states_global_ip`` (n_ip_total, n_state_max) packed law states in the
        store's ip order (the ``state`` field of a ``hifi`` series; zero padded)."""
        lay, model = solver.layout, solver.model
        U = np.asarray(U_global, dtype=float).reshape(solver.mesh.n_nodes, -1)[:, :solver.mesh.dim]
        Uo = U[lay.local_nodes[:lay.n_owned_nodes]].ravel().copy()
        S = np.asarray(states_global_ip, dtype=float).reshape(model.n_ip_total, -1)
        if S.shape[1] < model.n_state_max:
            raise RomnetError(f"states have {S.shape[1]} columns, the laws need {model.n_state_max}")
        st = cls(float(t), Uo, model.unpack_states(S[model.ip_global]))
        solver._complete(st)
        return st


@dataclass
class RunResult:
    times: np.ndarray
    iterations: list = field(default_factory=list)
    cuts: list = field(default_factory=list)
    wall_time: float = 0.0
    store: str | None = None
    resumed_from: int = 0
    state: HFState | None = None


class HFSolver:
    def __init__(self, mesh, problem, comm=None, options=None):
        self.options = options or SolverOptions()
        self.comm = comm or world()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.is_root = self.rank == 0
        if problem.stepping is None:
            raise RomnetError("the problem has no time stepping")
        self.mesh, self.problem = mesh, problem
        if self.options.linear == "scipy" and self.size > 1:
            raise RomnetError(f"the scipy linear solver is serial; {self.size} ranks need petsc4py")
        if self.options.linear == "auto" and self.size > 1:
            from .linear import PETSC_HINT, petsc
            if petsc() is None:
                raise RomnetError(f"running on {self.size} ranks needs petsc4py (not importable); "
                                  f"{PETSC_HINT}; or run on one rank")
        self.elem_part = partition_elements(mesh, self.comm, self.options.use_mesh_partition)
        self.layout = Layout(mesh, self.elem_part, self.rank, self.size)
        if self.options.first_tangent not in ("loading", "current"):
            raise RomnetError(f"first_tangent {self.options.first_tangent!r} unknown (loading, current)")
        self.model = Model(mesh, problem, self.layout, temperature_at_ips=self.options.temperature_at_ips)
        self.loads = Loads(mesh, problem, self.layout, self.model)
        self.backend = make_backend(self.options.linear, self.layout, self.comm, self.model.coo_rows,
                                    self.model.coo_cols, self.loads.constrained, self.model.symmetric,
                                    self.options.petsc_options,
                                    coordinates=mesh.coordinates[self.layout.local_nodes[:self.layout.n_owned_nodes]],
                                    direct_max_dofs=self.options.direct_max_dofs,
                                    pc_lag=self.options.pc_lag, assembly=self.options.petsc_assembly)
        st = problem.stepping
        self.ratio = float(self.options.ratio if self.options.ratio is not None else st.ratio)
        self.max_iterations = int(self.options.max_iterations if self.options.max_iterations is not None
                                  else st.max_iterations)

    # ------------------------------------------------------------------ schedule
    def schedule(self):
        """[(t, cycle, increment)] of every output: the start, then each increment end of
        each cycle (cycle c shifts the times by c * period, period = times[-1] - times[0])."""
        return self.problem.stepping.outputs()

    # ------------------------------------------------------------------ states
    def close(self):
        """Free the linear solver's PETSc objects (matrix, vectors, KSP and its multigrid
        hierarchy) now instead of whenever the garbage collector gets to them: a driver that
        builds one solver per run (training family, thermo-elastic snapshots) otherwise
        accumulates ~1 GB per solver on the 373k-DOF blade."""
        destroy = getattr(self.backend, "destroy", None)
        if destroy is not None:
            destroy()
        self.backend = None

    def initial_state(self):
        st = HFState(float(self.problem.stepping.times[0]), np.zeros(self.layout.n_owned),
                     self.model.initial_states())
        st.stress = np.zeros((self.model.n_ip, 6))
        st.strain = np.zeros((self.model.n_ip, 6))
        st.residual = np.zeros(self.layout.n_owned)
        return st

    def _new_state(self, t, U, states, stress, strain, residual):
        return HFState(float(t), U, states, stress, strain, residual)

    def _complete(self, st):
        """Fill stress/strain/residual of a state built from arrays (law re-evaluated with
        dt = 0 is not meaningful for viscous laws: strain only, stress from elasticity is
        not recomputed; the next step needs only U and states)."""
        st.strain = self.model.strain(self.backend.forward(st.U))
        return st

    def step(self, state, t_next):
        """Advance exactly one increment to ``t_next`` (halving it internally on failure).
        Returns (new HFState, StepInfo). Raises ConvergenceError when it cannot."""
        if not t_next > state.t:
            raise RomnetError(f"step: t_next={t_next:g} must be after the state time {state.t:g}")
        return advance(self, state, float(t_next), StepInfo())

    # ------------------------------------------------------------------ gathering (output)
    def _gather_rows(self, local, idx, n_rows):
        """Rows ``local`` at global row indices ``idx`` -> (n_rows, k) on rank 0, None elsewhere."""
        local = np.asarray(local, dtype=float).reshape(len(idx), -1)
        if self.size == 1:
            out = np.empty((n_rows, local.shape[1]))
            out[idx] = local
            return out
        parts = self.comm.gather((np.asarray(idx), local), root=0)
        if not self.is_root:
            return None
        out = np.zeros((n_rows, local.shape[1]))
        for i, v in parts:
            out[i] = v
        return out

    def gather_U(self, state, vector=None):
        """(n_nodes, dim) displacement in mesh node order on rank 0 (None on other ranks)."""
        v = state.U if vector is None else vector
        lay = self.layout
        return self._gather_rows(np.asarray(v).reshape(-1, self.mesh.dim),
                                 lay.local_nodes[:lay.n_owned_nodes], self.mesh.n_nodes)

    def gather_ip(self, local):
        """(n_ip_total, k) integration-point field in store order on rank 0."""
        return self._gather_rows(local, self.model.ip_global, self.model.n_ip_total)

    def output_fields(self, state):
        """Full output arrays on rank 0 (None elsewhere): U, RU, strain, stress, p,
        plastic_strain, state."""
        model = self.model
        p, ep = model.plastic_fields(state.states)
        loc = {"U": None, "RU": None,
               "strain": mandel_to_storage(state.strain), "stress": mandel_to_storage(state.stress),
               "p": p[:, None], "plastic_strain": mandel_to_storage(ep),
               "state": model.pack_states(state.states)}
        out = {"U": self.gather_U(state), "RU": self.gather_U(state, state.residual)}
        for k in ("strain", "stress", "p", "plastic_strain", "state"):
            out[k] = self.gather_ip(loc[k])
        return out

    # ------------------------------------------------------------------ run
    def run(self, store_out=None, resume=False, progress=print, store_in=None, series="hifi",
            stop_after=None):
        """Run every increment of the problem's stepping. With ``store_out`` each output
        is appended to the ``series`` of that store (a copy of ``store_in``) as soon as it
        is computed; ``resume=True`` continues from its last complete output.
        ``stop_after``: stop (as if killed) after that many new increments (tests)."""
        say = (progress if (progress and self.is_root) else (lambda *a, **k: None))
        sched = self.schedule()
        writer = None
        t0 = time.perf_counter()
        if store_out is not None:
            from .output import SeriesWriter
            writer = SeriesWriter(store_in, store_out, self, series=series, resume=resume)
        start = 0
        state = None
        try:
            if writer is not None and writer.n_complete > 0:
                t, U, S, inc = writer.last()
                state = HFState.from_arrays(self, t, U, S)
                start = writer.n_complete
                if start > len(sched) or abs(sched[start - 1][0] - t) > 1e-9 * max(1.0, abs(t)):
                    raise RomnetError(f"{store_out}: cannot resume: its last output (t={t:g}) is not "
                                      "output {start - 1} of this problem's schedule")
                say(f"resuming after output {start - 1} (t={t:g})")
            else:
                state = self.initial_state()
                if writer is not None:
                    writer.write(sched[0][0], sched[0][1], sched[0][2], self.output_fields(state))
                start = 1
            res = RunResult(np.array([s[0] for s in sched]), store=str(store_out) if store_out else None,
                            resumed_from=start)
            done = 0
            for k in range(start, len(sched)):
                if stop_after is not None and done >= stop_after:
                    break
                t, cyc, inc = sched[k]
                ts = time.perf_counter()
                state, info = self.step(state, t)
                res.iterations.append(info.iterations)
                res.cuts.append(info.cuts)
                if writer is not None:
                    writer.write(t, cyc, inc, self.output_fields(state))
                done += 1
                if self.options.verbose:
                    last = info.residuals[-1][-1] if info.residuals and info.residuals[-1] else 0.0
                    say(f"  increment {inc} t={t:g}: {info.iterations} iterations, "
                        f"{info.cuts} cut(s), ||R||/||F||={last:.2e}, {time.perf_counter() - ts:.2f} s")
            res.wall_time = time.perf_counter() - t0
            res.state = state
            return res
        finally:
            if writer is not None:
                writer.close()


def default_output(store_in) -> Path:
    p = Path(store_in)
    return p.with_name(p.stem + "-hifi" + (p.suffix or ".h5"))


def run_hifi(store_in, store_out=None, resume=False, options=None, progress=print, comm=None,
             stop_after=None):
    """Read mesh and problem from ``store_in`` and run the HF solver, writing the ``hifi``
    series of ``store_out`` (default ``<input>-hifi.h5``; the input is never modified).
    Returns the :class:`RunResult`."""
    from ..store import CaseStore
    with CaseStore(store_in) as st:
        if not st.has_problem():
            raise RomnetError(f"{store_in}: the store has no problem definition; import the case "
                              "with its deck")
        mesh, problem = st.mesh(), st.problem()
    store_out = default_output(store_in) if store_out is None else Path(store_out)
    say = progress if progress else (lambda *a: None)
    solver = HFSolver(mesh, problem, comm=comm, options=options)
    if solver.is_root:
        be = solver.backend
        say(f"romnet hifi: {mesh.n_nodes} nodes, {mesh.n_elements} elements, {solver.size} rank(s), "
            f"linear solver {be.describe() if hasattr(be, 'describe') else be.name}")
    res = solver.run(store_out=store_out, resume=resume, progress=progress, store_in=store_in,
                     stop_after=stop_after)
    say(f"wrote {store_out} (series 'hifi'), {res.wall_time:.2f} s")
    return res
