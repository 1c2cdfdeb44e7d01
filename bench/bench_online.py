"""Online time per increment vs mesh size, and speed-up vs the HF solver.

Two box meshes (c3d8, ~20k and ~200k DOF), gen_evp (Norton, nonlinear kinematic) with a
thermal gradient, pressure on x1 and a centrifugal load. Training: romnet.hifi on the
reference loading (4 increments); offline with the same ROM size on both meshes
(pod_max_modes, ECM tolerance); online on another loading (temperature x1.3, pressure
x1.2), compared with romnet.hifi on that loading.

usage: python bench/bench_online.py [--sizes 18 40] [--out DIR]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from romnet.case import Case
from romnet.hifi import SolverOptions, run_hifi
from romnet.meshing import box
from romnet.offline.pipeline import run_offline
from romnet.online import load_rom
from romnet.problem import (Centrifugal, Dirichlet, MaterialAssignment, Pressure, Problem, Temperature,
                            TimeStepping, TimeTable)
from romnet.store import CaseStore, write_case

C = lambda v: {"temperature": [0.0, 2000.0], "value": [v, v]}  # noqa: E731
SPEC = {"law": "gen_evp", "density": 1e-8, "elasticity": {"young": C(2e5), "poisson": 0.3},
        "thermal_strain": {"alpha": C(2e-5), "ref_temperature": 20.0},
        "flow": {"type": "norton", "K": C(300.0), "n": C(10.0)},
        "kinematic": {"type": "nonlinear", "C": C(1e5), "D": C(1e3)},
        "isotropic": {"type": "constant", "R0": C(10.0)}}


def problem(mesh, t_scale=1.0, p_scale=1.0):
    x = mesh.coordinates
    T = 20.0 + t_scale * 380.0 * x[:, 0]
    return Problem(materials=[MaterialAssignment("ALL", SPEC)],
                   dirichlet=[Dirichlet("x0", 0, 0.0), Dirichlet("x0y0", 1, 0.0), Dirichlet("x0y0z0", 2, 0.0)],
                   pressure=[Pressure("x1", -50.0 * p_scale, "load")],
                   centrifugal=[Centrifugal("ALL", [0.0, -20.0, 0.0], [0.0, 0.0, 1.0], 1e8, "load")],
                   temperature=Temperature(np.array([0.0, 1.0]), np.stack([np.full_like(T, 20.0), T])),
                   tables={"load": TimeTable("load", [0.0, 1.0], [0.0, 1.0])},
                   stepping=TimeStepping(np.linspace(0.0, 1.0, 5), ratio=1e-6))


def one_size(n, out: Path):
    mesh = box("c3d8", n)
    dof = mesh.n_nodes * 3
    train = write_case(out / f"train{n}.h5", Case(mesh, problem(mesh), {}, {"code": "bench"}))
    test = write_case(out / f"test{n}.h5", Case(mesh, problem(mesh, 1.3, 1.2), {}, {"code": "bench"}))
    opts = SolverOptions(verbose=False)
    t0 = time.perf_counter()
    run_hifi(train, out / f"train{n}-hifi.h5", options=opts, progress=None)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_hifi(test, out / f"test{n}-hifi.h5", options=opts, progress=None)
    t_hf = time.perf_counter() - t0
    rom_store = out / f"train{n}-hifi.h5"
    run_offline(rom_store, {"series": "hifi", "pod_max_modes": 8, "pod_tol": 1e-8, "ecm_tol": 1e-4,
                            "dual_max_modes": 8}, progress=None)
    rom = load_rom(rom_store)
    rom.run(test)  # warm-up (imports, caches)
    res = rom.run(test)
    with CaseStore(out / f"test{n}-hifi.h5") as st:
        Uh = st.read_field("hifi", "U")
    U = res.U()
    err = max(np.linalg.norm(U[i] - Uh[i]) / np.linalg.norm(Uh[i]) for i in range(1, len(U)))
    n_inc = len(res.times) - 1
    per_inc = sum(res.seconds) / n_inc
    per_it = sum(res.seconds) / max(1, sum(res.iterations))
    return dict(n=n, dof=dof, modes=res.model.n_modes, points=res.model.n_points, per_inc=per_inc,
                per_it=per_it, hf_per_inc=t_hf / n_inc, t_train=t_train, err=err,
                speedup=t_hf / sum(res.seconds))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[18, 40])
    ap.add_argument("--out", default="bench_online_out")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    rows = []
    for n in args.sizes:
        r = one_size(n, out)
        rows.append(r)
        print(f"mesh {n}^3 c3d8: {r['dof']} DOF, ROM {r['modes']} modes / {r['points']} points: online "
              f"{1e3 * r['per_inc']:.2f} ms/increment ({1e3 * r['per_it']:.2f} ms/iteration), HF "
              f"{r['hf_per_inc']:.2f} s/increment, speed-up {r['speedup']:.0f}x, U error {r['err']:.2e}",
              flush=True)
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        print(f"online time per increment ratio (large/small) {b['per_inc'] / a['per_inc']:.2f}, per iteration "
              f"{b['per_it'] / a['per_it']:.2f}; speed-up on the large mesh {b['speedup']:.0f}x at U error "
              f"{b['err']:.2e}")


if __name__ == "__main__":
    main()
