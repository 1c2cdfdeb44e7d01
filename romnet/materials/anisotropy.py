"""Elasticity types and material orientation (Mandel 6x6 matrices, vectorized over points).

Elasticity types of a material description (``spec["elasticity"]``; every coefficient is a
``COEF``, constant or tabulated in temperature, see :mod:`.coefficients`):

* ``isotropic``: ``young``, ``poisson`` (``type`` may be omitted: today's spelling);
* ``cubic``: ``y1111``, ``y1122``, ``y1212`` (Z-set ``**elasticity cubic``): the tensor
  components C1111 = C2222 = C3333, C1122 = C1133 = C2233, C1212 = C2323 = C3131 in the
  material frame (C1212 is the tensor component, i.e. sigma12 = 2 C1212 eps12);
* ``orthotropic``: ``E1 E2 E3 nu12 nu13 nu23 G12 G13 G23`` (engineering constants,
  Abaqus/CalculiX ``*ELASTIC, TYPE=ENGINEERING CONSTANTS`` meaning: nu_ij = -eps_j/eps_i
  under uniaxial stress along i, nu_ji = nu_ij E_j / E_i);
* ``anisotropic``: 21 tensor components ``D1111 D1122 D2222 D1133 D2233 D3333 D1112 D2212
  D3312 D1212 D1113 D2213 D3313 D1213 D1313 D1123 D2223 D3323 D1223 D1323 D2323`` (the
  Abaqus/CalculiX ``*ELASTIC, TYPE=ANISO`` order).

All matrices are Mandel: a tensor component C_ijkl enters with factor sqrt2 per shear index
pair (``C_mandel[3,3] = 2 C1212``, ``C_mandel[0,3] = sqrt2 C1112``), so that
``sigma_mandel = C_mandel @ eps_mandel``. Mandel order 11 22 33 12 23 31.

Orientation (``spec["orientation"] = {"type": "matrix", "R": [[...], [...], [...]]}``):
row i of R is the unit vector of material axis i in global coordinates, so
``v_material = R v_global``. :func:`mandel_rotation` gives the 6x6 orthogonal Q with
``a_material = Q a_global`` for a symmetric tensor ``a`` in Mandel form.
"""
from __future__ import annotations

import numpy as np

from ..errors import MaterialError
from ..tensors import SQRT2
from .coefficients import parse_coefficient
from .elastic import IsotropicElasticity, isotropic_tensor

#: Mandel index of the pair (i, j), 0-based
_PAIR = {(0, 0): 0, (1, 1): 1, (2, 2): 2, (0, 1): 3, (1, 0): 3, (1, 2): 4, (2, 1): 4,
         (0, 2): 5, (2, 0): 5}
#: Mandel factor of each index (1 for normal, sqrt2 for shear)
_FAC = np.array([1.0, 1.0, 1.0, SQRT2, SQRT2, SQRT2])

ANISO_KEYS = ("D1111", "D1122", "D2222", "D1133", "D2233", "D3333", "D1112", "D2212", "D3312",
              "D1212", "D1113", "D2213", "D3313", "D1213", "D1313", "D1123", "D2223", "D3323",
              "D1223", "D1323", "D2323")
ORTHO_KEYS = ("E1", "E2", "E3", "nu12", "nu13", "nu23", "G12", "G13", "G23")
CUBIC_KEYS = ("y1111", "y1122", "y1212")


def _mandel_index(name: str):
    """'D1123' -> (0, 4): Mandel indices of the tensor component named by 4 digits."""
    d = [int(c) - 1 for c in name[-4:]]
    return _PAIR[(d[0], d[1])], _PAIR[(d[2], d[3])]


