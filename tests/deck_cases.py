"""Small problems with the deck features (nodal forces, gravity, imposed values, linear
constraints) built in code, for the HF-solver and ROM tests.

:func:`featured_box`: c3d8 box [0, 4] x [0, 1] x [0, 1] (``n`` cells per direction), elastic
steel-like material with density; x = 0 clamped; U1 = 0.01 x ``pull(t)`` imposed on the
x = 4 face (inhomogeneous Dirichlet); on that face U3 of every node equals U3 of its first
node (homogeneous equations) and U2(first) - U2(last) = 1e-3 x ``shear(t)`` (an
inhomogeneous equation); a nodal force -50 x ``point(t)`` in z on the last node of the face;
gravity 9.81e6 x ``grav(t)`` in -z on every element. ``tables`` maps those four names to
(times, values); ``partition`` splits the elements at y = 0.5 between two ranks (the
equations on the x = 4 face then span the partition).
"""
from __future__ import annotations

import numpy as np

from romnet.case import Case
from romnet.meshing import box
from romnet.problem import (Constraint, Dirichlet, Gravity, MaterialAssignment, NodalForce, Problem,
                            TimeStepping, TimeTable)

STEEL = {"law": "elastic", "density": 7.8e-9, "elasticity": {"young": 200000.0, "poisson": 0.3}}
#: training tables: their kinks at different times make the four load cases independent
TRAINING_TABLES = {"pull": ([0, 1], [0, 1]), "shear": ([0, 0.3, 1], [0, 0.6, -0.4]),
                   "point": ([0, 0.7, 1], [0, 0.5, 1.5]), "grav": ([0, 1], [1, 0.4])}


#: a loading outside the training: other tables of the same loads and imposed values
NEW_TABLES = {"pull": ([0, 1], [0, 0.5]), "shear": ([0, 1], [0, -1]), "point": ([0, 0.4, 1], [0, 2, -1]),
              "grav": ([0, 1], [0, 1])}


def featured_box(n=(4, 2, 2), tables=None, times=np.linspace(0, 1, 11), partition=False, pull=0.01):
    tables = tables or TRAINING_TABLES
    mesh = box("c3d8", n=list(n), size=(4.0, 1.0, 1.0))
    X = mesh.coordinates
    face = np.flatnonzero(np.isclose(X[:, 0], 4.0))
    face = face[np.lexsort((X[face, 2], X[face, 1]))]
    first, last = int(face[0]), int(face[-1])
    mesh.node_sets["x4"] = face
    rest = face[face != first]
    eq = Constraint("U3 of the end face", np.stack([rest, np.full(rest.size, first)], 1).ravel(),
                    np.full(2 * rest.size, 2), np.tile([1.0, -1.0], rest.size),
                    np.arange(0, 2 * rest.size + 1, 2))
    shear = Constraint("shear", np.array([first, last]), np.array([1, 1]), np.array([1.0, -1.0]),
                       np.array([0, 2]), values=1e-3, table="shear")
    pb = Problem(
        materials=[MaterialAssignment("ALL", dict(STEEL))],
        dirichlet=[Dirichlet("x0", c, 0.0) for c in range(3)] + [Dirichlet("x4", 0, pull, "pull")],
        constraints=[eq, shear],
        nodal_forces=[NodalForce("tip", np.array([last]), np.array([[0.0, 0.0, -50.0]]), 1.0, "point")],
        gravity=[Gravity("ALL", [0.0, 0.0, -1.0], 9.81e6, "grav")],
        tables={k: TimeTable(k, list(map(float, t)), list(map(float, v))) for k, (t, v) in tables.items()},
        stepping=TimeStepping(np.asarray(times, dtype=float), ratio=1e-10))
    if partition:
        cen = np.concatenate([X[b.connectivity].mean(axis=1) for b in mesh.blocks])
        mesh.partition = (cen[:, 1] > 0.5).astype(np.int64)
    return Case(mesh, pb, {}, {"code": "deck_cases"})
