"""Problem definition of a keyword deck -> :class:`romnet.problem.Problem`.

Supported (anything else raises :class:`~romnet.errors.UnsupportedError` naming the keyword
and ``file:line``; output requests and headings are ignored):

* materials: ``*MATERIAL``, ``*ELASTIC`` (isotropic, E nu T), ``*PLASTIC`` (isotropic
  hardening with 1 point per temperature -> constant R0, 2 (or collinear) points -> linear
  R0 + H p; ``HARDENING=KINEMATIC`` with 2 points -> linear kinematic C = H),
  ``*CREEP, LAW=NORTON`` (CalculiX: eps_dot = A q^n t^m with m = 0 -> Norton
  K = A^(-1/n), no yield stress), ``*EXPANSION`` (``ZERO=`` reference temperature),
  ``*DENSITY``; temperature columns become COEF tables (``docs/materials.md``);
  ``*SOLID SECTION`` assigns a material to an element set;
* ``*BOUNDARY`` (node set or node, first[, last[, value]]; ENCASTRE/PINNED/XSYMM/...),
  ``*DLOAD`` pressures ``P<k>`` on element faces (a face set ``DLOAD_<elset>_P<k>`` is
  added to the mesh) and ``CENTRIF`` (omega^2, point, axis), ``*INITIAL CONDITIONS,
  TYPE=TEMPERATURE`` and ``*TEMPERATURE``;
* steps: ``*STEP`` (small strain only: ``NLGEOM`` must be off) with ``*STATIC`` or
  ``*VISCO`` (initial increment, period[, min, max]; ``DIRECT`` = fixed increments).

Time: each step adds its period to the total time. As in both codes for static/visco
steps, loads, imposed values and temperatures change linearly over a step from their value
at the end of the previous step (0 at the start) to the value the step gives, and keep it
afterwards; model-data boundary conditions hold from t = 0. A quantity that changes gets a
piecewise-linear :class:`~romnet.problem.TimeTable` (value 1 x table); temperatures become
key fields at the step ends (:class:`~romnet.problem.Temperature`).
"""
from __future__ import annotations

import numpy as np

from romnet.errors import InputError, UnsupportedError
from romnet.problem import (
    Centrifugal,
    Dirichlet,
    MaterialAssignment,
    Pressure,
    Problem,
    Temperature,
    TimeStepping,
    TimeTable,
)

from .mesh import add_faces
from .numeric import to_float, to_int

IGNORED = {"HEADING", "PREPRINT", "PART", "END PART", "ASSEMBLY", "END ASSEMBLY", "INSTANCE",
           "END INSTANCE", "NODE FILE", "EL FILE", "NODE PRINT", "EL PRINT", "NODE OUTPUT",
           "ELEMENT OUTPUT", "OUTPUT", "FILE FORMAT", "RESTART", "MONITOR", "ENERGY PRINT",
           "CONTACT FILE", "CONTACT PRINT", "SECTION PRINT", "FACE PRINT",
           "CONTROLS", "PHYSICAL CONSTANTS", "CONDUCTIVITY", "SPECIFIC HEAT", "DIAGNOSTICS",
           "NODE", "ELEMENT", "NSET", "ELSET", "SURFACE", "DEPVAR"}
MATERIAL_KEYWORDS = {"ELASTIC", "PLASTIC", "CREEP", "EXPANSION", "DENSITY"}
SYMMETRY = {"ENCASTRE": (0, 1, 2), "PINNED": (0, 1, 2), "XSYMM": (0,), "YSYMM": (1,), "ZSYMM": (2,)}


def _coef(rows, kw, col, what):
    """COEF from data rows [(line, [v..., T])]: number or {'temperature','value'} table."""
    vals, temps = [], []
    for ln, v in rows:
        vals.append(v[col])
        temps.append(v[-1])
    if len(rows) == 1 or len(set(vals)) == 1:
        return float(vals[0])
    t = np.array(temps)
    if np.any(np.diff(t) <= 0):
        raise kw.error(f"{what}: temperatures must be strictly increasing, got {temps}", rows[0][0])
    return {"temperature": [float(x) for x in t], "value": [float(x) for x in vals]}


