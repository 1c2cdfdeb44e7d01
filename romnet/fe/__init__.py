"""Finite-element kernel: reference elements, quadrature, vectorized element operators.

See ``docs/conventions.md`` for node orders, integration-point orders, face numbering,
the Mandel convention and the plane-stress / axisymmetric / reduced-integration
formulations.
"""
from .elements import (AXISYMMETRIC_TYPES, ELEMENT_TYPES, FACE_TYPES, PLANE_STRAIN_TYPES,
                       PLANE_STRESS_TYPES, REDUCED_TYPES, SOLID_TYPES, VOLUME_TYPES, ElementType,
                       get_element_type)
from .faces import FaceKernel, boundary_faces, face_thickness, faces_of_elements, is_axisymmetric
from .hourglass import hourglass_matrices, hourglass_modulus
from .kernel import ElementKernel, jacobian_geometry
from . import quadrature

__all__ = ["ElementType", "ELEMENT_TYPES", "VOLUME_TYPES", "PLANE_STRAIN_TYPES", "FACE_TYPES",
           "SOLID_TYPES", "REDUCED_TYPES", "PLANE_STRESS_TYPES", "AXISYMMETRIC_TYPES",
           "get_element_type", "ElementKernel", "jacobian_geometry", "FaceKernel",
           "faces_of_elements", "boundary_faces", "is_axisymmetric", "face_thickness", "hourglass_matrices", "hourglass_modulus",
           "quadrature"]
