"""Constitutive laws (small strain, vectorized over integration points).

* :func:`build_law` builds a :class:`Law` from a material description (JSON-able dict).
* :class:`ElasticLaw` thermoelasticity (isotropic, cubic, orthotropic, anisotropic; oriented),
  :class:`GenEvpLaw` von Mises elasto-(visco)plasticity (Z-set ``gen_evp``: Norton or
  rate-independent flow, linear / Armstrong-Frederick kinematic and constant / linear / Voce
  isotropic hardening), :class:`CrystalLaw` Z-set ``gen_evp`` with octahedral / cubic slip
  potentials (Méric–Cailletaud crystal plasticity, Runge–Kutta or backward Euler).

Laws take and return Mandel strains, stresses and tangents (:mod:`romnet.tensors`).
Equations, state layout, conventions and units: ``docs/materials.md``.
"""
from .anisotropy import AnisotropicElasticity, Orientation, euler_bunge_matrix, mandel_rotation
from .coefficients import Coefficient, parse_coefficient
from .crystal import CrystalLaw
from .elastic import ElasticLaw, IsotropicElasticity, Law, LawResult, ThermalStrain
from .factory import build_law
from .gen_evp import GenEvpLaw, Isotropic

__all__ = ["build_law", "Law", "LawResult", "ElasticLaw", "GenEvpLaw", "CrystalLaw", "Coefficient",
           "parse_coefficient", "IsotropicElasticity", "ThermalStrain", "Isotropic",
           "AnisotropicElasticity", "Orientation", "euler_bunge_matrix", "mandel_rotation"]
