"""``build_law(spec)``: a :class:`~romnet.materials.elastic.Law` from a material description.

The description is the JSON-able dict stored in the case store (see ``docs/materials.md``).
Every problem is reported as :class:`~romnet.errors.MaterialError` naming the key.
"""
from __future__ import annotations

import math
from numbers import Integral

from ..errors import MaterialError
from .coefficients import parse_coefficient, parse_number
from .anisotropy import Orientation, parse_elasticity, stiffness_provider
from .crystal import CrystalLaw, CrystalPotential
from .elastic import ElasticLaw, IsotropicElasticity, ThermalStrain, parse_density
from .flows import Flow
from .gen_evp import GenEvpLaw, Isotropic

#: top-level keys; "name", "comment" and "source" are free-form metadata, not read
TOP_KEYS = {"law", "density", "elasticity", "thermal_strain", "orientation", "flow", "kinematic",
            "isotropic", "potentials", "integration", "name", "comment", "source"}
METHODS = ("theta_method_a", "runge_kutta")
FAMILIES = ("octahedral", "cubic")
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
    """(method, tolerance, max_iterations, hardening_theta, dtmin) of ``integration``."""
    sec = spec.get("integration")
    if sec is None:
        return "theta_method_a", DEFAULT_TOLERANCE, DEFAULT_MAX_ITERATIONS, 1.0, None
    if not isinstance(sec, dict):
        raise MaterialError(f"integration: expected a dict, got {sec!r}")
    unknown = set(sec) - {"method", "tolerance", "max_iterations", "theta", "hardening_theta", "dtmin"}
    if unknown:
        raise MaterialError(f"integration: unknown key(s) {sorted(unknown)}")
    method = sec.get("method", "theta_method_a")
    if method not in METHODS:
        raise MaterialError(f"integration.method {method!r} unsupported (supported: {', '.join(METHODS)})")
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
    dtmin = None
    if "dtmin" in sec:
        dtmin = parse_number(sec["dtmin"], "integration.dtmin")
        if not dtmin > 0:
            raise MaterialError(f"integration.dtmin: value {dtmin:g} out of range (must be > 0)")
    return method, tol, int(mi), th, dtmin


