"""Time histories of deck quantities (loads, imposed values) over the steps.

As in CalculiX and Abaqus for static / visco steps: a quantity defined in a step changes
linearly over the step from its value at the end of the previous step (0 before the first
definition) to the value the step gives, and keeps it in later steps; model-data values
hold from t = 0. With ``AMPLITUDE=name`` the value in the defining step is ``magnitude x
amplitude(step time)`` (``TIME=TOTAL TIME`` amplitudes: of the total time) and, in later
steps that do not redefine it, the value reached at the step's end; the amplitude must start
the step at the value the quantity has there (a jump in time is refused). A quantity
removed (``OP=NEW``) ramps to 0 over the step.

:class:`History` records the value at step boundaries (and at the amplitude's points) and
becomes a (value, :class:`romnet.problem.TimeTable`) pair.
"""
from __future__ import annotations

import numpy as np

from romnet.problem import TimeTable

from .numeric import to_float


class Amplitude:
    """``*AMPLITUDE`` (tabular, linear interpolation, constant outside its range):
    ``times`` (step or total time), ``values``; ``total`` True for ``TIME=TOTAL TIME``."""

    def __init__(self, kw):
        from romnet.errors import UnsupportedError
        self.name = kw.param("NAME", required=True)
        defn = kw.param("DEFINITION", "TABULAR")
        if defn not in ("TABULAR",):
            raise kw.error(f"DEFINITION={defn} not supported (TABULAR)", cls=UnsupportedError)
        if kw.param("SHIFTX") or kw.param("SHIFTY") or "USER" in kw.params:
            raise kw.error("SHIFTX / SHIFTY / USER amplitudes not supported", cls=UnsupportedError)
        time = kw.param("TIME", "STEP TIME")
        if time not in ("STEP TIME", "TOTAL TIME"):
            raise kw.error(f"TIME={time} unknown (STEP TIME, TOTAL TIME)")
        self.total = time == "TOTAL TIME"
        vals = []
        for ln, toks in kw.data:
            toks = [t for t in toks if t != ""]
            if len(toks) % 2:
                raise kw.error("expected pairs 'time, value'", ln)
            vals.extend((to_float(a, kw.path, ln, "amplitude time"), to_float(b, kw.path, ln, "amplitude value"))
                        for a, b in zip(toks[::2], toks[1::2]))
        if not vals:
            raise kw.error("no data line")
        t = np.array([v[0] for v in vals])
        if np.any(np.diff(t) < 0):
            raise kw.error("amplitude times must not decrease")
        self.times, self.values = t, np.array([v[1] for v in vals])
        self.where = kw.where()

    def __call__(self, tau):
        return np.interp(tau, self.times, self.values)

    def points(self, t_start, t_end):
        """Total times (within (t_start, t_end)) of the amplitude's own points."""
        tt = self.times if self.total else t_start + self.times
        return tt[(tt > t_start) & (tt < t_end)]

    def value(self, t, t_start):
        return float(self(t if self.total else t - t_start))


class History:
    """Value of one quantity at the times where it may change (piecewise linear)."""

    def __init__(self, initial=0.0):
        self.times, self.values = [0.0], [float(initial)]

    def current(self) -> float:
        return self.values[-1]

    def _at_start(self, t_start):
        if self.times[-1] < t_start:
            self.times.append(t_start)
            self.values.append(self.values[-1])

    def set(self, t_start, t_end, value, amplitude=None):
        """The quantity reaches ``value`` at t_end (ramp from its current value), or follows
        ``value * amplitude`` over the step."""
        self._at_start(t_start)
        if amplitude is None:
            self.times.append(t_end)
            self.values.append(float(value))
            return
        v0 = float(value) * amplitude.value(t_start, t_start)
        if self.times == [0.0] and t_start == 0.0:
            self.values[0] = v0          # the start of the analysis: nothing is computed at t = 0
        elif not np.isclose(v0, self.values[-1], rtol=1e-12, atol=1e-300):
            raise ValueError(f"amplitude {amplitude.name} starts the step at {v0:g}, the quantity is "
                             f"{self.values[-1]:g} there: a jump in time is not supported (start the "
                             "amplitude at the value reached)")
        for t in amplitude.points(t_start, t_end):
            self.times.append(float(t))
            self.values.append(float(value) * amplitude.value(t, t_start))
        self.times.append(t_end)
        self.values.append(float(value) * amplitude.value(t_end, t_start))

    def hold(self, value):
        """Model-data value: holds from t = 0."""
        self.values = [float(value)] * len(self.values)

    def close(self, t_end):
        if self.times[-1] < t_end:
            self.times.append(t_end)
            self.values.append(self.values[-1])

    def key(self):
        return tuple(self.times), tuple(self.values)

    def as_value_table(self, name):
        """(value, TimeTable or None): a constant, or 1 x the table of the history."""
        v = np.array(self.values)
        if np.all(v == v[0]):
            return float(v[0]), None
        return 1.0, TimeTable(name, [float(t) for t in self.times], [float(x) for x in v])
