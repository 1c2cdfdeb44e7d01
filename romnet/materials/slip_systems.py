"""Slip systems of cubic crystals in Z-set's numbering, Schmid tensors, interaction matrices.

Families (Z-set ``CRYSTAL_ORIENTATION`` types; plane normal ``n``, slip direction ``l``,
crystal axes = material frame):

* ``octahedral``: 12 FCC {111}<110> systems, Schmid–Boas names B4 B2 B5 D4 D1 D6 A2 A6 A3
  C5 C3 C1::

      (111)[-101] (111)[0-11] (111)[-110]  (1-11)[-101] (1-11)[011] (1-11)[110]
      (-111)[0-11] (-111)[110] (-111)[101] (11-1)[-110] (11-1)[101] (11-1)[011]

* ``cubic``: 6 {100}<110> systems::

      (001)[-110] (001)[110] (100)[011] (100)[0-11] (010)[-101] (010)[101]

Sources: Z-set materials manual, CRYSTAL_ORIENTATION page (the cubic list and the first
three octahedral systems, the rest of the page could not be read); pymicro
(``SlipSystem.get_slip_systems('oct'/'cube')``, Centre des Matériaux, same order and signs
for all 18); TFEL ``MetallicCFCSlidingSystems`` (same order, the C planes written
(-1-11) instead of (11-1), which flips the sign of the slip of systems 10-12 only).

Schmid tensor ``m = sym(n (x) l)`` with unit n and l (Z-set: ``m = 1/2 (n (x) l + l (x) n)``,
``tau = m : sigma``), returned as Mandel 6-vectors.

Interaction matrices ``h_rs`` (``*interaction`` coefficients h1, h2, ...): the coefficient
of a pair is chosen from the geometric relation of the two systems:

* octahedral (6 coefficients): h1 self, h2 coplanar, h3 Hirth lock (orthogonal Burgers
  vectors), h4 collinear (same Burgers vector, other plane), h5 glissile junction, h6 Lomer
  lock. This is the order of code_aster / TFEL's ``MetallicCFCGenericSlidingSystems
  InteractionMatrix`` (Franciosi's classification); the resulting 12x12 matrix equals TFEL's
  explicit one entry by entry (tests/test_crystal.py). That Z-set's h1..h6 follow the same
  classification is what the Méric–Cailletaud literature states, but Z-set's own matrix
  could not be read: unconfirmed.
* cubic (3 coefficients): h1 self, h2 same {100} plane, h3 other planes: unconfirmed
  (Z-set's manual says "up to 3 hardening coefficients" without the matrix).

Without ``*interaction`` Z-set takes h1 = 1 and the other coefficients 0 (manual).
"""
from __future__ import annotations

import numpy as np

from ..tensors import SQRT2

OCTAHEDRAL = (((1, 1, 1), (-1, 0, 1)), ((1, 1, 1), (0, -1, 1)), ((1, 1, 1), (-1, 1, 0)),
              ((1, -1, 1), (-1, 0, 1)), ((1, -1, 1), (0, 1, 1)), ((1, -1, 1), (1, 1, 0)),
              ((-1, 1, 1), (0, -1, 1)), ((-1, 1, 1), (1, 1, 0)), ((-1, 1, 1), (1, 0, 1)),
              ((1, 1, -1), (-1, 1, 0)), ((1, 1, -1), (1, 0, 1)), ((1, 1, -1), (0, 1, 1)))
OCTAHEDRAL_NAMES = ("B4", "B2", "B5", "D4", "D1", "D6", "A2", "A6", "A3", "C5", "C3", "C1")
CUBIC = (((0, 0, 1), (-1, 1, 0)), ((0, 0, 1), (1, 1, 0)), ((1, 0, 0), (0, 1, 1)),
         ((1, 0, 0), (0, -1, 1)), ((0, 1, 0), (-1, 0, 1)), ((0, 1, 0), (1, 0, 1)))

FAMILIES = {"octahedral": OCTAHEDRAL, "cubic": CUBIC}
#: number of interaction coefficients of each family
N_INTERACTION = {"octahedral": 6, "cubic": 3}


def systems(family: str):
    """(normals (N, 3), directions (N, 3)) unit vectors of a family."""
    s = FAMILIES[family]
    n = np.array([a for a, _ in s], dtype=float)
    d = np.array([b for _, b in s], dtype=float)
    return n / np.linalg.norm(n, axis=1)[:, None], d / np.linalg.norm(d, axis=1)[:, None]


def schmid_mandel(family: str) -> np.ndarray:
    """(N, 6) Mandel Schmid tensors sym(n (x) l): ``tau_s = M[s] @ sigma_mandel``."""
    n, d = systems(family)
    m = 0.5 * (n[:, :, None] * d[:, None, :] + d[:, :, None] * n[:, None, :])
    return np.stack([m[:, 0, 0], m[:, 1, 1], m[:, 2, 2], SQRT2 * m[:, 0, 1], SQRT2 * m[:, 1, 2],
                     SQRT2 * m[:, 0, 2]], axis=1)


def interaction_classes(family: str) -> np.ndarray:
    """(N, N) int: 0-based index of the interaction coefficient of each pair of systems."""
    n, d = systems(family)
    N = n.shape[0]
    out = np.zeros((N, N), dtype=int)
    for r in range(N):
        for s in range(N):
            if r == s:
                continue
            coplanar = abs(abs(n[r] @ n[s]) - 1.0) < 1e-12
            if family == "cubic":
                out[r, s] = 1 if coplanar else 2
                continue
            if coplanar:
                out[r, s] = 1
                continue
            dd = d[r] @ d[s]
            if abs(abs(dd) - 1.0) < 1e-12:
                out[r, s] = 3                                   # collinear
            elif abs(dd) < 1e-12:
                out[r, s] = 2                                   # Hirth
            else:
                # junction Burgers vector: the shorter of b_r +- b_s (same length as b)
                b = d[r] + d[s] if dd < 0 else d[r] - d[s]
                glissile = abs(b @ n[r]) < 1e-12 or abs(b @ n[s]) < 1e-12
                out[r, s] = 4 if glissile else 5                # glissile / Lomer
    return out


def interaction_matrix(family: str, h) -> np.ndarray:
    """(N, N) matrix of the coefficients ``h`` (list, missing trailing ones are 0)."""
    k = N_INTERACTION[family]
    h = list(h) + [0.0] * (k - len(h))
    return np.asarray(h, dtype=float)[interaction_classes(family)]
