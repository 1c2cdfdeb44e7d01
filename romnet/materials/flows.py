"""Viscoplastic flow functions ``phi(f)`` (rate as a function of the overstress f >= 0).

* ``norton`` (K, n):  ``phi = (f / K)^n``  (K in stress . s^(1/n), rate in 1/s);
* ``hyperbolic`` (K, n, eps0, Kinf): ``phi = (f / K)^n + eps0 sinh(f / Kinf)``
  (eps0 in 1/s, Kinf in stress units). Z-set's ``*flow hyperbolic`` takes the coefficients
  K, n, eps0, Kinf; its formula could not be read from Z-set's documentation, so this form
  (a Norton regime at low overstress and a hyperbolic-sine regime at high overstress, each
  coefficient with that role) is an assumption: see docs/materials.md, "Unconfirmed".

:class:`~.crystal.CrystalLaw` evaluates the flows of all its slip systems at once (one
(n, N) array, the exponent of each potential by :func:`ipow` where it is a constant integer).
"""
from __future__ import annotations

import numpy as np

from ..errors import MaterialError
from .coefficients import parse_coefficient

FLOW_COEFS = {"norton": ("K", "n"), "hyperbolic": ("K", "n", "eps0", "Kinf")}
#: largest integer exponent evaluated by products (:func:`ipow`)
MAX_INT_EXPONENT = 64


def int_exponent(coef, shift=0.0):
    """``coef - shift`` as an int when the coefficient is constant and that value is an
    integer in [0, MAX_INT_EXPONENT], else None."""
    if not coef.is_constant:
        return None
    k = float(coef(0.0)) - shift
    return int(k) if k == int(k) and 0 <= k <= MAX_INT_EXPONENT else None


def ipow(x, k: int):
    """x ** k for an int k >= 0 by products (left-to-right binary powering, in place on one
    new array; several times faster than a float power); returns x itself for k = 1."""
    if k == 0:
        return np.ones_like(x)
    if k == 1:
        return x
    bits = bin(k)[3:]                                   # the binary digits after the leading 1
    out = np.multiply(x, x)
    if bits[0] == "1":
        out *= x
    for b in bits[1:]:
        out *= out
        if b == "1":
            out *= x
    return out


class Flow:
    def __init__(self, kind: str, coefs: dict):
        self.kind = kind
        self.coefs = coefs

    @classmethod
    def from_spec(cls, spec, key):
        if not isinstance(spec, dict):
            raise MaterialError(f"{key}: expected a dict, got {spec!r}")
        kind = spec.get("type")
        if kind not in FLOW_COEFS:
            raise MaterialError(f"{key}.type {kind!r} unsupported here (supported: {', '.join(FLOW_COEFS)})")
        names = FLOW_COEFS[kind]
        unknown = set(spec) - {"type"} - set(names)
        if unknown:
            raise MaterialError(f"{key}: unknown key(s) {sorted(unknown)} for type {kind!r}")
        missing = [k for k in names if k not in spec]
        if missing:
            raise MaterialError(f"{key}.{missing[0]}: missing (needed by type {kind!r})")
        c = {"K": parse_coefficient(spec["K"], f"{key}.K", minimum=0.0, strict_minimum=True),
             "n": parse_coefficient(spec["n"], f"{key}.n", minimum=1.0)}
        if kind == "hyperbolic":
            c["eps0"] = parse_coefficient(spec["eps0"], f"{key}.eps0", minimum=0.0)
            c["Kinf"] = parse_coefficient(spec["Kinf"], f"{key}.Kinf", minimum=0.0, strict_minimum=True)
        return cls(kind, c)

    def to_spec(self):
        return {"type": self.kind, **{k: v.to_spec() for k, v in self.coefs.items()}}

    def values(self, temperature):
        """Coefficient values at the temperatures (floats for constants)."""
        return {k: c(temperature) for k, c in self.coefs.items()}
