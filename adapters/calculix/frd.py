"""CalculiX ``.frd`` result files, ASCII and binary layouts.

Layout (CalculiX GraphiX manual, "Result Format"; ccx ``frd.c``): fixed-column text header
records, data either as text lines (``-1``/``-2`` records, block closed by ``-3``) or, for
the binary layout (``*NODE OUTPUT`` / ``*ELEMENT OUTPUT`` in the deck), raw little-endian
records right after the header line, with no ``-3``:

=================  ==========================  =====================================
block (format)     text (0 short / 1 long)     binary
=================  ==========================  =====================================
``2C`` nodes       ``-1`` id x y z             2: int32 id + 3 float32; 3: int32 + 3 float64
``3C`` elements    ``-1`` id type group mat,   2: int32 id, type, group, mat, then the
                   ``-2`` node ids             node ids (int32)
``100C`` results   ``-1`` id v1..v6,           2: int32 id + n_stored float32
                   ``-2`` v7.. (continuation)
=================  ==========================  =====================================

Text ids are ``I5`` (short) or ``I10`` (long), values ``E12.5`` (they may touch, so the
columns are cut at fixed positions, not split on blanks). Components flagged as computed
by the viewer (``-5`` record with ``1ALL``, e.g. the displacement magnitude) are not stored.

:func:`read_frd` returns the nodes, elements (frd type codes and frd node order) and every
nodal result block with its step, increment and time (the ``100C`` record's value, the
**total** time in static/visco steps; 6 significant digits in the text layout).
Every failure raises :class:`~romnet.errors.InputError` naming ``file:line N`` (text) or
``file:byte N`` (binary).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from romnet.errors import InputError, UnsupportedError

#: frd element type code -> (romnet type, number of nodes)
FRD_TYPES = {1: ("c3d8", 8), 2: ("c3d6", 6), 3: ("c3d4", 4), 4: ("c3d20", 20), 5: ("c3d15", 15),
             6: ("c3d10", 10), 7: ("cpe3", 3), 8: ("cpe6", 6), 9: ("cpe4", 4), 10: ("cpe8", 8),
             11: ("l2", 2), 12: ("l3", 3)}

#: frd node order -> romnet (Abaqus/CalculiX) order, ``romnet_conn = frd_conn[:, perm]``
#: (cgx numbers the mid-side nodes of the vertical edges before those of the top face)
FRD_TO_ROMNET = {"c3d20": np.r_[0:12, 16:20, 12:16], "c3d15": np.r_[0:9, 12:15, 9:12]}


@dataclass
class FrdResult:
    """One nodal result block: ``values`` (n, n_stored) at ``node_ids`` (n,)."""

    name: str
    components: list
    node_ids: np.ndarray
    values: np.ndarray
    step: int
    increment: int
    time: float
    where: str = ""


@dataclass
class FrdFile:
    path: Path
    node_ids: np.ndarray = None
    coordinates: np.ndarray = None
    elements: list = field(default_factory=list)   # (frd type code, ids (n,), conn ids (n, nn))
    results: list = field(default_factory=list)
    binary: bool = False


class _Reader:
    def __init__(self, path: Path, data: bytes):
        self.path, self.data, self.pos = path, data, 0

    _in_binary = False  # set while reading a binary data block: positions are bytes

    def where(self, pos=None) -> str:
        pos = self.pos if pos is None else pos
        if self._in_binary:
            return f"byte {pos}"
        nl = b"\n"
        return f"line {self.data.count(nl, 0, pos) + 1}"

    def error(self, msg, pos=None, cls=InputError):
        return cls(msg, self.path, self.where(pos))

    def line(self) -> tuple:
        """(start offset, text of the next line) or (None, None) at the end."""
        if self.pos >= len(self.data):
            return None, None
        start = self.pos
        end = self.data.find(b"\n", start)
        if end < 0:
            end = len(self.data)
        self.pos = end + 1
        return start, self.data[start:end].rstrip(b"\r").decode("latin-1")

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            self._in_binary = True
            raise self.error(f"truncated {what}: needs {n} bytes, {len(self.data) - self.pos} left")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b


def _int(text, r: _Reader, pos, what):
    try:
        return int(text)
    except ValueError:
        raise r.error(f"{what}: expected an integer, got '{text.strip()}'", pos) from None


def _float(text, r: _Reader, pos, what):
    try:
        v = float(text)
    except ValueError:
        raise r.error(f"{what}: expected a number, got '{text.strip()}'", pos) from None
    if not np.isfinite(v):
        raise r.error(f"{what}: non-finite value '{text.strip()}'", pos)
    return v


def _text_block(r: _Reader, what: str):
    """Lines of a text data block up to ``-3``: list of (offset, line)."""
    end = r.data.find(b"\n -3", r.pos - 1)
    if end < 0:
        raise r.error(f"{what}: block not closed by a '-3' record (truncated file?)")
    chunk = r.data[r.pos:end + 1]
    start = r.pos
    r.pos = end + 1
    r.line()  # the -3 line
    out = []
    off = start
    for ln in chunk.split(b"\n"):
        if ln.strip():
            out.append((off, ln.rstrip(b"\r").decode("latin-1")))
        off += len(ln) + 1
    return out


def _parse_numbers(strings, dtype, r, offsets, what):
    """Vectorized str -> number conversion; on failure names the first bad line."""
    try:
        a = np.array(strings, dtype=dtype)
        if dtype is np.float64 and a.size and not np.isfinite(a).all():
            raise ValueError
        return a
    except (ValueError, OverflowError):
        conv = _int if dtype is np.int64 else _float
        flat = np.asarray(strings, dtype=object).ravel()
        offs = np.repeat(offsets, max(1, flat.size // max(1, len(offsets))))
        for s, o in zip(flat, offs):
            conv(s, r, int(o), what)
        raise r.error(f"{what}: bad number") from None


def _nodes_text(r: _Reader, width: int, n: int):
    lines = _text_block(r, "node block")
    if len(lines) != n:
        raise r.error(f"node block: header announces {n} nodes, found {len(lines)}", lines[-1][0] if lines else None)
    offs = [o for o, _ in lines]
    for o, ln in lines:
        if not ln.startswith(" -1"):
            raise r.error(f"node block: expected a ' -1' record, got '{ln[:12]}'", o)
    ids = _parse_numbers([ln[3:3 + width] for _, ln in lines], np.int64, r, offs, "node id")
    xs = _parse_numbers([[ln[3 + width + 12 * k:3 + width + 12 * k + 12] for k in range(3)]
                         for _, ln in lines], np.float64, r, offs, "node coordinate")
    return ids, xs


def _elements_text(r: _Reader, width: int, n: int):
    lines = _text_block(r, "element block")
    els = []
    i = 0
    while i < len(lines):
        o, ln = lines[i]
        if not ln.startswith(" -1"):
            raise r.error(f"element block: expected a ' -1' record, got '{ln[:12]}'", o)
        eid = _int(ln[3:3 + width], r, o, "element id")
        etype = _int(ln[3 + width:8 + width], r, o, "element type")
        if etype not in FRD_TYPES:
            raise r.error(f"element {eid}: unknown frd element type {etype}", o, UnsupportedError)
        nn = FRD_TYPES[etype][1]
        nodes = []
        i += 1
        while len(nodes) < nn:
            if i >= len(lines) or not lines[i][1].startswith(" -2"):
                raise r.error(f"element {eid}: expected {nn} node ids in ' -2' records, got {len(nodes)}", o)
            o2, l2 = lines[i]
            body = l2[3:].rstrip()
            nodes.extend(_int(body[k:k + width], r, o2, "node id") for k in range(0, len(body), width))
            i += 1
        if len(nodes) != nn:
            raise r.error(f"element {eid}: expected {nn} node ids, got {len(nodes)}", o)
        els.append((etype, eid, nodes))
    if len(els) != n:
        raise r.error(f"element block: header announces {n} elements, found {len(els)}")
    return els


def _elements_binary(r: _Reader, n: int):
    els = []
    for _ in range(n):
        start = r.pos
        head = np.frombuffer(r.take(16, "element record"), dtype="<i4")
        eid, etype = int(head[0]), int(head[1])
        if etype not in FRD_TYPES:
            r._in_binary = True
            raise r.error(f"element {eid}: unknown frd element type {etype}", start, UnsupportedError)
        nn = FRD_TYPES[etype][1]
        nodes = np.frombuffer(r.take(4 * nn, "element nodes"), dtype="<i4").astype(np.int64)
        els.append((etype, eid, nodes.tolist()))
    return els


def _group_elements(els):
    """[(type, id, nodes)] -> [(type, ids (n,), conn (n, nn))] grouped by type, first-seen order."""
    groups = {}
    for etype, eid, nodes in els:
        g = groups.setdefault(etype, ([], []))
        g[0].append(eid)
        g[1].append(nodes)
    return [(t, np.array(ids, dtype=np.int64), np.array(conn, dtype=np.int64)) for t, (ids, conn) in groups.items()]


def _result_values_text(r: _Reader, width: int, n_nodes: int, n_stored: int, name: str):
    lines = _text_block(r, f"result block {name}")
    per_node = 1 + (max(n_stored, 1) - 1) // 6  # 6 values per line, then -2 lines
    if len(lines) != n_nodes * per_node:
        raise r.error(f"result block {name}: header announces {n_nodes} nodes x {per_node} line(s), "
                      f"found {len(lines)} lines", lines[-1][0] if lines else None)
    offs = np.array([o for o, _ in lines])
    keys = [ln[:3] for _, ln in lines]
    first = keys[::per_node]
    if any(k != " -1" for k in first) or (per_node > 1 and any(
            k != " -2" for i, k in enumerate(keys) if i % per_node)):
        bad = next(i for i, k in enumerate(keys) if k != (" -1" if i % per_node == 0 else " -2"))
        raise r.error(f"result block {name}: unexpected record '{keys[bad]}'", int(offs[bad]))
    ids = _parse_numbers([ln[3:3 + width] for _, ln in lines[::per_node]], np.int64, r, offs[::per_node],
                         f"{name} node id")
    tails = []
    for i in range(n_nodes):
        t = "".join(lines[i * per_node + j][1][3 + width:].rstrip() for j in range(per_node))
        tails.append(t)
    lens = {len(t) for t in tails}
    if lens != {12 * n_stored}:
        i = next(k for k, t in enumerate(tails) if len(t) != 12 * n_stored)
        raise r.error(f"result block {name}: expected {n_stored} values of 12 characters, got "
                      f"'{tails[i]}'", int(offs[i * per_node]))
    vals = _parse_numbers([[t[12 * k:12 * k + 12] for k in range(n_stored)] for t in tails], np.float64,
                          r, offs[::per_node], f"{name} value")
    return ids, vals.reshape(n_nodes, n_stored)


def _block_header(ln, r, pos, what, n_max):
    """(count, format) of a node (``2C``) or element (``3C``) block header line."""
    toks = ln[6:].split()
    if len(toks) < 2:
        raise r.error(f"{what} block header: expected the {what} count and the format", pos)
    n = _int(toks[0], r, pos, f"{what} count")
    fmt = _int(toks[-1], r, pos, f"{what} block format")
    if n < 0 or n > n_max:
        raise r.error(f"{what} block: bad {what} count {n}", pos)
    return n, fmt


def read_frd(path) -> FrdFile:
    """Parse a ``.frd`` file (text or binary layout)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("frd file not found", path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from exc
    if not data.strip():
        raise InputError("empty frd file", path)
    r = _Reader(path, data)
    out = FrdFile(path)
    step = inc = 0
    seen_end = False
    while True:
        pos, ln = r.line()
        if ln is None:
            break
        key = ln[:6].strip()
        if not key:
            continue
        if key == "9999":
            seen_end = True
            break
        if key in ("1C", "1U") or ln[:5].strip() == "1" and ln[5:6] == "U":
            continue
        if ln[:5].strip() == "1" and ln[5:6] == "P":
            if ln[6:11] == "STEP " or ln[6:10] == "STEP":
                toks = ln[10:].split()
                if len(toks) >= 3:
                    inc = _int(toks[1], r, pos, "PSTEP increment")
                    step = _int(toks[2], r, pos, "PSTEP step")
            continue
        if ln[:5].strip() == "2" and ln[5:6] == "C":
            n, fmt = _block_header(ln, r, pos, "node", len(data))
            if fmt in (0, 1):
                ids, xs = _nodes_text(r, 5 if fmt == 0 else 10, n)
            elif fmt in (2, 3):
                out.binary = True
                r._in_binary = True
                size = 4 if fmt == 2 else 8
                dt = np.dtype([("id", "<i4"), ("x", f"<f{size}", (3,))])
                rec = np.frombuffer(r.take(n * dt.itemsize, "node block"), dtype=dt)
                ids, xs = rec["id"].astype(np.int64), rec["x"].astype(np.float64)
                if xs.size and not np.isfinite(xs).all():
                    raise r.error("node block: non-finite coordinate", pos)
                r._in_binary = False
            else:
                raise r.error(f"node block: unknown format {fmt}", pos, UnsupportedError)
            out.node_ids, out.coordinates = ids, xs
            continue
        if ln[:5].strip() == "3" and ln[5:6] == "C":
            n, fmt = _block_header(ln, r, pos, "element", len(data))
            if fmt in (0, 1):
                els = _elements_text(r, 5 if fmt == 0 else 10, n)
            elif fmt == 2:
                out.binary = True
                r._in_binary = True
                els = _elements_binary(r, n)
                r._in_binary = False
            else:
                raise r.error(f"element block: unknown format {fmt}", pos, UnsupportedError)
            out.elements.extend(_group_elements(els))
            continue
        if ln[:5].strip() == "100" and ln[5:6] == "C":
            out.results.append(_result_block(r, ln, pos, step, inc))
            continue
        raise r.error(f"unexpected record '{ln[:20].rstrip()}'", pos)
    if not seen_end:
        raise r.error("missing end record '9999' (truncated file?)", len(data))
    if out.node_ids is None:
        raise InputError("no node block (2C) in the frd file", path)
    return out


def _result_block(r: _Reader, head: str, pos: int, step: int, inc: int) -> FrdResult:
    where = r.where(pos)
    time = _float(head[12:24], r, pos, "result time")
    n_nodes = _int(head[24:36], r, pos, "result node count")
    fmt_txt = head[73:75].strip() or "0"
    fmt = _int(fmt_txt, r, pos, "result format")
    if n_nodes < 0 or n_nodes > len(r.data):
        raise r.error(f"result block: bad node count {n_nodes}", pos)
    p4, l4 = r.line()
    if l4 is None or not l4.startswith(" -4"):
        raise r.error("result block: expected a ' -4' record", p4)
    t4 = l4[3:].split()
    if len(t4) < 2:
        raise r.error("result block: ' -4' record needs a name and a component count", p4)
    name = t4[0]
    n_comp = _int(t4[1], r, p4, f"{name} component count")
    if not 0 < n_comp <= 1000:
        raise r.error(f"{name}: bad component count {n_comp}", p4)
    comps = []
    for _ in range(n_comp):
        p5, l5 = r.line()
        if l5 is None or not l5.startswith(" -5"):
            raise r.error(f"{name}: expected {n_comp} ' -5' component records", p5)
        t5 = l5[3:].split()
        if not t5:
            raise r.error(f"{name}: empty ' -5' record", p5)
        computed = len(t5) >= 6 and t5[5].startswith("1")
        if not computed:
            comps.append(t5[0])
    n_stored = len(comps)
    if fmt in (0, 1):
        ids, vals = _result_values_text(r, 5 if fmt == 0 else 10, n_nodes, n_stored, name)
    elif fmt == 2:
        r._in_binary = True
        dt = np.dtype([("id", "<i4"), ("v", "<f4", (n_stored,))])
        rec = np.frombuffer(r.take(n_nodes * dt.itemsize, f"result block {name}"), dtype=dt)
        ids, vals = rec["id"].astype(np.int64), rec["v"].astype(np.float64).reshape(n_nodes, n_stored)
        r._in_binary = False
    else:
        raise r.error(f"{name}: unknown result format {fmt}", pos, UnsupportedError)
    return FrdResult(name, comps, ids, vals, step, inc, time, where)
