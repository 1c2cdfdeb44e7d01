"""Assembly of the HF tangent into a PETSc MPIAIJ matrix from a fixed COO pattern.

The pattern is given once (global DOF rows / columns of every element-matrix entry of this
rank's elements, duplicates allowed, rows owned by other ranks allowed); the values, in the
same order, at every Newton iteration. Two paths, same matrix (to round-off):

* ``"coo"``: PETSc's own COO assembly (``Mat.setPreallocationCOO`` / ``setValuesCOO``),
  used when petsc4py has it (the PETSc 3.25 wheel does);
* ``"csr"``: for petsc4py builds without it (3.18, Debian 12's): the duplicates are summed
  locally (``np.bincount``) into a CSR pattern over the rank's local DOFs (owned then
  ghost, :class:`romnet.hifi.partition.Layout`) and added with one
  ``Mat.setValuesLocalCSR`` call (off-rank rows go through PETSc's stash); the matrix is
  preallocated with the exact pattern of its owned rows (``setPreallocationCSR``), the
  ghost-row entries sent to their owners once with an all-to-all.

This module imports no PETSc: the caller passes the ``PETSc`` module
(:func:`romnet.hifi.linear.petsc`, the one import).
"""
from __future__ import annotations

import numpy as np

from ..errors import RomnetError

__all__ = ["assembly_kinds", "make_assembly"]


def assembly_kinds(PETSc):
    """Assembly paths this petsc4py supports, preferred first."""
    return (["coo"] if hasattr(PETSc.Mat, "setPreallocationCOO") else []) + ["csr"]


class _Assembly:
    """``kind``; ``size``: values per assembly (the COO pattern's length)."""

    kind = "?"

    def __init__(self, PETSc, A, coo_rows):
        self.PETSc, self.A = PETSc, A
        self.size = len(coo_rows)


class CooAssembly(_Assembly):
    """``setPreallocationCOO`` once, ``setValuesCOO`` (INSERT: duplicates summed) per call."""

    kind = "coo"

    def __init__(self, PETSc, A, layout, comm, coo_rows, coo_cols):
        super().__init__(PETSc, A, coo_rows)
        IT = PETSc.IntType
        A.setPreallocationCOO(np.asarray(coo_rows, dtype=IT), np.asarray(coo_cols, dtype=IT))

    def set_values(self, values):
        PETSc = self.PETSc
        self.A.setValuesCOO(np.asarray(values, dtype=PETSc.ScalarType), addv=PETSc.InsertMode.INSERT)


class CsrAssembly(_Assembly):
    """Local CSR of the summed COO entries, added with ``setValuesLocalCSR`` per call."""

    kind = "csr"

    def __init__(self, PETSc, A, layout, comm, coo_rows, coo_cols):
        super().__init__(PETSc, A, coo_rows)
        IT = PETSc.IntType
        rows = np.asarray(coo_rows, dtype=np.int64)
        cols = np.asarray(coo_cols, dtype=np.int64)
        d, n_loc, n_own = layout.dim, layout.n_local, layout.n_owned
        # global (new) DOF -> local DOF (owned then ghost)
        lrow, lcol = (layout.g2l[layout.node_of_new[g // d]] * d + g % d for g in (rows, cols))
        if rows.size and (lrow.min() < 0 or lcol.min() < 0):
            raise ValueError("COO pattern entry outside the rank's local DOFs")
        keys, self.inv = np.unique(lrow * n_loc + lcol, return_inverse=True)
        self.inv = self.inv.ravel()
        self.nnz = keys.size
        self.indptr = np.zeros(n_loc + 1, dtype=IT)
        np.cumsum(np.bincount(keys // n_loc, minlength=n_loc), out=self.indptr[1:])
        self.indices = (keys % n_loc).astype(IT)
        gdof = layout.local_dofs.astype(np.int64)
        A.setPreallocationCSR(self._owned_pattern(layout, comm, gdof[keys // n_loc],
                                                  gdof[keys % n_loc], n_own, IT))
        lgmap = PETSc.LGMap().create(gdof.astype(IT), comm=A.getComm())
        A.setLGMap(lgmap, lgmap)
        lgmap.destroy()
        # an entry outside the preallocated pattern is a bug: fail instead of reallocating
        A.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)

    @staticmethod
    def _owned_pattern(layout, comm, grow, gcol, n_own, IT):
        """(indptr, indices) of this rank's owned rows: its own entries and those of the
        other ranks' elements, sent to the owner (ghost rows only)."""
        d, N = layout.dim, layout.n_dofs
        first = layout.owned_range[0] * d
        mine = (grow >= first) & (grow < first + n_own)
        keys = grow[mine] * N + gcol[mine]
        if comm.Get_size() > 1:
            owner = layout.node_owner[layout.node_of_new[grow[~mine] // d]]
            other = grow[~mine] * N + gcol[~mine]
            send = [other[owner == r] for r in range(comm.Get_size())]
            keys = np.concatenate([keys] + comm.alltoall(send))
        keys = np.unique(keys)
        indptr = np.zeros(n_own + 1, dtype=IT)
        np.cumsum(np.bincount(keys // N - first, minlength=n_own), out=indptr[1:])
        return indptr, (keys % N).astype(IT)

    def set_values(self, values):
        PETSc = self.PETSc
        data = np.bincount(self.inv, weights=values, minlength=self.nnz)
        self.A.zeroEntries()
        self.A.setValuesLocalCSR(self.indptr, self.indices, np.asarray(data, dtype=PETSc.ScalarType),
                                 addv=PETSc.InsertMode.ADD)
        self.A.assemble()


def make_assembly(PETSc, A, layout, comm, coo_rows, coo_cols, kind=None):
    """The assembly of ``A`` (sizes set, not preallocated) for the COO pattern; ``kind``:
    None (the first of :func:`assembly_kinds`), "coo" or "csr"."""
    kinds = assembly_kinds(PETSc)
    kind = kinds[0] if kind is None else kind
    if kind not in kinds:
        raise RomnetError(f"PETSc matrix assembly {kind!r} not available with this petsc4py ({', '.join(kinds)})")
    cls = CooAssembly if kind == "coo" else CsrAssembly
    return cls(PETSc, A, layout, comm, coo_rows, coo_cols)
