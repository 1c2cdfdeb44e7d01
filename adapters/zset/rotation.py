"""Z-set ``*rotation`` (material orientation) -> rotation matrix R of ``spec["orientation"]``.

romnet's convention (``docs/materials.md``): row i of R is the unit vector of material axis
i in global coordinates, so ``v_material = R v_global``.

Forms accepted (Z-set deck ``***material`` / ``**elset`` blocks and material files)::

    *rotation x1 a b c x3 d e f      two material axes given by their global components
    *rotation x1 ... x2 ...  |  x2 ... x3 ...   (any two of x1 x2 x3, in any order)
    *rotation phi1 Phi phi2          Euler angles in degrees, Bunge (z, x', z'') convention
    *rotation euler phi1 Phi phi2    the same, with the keyword (material files' ``**rotation``)

Two axes need not be unit nor exactly orthogonal (Z-set decks written by texture tools give
them to 6 digits, and real polycrystal decks, e.g. pymicro's documentation examples, give axes
that are far from orthogonal): the first one given is kept as is (normalised), the second is
orthogonalised against it (Gram–Schmidt), the third is their right-handed cross product.
Bunge angles give the passive rotation ``R = Rz(phi2) Rx(Phi) Rz(phi1)`` whose rows are the
crystal axes in global coordinates (Bunge 1982; pymicro's ``Euler2OrientationMatrix``).

NOT verified against a Z-set computation with a rotated anisotropic material (none is in
the shared data): the meaning "material axes in global components" of ``x1 ... x3 ...``
and Bunge's convention for three angles are Z-set's documented ones as far as we could
find; ``romnet info`` shows the resulting matrix.
"""
from __future__ import annotations

import numpy as np

from romnet.errors import InputError, UnsupportedError

from .tokens import to_float

AXES = ("x1", "x2", "x3")



def euler_bunge(phi1: float, Phi: float, phi2: float) -> np.ndarray:
    """(3, 3) passive rotation of Bunge Euler angles (degrees): rows = crystal axes
    (:func:`romnet.materials.euler_bunge_matrix`, the one owner of the convention)."""
    from romnet.materials import euler_bunge_matrix
    return euler_bunge_matrix(phi1, Phi, phi2)


def from_two_axes(axes: dict) -> np.ndarray:
    """R from two material axes ``{"x1": v, "x3": w}`` (global components), see module doc."""
    (ka, va), (kb, vb) = list(axes.items())
    ia, ib = AXES.index(ka), AXES.index(kb)
    a = np.asarray(va, float) / np.linalg.norm(va)
    b = np.asarray(vb, float) - np.dot(vb, a) * a
    b /= np.linalg.norm(b)
    R = np.zeros((3, 3))
    R[ia], R[ib] = a, b
    ic = 3 - ia - ib
    # right-handed: e_k = e_i x e_j for (i, j, k) a cyclic permutation of (0, 1, 2)
    R[ic] = np.cross(R[(ic + 1) % 3], R[(ic + 2) % 3])
    return R


def zset_rotation(args, path, line) -> np.ndarray:
    """(3, 3) R of a ``*rotation`` line's arguments; InputError naming file:line if malformed."""
    args = list(args)
    if not args:
        raise InputError("*rotation: expected 'x1 a b c x3 d e f' or three Euler angles", path, line)
    if args[0] in AXES:
        axes, i = {}, 0
        while i < len(args):
            k = args[i]
            if k not in AXES:
                raise UnsupportedError(f"*rotation: unexpected '{k}' (expected x1, x2 or x3 followed by 3 "
                                       "components)", path, line)
            if k in axes:
                raise InputError(f"*rotation: {k} given twice", path, line)
            if i + 4 > len(args):
                raise InputError(f"*rotation: {k} needs 3 components", path, line)
            axes[k] = [to_float(t, path, line, f"*rotation {k}") for t in args[i + 1:i + 4]]
            i += 4
        if len(axes) != 2:
            raise InputError(f"*rotation: give exactly two of x1 x2 x3 (got {len(axes)})", path, line)
        va, vb = axes.values()
        if np.linalg.norm(va) == 0 or np.linalg.norm(vb) == 0:
            raise InputError("*rotation: zero axis vector", path, line)
        if np.linalg.norm(np.cross(va, vb)) <= 1e-8 * np.linalg.norm(va) * np.linalg.norm(vb):
            raise InputError("*rotation: the two axes are parallel", path, line)
        return from_two_axes(axes)
    if args[0] == "euler":
        args = args[1:]
    try:
        float(args[0])
    except (ValueError, IndexError):
        raise UnsupportedError(f"*rotation {' '.join(args[:1]) or '(nothing)'}: only 'x1 .. x3 ..' axes and "
                               "three Euler angles (degrees) are supported", path, line) from None
    if len(args) != 3:
        raise InputError(f"*rotation: expected three Euler angles (degrees), got {len(args)} values", path, line)
    return euler_bunge(*(to_float(t, path, line, "*rotation angle") for t in args))
