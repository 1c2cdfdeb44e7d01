"""Materials of a keyword deck -> romnet material descriptions (``docs/materials.md``).

* ``*ELASTIC``: ``TYPE=ISO`` (E, nu[, T]) -> isotropic ``elasticity``;
  ``TYPE=ENGINEERING CONSTANTS`` (E1 E2 E3 nu12 nu13 nu23 G12 G13 G23[, T]) ->
  ``{"type": "orthotropic", ...}``; ``TYPE=ORTHO`` (D1111 D1122 D2222 D1133 D2233 D3333
  D1212 D1313 D2323[, T]) and ``TYPE=ANISO`` (the 21 D of the Abaqus/CalculiX order) ->
  ``{"type": "anisotropic", D1111, ...}`` (ORTHO: the other components 0). Records span
  lines of 8 values as in both codes. Temperature columns become COEF tables.
* ``*PLASTIC`` (isotropic hardening: 1 point per temperature -> constant R0, 2 or collinear
  points -> linear R0 + H p; ``HARDENING=KINEMATIC`` 2 points -> linear kinematic C = H),
  ``*CREEP, LAW=NORTON`` (eps_dot = A q^n t^m, m = 0 -> Norton K = A^(-1/n)),
  ``*EXPANSION`` (isotropic; ``ZERO=`` reference temperature), ``*DENSITY``.
* ``*ORIENTATION, SYSTEM=RECTANGULAR`` (points a on the local x axis and b in the local
  x-y plane) -> ``{"type": "matrix", "R": rows = local axes in global coordinates}``, put
  on the material of a ``*SOLID SECTION, ORIENTATION=``; dropped (exactly) for isotropic
  materials. Cylindrical orientations vary within elements: refused.
"""
from __future__ import annotations

import numpy as np

from romnet.errors import UnsupportedError

from .numeric import to_float

ORTHO_KEYS = ["D1111", "D1122", "D2222", "D1133", "D2233", "D3333", "D1212", "D1313", "D2323"]
ANISO_KEYS = ["D1111", "D1122", "D2222", "D1133", "D2233", "D3333", "D1112", "D2212", "D3312", "D1212",
              "D1113", "D2213", "D3313", "D1213", "D1313", "D1123", "D2223", "D3323", "D1223", "D1323",
              "D2323"]
ENGINEERING_KEYS = ["E1", "E2", "E3", "nu12", "nu13", "nu23", "G12", "G13", "G23"]
ELASTIC_TYPES = {"ISO": None, "ISOTROPIC": None, "ENGINEERING CONSTANTS": ENGINEERING_KEYS,
                 "ORTHO": ORTHO_KEYS, "ORTHOTROPIC": ORTHO_KEYS, "ANISO": ANISO_KEYS,
                 "ANISOTROPIC": ANISO_KEYS}


def records(kw, n_values, what):
    """Data records of ``n_values`` numbers + an optional temperature, spread over lines of
    at most 8 values (a full line of 8 continues the record): [(first line, [v..., T])]
    with T = 0 when absent."""
    out, cur, first = [], [], None
    for ln, toks in kw.data:
        toks = [t for t in toks if t != ""]
        if first is None:
            first = ln
        cur += [to_float(t, kw.path, ln, what) for t in toks]
        if len(cur) > n_values + 1:
            raise kw.error(f"{what}: expected {n_values}[+1] values, got {len(cur)}", ln)
        if len(toks) < 8 or len(cur) == n_values + 1:
            if len(cur) < n_values:
                raise kw.error(f"{what}: expected {n_values}[+1] values, got {len(cur)}", ln)
            out.append((first, cur + [0.0] * (n_values + 1 - len(cur))))
            cur, first = [], None
    if cur:
        raise kw.error(f"{what}: incomplete record ({len(cur)} of {n_values} values)", first)
    if not out:
        raise kw.error(f"{what}: no data line")
    return out


def orientation(kw) -> dict:
    """``*ORIENTATION`` -> {"type": "matrix", "R": [[...], [...], [...]]} (rows: local axes)."""
    system = kw.param("SYSTEM", "RECTANGULAR")
    if system not in ("RECTANGULAR", "R"):
        raise kw.error(f"SYSTEM={system}: the local axes vary within the elements; only rectangular "
                       "orientations are supported", cls=UnsupportedError)
    if kw.param("DEFINITION", "COORDINATES") != "COORDINATES":
        raise kw.error(f"DEFINITION={kw.params['DEFINITION']} not supported (COORDINATES)", cls=UnsupportedError)
    ln, v = two_points(kw, "orientation")
    for ln2, t2 in kw.data[1:]:
        t2 = [t for t in t2 if t != ""]
        if len(t2) >= 2 and to_float(t2[1], kw.path, ln2, "angle") != 0.0:
            raise kw.error("an additional rotation (second data line) is not supported", ln2, UnsupportedError)
    try:
        R = rectangular_axes(v[:3], v[3:])
    except ValueError as exc:
        raise kw.error(str(exc), ln) from None
    return {"type": "matrix", "R": R.tolist()}


