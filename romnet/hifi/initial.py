"""Conventions of the code that wrote a deck, and the initial state, at the integration points.

* :func:`ip_temperature_matrix`: temperature at an element's integration points from its
  nodal temperatures, ``T_ip = A @ T_nodes`` with ``A`` (n_ip, n_nodes) for the rules of
  :data:`romnet.problem.TEMPERATURE_RULES`: ``interpolate`` (shape functions),
  ``element_mean`` (the mean of the element's nodes at every point: CalculiX C3D8) and
  ``trilinear`` (CalculiX C3D20: the L2 projection, on the reference cube, of the
  element's quadratic interpolant onto trilinear functions, evaluated at the points --
  ccx's ``lintemp``; measured against ccx 2.20 in docs/conventions.md).
* :func:`strain_stress_offsets`: what the law sees besides the strain, per integration
  point: ``eps_law = eps + strain_offset`` and ``sigma = law(eps_law) + stress_offset``
  (Mandel). ``strain_offset`` is ``eps_th(T0)`` (thermal strain of the law at the initial
  temperature: ``thermal_reference = "initial"``, so that ``eps_th(T) - eps_th(T0)`` is
  what remains) minus the initial plastic strain of elastic laws (an eigenstrain, as ccx
  subtracts it); ``stress_offset`` is the initial stress of elastic laws (ccx adds it to
  the elastic stress). Initial stress or plastic strain on a non-elastic law is refused.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..problem import TEMPERATURE_RULES
from ..tensors import storage_to_mandel

__all__ = ["ip_temperature_matrix", "temperature_matrices", "strain_stress_offsets"]


def _trilinear_projection(et):
    """(n_nodes -> 8 trilinear coefficients) L2 projection matrix of a hexahedron's
    interpolant on [-1, 1]^3 (3-point Gauss rule per direction: exact for these degrees)."""
    g = np.sqrt(3.0 / 5.0)
    x1, w1 = np.array([-g, 0.0, g]), np.array([5.0, 8.0, 5.0]) / 9.0
    P = np.array([[a, b, c] for c in x1 for b in x1 for a in x1])
    W = np.array([wa * wb * wc for wc in w1 for wb in w1 for wa in w1])
    Q = _q1(P)
    M = Q.T @ (W[:, None] * Q)
    return np.linalg.solve(M, Q.T @ (W[:, None] * et.shape(P)))


def _q1(x):
    x = np.asarray(x, dtype=float).reshape(-1, 3)
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    return np.stack([np.ones_like(a), a, b, c, a * b, b * c, c * a, a * b * c], axis=1)


def ip_temperature_matrix(et, rule, points) -> np.ndarray:
    """(n_ip, n_nodes) operator nodal temperatures -> temperatures at ``points`` (n_ip, dim)
    of element type ``et`` (:class:`romnet.fe.ElementType`) for ``rule``."""
    if rule not in TEMPERATURE_RULES:
        raise InputError(f"temperature rule {rule!r} unknown ({', '.join(TEMPERATURE_RULES)})")
    pts = np.asarray(points, dtype=float).reshape(-1, et.dim)
    if rule == "interpolate":
        return et.shape(pts)
    if rule == "element_mean":
        return np.full((pts.shape[0], et.n_nodes), 1.0 / et.n_nodes)
    if et.family != "hex":
        raise InputError(f"temperature rule 'trilinear' is for hexahedra, not {et.name}")
    return _q1(pts) @ _trilinear_projection(et)


def temperature_matrices(kernels, rules):
    """One operator per (block index, kernel) of :class:`romnet.hifi.model.Model`; ``rules``
    None or one rule per mesh block."""
    return [ip_temperature_matrix(k.etype, "interpolate" if rules is None else rules[bi], k.ip_points)
            for bi, k, _ in kernels]


def strain_stress_offsets(model, problem):
    """(strain_offset, stress_offset) (n_ip_local, 6) Mandel, or None each when zero."""
    n = model.n_ip
    eps0 = np.zeros((n, 6))
    sig0 = np.zeros((n, 6))
    any_eps = any_sig = False
    if problem.thermal_reference == "initial" and problem.temperature is not None:
        T0 = model.temperature(float(problem.stepping.times[0]) if problem.stepping is not None else 0.0)
        for law, p in zip(model.laws, model.mat_points):
            if p.size and law.thermal is not None:
                eps0[p] += law.stress_free_strain(T0[p])
                any_eps = True
    elif problem.thermal_reference not in ("reference", "initial"):
        raise InputError(f"thermal_reference {problem.thermal_reference!r} unknown (reference, initial)")
    ini = problem.initial
    for key in ("plastic_strain", "stress"):
        arr = getattr(ini, key, None) if ini is not None else None
        if arr is None:
            continue
        arr = np.asarray(arr, dtype=float)
        if arr.shape != (model.n_ip_total, 6):
            raise InputError(f"initial {key.replace('_', ' ')}: shape {arr.shape}, the mesh has "
                             f"{model.n_ip_total} integration points x 6")
        local = storage_to_mandel(arr[model.ip_global])
        nz = np.any(local != 0, axis=1)
        for i, (law, p) in enumerate(zip(model.laws, model.mat_points)):
            if p.size and np.any(nz[p]) and law.name != "elastic":
                raise InputError(f"initial {key.replace('_', ' ')} on material {i} ({law.name}): supported on "
                                 "elastic materials only")
        if key == "plastic_strain":
            eps0 -= local
            any_eps = any_eps or bool(nz.any())
        else:
            sig0 += local
            any_sig = bool(nz.any())
    return (eps0 if any_eps else None), (sig0 if any_sig else None)
