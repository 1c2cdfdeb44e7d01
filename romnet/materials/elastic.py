"""Law interface, isotropic (thermo)elasticity and the ``elastic`` law (any elasticity type).

Every array is vectorized over integration points (first axis); tensors are Mandel
6-vectors in the order ``11 22 33 12 23 31`` (:mod:`romnet.tensors`), fourth-order
tensors (tangents) are Mandel 6x6 matrices.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConvergenceError, MaterialError
from ..tensors import DEV_PROJECTOR, IDENTITY2
from .coefficients import Coefficient, parse_coefficient, parse_number

#: Mandel spherical projector I (x) I / 3
SPH_PROJECTOR = np.outer(IDENTITY2, IDENTITY2) / 3.0


def isotropic_tensor(a, b, n):
    """(n, 6, 6) Mandel ``a J + b K`` (J spherical, K deviatoric projector); a, b floats or (n,)."""
    coef = np.empty((n, 2))
    coef[:, 0] = a
    coef[:, 1] = b
    return (coef @ _JK_BASIS).reshape(n, 6, 6)


_JK_BASIS = np.stack([SPH_PROJECTOR.ravel(), DEV_PROJECTOR.ravel()])


@dataclass
class LawResult:
    """Result of :meth:`Law.integrate` at ``n`` points.

    stress : (n, 6) Mandel Cauchy stress at t_{n+1}.
    state : (n, n_state) internal variables at t_{n+1} (a new array).
    tangent : (n, 6, 6) Mandel consistent tangent d stress / d strain, or None.
    converged : (n,) bool, False where the local solve failed (values there are the last
        iterate and must not be used).
    iterations : the largest number of local iterations used by a point.
    """
    stress: np.ndarray
    state: np.ndarray
    tangent: np.ndarray | None
    converged: np.ndarray
    iterations: int = 0

    @property
    def all_converged(self) -> bool:
        return bool(np.all(self.converged))

    def raise_if_failed(self, where: str = ""):
        """Raise :class:`ConvergenceError` if some point did not converge."""
        if not self.all_converged:
            bad = np.flatnonzero(~self.converged)
            pre = f"{where}: " if where else ""
            raise ConvergenceError(f"{pre}local law integration did not converge at {bad.size} "
                                   f"point(s) (first: index {int(bad[0])})")


class Law:
    """Base class of the constitutive laws (see ``docs/materials.md``)."""

    name = "law"
    n_state: int = 0
    state_names: list = []
    density: float | None = None

    def initial_state(self, n_points: int) -> np.ndarray:
        return np.zeros((int(n_points), self.n_state))

    def integrate(self, strain, temperature, dt, state, tangent=True) -> LawResult:
        raise NotImplementedError

    def stress_free_strain(self, temperature) -> np.ndarray:
        """(n, 6) Mandel thermal strain at the given temperatures (zero without thermal strain)."""
        temperature = np.atleast_1d(np.asarray(temperature, dtype=float))
        out = np.zeros(temperature.shape + (6,))
        if self.thermal is not None:
            out[..., :3] = self.thermal.strain(temperature)[..., None]
        return out

    def cumulated_plastic_strain(self, state) -> np.ndarray:
        return np.zeros(np.asarray(state).shape[0])

    def plastic_strain(self, state) -> np.ndarray:
        return np.zeros((np.asarray(state).shape[0], 6))

    # --- helpers shared by the laws --------------------------------------------------------
    thermal = None

    def _check_inputs(self, strain, temperature, state):
        strain = np.asarray(strain, dtype=float)
        if strain.ndim != 2 or strain.shape[1] != 6:
            raise ValueError(f"strain must be (n, 6) Mandel, got shape {strain.shape}")
        n = strain.shape[0]
        temperature = np.asarray(temperature, dtype=float)
        if temperature.ndim == 0:
            temperature = np.full(n, float(temperature))
        if temperature.shape != (n,):
            raise ValueError(f"temperature must be ({n},), got shape {temperature.shape}")
        if state is None:
            state = self.initial_state(n)
        state = np.asarray(state, dtype=float)
        if state.shape != (n, self.n_state):
            raise ValueError(f"state must be ({n}, {self.n_state}), got shape {state.shape}")
        return strain, temperature, state


class IsotropicElasticity:
    """Isotropic Hooke law with Young's modulus and Poisson ratio functions of temperature."""

    def __init__(self, young: Coefficient, poisson: Coefficient):
        self.young = young
        self.poisson = poisson

    @classmethod
    def from_spec(cls, spec, key="elasticity"):
        if not isinstance(spec, dict):
            raise MaterialError(f"{key}: expected a dict with 'young' and 'poisson', got {spec!r}")
        unknown = set(spec) - {"young", "poisson"}
        if unknown:
            raise MaterialError(f"{key}: unknown key(s) {sorted(unknown)}")
        for k in ("young", "poisson"):
            if k not in spec:
                raise MaterialError(f"{key}.{k}: missing")
        young = parse_coefficient(spec["young"], f"{key}.young", minimum=0.0, strict_minimum=True)
        poisson = parse_coefficient(spec["poisson"], f"{key}.poisson", minimum=-1.0,
                                    strict_minimum=True, maximum=0.5, strict_maximum=True)
        return cls(young, poisson)

    def moduli(self, temperature):
        """(shear modulus G, bulk modulus kappa) at the temperatures (floats if constant)."""
        e = self.young(temperature)
        nu = self.poisson(temperature)
        return e / (2.0 * (1.0 + nu)), e / (3.0 * (1.0 - 2.0 * nu))

    @staticmethod
    def tangent(g, kappa, n):
        """(n, 6, 6) Mandel ``3 kappa J + 2 G K``."""
        return isotropic_tensor(3.0 * np.asarray(kappa, dtype=float), 2.0 * np.asarray(g, dtype=float), n)

    def to_spec(self):
        return {"young": self.young.to_spec(), "poisson": self.poisson.to_spec()}


