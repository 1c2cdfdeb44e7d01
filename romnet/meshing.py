"""Small structured box meshes (tests, generated cases).

:func:`box_mesh` gives coordinates and connectivity of a structured mesh of the box
``[0, Lx] x [0, Ly] (x [0, Lz])`` for any element type of :mod:`romnet.fe` (cells split into
simplices / wedges as needed, mid-edge nodes for quadratic types). :func:`box` wraps it in a
:class:`romnet.mesh.Mesh` with node sets ``x0 x1 y0 y1 z0 z1`` (and their pairwise
intersections such as ``x0y0``), face sets ``x0 ... z1`` (outward normals) and the element
set ``ALL``.
"""
from __future__ import annotations

import itertools

import numpy as np

from .fe import boundary_faces, get_element_type
from .mesh import ElementBlock, Mesh

__all__ = ["box_mesh", "box"]


def _simplex_cells(dim):
    cells = []
    for perm in itertools.permutations(range(dim)):
        v = [np.zeros(dim)]
        for k in perm:
            v.append(v[-1].copy())
            v[-1][k] = 1.0
        v = np.array(v)
        if np.linalg.det(v[1:] - v[0]) < 0:
            v[[1, 2]] = v[[2, 1]]
        cells.append(v)
    return cells


def _cell_maps(et):
    if et.family in ("hex", "quad"):
        return [lambda x: (x + 1.0) / 2.0]
    if et.family in ("tet", "tri"):
        return [lambda x, v=v: v[0] + x @ (v[1:] - v[0]) for v in _simplex_cells(et.dim)]
    maps = []
    for tri in (np.array([[0, 0], [1, 0], [0, 1]], float), np.array([[1, 0], [1, 1], [0, 1]], float)):
        maps.append(lambda x, t=tri: np.c_[t[0] + x[:, :2] @ (t[1:] - t[0]), (x[:, 2] + 1) / 2])
    return maps


def box_mesh(name, n=2, box=(1.0, 0.8, 0.6)):
    """Structured mesh of the box [0, box] with ``n`` cells per direction (int or one per
    direction). Returns coordinates (n_nodes, dim), connectivity (n_el, n_en)."""
    et = get_element_type(name)
    d = et.dim
    ns = np.atleast_1d(np.asarray(n, dtype=int))
    ns = np.broadcast_to(ns[:d] if ns.size > d else ns, (d,))
    p = 2 if et.n_nodes > et.n_corners else 1
    m = ns * p + 1
    local = [np.rint(p * f(et.reference_nodes)).astype(int) for f in _cell_maps(et)]
    origins = np.array(list(itertools.product(*[range(k) for k in ns[::-1]])))[:, ::-1] * p
    conn = []
    for loc in local:
        lat = origins[:, None, :] + loc[None]
        conn.append(np.ravel_multi_index(tuple(np.moveaxis(lat, -1, 0)), tuple(m), order="F"))
    conn = np.concatenate(conn)
    grid = np.stack(np.meshgrid(*[np.arange(k) for k in m], indexing="ij"), -1).reshape(-1, d, order="F")
    X = grid / (m - 1) * np.asarray(box[:d], dtype=float)
    used, conn = np.unique(conn, return_inverse=True)
    return X[used], conn.reshape(-1, et.n_nodes)


def box(name, n=2, size=(1.0, 1.0, 1.0)) -> Mesh:
    """:class:`Mesh` of :func:`box_mesh` with node sets, face sets and element set ``ALL``."""
    X, conn = box_mesh(name, n, size)
    d = X.shape[1]
    hi = np.asarray(size[:d], dtype=float)
    axes = "xyz"[:d]
    on = {}
    for i, a in enumerate(axes):
        on[f"{a}0"] = np.isclose(X[:, i], 0.0)
        on[f"{a}1"] = np.isclose(X[:, i], hi[i])
    node_sets = {k: np.flatnonzero(v) for k, v in on.items()}
    for a, b in itertools.combinations(axes, 2):
        for i, j in itertools.product("01", repeat=2):
            node_sets[f"{a}{i}{b}{j}"] = np.flatnonzero(on[a + i] & on[b + j])
    if d == 3:
        for i, j, k in itertools.product("01", repeat=3):
            node_sets[f"x{i}y{j}z{k}"] = np.flatnonzero(on["x" + i] & on["y" + j] & on["z" + k])
    bf = boundary_faces([(name, conn)])
    face_sets = {}
    for key, mask in on.items():
        fs = {}
        for ft, info in bf.items():
            sel = np.all(mask[info["nodes"]], axis=1)
            if sel.any():
                fs[ft] = info["nodes"][sel]
        face_sets[key] = fs
    mesh = Mesh(X, np.arange(1, X.shape[0] + 1), [ElementBlock(name, conn, np.arange(1, conn.shape[0] + 1))],
                node_sets=node_sets, element_sets={"ALL": np.arange(conn.shape[0])}, face_sets=face_sets)
    return mesh.validate()
