"""Plane stress around any 3D law: sigma33 = 0 solved at each integration point.

:class:`PlaneStressLaw` wraps a law of :mod:`romnet.materials` (elastic, ``gen_evp`` or any
future law with the same ``integrate`` interface). The element gives the in-plane strains
(e11, e22, e12; e23 = e31 = 0); the wrapper finds the thickness strain e33 such that the
law's sigma33 vanishes, by a Newton iteration on e33 with the law's own tangent

    e33 <- e33 - sigma33(e33) / D[33, 33]

vectorized over the points (only the points not yet converged are re-evaluated), started
from the converged e33 of the previous increment (kept as the last state variable).
Convergence: ``|sigma33| <= rtol * max(|sigma|, sigma_scale)`` with ``sigma_scale`` the
largest in-plane stress magnitude seen at that point (so stress-free thermal states
converge too) or at round-off of e33. The returned stress has sigma33 = 0 exactly; the
tangent is the condensed plane-stress tangent ``D - D[:, 33] D[33, :] / D[33, 33]`` (row and
column 33 zero), consistent with the constraint. sigma23 = sigma31 = 0 are not imposed
(they vanish for laws without normal-shear coupling, i.e. isotropic and orthotropic laws
aligned with the plane).

State layout: ``[law state..., e33]`` (``n_state = law.n_state + 1``); the full strain
with its e33 is :meth:`PlaneStressLaw.full_strain`.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from ..materials import LawResult

__all__ = ["PlaneStressLaw", "wrap_law"]


class PlaneStressLaw:
    """Plane-stress wrapper of ``law`` (see the module docstring)."""

    def __init__(self, law, rtol=1e-10, max_iterations=25):
        self.law = law
        self.rtol, self.max_iterations = float(rtol), int(max_iterations)
        self.name = f"plane_stress({law.name})"
        self.n_state = law.n_state + 1
        self.state_names = list(law.state_names) + ["e33"]

    def __getattr__(self, item):  # density, thermal, elasticity, ... of the wrapped law
        if item == "law":
            raise AttributeError(item)
        return getattr(self.law, item)

    # ------------------------------------------------------------------ state
    def initial_state(self, n_points):
        return np.concatenate([self.law.initial_state(n_points), np.zeros((int(n_points), 1))], axis=1)

    def cumulated_plastic_strain(self, state):
        return self.law.cumulated_plastic_strain(np.asarray(state)[:, :-1])

    def plastic_strain(self, state):
        return self.law.plastic_strain(np.asarray(state)[:, :-1])

    @staticmethod
    def thickness_strain(state):
        """(n,) e33 of the states."""
        return np.asarray(state)[:, -1]

    def full_strain(self, strain, state):
        """(n, 6) Mandel strain with the e33 of ``state``."""
        out = np.array(strain, dtype=float, copy=True)
        out[:, 2] = self.thickness_strain(state)
        return out

    def stress_free_strain(self, temperature):
        return self.law.stress_free_strain(temperature)

    # ------------------------------------------------------------------ integration
    def integrate(self, strain, temperature, dt, state, tangent=True) -> LawResult:
        strain = np.array(strain, dtype=float, copy=True)
        n = strain.shape[0]
        temperature = np.broadcast_to(np.asarray(temperature, dtype=float), (n,))
        state = self.initial_state(n) if state is None else np.asarray(state, dtype=float)
        inner = state[:, :-1]
        strain[:, 2] = state[:, -1]
        strain[:, 4:] = 0.0
        stress = np.zeros((n, 6))
        D = np.zeros((n, 6, 6))
        new = np.zeros((n, self.law.n_state))
        ok = np.zeros(n, dtype=bool)
        done = np.zeros(n, dtype=bool)
        scale = np.zeros(n)
        its = 0
        todo = np.arange(n)
        for it in range(self.max_iterations + 1):
            r = self.law.integrate(strain[todo], temperature[todo], dt, inner[todo], tangent=True)
            s, d = r.stress, r.tangent
            stress[todo], D[todo], new[todo] = s, d, r.state
            ok[todo] = r.converged
            its = max(its, int(r.iterations))
            scale[todo] = np.maximum(scale[todo], np.abs(s[:, [0, 1, 3]]).max(axis=1))
            s33, d33 = s[:, 2], d[:, 2, 2]
            with np.errstate(divide="ignore", invalid="ignore"):
                de = -s33 / d33
            e33 = strain[todo, 2]
            conv = (np.abs(s33) <= self.rtol * np.maximum(np.abs(s).max(axis=1), scale[todo])) | \
                   (np.abs(de) <= 1e-14 * np.maximum(np.abs(strain[todo]).max(axis=1), 1e-300)) | (s33 == 0.0)
            bad = ~r.converged | ~np.isfinite(de)
            done[todo[conv | bad]] = True
            ok[todo[bad]] = False
            step = ~(conv | bad)
            if not step.any() or it == self.max_iterations:
                ok[todo[step]] = False
                break
            strain[todo[step], 2] = e33[step] + de[step]
            todo = todo[step]
        stress[:, 2] = 0.0
        tan = None
        if tangent:
            with np.errstate(divide="ignore", invalid="ignore"):
                tan = D - D[:, :, 2:3] * D[:, 2:3, :] / D[:, 2:3, 2:3]
            tan[:, 2, :] = 0.0
            tan[:, :, 2] = 0.0
        out_state = np.concatenate([new, strain[:, 2:3]], axis=1)
        return LawResult(stress, out_state, tan, ok, its)


def wrap_law(law, plane_stress, element_set=""):
    """The law to integrate at a material's points: ``law`` itself, or its plane-stress
    wrapper when every point is on a plane-stress element (``plane_stress`` (n_points,)
    bool). A material on both plane-stress and other elements is refused."""
    ps = np.asarray(plane_stress, dtype=bool)
    if ps.size and ps.all():
        return PlaneStressLaw(law)
    if ps.any():
        raise UnsupportedError(f"material on '{element_set}' is used by plane-stress (CPS*) and other "
                               "elements: give each formulation its own material assignment")
    return law
