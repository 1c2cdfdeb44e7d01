"""Z-set material files -> romnet material spec dicts.

Supported subset (anything else: UnsupportedError naming the keyword and the line; every
keyword, its meaning and units: docs/materials.md, "Z-set material files")::

    ***material
       *integration theta_method_a 1. <tolerance> <max_iterations>      (theta must be 1)
       *integration runge_kutta <tolerance> [dtmin <dt>]                (crystal potentials)
    ***behavior gen_evp [runge_jacobian] | linear_elastic
     **coefficient        masvol <COEF>
     **elasticity [isotropic]   young <COEF>  poisson <COEF>
     **elasticity cubic         y1111 <COEF>  y1122 <COEF>  y1212 <COEF>
     **elasticity orthotropic   E1 E2 E3 nu12 nu13 nu23 G12 G13 G23  (engineering constants)
     **thermal_strain isotropic  alpha <COEF>  ref_temperature <value>
     **rotation  x1 <a b c> x2|x3 <d e f>  |  euler <phi1 Phi phi2>  (material frame)
     **potential gen_evp [<name>]                  (one von Mises potential)
       *criterion mises
       *flow norton  K <COEF> n <COEF>  |  *flow plasticity
       *kinematic nonlinear C <COEF> D <COEF>  |  *kinematic linear C <COEF>
       *isotropic constant R0 | linear R0 H | nonlinear R0 Q b
     **potential octahedral|cubic [<name>]         (any number of crystal potentials)
       *flow norton K n  |  *flow hyperbolic K n eps0 Kinf
       *isotropic constant R0 | nonlinear R0 Q b
       *kinematic nonlinear C D [m M]  |  *kinematic linear C
       *interaction [slip]  h1 h2 ...   (numbers, or 'h1 <v> h2 <v> ...')
    ***return

``<COEF>`` is a number, or ``temperature`` followed by lines ``value T`` (value first,
temperature second, as in the shared ``mat`` files), giving
``{"temperature": [T...], "value": [v...]}``. Spec format: docs/materials.md. A von Mises
behavior gives the historical spec (top-level ``flow``, ``kinematic``, ``isotropic``);
crystal potentials give ``"potentials": [{"name", "type": "crystal", "family", "flow",
"isotropic", "kinematic", "interaction"}, ...]``.

Defaults: no ``*integration`` -> theta_method_a (theta 1, tolerance 1e-9, 200 iterations);
gen_evp without ``*isotropic`` -> constant R0 = 0; ``*criterion`` absent -> mises;
``runge_kutta`` without ``dtmin`` -> 1e-12. ``linear_elastic`` gives law "elastic".
"""
from __future__ import annotations

from pathlib import Path

from romnet.errors import InputError, UnsupportedError

from .tokens import read_lines, split_blocks, to_float, to_int

import numpy as np

#: Z-set's ``theta_method_a 1.`` evaluates the isotropic hardening at p_n + 0.999 dp, not at
#: p_{n+1}: measured on MecaSequentialSimpleMises (linear hardening H = 100), where Z-set's
#: stresses satisfy J(sigma) = R0 + H p_n + 0.999 H dp at every flowing point of every
#: increment; re-integrating with hardening_theta = 1 leaves a 2e-4 stress discrepancy at
#: the first output, with 0.999 the discrepancy falls to the float32 floor of the data
#: (1.4e-5) at every output and p agrees to 3e-8 (tests/test_zset_acceptance.py).
ZSET_HARDENING_THETA = 0.999
DEFAULT_INTEGRATION = {"theta": 1.0, "tolerance": 1e-9, "max_iterations": 200,
                       "hardening_theta": ZSET_HARDENING_THETA}

