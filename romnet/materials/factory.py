"""``build_law(spec)``: a :class:`~romnet.materials.elastic.Law` from a material description.

The description is the JSON-able dict stored in the case store (see ``docs/materials.md``).
Every problem is reported as :class:`~romnet.errors.MaterialError` naming the key.
"""
from __future__ import annotations

import math
from numbers import Integral

from ..errors import MaterialError
from .coefficients import parse_coefficient, parse_number
from .elastic import ElasticLaw, IsotropicElasticity, ThermalStrain, parse_density
from .gen_evp import GenEvpLaw, Isotropic

#: top-level keys; "name", "comment" and "source" are free-form metadata, not read
TOP_KEYS = {"law", "density", "elasticity", "thermal_strain", "flow", "kinematic", "isotropic",
            "integration", "name", "comment", "source"}
LAWS = ("elastic", "gen_evp")
DEFAULT_TOLERANCE = 1e-9
DEFAULT_MAX_ITERATIONS = 200


def _section(spec, key, allowed, required_type=True):
    sec = spec.get(key)
    if sec is None:
        return None
    if not isinstance(sec, dict):
        raise MaterialError(f"{key}: expected a dict, got {sec!r}")
    if required_type:
        if "type" not in sec:
            raise MaterialError(f"{key}.type: missing")
        t = sec["type"]
        if t not in allowed:
            raise MaterialError(f"{key}.type {t!r} unsupported (supported: {', '.join(allowed)})")
        unknown = set(sec) - {"type"} - set(allowed[t])
        if unknown:
            raise MaterialError(f"{key}: unknown key(s) {sorted(unknown)} for type {t!r}")
        missing = [k for k in allowed[t] if k not in sec]
        if missing:
            raise MaterialError(f"{key}.{missing[0]}: missing (needed by type {t!r})")
    return sec


def _integration(spec):
    sec = spec.get("integration")
    if sec is None:
        return DEFAULT_TOLERANCE, DEFAULT_MAX_ITERATIONS, 1.0
    if not isinstance(sec, dict):
        raise MaterialError(f"integration: expected a dict, got {sec!r}")
    unknown = set(sec) - {"tolerance", "max_iterations", "theta", "hardening_theta"}
    if unknown:
        raise MaterialError(f"integration: unknown key(s) {sorted(unknown)}")
    theta = parse_number(sec.get("theta", 1.0), "integration.theta")
    if theta != 1.0:
        raise MaterialError(f"integration.theta: {theta:g} unsupported (romnet integrates fully "
                            "implicitly, theta = 1)")
    tol = parse_number(sec.get("tolerance", DEFAULT_TOLERANCE), "integration.tolerance")
    if not tol > 0:
        raise MaterialError(f"integration.tolerance: value {tol:g} out of range (must be > 0)")
    mi = sec.get("max_iterations", DEFAULT_MAX_ITERATIONS)
    if isinstance(mi, bool) or not isinstance(mi, (Integral, float)) or (
            isinstance(mi, float) and (not math.isfinite(mi) or mi != int(mi))):
        raise MaterialError(f"integration.max_iterations: expected an integer, got {mi!r}")
    if int(mi) < 1:
        raise MaterialError(f"integration.max_iterations: value {mi} out of range (must be >= 1)")
    th = parse_number(sec.get("hardening_theta", 1.0), "integration.hardening_theta")
    if not 0.5 <= th <= 1.0:
        raise MaterialError(f"integration.hardening_theta: value {th:g} out of range (must be in [0.5, 1])")
    return tol, int(mi), th


def build_law(spec):
    """Build the law of a material description (dict); raises MaterialError if invalid."""
    if not isinstance(spec, dict):
        raise MaterialError(f"material description must be a dict, got {type(spec).__name__}")
    unknown = set(spec) - TOP_KEYS
    if unknown:
        raise MaterialError(f"unknown key(s) {sorted(unknown)} in material description")
    if "law" not in spec:
        raise MaterialError("law: missing")
    law = spec["law"]
    if law not in LAWS:
        raise MaterialError(f"law {law!r} unsupported (supported: {', '.join(LAWS)})")
    if "elasticity" not in spec:
        raise MaterialError("elasticity: missing")
    elasticity = IsotropicElasticity.from_spec(spec["elasticity"])
    thermal = ThermalStrain.from_spec(spec.get("thermal_strain"))
    density = parse_density(spec.get("density"))
    tol, max_it, hardening_theta = _integration(spec)

    if law == "elastic":
        for key in ("flow", "kinematic", "isotropic"):
            if spec.get(key) is not None:
                raise MaterialError(f"{key}: not used by law 'elastic' (remove it or use 'gen_evp')")
        return ElasticLaw(elasticity, thermal, density)

    flow = _section(spec, "flow", {"norton": ("K", "n"), "plasticity": ()})
    if flow is None:
        raise MaterialError("flow: missing (law 'gen_evp' needs a flow rule)")
    norton = None
    if flow["type"] == "norton":
        norton = (parse_coefficient(flow["K"], "flow.K", minimum=0.0, strict_minimum=True),
                  parse_coefficient(flow["n"], "flow.n", minimum=1.0))

    kin = _section(spec, "kinematic", {"nonlinear": ("C", "D"), "linear": ("C",)})
    kinematic = None
    if kin is not None:
        c = parse_coefficient(kin["C"], "kinematic.C", minimum=0.0)
        if kin["type"] == "nonlinear":
            d = parse_coefficient(kin["D"], "kinematic.D", minimum=0.0)
        else:
            d = parse_coefficient(0.0, "kinematic.D")
        kinematic = (c, d)

    iso = _section(spec, "isotropic", {"constant": ("R0",), "linear": ("R0", "H"),
                                       "nonlinear": ("R0", "Q", "b")})
    if iso is None:
        isotropic = Isotropic("constant", parse_coefficient(0.0, "isotropic.R0"))
    else:
        r0 = parse_coefficient(iso["R0"], "isotropic.R0", minimum=0.0)
        if iso["type"] == "constant":
            isotropic = Isotropic("constant", r0)
        elif iso["type"] == "linear":
            isotropic = Isotropic("linear", r0, H=parse_coefficient(iso["H"], "isotropic.H", minimum=0.0))
        else:
            isotropic = Isotropic("nonlinear", r0,
                                  Q=parse_coefficient(iso["Q"], "isotropic.Q"),
                                  b=parse_coefficient(iso["b"], "isotropic.b", minimum=0.0))
    return GenEvpLaw(elasticity, thermal, isotropic, norton=norton, kinematic=kinematic,
                     tolerance=tol, max_iterations=max_it, density=density,
                     hardening_theta=hardening_theta)
