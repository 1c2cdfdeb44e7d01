"""Generated problems on the plane-stress, axisymmetric and reduced-integration elements.

* :func:`plate_case`: plane-stress cantilever plate [0, 4] x [0, 1] (section thickness 0.5)
  clamped at x0, pressure ``p`` on its top edge y1 ramped by a table (bending).
* :func:`cylinder_case`: axisymmetric thick cylinder a <= r <= b, 0 <= z <= h, internal
  pressure p on r = a, u_z = 0 on both ends (plane strain along z: Lame's solution).
* :func:`beam_case`: c3d8r cantilever [0, 6] x [0, 1] x [0, 1] clamped at x0, pressure on
  its top face z1 (bending: excites the hourglass modes of one-point elements).
"""
from __future__ import annotations

import numpy as np

from hifi_cases import elastic_spec, plastic_spec, ramp
from romnet.meshing import box
from romnet.problem import Dirichlet, MaterialAssignment, Pressure, Problem, TimeStepping


def _problem(mesh, spec, dirichlet, pressure, n_inc, thickness=None):
    return Problem(materials=[MaterialAssignment("ALL", spec, thickness=thickness)],
                   dirichlet=dirichlet, pressure=pressure, tables={"ramp": ramp()},
                   stepping=TimeStepping(np.linspace(0.0, 1.0, n_inc + 1), ratio=1e-10))


def plate_case(etype="cps4", n=(8, 2), p=8.0, plastic=True, n_inc=5, thickness=0.5):
    mesh = box(etype, n, (4.0, 1.0))
    spec = plastic_spec(R0=100.0, H=5000.0) if plastic else elastic_spec()
    return mesh, _problem(mesh, spec, [Dirichlet("x0", 0, 0.0), Dirichlet("x0", 1, 0.0)],
                          [Pressure("y1", p, "ramp")], n_inc, thickness)


def cylinder_case(etype="cax8", n=(6, 1), a=1.0, b=2.0, h=0.5, p=100.0, plastic=False, n_inc=4):
    mesh = box(etype, n, (b - a, h))
    mesh.coordinates[:, 0] += a
    spec = plastic_spec(R0=150.0, H=5000.0) if plastic else elastic_spec()
    return mesh, _problem(mesh, spec, [Dirichlet("y0", 1, 0.0), Dirichlet("y1", 1, 0.0)],
                          [Pressure("x0", p, "ramp")], n_inc)


def lame_radial_displacement(r, a=1.0, b=2.0, p=100.0, E=2.0e5, nu=0.3):
    """u_r(r) of a thick cylinder under internal pressure p with e_zz = 0."""
    A = (1 + nu) * (1 - 2 * nu) * p * a**2 / (E * (b**2 - a**2))
    B = (1 + nu) * p * a**2 * b**2 / (E * (b**2 - a**2))
    return A * r + B / r


def beam_case(etype="c3d8r", n=(6, 2, 2), p=2.0, plastic=False, n_inc=4):
    mesh = box(etype, n, (6.0, 1.0, 1.0))
    spec = plastic_spec(R0=60.0, H=2000.0) if plastic else elastic_spec()
    return mesh, _problem(mesh, spec, [Dirichlet("x0", c, 0.0) for c in range(3)],
                          [Pressure("z1", p, "ramp")], n_inc)