class AnisotropicElasticity:
    """Cubic, orthotropic or general anisotropic elasticity in the material frame."""

    kind = "anisotropic"

    def __init__(self, kind: str, coefs: dict):
        self.kind = kind
        self.coefs = coefs          # name -> Coefficient
        self.is_constant = all(c.is_constant for c in coefs.values())
        self._const = self._build({k: np.array([c(0.0)]) for k, c in coefs.items()})[0] \
            if self.is_constant else None

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_spec(cls, kind, spec, key="elasticity"):
        names = {"cubic": CUBIC_KEYS, "orthotropic": ORTHO_KEYS, "anisotropic": ANISO_KEYS}[kind]
        unknown = set(spec) - set(names) - {"type"}
        if unknown:
            raise MaterialError(f"{key}: unknown key(s) {sorted(unknown)} for type {kind!r} "
                                f"(expected {' '.join(names)})")
        missing = [k for k in names if k not in spec]
        if missing:
            raise MaterialError(f"{key}.{missing[0]}: missing (needed by type {kind!r})")
        coefs = {}
        for k in names:
            positive = kind == "orthotropic" and k[0] in "EG" or kind == "cubic" and k != "y1122" \
                or kind == "anisotropic" and k in ("D1111", "D2222", "D3333", "D1212", "D1313", "D2323")
            coefs[k] = parse_coefficient(spec[k], f"{key}.{k}", minimum=0.0 if positive else None,
                                         strict_minimum=positive)
        self = cls(kind, coefs)
        # positive definiteness at every tabulated temperature
        temps = sorted({float(t) for c in coefs.values() for t in c.temperatures})
        c = self.stiffness(np.array(temps))
        ev = np.linalg.eigvalsh(0.5 * (c + np.swapaxes(c, 1, 2)))
        bad = np.flatnonzero(ev[:, 0] <= 0)
        if bad.size:
            raise MaterialError(f"{key}: the {kind} stiffness is not positive definite at temperature "
                                f"{temps[bad[0]]:g} (smallest eigenvalue {ev[bad[0], 0]:g})")
        return self

    def _build(self, v: dict) -> np.ndarray:
        """(n, 6, 6) Mandel stiffness from coefficient arrays v[name] (n,)."""
        n = len(next(iter(v.values())))
        c = np.zeros((n, 6, 6))
        if self.kind == "cubic":
            for i in range(3):
                c[:, i, i] = v["y1111"]
                c[:, i + 3, i + 3] = 2.0 * v["y1212"]
                for j in range(3):
                    if i != j:
                        c[:, i, j] = v["y1122"]
        elif self.kind == "orthotropic":
            e = [v["E1"], v["E2"], v["E3"]]
            nu = {(0, 1): v["nu12"], (0, 2): v["nu13"], (1, 2): v["nu23"]}
            s = np.zeros((n, 6, 6))
            for i in range(3):
                s[:, i, i] = 1.0 / e[i]
            for (i, j), nij in nu.items():
                s[:, i, j] = s[:, j, i] = -nij / e[i]
            # Mandel compliance of the shears: eps_m = sqrt2 eps_ij = sqrt2 sigma_ij / (2 G)
            s[:, 3, 3] = 1.0 / (2.0 * v["G12"])
            s[:, 4, 4] = 1.0 / (2.0 * v["G23"])
            s[:, 5, 5] = 1.0 / (2.0 * v["G13"])
            c = np.linalg.inv(s)
        else:
            for name in ANISO_KEYS:
                a, b = _mandel_index(name)
                val = v[name] * _FAC[a] * _FAC[b]
                c[:, a, b] = val
                c[:, b, a] = val
        return c

    def stiffness(self, temperature) -> np.ndarray:
        """(n, 6, 6) Mandel stiffness at the temperatures (n,)."""
        temperature = np.atleast_1d(np.asarray(temperature, dtype=float))
        if self._const is not None:
            return np.broadcast_to(self._const, (temperature.size, 6, 6))
        v = {k: np.broadcast_to(np.asarray(c(temperature), dtype=float), temperature.shape)
             for k, c in self.coefs.items()}
        return self._build(v)

    def compliance(self, temperature) -> np.ndarray:
        """(n, 6, 6) Mandel compliance (inverse stiffness) at the temperatures (n,): closed form
        for cubic, the engineering-constant matrix for orthotropic, an inverse otherwise."""
        temperature = np.atleast_1d(np.asarray(temperature, dtype=float))
        if self.kind == "cubic":
            v = {k: np.broadcast_to(np.asarray(c(temperature), dtype=float), temperature.shape)
                 for k, c in self.coefs.items()}
            c11, c12 = v["y1111"], v["y1122"]
            det = (c11 - c12) * (c11 + 2.0 * c12)
            s = np.zeros((temperature.size, 6, 6))
            for i in range(3):
                s[:, i, i] = (c11 + c12) / det
                s[:, i + 3, i + 3] = 0.5 / v["y1212"]
                for j in range(3):
                    if i != j:
                        s[:, i, j] = -c12 / det
            return s
        return np.linalg.inv(self.stiffness(temperature))

    def to_spec(self):
        out = {"type": self.kind}
        out.update({k: c.to_spec() for k, c in self.coefs.items()})
        return out


class IsotropicStiffness:
    """Adapter giving :class:`IsotropicElasticity` the ``stiffness(T)`` interface."""

    kind = "isotropic"

    def __init__(self, iso: IsotropicElasticity):
        self.iso = iso
        self.is_constant = iso.young.is_constant and iso.poisson.is_constant

    def stiffness(self, temperature):
        temperature = np.atleast_1d(np.asarray(temperature, dtype=float))
        g, kappa = self.iso.moduli(temperature)
        return IsotropicElasticity.tangent(g, kappa, temperature.size)

    def compliance(self, temperature):
        """(n, 6, 6) Mandel compliance ``J / (3 kappa) + K / (2 G)``."""
        temperature = np.atleast_1d(np.asarray(temperature, dtype=float))
        g, kappa = self.iso.moduli(temperature)
        return isotropic_tensor(1.0 / (3.0 * np.asarray(kappa, dtype=float)), 1.0 / (2.0 * np.asarray(g, dtype=float)),
                                temperature.size)

    def to_spec(self):
        return {"type": "isotropic", **self.iso.to_spec()}


