"""Generated problems for the HF solver tests (structured boxes, analytic solutions)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from romnet.meshing import box
from romnet.problem import (Dirichlet, MaterialAssignment, Problem, TimeStepping, TimeTable)

E, NU = 2.0e5, 0.3


def elastic_spec(E=E, nu=NU, alpha=None, density=None):
    spec = {"law": "elastic", "elasticity": {"young": E, "poisson": nu}}
    if alpha is not None:
        spec["thermal_strain"] = {"alpha": alpha, "ref_temperature": 20.0}
    if density is not None:
        spec["density"] = density
    return spec


def plastic_spec(R0=100.0, H=1000.0, E=E, nu=NU):
    iso = {"type": "linear", "R0": R0, "H": H} if H else {"type": "constant", "R0": R0}
    return {"law": "gen_evp", "elasticity": {"young": E, "poisson": nu},
            "flow": {"type": "plasticity"}, "isotropic": iso}


def symmetry_bcs(dim=3, pull=None, table=None):
    """Roller supports on x0, y0 (, z0); optional imposed U1 = pull on x1."""
    bcs = [Dirichlet("x0", 0, 0.0), Dirichlet("y0", 1, 0.0)]
    if dim == 3:
        bcs.append(Dirichlet("z0", 2, 0.0))
    if pull is not None:
        bcs.append(Dirichlet("x1", 0, pull, table))
    return bcs


def ramp(name="ramp", t_end=1.0, v_end=1.0):
    return TimeTable(name, [0.0, t_end], [0.0, v_end])


def box_plastic_case(etype="c3d8", n=(3, 2, 2), n_inc=6, strain_max=3e-3, R0=100.0, H=1000.0):
    """Box pulled by an imposed displacement: uniaxial elastoplastic with linear hardening."""
    mesh = box(etype, n, (1.0, 1.0, 1.0))
    pb = Problem(materials=[MaterialAssignment("ALL", plastic_spec(R0, H))],
                 dirichlet=symmetry_bcs(mesh.dim, pull=strain_max, table="ramp"),
                 tables={"ramp": ramp()},
                 stepping=TimeStepping(np.linspace(0.0, 1.0, n_inc + 1), ratio=1e-8))
    return mesh, pb


CRYSTAL_MAT = Path(__file__).parent / "data" / "crystal" / "mat_crystal"


def crystal_spec(method="runge_kutta"):
    """The single-crystal law of tests/data/crystal/mat_crystal (Z-set material file), with
    its integration method replaced by ``method``."""
    from adapters.zset.material import read_material
    spec = read_material(CRYSTAL_MAT)
    if method == "theta_method_a":
        spec["integration"] = {"method": "theta_method_a", "tolerance": 1e-10, "max_iterations": 100}
    return spec


def crystal_cube_case(method="runge_kutta", n=(2, 2, 2), n_inc=8, traction=850.0, t_end=10.0, temperature=True):
    """Single-crystal cube (oriented, octahedral + cubic slip) pulled along x by a traction
    on x1 ramped in 0.6 t_end then held (creep), rollers on x0 y0 z0, at a uniform
    temperature rising 20 -> 650 (homogeneous Dirichlet conditions: usable by the ROM)."""
    from romnet.problem import Pressure, Temperature
    mesh = box("c3d8", n, (1.0, 1.0, 1.0))
    times = np.concatenate([np.linspace(0.0, 0.6 * t_end, n_inc // 2 + 1),
                            np.linspace(0.6 * t_end, t_end, n_inc - n_inc // 2 + 1)[1:]])
    temp = None
    if temperature:
        temp = Temperature(np.array([0.0, t_end]), np.array([np.full(mesh.n_nodes, 20.0),
                                                               np.full(mesh.n_nodes, 650.0)]))
    pb = Problem(materials=[MaterialAssignment("ALL", crystal_spec(method))],
                 dirichlet=symmetry_bcs(mesh.dim),
                 pressure=[Pressure("x1", -traction, "ramp")],
                 tables={"ramp": TimeTable("ramp", [0.0, 0.6 * t_end, t_end], [0.0, 1.0, 1.0])},
                 temperature=temp,
                 stepping=TimeStepping(times, ratio=1e-8))
    return mesh, pb