_FLOW = {"norton": ("K", "n"), "plasticity": ()}
_KINEMATIC = {"nonlinear": ("C", "D"), "linear": ("C",)}
_ISOTROPIC = {"constant": ("R0",), "linear": ("R0", "H"), "nonlinear": ("R0", "Q", "b")}
_CRYSTAL_FLOW = {"norton": ("K", "n"), "hyperbolic": ("K", "n", "eps0", "Kinf")}
_CRYSTAL_ISOTROPIC = {"constant": ("R0",), "nonlinear": ("R0", "Q", "b")}
_CRYSTAL_KINEMATIC = {"nonlinear": ("C", "D"), "linear": ("C",)}
_ELASTICITY = {"isotropic": ("young", "poisson"), "cubic": ("y1111", "y1122", "y1212"),
               "orthotropic": ("E1", "E2", "E3", "nu12", "nu13", "nu23", "G12", "G13", "G23")}
CRYSTAL_FAMILIES = ("octahedral", "cubic")
RK_DEFAULT_DTMIN = 1e-12


def _is_number(tok: str) -> bool:
    try:
        float(tok.replace("D", "E").replace("d", "e"))
        return True
    except ValueError:
        return False


def _coefficients(lines, path, context: str) -> dict:
    """Parse data lines ``name value`` / ``name temperature`` + ``value T`` rows.

    Returns name -> (COEF, line number).
    """
    out = {}
    i = 0
    while i < len(lines):
        ln = lines[i]
        t = ln.tokens
        name = t[0]
        if _is_number(name):
            raise InputError(f"{context}: number '{name}' where a coefficient name was expected", path,
                             ln.number)
        if len(t) == 1:
            raise InputError(f"{context}: coefficient '{name}' without a value", path, ln.number)
        if name in out:
            raise InputError(f"{context}: coefficient '{name}' given twice", path, ln.number)
        if t[1] == "temperature":
            if len(t) > 2:
                raise InputError(f"{context}: '{name} temperature' takes its table on the next lines",
                                 path, ln.number)
            temps, vals = [], []
            i += 1
            while i < len(lines) and _is_number(lines[i].tokens[0]):
                row = lines[i]
                if len(row.tokens) != 2:
                    raise InputError(f"{context}: table of '{name}': expected 'value temperature', got "
                                     f"{len(row.tokens)} values", path, row.number)
                vals.append(to_float(row.tokens[0], path, row.number, f"{name} value"))
                temps.append(to_float(row.tokens[1], path, row.number, f"{name} temperature"))
                i += 1
            if not temps:
                raise InputError(f"{context}: '{name} temperature' without table rows", path, ln.number)
            if any(b <= a for a, b in zip(temps, temps[1:])):
                raise InputError(f"{context}: temperatures of '{name}' must increase", path, ln.number)
            out[name] = ({"temperature": temps, "value": vals}, ln.number)
            continue
        if not _is_number(t[1]):
            raise UnsupportedError(f"{context}: coefficient '{name}' depends on '{t[1]}' (only constants "
                                   "and 'temperature' tables are supported)", path, ln.number)
        if len(t) % 2:
            raise InputError(f"{context}: expected 'name value' pairs, got '{' '.join(t)}'", path, ln.number)
        for k in range(0, len(t), 2):
            if k and t[k] in out:
                raise InputError(f"{context}: coefficient '{t[k]}' given twice", path, ln.number)
            out[t[k]] = (to_float(t[k + 1], path, ln.number, t[k]), ln.number)
        i += 1
    return out


def _take(coefs: dict, names, path, line, context: str, optional=()) -> dict:
    unknown = [k for k in coefs if k not in names and k not in optional]
    if unknown:
        k = unknown[0]
        raise UnsupportedError(f"{context}: unknown coefficient '{k}' (expected {' '.join(names) or 'none'})",
                               path, coefs[k][1])
    missing = [k for k in names if k not in coefs]
    if missing:
        raise InputError(f"{context}: missing coefficient '{missing[0]}'", path, line)
    out = {k: coefs[k][0] for k in names}
    out.update({k: coefs[k][0] for k in optional if k in coefs})
    return out