class ThermalStrain:
    """Isotropic secant thermal strain ``alpha(T) (T - T_ref) I``."""

    def __init__(self, alpha: Coefficient, ref_temperature: float):
        self.alpha = alpha
        self.ref_temperature = float(ref_temperature)

    @classmethod
    def from_spec(cls, spec, key="thermal_strain"):
        if spec is None:
            return None
        if not isinstance(spec, dict):
            raise MaterialError(f"{key}: expected a dict with 'alpha' and 'ref_temperature', got {spec!r}")
        unknown = set(spec) - {"alpha", "ref_temperature"}
        if unknown:
            raise MaterialError(f"{key}: unknown key(s) {sorted(unknown)}")
        for k in ("alpha", "ref_temperature"):
            if k not in spec:
                raise MaterialError(f"{key}.{k}: missing")
        alpha = parse_coefficient(spec["alpha"], f"{key}.alpha")
        ref = parse_number(spec["ref_temperature"], f"{key}.ref_temperature")
        return cls(alpha, ref)

    def strain(self, temperature):
        """(n,) diagonal thermal strain at the temperatures."""
        temperature = np.asarray(temperature, dtype=float)
        return self.alpha(temperature) * (temperature - self.ref_temperature)

    def to_spec(self):
        return {"alpha": self.alpha.to_spec(), "ref_temperature": self.ref_temperature}


def parse_density(spec, key="density"):
    if spec is None:
        return None
    d = parse_number(spec, key)
    if d <= 0:
        raise MaterialError(f"{key}: value {d:g} out of range (must be > 0)")
    return d


class ElasticLaw(Law):
    """(Thermo)elasticity ``sigma = C(T) : (eps - eps_th(T))``; no state.

    ``elasticity``: :class:`IsotropicElasticity` or any object with ``stiffness(T) -> (n, 6, 6)``
    (cubic, orthotropic, anisotropic; :mod:`.anisotropy`), given in the material frame of
    ``orientation`` (an :class:`~.anisotropy.Orientation` or None for the global axes).
    """

    name = "elastic"
    n_state = 0
    state_names: list = []
    symmetric_tangent = True

    def __init__(self, elasticity, thermal: ThermalStrain | None = None,
                 density: float | None = None, orientation=None):
        self.elasticity = elasticity
        self.thermal = thermal
        self.density = density
        self.orientation = orientation

    def integrate(self, strain, temperature, dt=None, state=None, tangent=True) -> LawResult:
        strain, temperature, state = self._check_inputs(strain, temperature, state)
        n = strain.shape[0]
        e = strain.copy()
        if self.thermal is not None:
            e[:, :3] -= self.thermal.strain(temperature)[:, None]
        if not isinstance(self.elasticity, IsotropicElasticity):
            c = self.elasticity.stiffness(temperature)
            rot = self.orientation
            if rot is not None and not rot.is_identity:
                c = rot.tangent_to_global(c)
            stress = np.einsum("nij,nj->ni", c, e)
            tan = np.array(c) if tangent else None
            return LawResult(stress, np.zeros((n, 0)), tan, np.ones(n, dtype=bool), 0)
        g, kappa = self.elasticity.moduli(temperature)
        g = np.broadcast_to(np.asarray(g, dtype=float), (n,))
        kappa = np.broadcast_to(np.asarray(kappa, dtype=float), (n,))
        tr = e[:, 0] + e[:, 1] + e[:, 2]
        stress = (2.0 * g)[:, None] * e
        stress[:, :3] += ((kappa - 2.0 * g / 3.0) * tr)[:, None]
        tan = IsotropicElasticity.tangent(g, kappa, n) if tangent else None
        return LawResult(stress, np.zeros((n, 0)), tan, np.ones(n, dtype=bool), 0)
