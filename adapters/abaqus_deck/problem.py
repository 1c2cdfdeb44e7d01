"""Problem definition of a keyword deck -> :class:`romnet.problem.Problem`.

Supported (anything else raises :class:`~romnet.errors.UnsupportedError` naming the keyword
and ``file:line``; output requests and headings are ignored):

* materials and orientations (:mod:`.materials`); ``*SOLID SECTION`` (``ORIENTATION=``)
  assigns a material to an element set; ``*MEMBRANE`` / ``*SHELL SECTION`` /
  ``*BEAM SECTION`` on an element set that does not exist or is empty are ignored with a
  note (ccx ignores them too), on elements they are refused;
* ``*BOUNDARY`` (node set or node, first[, last[, value]]; ENCASTRE/PINNED/XSYMM/...;
  ``AMPLITUDE=``; ``FIXED`` in a later step: held at the displacement of the step start;
  ``SUBMODEL, STEP=``: values from the global model, :mod:`.submodel`); on a node with a
  ``*TRANSFORM`` the DOF is local (:mod:`.constraints`);
* ``*CLOAD`` concentrated forces (``OP=NEW``, ``AMPLITUDE=``, local DOFs on transformed
  nodes), ``*DLOAD`` pressures ``P<k>`` on element faces (a face set ``DLOAD_<elset>_P<k>``
  is added to the mesh) or surfaces, ``P<k>NP`` (the pressure is the value imposed on DOF
  2 of the given node: CalculiX's network-pressure loads), ``CENTRIF`` (omega^2, point,
  axis) and ``GRAV`` (g, direction), ``OP=NEW``, ``AMPLITUDE=``; ``*DSLOAD`` uniform
  pressure ``P`` on an element-face surface; ``*AMPLITUDE`` (tabular);
* constraints (:mod:`.constraints`): ``*TRANSFORM``, ``*EQUATION``, ``*MPC`` (MEANROT),
  ``*TIE``, ``*RIGID BODY``;
* ``*INITIAL CONDITIONS``: ``TYPE=TEMPERATURE``, ``TYPE=STRESS`` and ``TYPE=PLASTIC
  STRAIN`` (:mod:`.initial`); ``*TEMPERATURE`` (``SUBMODEL, STEP=``);
* steps: ``*STEP`` (small strain only: ``NLGEOM`` must be off) with ``*STATIC`` or
  ``*VISCO`` (initial increment, period[, min, max]; ``DIRECT`` = fixed increments).

Time: each step adds its period to the total time; every quantity follows
:mod:`.history` (linear over a step from its value at the end of the previous step,
0 at the start; ``AMPLITUDE=`` curves). A quantity that changes gets a piecewise-linear
:class:`~romnet.problem.TimeTable` (value 1 x table); temperatures become key fields at the
step ends (:class:`~romnet.problem.Temperature`).

Conventions of the code that wrote the deck, kept in the problem: thermal strains are
measured from the initial temperature (both codes: ``a(T)(T - Z) - a(T0)(T0 - Z)``,
``thermal_reference = "initial"``); CalculiX's temperature at the integration points is
the element mean for C3D8 and the L2 projection of the element's temperature onto
trilinear functions for C3D20 (``temperature_at_ips``, ``docs/conventions.md``).
``dialect`` ("calculix" or "abaqus") selects these and the data layout of
``*INITIAL CONDITIONS, TYPE=STRESS``.
"""
from __future__ import annotations

import numpy as np

from romnet.errors import InputError, MaterialError, UnsupportedError
from romnet.materials import build_law
from romnet.problem import (
    Centrifugal,
    Dirichlet,
    Gravity,
    InitialState,
    MaterialAssignment,
    NodalForce,
    Pressure,
    Problem,
    Temperature,
    TimeStepping,
)

from .constraints import Equations, LocalAxes, read_equation, read_mpc, rigid_body, tie
from .history import Amplitude, History
from .initial import InitialField
from .materials import Material, orientation
from .mesh import add_faces
from .numeric import to_float, to_int
from .submodel import Submodels

IGNORED = {"HEADING", "PREPRINT", "PART", "END PART", "ASSEMBLY", "END ASSEMBLY", "INSTANCE",
           "END INSTANCE", "NODE FILE", "EL FILE", "NODE PRINT", "EL PRINT", "NODE OUTPUT",
           "ELEMENT OUTPUT", "OUTPUT", "FILE FORMAT", "RESTART", "MONITOR", "ENERGY PRINT",
           "CONTACT FILE", "CONTACT PRINT", "SECTION PRINT", "FACE PRINT",
           "CONTROLS", "PHYSICAL CONSTANTS", "CONDUCTIVITY", "SPECIFIC HEAT", "DIAGNOSTICS",
           "NODE", "ELEMENT", "NSET", "ELSET", "SURFACE", "DEPVAR"}