def read_material(path) -> dict:
    """Parse a Z-set material file into a romnet material spec dict."""
    path = Path(path)
    lines = read_lines(path, "material file")
    spec = {"law": None, "density": None, "elasticity": None, "thermal_strain": None,
            "orientation": None, "flow": None, "kinematic": None, "isotropic": None,
            "integration": dict(DEFAULT_INTEGRATION), "potentials": []}
    # cut at ***return; split at level-3 keywords
    body = []
    for ln in lines:
        if ln.keyword == "***return":
            break
        body.append(ln)
    pre, sections = split_blocks(body, 3)
    if pre:
        raise InputError(f"unexpected '{pre[0].keyword}' before ***material/***behavior", path, pre[0].number)
    behavior = None
    for head, content in sections:
        name = head.keyword[3:]
        if name == "material":
            _material_header(head, content, path, spec)
        elif name == "behavior":
            if behavior is not None:
                raise UnsupportedError("a second ***behavior (one behavior per material file)", path, head.number)
            behavior = head
            _behavior(head, content, path, spec)
        else:
            raise UnsupportedError(f"unsupported keyword '{head.keyword}' in material file", path, head.number)
    if behavior is None:
        raise InputError("no ***behavior in material file", path)
    if spec["elasticity"] is None:
        raise InputError("no **elasticity in ***behavior", path, behavior.number)
    pots = spec.pop("potentials")
    integ = spec["integration"]
    if spec["law"] == "gen_evp":
        if spec["flow"] is None and not pots:
            raise InputError("gen_evp behavior without **potential", path, behavior.number)
        if spec["flow"] is not None and pots:
            raise UnsupportedError("a von Mises **potential gen_evp together with crystal potentials", path,
                                   spec.pop("_mises_line"))
        if pots:
            spec["potentials"] = pots
            for k in ("flow", "kinematic", "isotropic"):
                spec.pop(k)
            if integ.get("method") == "runge_kutta":
                integ.pop("hardening_theta", None)
        else:
            if integ.get("method") == "runge_kutta":
                raise UnsupportedError("*integration runge_kutta with a von Mises **potential gen_evp (romnet "
                                       "integrates that law by backward Euler; use theta_method_a)", path,
                                       spec.get("_integration_line"))
            if spec["isotropic"] is None:
                spec["isotropic"] = {"type": "constant", "R0": 0.0}
    spec.pop("_mises_line", None)
    spec.pop("_integration_line", None)
    if spec.get("orientation") is None:
        spec.pop("orientation", None)
    if spec["law"] == "elastic" and integ.get("method") == "runge_kutta":
        spec["integration"] = dict(DEFAULT_INTEGRATION)
    return spec


def _material_header(head, content, path, spec):
    if head.args:
        raise UnsupportedError(f"***material: unexpected '{' '.join(head.args)}'", path, head.number)
    for ln in content:
        if ln.keyword != "*integration":
            raise UnsupportedError(f"unsupported keyword '{ln.keyword}' in ***material", path, ln.number)
        spec["_integration_line"] = ln.number
        spec["integration"] = integration_spec(ln.args, path, ln.number)


def integration_spec(args, path, line) -> dict:
    """``spec["integration"]`` of a ``*integration`` line's arguments (material file header or
    a deck's ``***material`` block): ``theta_method_a theta tolerance max_iterations`` or
    ``runge_kutta tolerance [dtmin dt]``."""
    a = list(args)
    if a and a[0] == "runge_kutta":
        if len(a) not in (2, 4) or (len(a) == 4 and a[2] != "dtmin"):
            raise InputError("*integration runge_kutta: expected '<tolerance> [dtmin <dt>]'", path, line)
        tol = to_float(a[1], path, line, "tolerance")
        dtmin = to_float(a[3], path, line, "dtmin") if len(a) == 4 else RK_DEFAULT_DTMIN
        if not (tol > 0 and dtmin > 0):
            raise InputError("*integration runge_kutta: tolerance and dtmin must be > 0", path, line)
        return {"method": "runge_kutta", "tolerance": tol, "dtmin": dtmin}
    if not a or a[0] != "theta_method_a":
        got = a[0] if a else "nothing"
        raise UnsupportedError(f"*integration {got}: only theta_method_a and runge_kutta are supported", path,
                               line)
    if len(a) != 4:
        raise InputError("*integration theta_method_a: expected 'theta tolerance max_iterations'",
                         path, line)
    theta = to_float(a[1], path, line, "theta")
    if theta != 1.0:
        raise UnsupportedError(f"*integration theta_method_a: theta = {a[1]} (only 1. is supported)",
                               path, line)
    return {"theta": theta, "tolerance": to_float(a[2], path, line, "tolerance"),
            "max_iterations": to_int(a[3], path, line, "max iterations"),
            "hardening_theta": ZSET_HARDENING_THETA}


