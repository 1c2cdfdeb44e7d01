"""Turbine-blade problem: mesh (``geometry.py``) + loading, material, temperature, stepping.

``build_case(variant, seed) -> romnet.case.Case`` (mesh and problem, no results), and a CLI::

    python cases/blade/problem.py --variant small --seed 0 -o blade.h5

writes a case store (:func:`romnet.store.write_case`) that ``romnet hifi`` runs.

Units: mm, MPa (N/mm^2), s, tonne/mm^3, degrees Celsius (forces in N).

Loading (one cycle, :data:`CYCLE`: ramp up 0 -> 10 s, hold to 110 s, ramp down to 120 s):

* **centrifugal**: engine axis = x through (0, 0, -(root_height + ROOT_RADIUS)), so the
  bottom of the root (z = -root_height) is at radius ``ROOT_RADIUS`` = 250 mm and the tip at
  ~320 mm; omega ramps linearly to ``OMEGA`` = 1000 rad/s (~9550 rpm): ``omega2 = OMEGA**2``
  times table ``omega2`` = (omega / OMEGA)^2 (quadratic ramps, tabulated at 4 points each);
  on every element (``ALL``), density 8.2e-9 t/mm^3;
* **pressure**: ``PRESSURE`` = 3 MPa on the face set ``pressure_side`` (gas load, uniform),
  table ``cycle`` (0 -> 1 -> 1 -> 0);
* **clamp**: every component of the ``root_bottom`` nodes is zero (homogeneous Dirichlet,
  the only kind the offline stage supports);
* **temperature**: one seeded field from :data:`SAMPLER` (:mod:`romnet.sampling`: a hot
  spot plus a smooth random cosine perturbation, floored at ambient 20 degC), applied as
  ``20 + table_cycle(t) (T_sample - 20)``: key fields at t = 0, 10, 110, 120 s. The same
  sampler with seed sequence ``(seed, i)`` gives the training family
  (``romnet.offline.training.run_training(store, n, seed, sampler=SAMPLER)``).

Time stepping: 16 increments (4 up, 8 hold with growing steps, 4 down), Newton ratio 1e-5.

Material: ``gen_evp`` (Norton flow, nonlinear kinematic hardening, constant isotropic R0),
every coefficient temperature-dependent: :data:`MATERIAL`. **Illustrative, not certified
data**: values of the order of magnitude of published polycrystalline nickel-base
superalloy data (IN718 / IN100 / René-type unified viscoplastic models of the Chaboche
family in the open literature: E from ~200 GPa at room temperature to ~150 GPa at 1000 degC,
alpha ~1.2e-5 .. 1.6e-5 /K (secant, from 20 degC), Norton exponent decreasing from ~12 to 5
with temperature, yield/threshold decreasing sharply above ~800 degC). They were chosen
for plausibility and numerical robustness, not fitted to any test; do not use them for
design.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

#: temperatures (degC) of the material tables
T_TAB = [20.0, 400.0, 600.0, 800.0, 900.0, 1000.0]


def _tab(values):
    return {"temperature": list(T_TAB), "value": [float(v) for v in values]}


#: gen_evp description (docs/materials.md), MPa / s / degC; illustrative, not certified
MATERIAL = {
    "law": "gen_evp",
    "name": "illustrative Ni-base superalloy (not certified data)",
    "comment": "orders of magnitude of open-literature Chaboche-type models of polycrystalline "
               "Ni superalloys; chosen for plausibility, not fitted; see cases/blade/README.md",
    "density": 8.2e-9,
    "elasticity": {"young": _tab([200000.0, 186000.0, 178000.0, 166000.0, 158000.0, 150000.0]),
                   "poisson": 0.3},
    "thermal_strain": {"alpha": _tab([1.20e-5, 1.32e-5, 1.38e-5, 1.46e-5, 1.52e-5, 1.60e-5]),
                       "ref_temperature": 20.0},
    "flow": {"type": "norton",
             "K": _tab([1200.0, 1150.0, 1050.0, 900.0, 700.0, 500.0]),
             "n": _tab([12.0, 12.0, 11.0, 9.0, 7.0, 5.0])},
    "kinematic": {"type": "nonlinear",
                  "C": _tab([150000.0, 140000.0, 120000.0, 90000.0, 60000.0, 40000.0]),
                  "D": _tab([600.0, 600.0, 650.0, 700.0, 800.0, 900.0])},
    "isotropic": {"type": "constant", "R0": _tab([600.0, 560.0, 540.0, 480.0, 350.0, 200.0])},
}

T_AMBIENT = 20.0
ROOT_RADIUS = 250.0      # mm, radius of the root bottom
OMEGA = 1000.0           # rad/s at full speed
PRESSURE = 3.0           # MPa on the pressure side
#: load cycle (s): ramp up, hold, ramp down
CYCLE = (0.0, 10.0, 110.0, 120.0)
#: increment end times (16 increments)
TIMES = [0.0, 2.5, 5.0, 7.5, 10.0, 12.0, 15.0, 20.0, 30.0, 45.0, 65.0, 90.0, 110.0,
         112.5, 115.0, 117.5, 120.0]
RATIO = 1e-5


def _sampler():
    from romnet.sampling import HotSpotSampler
    return HotSpotSampler(t_ref=T_AMBIENT, amplitude=(500.0, 950.0), width=(0.2, 0.4),
                          smooth=0.05, n_modes=3, max_order=2, dim=3)


#: temperature sampler of the case (hot spot 520..970 degC peak + smooth perturbation)
SAMPLER = _sampler()


def _load_geometry():
    """cases/blade/geometry.py as a module (works whether or not cases/ is a package)."""
    import importlib.util
    name = "romnet_cases_blade_geometry"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "geometry.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def build_problem(mesh, seed=0, sampler=None, root_height=None):
    """:class:`romnet.problem.Problem` of the blade on ``mesh`` with the temperature of
    ``seed``. Returns (problem, sampled field (n_nodes,), sampler parameters)."""
    from romnet.problem import (Centrifugal, Dirichlet, MaterialAssignment, Pressure, Problem,
                                Temperature, TimeStepping, TimeTable)
    from romnet.sampling import sample_temperature

    sampler = sampler or SAMPLER
    h = -float(mesh.coordinates[:, 2].min()) if root_height is None else float(root_height)
    t0, t1, t2, t3 = CYCLE
    up = np.linspace(t0, t1, 5)
    down = np.linspace(t2, t3, 5)
    w2_times = np.concatenate([up, down])
    w2_vals = np.concatenate([((up - t0) / (t1 - t0)) ** 2, ((t3 - down) / (t3 - t2)) ** 2])
    tables = {
        "cycle": TimeTable("cycle", list(CYCLE), [0.0, 1.0, 1.0, 0.0]),
        "omega2": TimeTable("omega2", w2_times.tolist(), w2_vals.tolist()),
    }
    T, params = sample_temperature(mesh.coordinates, int(seed), sampler)
    scale = np.array([0.0, 1.0, 1.0, 0.0])
    fields = T_AMBIENT + scale[:, None] * (T - T_AMBIENT)[None, :]
    problem = Problem(
        materials=[MaterialAssignment("ALL", MATERIAL, source="cases/blade/problem.py")],
        dirichlet=[Dirichlet("root_bottom", c, 0.0) for c in range(3)],
        pressure=[Pressure("pressure_side", PRESSURE, table="cycle")],
        centrifugal=[Centrifugal("ALL", [0.0, 0.0, -(h + ROOT_RADIUS)], [1.0, 0.0, 0.0],
                                 OMEGA ** 2, table="omega2")],
        temperature=Temperature(np.array(CYCLE), fields),
        tables=tables,
        stepping=TimeStepping(np.array(TIMES), cycles=1, ratio=RATIO, max_iterations=20),
        source=f"cases/blade/problem.py seed={int(seed)}",
    )
    return problem, T, params


def build_case(variant="small", seed=0, sampler=None):
    """:class:`romnet.case.Case` of the blade: mesh of ``variant`` (``small`` / ``large``,
    see geometry.py) and the problem with the temperature sample ``seed``; no results."""
    from dataclasses import asdict

    from romnet.case import Case

    geo = _load_geometry()
    mesh = geo.blade_mesh(variant)
    sampler = sampler or SAMPLER
    problem, _, params = build_problem(mesh, seed, sampler)
    meta = {"source": "cases/blade/problem.py", "case": "blade", "variant": str(variant),
            "seed": int(seed), "geometry": mesh.parameters, "sampler": asdict(sampler),
            "temperature_parameters": params,
            "material_note": "illustrative, not certified data"}
    return Case(mesh=mesh, problem=problem, metadata=meta)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write the turbine-blade case store (mesh + problem).")
    ap.add_argument("--variant", default="small", help="small (~3.6k DOF) | medium (~51k DOF) | large (~370k DOF)")
    ap.add_argument("--seed", type=int, default=0, help="temperature sample seed (default 0)")
    ap.add_argument("-o", "--output", default="blade.h5", help="case store to write (default blade.h5)")
    a = ap.parse_args(argv)
    from romnet.store import write_case
    case = build_case(a.variant, a.seed)
    write_case(a.output, case)
    T = case.problem.temperature.fields
    print(case.summary())
    print(f"variant {a.variant}: {case.mesh.n_nodes * 3} DOF; temperature peak {T.max():.0f} degC")
    print(f"wrote {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
