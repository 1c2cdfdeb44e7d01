"""Mesh of a keyword deck: ``*NODE``, ``*ELEMENT``, ``*NSET``, ``*ELSET``, ``*SURFACE``.

* Element types (``TYPE=``) map to the romnet type of the same name (:data:`ELEMENT_TYPES`:
  reduced integration ``...R``, plane stress ``CPS*``, axisymmetric ``CAX*``); the node
  order of Abaqus/CalculiX is romnet's, so connectivities are used as written. Hybrid
  variants (``...H``) and incompatible-mode ``CPS4I``/``CPE4I`` run as the plain element,
  with a note (:func:`element_notes`, :data:`ELEMENT_NOTES`); the Abaqus adapter gives
  C3D8/CPE4/CAX4 Abaqus' B-bar formulation (:func:`use_code_formulations`).
* 2D meshes (only CPE*/CPS*/CAX* elements) get 2D coordinates (z dropped); otherwise 3D.
* Set and surface names are upper-cased. ``*ELSET``/``*NSET`` data may mix ids and names of
  sets defined before; ``GENERATE`` reads ``first, last[, step]`` triples and, as CalculiX
  does, skips the ids of the range that are not defined (an id listed explicitly must
  exist). Repeated definitions of a set add to it.
* ``*SURFACE, TYPE=ELEMENT`` (the default) with ``elset_or_element, S<k>`` lines becomes a
  face set whose faces use romnet's outward right-hand orientation (face ``S<k>`` =
  ``ElementType.faces[k-1]``); ``TYPE=NODE`` surfaces become node sets.
* Parts/instances/assemblies are read flat (names are not prefixed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from romnet.errors import InputError, UnsupportedError
from romnet.fe.elements import get_element_type
from romnet.mesh import ElementBlock, Mesh

from .numeric import array, flatten, to_int

#: source type -> (romnet type, integration points of the source element); hybrid
#: variants (``...H``) map to the same romnet element (see ELEMENT_NOTES)
ELEMENT_TYPES = {}
for _src in ("C3D4", "C3D10", "C3D6", "C3D15", "C3D8", "C3D20", "C3D8R", "C3D20R",
             "CPE3", "CPE6", "CPE4", "CPE8", "CPE4R", "CPE8R", "CPS3", "CPS6", "CPS4", "CPS8",
             "CPS4R", "CPS8R", "CAX3", "CAX6", "CAX4", "CAX8", "CAX4R", "CAX8R"):
    _n = get_element_type(_src.lower()).n_ip
    ELEMENT_TYPES[_src] = (_src.lower(), _n)
    if not _src.startswith("CPS"):
        ELEMENT_TYPES[_src + "H"] = (_src.lower(), _n)
#: incompatible-mode elements run as their compatible type (ELEMENT_NOTES)
ELEMENT_TYPES["CPS4I"] = ("cps4", 4)
ELEMENT_TYPES["CPE4I"] = ("cpe4", 4)

_HG = ("Abaqus' own hourglass control of {t} is not reproduced: romnet uses the Flanagan-"
       "Belytschko stiffness of CalculiX' C3D8R (docs/conventions.md); results differ where "
       "hourglass modes are excited")
#: (code, source type) -> note recorded on import where romnet's element differs from the code's
ELEMENT_NOTES = {("abaqus", t): _HG.format(t=t) for t in ("C3D8R", "CPE4R", "CPS4R", "CAX4R")}
ELEMENT_NOTES.update({(c, t): (f"{t} (incompatible modes) runs as the compatible {t[:-1]}: the same "
                               "under uniform strain, stiffer in bending")
                      for c in ("abaqus", "calculix") for t in ("CPS4I", "CPE4I")})
ELEMENT_NOTES.update({(c, t + "H"): (f"{t}H (hybrid) runs as the displacement element {t}"
                                     + (" (B-bar, equivalent for compressible elastic materials)"
                                        if c == "abaqus" and t in ("C3D8", "CPE4", "CAX4") else ""))
                      for c in ("abaqus", "calculix") for t in
                      ("C3D4", "C3D10", "C3D6", "C3D15", "C3D8", "C3D20", "C3D8R", "C3D20R", "CPE3",
                       "CPE6", "CPE4", "CPE8", "CPE4R", "CPE8R", "CAX3", "CAX6", "CAX4", "CAX8",
                       "CAX4R", "CAX8R")})

#: code -> {source type: romnet type} where the code's element differs from the default of
#: ELEMENT_TYPES: Abaqus' first-order fully integrated C3D8/CPE4/CAX4 (and hybrids) use
#: selectively reduced integration (B-bar), CalculiX's C3D8 plain 2x2x2 integration
CODE_FORMULATIONS = {"abaqus": {"C3D8": "c3d8_bbar", "C3D8H": "c3d8_bbar", "CPE4": "cpe4_bbar",
                                "CPE4H": "cpe4_bbar", "CAX4": "cax4_bbar", "CAX4H": "cax4_bbar"}}


def use_code_formulations(dm, code: str):
    """Give the blocks of ``dm`` (a :class:`DeckMesh`) the formulation ``code`` uses for their
    source types (:data:`CODE_FORMULATIONS`), in place; returns ``dm``."""
    table = CODE_FORMULATIONS.get(code, {})
    for b, src in zip(dm.mesh.blocks, dm.source_types):
        if src in table:
            b.etype = table[src]
    return dm


def element_notes(source_types, code: str, materials=()) -> list:
    """Notes for the element types of a deck whose formulation in romnet differs from the
    code's (``code`` 'abaqus' or 'calculix'); ``materials`` the problem's material
    assignments (CalculiX C3D8R with a nonlinear law: hourglass modulus)."""
    notes = [ELEMENT_NOTES[(code, t)] for t in dict.fromkeys(source_types) if (code, t) in ELEMENT_NOTES]
    if code == "calculix" and "C3D8R" in source_types and any(
            m.spec.get("law") != "elastic" for m in materials):
        notes.append("C3D8R with a nonlinear material: CalculiX scales the hourglass stiffness by the "
                     "current tangent's C1111, romnet by the elastic modulus")
    return notes


def romnet_type(src: str, path=None, line=None) -> tuple:
    """(romnet type, source n_ip) of an Abaqus/CalculiX element type name."""
    key = src.strip().upper()
    if key in ELEMENT_TYPES:
        return ELEMENT_TYPES[key]
    raise UnsupportedError(f"unsupported element type '{src}'; supported: "
                           + " ".join(sorted(ELEMENT_TYPES)), path, line)


@dataclass
class DeckMesh:
    """A mesh built from a deck, with the id lookups the results readers need."""

    mesh: Mesh
    source_types: list = field(default_factory=list)   # per block, e.g. "C3D20R"
    source_n_ip: list = field(default_factory=list)    # per block
    node_sets_line: dict = field(default_factory=dict)

    def __post_init__(self):
        self._node_order = np.argsort(self.mesh.node_ids, kind="stable")
        eids = np.concatenate([b.element_ids for b in self.mesh.blocks]) if self.mesh.blocks \
            else np.zeros(0, np.int64)
        self.element_ids = eids
        self._el_order = np.argsort(eids, kind="stable")

    def node_index(self, ids, path=None, line=None, what="node") -> np.ndarray:
        return _lookup(self.mesh.node_ids, self._node_order, ids, path, line, what)

    def element_index(self, ids, path=None, line=None, what="element") -> np.ndarray:
        return _lookup(self.element_ids, self._el_order, ids, path, line, what)


def _lookup(all_ids, order, ids, path, line, what):
    ids = np.asarray(ids, dtype=np.int64)
    sorted_ids = all_ids[order]
    if sorted_ids.size == 0:
        if ids.size:
            raise InputError(f"unknown {what} id {int(ids.ravel()[0])} (none defined)", path, line)
        return ids.copy()
    pos = np.clip(np.searchsorted(sorted_ids, ids), 0, sorted_ids.size - 1)
    ok = sorted_ids[pos] == ids
    if not ok.all():
        bad = int(ids[~ok].ravel()[0])
        ln = line[int(np.flatnonzero(~ok.ravel())[0])] if isinstance(line, (list, np.ndarray)) else line
        raise InputError(f"unknown {what} id {bad}", path, ln)
    return order[pos]


def _check_unique(ids, what, path, lines):
    s = np.sort(ids)
    dup = s[1:][s[1:] == s[:-1]]
    if dup.size:
        k = int(np.flatnonzero(ids == dup[0])[1])
        raise InputError(f"{what} id {int(dup[0])} defined twice", path, lines[k])


# ------------------------------------------------------------------ nodes and elements
def _read_nodes(kws):
    ids, xyz, lines, srcs = [], [], [], []
    for kw in kws:
        toks, lns = [], []
        for ln, t in kw.data:
            if len(t) < 2 or len(t) > 4:
                raise kw.error(f"expected 'id, x[, y[, z]]', got {len(t)} values", ln)
            toks.extend(t + ["0"] * (4 - len(t)))
            lns.extend([ln] * 4)
        a = array(toks, lns, kw.path, np.float64, "node").reshape(-1, 4)
        nid = a[:, 0]
        if not np.all(nid == np.round(nid)) or (nid.size and nid.min() < 1):
            k = int(np.flatnonzero((nid != np.round(nid)) | (nid < 1))[0])
            raise kw.error(f"node id must be a positive integer, got {kw.data[k][1][0]}", kw.data[k][0])
        ids.append(nid.astype(np.int64))
        xyz.append(a[:, 1:])
        lines.extend(lns[::4])
        srcs.append(kw)
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, 3)), []
    return np.concatenate(ids), np.concatenate(xyz), lines


def _read_elements(kw):
    src = kw.param("TYPE", required=True)
    etype, n_ip = romnet_type(src, kw.path, kw.line)
    nn = get_element_type(etype).n_nodes
    toks, lns = flatten(kw.data)
    if len(toks) % (nn + 1):
        k = (len(toks) // (nn + 1)) * (nn + 1)
        raise kw.error(f"element {toks[k] if k < len(toks) else '?'}: expected {nn} node ids "
                       f"for TYPE={src}, got {len(toks) - k - 1}", lns[k] if k < len(lns) else kw.line)
    a = array(toks, lns, kw.path, np.int64, "element").reshape(-1, nn + 1)
    return src.upper(), etype, n_ip, a[:, 0], a[:, 1:], lns[::nn + 1]


# ------------------------------------------------------------------ sets
def _set_members(kw, name_key, sets_by_name, ids_ok_lookup, what, defined_ids=None):
    """Indices of a *NSET / *ELSET block (ids, set names, or GENERATE triples; a GENERATE
    range keeps the ids that are in ``defined_ids``, sorted, when given)."""
    generate = "GENERATE" in kw.params
    out = []
    for ln, toks in kw.data:
        if generate:
            if len(toks) not in (2, 3):
                raise kw.error(f"GENERATE expects 'first, last[, step]', got {len(toks)} values", ln)
            a, b = to_int(toks[0], kw.path, ln), to_int(toks[1], kw.path, ln)
            st = to_int(toks[2], kw.path, ln) if len(toks) == 3 else 1
            if st <= 0 or b < a:
                raise kw.error(f"GENERATE: bad range {a}, {b}, {st}", ln)
            if (b - a) // st > 50_000_000:
                raise kw.error(f"GENERATE: range {a}..{b} too large", ln)
            ids = np.arange(a, b + 1, st)
            if defined_ids is not None:
                pos = np.clip(np.searchsorted(defined_ids, ids), 0, max(defined_ids.size - 1, 0))
                ids = ids[defined_ids[pos] == ids] if defined_ids.size else ids[:0]
            out.append(ids_ok_lookup(ids, ln))
            continue
        ids, names = [], []
        for t in toks:
            if not t:
                continue
            try:
                ids.append(int(t))
            except ValueError:
                names.append(t.upper())
        if ids:
            out.append(ids_ok_lookup(np.array(ids, dtype=np.int64), ln))
        for n in names:
            key = kw.find(sets_by_name, n)
            if key is None:
                raise kw.error(f"unknown {what} set '{n}' in {kw.params.get(name_key)}", ln)
            out.append(sets_by_name[key])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _add(sets, name, idx):
    idx = np.asarray(idx, dtype=np.int64)
    sets[name] = np.unique(np.concatenate([sets[name], idx])) if name in sets else np.unique(idx)


# ------------------------------------------------------------------ build
def build_mesh(deck, need_elements: bool = True) -> DeckMesh:
    """DeckMesh of a parsed deck (sets and surfaces included)."""
    path = deck.path
    node_kws = [k for k in deck.keywords if k.name == "NODE"]
    nid, xyz, nlines = _read_nodes(node_kws)
    if nid.size == 0:
        raise InputError("no *NODE in the deck", path)
    _check_unique(nid, "node", node_kws[0].path, nlines)
    order = np.argsort(nid, kind="stable")

    def node_lookup(ids, ln, kw=None):
        return _lookup(nid, order, ids, kw.path if kw else path, ln, "node")

    # elements grouped by source type, in order of first appearance
    groups = {}
    elines = []
    for kw in deck.keywords:
        if kw.name != "ELEMENT":
            continue
        src, etype, n_ip, eids, conn, lns = _read_elements(kw)
        conn_idx = _lookup(nid, order, conn.ravel(), kw.path,
                           np.repeat(lns, conn.shape[1]), "node").reshape(conn.shape)
        g = groups.setdefault(src, {"etype": etype, "n_ip": n_ip, "ids": [], "conn": [], "lines": [],
                                    "elsets": []})
        g["ids"].append(eids)
        g["conn"].append(conn_idx)
        g["lines"].extend(lns)
        g["elsets"].append((kw.key(kw.param("ELSET")) if kw.param("ELSET") else None, len(eids)))
        elines.append((kw, eids, lns))
    if need_elements and not groups:
        raise InputError("no *ELEMENT in the deck", path)
    etypes = {g["etype"] for g in groups.values()}
    plane = bool(etypes) and all(get_element_type(t).dim == 2 for t in etypes)
    if etypes and not plane and any(get_element_type(t).dim == 2 for t in etypes):
        raise UnsupportedError("mixed 2D (CPE*/CPS*/CAX*) and 3D elements", path)
    coords = xyz[:, :2] if plane else xyz
    blocks, src_types, src_nip = [], [], []
    elset_parts = {}
    offset = 0
    for src, g in groups.items():
        ids = np.concatenate(g["ids"])
        blocks.append(ElementBlock(g["etype"], np.concatenate(g["conn"]), ids))
        src_types.append(src)
        src_nip.append(g["n_ip"])
        start = offset
        for name, n in g["elsets"]:
            if name:
                elset_parts.setdefault(name, []).append(np.arange(start, start + n))
            start += n
        offset += ids.size
    mesh = Mesh(coords, nid, blocks)
    dm = DeckMesh(mesh, src_types, src_nip)
    if dm.element_ids.size:
        all_lines = [ln for g in groups.values() for ln in g["lines"]]
        _check_unique(dm.element_ids, "element", path, all_lines)

    nsets, elsets = {}, {}
    for kw in node_kws:
        if kw.param("NSET"):
            ids = np.array([int(float(t[0])) for _, t in kw.data], dtype=np.int64)
            _add(nsets, kw.key(kw.params["NSET"]), node_lookup(ids, kw.line, kw))
    for name, parts in elset_parts.items():
        _add(elsets, name, np.concatenate(parts))
    faces = {}
    for kw in deck.keywords:
        if kw.name == "NSET":
            name = kw.key(kw.param("NSET", required=True))
            _add(nsets, name, _set_members(kw, "NSET", nsets,
                                           lambda a, ln, kw=kw: node_lookup(a, ln, kw), "node", nid[order]))
        elif kw.name == "ELSET":
            name = kw.key(kw.param("ELSET", required=True))
            _add(elsets, name, _set_members(
                kw, "ELSET", elsets, lambda a, ln, kw=kw: dm.element_index(a, kw.path, ln), "element",
                dm.element_ids[dm._el_order]))
        elif kw.name == "SURFACE":
            _surface(kw, dm, nsets, elsets, faces, node_lookup)
    mesh.node_sets, mesh.element_sets, mesh.face_sets = nsets, elsets, faces
    return dm


def _surface(kw, dm, nsets, elsets, faces, node_lookup):
    name = kw.key(kw.param("NAME", required=True))
    stype = kw.param("TYPE", "ELEMENT")
    if stype == "NODE":
        idx = []
        for ln, toks in kw.data:
            t = toks[0] if toks else ""
            try:
                idx.append(node_lookup(np.array([int(t)]), ln, kw))
            except ValueError:
                key = kw.find(nsets, t)
                if key is None:
                    raise kw.error(f"unknown node set '{t}'", ln) from None
                idx.append(nsets[key])
        _add(nsets, name, np.concatenate(idx) if idx else [])
        return
    if stype != "ELEMENT":
        raise kw.error(f"TYPE={stype} surfaces are not supported (ELEMENT or NODE)", cls=UnsupportedError)
    offsets = dm.mesh.block_offsets()
    out = {}
    for ln, toks in kw.data:
        if len(toks) < 2 or not toks[1]:
            raise kw.error("element-based surface lines need 'elset_or_element, S<k>' "
                           "(surfaces without a face label are not supported)", ln, UnsupportedError)
        t, label = toks[0], toks[1].upper()
        try:
            els = dm.element_index(np.array([int(t)]), kw.path, ln)
        except ValueError:
            key = kw.find(elsets, t)
            if key is None:
                raise kw.error(f"unknown element set '{t}'", ln) from None
            els = elsets[key]
        add_faces(out, dm.mesh, offsets, els, label, kw.path, ln)
    for ft, parts in out.items():
        faces.setdefault(name, {})
        prev = faces[name].get(ft)
        arr = np.concatenate(parts)
        faces[name][ft] = arr if prev is None else np.concatenate([prev, arr])


def add_faces(out, mesh, offsets, elements, label, path, line):
    """Append to ``out[face_type]`` the faces ``label`` (``S3``, ``P3``...) of global elements."""
    lab = label.upper()
    if len(lab) < 2 or lab[0] not in "SP" or not lab[1:].isdigit():
        raise UnsupportedError(f"unsupported face label '{label}' (expected S1..S6 / P1..P6)", path, line)
    k = int(lab[1:]) - 1
    elements = np.asarray(elements, dtype=np.int64)
    blk = np.searchsorted(offsets, elements, side="right") - 1
    for b in np.unique(blk):
        block = mesh.blocks[int(b)]
        et = get_element_type(block.etype)
        if not 0 <= k < len(et.faces):
            raise InputError(f"face {label} does not exist on {block.etype} elements "
                             f"({len(et.faces)} faces)", path, line)
        ft, nodes = et.faces[k]
        local = elements[blk == b] - offsets[b]
        out.setdefault(ft, []).append(block.connectivity[local][:, list(nodes)])