BEHAVIOR_OPTIONS = {"gen_evp": ("runge_jacobian",), "linear_elastic": ()}


def _behavior(head, content, path, spec):
    if not head.args or head.args[0] not in BEHAVIOR_OPTIONS:
        got = head.args[0] if head.args else "nothing"
        raise UnsupportedError(f"***behavior {got}: only gen_evp and linear_elastic are supported", path,
                               head.number)
    law = head.args[0]
    for opt in head.args[1:]:
        if opt not in BEHAVIOR_OPTIONS[law]:
            raise UnsupportedError(f"***behavior {law}: unsupported option '{opt}'", path, head.number)
    spec["law"] = "gen_evp" if law == "gen_evp" else "elastic"
    pre, blocks = split_blocks(content, 2)
    if pre:
        raise InputError(f"unexpected '{pre[0].keyword}' in ***behavior before any ** keyword", path,
                         pre[0].number)
    seen = set()
    for kw, body in blocks:
        name = kw.keyword[2:]
        ctx = kw.keyword
        if name == "potential":
            if law != "gen_evp":
                raise UnsupportedError(f"**potential in ***behavior {law}", path, kw.number)
            _potential(kw, body, path, spec)
            continue
        if name in seen:
            raise UnsupportedError(f"'{kw.keyword}' given twice", path, kw.number)
        seen.add(name)
        if name == "rotation":
            spec["orientation"] = _rotation(kw.args + [t for ln in body for t in ln.tokens], path, kw.number)
            continue
        sub = [ln for ln in body if ln.keyword.startswith("*")]
        if name == "elasticity" and sub and sub[0].keyword == "*rotation":
            k = body.index(sub[0])
            spec["orientation"] = _rotation(sub[0].args + [t for ln in body[k + 1:] for t in ln.tokens], path,
                                            sub[0].number)
            body = body[:k]
            sub = sub[1:]
        if sub:
            raise UnsupportedError(f"unsupported keyword '{sub[0].keyword}' in {ctx}", path, sub[0].number)
        if name == "coefficient":
            if kw.args:
                raise UnsupportedError(f"**coefficient: unexpected '{' '.join(kw.args)}'", path, kw.number)
            c = _take(_coefficients(body, path, ctx), ("masvol",), path, kw.number, ctx)
            if isinstance(c["masvol"], dict):
                v = c["masvol"]["value"]
                if max(v) != min(v):
                    raise UnsupportedError("temperature-dependent masvol", path, kw.number)
                c["masvol"] = v[0]
            spec["density"] = float(c["masvol"])
        elif name == "elasticity":
            kind = kw.args[0] if kw.args else "isotropic"
            if len(kw.args) > 1 or kind not in _ELASTICITY:
                raise UnsupportedError(f"**elasticity {' '.join(kw.args)}: supported: {' '.join(_ELASTICITY)}",
                                       path, kw.number)
            el = _take(_coefficients(body, path, ctx), _ELASTICITY[kind], path, kw.number, ctx)
            spec["elasticity"] = el if kind == "isotropic" else {"type": kind, **el}
        elif name == "thermal_strain":
            if kw.args != ["isotropic"]:
                raise UnsupportedError(f"**thermal_strain {' '.join(kw.args)}: only isotropic is supported",
                                       path, kw.number)
            c = _take(_coefficients(body, path, ctx), ("alpha", "ref_temperature"), path, kw.number, ctx)
            if isinstance(c["ref_temperature"], dict):
                raise InputError("ref_temperature must be a number", path, kw.number)
            spec["thermal_strain"] = {"alpha": c["alpha"], "ref_temperature": float(c["ref_temperature"])}
        else:
            raise UnsupportedError(f"unsupported keyword '{kw.keyword}' in ***behavior {law}", path, kw.number)


