"""Finite-element kernel: reference elements, quadrature, vectorized element operators.

See ``docs/conventions.md`` for node orders, integration-point orders, face numbering
and the Mandel convention.
"""
from .elements import (ELEMENT_TYPES, FACE_TYPES, PLANE_STRAIN_TYPES, VOLUME_TYPES,
                       ElementType, get_element_type)
from .faces import FaceKernel, boundary_faces, faces_of_elements
from .kernel import ElementKernel, jacobian_geometry
from . import quadrature

__all__ = ["ElementType", "ELEMENT_TYPES", "VOLUME_TYPES", "PLANE_STRAIN_TYPES", "FACE_TYPES",
           "get_element_type", "ElementKernel", "jacobian_geometry", "FaceKernel",
           "faces_of_elements", "boundary_faces", "quadrature"]
