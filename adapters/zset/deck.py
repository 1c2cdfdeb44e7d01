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
                   function <expr of cycle>; file <file> <record>
     ***table  **cycle <name> t0 t1 | **name <name>   *time ...  *value ...
     ***output ...                    ignored (romnet stores every increment)
     ***material  *file <mat> [<elset>]  [*elset <elset>]     (one block per material)
    ****return

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
* Temperature: ``times`` = the functions at cycle 0; ``fields`` = record k of each file
  (big-endian float32, records of ``*rec_size`` values); period = f(cycle=1) - f(cycle=0)
  (equal for all functions), else the third value of ``*cycle_conversion`` (its meaning
  is not documented in what we could find; both shared decks agree with this reading).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from romnet.errors import InputError, UnsupportedError
from romnet.problem import (Centrifugal, Dirichlet, MaterialAssignment, Pressure, Problem,
                            Temperature, TimeStepping, TimeTable)

from .material import read_material
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
        for name, ln in self.table_refs:
            if name not in pb.tables:
                raise InputError(f"table '{name}' not defined in ***table", self.path, ln)
        for c, ln in self.centrifugal_tables:
            c.table = self.squared_table(c.table)
        if pb.stepping is None:
            raise InputError("no ***resolution in deck", self.path)
        if not pb.materials:
            raise InputError("no ***material in deck", self.path)
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
            if self.problem.temperature is not None:
                raise UnsupportedError("second temperature parameter", self.path, kw.number)
            self.problem.temperature = self.temperature(kw, body)

    def temperature(self, kw, body):
        rec_size, conv, on_nodes = None, None, False
        keys = []  # (expr, file, record, line)
        for ln in body:
            k = ln.keyword
            if k == "*node":
                on_nodes = True
            elif k == "*rec_size":
                rec_size = to_int(ln.args[0] if ln.args else "", self.path, ln.number, "*rec_size")
            elif k == "*cycle_conversion":
                if len(ln.args) != 3:
                    raise InputError("*cycle_conversion: expected 3 values", self.path, ln.number)
                conv = [to_float(a, self.path, ln.number, "*cycle_conversion") for a in ln.args]
            elif k.startswith("*"):
                self.unsupported(k, "**file temperature", ln.number)
            elif k == "function":
                rest = " ".join(ln.tokens[1:])
                if ";" not in rest:
                    raise InputError("function line: expected 'function <expr>; file <name> <record>'",
                                     self.path, ln.number)
                expr, tail = rest.split(";", 1)
                tail = tail.split()
                if len(tail) != 3 or tail[0] != "file":
                    raise UnsupportedError(f"function line: expected 'file <name> <record>' after ';', got "
                                           f"'{' '.join(tail)}'", self.path, ln.number)
                keys.append((expr, tail[1], to_int(tail[2], self.path, ln.number, "record"), ln.number))
            else:
                raise UnsupportedError(f"unsupported line '{' '.join(ln.tokens)}' in **file temperature",
                                       self.path, ln.number)
        if not on_nodes:
            raise UnsupportedError("**file temperature without *node (only nodal temperature files)",
                                   self.path, kw.number)
        if not keys:
            raise InputError("**file temperature without 'function ...; file ...' lines", self.path, kw.number)
        n = self.mesh.n_nodes
        if rec_size is None:
            rec_size = n
        if rec_size != n:
            raise InputError(f"*rec_size {rec_size} differs from the mesh's {n} nodes", self.path, kw.number)
        times, fields, periods = [], [], set()
        for expr, fname, rec, line in keys:
            t0 = eval_expression(expr, {"cycle": 0.0}, self.path, line)
            t1 = eval_expression(expr, {"cycle": 1.0}, self.path, line)
            if t1 != t0:
                periods.add(round(t1 - t0, 12))
            p = referenced_file(fname, self.path.parent, self.path, line, "temperature file")
            if self.files is not None and str(p) not in self.files:
                self.files.append(str(p))
            size = p.stat().st_size
            if rec < 1 or size < 4 * rec * rec_size:
                raise InputError(f"temperature file {p.name}: record {rec} of {rec_size} values needs "
                                 f"{4 * rec * rec_size} bytes, found {size} bytes", self.path, line)
            fields.append(np.fromfile(p, dtype=">f4", count=rec_size, offset=4 * (rec - 1) * rec_size))
            times.append(t0)
        if any(b <= a for a, b in zip(times, times[1:])):
            raise InputError("temperature key times (functions at cycle 0) must increase", self.path, kw.number)
        if len(periods) > 1:
            raise UnsupportedError("temperature functions with different cycle periods", self.path, kw.number)
        period = periods.pop() if periods else (conv[2] if conv else None)
        return Temperature(np.asarray(times), np.asarray(fields, dtype=np.float64), period or None)

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
        if h.args:
            raise UnsupportedError(f"***material: unexpected '{' '.join(h.args)}'", self.path, h.number)
        mat, elset, line = None, None, h.number
        for ln in content:
            if ln.keyword == "*file":
                if mat is not None or not 1 <= len(ln.args) <= 2:
                    raise InputError("*file: expected one material file [and an elset]", self.path, ln.number)
                mat = referenced_file(ln.args[0], self.path.parent, self.path, ln.number, "material file")
                line = ln.number
                if len(ln.args) == 2:
                    elset = ln.args[1]
            elif ln.keyword == "*elset":
                if elset is not None or len(ln.args) != 1:
                    raise InputError("*elset: expected one element set", self.path, ln.number)
                elset = ln.args[0]
            elif ln.keyword.startswith("*"):
                self.unsupported(ln.keyword, "***material", ln.number)
            else:
                raise InputError(f"unexpected data '{' '.join(ln.tokens)}' in ***material", self.path, ln.number)
        if mat is None:
            raise InputError("***material without *file", self.path, h.number)
        elset = elset or "ALL_ELEMENT"
        self.element_set(elset, line)
        if any(m.element_set == elset for m in self.problem.materials):
            raise InputError(f"two materials on element set {elset}", self.path, line)
        if self.progress:
            self.progress(f"reading material {mat.name} on {elset}")
        spec = read_material(mat)
        if self.files is not None:
            self.files.append(str(mat))
        self.problem.materials.append(MaterialAssignment(elset, spec, str(mat)))


def read_deck(path, geof, progress=None, files=None, deck: Deck | None = None) -> Problem:
    """Read a ``****calcul`` deck on the already-read mesh ``geof`` (GeofData)."""
    deck = deck or parse_deck(path)
    if progress:
        progress(f"reading deck {deck.path.name}")
    pb = _Builder(deck, geof, progress, files).build()
    return pb
