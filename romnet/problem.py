"""Problem definition: what an HF solver needs besides the mesh.

All quantities are in the user's consistent unit system (the Z-set cases use mm-free SI-like
values: MPa, m, s are the user's business). Time tables are piecewise linear; a load's
magnitude at time t is ``value * table(t)`` (table ``None`` means 1).

Components:
* :class:`TimeTable` name -> (times, values), optionally periodic (period given).
* :class:`Dirichlet` imposed value of one DOF (0-based component) on a node set (one value,
  or one per node of the set), from t = 0 or from a step's start, or held at the value the
  DOF has when it is imposed (``hold``).
* :class:`Constraint` linear multi-point constraints ``sum_j c_j u_j = value * table(t)``
  (equations, local-axis boundary conditions, tied surfaces, linearized rigid bodies).
* :class:`Pressure` pressure on a face set; value scalar or per-face/per-node array;
  positive pressure pushes against the outward normal (compresses the solid).
* :class:`NodalForce` concentrated forces on nodes (global axes).
* :class:`Centrifugal` body force rho * omega^2 * r (r: distance vector to the axis) on an
  element set; ``omega2`` the squared angular speed (rad^2/s^2) times the table value.
* :class:`Gravity` body force rho * g on an element set.
* :class:`Temperature` nodal temperature fields at key times, linear in between,
  repeated with ``period`` when cycles are run.
* :class:`MaterialAssignment` a material description (JSON-able dict, see
  :mod:`romnet.materials`) on an element set.
* :class:`TimeStepping` output/increment times and Newton settings.
* :class:`InitialState` initial stress / plastic strain at the integration points.
* conventions of the code that wrote the deck (``thermal_reference``,
  ``temperature_at_ips``) and ``notes`` on what romnet does differently on purpose
  (shown by ``romnet info``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class TimeTable:
    name: str
    times: list
    values: list
    period: float | None = None

    def __call__(self, t):
        t = np.asarray(t, dtype=float)
        tt = np.asarray(self.times, dtype=float)
        if self.period:
            t0 = tt[0]
            wrapped = t0 + np.mod(t - t0, self.period)
            # the end of a period belongs to that period (value at t0 + period, not t0)
            t = np.where(np.isclose(wrapped, t0, rtol=0, atol=1e-12 * self.period) & (t > t0),
                         t0 + self.period, wrapped)
        return np.interp(t, tt, np.asarray(self.values, dtype=float))


@dataclass
class Dirichlet:
    """``value * table(t)`` on component ``component`` (0-based, global axes) of every node
    of ``node_set``; ``value`` a number or an array with one value per node of the set
    (the set's order). ``start``: imposed only in increments that end after ``start``
    (a condition added in a later step; None: from t = 0, the value ramping from 0).
    ``hold``: the imposed value is the displacement the DOF has at ``start`` (CalculiX
    ``*BOUNDARY, FIXED``; ``value`` and ``table`` unused)."""
    node_set: str
    component: int
    value: object
    table: str | None = None
    start: float | None = None
    hold: bool = False


@dataclass
class Constraint:
    """A group of linear multi-point constraints. Equation i::

        sum_{j = offsets[i]}^{offsets[i+1]-1} coefficients[j] * u[nodes[j], components[j]]
            = values[i] * table(t)

    (``nodes`` 0-based node indices, ``components`` 0-based global components). The first
    term of an equation is its preferred dependent (eliminated) DOF, as the first term of a
    CalculiX/Abaqus ``*EQUATION``; the solver picks another term of the equation when that
    DOF is already eliminated. ``values`` a number (every equation) or one per equation.
    ``start`` as :class:`Dirichlet`. ``kind`` says where it comes from (``equation``,
    ``transform``, ``tie``, ``rigid_body``, ``mpc``)."""
    name: str
    nodes: np.ndarray
    components: np.ndarray
    coefficients: np.ndarray
    offsets: np.ndarray
    values: object = 0.0
    table: str | None = None
    start: float | None = None
    kind: str = "equation"

    @property
    def n_equations(self) -> int:
        return len(self.offsets) - 1

    def rhs(self) -> np.ndarray:
        """(n_equations,) right-hand sides for table value 1."""
        return np.broadcast_to(np.asarray(self.values, dtype=float), (self.n_equations,)).copy()


@dataclass
class Pressure:
    face_set: str
    value: object  # float or np.ndarray
    table: str | None = None
    per: str = "uniform"  # "uniform" | "face" | "node"


@dataclass
class NodalForce:
    """Concentrated forces: node ``nodes[i]`` (0-based index) carries
    ``value * table(t) * forces[i]`` ((n, dim), global axes, force units)."""
    name: str
    nodes: np.ndarray
    forces: np.ndarray
    value: float = 1.0
    table: str | None = None


@dataclass
class Gravity:
    """Body force ``rho * value * table(t) * direction`` on an element set: ``direction``
    unit vector (dim,), ``value`` the acceleration (L/T^2), ``rho`` the material density."""
    element_set: str
    direction: list
    value: float
    table: str | None = None


@dataclass
class Centrifugal:
    element_set: str
    center: list
    axis: list
    omega2: float
    table: str | None = None


@dataclass
class Temperature:
    """Nodal temperature: ``fields`` (n_keys, n_nodes) at ``times`` (n_keys,)."""
    times: np.ndarray
    fields: np.ndarray
    period: float | None = None

    def at(self, t: float) -> np.ndarray:
        """(n_nodes,) temperature at time t (piecewise linear in time, periodic)."""
        times = np.asarray(self.times, dtype=float)
        if self.period:
            t0 = times[0]
            k = np.floor((t - t0) / self.period + 1e-12)
            tl = max(t - k * self.period, t0)
            if k >= 1 and abs(tl - t0) <= 1e-12 * self.period:
                tl = t0 + self.period  # the end of a period belongs to that period
        else:
            tl = t
        if tl <= times[0]:
            return np.array(self.fields[0], dtype=float)
        if tl >= times[-1]:
            return np.array(self.fields[-1], dtype=float)
        j = int(np.searchsorted(times, tl, side="right")) - 1
        w = (tl - times[j]) / (times[j + 1] - times[j])
        return (1 - w) * self.fields[j] + w * self.fields[j + 1]


@dataclass
class MaterialAssignment:
    """``spec`` on the elements of ``element_set``; ``thickness`` [L] of plane (strain or
    stress) elements (the section's, None = 1; ignored by 3D and axisymmetric elements)."""
    element_set: str
    spec: dict
    source: str = ""
    thickness: float | None = None


@dataclass
class TimeStepping:
    """Increments end at ``times[1:]`` (``times[0]`` is the start); outputs at every one."""
    times: np.ndarray
    cycles: int = 1
    ratio: float = 1e-4
    max_iterations: int = 20

    def outputs(self):
        """[(t, cycle, increment)] of every output: the start (cycle 1, increment 0), then
        each increment end of each cycle; cycle c (1-based) shifts the times by
        (c - 1) * period, period = times[-1] - times[0] (s); increments count on across
        cycles."""
        times = np.asarray(self.times, dtype=float)
        period = times[-1] - times[0]
        out = [(float(times[0]), 1, 0)]
        for c in range(max(1, int(self.cycles))):
            for t in times[1:]:
                out.append((float(t + c * period), c + 1, len(out)))
        return out


@dataclass
class InitialState:
    """Initial values at the integration points (store order: element by element, the
    element's own ip order), tensorial Voigt storage order ``11 22 33 12 23 31``:
    ``stress`` (n_ip_total, 6) residual stress, added to the law's stress (elastic laws);
    ``plastic_strain`` (n_ip_total, 6) an eigenstrain the elastic law subtracts (CalculiX
    ``*INITIAL CONDITIONS, TYPE=PLASTIC STRAIN`` on an elastic material)."""
    stress: np.ndarray | None = None
    plastic_strain: np.ndarray | None = None


#: thermal-strain references: eps_th(T) = a(T)(T - Z) ("reference"), or that minus its value
#: at the initial temperature T0 of each point (``"initial"``, CalculiX: a(T)(T - Z) - a(T0)(T0 - Z))
THERMAL_REFERENCES = ("reference", "initial")
#: temperature at the integration points from the nodal values: shape-function
#: interpolation, element mean (CalculiX C3D8), L2 projection of the element's
#: interpolant onto trilinear functions (CalculiX C3D20)
TEMPERATURE_RULES = ("interpolate", "element_mean", "trilinear")


@dataclass
class Problem:
    """What the HF solver needs besides the mesh (see the module docstring).

    ``thermal_reference`` one of :data:`THERMAL_REFERENCES`; ``temperature_at_ips`` None
    (interpolate everywhere) or one rule of :data:`TEMPERATURE_RULES` per mesh block;
    ``notes`` what romnet does differently from the code that wrote the deck."""
    materials: list = field(default_factory=list)
    dirichlet: list = field(default_factory=list)
    pressure: list = field(default_factory=list)
    centrifugal: list = field(default_factory=list)
    temperature: Temperature | None = None
    tables: dict = field(default_factory=dict)
    stepping: TimeStepping | None = None
    source: str = ""
    nodal_forces: list = field(default_factory=list)
    gravity: list = field(default_factory=list)
    constraints: list = field(default_factory=list)
    initial: InitialState | None = None
    thermal_reference: str = "reference"
    temperature_at_ips: list | None = None
    notes: list = field(default_factory=list)

    def table(self, name):
        if name is None:
            return lambda t: np.ones_like(np.asarray(t, dtype=float))
        return self.tables[name]

    def summary(self) -> str:
        lines = ["problem:"]
        if self.stepping is not None:
            t = np.asarray(self.stepping.times)
            lines.append(f"  time {t[0]:g} -> {t[-1]:g}, {len(t) - 1} increments, "
                         f"{self.stepping.cycles} cycle(s), ratio {self.stepping.ratio:g}")
        for m in self.materials:
            lines.append(f"  material on {m.element_set}: {describe_material(m.spec)}"
                         + (f", thickness {m.thickness:g}" if m.thickness not in (None, 1.0) else ""))
        for d in self.dirichlet:
            if d.hold:
                val = "held"
            elif np.ndim(d.value):
                v = np.asarray(d.value, dtype=float)
                val = f"{v.size} values {v.min():g} .. {v.max():g}" if v.size else "no value"
            else:
                val = f"{d.value:g}"
            lines.append(f"  dirichlet {d.node_set} U{d.component + 1} = {val}"
                         + (f" x {d.table}" if d.table and not d.hold else "")
                         + (f" from t = {d.start:g}" if d.start is not None else ""))
        for c in self.constraints:
            lines.append(f"  constraints {c.name} ({c.kind}): {c.n_equations} equation(s), "
                         f"{len(c.nodes)} terms" + (f" x {c.table}" if c.table else "")
                         + (f" from t = {c.start:g}" if c.start is not None else ""))
        for p in self.pressure:
            lines.append(f"  pressure on {p.face_set} ({p.per})" + (f" x {p.table}" if p.table else ""))
        for f in self.nodal_forces:
            tot = np.asarray(f.forces, dtype=float).sum(axis=0) * f.value
            lines.append(f"  nodal forces {f.name}: {len(f.nodes)} node(s), resultant "
                         f"[{' '.join(f'{x:g}' for x in tot)}]" + (f" x {f.table}" if f.table else ""))
        for c in self.centrifugal:
            lines.append(f"  centrifugal on {c.element_set}: center {c.center}, axis {c.axis}, "
                         f"omega^2 {c.omega2:g}" + (f" x {c.table}" if c.table else ""))
        for g in self.gravity:
            lines.append(f"  gravity on {g.element_set}: {g.value:g} x {list(g.direction)}"
                         + (f" x {g.table}" if g.table else ""))
        if self.temperature is not None:
            f = np.asarray(self.temperature.fields)
            lines.append(f"  temperature: {f.shape[0]} key fields, {f.min():g} .. {f.max():g}")
        if self.thermal_reference != "reference":
            lines.append(f"  thermal strain measured from the {self.thermal_reference} temperature")
        if self.temperature_at_ips:
            rules = sorted(set(self.temperature_at_ips))
            lines.append(f"  temperature at integration points: {', '.join(rules)} (per block: "
                         f"{' '.join(self.temperature_at_ips)})")
        if self.initial is not None:
            for k in ("stress", "plastic_strain"):
                v = getattr(self.initial, k)
                if v is not None:
                    lines.append(f"  initial {k.replace('_', ' ')}: {np.count_nonzero(np.any(np.asarray(v) != 0, axis=1))} "
                                 f"non-zero integration point(s)")
        for n in self.notes:
            lines.append(f"  note: {n}")
        return "\n".join(lines)


def describe_material(spec: dict) -> str:
    law = spec.get("law", "?")
    parts = [law]
    for key in ("flow", "kinematic", "isotropic"):
        if spec.get(key):
            parts.append(f"{key}={spec[key].get('type')}")
    return " ".join(parts)


def as_jsonable(obj):
    """Dataclass / numpy -> plain JSON types (lists, floats, dicts)."""
    if hasattr(obj, "__dataclass_fields__"):
        obj = asdict(obj)
    if isinstance(obj, dict):
        return {k: as_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj
