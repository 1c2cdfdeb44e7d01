"""Benchmark of the crystal-plasticity gen_evp law (12 octahedral + 6 cubic systems).

Integration-point updates per second on one core, ``tangent=True``: a single-crystal law of
the kind of the Z-set turbine-blade decks (cubic elasticity, random orientations, octahedral
and cubic potentials with hyperbolic flow, constant isotropic hardening, nonlinear kinematic
hardening with static recovery, interaction matrix), the loading history of
``bench_gen_evp.py`` (multiaxial strains 1e-3..5e-3, temperatures 20..400, a few increments
to build states, 20 % of the points unloading in the timed increment). Both integration
methods are timed on the same last increment (best of ``repeat`` runs):

* ``theta_method_a`` (backward Euler, Newton in the slip overstresses, consistent tangent);
* ``runge_kutta`` (adaptive Cash–Karp, tolerance 1e-5; tangent from the substep sensitivities);
* ``theta_method_a`` with nonlinear isotropic hardening (Q 30, b 8: the systems coupled by
  the interaction matrices).

The figure is per core from the CPU time of the process (the machine may be shared; wall
time printed beside); one BLAS thread (threadpoolctl). Run: ``.venv/bin/python
bench/bench_crystal.py [n_points]``. Goal (issue 18): >= 1e5 updates/s for the 18-system law
with tangent. Figures: docs/materials.md, "Crystal law performance".
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import sys  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gen_evp import time_last_increment  # noqa: E402

from romnet.materials import build_law, euler_bunge_matrix  # noqa: E402


def tab(*pairs):
    return {"temperature": [float(t) for t, _ in pairs], "value": [float(v) for _, v in pairs]}


def crystal_spec(method, R=None, iso=None):
    return {
        "law": "gen_evp",
        "elasticity": {"type": "cubic", "y1111": tab((20, 2.5e5), (1000, 2.0e5)),
                       "y1122": tab((20, 1.6e5), (1000, 1.3e5)), "y1212": tab((20, 1.3e5), (1000, 1.05e5))},
        "thermal_strain": {"alpha": 1.2e-5, "ref_temperature": 20.0},
        "orientation": {"type": "matrix", "R": (np.eye(3) if R is None else R).tolist()},
        "potentials": [
            {"name": "oct", "family": "octahedral",
             "flow": {"type": "hyperbolic", "K": tab((20, 900), (1000, 600)), "n": 6.0, "eps0": 1e-7,
                      "Kinf": 40.0},
             "isotropic": iso or {"type": "constant", "R0": tab((20, 120), (1000, 80))},
             "kinematic": {"type": "nonlinear", "C": 8e4, "D": 800.0, "m": 3.0, "M": 3000.0},
             "interaction": [1.0, 1.0, 0.6, 12.3, 1.6, 1.8]},
            {"name": "cub", "family": "cubic",
             "flow": {"type": "hyperbolic", "K": 1200.0, "n": 5.0, "eps0": 1e-7, "Kinf": 50.0},
             "isotropic": dict(iso, R0=160.0) if iso else {"type": "constant", "R0": 160.0},
             "kinematic": {"type": "nonlinear", "C": 6e4, "D": 600.0},
             "interaction": [1.0, 0.5, 0.5]}],
        "integration": {"method": method, "tolerance": 1e-5 if method == "runge_kutta" else 1e-9},
    }


def run(method, n, n_steps=5, dt=0.2, repeat=3, R=None, iso=None):
    law = build_law(crystal_spec(method, R, iso))
    wall, cpu, res, state = time_last_increment(law, n, n_steps, dt, repeat, cpu=True)
    flowing = np.mean(res.state[:, 0] > state[:, 0])
    label = method + (" nonlinear iso" if iso else "")
    print(f"{label:28s} points {n}  flowing {100 * flowing:5.1f} %  converged {int(res.converged.sum())}/{n}  "
          f"max iterations/substeps {res.iterations:4d}  CPU {cpu:7.3f} s  updates/s per core {n / cpu:.3e}  "
          f"(wall {wall:7.3f} s: {n / wall:.3e}/s)")
    return n / cpu


def main(n=20_000):
    R = euler_bunge_matrix(30.0, 40.0, 10.0)
    with threadpool_limits(1):
        print("crystal gen_evp, 12 octahedral + 6 cubic systems, tangent=True, 1 thread, orientation "
              "Bunge (30, 40, 10) deg; best of 3 (CPU time of this process: the one-core figure on a shared "
              "machine)")
        for method in ("theta_method_a", "runge_kutta"):
            run(method, n, R=R)
        run("theta_method_a", n, R=R, iso={"type": "nonlinear", "R0": tab((20, 120), (1000, 80)), "Q": 30.0,
                                            "b": 8.0})


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
