"""Z-set mesh reader (``.geof``, ASCII) -> :class:`romnet.mesh.Mesh`.

Format (Z-set manual, "Structure of problem.geof")::

    ***geometry
    **node            (count and dimension on this line or the next one)
    343 3
    1 x y z
    **element         (count on this line or the next one)
    216
    1 c3d8 n1 ... n8
    ***group
    **nset name / **elset name   ids over any number of lines
    **faset name / **liset name / **bset name   lines "q4 n1 n2 n3 n4"
    ***return

Conventions of the result: nodes in file order (``node_ids`` keeps the ids), elements in
blocks of one type in order of first appearance, element sets hold romnet global element
indices (block order, not file order: ``GeofData.file_order`` maps file order to them).

Node orders. romnet uses Abaqus/CalculiX local node orders. Z-set quadratic elements list
their nodes differently; the table ``ZSET_ELEMENTS`` gives, for each Z-set type, the
permutation ``romnet[i] = zset[perm[i]]``. Sources (read, not copied): BasicTools
``BasicTools/IO/ZsetTools.py`` (Safran, ``PermutationZSetToBasicTools``; BasicTools orders
are VTK's = Abaqus's for these types) and pymicro ``pymicro/fe/FE.py`` (Mines ParisTech,
``FE_Mesh.build_vtk``). Both agree on which Z-set node is which corner / mid-edge node:

* c3d20, c2d8, q8: corner/mid alternating around the bottom face (8 nodes), then the 4
  vertical mid-edge nodes, then the top face alternating (8 nodes) (c2d8/q8: one face);
* c3d15: bottom triangle alternating (6), 3 vertical mid-edge nodes, top triangle (6);
* c2d6, t6: corner/mid alternating; l3 (``quad`` in lisets): end, mid, end;
* c3d10: NOT alternating: corners 1 2 3, mid-edges 1-2 2-3 3-1, mid-edges 1-4 2-4 3-4,
  apex 4 (both sources);
* linear types: same order as Abaqus.

They disagree on orientation (pymicro reverses the base of c3d10 and c3d20, BasicTools
does not), so orientation is not taken from the table: after permuting, every element's
signed volume (tet decomposition of its corners; signed area in 2D) is computed and
elements with a negative one are mirrored with ``FLIP`` (a relabelling of the same
element). Likewise every face of a face set is oriented so that its right-hand normal
points out of the element it bounds (``GeofData.face_flips`` records reversed faces; a
Z-set pressure acts along the face normal as written, so the deck reader needs them).

Verified by data: c3d8 (the shared cases: positive volumes, outward q4 fasets, strains
recomputed from U match ``eto``). NOT verified by data (no such elements in the shared
cases): every other type's layout permutation, which of them Z-set writes mirrored, and
the integration-point order inside them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from romnet.errors import InputError, UnsupportedError
from romnet.mesh import ElementBlock, Mesh

from .tokens import read_lines, to_int, tokens_to_array

# Z-set type -> (romnet type, n nodes, permutation romnet[i] = zset[perm[i]] or None)
ZSET_ELEMENTS = {
    "c3d4": ("c3d4", 4, None),
    "c3d10": ("c3d10", 10, [0, 1, 2, 9, 3, 4, 5, 6, 7, 8]),
    "c3d6": ("c3d6", 6, None),
    "c3d15": ("c3d15", 15, [0, 2, 4, 9, 11, 13, 1, 3, 5, 10, 12, 14, 6, 7, 8]),
    "c3d8": ("c3d8", 8, None),
    "c3d20": ("c3d20", 20, [0, 2, 4, 6, 12, 14, 16, 18, 1, 3, 5, 7, 13, 15, 17, 19, 8, 9, 10, 11]),
    "c2d3": ("cpe3", 3, None),
    "c2d6": ("cpe6", 6, [0, 2, 4, 1, 3, 5]),
    "c2d4": ("cpe4", 4, None),
    "c2d8": ("cpe8", 8, [0, 2, 4, 6, 1, 3, 5, 7]),
}

# Z-set face/line type in **faset/**liset/**bset -> (romnet face type, n nodes, permutation)
ZSET_FACES = {
    "t3": ("t3", 3, None),
    "t6": ("t6", 6, [0, 2, 4, 1, 3, 5]),
    "q4": ("q4", 4, None),
    "q8": ("q8", 8, [0, 2, 4, 6, 1, 3, 5, 7]),
    "l2": ("l2", 2, None),
    "line": ("l2", 2, None),
    "l3": ("l3", 3, [0, 2, 1]),
    "quad": ("l3", 3, [0, 2, 1]),
}

# romnet type -> node relabelling that mirrors the element (reverses its orientation)
FLIP = {
    "c3d4": [0, 2, 1, 3],
    "c3d10": [0, 2, 1, 3, 6, 5, 4, 7, 9, 8],
    "c3d6": [0, 2, 1, 3, 5, 4],
    "c3d15": [0, 2, 1, 3, 5, 4, 8, 7, 6, 11, 10, 9, 12, 14, 13],
    "c3d8": [0, 3, 2, 1, 4, 7, 6, 5],
    "c3d20": [0, 3, 2, 1, 4, 7, 6, 5, 11, 10, 9, 8, 15, 14, 13, 12, 16, 19, 18, 17],
    "cpe3": [0, 2, 1],
    "cpe6": [0, 2, 1, 5, 4, 3],
    "cpe4": [0, 3, 2, 1],
    "cpe8": [0, 3, 2, 1, 7, 6, 5, 4],
}
FACE_FLIP = {"t3": [0, 2, 1], "t6": [0, 2, 1, 5, 4, 3], "q4": [0, 3, 2, 1],
             "q8": [0, 3, 2, 1, 7, 6, 5, 4], "l2": [1, 0], "l3": [1, 0, 2]}

N_CORNERS = {"c3d4": 4, "c3d10": 4, "c3d6": 6, "c3d15": 6, "c3d8": 8, "c3d20": 8,
             "cpe3": 3, "cpe6": 3, "cpe4": 4, "cpe8": 4,
             "t3": 3, "t6": 3, "q4": 4, "q8": 4, "l2": 2, "l3": 2}

_TETS = {4: [(0, 1, 2, 3)],
         6: [(0, 1, 2, 5), (0, 1, 5, 4), (0, 4, 5, 3)],
         8: [(0, 1, 2, 6), (0, 2, 3, 6), (0, 3, 7, 6), (0, 7, 4, 6), (0, 4, 5, 6), (0, 5, 1, 6)]}


def signed_measure(etype: str, x: np.ndarray) -> np.ndarray:
    """Signed volume (3D) or area (2D) of elements from their corner nodes.

    ``x``: (n_el, n_el_nodes, dim) coordinates in romnet local order. 3D: sum of the
    signed volumes of a tetrahedral decomposition of the corners; 2D: shoelace formula.
    Positive for romnet's (Abaqus) orientation.
    """
    x = np.asarray(x, dtype=float)
    nc = N_CORNERS[etype]
    if etype.startswith("cpe"):
        p = x[:, :nc, :2]
        q = np.roll(p, -1, axis=1)
        return 0.5 * np.sum(p[..., 0] * q[..., 1] - q[..., 0] * p[..., 1], axis=1)
    vol = np.zeros(x.shape[0])
    for a, b, c, d in _TETS[nc]:
        vol += np.einsum("ij,ij->i", np.cross(x[:, b] - x[:, a], x[:, c] - x[:, a]), x[:, d] - x[:, a]) / 6.0
    return vol


@dataclass
class GeofData:
    """A read mesh plus what the result/deck readers need to know about the file."""

    mesh: Mesh
    path: Path
    file_order: np.ndarray  # (n_elements,) romnet global index of the k-th element in the file
    zset_types: list  # Z-set type name of each block
    face_flips: dict = field(default_factory=dict)  # set -> {ftype: bool (n_faces,)} reversed
    face_file_types: dict = field(default_factory=dict)  # set -> (n_faces,) ftype in file order
    flipped_elements: dict = field(default_factory=dict)  # romnet type -> n mirrored
    unattached_faces: int = 0  # faces of face sets bounding no element (left as written)
    where: np.ndarray | None = None  # (n_elements,) file line (ASCII) / byte (binary), file order
    _cache: dict = field(default_factory=dict, repr=False)

    def element_ids_file_order(self) -> np.ndarray:
        """(n_elements,) element ids in file order."""
        return np.concatenate([b.element_ids for b in self.mesh.blocks])[self.file_order]

    @property
    def file_zset_types(self) -> np.ndarray:
        """(n_elements,) Z-set type of each element in file order."""
        offs = self.mesh.block_offsets()
        blk = np.searchsorted(offs, self.file_order, side="right") - 1
        return np.asarray(self.zset_types, dtype=object)[blk]


class _IdMap:
    """id -> index lookup for node or element ids (vectorised)."""

    def __init__(self, ids: np.ndarray, path, what: str, lines=None):
        self.ids = ids
        self.order = np.argsort(ids, kind="stable")
        self.sorted = ids[self.order]
        self.path, self.what = path, what
        dup = np.nonzero(self.sorted[1:] == self.sorted[:-1])[0]
        if dup.size:
            bad = self.sorted[dup[0]]
            where = None
            if lines is not None:
                where = lines[self.order[dup[0] + 1]]
            raise InputError(f"duplicate {what} id {bad}", path, where)

    def __call__(self, query, lines, context: str):
        q = np.asarray(query, dtype=np.int64)
        if self.sorted.size == 0:
            if q.size:
                raise InputError(f"{context}: unknown {self.what} id {q.flat[0]} (no {self.what}s defined)",
                                 self.path, np.ravel(lines)[0])
            return q
        pos = np.clip(np.searchsorted(self.sorted, q), 0, self.sorted.size - 1)
        ok = self.sorted[pos] == q
        if not ok.all():
            k = int(np.argmin(ok.ravel()))
            raise InputError(f"{context}: unknown {self.what} id {q.ravel()[k]}", self.path,
                             np.ravel(lines)[k])
        return self.order[pos]


def _block_end(lines, i):
    """Index of the next keyword line at or after i."""
    toks = lines.toks
    n = len(toks)
    while i < n and toks[i][0][0] != "*":
        i += 1
    return i


def _count_header(lines, i, path, kw, n_values):
    """Parse the counts of **node / **element (same line or next line). Returns (values, next i)."""
    ln = lines[i]
    if len(ln.args) >= n_values:
        toks, nxt = ln.args[:n_values], i + 1
    else:
        if i + 1 >= len(lines) or lines[i + 1].tokens[0].startswith("*"):
            raise InputError(f"{kw}: missing count line", path, ln.number)
        toks, nxt = lines[i + 1].tokens, i + 2
        if len(toks) < n_values:
            raise InputError(f"{kw}: expected {n_values} counts, got '{' '.join(toks)}'", path,
                             lines[i + 1].number)
        ln = lines[i + 1]
    return [to_int(t, path, ln.number, f"{kw} count") for t in toks[:n_values]], nxt


def _int_list(lines, i, j, path, what):
    rows = lines.toks[i:j]
    toks = [t for row in rows for t in row]
    nums = np.repeat(np.asarray(lines.nums[i:j], dtype=np.int64), [len(r) for r in rows])
    return tokens_to_array(toks, nums, path, np.int64, what), nums


def _unique_keep_order(a):
    _, first = np.unique(a, return_index=True)
    return a[np.sort(first)]


def read_geof(path, progress=None) -> GeofData:
    """Read a Z-set mesh: ASCII ``.geof``, or the binary format (``Z7BINARYGEOF`` header,
    :mod:`.geo`) whatever the suffix. Raises InputError/UnsupportedError naming file:line
    (or byte)."""
    path = Path(path)
    from .geo import is_binary_geo, read_geo
    if is_binary_geo(path):
        return read_geo(path, progress)
    if progress:
        progress(f"reading mesh {path.name}")
    lines = read_lines(path, "geof file")
    first = lines[0]
    if first.keyword != "***geometry":
        raise InputError(f"not a Z-set geof file: expected '***geometry', found '{first.keyword}'",
                         path, first.number)

    coords = node_ids = node_lines = None
    elem_rows: dict = {}  # zset type -> dict(ids, lines, nodes tokens)
    elem_order = []  # zset type of each element in file order, and index within its type
    n_el_declared = None
    raw_sets = {"nset": [], "elset": [], "faset": []}
    section = "geometry"
    i = 1
    n = len(lines)
    while i < n:
        ln = lines[i]
        kw = ln.keyword
        lvl = ln.level
        if lvl == 0:
            raise InputError(f"unexpected data '{' '.join(ln.tokens[:4])}' outside a keyword block",
                             path, ln.number)
        if lvl >= 3:
            name = kw.lstrip("*")
            if kw == "***return":
                break
            if name in ("geometry", "group"):
                section = name
                i += 1
                continue
            raise UnsupportedError(f"unsupported keyword '{kw}' in geof file", path, ln.number)
        if lvl != 2:
            raise UnsupportedError(f"unsupported keyword '{kw}' in ***{section}", path, ln.number)
        name = kw[2:]
        if section == "geometry" and name == "node":
            if coords is not None:
                raise InputError("second **node block", path, ln.number)
            (nn, dim), j = _count_header(lines, i, path, kw, 2)
            if dim not in (2, 3):
                raise InputError(f"**node: dimension must be 2 or 3, got {dim}", path, ln.number)
            k = _block_end(lines, j)
            block = lines.toks[j:k]
            if len(block) != nn:
                raise InputError(f"**node declares {nn} nodes, found {len(block)} node lines",
                                 path, ln.number)
            bad = [q for q, row in enumerate(block) if len(row) != dim + 1]
            if bad:
                raise InputError(f"node line: expected id and {dim} coordinates, got "
                                 f"{len(block[bad[0]])} values", path, lines.nums[j + bad[0]])
            node_lines = np.array(lines.nums[j:k], dtype=np.int64)
            node_ids = tokens_to_array([row[0] for row in block], node_lines, path, np.int64, "node id")
            flat = [t for row in block for t in row[1:]]
            fl = np.repeat(node_lines, dim)
            coords = tokens_to_array(flat, fl, path, np.float64, "node coordinate").reshape(nn, dim)
            i = k
        elif section == "geometry" and name == "element":
            if n_el_declared is not None:
                raise InputError("second **element block", path, ln.number)
            (n_el_declared,), j = _count_header(lines, i, path, kw, 1)
            k = _block_end(lines, j)
            if k - j != n_el_declared:
                raise InputError(f"**element declares {n_el_declared} elements, found {k - j} "
                                 "element lines", path, ln.number)
            for q in range(j, k):
                t = lines.toks[q]
                if len(t) < 2:
                    raise InputError("element line: expected 'id type nodes...'", path, lines.nums[q])
                et = t[1]
                rows = elem_rows.get(et)
                if rows is None:
                    spec = ZSET_ELEMENTS.get(et)
                    if spec is None:
                        raise UnsupportedError(f"element {t[0]}: unknown element type '{et}' (supported: "
                                               f"{' '.join(ZSET_ELEMENTS)})", path, lines.nums[q])
                    rows = elem_rows[et] = {"ids": [], "lines": [], "nodes": [], "n": spec[1]}
                if len(t) - 2 != rows["n"]:
                    raise InputError(f"element {t[0]}: {et} needs {rows['n']} nodes, got {len(t) - 2}",
                                     path, lines.nums[q])
                elem_order.append((et, len(rows["ids"])))
                rows["ids"].append(t[0])
                rows["lines"].append(lines.nums[q])
                rows["nodes"].extend(t[2:])
            i = k
        elif section == "group" and name in ("nset", "elset", "faset", "liset", "bset"):
            if not ln.args:
                raise InputError(f"{kw}: missing set name", path, ln.number)
            if len(ln.args) > 1:
                raise UnsupportedError(f"{kw} {ln.args[0]}: unexpected '{' '.join(ln.args[1:])}'",
                                       path, ln.number)
            k = _block_end(lines, i + 1)
            kind = "faset" if name in ("faset", "liset", "bset") else name
            raw_sets[kind].append((ln.args[0], ln, i + 1, k))
            i = k
        else:
            raise UnsupportedError(f"unsupported keyword '{kw}' in ***{section}", path, ln.number)

    if coords is None:
        raise InputError("no **node block", path)
    if n_el_declared is None:
        raise InputError("no **element block", path)
    node_map = _IdMap(node_ids, path, "node", node_lines)
    groups = {}
    for et, rows in elem_rows.items():
        nne = rows["n"]
        lns = np.asarray(rows["lines"], dtype=np.int64)
        ids = tokens_to_array(rows["ids"], lns, path, np.int64, "element id")
        nl = np.repeat(lns, nne)
        nid = tokens_to_array(rows["nodes"], nl, path, np.int64, "element node id")
        groups[et] = {"ids": ids, "conn": node_map(nid, nl, f"{et} element").reshape(-1, nne), "where": lns}
    mesh, data = build_mesh(path, coords, node_ids, groups, elem_order)
    elem_map = _IdMap(data.element_ids_file_order(), path, "element", data.where)
    for name, ln, a, b in raw_sets["nset"]:
        ids, nums = _int_list(lines, a, b, path, f"**nset {name}")
        add_set(mesh.node_sets, name, node_map(ids, nums, f"**nset {name}") if ids.size else ids)
    for name, ln, a, b in raw_sets["elset"]:
        ids, nums = _int_list(lines, a, b, path, f"**elset {name}")
        idx = elem_map(ids, nums, f"**elset {name}") if ids.size else ids
        add_set(mesh.element_sets, name, data.file_order[idx])
    _read_face_sets(lines, raw_sets["faset"], node_map, path, data)
    return finish(data, progress)


def add_set(sets: dict, name: str, idx) -> None:
    """Append indices to a node/element set (a name given twice accumulates), no duplicates."""
    idx = np.asarray(idx, dtype=np.int64)
    prev = sets.get(name)
    idx = idx if prev is None else np.concatenate([prev, idx])
    sets[name] = _unique_keep_order(idx)


def build_mesh(path, coords, node_ids, groups: dict, elem_order):
    """Mesh and GeofData from the node table and the elements grouped by Z-set type.

    ``groups``: Z-set type -> {"ids": (n,) element ids, "conn": (n, nne) 0-based node
    indices in Z-set's local order, "where": (n,) place of each element in the file (line
    numbers, or byte offsets for the binary format)}, in order of first appearance;
    ``elem_order``: (Z-set type, index within the type) of each element in file order.
    Node orders are permuted to romnet's and mirrored elements relabelled (module doc)."""
    blocks, zset_types, where = [], [], []
    type_offset = {}
    offset = 0
    flipped = {}
    for et, g in groups.items():
        rtype, nne, perm = ZSET_ELEMENTS[et]
        conn = np.asarray(g["conn"], dtype=np.int64)
        if perm is not None:
            conn = conn[:, perm]
        first = g["where"][0] if len(g["where"]) else None
        if rtype.startswith("cpe") and coords.shape[1] != 2:
            raise UnsupportedError(f"2D element type '{et}' in a {coords.shape[1]}D mesh", path, first)
        if not rtype.startswith("cpe") and coords.shape[1] != 3:
            raise InputError(f"3D element type '{et}' in a 2D mesh", path, first)
        vol = signed_measure(rtype, coords[conn])
        neg = vol < 0
        if neg.any():
            conn[neg] = conn[neg][:, FLIP[rtype]]
            flipped[rtype] = int(neg.sum())
        blocks.append(ElementBlock(rtype, conn, np.asarray(g["ids"], dtype=np.int64)))
        zset_types.append(et)
        type_offset[et] = offset
        offset += len(g["ids"])
        where.append(np.asarray(g["where"]))
    file_order = np.array([type_offset[et] + k for et, k in elem_order], dtype=np.int64)
    mesh = Mesh(coords, node_ids, blocks)
    data = GeofData(mesh, Path(path), file_order, zset_types, flipped_elements=flipped)
    data.where = np.concatenate(where)[file_order] if where else np.zeros(0, np.int64)
    return mesh, data


