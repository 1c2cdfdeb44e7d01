"""romnet's HF solver against CalculiX (``ccx``) on one thermo-elastoplastic 3D problem.

The problem (``bench/calculix_deck.py``): a box 4 x 1 x 1 of c3d8 / C3D8 (full
integration), x = 0 clamped, U1 = 0.04 (1 % strain) imposed on x = L, temperature rising
linearly along the length 20 -> 400 (alpha = 1.2e-5, reference 20), E = 200000, nu = 0.3,
von Mises plasticity sigma_y = 300 + 2000 eps_p (CalculiX ``*PLASTIC`` bilinear table,
romnet gen_evp ``plasticity`` + ``isotropic linear``), 10 fixed increments of 0.1, small
strain (no NLGEOM). CalculiX evaluates the temperature of a C3D8 at the element's mean
nodal temperature at every integration point (``e_c3d.f``); romnet is run with the same
convention (``SolverOptions(temperature_at_ips="element_mean")``), otherwise the two
differ by ~2e-3 on U through the thermal strain alone.

CalculiX runs as the external program ``ccx -i job`` (OMP_NUM_THREADS =
CCX_NPROC_EQUATION_SOLVER = --threads), its wall time and peak RSS measured by a wrapper
process; romnet runs as ``mpirun -n RANKS python bench_hifi_vs_calculix.py --worker``
(its wall time: solver set-up + the 10 increments, i.e. partition, pattern, PETSc objects
and every Newton iteration; the mesh and problem objects are built before).

Printed per size: displacement difference max_k ||U_romnet - U_ccx|| / ||U_ccx|| over the
increments (CalculiX's frd has 6 significant digits), reaction force difference on x = L
(max_k |RF_r - RF_c| / |RF_c|), wall times and their ratio CalculiX/romnet, Newton
iterations (CalculiX: ITRS of its .sta), peak memory per rank (ru_maxrss).

Run: ``.venv/bin/python bench/bench_hifi_vs_calculix.py [--sizes 20k,200k] [--ranks 2]
[--reuse-ccx]`` (``--reuse-ccx`` reuses a finished CalculiX run of the identical deck in
``--workdir``; at 200k DOF CalculiX takes ~16 min).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from calculix_deck import BoxCase, run_case  # noqa: E402

#: cells per direction of the box: ~20k and ~200k DOF
SIZES = {"20k": (44, 11, 11), "200k": (100, 25, 25), "2k": (20, 5, 5)}
RATIO = 1e-5


def worker(size, out, ratio, petsc_options):
    from mpi4py import MPI  # noqa: F401
    from romnet.hifi import HFSolver, SolverOptions
    from romnet.mpi import comm as world
    c = world()
    case = BoxCase(n=SIZES[size])
    mesh, pb = case.problem(ratio=ratio)
    x1 = mesh.node_set("x1")
    c.Barrier()
    t0 = time.perf_counter()
    s = HFSolver(mesh, pb, comm=c, options=SolverOptions(verbose=False, petsc_options=petsc_options,
                                                         temperature_at_ips="element_mean"))
    t_setup = time.perf_counter() - t0
    st = s.initial_state()
    Us, RF, its = [], [], []
    t_gather = 0.0
    for t, _, _ in s.schedule()[1:]:
        st, info = s.step(st, t)
        its.append(info.iterations)
        tg = time.perf_counter()
        U = s.gather_U(st)
        RU = s.gather_U(st, st.residual)
        if s.is_root:
            Us.append(U)
            RF.append(RU[x1].sum(axis=0))
        t_gather += time.perf_counter() - tg
    c.Barrier()
    wall = time.perf_counter() - t0 - t_gather
    rss = c.gather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, root=0)
    if s.is_root:
        kr = getattr(s.backend, "krylov_iterations", [])
        np.savez(out, U=np.array(Us), RF=np.array(RF), iterations=np.array(its), wall=wall,
                 setup=t_setup, maxrss_mb=np.array(rss), n_dofs=s.layout.n_dofs,
                 solver=s.backend.describe() if hasattr(s.backend, "describe") else s.backend.name,
                 krylov=np.array(kr))


def run_romnet(size, ranks, workdir, ratio, petsc_options):
    out = Path(workdir) / f"romnet-{size}-{ranks}.npz"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", size, "--out", str(out),
           "--ratio", str(ratio), "--petsc-options", petsc_options]
    if ranks > 1:
        cmd = [str(Path(sys.executable).parent / "mpirun"), "-n", str(ranks)] + cmd
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    total = time.perf_counter() - t
    r = dict(np.load(out))
    r["process_wall"] = total
    return r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20k,200k")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="CalculiX threads")
    ap.add_argument("--workdir", default=str(ROOT / "out" / "bench_ccx"))
    ap.add_argument("--reuse-ccx", action="store_true")
    ap.add_argument("--ratio", type=float, default=RATIO, help="romnet Newton ratio")
    ap.add_argument("--petsc-options", default="")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        worker(a.worker, a.out, a.ratio, a.petsc_options)
        return 0
    rows = []
    for size in a.sizes.split(","):
        case = BoxCase(n=SIZES[size])
        wd = Path(a.workdir) / size
        print(f"== {size}: box {case.n}, CalculiX in {wd} ...", flush=True)
        cc = run_case(case, wd, threads=a.threads, reuse=a.reuse_ccx)
        print(f"   ccx {cc['wall']:.1f} s{' (reused run)' if cc['reused'] else ''}; romnet on {a.ranks} rank(s) ...",
              flush=True)
        ro = run_romnet(size, a.ranks, wd, a.ratio, a.petsc_options)
        n_inc = min(len(cc["U"]), ro["U"].shape[0])
        du = max(np.linalg.norm(ro["U"][k] - cc["U"][k]) / np.linalg.norm(cc["U"][k]) for k in range(n_inc))
        drf = max(abs(ro["RF"][k][0] - cc["RF"][k][0]) / abs(cc["RF"][k][0]) for k in range(n_inc))
        row = dict(size=size, dofs=int(ro["n_dofs"]), u_diff=du, rf_diff=drf,
                   rf_ccx=float(cc["RF"][-1][0]), rf_romnet=float(ro["RF"][-1][0]),
                   wall_ccx=cc["wall"], wall_romnet=float(ro["wall"]), setup_romnet=float(ro["setup"]),
                   process_wall_romnet=ro["process_wall"],
                   ratio=cc["wall"] / float(ro["wall"]),
                   its_ccx=cc["iterations"], its_romnet=ro["iterations"].tolist(),
                   mem_ccx=cc["maxrss_mb"], mem_romnet=ro["maxrss_mb"].tolist(), solver=str(ro["solver"]),
                   krylov=ro["krylov"].tolist(), ccx_reused=cc["reused"])
        rows.append(row)
        (wd / "result.json").write_text(json.dumps(row, indent=1, default=float))
        print(report(row, a.ranks, a.threads), flush=True)
    return 0


def report(r, ranks, threads):
    return "\n".join([
        f"-- {r['size']}: {r['dofs']} DOF, 10 increments; romnet {ranks} rank(s) [{r['solver']}], "
        f"CalculiX {threads} thread(s){' (reused run)' if r['ccx_reused'] else ''}",
        f"   U difference      max_k ||U_r - U_c|| / ||U_c|| = {r['u_diff']:.2e}",
        f"   reaction x=L      max_k |RF_r - RF_c| / |RF_c|  = {r['rf_diff']:.2e}   "
        f"(final RF1: romnet {r['rf_romnet']:.6g}, CalculiX {r['rf_ccx']:.6g})",
        f"   wall time         CalculiX {r['wall_ccx']:.1f} s, romnet {r['wall_romnet']:.1f} s "
        f"(set-up {r['setup_romnet']:.1f} s; whole process {r['process_wall_romnet']:.1f} s)"
        f"  -> CalculiX/romnet = {r['ratio']:.1f}",
        f"   Newton iterations CalculiX {sum(r['its_ccx'])} {r['its_ccx']}",
        f"                     romnet   {sum(r['its_romnet'])} {r['its_romnet']}"
        + (f" (Krylov its per solve {min(r['krylov'])}-{max(r['krylov'])})" if r['krylov'] and
           max(r['krylov']) > 1 else ""),
        f"   peak memory       CalculiX {r['mem_ccx']:.0f} MB; romnet per rank "
        + ", ".join(f"{m:.0f}" for m in r["mem_romnet"]) + " MB",
    ])


if __name__ == "__main__":
    sys.exit(main())
