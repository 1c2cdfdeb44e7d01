"""Z-set solver deck (``.inp``, ``****calcul``) -> :class:`romnet.problem.Problem`.

Supported subset (anything else: UnsupportedError naming keyword, file and line)::

    ****calcul
     ***mesh  **file <geof>
     ***resolution [newton]
       **cycles N | **sequence        *time T  *increment n  *ratio r  *algorithm <any>
     ***linear_solver ...             whole block ignored (romnet picks its own solver)
     ***bc
       **impose_nodal_dof   <nset> U1|U2|U3 <value> [<table>]
       **pressure           <faset> <value> [<table>]  |  <faset> file <file> [<table>]
       **centrifugal [square]  <elset> (cx cy cz) d1|d2|d3|(ax ay az) <value> [<table>]
     ***parameter  **file temperature  *node  *rec_size n  *cycle_conversion a b c
                   <time> file <file> [<record>] | <time> uniform <T>
                   (<time>: a number or 'function <expr of cycle>;'; <file> may be a .ut)
                 | *base_temperature constant T0 | file F [rec]
                   *max_temperature constant T | file F [rec]   *table <coef table>
     ***table  **cycle <name> t0 t1 | **name <name>   *time ...  *value ...
     ***output ...                    ignored (romnet stores every increment)
     ***material  *file <mat> [<elset>] [*elset <elset>] [*integration ...] [*rotation ...]
                | **elset <elset> *file <mat> [*integration ...] [*rotation ...]  (any number)
    ****return

A file missing next to the deck but present per subdomain (``<stem>-NNN<suffix>``) is
merged through ``<deck stem>.cut`` (:class:`.parallel.SubdomainFiles`).

Conventions / conversions (each checked against the shared data where stated):

* Times: ``TimeStepping.times`` = the increments of ONE cycle (from 0); ``cycles`` = N.
* Pressure: Z-set applies ``value * table * n`` along the face normal as the face is
  written (manual, ``**pressure``: negative values compress with outward normals);
  romnet's positive pressure compresses, so romnet value = -Z-set value on faces written
  outward, +Z-set value on faces the geof reader had to reverse. A pressure file holds one
  big-endian float32 per face of the face set in file order (MecaSequential: 36 values on
  the 36 q4 of x1; the nodal reactions match per-face loads) -> ``per="face"``; a file
  with one value per mesh node gives ``per="node"``.
* Centrifugal: Z-set's value times the table is the angular rate omega and the body
  force is rho omega^2 r (manual, ``**centrifugal``; checked: the MecaSequential reactions
  equal rho (1.5e4 t)^2 int r dV). romnet takes ``omega2 * table(t)``, so omega2 =
  value^2 and the table is replaced by ``<table>_squared`` = table(t)^2 sampled at the
  table points, the step times of one cycle and 32 points per table segment (exact at the
  solver's increments, within 1e-3 of the square of the linear table between). With the
  ``square`` option the force is linear in the value: omega2 = value, table unchanged.
* Temperature: ``times`` = the key times (functions at cycle 0); ``fields`` = record k of
  each file (big-endian float32, records of ``*rec_size`` values); period = f(cycle=1) -
  f(cycle=0) (equal for all functions), else the third value of ``*cycle_conversion``
  (start, end, period of the cycles; both shared decks agree with this reading). With
  ``*base_temperature``/``*max_temperature``/``*table coef``: T = base + coef(t) (max -
  base), key fields at the table's points, periodic like the table (checked:
  MecaAlternateTempDefinition's results are byte-identical to MecaSequential's, whose
  temperature is the same history given by key files).
* Materials: every element must be in exactly one material's element set.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from romnet.errors import InputError, UnsupportedError
from romnet.problem import (Centrifugal, Dirichlet, MaterialAssignment, Pressure, Problem,
                            Temperature, TimeStepping, TimeTable)

from .material import integration_spec, read_material
from .parallel import SubdomainFiles, subdomain_pieces
from .rotation import zset_rotation
from .tokens import (eval_expression, split_blocks, parse_vector, read_lines, referenced_file, to_float,
                     to_int)

IGNORED_SECTIONS = ("linear_solver", "output")
SUPPORTED_SECTIONS = ("mesh", "resolution", "bc", "parameter", "table", "material") + IGNORED_SECTIONS


def is_calcul_deck(path, strict: bool = False) -> bool:
    """True if ``path`` is a text file whose first keyword is ``****calcul``.

    Unreadable or empty files give False, or raise InputError when ``strict``.
    """
    try:
        lines = read_lines(path, "deck")
    except InputError:
        if strict:
            raise
        return False
    return lines.toks[0][0] == "****calcul"


@dataclass
class Deck:
    path: Path
    mesh_file: Path
    mesh_line: int
    sections: list  # (head Line, body lines)
    ignored: list = field(default_factory=list)


def parse_deck(path) -> Deck:
    """First pass: split the deck in sections and find its mesh file."""
    path = Path(path)
    lines = read_lines(path, "deck")
    head = lines[0]
    if head.keyword != "****calcul":
        raise UnsupportedError(f"not a calcul deck: first keyword is '{head.keyword}' (expected "
                               "'****calcul')", path, head.number)
    if head.args:
        raise UnsupportedError(f"unsupported keyword '****calcul {' '.join(head.args)}'", path, head.number)
    body = []
    for ln in lines[1:]:
        if ln.keyword == "****return":
            break
        if ln.keyword.startswith("****"):
            raise UnsupportedError(f"unsupported keyword '{ln.keyword}' in ****calcul", path, ln.number)
        body.append(ln)
    pre, sections = split_blocks(body, 3)
    if pre:
        raise InputError(f"unexpected '{pre[0].keyword}' before the first *** keyword", path, pre[0].number)
    mesh_file = mesh_line = None
    deck = Deck(path, None, None, sections)
    for h, content in sections:
        name = h.keyword[3:]
        if name not in SUPPORTED_SECTIONS:
            raise UnsupportedError(f"unsupported keyword '{h.keyword}' in ****calcul", path, h.number)
        if name in IGNORED_SECTIONS:
            deck.ignored.append(f"{h.keyword} (line {h.number})")
        if name == "mesh":
            if mesh_file is not None:
                raise UnsupportedError("second ***mesh", path, h.number)
            _, blocks = split_blocks(content, 2)
            if h.args:
                raise UnsupportedError(f"***mesh: unexpected '{' '.join(h.args)}'", path, h.number)
            for kw, rest in blocks:
                if kw.keyword != "**file":
                    raise UnsupportedError(f"unsupported keyword '{kw.keyword}' in ***mesh", path, kw.number)
                if len(kw.args) != 1 or rest:
                    raise InputError("**file: expected one mesh file name", path, kw.number)
                mesh_file = referenced_file(kw.args[0], path.parent, path, kw.number, "mesh file")
                mesh_line = kw.number
            if content and content[0].level != 2:
                raise UnsupportedError(f"unsupported keyword '{content[0].keyword}' in ***mesh", path,
                                       content[0].number)
    if mesh_file is None:
        raise InputError("no ***mesh **file in deck", path)
    deck.mesh_file, deck.mesh_line = mesh_file, mesh_line
    return deck


class _Builder:
    def __init__(self, deck: Deck, geof, progress, files):
        self.deck, self.path, self.geof, self.mesh = deck, deck.path, geof, geof.mesh
        self.progress, self.files = progress, files
        self.problem = Problem(source=str(deck.path))
        self.table_refs = []  # (name, line)
        self.centrifugal_tables = []  # (Centrifugal, line)
        self.material_lines = []  # line of each material assignment
        self.pending = []  # closures run once every section is read (they need ***table)
        self._subdomains = None  # SubdomainFiles of a parallel run, made when first needed

    # ------------------------------------------------------------------ helpers
    def unsupported(self, kw, where, ln):
        raise UnsupportedError(f"unsupported keyword '{kw}' in {where}", self.path, ln)

    def node_set(self, name, ln):
        try:
            self.mesh.node_set(name)
        except InputError as exc:
            raise InputError(exc.problem, self.path, ln) from None

    def element_set(self, name, ln):
        try:
            self.mesh.element_set(name)
        except InputError as exc:
            raise InputError(exc.problem, self.path, ln) from None

    def face_set(self, name, ln):
        try:
            return self.mesh.face_set(name)
        except InputError as exc:
            raise InputError(exc.problem, self.path, ln) from None

    def ref_table(self, tokens, i, ln, what):
        if i < len(tokens):
            if i + 1 < len(tokens):
                raise InputError(f"{what}: unexpected '{' '.join(tokens[i + 1:])}'", self.path, ln)
            self.table_refs.append((tokens[i], ln))
            return tokens[i]
        return None

    # ------------------------------------------------------------------ sections
    def build(self) -> Problem:
        for h, content in self.deck.sections:
            name = h.keyword[3:]
            getattr(self, f"s_{name}", lambda h, c: None)(h, content)
        pb = self.problem
        for job in self.pending:
            job()
        for name, ln in self.table_refs:
            if name not in pb.tables:
                raise InputError(f"table '{name}' not defined in ***table", self.path, ln)
        for c, ln in self.centrifugal_tables:
            c.table = self.squared_table(c.table)
        if pb.stepping is None:
            raise InputError("no ***resolution in deck", self.path)
        if not pb.materials:
            raise InputError("no ***material in deck", self.path)
        self.check_material_sets()
        return pb

    def s_resolution(self, h, content):
        if self.problem.stepping is not None:
            raise UnsupportedError("second ***resolution", self.path, h.number)
        if h.args not in ([], ["newton"]):
            raise UnsupportedError(f"***resolution {' '.join(h.args)}: only newton is supported", self.path,
                                   h.number)
        cycles = 1
        seqs = []
        for ln in content:
            kw, a = ln.keyword, ln.args
            if kw == "**cycles":
                if len(a) != 1:
                    raise InputError("**cycles: expected the number of cycles", self.path, ln.number)
                cycles = to_int(a[0], self.path, ln.number, "**cycles")
                if cycles < 1:
                    raise InputError("**cycles must be >= 1", self.path, ln.number)
                seqs.append({"line": ln.number})
            elif kw == "**sequence":
                seqs.append({"line": ln.number})
            elif kw in ("*time", "*increment", "*ratio", "*algorithm"):
                if not seqs:
                    seqs.append({"line": ln.number})
                cur = seqs[-1]
                if kw[1:] in cur:
                    raise UnsupportedError(f"'{kw}' given twice in one sequence", self.path, ln.number)
                if kw == "*algorithm":
                    cur["algorithm"] = " ".join(a)  # accepted and ignored (romnet's own Newton)
                    continue
                if len(a) != 1:
                    raise UnsupportedError(f"{kw} {' '.join(a)}: expected one value", self.path, ln.number)
                if kw == "*time":
                    cur["time"] = to_float(a[0], self.path, ln.number, "*time")
                elif kw == "*increment":
                    cur["increment"] = to_int(a[0], self.path, ln.number, "*increment")
                else:
                    cur["ratio"] = to_float(a[0], self.path, ln.number, "*ratio")
            elif kw.startswith("*"):
                self.unsupported(kw, "***resolution", ln.number)
            else:
                raise InputError(f"unexpected data '{' '.join(ln.tokens)}' in ***resolution", self.path,
                                 ln.number)
        seqs = [s for s in seqs if len(s) > 1]
        if not seqs:
            raise InputError("***resolution without *time/*increment", self.path, h.number)
        times = [0.0]
        for s in seqs:
            for k in ("time", "increment"):
                if k not in s:
                    raise InputError(f"sequence without *{k}", self.path, s["line"])
            if s["increment"] < 1 or s["time"] <= times[-1]:
                raise InputError("*time must increase and *increment be >= 1", self.path, s["line"])
            times.extend(np.linspace(times[-1], s["time"], s["increment"] + 1)[1:].tolist())
        ratios = {s["ratio"] for s in seqs if "ratio" in s}
        if len(ratios) > 1:
            raise UnsupportedError("different *ratio per sequence", self.path, h.number)
        kw = {"ratio": ratios.pop()} if ratios else {}
        self.problem.stepping = TimeStepping(np.asarray(times), cycles=cycles, **kw)

    def s_bc(self, h, content):
        if h.args:
            raise UnsupportedError(f"***bc: unexpected '{' '.join(h.args)}'", self.path, h.number)
        pre, blocks = split_blocks(content, 2)
        if pre:
            raise InputError(f"unexpected '{pre[0].keyword}' in ***bc", self.path, pre[0].number)
        for kw, items in blocks:
            name = kw.keyword[2:]
            handler = getattr(self, f"bc_{name}", None)
            if handler is None:
                self.unsupported(kw.keyword, "***bc", kw.number)
            for ln in items:
                if ln.keyword.startswith("*"):
                    self.unsupported(ln.keyword, kw.keyword, ln.number)
            opts = []
            lines = list(items)
            args = list(kw.args)
            if name == "centrifugal":
                while args and args[0] in ("updated", "square"):
                    opts.append(args.pop(0))
                if "updated" in opts:
                    raise UnsupportedError("**centrifugal updated (current configuration) is not supported",
                                           self.path, kw.number)
            if args:
                lines.insert(0, type(kw)(kw.number, args, kw.text))
            if not lines:
                raise InputError(f"{kw.keyword} without data lines", self.path, kw.number)
            for ln in lines:
                handler(ln, opts)

    def bc_impose_nodal_dof(self, ln, opts):
        t = ln.tokens
        if len(t) < 3:
            raise InputError("**impose_nodal_dof: expected 'nset dof value [table]'", self.path, ln.number)
        nset, dof, val = t[0], t[1], t[2]
        self.node_set(nset, ln.number)
        if val in ("function", "file", "ascii_file"):
            raise UnsupportedError(f"**impose_nodal_dof with a '{val}' value", self.path, ln.number)
        if not (dof.startswith("U") and dof[1:].isdigit() and 1 <= int(dof[1:]) <= self.mesh.dim):
            raise UnsupportedError(f"**impose_nodal_dof: unsupported dof '{dof}' (U1..U{self.mesh.dim})",
                                   self.path, ln.number)
        value = to_float(val, self.path, ln.number, "**impose_nodal_dof value")
        table = self.ref_table(t, 3, ln.number, "**impose_nodal_dof")
        self.problem.dirichlet.append(Dirichlet(nset, int(dof[1:]) - 1, value, table))

    def bc_pressure(self, ln, opts):
        t = ln.tokens
        if len(t) < 2:
            raise InputError("**pressure: expected 'faset value [table]' or 'faset file name [table]'",
                             self.path, ln.number)
        fset = t[0]
        faces = self.face_set(fset, ln.number)
        flips = np.concatenate([self.geof.face_flips[fset][ft] for ft in faces])
        sign = np.where(flips, 1.0, -1.0)  # romnet value = sign * Z-set value
        n_faces = sum(len(c) for c in faces.values())
        if t[1] == "file":
            if len(t) < 3:
                raise InputError("**pressure file: missing file name", self.path, ln.number)
            pieces = self.pieces(t[2])
            if pieces:  # parallel run: one file per subdomain
                raw = self.subdomain_files().faces(self.path.parent / t[2], pieces, fset)
                ftypes = self.geof.face_file_types[fset]
                value, per = sign * np.concatenate([raw[ftypes == ft] for ft in faces]), "face"
                table = self.ref_table(t, 3, ln.number, "**pressure")
                self.problem.pressure.append(Pressure(fset, value, table, per))
                return
            p = referenced_file(t[2], self.path.parent, self.path, ln.number, "pressure file")
            if self.files is not None:
                self.files.append(str(p))
            size = p.stat().st_size
            if size == 4 * n_faces:
                raw = np.fromfile(p, dtype=">f4").astype(np.float64)
                # file order -> romnet order (faces grouped by type)
                ftypes = self.geof.face_file_types[fset]
                raw = np.concatenate([raw[ftypes == ft] for ft in faces])
                value, per = sign * raw, "face"
            elif size == 4 * self.mesh.n_nodes:
                if flips.any():
                    raise UnsupportedError(f"nodal pressure file on face set {fset} whose faces are not all "
                                           "written outward", self.path, ln.number)
                value, per = -np.fromfile(p, dtype=">f4").astype(np.float64), "node"
            else:
                raise InputError(f"pressure file {p.name}: expected {4 * n_faces} bytes (one float32 per "
                                 f"face of {fset}) or {4 * self.mesh.n_nodes} bytes (one per node), found "
                                 f"{size} bytes", self.path, ln.number)
            table = self.ref_table(t, 3, ln.number, "**pressure")
        else:
            if t[1] == "function":
                raise UnsupportedError("**pressure with a function value", self.path, ln.number)
            v = to_float(t[1], self.path, ln.number, "**pressure value")
            if flips.any():
                value, per = sign * v, "face"
            else:
                value, per = -v, "uniform"
            table = self.ref_table(t, 2, ln.number, "**pressure")
        self.problem.pressure.append(Pressure(fset, value, table, per))

    def bc_centrifugal(self, ln, opts):
        t = ln.tokens
        if len(t) < 4:
            raise InputError("**centrifugal: expected 'elset (center) axis value [table]'", self.path, ln.number)
        elset = t[0]
        self.element_set(elset, ln.number)
        center, i = parse_vector(t, 1, self.path, ln.number, "**centrifugal center")
        dim = self.mesh.dim
        if len(center) != dim:
            raise InputError(f"**centrifugal center: expected {dim} coordinates", self.path, ln.number)
        if i >= len(t):
            raise InputError("**centrifugal: missing axis", self.path, ln.number)
        if t[i] in ("d1", "d2", "d3"):
            axis = [0.0, 0.0, 0.0]
            axis[int(t[i][1]) - 1] = 1.0
            i += 1
        elif t[i].startswith("("):
            axis, i = parse_vector(t, i, self.path, ln.number, "**centrifugal axis")
            if len(axis) != 3 or np.linalg.norm(axis) == 0:
                raise InputError("**centrifugal axis: expected a non-zero 3-vector", self.path, ln.number)
            axis = (np.asarray(axis) / np.linalg.norm(axis)).tolist()
        else:
            raise UnsupportedError(f"**centrifugal axis '{t[i]}' (expected d1, d2, d3 or (ax ay az))",
                                   self.path, ln.number)
        if dim == 2:
            center = list(center) + [0.0]
        if i >= len(t):
            raise InputError("**centrifugal: missing value", self.path, ln.number)
        value = to_float(t[i], self.path, ln.number, "**centrifugal value")
        table = self.ref_table(t, i + 1, ln.number, "**centrifugal")
        if "square" in opts:
            c = Centrifugal(elset, center, axis, value, table)
        else:
            c = Centrifugal(elset, center, axis, value * value, table)
            if table is not None:
                self.centrifugal_tables.append((c, ln.number))
        self.problem.centrifugal.append(c)

    def pieces(self, name):
        """Per-subdomain files ``<stem>-NNN<suffix>`` standing for a missing file ``name``."""
        p = Path(name) if Path(name).is_absolute() else self.path.parent / name
        return [] if p.exists() else subdomain_pieces(p)

    def subdomain_files(self):
        if self._subdomains is None:
            self._subdomains = SubdomainFiles(self.path.with_suffix(".cut"), self.geof, self.files)
        return self._subdomains

    def squared_table(self, name):
        """Table of table(t)^2 (see module docstring); created once per source table."""
        new = f"{name}_squared"
        tabs = self.problem.tables
        if new in tabs:
            return new
        base = tabs[name]
        tt = np.asarray(base.times, dtype=float)
        pts = [tt]
        for a, b in zip(tt[:-1], tt[1:]):
            pts.append(np.linspace(a, b, 33))
        st = self.problem.stepping.times if self.problem.stepping is not None else np.zeros(0)
        if base.period:
            st = tt[0] + np.mod(st - tt[0], base.period)
        pts.append(st[(st >= tt[0]) & (st <= tt[-1])])
        t = np.unique(np.round(np.concatenate(pts), 12))
        v = np.interp(t, tt, np.asarray(base.values, dtype=float)) ** 2
        tabs[new] = TimeTable(new, t.tolist(), v.tolist(), base.period)
        return new

    def s_parameter(self, h, content):
        pre, blocks = split_blocks(content, 2)
        if pre:
            raise InputError(f"unexpected '{pre[0].keyword}' in ***parameter", self.path, pre[0].number)
        for kw, body in blocks:
            if kw.keyword != "**file":
                self.unsupported(kw.keyword, "***parameter", kw.number)
            if kw.args != ["temperature"]:
                raise UnsupportedError(f"**file {' '.join(kw.args)}: only the temperature parameter is "
                                       "supported", self.path, kw.number)
            if self.problem.temperature is not None or self.pending:
                raise UnsupportedError("second temperature parameter", self.path, kw.number)
            self.problem.temperature = self.temperature(kw, body)

    def temperature(self, kw, body):
        """``**file temperature`` -> :class:`Temperature` (see the module docstring).

        Two forms: key lines ``<time> file <F> <record>`` (``<time>`` a number or
        ``function <expr of cycle>;``), or ``*base_temperature`` + ``*max_temperature`` +
        ``*table`` (T = base + coef(t) (max - base)). The second form needs the ***table
        section, which may come later in the deck: it is resolved in :meth:`build`."""
        opt = {"rec_size": None, "conv": None, "node": False, "base": None, "max": None, "table": None}
        keys = []  # (time: float | expr str, file, record, line)
        for ln in body:
            k, a = ln.keyword, ln.args
            if k == "*node":
                opt["node"] = True
            elif k == "*rec_size":
                opt["rec_size"] = to_int(a[0] if a else "", self.path, ln.number, "*rec_size")
            elif k == "*cycle_conversion":
                if len(a) != 3:
                    raise InputError("*cycle_conversion: expected 'start end period'", self.path, ln.number)
                opt["conv"] = [to_float(x, self.path, ln.number, "*cycle_conversion") for x in a]
                if opt["conv"][2] <= 0:
                    raise InputError("*cycle_conversion: the period must be > 0", self.path, ln.number)
            elif k in ("*base_temperature", "*max_temperature"):
                opt["base" if k == "*base_temperature" else "max"] = self.temperature_source(a, ln.number, k)
            elif k == "*table":
                if len(a) != 1:
                    raise InputError("*table: expected the name of a ***table", self.path, ln.number)
                opt["table"] = (a[0], ln.number)
            elif k.startswith("*"):
                self.unsupported(k, "**file temperature", ln.number)
            else:
                keys.append(self.temperature_key(ln))
        if not opt["node"]:
            raise UnsupportedError("**file temperature without *node (only nodal temperature files)",
                                   self.path, kw.number)
        n = self.mesh.n_nodes
        rec_size = n if opt["rec_size"] is None else opt["rec_size"]
        if rec_size != n:
            raise InputError(f"*rec_size {rec_size} differs from the mesh's {n} nodes", self.path, kw.number)
        alt = [opt["base"], opt["max"], opt["table"]]
        if any(x is not None for x in alt):
            if keys:
                raise UnsupportedError("**file temperature mixing key lines with *base_temperature/"
                                       "*max_temperature", self.path, keys[0][2])
            names = ("*base_temperature", "*max_temperature", "*table")
            missing = [nm for nm, x in zip(names, alt) if x is None]
            if missing:
                raise InputError(f"**file temperature: {missing[0]} missing (T = base + coef(t) (max - base) needs "
                                 "*base_temperature, *max_temperature and *table)", self.path, kw.number)
            base = self.temperature_values(opt["base"], rec_size)
            tmax = self.temperature_values(opt["max"], rec_size)
            self.pending.append(lambda: self.base_max_temperature(base, tmax, opt["table"], opt["conv"]))
            return None
        if not keys:
            raise InputError("**file temperature without key lines ('<time> file <name> <record>') nor "
                             "*base_temperature/*max_temperature/*table", self.path, kw.number)
        times, fields, periods = [], [], set()
        for time, source, line in keys:
            if isinstance(time, str):
                t0 = eval_expression(time, {"cycle": 0.0}, self.path, line)
                t1 = eval_expression(time, {"cycle": 1.0}, self.path, line)
                if t1 != t0:
                    periods.add(round(t1 - t0, 12))
            else:
                t0 = time
            fields.append(self.temperature_values(source, rec_size))
            times.append(t0)
        if any(b <= a for a, b in zip(times, times[1:])):
            raise InputError("temperature key times (functions at cycle 0) must increase", self.path, kw.number)
        if len(periods) > 1:
            raise UnsupportedError("temperature functions with different cycle periods", self.path, kw.number)
        period = periods.pop() if periods else None
        if period is None and opt["conv"] is not None:  # in-cycle time = start + (t - start) mod period
            period = opt["conv"][2]
        return Temperature(np.asarray(times), np.asarray(fields, dtype=np.float64), period or None)

    def temperature_key(self, ln):
        """(time, source, line) of a key line: ``<number> <value>`` or ``function <expr>; <value>``,
        value ``file <name> [<record>]`` or ``uniform <T>``."""
        t = ln.tokens
        if t[0] == "function":
            rest = " ".join(t[1:])
            if ";" not in rest:
                raise InputError("function line: expected 'function <expr>; file <name> <record>'",
                                 self.path, ln.number)
            time, tail = rest.split(";", 1)
            tail = tail.split()
        else:
            time = to_float(t[0], self.path, ln.number, "temperature key time")
            tail = t[1:]
        return time, self.temperature_source(tail, ln.number, "temperature key"), ln.number

    def temperature_source(self, a, line, what):
        """('constant', T) or ('file', path, record) of ``constant T`` / ``uniform T`` /
        ``file NAME [record]`` (record 1-based, default 1)."""
        if len(a) == 2 and a[0] in ("constant", "uniform"):
            return ("constant", to_float(a[1], self.path, line, what), line)
        if a and a[0] == "file" and len(a) in (2, 3):
            rec = to_int(a[2], self.path, line, f"{what} record") if len(a) == 3 else 1
            if rec < 1:
                raise InputError(f"{what}: record numbers start at 1, got {rec}", self.path, line)
            pieces = self.pieces(a[1])
            if pieces:
                return ("pieces", self.path.parent / a[1], pieces, rec, line)
            p = referenced_file(a[1], self.path.parent, self.path, line, "temperature file")
            if self.files is not None and str(p) not in self.files:
                self.files.append(str(p))
            return ("file", p, rec, line)
        if a and a[0] == "function":
            raise UnsupportedError(f"{what}: a temperature given by a function of space", self.path, line)
        raise InputError(f"{what}: expected 'constant <T>', 'uniform <T>' or 'file <name> [<record>]', got "
                         f"'{' '.join(a)}'", self.path, line)

    def temperature_values(self, source, rec_size):
        """(n_nodes,) float64 of a temperature source (see :meth:`temperature_source`).

        A file is big-endian float32 records of ``rec_size`` values; a ``.ut`` result index
        (a Z-set thermal computation) stands for output ``record`` of its node variable
        ``temperature`` (or its only node variable) in the ``.node`` file beside it."""
        if source[0] == "constant":
            return np.full(rec_size, source[1])
        if source[0] == "pieces":
            _, whole, pieces, rec, line = source
            recs = self.subdomain_files().nodal(whole, pieces)
            if rec > recs.shape[0]:
                raise InputError(f"temperature file {whole.name} (per subdomain): record {rec} requested, "
                                 f"the subdomain files hold {recs.shape[0]}", self.path, line)
            return recs[rec - 1]
        _, p, rec, line = source
        if p.suffix == ".ut":
            return self.ut_temperature(p, rec, rec_size, line)
        size = p.stat().st_size
        if size % (4 * rec_size):
            raise InputError(f"temperature file {p.name}: {size} bytes is not a whole number of records of "
                             f"{rec_size} float32 values ({4 * rec_size} bytes each)", self.path, line)
        if size < 4 * rec * rec_size:
            raise InputError(f"temperature file {p.name}: record {rec} of {rec_size} values needs "
                             f"{4 * rec * rec_size} bytes, found {size} bytes ({size // (4 * rec_size)} records)",
                             self.path, line)
        v = np.fromfile(p, dtype=">f4", count=rec_size, offset=4 * (rec - 1) * rec_size).astype(np.float64)
        if not np.all(np.isfinite(v)):
            raise InputError(f"temperature file {p.name}: non-finite value in record {rec}", self.path, line)
        return v

    def ut_temperature(self, p, rec, rec_size, line):
        from .results import binary_path, read_node_values, read_ut
        ut = read_ut(p)
        if ut.mesh_path().resolve() != self.geof.path.resolve():
            raise InputError(f"temperature result {p.name} is on mesh '{ut.meshfile}', not on "
                             f"{self.geof.path.name}", self.path, line)
        names = ut.node_vars
        var = "temperature" if "temperature" in names else (names[0] if len(names) == 1 else None)
        if var is None:
            raise InputError(f"temperature result {p.name}: no node variable 'temperature' (has "
                             f"{' '.join(names) or 'none'})", self.path, line)
        if rec > ut.n_outputs:
            raise InputError(f"temperature result {p.name}: output {rec} requested, it has {ut.n_outputs}",
                             self.path, line)
        node = binary_path(ut, ".node", "node file")
        if self.files is not None:
            self.files.append(str(node))
        vals = read_node_values(node, ut.n_outputs, len(names), rec_size, "node file")
        return vals[rec - 1, names.index(var)].astype(np.float64)

    def base_max_temperature(self, base, tmax, table, conv):
        """T(t) = base + coef(t) (max - base) as key fields at the coef table's points
        (exact: T is linear in coef, coef piecewise linear in t), periodic like the table."""
        name, line = table
        tab = self.problem.tables.get(name)
        if tab is None:
            raise InputError(f"table '{name}' not defined in ***table", self.path, line)
        tt, vv = np.asarray(tab.times, float), np.asarray(tab.values, float)
        keep = np.concatenate([[True], np.diff(tt) > 0])  # a step (repeated time) keeps both sides
        if not keep.all():
            raise UnsupportedError(f"table '{name}' has a step (repeated time): a temperature jump", self.path, line)
        period = tab.period or (conv[2] if conv else None)
        fields = base[None, :] + vv[:, None] * (tmax - base)[None, :]
        self.problem.temperature = Temperature(tt, fields, period)

    def s_table(self, h, content):
        pre, blocks = split_blocks(content, 2)
        if pre:
            raise InputError(f"unexpected '{pre[0].keyword}' in ***table", self.path, pre[0].number)
        for kw, body in blocks:
            if kw.keyword not in ("**cycle", "**name"):
                self.unsupported(kw.keyword, "***table", kw.number)
            a = kw.args
            if kw.keyword == "**cycle":
                if len(a) != 3:
                    raise InputError("**cycle: expected 'name t0 t1'", self.path, kw.number)
                t0, t1 = (to_float(x, self.path, kw.number, "**cycle") for x in a[1:])
                if t1 <= t0:
                    raise InputError("**cycle: t1 must be > t0", self.path, kw.number)
                period = t1 - t0
            else:
                if len(a) != 1:
                    raise InputError("**name: expected the table name", self.path, kw.number)
                period = None
            name = a[0]
            if name in self.problem.tables:
                raise InputError(f"table '{name}' defined twice", self.path, kw.number)
            lists = {}
            cur = None
            for ln in body:
                if ln.keyword in ("*time", "*value"):
                    cur = ln.keyword[1:]
                    if cur in lists:
                        raise InputError(f"{ln.keyword} given twice in table '{name}'", self.path, ln.number)
                    lists[cur] = [to_float(x, self.path, ln.number, ln.keyword) for x in ln.args]
                elif ln.keyword.startswith("*"):
                    self.unsupported(ln.keyword, f"table {name}", ln.number)
                elif cur is None:
                    raise InputError(f"data before *time in table '{name}'", self.path, ln.number)
                else:
                    lists[cur].extend(to_float(x, self.path, ln.number, f"*{cur}") for x in ln.tokens)
            if "time" not in lists or "value" not in lists:
                raise InputError(f"table '{name}' needs *time and *value", self.path, kw.number)
            tt, vv = lists["time"], lists["value"]
            if len(tt) != len(vv) or not tt:
                raise InputError(f"table '{name}': {len(tt)} times but {len(vv)} values", self.path, kw.number)
            if any(b < a for a, b in zip(tt, tt[1:])):
                raise InputError(f"table '{name}': times must not decrease", self.path, kw.number)
            self.problem.tables[name] = TimeTable(name, tt, vv, period)

    def s_material(self, h, content):
        """``***material``: ``*file`` [``*elset``, ``*integration``, ``*rotation``] for one
        material, or any number of ``**elset NAME`` blocks each with its own ``*file``
        [``*integration``, ``*rotation``]; options may share the ``**elset`` line."""
        if h.args:
            raise UnsupportedError(f"***material: unexpected '{' '.join(h.args)}'", self.path, h.number)
        pre, blocks = split_blocks(content, 2)
        if blocks:
            if pre:
                raise InputError(f"'{pre[0].keyword}' before the first **elset of ***material (give it "
                                 "inside each **elset block)", self.path, pre[0].number)
            for kw, body in blocks:
                if kw.keyword != "**elset":
                    self.unsupported(kw.keyword, "***material", kw.number)
                if not kw.args or kw.args[0].startswith("*"):
                    raise InputError("**elset: expected an element set name", self.path, kw.number)
                head = type(kw)(kw.number, kw.args[1:], kw.text)
                self.material_block(([head] if head.tokens else []) + list(body), kw.args[0], kw.number,
                                    f"**elset {kw.args[0]}")
        else:
            self.material_block(pre, None, h.number, "***material")

    def material_block(self, lines, elset, head_line, where):
        """One material assignment from the option lines of a block (``*kw args`` groups,
        several per line allowed)."""
        opts = []  # (keyword, args, line)
        for ln in lines:
            for tok in ln.tokens:
                if tok.startswith("*"):
                    opts.append((tok, [], ln.number))
                elif opts:
                    opts[-1][1].append(tok)
                else:
                    raise InputError(f"unexpected data '{' '.join(ln.tokens)}' in {where}", self.path, ln.number)
        mat, line, rotation, integration = None, head_line, None, None
        seen = set()
        for kw, args, ln in opts:
            if kw in seen:
                raise InputError(f"second {kw} in {where}", self.path, ln)
            seen.add(kw)
            if kw == "*file":
                if not 1 <= len(args) <= (1 if elset else 2):
                    raise InputError("*file: expected one material file" + ("" if elset else " [and an elset]"),
                                     self.path, ln)
                mat = referenced_file(args[0], self.path.parent, self.path, ln, "material file")
                line = ln
                if len(args) == 2:
                    elset = args[1]
            elif kw == "*elset" and where == "***material":
                if elset is not None or len(args) != 1:
                    raise InputError("*elset: expected one element set", self.path, ln)
                elset = args[0]
            elif kw == "*rotation":
                rotation = zset_rotation(args, self.path, ln)
            elif kw == "*integration":
                integration = integration_spec(args, self.path, ln)
            else:
                self.unsupported(kw, where, ln)
        if mat is None:
            raise InputError(f"{where} without *file", self.path, head_line)
        elset = elset or "ALL_ELEMENT"
        self.element_set(elset, line)
        if any(m.element_set == elset for m in self.problem.materials):
            raise InputError(f"two materials on element set {elset}", self.path, line)
        if self.progress:
            self.progress(f"reading material {mat.name} on {elset}")
        spec = read_material(mat)
        if integration is not None:  # the deck's *integration overrides the file's
            spec["integration"] = integration
        if rotation is not None:
            if spec.get("orientation") is not None:
                raise InputError(f"*rotation given here and in material file {mat.name}", self.path, line)
            spec["orientation"] = {"type": "matrix", "R": rotation.tolist()}
        if self.files is not None:
            self.files.append(str(mat))
        self.problem.materials.append(MaterialAssignment(elset, spec, str(mat)))
        self.material_lines.append(line)

    def check_material_sets(self):
        """Every element in exactly one material's element set (Z-set gives each element one
        behavior; romnet refuses overlaps rather than picking one)."""
        mats = self.problem.materials
        count = np.zeros(self.mesh.n_elements, dtype=np.int64)
        owner = np.full(self.mesh.n_elements, -1, dtype=np.int64)
        for i, m in enumerate(mats):
            els = self.mesh.element_set(m.element_set)
            twice = els[count[els] > 0]
            if twice.size:
                other = mats[owner[twice[0]]].element_set
                raise InputError(f"element {self.element_id(twice[0])} is in the element sets of two materials "
                                 f"({other} and {m.element_set}): {twice.size} element(s) in both", self.path,
                                 self.material_lines[i])
            count[els] += 1
            owner[els] = i
        none = np.flatnonzero(count == 0)
        if none.size:
            raise InputError(f"{none.size} element(s) have no material (first: element {self.element_id(none[0])}); "
                             f"material sets: {', '.join(m.element_set for m in mats)}", self.path,
                             self.material_lines[0])

    def element_id(self, index):
        ids = np.concatenate([b.element_ids for b in self.mesh.blocks])
        return int(ids[index])


def read_deck(path, geof, progress=None, files=None, deck: Deck | None = None) -> Problem:
    """Read a ``****calcul`` deck on the already-read mesh ``geof`` (GeofData)."""
    deck = deck or parse_deck(path)
    if progress:
        progress(f"reading deck {deck.path.name}")
    pb = _Builder(deck, geof, progress, files).build()
    return pb
