"""Linear algebra backends of the HF solver: scipy (serial) and PETSc (distributed).

Both backends see vectors as the owned block of the distributed DOF numbering of
:class:`romnet.hifi.partition.Layout` (numpy arrays, ``n_owned``) and the local form
(owned then ghost DOFs, ``n_local``) used by the element kernels. The tangent matrix is
given as values of a fixed COO pattern (global DOF rows / columns of every element-matrix
entry of this rank's elements), set once.

Constraints (:mod:`romnet.hifi.constraints`): every dependent DOF d is ``u_d = T[d, :] u +
g_d``; :meth:`solve` returns ``du = T dv + dg`` with ``(T^T K T) dv = T^T (rhs - K dg)``
(``dg`` the change of the imposed part, zero on free DOFs), the matrix and vectors keeping
their sizes (unit diagonal on dependent rows). With Dirichlet conditions only (no
multi-point constraint), ``T`` is the identity without the dependent rows: rows and columns
of those DOFs are eliminated directly (PETSc's ``MatZeroRowsColumns``), ``K_ff du_f = b_f -
K_fc dg_c``. With multi-point constraints ``T`` is a distributed matrix (rows owned like the
DOFs, masters anywhere, spanning the partition) and ``T^T K T`` a ``MatPtAP`` (scipy: sparse
products); :meth:`reduce` / :meth:`expand` apply ``T^T`` / ``T``.

PETSc: this module is the only place that imports petsc4py, and it imports mpi4py
first (see INSTALL-NOTES). romnet supports PETSc/petsc4py >= ``PETSC_MIN_VERSION`` (3.18,
Debian 12's, the oldest the test suite runs on: docs/install.md); an older one is refused
with a :class:`romnet.errors.DependencyError` saying what is needed. The tangent is
assembled by :mod:`romnet.hifi.petsc_assembly` (COO where petsc4py has it, else CSR).
Defaults (measured, docs/hifi.md "Linear solver"): below
``DIRECT_MAX_DOFS`` (20 000) DOFs ``-ksp_type preonly -pc_type lu
-pc_factor_mat_solver_type mumps``; above, ``-ksp_type cg`` (every law has a symmetric
tangent) or ``-ksp_type gmres`` (right preconditioned, restart 100; non-symmetric
tangents of nonlinear kinematic hardening) with ``-pc_type gamg``, the rigid-body modes as
near null space (block size = dim), ``-pc_gamg_reuse_interpolation true`` and
``rtol = min(1e-4, 10 * ratio)`` (Newton ratio), the preconditioner built at the first
Newton iteration of an increment and reused for the later ones while it stays effective
(``pc_lag``). Every choice is overridable by PETSc
options given on the command line / ``PETSC_OPTIONS`` or by
``SolverOptions.petsc_options`` (e.g. ``"-ksp_type preonly -pc_type lu
-pc_factor_mat_solver_type mumps"`` to force the direct solver, ``-ksp_rtol 1e-10``).

scipy: SuperLU (``scipy.sparse.linalg.splu``) on the CSR matrix, serial only.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import DependencyError, RomnetError
from .petsc_assembly import make_assembly

__all__ = ["petsc", "petsc_description", "check_petsc_version", "PETSC_MIN_VERSION",
           "ScipyBackend", "PetscBackend", "make_backend", "LinearSolveError"]

#: oldest PETSc (and petsc4py, same numbering) romnet runs with: the whole test suite
#: passes on Debian 12's 3.18.5 (scripts/test-system-mpi.sh, docs/install.md)
PETSC_MIN_VERSION = (3, 18)
#: how to get a PETSc romnet can use (error messages)
PETSC_HINT = (f"install petsc4py >= {'.'.join(map(str, PETSC_MIN_VERSION))} built against your PETSc "
              "(docs/install.md), e.g. pip install 'romnet[petsc]' (PETSc 3.25 binary wheel, Python >= 3.12)")

_PETSC = None
_PETSC_ERROR = None


class LinearSolveError(RomnetError):
    """The linear solver failed (singular matrix, KSP divergence)."""


def check_petsc_version(version, where=""):
    """Raise :class:`DependencyError` when the PETSc ``version`` (major, minor, patch) is
    older than :data:`PETSC_MIN_VERSION`; ``where``: the petsc4py found (message)."""
    if tuple(version[:2]) < PETSC_MIN_VERSION:
        found = ".".join(map(str, version)) + (f" ({where})" if where else "")
        need = ".".join(map(str, PETSC_MIN_VERSION))
        raise DependencyError(f"romnet needs PETSc/petsc4py >= {need}, found {found}: {PETSC_HINT}; "
                              "or uninstall it to run the HF solver with scipy on one rank")


def petsc():
    """The PETSc module (petsc4py) or None when it is not importable; raises
    :class:`DependencyError` when it is older than :data:`PETSC_MIN_VERSION`."""
    global _PETSC, _PETSC_ERROR
    if _PETSC is None:
        try:
            from mpi4py import MPI  # noqa: F401  (must come before petsc4py)
            from petsc4py import PETSc
        except Exception as exc:  # ImportError, or a broken binary install
            _PETSC, _PETSC_ERROR = False, f"{type(exc).__name__}: {exc}"
        else:
            try:
                check_petsc_version(PETSc.Sys.getVersion(), _petsc4py_location())
            except DependencyError as exc:
                _PETSC, _PETSC_ERROR = False, exc
            else:
                _PETSC = PETSc
    if isinstance(_PETSC_ERROR, DependencyError):
        raise _PETSC_ERROR
    return _PETSC or None


def _petsc4py_location():
    import petsc4py
    return str(Path(petsc4py.__file__).parent)


def petsc_description():
    """What PETSc romnet uses, for reports (``romnet --version``): dict with ``version``
    (str) or ``error`` (why not importable / too old), ``petsc4py`` (its folder),
    ``petsc_dir`` / ``petsc_arch`` (the PETSc build it was configured with), ``distribution``
    (the pip distribution that installed petsc4py, "" if none is recorded) and
    ``packages`` (external solvers and partitioners present: MUMPS, hypre, ...)."""
    try:
        PETSc = petsc()
    except DependencyError as exc:
        return {"error": str(exc)}
    if PETSc is None:
        return {"error": f"petsc4py not importable ({_PETSC_ERROR})"}
    import petsc4py
    from importlib.metadata import packages_distributions, version
    cfg = petsc4py.get_config()
    dists = [f"{d} {version(d)}" for d in packages_distributions().get("petsc4py", [])]
    packages = [p for p in ("mumps", "superlu_dist", "hypre", "ptscotch", "parmetis", "metis",
                            "scalapack", "hdf5") if PETSc.Sys.hasExternalPackage(p)]
    return {"version": ".".join(map(str, PETSc.Sys.getVersion())), "petsc4py": _petsc4py_location(),
            "petsc_dir": cfg.get("PETSC_DIR", ""), "petsc_arch": cfg.get("PETSC_ARCH", ""),
            "distribution": ", ".join(dists), "packages": packages}


class _Base:
    name = "?"

    def __init__(self, layout, comm, coo_rows, coo_cols, constrained, symmetric=False):
        self.layout, self.comm = layout, comm
        self.n_owned, self.n_local, self.n_dofs = layout.n_owned, layout.n_local, layout.n_dofs
        self.constrained = np.asarray(constrained, dtype=np.int64)   # owned-block positions
        self.symmetric = symmetric
        self.factorizations = 0

    def norm(self, owned):
        s = float(np.dot(owned, owned))
        return float(np.sqrt(self.comm.allreduce(s)))

    def _set_dependent(self, dependent, t_rows, t_cols, t_vals):
        """Common part of :meth:`set_constraints`: owned dependent positions and whether any
        rank has multi-point entries."""
        self.constrained = np.asarray(dependent, dtype=np.int64)
        t_rows = np.asarray(t_rows, dtype=np.int64)
        self.t_rows, self.t_cols = t_rows, np.asarray(t_cols, dtype=np.int64)
        self.t_vals = np.asarray(t_vals, dtype=float)
        self.mpc = bool(self.comm.allreduce(int(t_rows.size > 0)))
        free = np.ones(self.n_owned, dtype=bool)
        free[self.constrained] = False
        self.free_owned = np.flatnonzero(free)

    def _t_csr(self, first):
        """Local rows of T as CSR (indptr, global column indices, values): identity on free
        DOFs, an explicit 0 diagonal and the master entries on dependent DOFs."""
        n = self.n_owned
        rows = np.concatenate([self.free_owned, self.constrained, self.constrained[self.t_rows]])
        cols = np.concatenate([first + self.free_owned, first + self.constrained, self.t_cols])
        vals = np.concatenate([np.ones(self.free_owned.size), np.zeros(self.constrained.size), self.t_vals])
        order = np.lexsort((cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        return indptr, cols, vals

    def all_true(self, flag):
        return bool(self.comm.allreduce(int(not flag)) == 0)


class ScipyBackend(_Base):
    """Serial backend (one rank): CSR pattern computed once, SuperLU factorization."""

    name = "scipy"

    def __init__(self, layout, comm, coo_rows, coo_cols, constrained, symmetric=False):
        if comm.Get_size() != 1:
            raise RomnetError("the scipy linear solver is serial; running on "
                              f"{comm.Get_size()} ranks needs petsc4py: {PETSC_HINT}")
        super().__init__(layout, comm, coo_rows, coo_cols, constrained, symmetric)
        n = self.n_dofs
        keys = np.asarray(coo_rows, dtype=np.int64) * n + np.asarray(coo_cols, dtype=np.int64)
        uk, self.inv = np.unique(keys, return_inverse=True)
        self.inv = self.inv.ravel()
        self._keys = uk
        self._rows, self._cols = uk // n, uk % n
        self.indices = self._cols.astype(np.int32 if n < 2**31 - 1 else np.int64)
        self.indptr = np.zeros(n + 1, dtype=self.indices.dtype)
        np.cumsum(np.bincount(self._rows, minlength=n), out=self.indptr[1:])
        self.nnz = uk.size
        self.set_constraints(constrained)

    def set_constraints(self, dependent, t_rows=(), t_cols=(), t_vals=()):
        """Dependent DOFs (owned positions) and the master entries ``T[dependent[t_rows],
        t_cols] = t_vals`` (global DOFs); see the module docstring."""
        self._set_dependent(dependent, t_rows, t_cols, t_vals)
        n = self.n_dofs
        c = self.constrained
        free = np.ones(n, dtype=bool)
        free[c] = False
        self.free = free
        self.keep = free[self._rows] & free[self._cols]
        self.diag_c = np.searchsorted(self._keys, c * n + c)
        if c.size and not np.all(self._keys[np.minimum(self.diag_c, self._keys.size - 1)] == c * n + c):
            raise RomnetError("constrained DOF without a diagonal entry (node outside every element)")
        if self.mpc:
            indptr, cols, vals = self._t_csr(0)
            self.T = sp.csr_matrix((vals, cols, indptr), shape=(n, n))
            self.TT = self.T.T.tocsr()

    def reduce(self, owned):
        """T^T v (zero on dependent DOFs)."""
        v = np.asarray(owned, dtype=float)
        out = self.TT @ v if self.mpc else v.copy()
        out[self.constrained] = 0.0
        return out

    def expand(self, owned):
        """T v (free DOFs: v; dependent DOFs: their master combination)."""
        v = np.asarray(owned, dtype=float)
        if self.mpc:
            return self.T @ v
        out = v.copy()
        out[self.constrained] = 0.0
        return out

    def forward(self, owned):
        return np.asarray(owned, dtype=float).copy()

    def reverse_add(self, local):
        return np.asarray(local, dtype=float).copy()

    def add_global(self, idx, vals):
        return np.bincount(np.asarray(idx, dtype=np.int64), weights=vals, minlength=self.n_dofs)

    def gather(self, owned):
        return np.asarray(owned, dtype=float).copy()

    def solve(self, values, rhs, dg, ratio=None, new_increment=True):
        """``du = T dv + dg`` with ``T^T K T dv = T^T (rhs - K dg)`` (``dg`` owned vector,
        zero on free DOFs); values: COO values (ratio, new_increment: unused, the solve is
        direct)."""
        data = np.bincount(self.inv, weights=values, minlength=self.nnz)
        K = sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_dofs,) * 2)
        x = np.zeros(self.n_dofs)
        x[self.constrained] = np.asarray(dg)[self.constrained]
        b = rhs - K @ x
        if self.mpc:
            b = self.TT @ b
            b[self.constrained] = 0.0
            ones = np.zeros(self.n_dofs)
            ones[self.constrained] = 1.0
            K = sp.csc_matrix(self.TT @ K @ self.T + sp.diags(ones))
        else:
            b[self.constrained] = x[self.constrained]
            data = np.where(self.keep, data, 0.0)
            data[self.diag_c] = 1.0
            K = sp.csc_matrix(sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_dofs,) * 2))
        try:
            lu = spla.splu(K, permc_spec="MMD_AT_PLUS_A" if self.symmetric else "COLAMD")
        except RuntimeError as exc:
            raise LinearSolveError(f"sparse LU failed: {exc}") from exc
        self.factorizations += 1
        du = lu.solve(b)
        if not np.all(np.isfinite(du)):
            raise LinearSolveError("sparse LU gave a non-finite solution (singular tangent?)")
        if self.mpc:
            du = self.T @ du + x
        return du


#: below this many DOFs the PETSc default is a direct solver (MUMPS), above it CG/GMRES +
#: GAMG (measured on the elastoplastic c3d8 box, docs/hifi.md "Linear solver")
DIRECT_MAX_DOFS = 20_000


def iterative_rtol(ratio):
    """Default relative tolerance of the Krylov solve of a Newton correction for the
    Newton residual ratio ``ratio``: ``min(1e-4, 10 * ratio)``, at least 1e-12 (measured on
    the elastoplastic box, docs/hifi.md: rtol 1e-4 .. 1e-3 costs at most one Newton
    iteration more than an exact solve at ratio 1e-5, and 30-45 % fewer Krylov iterations
    than 1e-6)."""
    r = 1e-5 if ratio is None or not ratio > 0 else float(ratio)
    return max(min(1e-4, 10.0 * r), 1e-12)


#: a reused (lagged) preconditioner is rebuilt once a solve needs more than this many
#: times the Krylov iterations of the solve that built it (plus PC_LAG_SLACK)
PC_LAG_GROWTH = 1.5
PC_LAG_SLACK = 5


class PetscBackend(_Base):
    """Distributed backend: ghosted Vec, MPIAIJ matrix assembled from the COO pattern
    (:mod:`romnet.hifi.petsc_assembly`; ``assembly``: None = COO when petsc4py has it,
    else CSR), KSP.

    Defaults (every one overridable by PETSc options): fewer than ``direct_max_dofs`` DOFs
    -> ``preonly`` + MUMPS LU; more -> CG
    (symmetric tangent) or GMRES (non-symmetric) preconditioned by GAMG with the rigid-body
    modes of the owned nodes (``coordinates``) as near null space (matrix block size =
    dim), interpolation reused across Newton iterations, relative tolerance
    :func:`iterative_rtol` of the Newton ``ratio`` given to :meth:`solve` (unless
    ``-ksp_rtol`` is given)."""

    name = "petsc"

    def __init__(self, layout, comm, coo_rows, coo_cols, constrained, symmetric=False,
                 petsc_options="", coordinates=None, direct_max_dofs=None, pc_lag=True,
                 assembly=None):
        super().__init__(layout, comm, coo_rows, coo_cols, constrained, symmetric)
        PETSc = petsc()
        if PETSc is None:
            raise RomnetError(f"petsc4py is not importable: {PETSC_HINT}")
        self.PETSc = PETSc
        pcomm = comm
        IT = PETSc.IntType
        opts = PETSc.Options()
        before = opts.getAll()
        if petsc_options:
            opts.insertString(petsc_options)
        n, N = self.n_owned, self.n_dofs
        dim = layout.dim
        dmax = DIRECT_MAX_DOFS if direct_max_dofs is None else int(direct_max_dofs)
        self.default_kind = "direct" if N < dmax else "iterative"
        self.x = PETSc.Vec().createGhost(layout.ghost_dofs.astype(IT), size=(n, N), comm=pcomm)
        self.g = PETSc.Vec().createMPI((n, N), comm=pcomm)     # global-index ADD assembly
        self.A = PETSc.Mat().createAIJ(((n, N), (n, N)), bsize=dim, comm=pcomm)
        self.assembly = make_assembly(PETSc, self.A, layout, comm, coo_rows, coo_cols, assembly)
        self.A.setOption(PETSc.Mat.Option.KEEP_NONZERO_PATTERN, True)
        if symmetric:
            self.A.setOption(PETSc.Mat.Option.SYMMETRIC, True)
            self.A.setOption(PETSc.Mat.Option.SYMMETRY_ETERNAL, True)
        self.nullspace = None
        if coordinates is not None and self.default_kind == "iterative" and dim in (2, 3):
            xv = PETSc.Vec().createMPI((n, N), bsize=dim, comm=pcomm)
            xv.array[:] = np.asarray(coordinates, dtype=float).reshape(-1)[:n]
            self.nullspace = PETSc.NullSpace().createRigidBody(xv)
            xv.destroy()
            self.A.setNearNullSpace(self.nullspace)
        self.b = self.A.createVecLeft()
        self.du = self.A.createVecRight()
        self.xc = self.A.createVecRight()
        self.tmp = self.A.createVecLeft()
        self.T = self.Ar = self.depvec = None
        ksp = PETSc.KSP().create(comm=pcomm)
        ksp.setOperators(self.A)
        pc = ksp.getPC()
        if self.default_kind == "direct":
            ksp.setType("preonly")
            pc.setType("lu")              # MUMPS Cholesky measured no faster on these tangents
            pc.setFactorSolverType("mumps")
        else:
            ksp.setType("cg" if symmetric else "gmres")
            if not symmetric:
                ksp.setPCSide(PETSc.PC.Side.RIGHT)   # rtol on the true residual
            pc.setType("gamg")
            if not opts.hasName("pc_gamg_reuse_interpolation"):
                opts["pc_gamg_reuse_interpolation"] = "true"
            if not opts.hasName("mg_levels_ksp_max_it"):
                opts["mg_levels_ksp_max_it"] = "1"     # Chebyshev degree 1 (docs/hifi.md)
            if not symmetric and not opts.hasName("ksp_gmres_restart"):
                opts["ksp_gmres_restart"] = "100"
        self.user_rtol = opts.hasName("ksp_rtol")
        ksp.setTolerances(rtol=1e-12, atol=1e-50, max_it=2000)
        ksp.setFromOptions()
        # options added here (the given string, the defaults above) do not outlive this
        # backend's first solve: multigrid level options (-mg_levels_*, -mg_coarse_*) are
        # read when PCSetUp creates the levels, so they are removed only after it
        self._added_options = set(opts.getAll()) - set(before)
        self.iterative = ksp.getType() != "preonly"
        self.pc_lag = bool(pc_lag) and self.iterative
        self._fresh_its = None     # Krylov iterations of the solve that built the current PC
        self.pc_builds = 0
        self.ksp = ksp
        self.krylov_iterations = []
        self.timings = {}          # accumulated seconds: assemble (COO values), dirichlet, ksp
        self.set_constraints(constrained)

    def set_constraints(self, dependent, t_rows=(), t_cols=(), t_vals=()):
        """Dependent DOFs (owned positions) and the master entries ``T[dependent[t_rows],
        t_cols] = t_vals`` (global DOFs); see the module docstring. T is built with
        ``MatCreateMPIAIJWithArrays`` (in every PETSc version)."""
        PETSc = self.PETSc
        IT = PETSc.IntType
        self._set_dependent(dependent, t_rows, t_cols, t_vals)
        first = self.layout.owned_range[0] * self.layout.dim
        self.rows_c = (first + self.constrained).astype(IT)
        for o in (self.T, self.Ar, self.depvec):
            if o is not None:
                o.destroy()
        self.T = self.Ar = self.depvec = None
        if self.mpc:
            indptr, cols, vals = self._t_csr(first)
            n, N = self.n_owned, self.n_dofs
            self.T = PETSc.Mat().createAIJ(((n, N), (n, N)), csr=(indptr.astype(IT), cols.astype(IT), vals),
                                           comm=self.comm)
            self.T.assemble()
            self.depvec = self.A.createVecLeft()
            self.depvec.zeroEntries()
            self.depvec.array[self.constrained] = 1.0
        self.ksp.setOperators(self.A)
        self._fresh_its = None

    def reduce(self, owned):
        """T^T v (zero on dependent DOFs)."""
        v = np.asarray(owned, dtype=float)
        if not self.mpc:
            out = v.copy()
        else:
            self.tmp.array[:] = v
            self.T.multTranspose(self.tmp, self.b)
            out = self.b.array.copy()
        out[self.constrained] = 0.0
        return out

    def expand(self, owned):
        """T v (free DOFs: v; dependent DOFs: their master combination)."""
        v = np.asarray(owned, dtype=float)
        if not self.mpc:
            out = v.copy()
            out[self.constrained] = 0.0
            return out
        self.tmp.array[:] = v
        self.T.mult(self.tmp, self.b)
        return self.b.array.copy()

    def describe(self):
        pc = self.ksp.getPC()
        s = f"petsc ksp={self.ksp.getType()} pc={pc.getType()}"
        try:
            st = pc.getFactorSolverType() if pc.getType() in ("lu", "cholesky") else None
            if st:
                s += f" ({st})"
        except Exception:
            pass
        if self.iterative:
            s += f", rtol {'-ksp_rtol' if self.user_rtol else 'min(1e-4, 10 ratio)'}"
            if self.pc_lag:
                s += ", preconditioner reused within an increment"
            if self.nullspace is not None:
                s += ", rigid-body near null space"
            pc = self.ksp.getPC()
            if pc.getType() in ("gamg", "mg") and pc.getMGLevels() > 1:
                sm = pc.getMGSmoother(pc.getMGLevels() - 1)
                s += f", {pc.getMGLevels()} levels, smoother {sm.getType()} x{sm.getTolerances()[3]}"
        return s

    def forward(self, owned):
        self.x.array[:] = owned
        self.x.ghostUpdate(addv=self.PETSc.InsertMode.INSERT, mode=self.PETSc.ScatterMode.FORWARD)
        with self.x.localForm() as lf:
            return lf.array.copy()

    def reverse_add(self, local):
        # the whole local form (ghosts included) is overwritten: no stale ghost values
        with self.x.localForm() as lf:
            lf.array[:] = local
        self.x.ghostUpdate(addv=self.PETSc.InsertMode.ADD, mode=self.PETSc.ScatterMode.REVERSE)
        out = self.x.array.copy()
        with self.x.localForm() as lf:
            lf.array[:] = 0.0
        return out

    def add_global(self, idx, vals):
        self.g.zeroEntries()
        if len(idx):
            self.g.setValues(np.asarray(idx, dtype=self.PETSc.IntType), np.asarray(vals, dtype=float),
                             addv=self.PETSc.InsertMode.ADD)
        self.g.assemblyBegin()
        self.g.assemblyEnd()
        return self.g.array.copy()

    def gather(self, owned):
        """Full vector (new numbering) on rank 0, None elsewhere."""
        parts = self.comm.gather(np.asarray(owned, dtype=float), root=0)
        return np.concatenate(parts) if self.comm.Get_rank() == 0 else None

    def solve(self, values, rhs, dg, ratio=None, new_increment=True):
        """``du = T dv + dg`` with ``T^T K T dv = T^T (rhs - K dg)`` (K from the COO
        ``values``; ``dg`` owned vector, zero on free DOFs).

        Iterative solvers with ``pc_lag``: the preconditioner is built at the first solve
        of an increment (``new_increment``) and reused for the later Newton iterations of
        that increment while a solve needs at most ``PC_LAG_GROWTH`` x (+ ``PC_LAG_SLACK``)
        the Krylov iterations of the solve that built it; a reused preconditioner whose
        solve fails is rebuilt and the solve repeated. The preconditioner changes only the
        Krylov iteration count, not the converged correction (same ``rtol``)."""
        PETSc = self.PETSc
        if self.iterative and not self.user_rtol:
            self.ksp.setTolerances(rtol=iterative_rtol(ratio))
        t0 = time.perf_counter()
        self.assembly.set_values(values)
        t1 = time.perf_counter()
        self.xc.zeroEntries()
        self.xc.array[self.constrained] = np.asarray(dg)[self.constrained]
        if self.mpc:
            self.A.mult(self.xc, self.tmp)
            self.tmp.array[:] = np.asarray(rhs, dtype=float) - self.tmp.array
            self.T.multTranspose(self.tmp, self.b)
            self.b.array[self.constrained] = 0.0
            first = self.Ar is None
            self.Ar = self.A.PtAP(self.T, self.Ar)
            self.Ar.setDiagonal(self.depvec, addv=PETSc.InsertMode.ADD)
            if first:
                if self.nullspace is not None:
                    self.Ar.setNearNullSpace(self.nullspace)
                self.ksp.setOperators(self.Ar)
        else:
            self.b.array[:] = rhs
            self.A.zeroRowsColumns(self.rows_c, diag=1.0, x=self.xc, b=self.b)
        t2 = time.perf_counter()
        reuse = self.pc_lag and not new_increment and self._fresh_its is not None
        reason = self._ksp_solve(reuse)
        if reuse and (reason < 0 or self._last_its > PC_LAG_GROWTH * self._fresh_its + PC_LAG_SLACK):
            if reason < 0:        # the lagged preconditioner failed: rebuild and solve again
                reason = self._ksp_solve(False)
            else:                 # converged, but slowly: rebuild for the next iteration
                self._fresh_its = None
        t3 = time.perf_counter()
        for k, v in (("assemble", t1 - t0), ("dirichlet", t2 - t1), ("ksp", t3 - t2)):
            self.timings[k] = self.timings.get(k, 0.0) + v
        self.factorizations += 1
        if reason < 0:
            raise LinearSolveError(f"PETSc KSP diverged (reason {reason})")
        if self.mpc:
            self.T.mult(self.du, self.tmp)
            self.du.array[:] = self.tmp.array + self.xc.array
        out = self.du.array.copy()
        if not self.all_true(np.all(np.isfinite(out))):
            raise LinearSolveError("linear solve gave a non-finite solution (singular tangent?)")
        return out

    def _ksp_solve(self, reuse):
        """One KSP solve into ``self.du``; ``reuse``: keep the current preconditioner."""
        self.ksp.getPC().setReusePreconditioner(bool(reuse))
        self.du.zeroEntries()
        self.ksp.solve(self.b, self.du)
        self._forget_options()
        its = self.ksp.getIterationNumber()
        self.krylov_iterations.append(its)
        self._last_its = its
        if not reuse:
            self.pc_builds += 1
            self._fresh_its = max(its, 1)
        return self.ksp.getConvergedReason()

    def _forget_options(self):
        """Remove from PETSc's global database the options this backend added (once its
        preconditioner has been set up), so another solver starts from the same database."""
        if self._added_options:
            opts = self.PETSc.Options()
            for k in self._added_options:
                opts.delValue(k)
        self._added_options = None

    def destroy(self):
        self._forget_options()
        for o in (self.ksp, self.A, self.x, self.g, self.b, self.du, self.xc, self.tmp, self.nullspace,
                  self.T, self.Ar, self.depvec):
            if o is not None:
                o.destroy()


def make_backend(kind, layout, comm, coo_rows, coo_cols, constrained, symmetric=False,
                 petsc_options="", coordinates=None, direct_max_dofs=None, pc_lag=True,
                 assembly=None):
    """kind: "auto" (PETSc when importable, else scipy on one rank), "scipy" or "petsc";
    assembly: PETSc matrix assembly (:func:`romnet.hifi.petsc_assembly.make_assembly`)."""
    if kind not in ("auto", "scipy", "petsc"):
        raise RomnetError(f"linear solver {kind!r} unknown (auto, scipy, petsc)")
    if kind == "auto":
        kind = "petsc" if petsc() is not None else "scipy"
    if kind == "scipy":
        return ScipyBackend(layout, comm, coo_rows, coo_cols, constrained, symmetric)
    return PetscBackend(layout, comm, coo_rows, coo_cols, constrained, symmetric, petsc_options,
                        coordinates, direct_max_dofs, pc_lag, assembly)