MATERIAL_KEYWORDS = {"ELASTIC", "PLASTIC", "CREEP", "EXPANSION", "DENSITY"}
OTHER_SECTIONS = {"MEMBRANE", "SHELL SECTION", "BEAM SECTION", "MEMBRANE SECTION"}
SYMMETRY = {"ENCASTRE": (0, 1, 2), "PINNED": (0, 1, 2), "XSYMM": (0,), "YSYMM": (1,), "ZSYMM": (2,)}
DIALECTS = ("calculix", "abaqus")
#: keywords refused with a reason (any other unknown keyword is refused too)
REFUSED = {
    "CHANGE SOLID SECTION": "changing a section's material between steps is not supported",
    "PRE-TENSION SECTION": "pre-tension sections (bolt loads through a cut surface) are not supported",
    "CONTACT PAIR": "contact is not supported (small-strain solids with linear constraints only)",
    "SURFACE INTERACTION": "contact is not supported",
    "FREQUENCY": "eigenfrequency steps are not supported (static and visco steps only)",
    "BUCKLE": "buckling steps are not supported (static and visco steps only)",
    "DYNAMIC": "dynamic steps are not supported (static and visco steps only)",
    "HEAT TRANSFER": "heat-transfer steps are not supported (give the temperatures with *TEMPERATURE)",
    "COUPLED TEMPERATURE-DISPLACEMENT": "coupled thermomechanical steps are not supported",
}


def ccx_temperature_rule(source_type: str) -> str:
    """CalculiX's temperature at the integration points of an element type (resultsmech):
    mean of the 8 nodes (C3D8, C3D8I), L2 projection onto trilinear functions (C3D20 with
    full integration), shape-function interpolation otherwise."""
    t = source_type.upper()
    if t in ("C3D8", "C3D8I"):
        return "element_mean"
    if t in ("C3D20", "C3D20H"):
        return "trilinear"
    return "interpolate"


