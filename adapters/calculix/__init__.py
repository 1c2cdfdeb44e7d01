"""CalculiX (ccx) importer: ``.inp`` deck, ``.frd`` results (text or binary), ``.dat`` tables.

``ADAPTER.read(path)`` accepts

* a deck ``job.inp``: mesh, sets, surfaces and problem definition from the deck
  (:mod:`adapters.abaqus_deck`), results from ``job.frd`` and ``job.dat`` next to it when
  present (the frd nodes must agree with the deck);
* a result file ``job.frd``: mesh from the ``.frd`` (no sets, no problem definition:
  use this to import results of a deck with keywords romnet does not support), plus the
  integration-point tables of ``job.dat`` when present;
* a directory holding exactly one deck with results (or one ``.frd``).

Results go to the series ``"imported"`` (see :mod:`.results` for field names, component
orders and integration-point order). ``metadata``: ``{"code": "calculix", "files": [...],
"notes": [...], "frd_layout": "ascii"|"binary"}``; the notes say what was not imported
and why (partial ``*EL PRINT`` sets, reduced integration, extrapolated nodal stresses).
Write integration-point results with ``*EL PRINT, ELSET=<all elements>`` and ``S, E, PEEQ``
(``SDV`` for state variables), nodal ones with ``*NODE FILE`` (text ``.frd``) or ``*NODE
OUTPUT`` (binary ``.frd``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from romnet.adapters import Adapter
from romnet.case import Case
from romnet.errors import InputError
from romnet.fe.elements import get_element_type
from romnet.mesh import ElementBlock, Mesh
from romnet.problem import TimeStepping

from ..abaqus_deck import build_mesh, parse_deck
from ..abaqus_deck.mesh import DeckMesh, element_notes
from ..abaqus_deck.problem import read_problem
from ..abaqus_deck.submodel import GlobalResults
from .dat import read_dat
from .frd import FRD_TO_ROMNET, FRD_TYPES, read_frd
from .results import build_series

__all__ = ["ADAPTER", "CalculixAdapter", "mesh_from_frd"]


def mesh_from_frd(frd, allow_lines=False) -> DeckMesh:
    """Mesh of a ``.frd`` file (frd node order permuted into romnet's); line elements are
    refused, or left out with ``allow_lines``."""
    blocks = []
    for code, ids, conn in frd.elements:
        etype = FRD_TYPES[code][0]
        if etype in ("l2", "l3"):
            if allow_lines:
                continue
            raise InputError(f"beam/line elements (frd type {code}) are not supported", frd.path)
        perm = FRD_TO_ROMNET.get(etype)
        blocks.append((etype, ids, conn[:, perm] if perm is not None else conn))
    if not blocks:
        raise InputError("no element block (3C) in the frd file", frd.path)
    plane = all(get_element_type(b[0]).dim == 2 for b in blocks)
    node_ids = frd.node_ids
    order = np.argsort(node_ids, kind="stable")
    s = node_ids[order]
    if s.size > 1 and np.any(s[1:] == s[:-1]):
        raise InputError(f"node id {int(s[1:][s[1:] == s[:-1]][0])} defined twice", frd.path)
    out = []
    for etype, ids, conn in blocks:
        pos = np.clip(np.searchsorted(s, conn), 0, max(s.size - 1, 0))
        if s.size == 0 or np.any(s[pos] != conn):
            bad = int(conn[s[pos] != conn][0]) if s.size else int(conn.ravel()[0])
            raise InputError(f"element connectivity refers to unknown node {bad}", frd.path)
        out.append(ElementBlock(etype, order[pos], ids))
    coords = frd.coordinates[:, :2] if plane else frd.coordinates
    mesh = Mesh(coords, node_ids, out)
    dm = DeckMesh(mesh, [b.etype.upper() for b in out],
                  [get_element_type(b.etype).n_ip
                   for b in out])
    eids = dm.element_ids
    if eids.size > 1:
        se = np.sort(eids)
        if np.any(se[1:] == se[:-1]):
            raise InputError(f"element id {int(se[1:][se[1:] == se[:-1]][0])} defined twice", frd.path)
    return dm


def read_global_results(path) -> GlobalResults:
    """The global model of a ``*SUBMODEL`` from its ``.frd``: mesh (3D solid elements), and
    per step the last output's displacements (``DISP``; ``DISPR`` in older files) and
    temperatures (:class:`adapters.abaqus_deck.submodel.GlobalResults`)."""
    frd = read_frd(path)
    dm = mesh_from_frd(frd, allow_lines=True)
    n = dm.mesh.n_nodes
    last, n_out = {}, {}
    for b in frd.results:
        last[b.step] = max(last.get(b.step, 0), b.increment)
        n_out.setdefault(b.step, set()).add(b.increment)
    U, T = {}, {}
    for b in frd.results:
        if b.increment != last[b.step] or b.name not in ("DISP", "DISPR", "NDTEMP"):
            continue
        nodes = dm.node_index(b.node_ids, path, b.where, f"{b.name} node")
        if b.name == "NDTEMP":
            T[b.step] = np.full(n, np.nan)
            T[b.step][nodes] = b.values[:, 0]
        else:
            U[b.step] = np.full((n, 3), np.nan)
            U[b.step][nodes] = b.values[:, :3]
    blocks = [(b.etype, b.connectivity, b.element_ids) for b in dm.mesh.blocks]
    return GlobalResults(path, frd.coordinates, dm.mesh.node_ids, blocks, U, T,
                         {k: len(v) for k, v in n_out.items()})


def _check_same_nodes(dm, frd):
    idx = dm.node_index(frd.node_ids, frd.path, "node block", "frd node")
    x = dm.mesh.coordinates[idx]
    y = frd.coordinates[:, :dm.mesh.dim]
    tol = 1e-5 * max(1.0, float(np.abs(dm.mesh.coordinates).max()))
    bad = np.abs(x - y).max(axis=1) > tol
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"node {int(frd.node_ids[i])} at {y[i].tolist()} in the frd file but at "
                         f"{x[i].tolist()} in the deck: the results do not belong to this deck", frd.path)


class CalculixAdapter(Adapter):
    name = "calculix"
    description = "CalculiX: .inp deck (mesh, sets, surfaces, problem), .frd (text/binary) + .dat results"
    extras: list = []
    suffixes = [".inp", ".frd", ".dat"]

    def _resolve(self, path: Path):
        if path.is_dir():
            decks = [p for p in sorted(path.glob("*.inp")) if p.with_suffix(".frd").is_file()
                     or p.with_suffix(".dat").is_file()]
            frds = sorted(path.glob("*.frd"))
            if len(decks) == 1:
                return decks[0], None
            if not decks and len(frds) == 1:
                return None, frds[0]
            raise InputError("no unambiguous CalculiX job in this directory (decks with results: "
                             f"{', '.join(p.name for p in decks) or 'none'}; frd files: "
                             f"{', '.join(p.name for p in frds) or 'none'}); give a .inp or .frd file", path)
        suffix = path.suffix.lower()
        if not path.exists():
            raise InputError("file not found", path)
        if suffix == ".inp":
            return path, None
        if suffix == ".frd":
            return None, path
        if suffix == ".dat":
            deck = path.with_suffix(".inp")
            if deck.is_file():
                return deck, None
            raise InputError("a .dat file needs its deck (.inp) next to it to know the mesh", path)
        raise InputError(f"unsupported input '{path.name}': expected a .inp, .frd or .dat file or a "
                         "job directory", path)

    def read(self, path, progress=None) -> Case:
        path = Path(path)
        deck_path, frd_path = self._resolve(path)
        say = progress or (lambda msg: None)
        files, notes = [], []
        problem = None
        if deck_path is not None:
            say(f"reading deck {deck_path}")
            deck = parse_deck(deck_path)
            files.extend(deck.files)
            dm = build_mesh(deck)
            # the problem first: a refused keyword is reported before any results mismatch
            problem = read_problem(deck, dm, None, dialect="calculix", submodel_reader=read_global_results)
            frd_path = deck_path.with_suffix(".frd")
            frd = read_frd(frd_path) if frd_path.is_file() else None
            if frd is not None:
                _check_same_nodes(dm, frd)
        else:
            deck = None
            say(f"reading {frd_path}")
            frd = read_frd(frd_path)
            dm = mesh_from_frd(frd)
        if frd is not None:
            files.append(str(frd.path))
        base = deck_path if deck_path is not None else frd_path
        dat_path = base.with_suffix(".dat")
        dats = []
        if dat_path.is_file():
            say(f"reading {dat_path}")
            dats = read_dat(dat_path)
            files.append(str(dat_path))
        results = {}
        if frd is not None or dats:
            series, notes = build_series(frd, dats, dm, frd.path if frd is not None else None,
                                         dat_path if dats else None)
            if series.n_times:
                results["imported"] = series
        if problem is not None:
            if "imported" in results:
                problem.stepping = TimeStepping(np.concatenate([[0.0], results["imported"].times]))
            notes = notes + problem.notes + element_notes(dm.source_types, "calculix", problem.materials)
        dm.mesh.validate(base)
        meta = {"code": "calculix", "files": files, "notes": notes}
        if frd is not None:
            meta["frd_layout"] = "binary" if frd.binary else "ascii"
        reduced = [t for t, n, b in zip(dm.source_types, dm.source_n_ip, dm.mesh.blocks)
                   if n != get_element_type(b.etype).n_ip]
        if reduced:
            meta["reduced_integration_types"] = reduced
        for n in notes:
            say("note: " + n)
        return Case(dm.mesh, problem, results, meta)


ADAPTER = CalculixAdapter()
