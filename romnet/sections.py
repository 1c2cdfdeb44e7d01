"""Element sections of a problem: material index and plane-element thickness per element.

The one place that maps :attr:`romnet.problem.Problem.materials` (material assignments on
element sets, a later assignment overriding an earlier one on shared elements) onto the
elements of a :class:`romnet.mesh.Mesh`; used by the HF model, the offline operators and
the online stage alike.
"""
from __future__ import annotations

import numpy as np

__all__ = ["element_materials", "element_thickness"]


def element_materials(mesh, problem) -> np.ndarray:
    """(n_elements,) index into ``problem.materials`` of every element (later assignments
    win), -1 where none."""
    mat = np.full(mesh.n_elements, -1, dtype=np.int64)
    if problem is not None:
        for i, m in enumerate(problem.materials):
            mat[mesh.element_set(m.element_set)] = i
    return mat


def element_thickness(mesh, problem) -> np.ndarray:
    """(n_elements,) section thickness [L] of every element: the ``thickness`` of its
    material assignment (None, or no assignment: 1). Only plane (strain/stress) elements use
    it (:class:`romnet.fe.ElementKernel`)."""
    mat = element_materials(mesh, problem)
    if problem is None:
        return np.ones(mesh.n_elements)
    t = np.array([getattr(m, "thickness", None) or 1.0 for m in problem.materials] + [1.0])
    return t[mat]
