"""Hourglass control of the uniform-strain (one-point) elements c3d8r, cpe4r, cps4r, cax4r.

Flanagan & Belytschko, "A uniform strain hexahedron and quadrilateral with orthogonal
hourglass control", IJNME 17 (1981) 679-706, as CalculiX 2.20 implements it for C3D8R
(``shape8hr.f``, ``hgstiffness.f``, ``hgforce.f``; reproduced exactly in 3D):

* hourglass base vectors ``h_m`` (n_en,), m = 1..4 in 3D (1 in 2D: ``(1, -1, 1, -1)``);
* gamma vectors ``gamma_m = h_m - Bbar (X^T h_m)`` (n_en,), with ``Bbar`` (n_en, dim) the
  volume-averaged gradient operator of the element and ``X`` (n_en, dim) its nodes. In 3D
  CalculiX 2.20 keeps only the last coordinate's term, ``gamma_m = h_m - Bbar[:, z]
  (z^T h_m)`` (its loop in ``shape8hr.f`` resets ``gs`` for each coordinate): romnet does
  the same for c3d8r, so that CalculiX' results are reproduced (the hourglass forces then
  do not vanish exactly for every linear field: CalculiX' C3D8R does not pass the patch
  test on distorted meshes either); 2D types use the complete formula;
* ``a = 0.0005 V sum_{a,i} Bbar_ai^2`` [L] (CalculiX: 0.0005 sum (dV/dx_ai)^2 / V);
* stiffness ``K = c a sum_m gamma_m gamma_m^T (x) I_dim``, force ``f = K u_e``, with ``c``
  the material's elastic modulus at the element temperature: Young's modulus E for an
  isotropic law, C1111 otherwise (CalculiX ``elas(1)``; see :func:`hourglass_modulus`).

The matrices are linear in the displacement: with a constant ``c`` the reduced operator
``Phi^T K Phi`` is exact (offline/online). In 2D the same construction is used with the
plane/axisymmetric volume ``V`` (thickness, 2 pi r): Abaqus' own hourglass control of
CPE4R/CPS4R/CAX4R/C3D8R is not documented in a reproducible form, so decks of those types
from Abaqus get a note on import (see ``docs/conventions.md``).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["HOURGLASS_VECTORS", "hourglass_matrices", "hourglass_modulus"]

#: hourglass base vectors per reference family, (n_en, n_modes) (CalculiX shape8hr ``gb``)
HOURGLASS_VECTORS = {
    "hex": np.array([[1, 1, 1, -1], [1, -1, -1, 1], [-1, -1, 1, -1], [-1, 1, -1, 1],
                     [-1, -1, 1, 1], [-1, 1, -1, -1], [1, 1, 1, 1], [1, -1, -1, -1]], dtype=float),
    "quad": np.array([[1.0], [-1.0], [1.0], [-1.0]]),
}
#: CalculiX' hourglass stiffness factor (shape8hr: "in ABAQUS, a 0.005 is used")
HOURGLASS_FACTOR = 0.0005


def hourglass_matrices(kernel) -> np.ndarray:
    """(n_el, nd, nd) hourglass stiffness per unit modulus ``a sum_m gamma_m gamma_m^T (x) I``
    [L] of a mean-strain :class:`~romnet.fe.kernel.ElementKernel` (DOFs in
    ``element_dofs`` order, node-major)."""
    et = kernel.etype
    if not (kernel.mean_strain and et.hourglass == "flanagan_belytschko"):
        raise InputError(f"'{et.name}' elements have no hourglass control")
    H = HOURGLASS_VECTORS[et.family]                                   # (a, m)
    X = kernel.coordinates[kernel.connectivity]                         # (e, a, d)
    Bbar = kernel.dN_dx[:, 0]                                           # (e, a, d)
    V = kernel.dV[:, 0]
    if kernel.dim == 3:  # CalculiX 2.20 shape8hr: only the z term survives its loop
        gamma = H[None] - np.einsum("ea,eb,bm->eam", Bbar[:, :, 2], X[:, :, 2], H, optimize=True)
    else:
        gamma = H[None] - np.einsum("ead,ebd,bm->eam", Bbar, X, H, optimize=True)
    a = HOURGLASS_FACTOR * V * np.einsum("ead,ead->e", Bbar, Bbar)
    G = a[:, None, None] * np.einsum("eam,ebm->eab", gamma, gamma, optimize=True)  # (e, a, b)
    d = kernel.dim
    K = G[:, :, None, :, None] * np.eye(d)[None, None, :, None, :]      # (e, a, i, b, j)
    n = kernel.n_en * d
    return K.reshape(kernel.n_elements, n, n)


def hourglass_modulus(law, temperature) -> np.ndarray:
    """(n,) modulus ``c`` scaling the hourglass stiffness at the given temperatures (n,):
    Young's modulus for laws with isotropic elasticity (CalculiX ``elas(1)`` = E), the
    C1111 component of the elastic stiffness otherwise (``elas(1)`` of an orthotropic or
    anisotropic material), taken from the law's tangent at its stress-free strain."""
    T = np.atleast_1d(np.asarray(temperature, dtype=float))
    el = getattr(law, "elasticity", None)
    young = getattr(el, "young", None)
    if young is not None and hasattr(el, "poisson"):
        return np.broadcast_to(np.asarray(young(T), dtype=float), T.shape).copy()
    r = law.integrate(law.stress_free_strain(T), T, 0.0, law.initial_state(T.size), tangent=True)
    return np.asarray(r.tangent[:, 0, 0], dtype=float)