def _rows(kw, n_values, what, min_values=1):
    """Data rows as floats, padded with 0 up to n_values + 1 (temperature last)."""
    out = []
    for ln, toks in kw.data:
        toks = [t for t in toks if t != ""]
        if not min_values <= len(toks) <= n_values + 1:
            raise kw.error(f"{what}: expected {min_values}..{n_values + 1} values, got {len(toks)}", ln)
        v = [to_float(t, kw.path, ln, what) for t in toks]
        v += [0.0] * (n_values + 1 - len(v))
        out.append((ln, v))
    if not out:
        raise kw.error(f"{what}: no data line")
    return out


class _Material:
    def __init__(self, kw):
        self.kw = kw
        self.name = kw.param("NAME", required=True)
        self.parts = {}

    def add(self, kw):
        if kw.name in self.parts:
            raise kw.error(f"defined twice in material {self.name}")
        self.parts[kw.name] = kw

    def spec(self) -> dict:
        kw0 = self.kw
        if "ELASTIC" not in self.parts:
            raise kw0.error(f"material {self.name} has no *ELASTIC", cls=UnsupportedError)
        el = self.parts["ELASTIC"]
        if el.param("TYPE", "ISO") not in ("ISO", "ISOTROPIC"):
            raise el.error(f"TYPE={el.params['TYPE']} not supported (isotropic only)", cls=UnsupportedError)
        rows = _rows(el, 2, "*ELASTIC E, nu[, T]", 2)
        spec = {"law": "elastic", "name": self.name, "source": kw0.where(),
                "density": None,
                "elasticity": {"young": _coef(rows, el, 0, "E"), "poisson": _coef(rows, el, 1, "nu")}}
        if "DENSITY" in self.parts:
            d = self.parts["DENSITY"]
            drows = _rows(d, 1, "*DENSITY rho[, T]")
            dens = {v[0] for _, v in drows}
            if len(dens) != 1:
                raise d.error("temperature-dependent density not supported", cls=UnsupportedError)
            spec["density"] = float(dens.pop())
        if "EXPANSION" in self.parts:
            e = self.parts["EXPANSION"]
            if e.param("TYPE", "ISO") not in ("ISO", "ISOTROPIC"):
                raise e.error(f"TYPE={e.params['TYPE']} not supported (isotropic only)", cls=UnsupportedError)
            zero = to_float(e.param("ZERO", "0"), e.path, e.line, "ZERO")
            erows = _rows(e, 1, "*EXPANSION alpha[, T]")
            spec["thermal_strain"] = {"alpha": _coef(erows, e, 0, "alpha"), "ref_temperature": zero}
        plastic = self.parts.get("PLASTIC")
        creep = self.parts.get("CREEP")
        if plastic is not None and creep is not None:
            raise creep.error("*CREEP combined with *PLASTIC is not supported", cls=UnsupportedError)
        if plastic is not None:
            spec.update(law="gen_evp", flow={"type": "plasticity"}, kinematic=None)
            iso, kin = _hardening(plastic)
            spec["isotropic"] = iso
            spec["kinematic"] = kin
        if creep is not None:
            law = creep.param("LAW", "NORTON")
            if law not in ("NORTON", "TIME", "STRAIN"):
                raise creep.error(f"LAW={law} not supported (NORTON)", cls=UnsupportedError)
            crows = _rows(creep, 3, "*CREEP A, n, m[, T]", 2)
            for ln, v in crows:
                if v[2] != 0.0:
                    raise creep.error(f"time exponent m = {v[2]:g} not supported (m = 0 only)", ln,
                                      UnsupportedError)
                if v[0] <= 0 or v[1] < 1:
                    raise creep.error(f"A must be > 0 and n >= 1, got A = {v[0]:g}, n = {v[1]:g}", ln)
            krows = [(ln, [v[0] ** (-1.0 / v[1]), v[1], v[3]]) for ln, v in crows]
            spec.update(law="gen_evp", flow={"type": "norton", "K": _coef(krows, creep, 0, "K"),
                                             "n": _coef(krows, creep, 1, "n")},
                        kinematic=None, isotropic=None)
        return spec


