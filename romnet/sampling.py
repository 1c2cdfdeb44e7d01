"""Seeded random temperature fields and families of problems built from them.

A sampled field on the nodes ``x`` of any mesh (coordinates normalised to the mesh's
bounding box, ``xi = (x - lo) / (hi - lo)`` in [0, 1]^dim) is

    T(x) = T_ref + A exp(-|x - c|^2 / (2 w^2))                   (hot spot)
                 + A * smooth * sum_k a_k prod_d cos(pi n_kd xi_d)  (smooth perturbation)

* hot spot: centre ``c`` uniform in the bounding box (or in the sub-box ``center`` =
  ((lo_1, .., lo_d), (hi_1, .., hi_d)) of normalised coordinates), amplitude ``A`` uniform in
  ``amplitude`` (default 300..900, i.e. peaks of 320..920 degrees with T_ref = 20), width
  ``w`` uniform in ``width`` times the box diagonal;
* perturbation: ``n_modes`` cosine modes with integer wave numbers ``n_kd`` in
  0..``max_order`` (not all zero), coefficients ``a_k`` normal with standard deviation
  1/sqrt(n_modes) (so the perturbation has an RMS of about ``smooth * A / 2``);
* the sum is floored at 0 (``T >= T_ref``: the perturbation never cools below the
  reference temperature).

Everything is drawn from ``numpy.random.default_rng(seed)``: one seed gives one field on
any mesh (the parameters do not depend on the mesh; :func:`sample_parameters` returns them,
JSON-able, so a sample can be re-created and stored).

:func:`temperature_family` puts sampled fields into copies of a base
:class:`~romnet.problem.Problem`: the time structure of the base temperature is kept, each
key field ``k`` becomes ``T_ref + s_k (T_sample - T_ref)`` with
``s_k = (max(base_k) - T_ref) / max_j (max(base_j) - T_ref)`` (the base's hottest key field
gets the sampled field, a key field at T_ref stays at T_ref); loads, materials, boundary
conditions and stepping are those of the base problem. Without a base temperature the
sampled field is applied at every time (one key field).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .problem import Problem, Temperature

__all__ = ["HotSpotSampler", "sample_parameters", "temperature_field", "sample_temperature",
           "key_scales", "with_temperature", "sampled_problem", "temperature_family"]


@dataclass
class HotSpotSampler:
    """Distribution of the sampled temperature fields (module docstring)."""
    t_ref: float = 20.0
    amplitude: tuple = (300.0, 900.0)
    width: tuple = (0.15, 0.35)
    smooth: float = 0.05
    n_modes: int = 3
    max_order: int = 2
    dim: int = 3
    center: tuple | None = None
    info: dict = field(default_factory=dict)

    def parameters(self, seed) -> dict:
        return sample_parameters(seed, self)

    def field(self, coordinates, seed) -> np.ndarray:
        return temperature_field(coordinates, self.parameters(seed))


def sample_parameters(seed, sampler: HotSpotSampler | None = None) -> dict:
    """JSON-able parameters of the field of ``seed`` (independent of any mesh)."""
    s = sampler or HotSpotSampler()
    rng = np.random.default_rng(seed)
    d = int(s.dim)
    center = rng.random(d)
    if s.center is not None:
        try:
            lo, hi = (np.asarray(v, dtype=float).reshape(d) for v in s.center)
        except (TypeError, ValueError) as e:
            raise InputError(f"HotSpotSampler.center must be ((lo_1..lo_{d}), (hi_1..hi_{d})), "
                             f"got {s.center!r}") from e
        if np.any(lo > hi) or np.any(lo < 0) or np.any(hi > 1):
            raise InputError(f"HotSpotSampler.center: need 0 <= lo <= hi <= 1, got {s.center!r}")
        center = lo + (hi - lo) * center
    amp = float(rng.uniform(*s.amplitude))
    width = float(rng.uniform(*s.width))
    waves = rng.integers(0, s.max_order + 1, size=(s.n_modes, d))
    zero = ~waves.any(axis=1)
    waves[zero, rng.integers(0, d, size=int(zero.sum()))] = 1  # no constant mode
    coef = rng.normal(size=s.n_modes) / np.sqrt(max(1, s.n_modes))
    return dict(seed=int(seed) if np.ndim(seed) == 0 else [int(v) for v in np.ravel(seed)], t_ref=float(s.t_ref),
                center=center.tolist(), amplitude=amp, width=width, smooth=float(s.smooth),
                waves=waves.tolist(), coefficients=coef.tolist())


def temperature_field(coordinates, params: dict) -> np.ndarray:
    """(n_nodes,) temperature of ``params`` (from :func:`sample_parameters`) at the nodes."""
    x = np.asarray(coordinates, dtype=float)
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    xi = (x - lo) / span
    d = x.shape[1]
    c = np.asarray(params["center"], dtype=float)[:d]
    A, w = params["amplitude"], params["width"] * np.sqrt(d)
    r2 = np.sum((xi - c) ** 2, axis=1)
    T = A * np.exp(-r2 / (2.0 * w * w))
    waves = np.asarray(params["waves"], dtype=float)[:, :d]
    coef = np.asarray(params["coefficients"], dtype=float)
    if waves.size:
        modes = np.prod(np.cos(np.pi * waves[None, :, :] * xi[:, None, :]), axis=2)  # (n, k)
        T = T + A * params["smooth"] * (modes @ coef)
    return params["t_ref"] + np.maximum(T, 0.0)


def sample_temperature(coordinates, seed, sampler: HotSpotSampler | None = None):
    """(field (n_nodes,), parameters) of one seeded sample on the given nodes."""
    p = sample_parameters(seed, sampler)
    return temperature_field(coordinates, p), p


def key_scales(base: Temperature | None, t_ref: float) -> np.ndarray:
    """s_k of the module docstring for the key fields of ``base`` ([1.] without a base)."""
    if base is None:
        return np.ones(1)
    f = np.asarray(base.fields, dtype=float)
    ex = f.max(axis=1) - t_ref
    top = ex.max()
    if top <= 0:
        return np.ones(f.shape[0])
    return np.clip(ex / top, 0.0, 1.0)


def with_temperature(problem: Problem, T_sample, t_ref: float = 20.0) -> Problem:
    """Copy of ``problem`` whose temperature follows ``T_sample`` (module docstring)."""
    T_sample = np.asarray(T_sample, dtype=float)
    pb = copy.deepcopy(problem)
    base = problem.temperature
    if base is not None and np.asarray(base.fields).shape[1] != T_sample.size:
        raise InputError(f"sampled temperature has {T_sample.size} values, the problem's "
                         f"temperature {np.asarray(base.fields).shape[1]}")
    s = key_scales(base, t_ref)
    fields = t_ref + s[:, None] * (T_sample - t_ref)[None, :]
    if base is None:
        pb.temperature = Temperature(np.zeros(1), fields, None)
    else:
        pb.temperature = Temperature(np.asarray(base.times, dtype=float).copy(), fields, base.period)
    return pb


def temperature_family(problem: Problem, coordinates, n: int, seed: int = 0,
                       sampler: HotSpotSampler | None = None):
    """``n`` problems from ``problem`` with sampled temperatures; sample ``i`` uses the
    seed sequence ``(seed, i)`` (independent streams, stable when ``n`` changes).

    Returns a list of ``(problem_i, T_i (n_nodes,), params_i)``."""
    return [sampled_problem(problem, coordinates, [int(seed), i], sampler) for i in range(int(n))]


def sampled_problem(problem: Problem, coordinates, seed, sampler: HotSpotSampler | None = None):
    """``(problem_i, T_i (n_nodes,), params_i)``: ``problem`` with the temperature of the
    seeded sample ``seed`` (e.g. the seed sequence ``(family seed, i)``) on the nodes
    ``coordinates`` (:func:`with_temperature`)."""
    s = sampler or HotSpotSampler(dim=np.asarray(coordinates).shape[1])
    T, p = sample_temperature(coordinates, seed, s)
    return with_temperature(problem, T, s.t_ref), T, p
