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
from .constraints import Constraints
from .linear import make_backend
from .loads import Loads
from .model import Model
from .newton import StepInfo, advance
from .partition import Layout, partition_elements

__all__ = ["SolverOptions", "HFState", "HFSolver", "RunResult", "HFOutputs", "OUTPUT_FIELDS", "hf_outputs",
           "run_hifi"]

#: every output field of the HF solver (:meth:`HFSolver.output_fields`)
OUTPUT_FIELDS = ("U", "RU", "strain", "stress", "p", "plastic_strain", "state")


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
    run is identical) or "current" (the law evaluated at U_n: elastic at every point);
    temperature_at_ips: None (the problem's rule per block, ``Problem.temperature_at_ips``:
    interpolation unless the deck's code uses another), "interpolate" (shape functions
    everywhere) or "element_mean" (mean of the element's nodal temperatures at every ip);
    pc_lag: iterative linear solvers keep the
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
    temperature_at_ips: str | None = None
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
    def from_local(cls, solver, t, U_owned, states):
        """State from this rank's own values: ``U_owned`` the owned block of the
        distributed numbering (flat), ``states`` the law states at its ips; the strain is
        recomputed (the next step needs only U and the states)."""
        return solver._complete(cls(float(t), np.asarray(U_owned, dtype=float).ravel().copy(), states))

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
        self.constraints = Constraints(mesh, problem, self.layout, self.comm)
        # explicit (zero) diagonal entries for every owned DOF: DOFs of nodes outside every
        # element (reference nodes of constraints) keep a diagonal in the pattern
        diag = self.layout.owned_range[0] * mesh.dim + np.arange(self.layout.n_owned)
        self._n_diag = diag.size
        self.backend = make_backend(self.options.linear, self.layout, self.comm,
                                    np.concatenate([self.model.coo_rows, diag]),
                                    np.concatenate([self.model.coo_cols, diag]), np.zeros(0, np.int64),
                                    self.model.symmetric,
                                    self.options.petsc_options,
                                    coordinates=mesh.coordinates[self.layout.local_nodes[:self.layout.n_owned_nodes]],
                                    direct_max_dofs=self.options.direct_max_dofs,
                                    pc_lag=self.options.pc_lag, assembly=self.options.petsc_assembly)
        times = np.asarray(problem.stepping.times, dtype=float)
        self.constraints.update(float(times[1] if times.size > 1 else times[0]),
                                np.zeros(self.layout.n_owned), self.backend)
        st = problem.stepping
        self.ratio = float(self.options.ratio if self.options.ratio is not None else st.ratio)
        self.max_iterations = int(self.options.max_iterations if self.options.max_iterations is not None
                                  else st.max_iterations)

    def set_loading(self, problem) -> bool:
        """Run a new loading on the same discretisation (a Monte Carlo sample, an online
        enrichment of another run): the temperature, load magnitudes and tables of
        ``problem`` replace this solver's, the partition, matrix pattern, preconditioner
        set-up and constraint elimination are kept. Only when ``problem`` has the same
        materials, constraints and load sets (else False: build a new solver). Collective
        (no communication)."""
        from ..problem import as_jsonable
        old = self.problem

        def same(attr):
            return as_jsonable(getattr(old, attr, None)) == as_jsonable(getattr(problem, attr, None))
        sets = (lambda pb: ([p.face_set for p in pb.pressure], [c.element_set for c in pb.centrifugal],
                            type(pb.temperature) is type(old.temperature)))
        if not (same("materials") and same("dirichlet") and same("constraints") and same("initial")
                and sets(problem) == sets(old) and problem.stepping is not None):
            return False
        self.problem = self.model.problem = self.constraints.problem = problem
        self.loads = Loads(self.mesh, problem, self.layout, self.model)
        return True

    def matrix_values(self, D, temperature=None):
        """COO values of the tangent (the element matrices, then the explicit diagonal);
        ``temperature`` (local ips) for the hourglass stiffness of c3d8r-like elements."""
        return np.concatenate([self.model.matrix_values(D, temperature), np.zeros(self._n_diag)])

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
        st.strain = self.model.strain(self.backend.forward(st.U), st.states)
        return st

    def step(self, state, t_next, guess=None):
        """Advance exactly one increment to ``t_next`` (halving it internally on failure).
        ``guess``: initial U of the Newton iterations (owned block, like ``state.U``; default
        ``state.U``), e.g. a ROM's prediction of ``U(t_next)``. Returns (new HFState,
        StepInfo). Raises ConvergenceError when it cannot."""
        if not t_next > state.t:
            raise RomnetError(f"step: t_next={t_next:g} must be after the state time {state.t:g}")
        if guess is not None and np.size(guess) != np.size(state.U):
            raise RomnetError(f"step: the guess has {np.size(guess)} values, the state {np.size(state.U)}")
        return advance(self, state, float(t_next), StepInfo(), guess=guess)

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

    def output_fields(self, state, fields=None):
        """Output arrays in mesh / store order on rank 0 (None elsewhere) of ``fields``
        (default :data:`OUTPUT_FIELDS`: U, RU, strain, stress, p, plastic_strain, state;
        tensors in the storage convention). Collective."""
        model = self.model
        plastic = {}

        def plastic_fields():
            if not plastic:
                plastic["p"], plastic["ep"] = model.plastic_fields(state.states)
            return plastic["p"], plastic["ep"]
        make = {"U": lambda: self.gather_U(state), "RU": lambda: self.gather_U(state, state.residual),
                "strain": lambda: self.gather_ip(mandel_to_storage(state.strain)),
                "stress": lambda: self.gather_ip(mandel_to_storage(state.stress)),
                "p": lambda: self.gather_ip(plastic_fields()[0][:, None]),
                "plastic_strain": lambda: self.gather_ip(mandel_to_storage(plastic_fields()[1])),
                "state": lambda: self.gather_ip(model.pack_states(state.states))}
        names = OUTPUT_FIELDS if fields is None else fields
        unknown = [k for k in names if k not in make]
        if unknown:
            raise RomnetError(f"unknown HF output field(s) {unknown} (known: {', '.join(OUTPUT_FIELDS)})")
        return {k: make[k]() for k in names}

    # ------------------------------------------------------------------ time loop
    def outputs(self, times=None, state=None):
        """The HF time loop: yields ``(state, info)`` at every output time -- first the
        start ``state`` (default :meth:`initial_state`) with ``info`` None, then the state
        after one increment (:meth:`step`) to each later time of ``times`` (default the
        outputs of the problem's stepping, every cycle) with its :class:`StepInfo`."""
        times = [s[0] for s in self.schedule()] if times is None else list(times)
        state = self.initial_state() if state is None else state
        yield state, None
        for t in times[1:]:
            state, info = self.step(state, float(t))
            yield state, info

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
            todo = sched[start:] if stop_after is None else sched[start:start + int(stop_after)]
            loop = self.outputs([sched[start - 1][0]] + [s[0] for s in todo], state)
            next(loop)                                   # the start state (written already)
            ts = time.perf_counter()
            for (t, cyc, inc), (state, info) in zip(todo, loop):
                res.iterations.append(info.iterations)
                res.cuts.append(info.cuts)
                if writer is not None:
                    writer.write(t, cyc, inc, self.output_fields(state))
                if self.options.verbose:
                    last = info.residuals[-1][-1] if info.residuals and info.residuals[-1] else 0.0
                    say(f"  increment {inc} t={t:g}: {info.iterations} iterations, "
                        f"{info.cuts} cut(s), ||R||/||F||={last:.2e}, {time.perf_counter() - ts:.2f} s")
                ts = time.perf_counter()
            res.wall_time = time.perf_counter() - t0
            res.state = state
            return res
        finally:
            if writer is not None:
                writer.close()


@dataclass
class HFOutputs:
    """What :func:`hf_outputs` returns: ``times`` (n_t,), ``fields`` {name: (n_t, n_points,
    n_comp) array on rank 0, None elsewhere}, ``iterations`` (Newton iterations of all
    increments), ``wall_time`` (s, solver set-up included), ``state_names`` (the law
    states, components of the ``state`` field), ``last_info`` (StepInfo of the last
    increment)."""
    times: np.ndarray
    fields: dict
    iterations: int = 0
    wall_time: float = 0.0
    state_names: tuple = ()
    last_info: StepInfo | None = None


def hf_outputs(mesh, problem, times=None, fields=("U", "p"), comm=None, options=None) -> HFOutputs:
    """One HF run of ``problem`` (:meth:`HFSolver.outputs` over ``times``, default its
    stepping's outputs) keeping ``fields`` of every output, gathered on rank 0 (mesh / store
    order, storage convention). Collective; the solver is closed at the end. ``options``
    default to a quiet :class:`SolverOptions`."""
    comm = comm or world()
    comm.Barrier()
    t0 = time.perf_counter()
    solver = HFSolver(mesh, problem, comm=comm, options=options or SolverOptions(verbose=False))
    times = np.asarray([s[0] for s in solver.schedule()] if times is None else times, dtype=float)
    kept = {k: [] for k in fields}
    its, info = 0, None
    for state, info in solver.outputs(times):
        its += info.iterations if info is not None else 0
        for k, v in solver.output_fields(state, fields).items():
            kept[k].append(v)
    names = tuple(solver.model.state_names)
    solver.close()
    comm.Barrier()
    wall = time.perf_counter() - t0
    out = {k: np.stack(v) if solver.is_root else None for k, v in kept.items()}
    return HFOutputs(times, out, its, wall, names, info)


def default_output(store_in) -> Path:
    p = Path(store_in)
    return p.with_name(p.stem + "-hifi" + (p.suffix or ".h5"))


def run_hifi(store_in, store_out=None, resume=False, options=None, progress=print, comm=None,
             stop_after=None):
    """Read mesh and problem from ``store_in`` (checked by :func:`romnet.validate.validate_store`)
    and run the HF solver, writing the ``hifi`` series of ``store_out`` (default ``<input>-hifi.h5``; the input is never modified).
    Returns the :class:`RunResult`."""
    from ..store import CaseStore
    from ..validate import validate_store
    with CaseStore(store_in) as st:
        if not st.has_problem():
            raise RomnetError(f"{store_in}: the store has no problem definition; import the case "
                              "with its deck")
        validate_store(st)       # finite, plausible mesh and problem before any work (StoreError)
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