def parse_elasticity(spec, key="elasticity"):
    """IsotropicElasticity (isotropic, with or without ``type``) or AnisotropicElasticity."""
    if not isinstance(spec, dict):
        raise MaterialError(f"{key}: expected a dict, got {spec!r}")
    kind = spec.get("type", "isotropic")
    if kind == "isotropic":
        return IsotropicElasticity.from_spec({k: v for k, v in spec.items() if k != "type"}, key)
    if kind not in ("cubic", "orthotropic", "anisotropic"):
        raise MaterialError(f"{key}.type {kind!r} unsupported (supported: isotropic, cubic, orthotropic, "
                            "anisotropic)")
    return AnisotropicElasticity.from_spec(kind, spec, key)


def stiffness_provider(elasticity):
    """An object with ``stiffness(T) -> (n, 6, 6)`` for any elasticity type."""
    if isinstance(elasticity, IsotropicElasticity):
        return IsotropicStiffness(elasticity)
    return elasticity


# ------------------------------------------------------------------------- orientation
def mandel_rotation(R) -> np.ndarray:
    """6x6 Q with ``a_mandel' = Q a_mandel`` for ``a' = R a R^T`` (R a 3x3 rotation).

    Q is orthogonal when R is; the stiffness transforms as ``C' = Q C Q^T``.
    """
    R = np.asarray(R, dtype=float)
    idx = [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2)]
    Q = np.empty((6, 6))
    for I, (i, j) in enumerate(idx):
        for J, (k, l) in enumerate(idx):
            if J < 3:
                v = R[i, k] * R[j, l]
            else:
                v = R[i, k] * R[j, l] + R[i, l] * R[j, k]
            Q[I, J] = v * _FAC[I] / _FAC[J]
    return Q


def euler_bunge_matrix(phi1, Phi, phi2, degrees=True):
    """Rotation R (rows: crystal axes in global coordinates) of Bunge Euler angles (Z X Z)."""
    a = np.radians([phi1, Phi, phi2]) if degrees else np.array([phi1, Phi, phi2], dtype=float)
    c1, c, c2 = np.cos(a)
    s1, s, s2 = np.sin(a)
    return np.array([[c1 * c2 - s1 * s2 * c, s1 * c2 + c1 * s2 * c, s2 * s],
                     [-c1 * s2 - s1 * c2 * c, -s1 * s2 + c1 * c2 * c, c2 * s],
                     [s1 * s, -c1 * s, c]])


class Orientation:
    """Material frame of a law: ``R`` (3x3, rows = material axes in global coordinates)."""

    def __init__(self, R):
        self.R = np.asarray(R, dtype=float)
        self.Q = mandel_rotation(self.R)
        self.is_identity = bool(np.allclose(self.R, np.eye(3), rtol=0, atol=1e-15))

    @classmethod
    def from_spec(cls, spec, key="orientation"):
        if spec is None:
            return None
        if not isinstance(spec, dict):
            raise MaterialError(f"{key}: expected a dict, got {spec!r}")
        unknown = set(spec) - {"type", "R"}
        if unknown:
            raise MaterialError(f"{key}: unknown key(s) {sorted(unknown)}")
        if spec.get("type") != "matrix":
            raise MaterialError(f"{key}.type {spec.get('type')!r} unsupported (supported: matrix)")
        try:
            R = np.array(spec.get("R"), dtype=float)
        except (TypeError, ValueError):
            raise MaterialError(f"{key}.R: expected a 3x3 list of numbers, got {spec.get('R')!r}") from None
        if R.shape != (3, 3) or not np.all(np.isfinite(R)):
            raise MaterialError(f"{key}.R: expected a 3x3 matrix of finite numbers, got shape {R.shape}")
        err = np.abs(R @ R.T - np.eye(3)).max()
        if err > 1e-6:
            raise MaterialError(f"{key}.R: rows are not orthonormal (|R R^T - I| = {err:.3g}; each row is a "
                                "unit material axis in global coordinates)")
        det = np.linalg.det(R)
        if det < 0:
            raise MaterialError(f"{key}.R: left-handed frame (det R = {det:.6g}); give a rotation (det = +1)")
        return cls(R)

    def to_spec(self):
        return {"type": "matrix", "R": self.R.tolist()}

    # tensors are (n, 6) Mandel; 4th order (n, 6, 6)
    def to_material(self, a):
        return a @ self.Q.T

    def to_global(self, a):
        return a @ self.Q

    def tangent_to_global(self, c):
        return np.einsum("ki,nkl,lj->nij", self.Q, c, self.Q, optimize=True)


__all__ = ["AnisotropicElasticity", "IsotropicStiffness", "parse_elasticity", "stiffness_provider",
           "mandel_rotation", "euler_bunge_matrix", "Orientation", "isotropic_tensor"]
