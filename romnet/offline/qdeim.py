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

__all__ = ["qdeim_rows", "qdeim_points", "deim_extend"]


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
        best, g = _global_argmax(nrm, row_offset, comm)
        if best <= 0:
            break
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


def deim_extend(Phi, n_comp, points, first, comm=None, point_offset=0):
    """Points for the modes ``first ..`` of a basis whose modes ``0 .. first-1`` are
    interpolated at ``points`` (sorted global point indices): DEIM's greedy step per new mode
    j -- interpolate mode j from the earlier modes at the current points (least squares),
    add the point of largest residual (over its ``n_comp`` rows, global argmax, ties to the
    smallest index). For a basis extended by appending modes (learning ROMs), this keeps the
    earlier points and costs O(n_rows x j) per new mode instead of a new pivoted QR.
    Phi : (n_points_local * n_comp, m) this rank's rows (points from ``point_offset``).
    Returns the sorted union. Collective; the same on any number of ranks."""
    comm = comm or mpi.comm()
    Phi = np.asarray(Phi, dtype=np.float64)
    n_loc = Phi.shape[0] // n_comp
    pts = [int(p) for p in np.asarray(points, dtype=np.int64)]
    for j in range(int(first), Phi.shape[1]):
        P = np.asarray(sorted(set(pts)), dtype=np.int64)
        rows_at = _rows_at(Phi[:, :j + 1], n_comp, P, comm, point_offset)       # (|P| n_comp, j+1)
        if j and P.size:
            c = np.linalg.lstsq(rows_at[:, :j], rows_at[:, j], rcond=None)[0]
            r = Phi[:, j] - Phi[:, :j] @ c
        else:
            r = Phi[:, j].copy()
        nrm = np.einsum("ic,ic->i", r.reshape(n_loc, n_comp), r.reshape(n_loc, n_comp)) if n_loc else np.zeros(0)
        loc_taken = P - point_offset
        loc_taken = loc_taken[(loc_taken >= 0) & (loc_taken < n_loc)]
        nrm[loc_taken] = -1.0
        best, g = _global_argmax(nrm, point_offset, comm)
        if best > 0:
            pts.append(g)
    return np.asarray(sorted(set(pts)), dtype=np.int64)


def _global_argmax(values, offset, comm):
    """(largest value over all ranks, its global index; ties to the smallest index): each
    rank holds ``values`` of the global indices ``offset ..``; (-1, -1) without any."""
    mine = (float(values.max()), -(offset + int(np.argmax(values)))) if values.size else (-1.0, 1)
    best = mine if comm.Get_size() == 1 else max(comm.allgather(mine))
    return best[0], -best[1]


def _rows_at(Phi, n_comp, P, comm, point_offset):
    """Rows of the points P (all components) of a row-distributed basis, replicated."""
    n_loc = Phi.shape[0] // n_comp
    out = np.zeros((P.size, n_comp, Phi.shape[1]))
    loc = P - point_offset
    m = (loc >= 0) & (loc < n_loc)
    out[m] = Phi.reshape(n_loc, n_comp, -1)[loc[m]]
    if comm.Get_size() > 1:
        out = comm.allreduce(out)
    return out.reshape(P.size * n_comp, -1)