def finish(data: GeofData, progress=None) -> GeofData:
    data.mesh.validate(data.path)
    if progress:
        progress(f"mesh: {data.mesh.n_nodes} nodes, {data.mesh.n_elements} elements "
                 f"({', '.join(f'{b.etype} x{b.n_elements}' for b in data.mesh.blocks)})")
    return data


def _read_face_sets(lines, raw, node_map, path, data: GeofData):
    for name, head, a, b in raw:
        groups = {}
        order = []
        for ln in lines[a:b]:
            ft = ln.tokens[0]
            spec = ZSET_FACES.get(ft)
            if spec is None:
                raise UnsupportedError(f"face set {name}: unknown face type '{ft}' (supported: "
                                       f"{' '.join(ZSET_FACES)})", path, ln.number)
            if len(ln.tokens) - 1 != spec[1]:
                raise InputError(f"face set {name}: {ft} needs {spec[1]} nodes, got {len(ln.tokens) - 1}",
                                 path, ln.number)
            order.append(spec[0])
            g = groups.setdefault(spec[0], {"tokens": [], "lines": []})
            g["tokens"].extend(ln.tokens[1:])
            g["lines"].extend([ln.number] * spec[1])
        conns = {}
        for ftype, g in groups.items():
            nums = np.asarray(g["lines"], dtype=np.int64)
            ids = tokens_to_array(g["tokens"], nums, path, np.int64, f"face set {name} node id")
            conns[ftype] = node_map(ids, nums, f"face set {name}").reshape(-1, N_FACE_NODES[ftype])
        add_face_set(data, name, order, conns)


N_FACE_NODES = {v[0]: v[1] for v in ZSET_FACES.values()}
_FACE_PERM = {v[0]: v[2] for v in ZSET_FACES.values()}


def add_face_set(data: GeofData, name: str, order, conns: dict) -> None:
    """Add faces to face set ``name``: ``order`` the romnet face type of each face in file
    order, ``conns`` romnet type -> (n, nn) 0-based node indices in Z-set's local order.
    Faces are permuted to romnet's node order and oriented outward (module doc)."""
    faces = data.mesh.face_sets.setdefault(name, {})
    flips = data.face_flips.setdefault(name, {})
    prev = data.face_file_types.get(name, np.zeros(0, dtype=object))
    data.face_file_types[name] = np.concatenate([prev, np.asarray(order, dtype=object)])
    for ftype, conn in conns.items():
        perm = _FACE_PERM[ftype]
        conn = np.asarray(conn, dtype=np.int64)
        if perm is not None:
            conn = conn[:, perm]
        flip = _orient_faces(ftype, conn, data)
        conn[flip] = conn[flip][:, FACE_FLIP[ftype]]
        if ftype in faces:  # a second block of the same set name: append
            faces[ftype] = np.concatenate([faces[ftype], conn])
            flips[ftype] = np.concatenate([flips[ftype], flip])
        else:
            faces[ftype] = conn
            flips[ftype] = flip


def _orient_faces(ftype: str, conn: np.ndarray, data: GeofData) -> np.ndarray:
    """Boolean (n_faces,): True where the face's right-hand normal points into its element.

    The element bounded by a face is one holding all its corner nodes; faces bounding no
    element are left as written (counted in ``data.unattached_faces``).
    """
    from scipy import sparse

    mesh = data.mesh
    nf = conn.shape[0]
    if nf == 0 or mesh.n_elements == 0:
        return np.zeros(nf, dtype=bool)
    nc = N_CORNERS[ftype]
    x = mesh.coordinates
    if "incidence" not in data._cache:
        rows, cols, cent = [], [], []
        for b0, blk in zip(mesh.block_offsets(), mesh.blocks):
            c = blk.connectivity[:, :N_CORNERS[blk.etype]]
            rows.append(np.repeat(np.arange(blk.n_elements) + b0, c.shape[1]))
            cols.append(c.ravel())
            cent.append(x[c].mean(axis=1))
        inc = sparse.csr_matrix((np.ones(sum(r.size for r in rows)),
                                 (np.concatenate(rows), np.concatenate(cols))),
                                shape=(mesh.n_elements, mesh.n_nodes))
        inc.data[:] = 1.0  # duplicate (degenerate) entries count once
        data._cache["incidence"] = (inc.T.tocsr(), np.concatenate(cent))
    inc_t, centroids = data._cache["incidence"]
    fc = conn[:, :nc]
    fmat = sparse.csr_matrix((np.ones(fc.size), (np.repeat(np.arange(nf), nc), fc.ravel())),
                             shape=(nf, mesh.n_nodes))
    shared = (fmat @ inc_t).tocoo()
    keep = shared.data >= nc - 1e-9
    fr, el = shared.row[keep], shared.col[keep]
    faces_with_el, first = np.unique(fr, return_index=True)
    owner = np.full(nf, -1, dtype=np.int64)
    owner[faces_with_el] = el[first]
    data.unattached_faces += int((owner < 0).sum())
    p = x[fc]
    fcent = p.mean(axis=1)
    if ftype in ("l2", "l3"):
        t = p[:, 1, :2] - p[:, 0, :2]
        normal = np.stack([t[:, 1], -t[:, 0]], axis=1)
        outward = fcent[:, :2] - centroids[np.maximum(owner, 0)][:, :2]
    else:
        if x.shape[1] != 3:
            raise InputError(f"face type {ftype} in a 2D mesh", data.path)
        normal = 0.5 * np.cross(p, np.roll(p, -1, axis=1)).sum(axis=1)
        outward = fcent - centroids[np.maximum(owner, 0)]
    inward = np.einsum("ij,ij->i", normal, outward) < 0
    return inward & (owner >= 0)
