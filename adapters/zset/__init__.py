"""Z-set (Zebulon, Safran / Mines ParisTech) importer: mesh, deck, material and results.

``ADAPTER.read(path)`` accepts

* a ``.ut`` file (sequential results; a subdomain file ``<stem>-001.ut`` or a missing
  ``<stem>.ut`` next to ``<stem>-NNN.ut`` files selects the parallel results);
* a ``.inp`` deck (``****calcul``): the problem, plus the results ``<stem>.ut`` or
  ``<stem>-NNN.ut`` next to it when present;
* a case directory: the calcul deck whose stem has results (or the only results, or
  the only deck);
* a ``.geof`` or binary ``.geo`` file (mesh only).

The problem is read when a calcul deck ``<stem>.inp`` sits next to the results. Results
go to the series ``"imported"``. ``metadata``: ``{"code": "zset", "files": [...], ...}``.
Modules: :mod:`.geof` (mesh, node-order permutations), :mod:`.geo` (binary mesh), :mod:`.results` (.ut/.node/.integ/
.ctnod), :mod:`.parallel` (subdomains -> global), :mod:`.deck` (.inp), :mod:`.material`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from romnet.adapters import Adapter
from romnet.case import Case
from romnet.errors import InputError

from .deck import is_calcul_deck, parse_deck, read_deck
from .geof import read_geof
from .material import crystal_notes
from .parallel import read_cut, read_parallel, split_subdomain_name, subdomain_uts
from .results import read_results, read_ut

__all__ = ["ZsetAdapter", "ADAPTER"]

#: largest Newton ratio romnet applies for a Z-set deck's ``*ratio`` (a looser deck value is
#: capped to it, with a note): romnet's L2 residual test at Z-set's value stops before Z-set's
#: converged answer (measured: docs/adapters.md, "Z-set", *ratio)
ZSET_RATIO_CAP = 1e-3


def _result_stems(directory: Path):
    seq, par = set(), set()
    for p in directory.glob("*.ut"):
        s = split_subdomain_name(p)
        if s:
            par.add(s[0])
        else:
            seq.add(p.stem)
    return seq, par


class ZsetAdapter(Adapter):
    name = "zset"
    description = "Z-set: .geof/.geo mesh, .inp deck + material files, .ut/.node/.integ/.ctnod results (also parallel)"
    extras: list = []
    suffixes = [".ut", ".inp", ".geof", ".geo"]

    # ------------------------------------------------------------------ inputs
    def _resolve(self, path: Path) -> dict:
        """Which deck / results / mesh to read for ``path``."""
        r = {"deck": None, "ut": None, "parallel": None, "geof": None}
        if path.is_dir():
            decks = [p for p in sorted(path.glob("*.inp")) if is_calcul_deck(p)]
            seq, par = _result_stems(path)
            pairs = [d for d in decks if d.stem in seq or d.stem in par]
            if len(pairs) > 1:
                raise InputError("several decks with results: " + ", ".join(p.name for p in pairs)
                                 + "; give one of them", path)
            if pairs:
                return self._resolve(pairs[0])
            stems = sorted(seq | par)
            if len(stems) == 1:
                s = stems[0]
                return self._resolve(path / f"{s}.ut" if s in seq else subdomain_uts(path, s)[0])
            if len(decks) == 1 and not stems:
                return self._resolve(decks[0])
            raise InputError("no unambiguous Z-set case in this directory (decks: "
                             f"{', '.join(p.name for p in decks) or 'none'}; results: "
                             f"{', '.join(stems) or 'none'}); give a .ut or .inp file", path)
        suffix = path.suffix.lower()
        directory = path.parent
        if suffix == ".inp":
            if not path.is_file():
                raise InputError("deck not found", path)
            r["deck"] = path
            stem = path.stem
            if (directory / f"{stem}.ut").is_file():
                r["ut"] = directory / f"{stem}.ut"
            elif subdomain_uts(directory, stem):
                r["parallel"] = (directory, stem)
            return r
        if suffix == ".ut":
            sub = split_subdomain_name(path)
            if path.is_file() and not sub:
                r["ut"] = path
                stem = path.stem
            elif sub and path.is_file():
                r["parallel"] = (directory, sub[0])
                stem = sub[0]
            elif not path.exists() and subdomain_uts(directory, path.stem):
                r["parallel"] = (directory, path.stem)
                stem = path.stem
            else:
                raise InputError("ut file not found", path)
            deck = directory / f"{stem}.inp"
            if deck.is_file() and is_calcul_deck(deck, strict=True):
                r["deck"] = deck
            return r
        if suffix in (".geof", ".geo"):
            if not path.is_file():
                raise InputError("mesh file not found", path)
            r["geof"] = path
            return r
        if not path.exists():
            raise InputError("not found", path)
        raise InputError(f"unsupported input '{path.name}': expected a .ut, .inp, .geof or .geo file or a case "
                         "directory", path)

    # ------------------------------------------------------------------ read
    def read(self, path, progress=None) -> Case:
        path = Path(path)
        r = self._resolve(path)
        files: list = []
        meta = {"code": "zset", "files": files}
        deck = parse_deck(r["deck"]) if r["deck"] else None
        if deck is not None:
            files.append(str(deck.path))
        ut = read_ut(r["ut"]) if r["ut"] else None
        if ut is not None:
            files.append(str(ut.path))
        # which mesh
        candidates = []
        if deck is not None:
            candidates.append((deck.mesh_file, deck.path, deck.mesh_line))
        if ut is not None:
            mp = ut.mesh_path()
            if not mp.is_file():
                raise InputError(f"mesh file '{ut.meshfile}' not found (looked for {mp})", ut.path,
                                 ut.meshfile_line)
            candidates.append((mp, ut.path, ut.meshfile_line))
        if r["parallel"] is not None:
            d, stem = r["parallel"]
            cut_path = d / f"{stem}.cut"
            if cut_path.is_file():
                cut = read_cut(cut_path)
                if cut.global_mesh:
                    gm = d / cut.global_mesh
                    if not gm.is_file():
                        raise InputError(f"global mesh '{cut.global_mesh}' not found", cut_path,
                                         cut.global_mesh_line)
                    candidates.append((gm, cut_path, cut.global_mesh_line))
            if not candidates and (d / f"{stem}.geof").is_file():
                candidates.append((d / f"{stem}.geof", d, None))
        if r["geof"] is not None:
            candidates.append((r["geof"], r["geof"], None))
        if not candidates:
            raise InputError("cannot tell which mesh to read (no deck, no global mesh)", path)
        mesh_path = candidates[0][0]
        for other, src, line in candidates[1:]:
            if Path(other).resolve() != Path(mesh_path).resolve():
                raise InputError(f"mesh '{Path(other).name}' differs from '{Path(mesh_path).name}' "
                                 f"(given by {Path(candidates[0][1]).name})", src, line)
        geof = read_geof(mesh_path, progress)
        files.insert(0, str(mesh_path))
        problem = read_deck(deck.path, geof, progress, files, deck) if deck is not None else None
        results = {}
        if ut is not None:
            results["imported"] = read_results(ut, geof, progress, files)
            if ut.element_vars:
                meta["ignored_element_variables"] = list(ut.element_vars)
        elif r["parallel"] is not None:
            d, stem = r["parallel"]
            series, info = read_parallel(d, stem, geof, progress, files)
            results["imported"] = series
            meta["parallel"] = info
        if deck is not None and deck.ignored:
            meta["ignored_deck_sections"] = list(deck.ignored)
        if problem is not None:
            rot = {m.element_set: np.round(m.spec["orientation"]["R"], 6).tolist()
                   for m in problem.materials if (m.spec.get("orientation") or {}).get("type") == "matrix"}
            if rot:  # shown by romnet info: the convention is documented, not verified by data
                meta["material_orientations"] = rot
                meta["notes"] = meta.get("notes", []) + [
                    "*rotation read as material axes in global components / Bunge Euler angles "
                    "(adapters/zset/rotation.py); not verified against a Z-set computation"]
            if problem.stepping is not None and problem.stepping.ratio > ZSET_RATIO_CAP:
                deck_ratio = problem.stepping.ratio
                problem.stepping.ratio = ZSET_RATIO_CAP
                meta["deck_ratio"] = deck_ratio
                meta["notes"] = meta.get("notes", []) + [
                    f"*ratio {deck_ratio:g} applied as romnet's Newton ratio {ZSET_RATIO_CAP:g}: romnet's test "
                    "||R||_2 <= ratio ||F_ref||_2 (docs/hifi.md) stops earlier than Z-set's own at the same "
                    "value (MecaSequentialBiMat, *ratio 0.01: U 1.6e-3 from Z-set's results at 0.01, 6.3e-5 at "
                    "1e-3; MecaParallel: 3.0e-4 at 1e-3); `romnet hifi --ratio R` overrides"]
            crystal = [n for m in problem.materials for n in crystal_notes(m.spec)]
            if crystal:
                meta["notes"] = meta.get("notes", []) + list(dict.fromkeys(crystal))
        if geof.flipped_elements:
            meta["mirrored_elements"] = dict(geof.flipped_elements)
        if geof.unattached_faces:
            meta["unattached_faces"] = geof.unattached_faces
        seen = set()
        meta["files"] = [f for f in files if not (f in seen or seen.add(f))]
        return Case(geof.mesh, problem, results, meta)


ADAPTER = ZsetAdapter()