def _crystal_potential(spec, i, names):
    key = f"potentials[{i}]"
    if not isinstance(spec, dict):
        raise MaterialError(f"{key}: expected a dict, got {spec!r}")
    unknown = set(spec) - {"name", "type", "family", "flow", "isotropic", "kinematic", "interaction"}
    if unknown:
        raise MaterialError(f"{key}: unknown key(s) {sorted(unknown)}")
    if spec.get("type", "crystal") != "crystal":
        raise MaterialError(f"{key}.type {spec.get('type')!r} unsupported in 'potentials' (supported: crystal; "
                            "a single Mises potential is given with the top-level flow/kinematic/isotropic keys)")
    name = spec.get("name", f"p{i + 1}")
    if not isinstance(name, str) or not name or name in names:
        raise MaterialError(f"{key}.name: expected a unique non-empty string, got {name!r}")
    names.add(name)
    family = spec.get("family")
    if family not in FAMILIES:
        raise MaterialError(f"{key}.family {family!r} unsupported (supported: {', '.join(FAMILIES)})")
    if "flow" not in spec:
        raise MaterialError(f"{key}.flow: missing")
    flow = Flow.from_spec(spec["flow"], f"{key}.flow")
    iso = _section(spec, "isotropic", {"constant": ("R0",), "nonlinear": ("R0", "Q", "b")})
    if iso is None:
        isotropic = ("constant", {"R0": parse_coefficient(0.0, f"{key}.isotropic.R0")})
    else:
        c = {"R0": parse_coefficient(iso["R0"], f"{key}.isotropic.R0", minimum=0.0)}
        if iso["type"] == "nonlinear":
            c["Q"] = parse_coefficient(iso["Q"], f"{key}.isotropic.Q")
            c["b"] = parse_coefficient(iso["b"], f"{key}.isotropic.b", minimum=0.0)
        isotropic = (iso["type"], c)
    kin = spec.get("kinematic")
    kinematic = None
    if kin is not None:
        if not isinstance(kin, dict):
            raise MaterialError(f"{key}.kinematic: expected a dict, got {kin!r}")
        t = kin.get("type")
        allowed = {"linear": {"C"}, "nonlinear": {"C", "D", "m", "M"}}
        if t not in allowed:
            raise MaterialError(f"{key}.kinematic.type {t!r} unsupported (supported: linear, nonlinear)")
        unknown = set(kin) - {"type"} - allowed[t]
        if unknown:
            raise MaterialError(f"{key}.kinematic: unknown key(s) {sorted(unknown)} for type {t!r}")
        need = ["C"] + (["D"] if t == "nonlinear" else [])
        for k in need:
            if k not in kin:
                raise MaterialError(f"{key}.kinematic.{k}: missing (needed by type {t!r})")
        if ("m" in kin) != ("M" in kin):
            raise MaterialError(f"{key}.kinematic: static recovery needs both 'm' and 'M'")
        kinematic = {"C": parse_coefficient(kin["C"], f"{key}.kinematic.C", minimum=0.0),
                     "D": parse_coefficient(kin.get("D", 0.0), f"{key}.kinematic.D", minimum=0.0)}
        if "m" in kin:
            kinematic["m"] = parse_coefficient(kin["m"], f"{key}.kinematic.m", minimum=1.0)
            kinematic["M"] = parse_coefficient(kin["M"], f"{key}.kinematic.M", minimum=0.0, strict_minimum=True)
    h = spec.get("interaction", [1.0])
    from .slip_systems import N_INTERACTION
    if not isinstance(h, (list, tuple)) or not h or len(h) > N_INTERACTION[family]:
        raise MaterialError(f"{key}.interaction: expected a list of 1 to {N_INTERACTION[family]} numbers "
                            f"(h1 ... for the {family} family), got {h!r}")
    h = [parse_number(v, f"{key}.interaction[{j}]") for j, v in enumerate(h)]
    return CrystalPotential(name, family, flow, isotropic, kinematic, h)


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
    elasticity = parse_elasticity(spec["elasticity"])
    isotropic_el = isinstance(elasticity, IsotropicElasticity)
    orientation = Orientation.from_spec(spec.get("orientation"))
    thermal = ThermalStrain.from_spec(spec.get("thermal_strain"))
    density = parse_density(spec.get("density"))
    method, tol, max_it, hardening_theta, dtmin = _integration(spec)

    if law == "elastic":
        for key in ("flow", "kinematic", "isotropic", "potentials"):
            if spec.get(key) is not None:
                raise MaterialError(f"{key}: not used by law 'elastic' (remove it or use 'gen_evp')")
        return ElasticLaw(elasticity, thermal, density, orientation=orientation)

    pots = spec.get("potentials")
    if pots is not None:
        for key in ("flow", "kinematic", "isotropic"):
            if spec.get(key) is not None:
                raise MaterialError(f"{key}: give it inside 'potentials' (a top-level {key} is the single "
                                    "Mises potential form)")
        if not isinstance(pots, list) or not pots:
            raise MaterialError(f"potentials: expected a non-empty list, got {pots!r}")
        names = set()
        potentials = [_crystal_potential(p, i, names) for i, p in enumerate(pots)]
        if method == "runge_kutta":
            tol_c = tol if "tolerance" in (spec.get("integration") or {}) else 1e-5
        else:
            tol_c = tol
        return CrystalLaw(stiffness_provider(elasticity), thermal, potentials, orientation, method=method,
                          tolerance=tol_c, dtmin=dtmin if dtmin is not None else 1e-12,
                          max_iterations=max_it, density=density)

    if not isotropic_el:
        raise MaterialError(f"elasticity.type {elasticity.kind!r}: a von Mises gen_evp potential needs isotropic "
                            "elasticity in this version (crystal potentials accept every elasticity type)")
    if method != "theta_method_a":
        raise MaterialError(f"integration.method {method!r}: the von Mises gen_evp law is integrated by "
                            "backward Euler (theta_method_a) only")
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