class _Reader:
    """State of one pass over the deck (see :func:`read_problem`)."""

    def __init__(self, deck, dm, dialect, submodel_reader):
        if dialect not in DIALECTS:
            raise ValueError(f"dialect {dialect!r} ({', '.join(DIALECTS)})")
        self.deck, self.dm, self.dialect = deck, dm, dialect
        self.mesh = dm.mesh
        self.dim = self.mesh.dim
        self.offsets = self.mesh.block_offsets()
        self.notes = []
        self.materials, self.orientations, self.sections = {}, {}, []
        self.amplitudes = {}
        self.bcs = {}                 # (nset, comp) -> dict(hist, start, hold, values, kw)
        self.cloads = {}              # (node, dof) -> History   (dof local on transformed nodes)
        self.pressures, self.centrif, self.grav = {}, {}, {}
        self.pressure_np = {}         # face set -> (node, kw)
        self.t0_field = np.zeros(self.mesh.n_nodes)
        self.temp_keys, self.temp_current = [], None
        self.steps = []               # (t_start, t_end, initial increment, direct)
        self.in_step, self.step_kw = False, None
        self.t_start = self.t_end = 0.0
        self.axes = LocalAxes(self.mesh.coordinates if self.dim == 3 else np.zeros((self.mesh.n_nodes, 3)))
        self.equations = {}           # group name -> Equations
        self.initial = {"STRESS": InitialField("initial stress"),
                        "PLASTIC STRAIN": InitialField("initial plastic strain")}
        self.submodels = Submodels(submodel_reader, self.mesh.coordinates)

    # ------------------------------------------------------------ lookups
    def nodes_of(self, tok, kw, ln):
        """(set name, node indices) of a node set name or a node id."""
        mesh = self.mesh
        try:
            nid = int(tok)
        except ValueError:
            name = kw.find(mesh.node_sets, tok)
            if name is None:
                raise kw.error(f"unknown node set '{tok}'", ln) from None
            return name, np.asarray(mesh.node_sets[name])
        idx = self.dm.node_index([nid], kw.path, ln)
        name = f"NODE_{nid}"
        mesh.node_sets.setdefault(name, idx)
        return name, idx

    def elements_of(self, tok, kw, ln):
        mesh = self.mesh
        try:
            eid = int(tok)
        except ValueError:
            name = kw.find(mesh.element_sets, tok)
            if name is None:
                raise kw.error(f"unknown element set '{tok}'", ln) from None
            return name, np.asarray(mesh.element_sets[name])
        idx = self.dm.element_index([eid], kw.path, ln)
        name = f"ELEMENT_{eid}"
        mesh.element_sets.setdefault(name, idx)
        return name, idx

    def amplitude(self, kw):
        name = kw.param("AMPLITUDE")
        if name is None:
            return None
        if name not in self.amplitudes:
            raise kw.error(f"unknown amplitude '{name}' (define it with *AMPLITUDE before)")
        return self.amplitudes[name]

    def set_history(self, hist, kw, value, amplitude, ln=None):
        try:
            hist.set(self.t_start, self.t_end, value, amplitude)
        except ValueError as exc:
            raise kw.error(str(exc), ln, UnsupportedError) from None

    def equations_of(self, name, kind):
        if name not in self.equations:
            self.equations[name] = Equations(name, kind, self.axes)
        return self.equations[name]

    # ------------------------------------------------------------ pass
    def run(self):
        deck = self.deck
        for kw in deck.keywords:
            if kw.name == "TRANSFORM":
                _, nodes = self.nodes_of(kw.param("NSET", required=True), kw, kw.line)
                self.axes.add(kw, nodes)
        current_mat = None
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
                current_mat = Material(kw)
                if current_mat.name in self.materials:
                    raise kw.error(f"material {current_mat.name} defined twice")
                self.materials[current_mat.name] = current_mat
            elif name == "DEPVAR" or name == "USER MATERIAL":
                raise kw.error("user materials are not supported", cls=UnsupportedError)
            elif name in IGNORED or name == "TRANSFORM":
                continue
            elif name == "SOLID SECTION":
                self.sections.append(kw)
            elif name in OTHER_SECTIONS:
                self.other_section(kw)
            elif name == "ORIENTATION":
                self.orientations[kw.param("NAME", required=True)] = (orientation(kw), kw)
            elif name == "AMPLITUDE":
                a = Amplitude(kw)
                self.amplitudes[a.name] = a
            elif name == "INITIAL CONDITIONS":
                self.initial_conditions(kw)
            elif name in ("EQUATION", "MPC", "TIE", "RIGID BODY"):
                if self.in_step:
                    raise kw.error("constraints defined inside a step are not supported (model data only)",
                                   cls=UnsupportedError)
                self.constraint(kw)
            elif name == "SUBMODEL":
                self.submodel(kw)
            elif name == "STEP":
                self.step(kw)
            elif name in ("STATIC", "VISCO"):
                self.procedure(kw)
            elif name in ("BOUNDARY", "DLOAD", "DSLOAD", "TEMPERATURE", "CLOAD"):
                self.load(kw)
            elif name == "END STEP":
                self.in_step = False
            else:
                why = REFUSED.get(name, "keyword not supported by romnet's deck reader")
                raise kw.error(f"{why} (import the results file alone to skip the deck)", cls=UnsupportedError)
        if self.in_step:
            raise self.step_kw.error("*STEP without *END STEP")
        if any(s is None for s in self.steps):
            raise self.step_kw.error("step without a *STATIC or *VISCO procedure", cls=UnsupportedError)

    # ------------------------------------------------------------ model data
    def other_section(self, kw):
        elset = kw.param("ELSET")
        key = kw.find(self.mesh.element_sets, elset) if elset else None
        els = self.mesh.element_sets[key] if key else None
        if els is None or len(els) == 0:
            self.notes.append(f"*{kw.name} at {kw.where()} on element set '{elset}', which "
                              f"{'does not exist' if els is None else 'is empty'}: ignored (ccx ignores it)")
            return
        raise kw.error("structural elements (membranes, shells, beams) are not supported: romnet has "
                       "solid elements only", cls=UnsupportedError)

    def initial_conditions(self, kw):
        itype = kw.param("TYPE")
        if itype == "TEMPERATURE":
            for ln, toks in kw.data:
                if len(toks) < 2:
                    raise kw.error("expected 'node_or_set, temperature'", ln)
                _, idx = self.nodes_of(toks[0], kw, ln)
                self.t0_field[idx] = to_float(toks[1], kw.path, ln, "temperature")
        elif itype in self.initial:
            self.initial[itype].read(kw, self.elements_of, self.dialect)
        else:
            raise kw.error(f"TYPE={itype} not supported (TEMPERATURE, STRESS, PLASTIC STRAIN)",
                           cls=UnsupportedError)

    def constraint(self, kw):
        name = kw.name
        X = self.mesh.coordinates
        if name == "EQUATION":
            read_equation(kw, self.nodes_of, self.equations_of("EQUATION", "equation"), self.dim)
        elif name == "MPC":
            read_mpc(kw, self.nodes_of, X, self.equations_of("MPC", "mpc"))
        elif name == "RIGID BODY":
            if "NSET" in kw.params:
                _, nodes = self.nodes_of(kw.params["NSET"], kw, kw.line)
            elif "ELSET" in kw.params:
                _, els = self.elements_of(kw.params["ELSET"], kw, kw.line)
                nodes = self.element_nodes(els)
            else:
                raise kw.error("needs NSET= or ELSET=")
            refs = []
            for key in ("REF NODE", "ROT NODE"):
                tok = kw.param(key)
                if tok is None:
                    raise kw.error(f"{key}= missing: romnet needs the reference and rotation nodes defined "
                                   "in the deck", cls=UnsupportedError)
                refs.append(int(self.dm.node_index([to_int(tok, kw.path, kw.line, key)], kw.path, kw.line)[0]))
            rigid_body(kw, nodes, refs[0], refs[1], X, self.equations_of(f"RIGID BODY {kw.line}", "rigid_body"))
        elif name == "TIE":
            if kw.param("TYPE") not in (None, "SURFACE TO SURFACE", "NODE TO SURFACE"):
                raise kw.error(f"TYPE={kw.param('TYPE')} not supported", cls=UnsupportedError)
            for ln, toks in kw.data:
                toks = [t for t in toks if t != ""]
                if len(toks) != 2:
                    raise kw.error("expected 'slave surface, master surface'", ln)
                slave, master = kw.find(self.mesh.face_sets, toks[0]), kw.find(self.mesh.face_sets, toks[1])
                if master is None:
                    raise kw.error(f"master surface '{toks[1]}' is not an element-face surface", ln)
                if slave is not None:
                    snodes = np.unique(np.concatenate([np.ravel(c) for c in self.mesh.face_sets[slave].values()]))
                elif kw.find(self.mesh.node_sets, toks[0]) is not None:
                    snodes = np.asarray(self.mesh.node_sets[kw.find(self.mesh.node_sets, toks[0])])
                else:
                    raise kw.error(f"unknown slave surface '{toks[0]}'", ln)
                tie(kw, snodes, self.mesh.face_sets[master], X,
                    self.equations_of(f"TIE {kw.param('NAME', '')}".strip(), "tie"), self.notes)

    def element_nodes(self, els):
        blk = np.searchsorted(self.offsets, els, side="right") - 1
        parts = [self.mesh.blocks[b].connectivity[els[blk == b] - self.offsets[b]].ravel() for b in np.unique(blk)]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def submodel(self, kw):
        gel = kw.param("GLOBAL ELSET")
        gids = None
        if gel is not None:
            key = kw.find(self.mesh.element_sets, gel)
            if key is None:
                raise kw.error(f"unknown element set '{gel}' (GLOBAL ELSET)")
            gids = self.dm.element_ids[np.asarray(self.mesh.element_sets[key])]
        nodes = []
        for ln, toks in kw.data:
            for t in toks:
                if t:
                    nodes.append(self.nodes_of(t, kw, ln)[1])
        if not nodes:
            raise kw.error("no driven node set")
        self.submodels.add(kw, np.concatenate(nodes), gids)

    # ------------------------------------------------------------ steps
    def step(self, kw):
        if self.in_step:
            raise kw.error("*STEP inside a step (missing *END STEP?)")
        nl = kw.param("NLGEOM", "NO")
        if "NLGEOM" in kw.params and nl in (None, "YES"):
            raise kw.error("NLGEOM (large deformation) not supported: romnet is small-strain", cls=UnsupportedError)
        if kw.param("PERTURBATION", 0) is None:
            raise kw.error("PERTURBATION steps are not supported", cls=UnsupportedError)
        if kw.param("AMPLITUDE", "RAMP") != "RAMP":
            raise kw.error(f"AMPLITUDE={kw.params['AMPLITUDE']} not supported (RAMP)", cls=UnsupportedError)
        self.in_step, self.step_kw = True, kw
        self.steps.append(None)

    def procedure(self, kw):
        if not self.in_step:
            raise kw.error("procedure outside a *STEP")
        if self.steps[-1] is not None:
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
        self.t_start = self.t_end
        self.t_end = self.t_start + period
        self.steps[-1] = (self.t_start, self.t_end, min(inc, period), "DIRECT" in kw.params)
        if self.temp_current is None:
            self.temp_current = self.t0_field.copy()
            self.temp_keys.append((0.0, self.temp_current.copy()))

    @property
    def step_index(self):
        return len(self.steps) - 1

    # ------------------------------------------------------------ loads
    def load(self, kw):
        name = kw.name
        if self.in_step and (not self.steps or self.steps[-1] is None):
            raise kw.error("load before the step's procedure (*STATIC/*VISCO)", cls=UnsupportedError)
        if name == "BOUNDARY":
            self.boundary(kw)
            return
        if not self.in_step:
            raise kw.error(f"*{name} outside a step")
        if name == "CLOAD":
            self.cload(kw)
        elif name in ("DLOAD", "DSLOAD"):
            self.dload(kw)
        else:
            self.temperature(kw)

    def boundary(self, kw):
        if kw.param("TYPE", "DISPLACEMENT") != "DISPLACEMENT":
            raise kw.error(f"TYPE={kw.params['TYPE']} not supported (DISPLACEMENT)", cls=UnsupportedError)
        op_new = kw.param("OP", "MOD") == "NEW"
        if op_new and self.in_step and self.step_index > 0:
            raise kw.error("OP=NEW (removing boundary conditions) in a later step is not supported",
                           cls=UnsupportedError)
        fixed = "FIXED" in kw.params
        submodel = "SUBMODEL" in kw.params
        amp = self.amplitude(kw)
        if (fixed or submodel) and not self.in_step:
            raise kw.error("FIXED / SUBMODEL boundary conditions belong in a step")
        if fixed and amp is not None:
            raise kw.error("FIXED with AMPLITUDE=", cls=UnsupportedError)
        sub_step = to_int(kw.param("STEP", "1"), kw.path, kw.line, "STEP") if submodel else None
        for ln, toks in kw.data:
            toks = [t for t in toks if t != ""]
            if len(toks) < 2:
                raise kw.error("expected 'node_or_set, first dof[, last dof[, value]]'", ln)
            nset, nodes = self.nodes_of(toks[0], kw, ln)
            if toks[1].upper() in SYMMETRY:
                comps, value = [c for c in SYMMETRY[toks[1].upper()] if c < self.dim], 0.0
            else:
                first = to_int(toks[1], kw.path, ln, "first dof")
                last = to_int(toks[2], kw.path, ln, "last dof") if len(toks) > 2 and toks[2] else first
                value = to_float(toks[3], kw.path, ln, "imposed value") if len(toks) > 3 else 0.0
                if not 1 <= first <= last:
                    raise kw.error(f"bad dof range {first}..{last}", ln)
                if last > self.dim:
                    raise kw.error(f"dof {last} not supported (displacement dofs 1..{self.dim} only)", ln,
                                   UnsupportedError)
                comps = range(first - 1, last)
            sub_vals = None
            if submodel:
                if any(self.axes.get(n) is not None for n in nodes.tolist()):
                    raise kw.error("SUBMODEL boundary conditions on transformed nodes not supported", ln,
                                   UnsupportedError)
                sub_vals = self.submodels.values(kw, nodes, sub_step, "U", ln)
            for c in comps:
                key = (nset, c)
                rec = self.bcs.get(key)
                new = rec is None
                if new:
                    rec = {"hist": History(), "start": None, "hold": False, "values": None, "kw": kw}
                    self.bcs[key] = rec
                if not self.in_step:
                    rec["hist"].hold(value)
                    continue
                if new and self.step_index > 0:
                    if not fixed:
                        raise kw.error(f"a displacement imposed first in step {self.step_index + 1} (not the "
                                       "first) is not supported, except *BOUNDARY, FIXED", ln, UnsupportedError)
                    rec["start"] = self.t_start
                if fixed:
                    if not new:
                        raise kw.error("FIXED on a DOF that already has a boundary condition", ln,
                                       UnsupportedError)
                    if self.step_index == 0:      # fixed at the initial (zero) displacement
                        rec["hist"].hold(0.0)
                    else:
                        rec["hold"] = True
                    continue
                if rec["hold"]:
                    raise kw.error("changing a FIXED boundary condition is not supported", ln, UnsupportedError)
                if sub_vals is not None:
                    if rec["values"] is None and (not new or rec["hist"].current() != 0.0):
                        raise kw.error("SUBMODEL values on a DOF with another boundary condition", ln,
                                       UnsupportedError)
                    rec["values"] = sub_vals[:, c]
                    self.set_history(rec["hist"], kw, 1.0, amp, ln)
                else:
                    if rec["values"] is not None:
                        raise kw.error("a plain value on a DOF driven by a SUBMODEL", ln, UnsupportedError)
                    self.set_history(rec["hist"], kw, value, amp, ln)

    def cload(self, kw):
        amp = self.amplitude(kw)
        if kw.param("OP", "MOD") == "NEW":
            for h in self.cloads.values():
                self.set_history(h, kw, 0.0, None)
        for ln, toks in kw.data:
            toks = [t for t in toks if t != ""]
            if len(toks) != 3:
                raise kw.error("expected 'node_or_set, dof, magnitude'", ln)
            _, nodes = self.nodes_of(toks[0], kw, ln)
            dof = to_int(toks[1], kw.path, ln, "dof")
            if not 1 <= dof <= self.dim:
                raise kw.error(f"dof {dof} not supported (forces 1..{self.dim}; no moments on solid elements)",
                               ln, UnsupportedError)
            mag = to_float(toks[2], kw.path, ln, "magnitude")
            for n in nodes.tolist():
                h = self.cloads.setdefault((int(n), dof - 1), History())
                self.set_history(h, kw, mag, amp, ln)

    def dload(self, kw):
        amp = self.amplitude(kw)
        if kw.param("OP", "MOD") == "NEW":
            for h in list(self.pressures.values()) + [v[0] for v in self.centrif.values()] \
                    + [v[0] for v in self.grav.values()]:
                self.set_history(h, kw, 0.0, None)
        mesh = self.mesh
        for ln, toks in kw.data:
            toks = [t for t in toks if t != ""]
            if len(toks) < 3:
                raise kw.error("expected 'element_or_set, load type, magnitude'", ln)
            label = toks[1].upper()
            surf = kw.find(mesh.face_sets, toks[0])
            if kw.name == "DSLOAD" and not (surf is not None and label == "P"):
                raise kw.error(f"expected 'surface, P, magnitude' (uniform pressure on an element-face surface), "
                               f"got '{toks[0]}, {toks[1]}'", ln, UnsupportedError)
            if label.startswith("P") and label.endswith("NP") and label[1:-2].isdigit():
                self.network_pressure(kw, ln, toks, label, amp)
                continue
            mag = to_float(toks[2], kw.path, ln, "load magnitude")
            if surf is not None and label.startswith("P"):
                # surface-based pressure: the surface's own faces
                self.set_history(self.pressures.setdefault(surf, History()), kw, mag, amp, ln)
                continue
            elset, els = self.elements_of(toks[0], kw, ln)
            if label == "CENTRIF":
                if len(toks) < 9:
                    raise kw.error("CENTRIF needs 'omega^2, x, y, z, ax, ay, az'", ln)
                v = [to_float(t, kw.path, ln, "CENTRIF") for t in toks[3:9]]
                axis = np.array(v[3:])
                if not np.linalg.norm(axis) > 0:
                    raise kw.error("CENTRIF axis is zero", ln)
                hist = self.centrif[elset][0] if elset in self.centrif else History()
                self.set_history(hist, kw, mag, amp, ln)
                self.centrif[elset] = (hist, v[:3], (axis / np.linalg.norm(axis)).tolist())
                continue
            if label == "GRAV":
                if len(toks) < 6:
                    raise kw.error("GRAV needs 'g, nx, ny, nz'", ln)
                n = np.array([to_float(t, kw.path, ln, "GRAV direction") for t in toks[3:6]])
                if not np.linalg.norm(n) > 0:
                    raise kw.error("GRAV direction is zero", ln)
                n = n / np.linalg.norm(n)
                if self.dim == 2 and abs(n[2]) > 0:
                    raise kw.error("out-of-plane gravity on a 2D mesh", ln, UnsupportedError)
                key = (elset, tuple(np.round(n, 15)))
                hist = self.grav[key][0] if key in self.grav else History()
                self.set_history(hist, kw, mag, amp, ln)
                self.grav[key] = (hist, n[:self.dim].tolist())
                continue
            if label.startswith("P") and label[1:].isdigit():
                fset = self.face_set(elset, els, label, kw, ln)
                self.set_history(self.pressures.setdefault(fset, History()), kw, mag, amp, ln)
                continue
            raise kw.error(f"load type '{toks[1]}' not supported (P1..P6, P1NP..P6NP, CENTRIF, GRAV)", ln,
                           UnsupportedError)

    def face_set(self, elset, els, label, kw, ln):
        fset = f"DLOAD_{elset}_{label}"
        if fset not in self.mesh.face_sets:
            out = {}
            add_faces(out, self.mesh, self.offsets, els, label, kw.path, ln)
            self.mesh.face_sets[fset] = {ft: np.concatenate(p) for ft, p in out.items()}
        return fset

    def network_pressure(self, kw, ln, toks, label, amp):
        if amp is not None:
            raise kw.error(f"{label} with AMPLITUDE=", ln, UnsupportedError)
        elset, els = self.elements_of(toks[0], kw, ln)
        nid = to_int(toks[2], kw.path, ln, "pressure node")
        node = int(self.dm.node_index([nid], kw.path, ln)[0])
        fset = self.face_set(elset, els, label[:-2], kw, ln)
        self.pressure_np[fset] = (node, nid, kw, ln)

    def temperature(self, kw):
        if kw.param("AMPLITUDE") is not None:
            raise kw.error("AMPLITUDE= on temperatures not supported", cls=UnsupportedError)
        new = self.temp_current.copy()
        if "SUBMODEL" in kw.params:
            step = to_int(kw.param("STEP", "1"), kw.path, kw.line, "STEP")
            for ln, toks in kw.data:
                for t in toks:
                    if t:
                        _, idx = self.nodes_of(t, kw, ln)
                        new[idx] = self.submodels.values(kw, idx, step, "T", ln)
        else:
            for ln, toks in kw.data:
                if len(toks) < 2:
                    raise kw.error("expected 'node_or_set, temperature'", ln)
                _, idx = self.nodes_of(toks[0], kw, ln)
                new[idx] = to_float(toks[1], kw.path, ln, "temperature")
        if self.temp_keys[-1][0] < self.t_start:
            self.temp_keys.append((self.t_start, self.temp_current.copy()))
        if self.temp_keys[-1][0] == self.t_end:
            self.temp_keys[-1] = (self.t_end, new.copy())
        else:
            self.temp_keys.append((self.t_end, new.copy()))
        self.temp_current = new

    # ------------------------------------------------------------ the problem
    def problem(self, result_times) -> Problem:
        mesh, dm = self.mesh, self.dm
        pb = Problem(source=str(self.deck.path))
        pb.notes = self.notes
        for kw in self.sections:
            elset = kw.find(mesh.element_sets, kw.param("ELSET", required=True))
            mat = kw.param("MATERIAL", required=True)
            if elset is None:
                raise kw.error(f"unknown element set '{kw.param('ELSET')}'")
            if mat not in self.materials:
                raise kw.error(f"unknown material '{mat}'")
            spec = self.materials[mat].spec()
            oname = kw.param("ORIENTATION")
            if oname is not None:
                if oname not in self.orientations:
                    raise kw.error(f"unknown orientation '{oname}'")
                if not self.materials[mat].isotropic:
                    spec["orientation"] = self.orientations[oname][0]
            try:
                build_law(spec)
            except MaterialError as exc:
                where = self.materials[mat].parts.get("ELASTIC", kw)
                raise where.error(f"material {mat} on {elset}: romnet's laws cannot run it: {exc}",
                                  cls=UnsupportedError) from None
            pb.materials.append(MaterialAssignment(elset, spec, kw.where(), _section_thickness(kw, mesh)))
        t_final = self.steps[-1][1] if self.steps else 0.0
        self.boundary_conditions(pb, t_final)
        self.forces(pb, t_final)
        for name, eqs in self.equations.items():
            c = eqs.build()
            if c is not None:
                pb.constraints.append(c)
        if self.temp_keys and (len(self.temp_keys) > 1 or np.any(self.temp_keys[0][1] != 0)):
            if self.temp_keys[-1][0] < t_final:
                self.temp_keys.append((t_final, self.temp_keys[-1][1]))
            pb.temperature = Temperature(np.array([k[0] for k in self.temp_keys]),
                                         np.array([k[1] for k in self.temp_keys]))
        if pb.temperature is not None:
            pb.thermal_reference = "initial"
            if self.dialect == "calculix":
                rules = [ccx_temperature_rule(t) for t in dm.source_types]
                if any(r != "interpolate" for r in rules):
                    pb.temperature_at_ips = rules
        ini = {k: f.ip_values(dm) for k, f in self.initial.items() if f}
        if ini:
            pb.initial = InitialState(ini.get("STRESS"), ini.get("PLASTIC STRAIN"))
        if result_times is not None and len(result_times):
            pb.stepping = TimeStepping(np.concatenate([[0.0], np.asarray(result_times, dtype=float)]))
        elif self.steps:
            times = [0.0]
            for ts, te, inc, _direct in self.steps:
                n = max(1, int(round((te - ts) / inc)))
                if n > 1_000_000:
                    raise InputError(f"step from t = {ts:g} to {te:g}: too many increments ({n})", self.deck.path)
                times.extend(np.linspace(ts, te, n + 1)[1:].tolist())
            pb.stepping = TimeStepping(np.array(times))
        return pb

    def _table(self, pb, hist, name, t_final):
        hist.close(t_final)
        value, table = hist.as_value_table(name)
        if table is not None:
            pb.tables[table.name] = table
        return value, (table.name if table else None)

    def boundary_conditions(self, pb, t_final):
        mesh = self.mesh
        for (nset, comp), rec in self.bcs.items():
            nodes = np.asarray(mesh.node_sets[nset])
            local = np.array([self.axes.get(n) is not None for n in nodes.tolist()], dtype=bool)
            value, table = self._table(pb, rec["hist"], f"BC_{nset}_{comp + 1}", t_final)
            if rec["values"] is not None:
                value = rec["values"] * value
            if local.any():
                if rec["hold"]:
                    raise rec["kw"].error("FIXED on transformed nodes not supported", cls=UnsupportedError)
                eqs = Equations(f"BC {nset} local {comp + 1}", "transform", self.axes)
                for n in nodes[local].tolist():
                    eqs.add(eqs.terms(n, comp, 1.0))
                pb.constraints.append(eqs.build(np.full(int(local.sum()), float(value)), table, rec["start"]))
            if (~local).any():
                name = nset
                if local.any():
                    name = f"{nset}@GLOBAL"
                    mesh.node_sets[name] = nodes[~local]
                pb.dirichlet.append(Dirichlet(name, comp, value, table, rec["start"], rec["hold"]))
        for fset, (node, nid, kw, ln) in self.pressure_np.items():
            rec = next((r for (s, c), r in self.bcs.items() if c == 1 and np.any(mesh.node_sets[s] == node)), None)
            if rec is None:
                raise kw.error(f"the pressure node {nid} has no value on its DOF 2 (*BOUNDARY)", ln)
            value, table = self._table(pb, rec["hist"], f"P_{fset}", t_final)
            pb.pressure.append(Pressure(fset, value, table))

    def forces(self, pb, t_final):
        for fset, hist in self.pressures.items():
            value, table = self._table(pb, hist, f"P_{fset}", t_final)
            pb.pressure.append(Pressure(fset, value, table))
        for elset, (hist, center, axis) in self.centrif.items():
            value, table = self._table(pb, hist, f"CENTRIF_{elset}", t_final)
            pb.centrifugal.append(Centrifugal(elset, center, axis, value, table))
        for k, ((elset, _), (hist, direction)) in enumerate(self.grav.items()):
            value, table = self._table(pb, hist, f"GRAV_{elset}_{k}", t_final)
            pb.gravity.append(Gravity(elset, direction, value, table))
        groups = {}
        for (node, dof), hist in self.cloads.items():
            hist.close(t_final)
            groups.setdefault(hist.key(), []).append((node, dof, hist))
        for k, items in enumerate(groups.values()):
            value, table = self._table(pb, items[0][2], f"CLOAD_{k}", t_final)
            if value == 0.0 and table is None:
                continue
            nodes = np.unique([n for n, _, _ in items])
            F = np.zeros((nodes.size, self.dim))
            for n, dof, _ in items:
                R = self.axes.get(n)
                F[np.searchsorted(nodes, n)] += R[dof][:self.dim] if R is not None else np.eye(self.dim)[dof]
            pb.nodal_forces.append(NodalForce(f"CLOAD_{k}", nodes, F, value, table))


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


def read_problem(deck, dm, result_times=None, dialect="calculix", submodel_reader=None):
    """Problem of ``deck`` on the DeckMesh ``dm`` (face/node sets created for loads are
    added to ``dm.mesh``). ``result_times`` (increment end times, e.g. from the results)
    sets :class:`TimeStepping`; otherwise the increments follow the step definitions.
    ``submodel_reader`` reads the global results of ``*SUBMODEL`` (:mod:`.submodel`)."""
    r = _Reader(deck, dm, dialect, submodel_reader)
    r.run()
    return r.problem(result_times)