def _hardening(kw):
    hard = kw.param("HARDENING", "ISOTROPIC")
    if hard not in ("ISOTROPIC", "KINEMATIC"):
        raise kw.error(f"HARDENING={hard} not supported (ISOTROPIC, KINEMATIC)", cls=UnsupportedError)
    rows = _rows(kw, 2, "*PLASTIC stress, plastic strain[, T]")
    by_t = {}
    for ln, (s, e, t) in rows:
        by_t.setdefault(t, []).append((ln, s, e))
    temps = list(by_t)
    if any(b <= a for a, b in zip(temps, temps[1:])):
        raise kw.error("temperatures must be increasing", rows[0][0])
    r0, h = [], []
    for t, pts in by_t.items():
        ln = pts[0][0]
        if pts[0][2] != 0.0:
            raise kw.error(f"first plastic strain at T = {t:g} must be 0, got {pts[0][2]:g}", ln)
        if len(pts) == 1:
            r0.append(pts[0][1])
            h.append(0.0)
            continue
        s = np.array([p[1] for p in pts])
        e = np.array([p[2] for p in pts])
        if np.any(np.diff(e) <= 0):
            raise kw.error(f"plastic strains at T = {t:g} must be increasing", ln)
        slope = (s[1] - s[0]) / (e[1] - e[0])
        if len(pts) > 2 and not np.allclose(s, s[0] + slope * e, rtol=1e-9, atol=1e-12 * abs(s).max()):
            raise kw.error(f"multilinear hardening curve at T = {t:g} ({len(pts)} points, not collinear) "
                           "not supported (romnet: constant, linear or Voce hardening)", ln, UnsupportedError)
        r0.append(s[0])
        h.append(slope)
    line = rows[0][0]
    coef = lambda vals, what: _coef([(line, [v, t]) for v, t in zip(vals, temps)], kw, 0, what)
    if any(x < 0 for x in h):
        raise kw.error("softening (decreasing yield stress) not supported", line, UnsupportedError)
    if hard == "KINEMATIC":
        if all(x == 0 for x in h):
            return {"type": "constant", "R0": coef(r0, "R0")}, None
        return {"type": "constant", "R0": coef(r0, "R0")}, {"type": "linear", "C": coef(h, "C")}
    if all(x == 0 for x in h):
        return {"type": "constant", "R0": coef(r0, "R0")}, None
    return {"type": "linear", "R0": coef(r0, "R0"), "H": coef(h, "H")}, None


class _History:
    """Value of one quantity at step boundaries: times [0, t1, ...], values."""

    def __init__(self, initial=0.0):
        self.times, self.values = [0.0], [initial]

    def set(self, t_start, t_end, value):
        cur = self.values[-1]
        if self.times[-1] < t_start:
            self.times.append(t_start)
            self.values.append(cur)
        self.times.append(t_end)
        self.values.append(value)

    def close(self, t_end):
        if self.times[-1] < t_end:
            self.times.append(t_end)
            self.values.append(self.values[-1])

    def as_value_table(self, name):
        """(value, TimeTable or None)."""
        v = np.array(self.values)
        if np.all(v == v[0]):
            return float(v[0]), None
        return 1.0, TimeTable(name, [float(t) for t in self.times], [float(x) for x in v])


