"""Symmetric second-order tensor conventions.

Component order everywhere in romnet: ``11, 22, 33, 12, 23, 31`` (Z-set order).

Two representations of a symmetric tensor as a 6-vector are used:

* **storage (tensorial Voigt)**: ``[e11, e22, e33, e12, e23, e31]``, shear components are
  the tensor components (eps_12, not gamma_12 = 2 eps_12). Fields in the case store,
  imported results and exported files use this form, for strain and stress alike.
* **Mandel** (kernel and laws): ``[e11, e22, e33, sqrt2 e12, sqrt2 e23, sqrt2 e31]``.
  The scalar product of two Mandel vectors is the double contraction ``a:b`` and fourth
  order tensors become symmetric 6x6 matrices. The B operator of :mod:`romnet.fe`
  returns Mandel strains and the laws of :mod:`romnet.materials` take and return Mandel
  strains, stresses and tangents.
"""
from __future__ import annotations

import numpy as np

SQRT2 = np.sqrt(2.0)
COMPONENTS = ("11", "22", "33", "12", "23", "31")
#: per-component factor: mandel = storage * MANDEL_FACTOR
MANDEL_FACTOR = np.array([1.0, 1.0, 1.0, SQRT2, SQRT2, SQRT2])


def storage_to_mandel(a):
    """(..., 6) tensorial Voigt -> (..., 6) Mandel."""
    return np.asarray(a) * MANDEL_FACTOR


def mandel_to_storage(a):
    """(..., 6) Mandel -> (..., 6) tensorial Voigt."""
    return np.asarray(a) / MANDEL_FACTOR


#: Mandel identity (second-order) and deviatoric projector (6x6)
IDENTITY2 = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
DEV_PROJECTOR = np.eye(6) - np.outer(IDENTITY2, IDENTITY2) / 3.0


def trace(a):
    """Trace of (..., 6) Mandel or storage tensors."""
    a = np.asarray(a)
    return a[..., 0] + a[..., 1] + a[..., 2]


def deviator(a):
    """Deviatoric part of (..., 6) Mandel tensors."""
    a = np.array(a, dtype=float, copy=True)
    m = trace(a) / 3.0
    a[..., :3] -= m[..., None]
    return a


def von_mises(a_mandel):
    """Von Mises equivalent ``sqrt(3/2 s:s)`` of (..., 6) Mandel stresses."""
    s = deviator(a_mandel)
    return np.sqrt(1.5 * np.einsum("...i,...i->...", s, s))
