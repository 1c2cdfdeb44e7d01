"""Benchmark of the gen_evp law: integration-point updates per second on one core.

200 000 points with MecaSequential-like states (Norton K=300 n=30, Armstrong-Frederick
C=1e5 D=1000, R0=10, E=2e5, nu=0.3, alpha=2e-5, T_ref=20): multiaxial strains of
1e-3..5e-3, temperatures 20..400, a few loading increments to build states, then
``integrate(..., tangent=True)`` is timed on the next increment (best of 3 runs).

Run: ``.venv/bin/python bench/bench_gen_evp.py [n_points]``. Goal: >= 2e5 updates/s.
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from romnet.materials import build_law  # noqa: E402

SPEC = {
    "law": "gen_evp", "density": 1e-8,
    "elasticity": {"young": {"temperature": [0.0, 2000.0], "value": [2e5, 2e5]}, "poisson": 0.3},
    "thermal_strain": {"alpha": {"temperature": [0.0, 2000.0], "value": [2e-5, 2e-5]},
                       "ref_temperature": 20.0},
    "flow": {"type": "norton", "K": 300.0, "n": 30.0},
    "kinematic": {"type": "nonlinear", "C": 1e5, "D": 1000.0},
    "isotropic": {"type": "constant", "R0": 10.0},
    "integration": {"tolerance": 1e-9, "max_iterations": 200},
}


def make_history(n, n_steps, rng, unloading=0.2):
    """Strain (n_steps, n, 6) Mandel and temperature (n_steps, n): multiaxial, slightly
    non-proportional loading to 1e-3..5e-3; a fraction of the points unloads (elastically)
    in the last step."""
    direction = rng.normal(size=(n, 6))
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    amplitude = rng.uniform(1e-3, 5e-3, n)
    t_final = rng.uniform(20.0, 400.0, n)
    frac = np.tile(np.linspace(0.0, 1.0, n_steps)[1:, None], (1, n))  # (n_steps - 1, n)
    frac = np.concatenate([frac, frac[-1:]], axis=0)
    unload = rng.random(n) < unloading
    frac[-1, unload] -= 0.4                           # last step: unload these points
    frac[-1, ~unload] += 0.1                          # go on loading the others
    noise = 2e-4 * np.cumsum(rng.normal(size=(n_steps, n, 6)), axis=0) / n_steps
    noise[-1] = noise[-2]
    strain = frac[:, :, None] * (amplitude[:, None] * direction)[None] + frac[:, :, None] * noise
    temp = 20.0 + np.minimum(frac, 1.0) * (t_final - 20.0)[None]
    strain[:, :, :3] += (2e-5 * (temp - 20.0))[:, :, None]  # thermal part
    return strain, temp


def time_last_increment(law, n, n_steps=5, dt=0.2, repeat=3, cpu=False):
    """Build states on the first increments of :func:`make_history`, then time the last one
    (tangent=True, best of ``repeat``). Returns (seconds, result, state before it); with
    ``cpu``: (wall seconds, CPU seconds of this process, result, state) (the CPU time is the
    one-core figure on a machine shared with other jobs)."""
    rng = np.random.default_rng(12345)
    strain, temp = make_history(n, n_steps, rng)
    state = law.initial_state(n)
    for k in range(n_steps - 1):
        state = law.integrate(strain[k], temp[k], dt, state, tangent=False).state
    best = best_cpu = np.inf
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        res = law.integrate(strain[-1], temp[-1], dt, state, tangent=True)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return (best, best_cpu, res, state) if cpu else (best, res, state)


def main(n=200_000, n_steps=5, dt=0.2, repeat=3):
    best, res, state = time_last_increment(build_law(SPEC), n, n_steps, dt, repeat)
    plastic = np.mean(res.state[:, 0] > state[:, 0])
    print("gen_evp (Norton n=30 + AF + R0, T-tables), tangent=True, 1 thread")
    print(f"points: {n}   flowing in the timed increment: {100 * plastic:.1f} %   "
          f"converged: {int(res.converged.sum())}/{n}   max local iterations: {res.iterations}")
    print(f"time: {best:.3f} s   updates/s: {n / best:.3e}")
    return n / best


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
