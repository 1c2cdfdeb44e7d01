"""Z-set material files -> romnet material spec dicts.

Supported subset (anything else: UnsupportedError naming the keyword and the line)::

    ***material
       *integration theta_method_a 1. 1.e-9 200      (theta must be 1)
    ***behavior gen_evp | linear_elastic
     **coefficient        masvol <COEF>
     **elasticity [isotropic]   young <COEF>  poisson <COEF>
     **thermal_strain isotropic  alpha <COEF>  ref_temperature <value>
     **potential gen_evp [<name>]                  (gen_evp only, one potential)
       *criterion mises
       *flow norton  K <COEF> n <COEF>  |  *flow plasticity
       *kinematic nonlinear C <COEF> D <COEF>  |  *kinematic linear C <COEF>
       *isotropic constant R0 | linear R0 H | nonlinear R0 Q b
    ***return

``<COEF>`` is a number, or ``temperature`` followed by lines ``value T`` (value first,
temperature second, as in the shared ``mat`` files), giving
``{"temperature": [T...], "value": [v...]}``. Spec format (see romnet.materials)::

    {"law": "elastic" | "gen_evp", "density": float | None,
     "elasticity": {"young": COEF, "poisson": COEF},
     "thermal_strain": {"alpha": COEF, "ref_temperature": float} | None,
     "flow": {"type": "norton", "K", "n"} | {"type": "plasticity"} | None,
     "kinematic": None | {"type": "nonlinear", "C", "D"} | {"type": "linear", "C"},
     "isotropic": {"type": "constant", "R0"} | {"type": "linear", "R0", "H"}
                  | {"type": "nonlinear", "R0", "Q", "b"} | None,
     "integration": {"theta": 1.0, "tolerance": float, "max_iterations": int,
                     "hardening_theta": 0.999}}

Defaults: no ``*integration`` -> theta 1, tolerance 1e-9, 200 iterations; gen_evp without
``*isotropic`` -> constant R0 = 0; ``*criterion`` absent -> mises. ``linear_elastic`` gives
law "elastic" with flow/kinematic/isotropic None.
"""
from __future__ import annotations

from pathlib import Path

from romnet.errors import InputError, UnsupportedError

from .tokens import read_lines, split_blocks, to_float, to_int

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


def _take(coefs: dict, names, path, line, context: str) -> dict:
    unknown = [k for k in coefs if k not in names]
    if unknown:
        k = unknown[0]
        raise UnsupportedError(f"{context}: unknown coefficient '{k}' (expected {' '.join(names) or 'none'})",
                               path, coefs[k][1])
    missing = [k for k in names if k not in coefs]
    if missing:
        raise InputError(f"{context}: missing coefficient '{missing[0]}'", path, line)
    return {k: coefs[k][0] for k in names}


def read_material(path) -> dict:
    """Parse a Z-set material file into a romnet material spec dict."""
    path = Path(path)
    lines = read_lines(path, "material file")
    spec = {"law": None, "density": None, "elasticity": None, "thermal_strain": None,
            "flow": None, "kinematic": None, "isotropic": None,
            "integration": dict(DEFAULT_INTEGRATION)}
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
    if spec["law"] == "gen_evp":
        if spec["flow"] is None:
            raise InputError("gen_evp behavior without **potential", path, behavior.number)
        if spec["isotropic"] is None:
            spec["isotropic"] = {"type": "constant", "R0": 0.0}
    return spec


def _material_header(head, content, path, spec):
    if head.args:
        raise UnsupportedError(f"***material: unexpected '{' '.join(head.args)}'", path, head.number)
    for ln in content:
        if ln.keyword != "*integration":
            raise UnsupportedError(f"unsupported keyword '{ln.keyword}' in ***material", path, ln.number)
        spec["integration"] = integration_spec(ln.args, path, ln.number)


def integration_spec(args, path, line) -> dict:
    """``spec["integration"]`` of a ``*integration`` line's arguments (material file header or
    a deck's ``***material`` block)."""
    a = list(args)
    if not a or a[0] != "theta_method_a":
        got = a[0] if a else "nothing"
        raise UnsupportedError(f"*integration {got}: only theta_method_a is supported", path, line)
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


def _behavior(head, content, path, spec):
    if not head.args or head.args[0] not in ("gen_evp", "linear_elastic"):
        got = head.args[0] if head.args else "nothing"
        raise UnsupportedError(f"***behavior {got}: only gen_evp and linear_elastic are supported", path,
                               head.number)
    if len(head.args) > 1:
        raise UnsupportedError(f"***behavior {head.args[0]}: unsupported option '{head.args[1]}'", path,
                               head.number)
    law = head.args[0]
    spec["law"] = "gen_evp" if law == "gen_evp" else "elastic"
    pre, blocks = split_blocks(content, 2)
    if pre:
        raise InputError(f"unexpected '{pre[0].keyword}' in ***behavior before any ** keyword", path,
                         pre[0].number)
    seen = set()
    for kw, body in blocks:
        name = kw.keyword[2:]
        ctx = kw.keyword
        if name in seen:
            raise UnsupportedError(f"'{kw.keyword}' given twice", path, kw.number)
        seen.add(name)
        if name == "potential":
            if law != "gen_evp":
                raise UnsupportedError(f"**potential in ***behavior {law}", path, kw.number)
            _potential(kw, body, path, spec)
            continue
        sub = [ln for ln in body if ln.keyword.startswith("*")]
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
            if kw.args and kw.args != ["isotropic"]:
                raise UnsupportedError(f"**elasticity {' '.join(kw.args)}: only isotropic is supported",
                                       path, kw.number)
            spec["elasticity"] = _take(_coefficients(body, path, ctx), ("young", "poisson"), path,
                                       kw.number, ctx)
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


def _potential(kw, body, path, spec):
    a = kw.args
    if not a or a[0] != "gen_evp":
        raise UnsupportedError(f"**potential {a[0] if a else ''}: only gen_evp is supported", path, kw.number)
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
