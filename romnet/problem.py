"""Problem definition: what an HF solver needs besides the mesh.

All quantities are in the user's consistent unit system (the Z-set cases use mm-free SI-like
values: MPa, m, s are the user's business). Time tables are piecewise linear; a load's
magnitude at time t is ``value * table(t)`` (table ``None`` means 1).

Components:
* :class:`TimeTable` name -> (times, values), optionally periodic (period given).
* :class:`Dirichlet` imposed value of one DOF (0-based component) on a node set.
* :class:`Pressure` pressure on a face set; value scalar or per-face/per-node array;
  positive pressure pushes against the outward normal (compresses the solid).
* :class:`Centrifugal` body force rho * omega^2 * r (r: distance vector to the axis) on an
  element set; ``omega2`` the squared angular speed (rad^2/s^2) times the table value.
* :class:`Temperature` nodal temperature fields at key times, linear in between,
  repeated with ``period`` when cycles are run.
* :class:`MaterialAssignment` a material description (JSON-able dict, see
  :mod:`romnet.materials`) on an element set.
* :class:`TimeStepping` output/increment times and Newton settings.
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
    node_set: str
    component: int
    value: float
    table: str | None = None


@dataclass
class Pressure:
    face_set: str
    value: object  # float or np.ndarray
    table: str | None = None
    per: str = "uniform"  # "uniform" | "face" | "node"


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
class Problem:
    materials: list = field(default_factory=list)
    dirichlet: list = field(default_factory=list)
    pressure: list = field(default_factory=list)
    centrifugal: list = field(default_factory=list)
    temperature: Temperature | None = None
    tables: dict = field(default_factory=dict)
    stepping: TimeStepping | None = None
    source: str = ""

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
            lines.append(f"  dirichlet {d.node_set} U{d.component + 1} = {d.value:g}"
                         + (f" x {d.table}" if d.table else ""))
        for p in self.pressure:
            lines.append(f"  pressure on {p.face_set} ({p.per})" + (f" x {p.table}" if p.table else ""))
        for c in self.centrifugal:
            lines.append(f"  centrifugal on {c.element_set}: center {c.center}, axis {c.axis}, "
                         f"omega^2 {c.omega2:g}" + (f" x {c.table}" if c.table else ""))
        if self.temperature is not None:
            f = np.asarray(self.temperature.fields)
            lines.append(f"  temperature: {f.shape[0]} key fields, {f.min():g} .. {f.max():g}")
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
