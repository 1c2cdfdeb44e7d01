"""Linear algebra backends of the HF solver: scipy (serial) and PETSc (distributed).

Both backends see vectors as the owned block of the distributed DOF numbering of
:class:`romnet.hifi.partition.Layout` (numpy arrays, ``n_owned``) and the local form
(owned then ghost DOFs, ``n_local``) used by the element kernels. The tangent matrix is
given as values of a fixed COO pattern (global DOF rows / columns of every element-matrix
entry of this rank's elements), set once.

Dirichlet conditions: rows and columns of the constrained DOFs are eliminated (PETSc's
``MatZeroRowsColumns`` semantics): the system solved is ``K_ff du_f = b_f - K_fc du_c``,
``du_c`` given. The right-hand side and the matrix keep the same sizes (unit diagonal on
constrained rows).

PETSc: this module is the only place that imports petsc4py, and it imports mpi4py
first (see INSTALL-NOTES). Defaults: ``-ksp_type preonly -pc_type lu
-pc_factor_mat_solver_type mumps`` (a direct solver valid for the non-symmetric tangents
of nonlinear kinematic hardening, exact enough for the 1-vs-N-ranks identity); every
choice is overridable by PETSc options given on the command line / ``PETSC_OPTIONS`` or
by ``SolverOptions.petsc_options`` (e.g. ``"-ksp_type gmres -pc_type gamg -ksp_rtol
1e-10"``; for symmetric material sets ``-pc_type cholesky`` is valid too, the matrix is
flagged symmetric then).

scipy: SuperLU (``scipy.sparse.linalg.splu``) on the CSR matrix, serial only.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import RomnetError

__all__ = ["petsc", "ScipyBackend", "PetscBackend", "make_backend", "LinearSolveError"]

_PETSC = None


class LinearSolveError(RomnetError):
    """The linear solver failed (singular matrix, KSP divergence)."""


def petsc():
    """The PETSc module (petsc4py) or None when it is not importable."""
    global _PETSC
    if _PETSC is None:
        try:
            from mpi4py import MPI  # noqa: F401  (must come before petsc4py)
            from petsc4py import PETSc
            _PETSC = PETSc
        except Exception:  # ImportError, or a broken binary install
            _PETSC = False
    return _PETSC or None


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

    def all_true(self, flag):
        return bool(self.comm.allreduce(int(not flag)) == 0)


class ScipyBackend(_Base):
    """Serial backend (one rank): CSR pattern computed once, SuperLU factorization."""

    name = "scipy"

    def __init__(self, layout, comm, coo_rows, coo_cols, constrained, symmetric=False):
        if comm.Get_size() != 1:
            raise RomnetError("the scipy linear solver is serial; running on "
                              f"{comm.Get_size()} ranks needs petsc4py (pip install "
                              "dolfinx-solver-real, or any petsc4py build)")
        super().__init__(layout, comm, coo_rows, coo_cols, constrained, symmetric)
        n = self.n_dofs
        keys = np.asarray(coo_rows, dtype=np.int64) * n + np.asarray(coo_cols, dtype=np.int64)
        uk, self.inv = np.unique(keys, return_inverse=True)
        self.inv = self.inv.ravel()
        rows, cols = uk // n, uk % n
        self.indices = cols.astype(np.int32 if n < 2**31 - 1 else np.int64)
        self.indptr = np.zeros(n + 1, dtype=self.indices.dtype)
        np.cumsum(np.bincount(rows, minlength=n), out=self.indptr[1:])
        self.nnz = uk.size
        free = np.ones(n, dtype=bool)
        free[self.constrained] = False
        self.free = free
        self.keep = free[rows] & free[cols]
        c = self.constrained
        self.diag_c = np.searchsorted(uk, c * n + c)
        if c.size and not np.all(uk[np.minimum(self.diag_c, uk.size - 1)] == c * n + c):
            raise RomnetError("constrained DOF without a diagonal entry (node outside every element)")

    def forward(self, owned):
        return np.asarray(owned, dtype=float).copy()

    def reverse_add(self, local):
        return np.asarray(local, dtype=float).copy()

    def add_global(self, idx, vals):
        return np.bincount(np.asarray(idx, dtype=np.int64), weights=vals, minlength=self.n_dofs)

    def gather(self, owned):
        return np.asarray(owned, dtype=float).copy()

    def solve(self, values, rhs, du_c):
        """Solve K du = rhs with du[constrained] = du_c; values: COO values."""
        data = np.bincount(self.inv, weights=values, minlength=self.nnz)
        K = sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_dofs,) * 2)
        x = np.zeros(self.n_dofs)
        x[self.constrained] = du_c
        b = rhs - K @ x
        b[self.constrained] = du_c
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
        return du


class PetscBackend(_Base):
    """Distributed backend: ghosted Vec, MPIAIJ matrix with COO assembly, KSP."""

    name = "petsc"

    def __init__(self, layout, comm, coo_rows, coo_cols, constrained, symmetric=False,
                 petsc_options=""):
        super().__init__(layout, comm, coo_rows, coo_cols, constrained, symmetric)
        PETSc = petsc()
        if PETSc is None:
            raise RomnetError("petsc4py is not importable (pip install dolfinx-solver-real, or "
                              "any petsc4py build)")
        self.PETSc = PETSc
        pcomm = comm
        IT = PETSc.IntType
        if petsc_options:
            PETSc.Options().insertString(petsc_options)
        n, N = self.n_owned, self.n_dofs
        self.x = PETSc.Vec().createGhost(layout.ghost_dofs.astype(IT), size=(n, N), comm=pcomm)
        self.g = PETSc.Vec().createMPI((n, N), comm=pcomm)     # global-index ADD assembly
        self.A = PETSc.Mat().createAIJ(((n, N), (n, N)), comm=pcomm)
        self.A.setPreallocationCOO(np.asarray(coo_rows, dtype=IT), np.asarray(coo_cols, dtype=IT))
        self.A.setOption(PETSc.Mat.Option.KEEP_NONZERO_PATTERN, True)
        if symmetric:
            self.A.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        self.rows_c = (layout.owned_range[0] * layout.dim + self.constrained).astype(IT)
        self.b = self.A.createVecLeft()
        self.du = self.A.createVecRight()
        self.xc = self.A.createVecRight()
        ksp = PETSc.KSP().create(comm=pcomm)
        ksp.setOperators(self.A)
        ksp.setType("preonly")
        pc = ksp.getPC()
        pc.setType("lu")
        pc.setFactorSolverType("mumps")
        ksp.setTolerances(rtol=1e-12, atol=1e-50, max_it=2000)
        ksp.setFromOptions()
        self.ksp = ksp

    def describe(self):
        pc = self.ksp.getPC()
        s = f"petsc ksp={self.ksp.getType()} pc={pc.getType()}"
        try:
            st = pc.getFactorSolverType()
            if st:
                s += f" ({st})"
        except Exception:
            pass
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

    def solve(self, values, rhs, du_c):
        PETSc = self.PETSc
        self.A.setValuesCOO(np.asarray(values, dtype=PETSc.ScalarType), addv=PETSc.InsertMode.INSERT)
        self.b.array[:] = rhs
        self.xc.zeroEntries()
        self.xc.array[self.constrained] = du_c
        self.A.zeroRowsColumns(self.rows_c, diag=1.0, x=self.xc, b=self.b)
        self.du.zeroEntries()
        self.ksp.solve(self.b, self.du)
        self.factorizations += 1
        reason = self.ksp.getConvergedReason()
        if reason < 0:
            raise LinearSolveError(f"PETSc KSP diverged (reason {reason})")
        out = self.du.array.copy()
        if not self.all_true(np.all(np.isfinite(out))):
            raise LinearSolveError("linear solve gave a non-finite solution (singular tangent?)")
        return out

    def destroy(self):
        for o in (self.ksp, self.A, self.x, self.g, self.b, self.du, self.xc):
            o.destroy()


def make_backend(kind, layout, comm, coo_rows, coo_cols, constrained, symmetric=False,
                 petsc_options=""):
    """kind: "auto" (PETSc when importable, else scipy on one rank), "scipy" or "petsc"."""
    if kind not in ("auto", "scipy", "petsc"):
        raise RomnetError(f"linear solver {kind!r} unknown (auto, scipy, petsc)")
    if kind == "auto":
        kind = "petsc" if petsc() is not None else "scipy"
    if kind == "scipy":
        return ScipyBackend(layout, comm, coo_rows, coo_cols, constrained, symmetric)
    return PetscBackend(layout, comm, coo_rows, coo_cols, constrained, symmetric, petsc_options)
