"""QDEIM points of a row-distributed basis (Drmac & Gugercin 2016), distributed.

QDEIM selects the rows of a basis ``Phi`` (n x k) given by QR with column pivoting of
``Phi^T``: Businger-Golub pivoting picks, at each step, the column of ``Phi^T`` (= row of
``Phi``) of largest remaining norm and removes its direction from every other column.
Distributed version: each rank keeps the residual of its own rows; at each of the k steps
the largest residual row norm is found with a global argmax (allgather of each rank's best
(norm, global index), ties to the smallest index), the owner broadcasts that residual row,
and every rank deflates its rows against it. The result is the same on any number of ranks
(up to ties), cost O(n k^2 / n_ranks) + k small collectives.

For fields with several components per point (``n_comp`` rows per point), rows are
selected as above and mapped to their points (a point brings all its components).
"""
from __future__ import annotations

import numpy as np

from .. import mpi

__all__ = ["qdeim_rows", "qdeim_points"]


def qdeim_rows(Phi, comm=None, row_offset=0, n_select=None):
    """Global row indices (selection order) chosen by pivoted QR of ``Phi^T``.

    Phi : (n_rows_local, k) this rank's rows (global indices row_offset + i)."""
    comm = comm or mpi.comm()
    X = np.array(Phi, dtype=np.float64, copy=True)
    n_loc, k = X.shape
    n_select = k if n_select is None else int(n_select)
    chosen = []
    taken = np.zeros(n_loc, dtype=bool)
    for _ in range(n_select):
        nrm = np.einsum("ij,ij->i", X, X)
        nrm[taken] = -1.0
        if n_loc:
            i = int(np.argmax(nrm))
            mine = (float(nrm[i]), -(row_offset + i))
        else:
            mine = (-1.0, 1)
        best = mine if comm.Get_size() == 1 else max(comm.allgather(mine))
        if best[0] <= 0:
            break
        g = -best[1]
        v = np.zeros(k)
        li = g - row_offset
        if 0 <= li < n_loc:
            v = X[li].copy()
            taken[li] = True
        if comm.Get_size() > 1:
            v = comm.allreduce(v)
        v /= np.linalg.norm(v)
        X -= np.outer(X @ v, v)
        chosen.append(g)
    return np.asarray(chosen, dtype=np.int64)


def qdeim_points(Phi, n_comp=1, comm=None, point_offset=0):
    """Global point indices (sorted, unique) of the QDEIM rows of a basis with ``n_comp``
    rows per point; this rank's rows start at point ``point_offset``."""
    rows = qdeim_rows(Phi, comm, row_offset=point_offset * n_comp)
    return np.unique(rows // n_comp)
