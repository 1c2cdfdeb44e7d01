"""Material coefficients: constants or tables in temperature.

A coefficient in a material description (``COEF``) is either a number or a table::

    {"temperature": [T0, T1, ...], "value": [v0, v1, ...]}

with strictly increasing temperatures. A table is interpolated linearly in temperature and
is constant (first / last value) outside ``[T0, T_last]`` (``numpy.interp``).
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np

from ..errors import MaterialError


class Coefficient:
    """A coefficient constant or tabulated in temperature.

    ``coef(temperature)`` returns a float for a constant coefficient (it broadcasts with any
    array) and an array shaped like ``temperature`` for a table.
    """

    __slots__ = ("temperatures", "values", "key", "is_constant", "_value")

    def __init__(self, temperatures, values, key: str = "coefficient"):
        self.temperatures = np.asarray(temperatures, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.key = key
        #: True when every value is the same (the coefficient is then a float)
        self.is_constant = self.values.size == 1 or bool(np.all(self.values == self.values[0]))
        self._value = float(self.values[0])

    @property
    def min(self) -> float:
        return float(self.values.min())

    @property
    def max(self) -> float:
        return float(self.values.max())

    def __call__(self, temperature):
        if self.is_constant:
            return self._value
        return np.interp(temperature, self.temperatures, self.values)

    def to_spec(self):
        """The JSON-able form (a number for a constant, else the table)."""
        if self.values.size == 1:
            return float(self.values[0])
        return {"temperature": self.temperatures.tolist(), "value": self.values.tolist()}

    def __repr__(self):
        return f"Coefficient({self.key}={self.to_spec()!r})"


def _number(x, key):
    if isinstance(x, bool) or not isinstance(x, (Real, np.floating, np.integer)):
        raise MaterialError(f"{key}: expected a number, got {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise MaterialError(f"{key}: value {x!r} is not finite")
    return x


def parse_coefficient(spec, key: str, *, minimum=None, strict_minimum=False, maximum=None,
                      strict_maximum=False) -> Coefficient:
    """Check and convert a ``COEF`` of a material description.

    ``key`` is the dotted name used in error messages (e.g. ``"flow.K"``). Bounds apply to
    every tabulated value; ``strict_*`` makes them exclusive.
    """
    if spec is None:
        raise MaterialError(f"{key}: missing coefficient")
    if isinstance(spec, dict):
        unknown = set(spec) - {"temperature", "value"}
        if unknown:
            raise MaterialError(f"{key}: unknown table key(s) {sorted(unknown)} "
                                "(expected 'temperature' and 'value')")
        if "temperature" not in spec or "value" not in spec:
            raise MaterialError(f"{key}: a table needs both 'temperature' and 'value'")
        ts, vs = spec["temperature"], spec["value"]
        if not isinstance(ts, (list, tuple, np.ndarray)) or not isinstance(vs, (list, tuple, np.ndarray)):
            raise MaterialError(f"{key}: 'temperature' and 'value' must be lists")
        ts = [_number(t, f"{key}.temperature[{i}]") for i, t in enumerate(ts)]
        vs = [_number(v, f"{key}.value[{i}]") for i, v in enumerate(vs)]
        if len(ts) == 0:
            raise MaterialError(f"{key}: empty table")
        if len(ts) != len(vs):
            raise MaterialError(f"{key}: {len(ts)} temperatures but {len(vs)} values")
        if any(b <= a for a, b in zip(ts, ts[1:])):
            raise MaterialError(f"{key}.temperature: temperatures must be strictly increasing")
        coef = Coefficient(ts, vs, key)
    else:
        coef = Coefficient([0.0], [_number(spec, key)], key)
    lo, hi = coef.min, coef.max
    if minimum is not None and (lo < minimum or (strict_minimum and lo <= minimum)):
        rel = ">" if strict_minimum else ">="
        raise MaterialError(f"{key}: value {lo:g} out of range (must be {rel} {minimum:g})")
    if maximum is not None and (hi > maximum or (strict_maximum and hi >= maximum)):
        rel = "<" if strict_maximum else "<="
        raise MaterialError(f"{key}: value {hi:g} out of range (must be {rel} {maximum:g})")
    return coef


def parse_number(spec, key: str) -> float:
    """A plain finite number of a material description (e.g. ``ref_temperature``)."""
    return _number(spec, key)
