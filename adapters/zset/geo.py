"""Z-set binary mesh (``.geo``, first bytes ``Z7BINARYGEOF``) -> :class:`GeofData`.

Layout (big-endian throughout; no record markers). Every section starts with the 13-byte
magic ``Z7BINARYGEOF\\0`` followed by a *tag*: int32 length n, then n bytes of text ending
with NUL (``\\x00\\x00\\x00\\x05node\\0``). Sections::

    node     int32 n_nodes, int32 dim, then n_nodes x (int32 id, dim x float64 coordinate)
    element  int32 n_elements, int32 n_groups, then per group:
             int32 n_in_group, tag <Z-set type>, int32 n_nodes_per_element,
             n_in_group x (int32 id, int32 rank, n_nodes x int32 node index)
    nset     int32 n_sets, per set: tag <name>, int32 size, size x int32 node index
    elset    int32 n_sets, per set: tag <name>, int32 size, size x int32 element rank
    bset     int32 n_sets, per set: tag <name>, tag <faset | liset>, int32 n_faces, per face:
             int32 n, n x int32 node index, 5 bytes: face type name, NUL-padded (q4, t6, line)
    ipset    int32 n_sets (only 0 is read: the layout of a non-empty ipset is not known here)
    return   end of the mesh; a last magic closes the file

Node indices are 0-based positions in the node section (not ids); element ranks are
0-based positions of the elements in the file, and element sets list ranks. Local node
orders are Z-set's, as in the ASCII ``.geof`` (same permutations, :mod:`.geof`).

How the layout was established: from the real Z-set file ``cube.geo`` shipped in the test
data of the BSD-3 package muscat (208 nodes, 27 c3d20, 26 node sets; every section above
but a non-empty ``bset``) and from muscat's reader ``Muscat/IO/GeoReader.py`` (read, not
copied). The face records (``bset``) are known from muscat's reader only: our test files
with face sets are written by :func:`write_geo` and read back identically by muscat's
reader (``tests/test_zset_geo.py``), and the real ``cube.geo`` is read by both readers to
the same mesh.

Every malformed input (bad magic, truncated section, unknown tag or element type, index out
of range, duplicate id) raises InputError naming the file and the byte offset.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from romnet.errors import InputError, UnsupportedError

from .geof import (ZSET_ELEMENTS, ZSET_FACES, GeofData, add_face_set, add_set, build_mesh, finish)

MAGIC = b"Z7BINARYGEOF\0"
FACE_NAME_BYTES = 5


def is_binary_geo(path) -> bool:
    """True if ``path`` starts with the Z-set binary mesh magic."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC) - 1) == MAGIC[:-1]
    except OSError:
        return False


class _Reader:
    """Cursor over the bytes of a .geo file; every read checks the remaining length."""

    def __init__(self, path: Path):
        self.path = path
        self.buf = path.read_bytes()
        self.pos = 0

    def fail(self, problem, at=None):
        raise InputError(problem, self.path, f"byte {self.pos if at is None else at}")

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.buf):
            self.fail(f"truncated file: {what} needs {n} bytes, {len(self.buf) - self.pos} left")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def int32(self, what):
        return int(np.frombuffer(self.take(4, what), ">i4")[0])

    def count(self, what, limit=None):
        at = self.pos
        n = self.int32(what)
        if n < 0 or (limit is not None and n > limit):
            self.fail(f"{what}: invalid count {n}", at)
        return n

    def int32s(self, n, what):
        return np.frombuffer(self.take(4 * n, what), ">i4").astype(np.int64)

    def tag(self, what):
        at = self.pos
        n = self.count(f"{what} length", limit=4096)
        raw = self.take(n, what)
        if not raw.endswith(b"\0"):
            self.fail(f"{what}: text not NUL-terminated", at)
        try:
            return raw[:-1].decode("ascii")
        except UnicodeDecodeError:
            self.fail(f"{what}: not ASCII text", at)

    def magic(self):
        at = self.pos
        got = self.take(len(MAGIC), "section header")
        if got != MAGIC:
            self.fail(f"expected the section header 'Z7BINARYGEOF', found {got[:12]!r}", at)


def read_geo(path, progress=None) -> GeofData:
    """Read a Z-set binary ``.geo`` mesh (layout in the module docstring)."""
    path = Path(path)
    if progress:
        progress(f"reading binary mesh {path.name}")
    r = _Reader(path)
    if not r.buf.startswith(MAGIC[:-1]):
        r.fail("not a Z-set binary mesh (no 'Z7BINARYGEOF' header)", 0)
    coords = node_ids = None
    groups, elem_order, ranks = {}, [], None
    sets = {"nset": [], "elset": [], "bset": []}
    while True:
        r.magic()
        at = r.pos
        tag = r.tag("section name")
        if tag == "return":
            break
        if tag == "node":
            if coords is not None:
                r.fail("second node section", at)
            nn = r.count("node count", limit=len(r.buf))
            dim = r.int32("dimension")
            if dim not in (2, 3):
                r.fail(f"node section: dimension must be 2 or 3, got {dim}", at)
            rec = np.dtype([("id", ">i4"), ("x", ">f8", (dim,))])
            arr = np.frombuffer(r.take(nn * rec.itemsize, f"{nn} nodes"), rec)
            node_ids = arr["id"].astype(np.int64)
            coords = arr["x"].astype(np.float64).reshape(nn, dim)
            if not np.all(np.isfinite(coords)):
                r.fail(f"non-finite coordinate of node {node_ids[np.argmin(np.isfinite(coords).all(1))]}", at)
            _no_duplicates(r, node_ids, "node", at)
        elif tag == "element":
            if ranks is not None:
                r.fail("second element section", at)
            if coords is None:
                r.fail("element section before the node section", at)
            n_el = r.count("element count", limit=len(r.buf))
            n_grp = r.count("element group count", limit=max(n_el, 1))
            rank_parts, where_parts = [], []
            for _ in range(n_grp):
                g_at = r.pos
                n_in = r.count("elements in group", limit=n_el)
                et = r.tag("element type")
                spec = ZSET_ELEMENTS.get(et)
                if spec is None:
                    r.fail(f"unknown element type '{et}' (supported: {' '.join(ZSET_ELEMENTS)})", g_at)
                nne = r.int32("nodes per element")
                if nne != spec[1]:
                    r.fail(f"{et} has {spec[1]} nodes, the file says {nne}", g_at)
                start = r.pos
                rows = r.int32s(n_in * (nne + 2), f"{n_in} {et} elements").reshape(n_in, nne + 2)
                conn = rows[:, 2:]
                bad = (conn < 0) | (conn >= coords.shape[0])
                if bad.any():
                    k = int(np.argmax(bad.any(axis=1)))
                    r.fail(f"{et} element {rows[k, 0]}: node index {conn[k][bad[k]][0]} out of range "
                           f"0..{coords.shape[0] - 1}", start + 4 * k * (nne + 2))
                where = start + 4 * (nne + 2) * np.arange(n_in)
                g = groups.setdefault(et, {"ids": [], "conn": [], "where": []})
                k0 = sum(len(c) for c in g["conn"])
                elem_order.extend((et, k0 + k) for k in range(n_in))
                g["ids"].append(rows[:, 0])
                g["conn"].append(conn)
                g["where"].append(where)
                rank_parts.append(rows[:, 1])
                where_parts.append(where)
            ranks = np.concatenate(rank_parts) if rank_parts else np.zeros(0, np.int64)
            if ranks.size != n_el:
                r.fail(f"element section declares {n_el} elements, its groups hold {ranks.size}", at)
            if ranks.size and not np.array_equal(np.sort(ranks), np.arange(n_el)):
                r.fail(f"element ranks are not a permutation of 0..{n_el - 1}", at)
            for g in groups.values():
                for k in ("ids", "conn", "where"):
                    if isinstance(g[k], list):
                        g[k] = np.concatenate(g[k])
        elif tag in ("nset", "elset"):
            for _ in range(r.count(f"{tag} count", limit=len(r.buf))):
                s_at = r.pos
                name = r.tag(f"{tag} name")
                size = r.count(f"{tag} {name} size", limit=len(r.buf))
                sets[tag].append((name, r.int32s(size, f"{tag} {name}"), s_at))
        elif tag == "bset":
            for _ in range(r.count("bset count", limit=len(r.buf))):
                s_at = r.pos
                name = r.tag("bset name")
                kind = r.tag(f"bset {name} kind")
                if kind not in ("faset", "liset"):
                    r.fail(f"bset {name}: unknown kind '{kind}' (expected faset or liset)", s_at)
                faces = []
                for _ in range(r.count(f"bset {name} face count", limit=len(r.buf))):
                    f_at = r.pos
                    nn = r.count(f"bset {name} face size", limit=64)
                    conn = r.int32s(nn, f"bset {name} face nodes")
                    ft = r.take(FACE_NAME_BYTES, "face type").split(b"\0", 1)[0].decode("ascii", "replace")
                    faces.append((ft, conn, f_at))
                sets["bset"].append((name, faces, s_at))
        elif tag == "ipset":
            if r.count("ipset count", limit=len(r.buf)):
                raise UnsupportedError("non-empty ipset section (integration-point sets)", path, f"byte {at}")
        else:
            raise UnsupportedError(f"unknown section '{tag}'", path, f"byte {at}")
    if coords is None:
        r.fail("no node section")
    if ranks is None:
        r.fail("no element section")
    for g in groups.values():
        g["where"] = np.asarray([f"byte {w}" for w in g["where"]], dtype=object)
    _no_duplicates(r, np.concatenate([g["ids"] for g in groups.values()] or [np.zeros(0, np.int64)]),
                   "element", "element section")
    mesh, data = build_mesh(path, coords, node_ids, groups, elem_order)
    # element rank -> romnet global index (ranks are file positions when written by Z-set)
    rank_to_global = np.empty(ranks.size, dtype=np.int64)
    rank_to_global[ranks] = data.file_order
    for name, idx, s_at in sets["nset"]:
        _in_range(r, idx, coords.shape[0], f"nset {name}: node index", s_at)
        add_set(mesh.node_sets, name, idx)
    for name, idx, s_at in sets["elset"]:
        _in_range(r, idx, ranks.size, f"elset {name}: element rank", s_at)
        add_set(mesh.element_sets, name, rank_to_global[idx])
    for name, faces, s_at in sets["bset"]:
        order, conns = [], {}
        for ft, conn, f_at in faces:
            spec = ZSET_FACES.get(ft)
            if spec is None:
                r.fail(f"face set {name}: unknown face type '{ft}' (supported: {' '.join(ZSET_FACES)})", f_at)
            if conn.size != spec[1]:
                r.fail(f"face set {name}: {ft} needs {spec[1]} nodes, got {conn.size}", f_at)
            _in_range(r, conn, coords.shape[0], f"face set {name}: node index", f_at)
            order.append(spec[0])
            conns.setdefault(spec[0], []).append(conn)
        add_face_set(data, name, order, {k: np.asarray(v) for k, v in conns.items()})
    if r.pos + len(MAGIC) <= len(r.buf) and r.buf[r.pos:r.pos + len(MAGIC)] == MAGIC:
        r.pos += len(MAGIC)
    if r.pos != len(r.buf):
        r.fail(f"{len(r.buf) - r.pos} unexpected bytes after the end of the mesh")
    return finish(data, progress)


