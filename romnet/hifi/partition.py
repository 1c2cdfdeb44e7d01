"""Element partition across MPI ranks and the distributed DOF layout.

Partition (:func:`partition_elements`), in order of preference:

1. ``mesh.partition`` when it exists and names exactly ``size`` ranks (e.g. the subdomains
   of a Z-set parallel run) -- unless ``use_mesh_partition=False``;
2. with petsc4py: ``MatPartitioning`` (type ``ptscotch``, overridable with the PETSc option
   ``-mat_partitioning_type``) on the element dual graph (two elements are neighbours when
   they share at least ``dim`` nodes, i.e. a face in 3D / an edge in 2D);
3. without petsc4py: coordinate recursive bisection of the element centroids
   (deterministic; split along the longest extent, counts proportional to the ranks).

One rank always gets every element. The mesh is replicated on every rank (it is read from
the store by each rank); fields are distributed.

DOF layout (:class:`Layout`): a node is owned by the lowest rank among the elements that
touch it (nodes touched by no element belong to rank 0 and are clamped). Nodes are
renumbered so each rank owns a contiguous block (``new = position in (owner, old index)
order``); DOFs are node-major in that numbering (``new_node*dim + c``). A rank's *local*
nodes are its owned nodes (in new order) followed by its ghost nodes (nodes of its
elements owned by another rank, in new order): PETSc's ghosted-vector local form.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["partition_elements", "Layout", "element_dual_graph", "recursive_bisection"]


def _element_nodes(mesh):
    """CSR incidence (n_el, n_nodes) of the mesh elements."""
    rows, cols = [], []
    off = 0
    for b in mesh.blocks:
        c = b.connectivity
        rows.append(np.repeat(np.arange(off, off + c.shape[0]), c.shape[1]))
        cols.append(c.ravel())
        off += c.shape[0]
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(r.size), (r, c)), shape=(off, mesh.n_nodes))


def element_dual_graph(mesh):
    """CSR adjacency (n_el, n_el) of elements sharing at least ``dim`` nodes (no diagonal)."""
    E = _element_nodes(mesh)
    E.data[:] = 1.0
    G = (E @ E.T).tocsr()
    G.setdiag(0)
    G.data[G.data < mesh.dim] = 0
    G.eliminate_zeros()
    G.sort_indices()
    return G


def element_centroids(mesh):
    return np.concatenate([mesh.coordinates[b.connectivity].mean(axis=1) for b in mesh.blocks])


def recursive_bisection(points, n_parts):
    """(n,) part of each point: recursive coordinate bisection, deterministic."""
    part = np.zeros(points.shape[0], dtype=np.int64)

    def split(idx, first, k):
        if k <= 1 or idx.size == 0:
            part[idx] = first
            return
        k1 = k // 2
        ext = np.ptp(points[idx], axis=0)
        ax = int(np.argmax(ext))
        order = idx[np.lexsort((idx, points[idx, ax]))]
        n1 = int(round(idx.size * k1 / k))
        split(order[:n1], first, k1)
        split(order[n1:], first + k1, k - k1)

    split(np.arange(points.shape[0]), 0, n_parts)
    return part


def _petsc_partition(mesh, comm, PETSc):
    """MatPartitioning of the dual graph; every rank gets the full (n_el,) result."""
    G = element_dual_graph(mesh)
    n = G.shape[0]
    rank, size = comm.Get_rank(), comm.Get_size()
    counts = np.full(size, n // size)
    counts[: n % size] += 1
    a = int(counts[:rank].sum())
    b = a + int(counts[rank])
    sub = G[a:b]
    ia = sub.indptr.astype(PETSc.IntType)
    ja = sub.indices.astype(PETSc.IntType)
    aij = PETSc.Mat().createAIJWithArrays(((b - a, n), (b - a, n)), (ia, ja, np.ones(ja.size)), comm=comm)
    mp = PETSc.MatPartitioning().create(comm=comm)
    mp.setAdjacency(aij)
    mp.setType(PETSc.MatPartitioning.Type.PARTITIONINGPTSCOTCH)
    mp.setFromOptions()
    is_ = PETSc.IS().create(comm=comm)
    mp.apply(is_)
    local = np.asarray(is_.getIndices(), dtype=np.int64)
    parts = comm.allgather(local)
    mp.destroy()
    is_.destroy()
    aij.destroy()
    out = np.concatenate(parts)
    # every rank must get elements; fall back to bisection otherwise
    if np.unique(out).size != size:
        out = recursive_bisection(element_centroids(mesh), size)
    return out


def partition_elements(mesh, comm, use_mesh_partition=True, method="auto"):
    """(n_elements,) owning rank of every element (identical on all ranks).

    method: "auto" (PETSc MatPartitioning if petsc4py is importable, else bisection),
    "petsc" or "bisection"."""
    size = comm.Get_size()
    if size == 1:
        return np.zeros(mesh.n_elements, dtype=np.int64)
    if use_mesh_partition and mesh.partition is not None:
        p = np.asarray(mesh.partition, dtype=np.int64)
        if p.shape == (mesh.n_elements,) and p.min() == 0 and p.max() == size - 1 \
                and np.unique(p).size == size:
            return p
    if method in ("auto", "petsc"):
        from .linear import petsc
        PETSc = petsc()
        if PETSc is not None:
            return _petsc_partition(mesh, comm, PETSc)
        if method == "petsc":
            raise RuntimeError("petsc4py is not importable: cannot use MatPartitioning")
    return recursive_bisection(element_centroids(mesh), size)


class Layout:
    """Distributed node/DOF numbering of a partitioned mesh (see module docstring).

    Attributes: rank, size, dim, elem_part (n_el,), node_owner (n_nodes,),
    new_of_node (n_nodes,) new index of every node, node_of_new (inverse),
    owned_range (first, last+1) of owned new node indices, local_nodes (n_local,) old node
    indices of the local nodes (owned first), n_owned_nodes, local_dofs (n_local*dim,)
    global (new) DOF of each local DOF, n_dofs global, block_elements list of the global
    element indices of this rank in each block (sorted), orphans (old indices of nodes
    touched by no element).
    """

    def __init__(self, mesh, elem_part, rank, size):
        self.rank, self.size, self.dim = rank, size, mesh.dim
        self.elem_part = np.asarray(elem_part, dtype=np.int64)
        nn = mesh.n_nodes
        owner = np.full(nn, size, dtype=np.int64)
        offsets = mesh.block_offsets()
        self.block_elements = []
        mine_nodes = []
        for bi, b in enumerate(mesh.blocks):
            ep = self.elem_part[offsets[bi]:offsets[bi + 1]]
            np.minimum.at(owner, b.connectivity, np.repeat(ep, b.connectivity.shape[1]).reshape(b.connectivity.shape))
            sel = np.flatnonzero(ep == rank)
            self.block_elements.append(offsets[bi] + sel)
            mine_nodes.append(b.connectivity[sel].ravel())
        self.orphans = np.flatnonzero(owner == size)
        owner[self.orphans] = 0
        self.node_owner = owner
        order = np.lexsort((np.arange(nn), owner))
        self.node_of_new = order
        self.new_of_node = np.empty(nn, dtype=np.int64)
        self.new_of_node[order] = np.arange(nn)
        counts = np.bincount(owner, minlength=size)
        self.node_counts = counts
        first = int(counts[:rank].sum())
        self.owned_range = (first, first + int(counts[rank]))
        owned = order[first:first + int(counts[rank])]
        touched = np.unique(np.concatenate(mine_nodes)) if mine_nodes else np.zeros(0, np.int64)
        ghosts = touched[owner[touched] != rank]
        ghosts = ghosts[np.argsort(self.new_of_node[ghosts])]
        self.local_nodes = np.concatenate([owned, ghosts])
        self.n_owned_nodes = owned.size
        d = self.dim
        self.local_dofs = (self.new_of_node[self.local_nodes][:, None] * d + np.arange(d)).ravel()
        self.n_owned = owned.size * d
        self.n_dofs = nn * d
        self.g2l = np.full(nn, -1, dtype=np.int64)
        self.g2l[self.local_nodes] = np.arange(self.local_nodes.size)

    @property
    def n_local(self):
        return self.local_nodes.size * self.dim

    @property
    def ghost_dofs(self):
        return self.local_dofs[self.n_owned:]
