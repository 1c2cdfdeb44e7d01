"""Abaqus importer: ``.inp`` decks and ASCII ``.fil`` results.

``ADAPTER.read(path)`` accepts

* ``job.fil`` (ASCII, ``*FILE FORMAT, ASCII``): mesh (1900/1901 records), node and
  element sets, and every increment's nodal displacement (``U``), temperature
  (``temperature`` from NT) and integration-point values (``stress`` S, ``strain`` E,
  ``plastic_strain`` PE, ``p`` PEEQ, ``sdv`` SDV, ``ip_coordinates`` COORD, others by
  their Abaqus name); time = total time. Request them with e.g.
  ``*FILE FORMAT, ASCII`` + ``*NODE FILE`` ``U, NT`` + ``*EL FILE`` ``S, E, PEEQ, SDV``.
* ``job.inp``: mesh, sets, surfaces and problem definition (shared reader
  :mod:`adapters.abaqus_deck`), plus ``job.fil`` next to it when present.
* element types map to romnet's of the same name (plane stress ``CPS*``, axisymmetric
  ``CAX*``, reduced integration ``...R``; C3D8, CPE4, CAX4 and their hybrids to the
  B-bar ``*_bbar`` types: Abaqus integrates their volumetric strain selectively); where
  romnet's formulation differs from Abaqus' (hourglass control, hybrid and incompatible
  modes) ``metadata["notes"]`` says so (``adapters.abaqus_deck.mesh.element_notes``);
* ``.odb`` files are **not readable without Abaqus** (a proprietary format): export the
  results first, either by re-running with ``*FILE FORMAT, ASCII`` and ``*NODE FILE`` /
  ``*EL FILE`` requests (writes ``job.fil``), or with ``abaqus python`` (odbAccess) to a
  ``.fil``/``.vtu`` (then ``romnet import meshio``).

Tensors: Abaqus order ``11 22 33 12 13 23`` (``ndi`` direct then ``nshr`` shear components;
plane strain has ``11 22 33 12``) is put in romnet's ``11 22 33 12 23 31``; strain shears
are engineering (gamma) in Abaqus and are halved to tensorial. Integration points keep
Abaqus' order, which is romnet's (``docs/conventions.md``). Values that are not at
integration points (centroid, nodal averages) are reported in ``metadata["notes"]``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from romnet.adapters import Adapter
from romnet.case import Case
from romnet.errors import InputError
from romnet.fe.elements import get_element_type
from romnet.mesh import ElementBlock, Mesh
from romnet.snapshots import Field, SnapshotSeries

from ..abaqus_deck import build_mesh, parse_deck
from ..abaqus_deck.mesh import DeckMesh, element_notes, romnet_type, use_code_formulations
from ..abaqus_deck.problem import read_problem
from .fil import FilFile, read_fil

__all__ = ["ADAPTER", "ODB_MESSAGE", "AbaqusAdapter"]

ODB_MESSAGE = ("an .odb file needs Abaqus itself to be read: export the results to an ASCII .fil "
               "(re-run with '*FILE FORMAT, ASCII' and '*NODE FILE' U, NT / '*EL FILE' S, E, PEEQ, SDV "
               "in the step) or write .vtu files with 'abaqus python' (odbAccess) and import them with "
               "'romnet import meshio'")
TENSOR = ["11", "22", "33", "12", "23", "31"]
FIELD_NAMES = {"S": "stress", "E": "strain", "PE": "plastic_strain", "PEEQ": "p", "SDV": "sdv",
               "COORD": "ip_coordinates", "EE": "elastic_strain", "LE": "log_strain"}
STRAIN_LIKE = {"E", "PE", "EE", "IE", "CE", "LE", "THE"}
TENSOR_KEYS = {"S", "E", "PE", "EE", "IE", "CE", "LE"}


def mesh_from_fil(fil: FilFile) -> DeckMesh:
    ids = np.fromiter(fil.nodes.keys(), dtype=np.int64, count=len(fil.nodes))
    dims = {len(v) for v in fil.nodes.values()}
    if len(dims) != 1 or dims.pop() not in (2, 3):
        raise InputError("node records with inconsistent or unsupported coordinate counts", fil.path)
    coords = np.stack(list(fil.nodes.values()))
    order = np.argsort(ids, kind="stable")
    groups = {}
    for eid, src, nodes, line in fil.elements:
        etype, n_ip = romnet_type(src, fil.path, line)
        nn = get_element_type(etype).n_nodes
        if len(nodes) != nn:
            raise InputError(f"element {eid} ({src}): {len(nodes)} nodes, expected {nn}", fil.path, line)
        g = groups.setdefault(src, (etype, n_ip, [], []))
        g[2].append(eid)
        g[3].append(nodes)
    plane = all(get_element_type(g[0]).dim == 2 for g in groups.values())
    if not plane and coords.shape[1] == 2:
        raise InputError("3D elements with 2D node coordinates", fil.path)
    coords = coords[:, :2] if plane else coords
    s = ids[order]
    blocks = []
    for src, (etype, n_ip, eids, conn) in groups.items():
        conn = np.array(conn, dtype=np.int64)
        pos = np.clip(np.searchsorted(s, conn), 0, s.size - 1)
        if np.any(s[pos] != conn):
            raise InputError(f"{src} element refers to unknown node {int(conn[s[pos] != conn][0])}", fil.path)
        blocks.append(ElementBlock(etype, order[pos], np.array(eids, dtype=np.int64)))
    mesh = Mesh(coords, ids, blocks)
    dm = DeckMesh(mesh, list(groups), [g[1] for g in groups.values()])
    se = np.sort(dm.element_ids)
    if se.size > 1 and np.any(se[1:] == se[:-1]):
        raise InputError(f"element {int(se[1:][se[1:] == se[:-1]][0])} defined twice", fil.path)

    def name(label):
        return fil.labels.get(label.strip(), label.strip()).upper()

    for label, nids in fil.node_sets.items():
        mesh.node_sets[name(label)] = np.unique(dm.node_index(nids, fil.path, "1931", "set node"))
    for label, eids in fil.element_sets.items():
        mesh.element_sets[name(label)] = np.unique(dm.element_index(eids, fil.path, "1933", "set element"))
    return dm


def _to_storage(vals, ndi, nshr, engineering):
    """(n, ndi+nshr) Abaqus components -> (n, 6) romnet storage order."""
    out = np.zeros((vals.shape[0], 6))
    out[:, :ndi] = vals[:, :ndi]
    shear_slots = [3, 5, 4][:nshr]  # 12, 13, 23 -> storage 12, 31, 23
    for k, slot in enumerate(shear_slots):
        out[:, slot] = vals[:, ndi + k] * (0.5 if engineering else 1.0)
    return out


def build_series(fil: FilFile, dm: DeckMesh):
    mesh = dm.mesh
    notes = []
    incs = fil.increments
    times = np.array([i.total_time for i in incs])
    s = SnapshotSeries(times, increments=np.array([i.increment for i in incs], dtype=np.int64),
                       source=str(fil.path))
    n_out = len(incs)
    for src, fname in (("U", "U"), ("NT", "temperature"), ("RF", "RF"), ("V", "V"), ("A", "A"), ("CF", "CF")):
        if not any(src in i.nodal for i in incs):
            continue
        if not all(src in i.nodal for i in incs):
            notes.append(f"nodal {src} missing at some increments: not imported")
            continue
        n_c = len(next(iter(incs[0].nodal[src].values())))
        vals = np.full((n_out, mesh.n_nodes, n_c), np.nan)
        for k, inc in enumerate(incs):
            d = inc.nodal[src]
            if {len(v) for v in d.values()} != {n_c}:
                raise InputError(f"nodal {src}: component count changes", fil.path)
            idx = dm.node_index(list(d.keys()), fil.path, f"increment {inc.increment}", f"{src} node")
            vals[k, idx] = np.stack(list(d.values()))
        if np.isnan(vals).any():
            notes.append(f"nodal {src} does not cover every node: not imported")
            continue
        if src == "U":
            vals = vals[:, :, :mesh.dim]
            comps = [f"U{i + 1}" for i in range(vals.shape[2])]
        elif n_c == 1:
            comps = [fname]
        else:
            comps = [f"{src}{i + 1}" for i in range(n_c)]
        s.nodal[fname] = Field(fname, comps, vals, [src] * len(comps))
    # integration points
    n_ip_blk = [get_element_type(b.etype).n_ip for b in mesh.blocks]
    per_el = np.concatenate([np.full(b.n_elements, n) for b, n in zip(mesh.blocks, n_ip_blk)])
    ip0 = np.concatenate([[0], np.cumsum(per_el)])
    names = []
    for inc in incs:
        for nm in inc.element:
            if nm not in names:
                names.append(nm)
    for nm in names:
        fname = FIELD_NAMES.get(nm, nm)
        rows = [inc.element.get(nm, []) for inc in incs]
        if any(not r for r in rows):
            notes.append(f"element output {nm} missing at some increments: not imported")
            continue
        locs = {r[2] for rr in rows for r in rr}
        if locs != {0}:
            notes.append(f"element output {nm} is not at integration points (location {sorted(locs)}): "
                         "not imported")
            continue
        widths = {r[5].size for rr in rows for r in rr}
        if len(widths) != 1:
            raise InputError(f"element output {nm}: component count changes", fil.path, rows[0][0][6])
        n_c = widths.pop()
        ndi, nshr = rows[0][0][3], rows[0][0][4]
        tensor = nm in TENSOR_KEYS and ndi + nshr == n_c and 1 <= ndi <= 3 and nshr <= 3
        vals = np.full((n_out, int(ip0[-1]), 6 if tensor else n_c), np.nan)
        bad = None
        for k, rr in enumerate(rows):
            el = dm.element_index([r[0] for r in rr], fil.path, rr[0][6], f"{nm} element")
            ip = np.array([r[1] for r in rr]) - 1
            if np.any(ip < 0) or np.any(ip >= per_el[el]):
                bad = f"element output {nm}: integration point numbers beyond romnet's full rule " \
                      "(reduced integration?): not imported"
                break
            v = np.stack([r[5] for r in rr])
            if tensor:
                v = _to_storage(v, ndi, nshr, nm in STRAIN_LIKE)
            vals[k, ip0[el] + ip] = v
        if bad:
            notes.append(bad)
            continue
        if np.isnan(vals).any():
            notes.append(f"element output {nm} does not cover every integration point: not imported")
            continue
        if tensor:
            comps = TENSOR
        elif nm == "SDV":
            comps = [f"SDV{i + 1}" for i in range(n_c)]
        elif n_c == 1:
            comps = [fname]
        else:
            comps = [f"{nm}{i + 1}" for i in range(n_c)]
        s.integ[fname] = Field(fname, list(comps), vals, [nm] * len(comps))
    return s, notes


class AbaqusAdapter(Adapter):
    name = "abaqus"
    description = "Abaqus: .inp deck (mesh, sets, problem) and ASCII .fil results (.odb needs Abaqus: see help)"
    extras: list = []
    suffixes = [".fil", ".inp"]

    def read(self, path, progress=None) -> Case:
        path = Path(path)
        say = progress or (lambda m: None)
        suffix = path.suffix.lower()
        if suffix == ".odb":
            raise InputError(ODB_MESSAGE, path)
        if not path.exists():
            raise InputError("file not found", path)
        files = []
        if suffix == ".fil":
            say(f"reading {path}")
            fil = read_fil(path)
            files.append(str(path))
            dm = mesh_from_fil(fil)
            problem = None
        elif suffix == ".inp":
            deck = parse_deck(path)
            files.extend(deck.files)
            dm = build_mesh(deck)
            fil = read_fil(path.with_suffix(".fil")) if path.with_suffix(".fil").is_file() else None
            if fil is not None:
                files.append(str(fil.path))
        else:
            raise InputError(f"unsupported input '{path.name}': expected a .fil or .inp file", path)
        use_code_formulations(dm, "abaqus")
        results, notes = {}, []
        if fil is not None and fil.increments:
            series, notes = build_series(fil, dm)
            results["imported"] = series
        if suffix == ".inp":
            problem = read_problem(deck, dm, results["imported"].times if results else None, dialect="abaqus")
            notes.extend(problem.notes)
        dm.mesh.validate(path)
        for n in notes:
            say("note: " + n)
        meta = {"code": "abaqus", "files": files, "notes": notes}
        if fil is not None:
            meta["abaqus_release"] = fil.version
        for n in element_notes(dm.source_types, "abaqus"):
            notes.append(n)
            say("note: " + n)
        return Case(dm.mesh, problem, results, meta)


ADAPTER = AbaqusAdapter()