def _rotation(tokens, path, line):
    """Orientation spec of a Z-set rotation (:func:`.rotation.zset_rotation`: two material
    axes in global coordinates, or Bunge Euler angles in degrees, with or without 'euler')."""
    from romnet.errors import MaterialError
    from romnet.materials import Orientation
    from .rotation import zset_rotation
    R = zset_rotation(tokens, path, line)
    try:
        return Orientation.from_spec({"type": "matrix", "R": R.tolist()}).to_spec()
    except MaterialError as exc:
        raise InputError(f"rotation: {exc}", path, line) from None


def _interaction(head, rows, path, family):
    """List of interaction coefficients of '*interaction [slip]' (numbers or 'hN v' pairs)."""
    from romnet.materials.slip_systems import N_INTERACTION
    nmax = N_INTERACTION[family]
    if head.args and head.args != ["slip"]:
        raise UnsupportedError(f"*interaction {' '.join(head.args)}: only '*interaction [slip]' is supported",
                               path, head.number)
    toks = [(t, ln.number) for ln in rows for t in ln.tokens]
    if not toks:
        raise InputError("*interaction without coefficients", path, head.number)
    if all(_is_number(t) for t, _ in toks):
        h = [to_float(t, path, n, "interaction coefficient") for t, n in toks]
    else:
        h = [0.0] * nmax
        if len(toks) % 2:
            raise InputError("*interaction: expected 'h1 <value> h2 <value> ...'", path, head.number)
        seen = set()
        for k in range(0, len(toks), 2):
            name, n = toks[k]
            if not (name.startswith("h") and name[1:].isdigit() and 1 <= int(name[1:]) <= nmax) or name in seen:
                raise InputError(f"*interaction: '{name}' is not h1..h{nmax} of the {family} family (or given "
                                 "twice)", path, n)
            seen.add(name)
            h[int(name[1:]) - 1] = to_float(toks[k + 1][0], path, toks[k + 1][1], name)
    if len(h) > nmax:
        raise InputError(f"*interaction: {len(h)} coefficients, the {family} family has {nmax} (h1..h{nmax})",
                         path, head.number)
    return h


def _potential(kw, body, path, spec):
    a = kw.args
    kind = a[0] if a else ""
    if kind in CRYSTAL_FAMILIES:
        return _crystal_potential(kw, body, path, spec)
    if kind != "gen_evp":
        raise UnsupportedError(f"**potential {kind}: supported: gen_evp (von Mises), octahedral, cubic", path,
                               kw.number)
    if spec["flow"] is not None:
        raise UnsupportedError("a second **potential gen_evp (one von Mises potential per behavior)", path,
                               kw.number)
    spec["_mises_line"] = kw.number
    if len(a) > 2:
        raise UnsupportedError(f"**potential: unexpected '{' '.join(a[2:])}'", path, kw.number)
    pre, blocks = split_blocks(body, 1)
    if pre:
        raise InputError(f"unexpected '{pre[0].keyword}' in **potential", path, pre[0].number)
    seen = set()
    for head, rows in blocks:
        name = head.keyword[1:]
        ctx = f"{head.keyword} {' '.join(head.args)}".strip()
        if name in seen:
            raise UnsupportedError(f"'{head.keyword}' given twice in one **potential", path, head.number)
        seen.add(name)
        kind = head.args[0] if head.args else ""
        if len(head.args) > 1:
            raise UnsupportedError(f"{head.keyword} {kind}: unexpected '{' '.join(head.args[1:])}'", path,
                                   head.number)
        if name == "criterion":
            if kind != "mises" or rows:
                raise UnsupportedError(f"*criterion {kind}: only mises is supported", path, head.number)
            continue
        table = {"flow": _FLOW, "kinematic": _KINEMATIC, "isotropic": _ISOTROPIC}.get(name)
        if table is None:
            raise UnsupportedError(f"unsupported keyword '{head.keyword}' in **potential", path, head.number)
        if kind not in table:
            raise UnsupportedError(f"{head.keyword} {kind or '(none)'}: supported: {' '.join(table)}", path,
                                   head.number)
        coefs = _coefficients(rows, path, ctx) if rows else {}
        entry = {"type": kind}
        entry.update(_take(coefs, table[kind], path, head.number, ctx))
        spec[name] = entry
    if spec["flow"] is None:
        raise InputError("**potential gen_evp without *flow", path, kw.number)