def _no_duplicates(r, ids, what, at):
    srt = np.sort(ids)
    dup = np.nonzero(srt[1:] == srt[:-1])[0]
    if dup.size:
        if isinstance(at, str):
            raise InputError(f"duplicate {what} id {srt[dup[0]]} ({at})", r.path)
        r.fail(f"duplicate {what} id {srt[dup[0]]}", at)


def _in_range(r, idx, n, what, at):
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        r.fail(f"{what} {idx[bad][0]} out of range 0..{n - 1}", at)


# ------------------------------------------------------------------ writer (tests, conversions)
def write_geo(path, coords, node_ids, elements, nsets=None, elsets=None, fasets=None) -> Path:
    """Write a Z-set binary mesh (the layout above).

    ``elements``: list of (Z-set type, ids (n,), conn (n, nne) 0-based node indices in
    Z-set's local order), one group each, ranks in the order given; ``nsets``: name ->
    node indices; ``elsets``: name -> element ranks; ``fasets``: name -> list of (face
    type, node indices) (``line``/``quad`` types make a ``liset``)."""
    be = lambda a: np.asarray(a, dtype=">i4").tobytes()  # noqa: E731

    def tag(s):
        b = s.encode("ascii") + b"\0"
        return be([len(b)]) + b

    coords = np.asarray(coords, dtype=float)
    out = [MAGIC, tag("node"), be([coords.shape[0], coords.shape[1]])]
    rec = np.zeros(coords.shape[0], dtype=[("id", ">i4"), ("x", ">f8", (coords.shape[1],))])
    rec["id"], rec["x"] = node_ids, coords
    out.append(rec.tobytes())
    n_el = sum(len(ids) for _, ids, _ in elements)
    out += [MAGIC, tag("element"), be([n_el, len(elements)])]
    rank = 0
    for et, ids, conn in elements:
        conn = np.asarray(conn)
        rows = np.column_stack([ids, np.arange(rank, rank + len(ids)), conn])
        rank += len(ids)
        out += [be([len(ids)]), tag(et), be([conn.shape[1]]), be(rows)]
    for kind, sets in (("nset", nsets or {}), ("elset", elsets or {})):
        out += [MAGIC, tag(kind), be([len(sets)])]
        for name, idx in sets.items():
            out += [tag(name), be([len(idx)]), be(idx)]
    out += [MAGIC, tag("bset"), be([len(fasets or {})])]
    for name, faces in (fasets or {}).items():
        kind = "liset" if faces and faces[0][0] in ("line", "quad", "l2", "l3") else "faset"
        out += [tag(name), tag(kind), be([len(faces)])]
        for ft, conn in faces:
            out += [be([len(conn)]), be(conn), ft.encode("ascii").ljust(FACE_NAME_BYTES, b"\0")]
    out += [MAGIC, tag("ipset"), be([0]), MAGIC, tag("return"), MAGIC]
    path = Path(path)
    path.write_bytes(b"".join(out))
    return path