def two_points(kw, what):
    """(line, (6,) array) of the first data line 'ax, ay, az, bx, by, bz' (``*ORIENTATION``,
    ``*TRANSFORM``)."""
    if not kw.data:
        raise kw.error("expected 'ax, ay, az, bx, by, bz'")
    ln, toks = kw.data[0]
    toks = [t for t in toks if t != ""]
    if len(toks) < 6:
        raise kw.error(f"expected 'ax, ay, az, bx, by, bz', got {len(toks)} values", ln)
    return ln, np.array([to_float(t, kw.path, ln, what) for t in toks[:6]])


def rectangular_axes(a, b) -> np.ndarray:
    """(3, 3) rows e1, e2, e3: e1 along a, e2 the part of b normal to e1, e3 = e1 x e2
    (CalculiX / Abaqus rectangular systems of ``*ORIENTATION`` and ``*TRANSFORM``)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    na = np.linalg.norm(a)
    if not na > 0:
        raise ValueError("point a is at the origin: no local x axis")
    e1 = a / na
    e2 = b - (b @ e1) * e1
    n2 = np.linalg.norm(e2)
    if not n2 > 1e-12 * max(np.linalg.norm(b), 1.0):
        raise ValueError("point b is on the local x axis: no local x-y plane")
    e2 = e2 / n2
    return np.array([e1, e2, np.cross(e1, e2)])


def table_coef(rows, kw, col, what):
    """COEF from data rows [(line, [v..., T])]: number or {'temperature','value'} table."""
    vals, temps = [], []
    for ln, v in rows:
        vals.append(v[col])
        temps.append(v[-1])
    if len(rows) == 1 or len(set(vals)) == 1:
        return float(vals[0])
    t = np.array(temps)
    if np.any(np.diff(t) <= 0):
        raise kw.error(f"{what}: temperatures must be strictly increasing, got {temps}", rows[0][0])
    return {"temperature": [float(x) for x in t], "value": [float(x) for x in vals]}


def data_rows(kw, n_values, what, min_values=1):
    """Data rows as floats, padded with 0 up to n_values + 1 (temperature last)."""
    out = []
    for ln, toks in kw.data:
        toks = [t for t in toks if t != ""]
        if not min_values <= len(toks) <= n_values + 1:
            raise kw.error(f"{what}: expected {min_values}..{n_values + 1} values, got {len(toks)}", ln)
        v = [to_float(t, kw.path, ln, what) for t in toks]
        v += [0.0] * (n_values + 1 - len(v))
        out.append((ln, v))
    if not out:
        raise kw.error(f"{what}: no data line")
    return out


class Material:
    def __init__(self, kw):
        self.kw = kw
        self.name = kw.param("NAME", required=True)
        self.parts = {}

    def add(self, kw):
        if kw.name in self.parts:
            raise kw.error(f"defined twice in material {self.name}")
        self.parts[kw.name] = kw

    @property
    def isotropic(self) -> bool:
        el = self.parts.get("ELASTIC")
        return el is None or ELASTIC_TYPES.get(el.param("TYPE", "ISO"), 0) is None

    def spec(self) -> dict:
        kw0 = self.kw
        if "ELASTIC" not in self.parts:
            raise kw0.error(f"material {self.name} has no *ELASTIC", cls=UnsupportedError)
        el = self.parts["ELASTIC"]
        etype = el.param("TYPE", "ISO")
        if etype not in ELASTIC_TYPES:
            raise el.error(f"TYPE={etype} not supported (ISO, ENGINEERING CONSTANTS, ORTHO, ANISO)",
                           cls=UnsupportedError)
        keys = ELASTIC_TYPES[etype]
        if keys is None:
            rws = data_rows(el, 2, "*ELASTIC E, nu[, T]", 2)
            elasticity = {"young": table_coef(rws, el, 0, "E"), "poisson": table_coef(rws, el, 1, "nu")}
        else:
            rws = records(el, len(keys), f"*ELASTIC, TYPE={etype}")
            elasticity = {"type": "orthotropic" if keys is ENGINEERING_KEYS else "anisotropic"}
            vals = {k: table_coef(rws, el, i, k) for i, k in enumerate(keys)}
            if keys is ORTHO_KEYS:
                vals = {k: vals.get(k, 0.0) for k in ANISO_KEYS}
            elasticity.update(vals)
        spec = {"law": "elastic", "name": self.name, "source": kw0.where(),
                "density": None, "elasticity": elasticity}
        if "DENSITY" in self.parts:
            d = self.parts["DENSITY"]
            drows = data_rows(d, 1, "*DENSITY rho[, T]")
            dens = {v[0] for _, v in drows}
            if len(dens) != 1:
                raise d.error("temperature-dependent density not supported", cls=UnsupportedError)
            spec["density"] = float(dens.pop())
        if "EXPANSION" in self.parts:
            e = self.parts["EXPANSION"]
            if e.param("TYPE", "ISO") not in ("ISO", "ISOTROPIC"):
                raise e.error(f"TYPE={e.params['TYPE']} not supported (isotropic only)", cls=UnsupportedError)
            zero = to_float(e.param("ZERO", "0"), e.path, e.line, "ZERO")
            erows = data_rows(e, 1, "*EXPANSION alpha[, T]")
            spec["thermal_strain"] = {"alpha": table_coef(erows, e, 0, "alpha"), "ref_temperature": zero}
        plastic = self.parts.get("PLASTIC")
        creep = self.parts.get("CREEP")
        if plastic is not None and creep is not None:
            raise creep.error("*CREEP combined with *PLASTIC is not supported", cls=UnsupportedError)
        if plastic is not None:
            spec.update(law="gen_evp", flow={"type": "plasticity"}, kinematic=None)
            iso, kin = hardening(plastic)
            spec["isotropic"] = iso
            spec["kinematic"] = kin
        if creep is not None:
            law = creep.param("LAW", "NORTON")
            if law not in ("NORTON", "TIME", "STRAIN"):
                raise creep.error(f"LAW={law} not supported (NORTON)", cls=UnsupportedError)
            crows = data_rows(creep, 3, "*CREEP A, n, m[, T]", 2)
            for ln, v in crows:
                if v[2] != 0.0:
                    raise creep.error(f"time exponent m = {v[2]:g} not supported (m = 0 only)", ln,
                                      UnsupportedError)
                if v[0] <= 0 or v[1] < 1:
                    raise creep.error(f"A must be > 0 and n >= 1, got A = {v[0]:g}, n = {v[1]:g}", ln)
            krows = [(ln, [v[0] ** (-1.0 / v[1]), v[1], v[3]]) for ln, v in crows]
            spec.update(law="gen_evp", flow={"type": "norton", "K": table_coef(krows, creep, 0, "K"),
                                             "n": table_coef(krows, creep, 1, "n")},
                        kinematic=None, isotropic=None)
        return spec


def hardening(kw):
    hard = kw.param("HARDENING", "ISOTROPIC")
    if hard not in ("ISOTROPIC", "KINEMATIC"):
        raise kw.error(f"HARDENING={hard} not supported (ISOTROPIC, KINEMATIC)", cls=UnsupportedError)
    rows = data_rows(kw, 2, "*PLASTIC stress, plastic strain[, T]")
    by_t = {}
    for ln, (s, e, t) in rows:
        by_t.setdefault(t, []).append((ln, s, e))
    temps = list(by_t)
    if any(b <= a for a, b in zip(temps, temps[1:])):
        raise kw.error("temperatures must be increasing", rows[0][0])
    r0, h = [], []
    for t, pts in by_t.items():
        ln = pts[0][0]
        if pts[0][2] != 0.0:
            raise kw.error(f"first plastic strain at T = {t:g} must be 0, got {pts[0][2]:g}", ln)
        if len(pts) == 1:
            r0.append(pts[0][1])
            h.append(0.0)
            continue
        s = np.array([p[1] for p in pts])
        e = np.array([p[2] for p in pts])
        if np.any(np.diff(e) <= 0):
            raise kw.error(f"plastic strains at T = {t:g} must be increasing", ln)
        slope = (s[1] - s[0]) / (e[1] - e[0])
        if len(pts) > 2 and not np.allclose(s, s[0] + slope * e, rtol=1e-9, atol=1e-12 * abs(s).max()):
            raise kw.error(f"multilinear hardening curve at T = {t:g} ({len(pts)} points, not collinear) "
                           "not supported (romnet: constant, linear or Voce hardening)", ln, UnsupportedError)
        r0.append(s[0])
        h.append(slope)
    line = rows[0][0]
    def coef(vals, what):
        return table_coef([(line, [v, t]) for v, t in zip(vals, temps)], kw, 0, what)
    if any(x < 0 for x in h):
        raise kw.error("softening (decreasing yield stress) not supported", line, UnsupportedError)
    if hard == "KINEMATIC":
        if all(x == 0 for x in h):
            return {"type": "constant", "R0": coef(r0, "R0")}, None
        return {"type": "constant", "R0": coef(r0, "R0")}, {"type": "linear", "C": coef(h, "C")}
    if all(x == 0 for x in h):
        return {"type": "constant", "R0": coef(r0, "R0")}, None
    return {"type": "linear", "R0": coef(r0, "R0"), "H": coef(h, "H")}, None