def read_problem(deck, dm, result_times=None):
    """Problem of ``deck`` on the DeckMesh ``dm`` (face/node sets created for loads are
    added to ``dm.mesh``). ``result_times`` (increment end times, e.g. from the results)
    sets :class:`TimeStepping`; otherwise the increments follow the step definitions."""
    mesh = dm.mesh
    n_nodes = mesh.n_nodes
    dim = mesh.dim
    materials, sections = {}, []
    current_mat = None
    bcs, pressures, centrif = {}, {}, {}
    t0_field = np.zeros(n_nodes)
    temp_keys = []  # (time, field)
    temp_current = None
    steps = []  # (t_start, t_end, initial increment, direct)
    in_step = False
    t_start = t_end = 0.0
    step_kw = None
    offsets = mesh.block_offsets()

    def nodes_of(tok, kw, ln):
        try:
            nid = int(tok)
        except ValueError:
            name = tok.upper()
            if name not in mesh.node_sets:
                raise kw.error(f"unknown node set '{tok}'", ln) from None
            return name, mesh.node_sets[name]
        idx = dm.node_index([nid], kw.path, ln)
        name = f"NODE_{nid}"
        mesh.node_sets.setdefault(name, idx)
        return name, idx

    def elements_of(tok, kw, ln):
        try:
            eid = int(tok)
        except ValueError:
            name = tok.upper()
            if name not in mesh.element_sets:
                raise kw.error(f"unknown element set '{tok}'", ln) from None
            return name, mesh.element_sets[name]
        idx = dm.element_index([eid], kw.path, ln)
        name = f"ELEMENT_{eid}"
        mesh.element_sets.setdefault(name, idx)
        return name, idx

    for kw in deck.keywords:
        name = kw.name
        if name in MATERIAL_KEYWORDS:
            if current_mat is None:
                raise kw.error("material keyword outside *MATERIAL")
            current_mat.add(kw)
            continue
        if name != "MATERIAL" and name not in ("DEPVAR", "CONDUCTIVITY", "SPECIFIC HEAT"):
            current_mat = None
        if name == "MATERIAL":
            current_mat = _Material(kw)
            if current_mat.name in materials:
                raise kw.error(f"material {current_mat.name} defined twice")
            materials[current_mat.name] = current_mat
        elif name == "DEPVAR" or name == "USER MATERIAL":
            raise kw.error("user materials are not supported", cls=UnsupportedError)
        elif name in IGNORED:
            continue
        elif name == "SOLID SECTION":
            sections.append(kw)
        elif name == "INITIAL CONDITIONS":
            if kw.param("TYPE") != "TEMPERATURE":
                raise kw.error(f"TYPE={kw.param('TYPE')} not supported (TEMPERATURE)", cls=UnsupportedError)
            for ln, toks in kw.data:
                if len(toks) < 2:
                    raise kw.error("expected 'node_or_set, temperature'", ln)
                _, idx = nodes_of(toks[0], kw, ln)
                t0_field[idx] = to_float(toks[1], kw.path, ln, "temperature")
        elif name == "STEP":
            if in_step:
                raise kw.error("*STEP inside a step (missing *END STEP?)")
            nl = kw.param("NLGEOM", "NO")
            if "NLGEOM" in kw.params and nl in (None, "YES"):
                raise kw.error("NLGEOM (large deformation) not supported: romnet is small-strain",
                               cls=UnsupportedError)
            in_step, step_kw = True, kw
            steps.append(None)
        elif name in ("STATIC", "VISCO"):
            if not in_step:
                raise kw.error("procedure outside a *STEP")
            if steps[-1] is not None:
                raise kw.error("several procedures in one step", cls=UnsupportedError)
            if not kw.data:
                inc, period = 1.0, 1.0
            else:
                ln, toks = kw.data[0]
                toks = [t for t in toks if t]
                inc = to_float(toks[0], kw.path, ln, "initial increment") if toks else 1.0
                period = to_float(toks[1], kw.path, ln, "step period") if len(toks) > 1 else 1.0
            if not (period > 0 and inc > 0):
                raise kw.error(f"step period and increment must be > 0, got {period:g}, {inc:g}")
            t_start = t_end
            t_end = t_start + period
            steps[-1] = (t_start, t_end, min(inc, period), "DIRECT" in kw.params)
            if temp_current is None:
                temp_current = t0_field.copy()
                temp_keys.append((0.0, temp_current.copy()))
        elif name in ("BOUNDARY", "DLOAD", "TEMPERATURE", "CLOAD", "DSLOAD", "AMPLITUDE", "DFLUX",
                      "FILM", "RADIATE", "INITIAL STRESS"):
            if name in ("CLOAD", "DSLOAD", "DFLUX", "FILM", "RADIATE", "INITIAL STRESS"):
                raise kw.error("not supported by romnet's problem definition "
                               "(import the results file alone to skip the deck)", cls=UnsupportedError)
            if name == "AMPLITUDE":
                raise kw.error("amplitudes are not supported (loads ramp linearly over each step)",
                               cls=UnsupportedError)
            if "AMPLITUDE" in kw.params:
                raise kw.error("AMPLITUDE= not supported (loads ramp linearly over each step)",
                               cls=UnsupportedError)
            if in_step and (not steps or steps[-1] is None):
                raise kw.error("load before the step's procedure (*STATIC/*VISCO)", cls=UnsupportedError)
            if in_step and kw.param("OP", "MOD") == "NEW" and len(steps) > 1:
                raise kw.error("OP=NEW (removing loads) not supported", cls=UnsupportedError)
            ts, te = (t_start, t_end) if in_step else (0.0, 0.0)
            if name == "BOUNDARY":
                _boundary(kw, nodes_of, bcs, ts, te, in_step, dim)
            elif name == "DLOAD":
                if not in_step:
                    raise kw.error("*DLOAD outside a step")
                _dload(kw, elements_of, mesh, offsets, pressures, centrif, ts, te)
            elif name == "TEMPERATURE":
                if not in_step:
                    raise kw.error("*TEMPERATURE outside a step")
                new = temp_current.copy()
                for ln, toks in kw.data:
                    if len(toks) < 2:
                        raise kw.error("expected 'node_or_set, temperature'", ln)
                    _, idx = nodes_of(toks[0], kw, ln)
                    new[idx] = to_float(toks[1], kw.path, ln, "temperature")
                if temp_keys[-1][0] < ts:
                    temp_keys.append((ts, temp_current.copy()))
                temp_keys.append((te, new.copy()))
                temp_current = new
        elif name == "END STEP":
            in_step = False
        else:
            raise kw.error("keyword not supported by romnet's deck reader (import the results "
                           "file alone to skip the deck)", cls=UnsupportedError)
    if in_step:
        raise step_kw.error("*STEP without *END STEP")
    if any(s is None for s in steps):
        raise step_kw.error("step without a *STATIC or *VISCO procedure", cls=UnsupportedError)

    pb = Problem(source=str(deck.path))
    for kw in sections:
        elset = kw.param("ELSET", required=True)
        mat = kw.param("MATERIAL", required=True)
        if elset not in mesh.element_sets:
            raise kw.error(f"unknown element set '{elset}'")
        if mat not in materials:
            raise kw.error(f"unknown material '{mat}'")
        pb.materials.append(MaterialAssignment(elset, materials[mat].spec(), kw.where(),
                                               _section_thickness(kw, mesh)))
    t_final = steps[-1][1] if steps else 0.0
    for (nset, comp), hist in bcs.items():
        hist.close(t_final)
        value, table = hist.as_value_table(f"BC_{nset}_{comp + 1}")
        if table is not None:
            pb.tables[table.name] = table
        pb.dirichlet.append(Dirichlet(nset, comp, value, table.name if table else None))
    for fset, hist in pressures.items():
        hist.close(t_final)
        value, table = hist.as_value_table(f"P_{fset}")
        if table is not None:
            pb.tables[table.name] = table
        pb.pressure.append(Pressure(fset, value, table.name if table else None))
    for elset, (hist, center, axis) in centrif.items():
        hist.close(t_final)
        value, table = hist.as_value_table(f"CENTRIF_{elset}")
        if table is not None:
            pb.tables[table.name] = table
        pb.centrifugal.append(Centrifugal(elset, center, axis, value, table.name if table else None))
    if temp_keys and (len(temp_keys) > 1 or np.any(temp_keys[0][1] != 0)):
        if temp_keys[-1][0] < t_final:
            temp_keys.append((t_final, temp_keys[-1][1]))
        pb.temperature = Temperature(np.array([k[0] for k in temp_keys]), np.array([k[1] for k in temp_keys]))
    if result_times is not None and len(result_times):
        pb.stepping = TimeStepping(np.concatenate([[0.0], np.asarray(result_times, dtype=float)]))
    elif steps:
        times = [0.0]
        for ts, te, inc, _direct in steps:
            n = max(1, int(round((te - ts) / inc)))
            if n > 1_000_000:
                raise InputError(f"step from t = {ts:g} to {te:g}: too many increments ({n})", deck.path)
            times.extend(np.linspace(ts, te, n + 1)[1:].tolist())
        pb.stepping = TimeStepping(np.array(times))
    return pb