def _crystal_potential(kw, body, path, spec):
    family = kw.args[0]
    if len(kw.args) > 2:
        raise UnsupportedError(f"**potential {family}: unexpected '{' '.join(kw.args[2:])}'", path, kw.number)
    pots = spec["potentials"]
    name = kw.args[1] if len(kw.args) > 1 else f"{family}{len(pots) + 1}"
    if any(p["name"] == name for p in pots):
        raise InputError(f"**potential {family} {name}: potential name '{name}' used twice", path, kw.number)
    pre, blocks = split_blocks(body, 1)
    if pre:
        raise InputError(f"unexpected '{' '.join(pre[0].tokens)}' in **potential {family} before any * keyword",
                         path, pre[0].number)
    entry = {"name": name, "type": "crystal", "family": family}
    tables = {"flow": _CRYSTAL_FLOW, "isotropic": _CRYSTAL_ISOTROPIC, "kinematic": _CRYSTAL_KINEMATIC}
    for head, rows in blocks:
        key = head.keyword[1:]
        ctx = f"{head.keyword} {' '.join(head.args)}".strip()
        if key in entry:
            raise UnsupportedError(f"'{head.keyword}' given twice in one **potential", path, head.number)
        if key == "interaction":
            entry["interaction"] = _interaction(head, rows, path, family)
            continue
        table = tables.get(key)
        if table is None:
            raise UnsupportedError(f"unsupported keyword '{head.keyword}' in **potential {family}", path,
                                   head.number)
        kind = head.args[0] if head.args else ""
        if kind not in table or len(head.args) > 1:
            raise UnsupportedError(f"{head.keyword} {' '.join(head.args) or '(none)'}: supported in a {family} "
                                   f"potential: {' '.join(table)}", path, head.number)
        coefs = _coefficients(rows, path, ctx) if rows else {}
        optional = ("m", "M") if (key, kind) == ("kinematic", "nonlinear") else ()
        c = _take(coefs, table[kind], path, head.number, ctx, optional=optional)
        if ("m" in c) != ("M" in c):
            raise InputError(f"{ctx}: static recovery needs both 'm' and 'M'", path, head.number)
        entry[key] = {"type": kind, **c}
    if "flow" not in entry:
        raise InputError(f"**potential {family} without *flow", path, kw.number)
    pots.append(entry)


def crystal_notes(spec) -> list:
    """Notes (for ``romnet info``) on the crystal conventions of a material description that
    romnet could not confirm against Z-set's documentation (docs/materials.md, "Sources and
    what is unconfirmed")."""
    notes = []
    pots = spec.get("potentials") or []
    if any((p.get("flow") or {}).get("type") == "hyperbolic" for p in pots):
        notes.append("crystal *flow hyperbolic read as (f/K)^n + eps0 sinh(f/Kinf): Z-set's formula not confirmed")
    fams = sorted({p.get("family") for p in pots if len(p.get("interaction") or []) > 1})
    if fams:
        notes.append(f"crystal *interaction coefficients of {', '.join(fams)} slip read in the code_aster/TFEL "
                     "order (octahedral: self, coplanar, Hirth, collinear, glissile, Lomer; cubic: self, same "
                     "plane, other planes): Z-set's order not confirmed")
    return notes