def _section_thickness(kw, mesh):
    """Thickness of plane elements: first value of the ``*SOLID SECTION`` data line (blank or
    absent: None = 1; 3D and axisymmetric elements ignore it, as Abaqus/CalculiX do)."""
    if mesh.dim != 2 or not kw.data or not kw.data[0][1] or not kw.data[0][1][0].strip():
        return None
    ln, toks = kw.data[0]
    t = to_float(toks[0], kw.path, ln, "section thickness")
    if not t > 0:
        raise kw.error(f"section thickness must be positive, got {toks[0]}", ln)
    return t


def _boundary(kw, nodes_of, bcs, ts, te, in_step, dim):
    for ln, toks in kw.data:
        toks = [t for t in toks if t != ""]
        if len(toks) < 2:
            raise kw.error("expected 'node_or_set, first dof[, last dof[, value]]'", ln)
        nset, _ = nodes_of(toks[0], kw, ln)
        if toks[1].upper() in SYMMETRY:
            comps, value = [c for c in SYMMETRY[toks[1].upper()] if c < dim], 0.0
        else:
            first = to_int(toks[1], kw.path, ln, "first dof")
            last = to_int(toks[2], kw.path, ln, "last dof") if len(toks) > 2 and toks[2] else first
            value = to_float(toks[3], kw.path, ln, "imposed value") if len(toks) > 3 else 0.0
            if not 1 <= first <= last:
                raise kw.error(f"bad dof range {first}..{last}", ln)
            if last > dim:
                raise kw.error(f"dof {last} not supported (displacement dofs 1..{dim} only)", ln,
                               UnsupportedError)
            comps = range(first - 1, last)
        for c in comps:
            h = bcs.setdefault((nset, c), _History())
            if in_step:
                h.set(ts, te, value)
            else:
                h.values = [value] * len(h.values)


def _dload(kw, elements_of, mesh, offsets, pressures, centrif, ts, te):
    for ln, toks in kw.data:
        toks = [t for t in toks if t != ""]
        if len(toks) < 3:
            raise kw.error("expected 'element_or_set, load type, magnitude'", ln)
        label = toks[1].upper()
        mag = to_float(toks[2], kw.path, ln, "load magnitude")
        if toks[0].upper() in mesh.face_sets and label.startswith("P"):
            # surface-based pressure: the surface's own faces
            pressures.setdefault(toks[0].upper(), _History()).set(ts, te, mag)
            continue
        elset, els = elements_of(toks[0], kw, ln)
        if label == "CENTRIF":
            if len(toks) < 9:
                raise kw.error("CENTRIF needs 'omega^2, x, y, z, ax, ay, az'", ln)
            v = [to_float(t, kw.path, ln, "CENTRIF") for t in toks[3:9]]
            axis = np.array(v[3:])
            if not np.linalg.norm(axis) > 0:
                raise kw.error("CENTRIF axis is zero", ln)
            key = elset
            hist = centrif[key][0] if key in centrif else _History()
            hist.set(ts, te, mag)
            centrif[key] = (hist, v[:3], (axis / np.linalg.norm(axis)).tolist())
            continue
        if label.startswith("P") and label[1:].isdigit():
            fset = f"DLOAD_{elset}_{label}"
            if fset not in mesh.face_sets:
                out = {}
                add_faces(out, mesh, offsets, els, label, kw.path, ln)
                mesh.face_sets[fset] = {ft: np.concatenate(p) for ft, p in out.items()}
            pressures.setdefault(fset, _History()).set(ts, te, mag)
            continue
        raise kw.error(f"load type '{toks[1]}' not supported (P1..P6, CENTRIF)", ln, UnsupportedError)
