"""Offline-stage benchmark: distributed POD (TSQR, L2 mass product) and ECM (global greedy)
on a synthetic snapshot matrix of a structured c3d8 box, on 1 and N ranks.

Run: ``.venv/bin/mpirun -n 2 .venv/bin/python bench/bench_offline.py [--cells 46]
[--snapshots 200] [--ecm-snapshots 10] [--ecm-modes 8]``

The N-rank run is done first on all ranks, then a 1-rank run on rank 0 alone (the other
ranks idle at a barrier, so it has a core to itself). Peak memory = ru_maxrss per rank
(max and sum over ranks); the 1-rank run needs more memory per process than the N-rank
one, so measuring it second keeps both peaks meaningful. Parallel efficiency =
T_1 / (N T_N).

Data: ``--cells``^3 hexahedra ((cells+1)^3 nodes, 3 DOF per node; 46 -> 311k DOF); every
rank generates only its own rows: snapshot j = sum_i c_ij 0.85^i f_i(x), f_i smooth
random vector fields (sines with random wave vectors), so the singular values decay.
ECM integrand: "stress" = isotropic elastic stress of the strain of the first
``--ecm-snapshots`` snapshots, times the strains of the first ``--ecm-modes`` modes.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one BLAS thread per rank: ranks = cores

import numpy as np
from mpi4py import MPI

from romnet.meshing import box
from romnet.offline.ecm import ecm, internal_force_integrand
from romnet.offline.operators import mode_strains
from romnet.offline.pod import Layout, NodalL2, pod


def snapshots(X, m, n_fields=80, seed=0):
    rng = np.random.default_rng(seed)
    K = rng.normal(scale=3.0, size=(n_fields, 3, 3))     # wave vectors per field and component
    ph = rng.uniform(0, 2 * np.pi, size=(n_fields, 3))
    C = rng.normal(size=(n_fields, m)) * (0.85 ** np.arange(n_fields))[:, None]
    S = np.zeros((X.shape[0], 3, m))
    for i in range(n_fields):
        f = np.sin(X @ K[i] + ph[i])                     # (n, 3)
        S += f[:, :, None] * C[i][None, None, :]
    return S.reshape(-1, m)


def run(comm, mesh, args):
    comm.Barrier()
    t0 = MPI.Wtime()
    L = Layout(mesh, comm)
    a, b = L.node_range
    S = snapshots(mesh.coordinates[a:b], args.snapshots)
    comm.Barrier()
    t_gen = MPI.Wtime() - t0
    t0 = MPI.Wtime()
    basis = pod(S, NodalL2(L), comm, tol=args.pod_tol)
    comm.Barrier()
    t_pod = MPI.Wtime() - t0
    t0 = MPI.Wtime()
    k = min(args.ecm_modes, basis.n_modes)
    eps_m = mode_strains(L, basis.modes[:, :k])
    eps_s = mode_strains(L, S[:, :args.ecm_snapshots])
    lam, mu = 1.0, 0.7
    sig = 2 * mu * eps_s
    sig[:, :3] += lam * eps_s[:, :3].sum(axis=1, keepdims=True)
    G, groups = internal_force_integrand(sig, eps_m)
    del eps_s, sig
    comm.Barrier()
    t_int = MPI.Wtime() - t0
    t0 = MPI.Wtime()
    res = ecm(G, L.local_dV(), comm, ip_offset=L.ip_range[0], tol=args.ecm_tol, groups=groups)
    comm.Barrier()
    t_ecm = MPI.Wtime() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # MiB (Linux: KiB)
    rss_all = comm.allgather(rss)
    return dict(ranks=comm.Get_size(), dof=3 * mesh.n_nodes, snapshots=args.snapshots,
                modes=basis.n_modes, pod_s=t_pod, gen_s=t_gen, integrand_s=t_int, ecm_s=t_ecm,
                ecm_points=int(res.points.size), ecm_error=res.error, ecm_columns=int(G.shape[1]),
                rss_max_mib=max(rss_all), rss_sum_mib=sum(rss_all),
                sv_head=basis.singular_values[:3].tolist(), sv_last=float(basis.sigma[-1]))


def calibrate(world):
    """Hardware ceiling: the same independent QR + streaming work on every rank, timed on
    1 rank then on all ranks at once; efficiency = T_1 / T_N (ideal 1)."""
    from scipy.linalg import lapack
    A = np.random.default_rng(0).random((3200, 200))
    B = np.ones(20_000_000)

    def work():
        t0 = MPI.Wtime()
        for _ in range(10):
            lapack.dgeqrf(A)
        t1 = MPI.Wtime()
        for _ in range(10):
            B.sum()
        return t1 - t0, MPI.Wtime() - t1

    solo = None
    if world.rank == 0:
        solo = work()
    world.Barrier()
    allr = world.allgather(work())
    return (solo[0] / max(r[0] for r in allr), solo[1] / max(r[1] for r in allr)) if world.rank == 0 else None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=46)
    p.add_argument("--snapshots", type=int, default=200)
    p.add_argument("--pod-tol", type=float, default=1e-8)
    p.add_argument("--ecm-snapshots", type=int, default=10)
    p.add_argument("--ecm-modes", type=int, default=8)
    p.add_argument("--ecm-tol", type=float, default=1e-4)
    args = p.parse_args()
    world = MPI.COMM_WORLD
    mesh = box("c3d8", args.cells)
    if world.rank == 0:
        print(f"bench_offline: {mesh.n_nodes} nodes ({3 * mesh.n_nodes} DOF), {mesh.n_elements} c3d8, "
              f"{args.snapshots} snapshots, {world.size} rank(s)", flush=True)
    cal = calibrate(world) if world.size > 1 else None
    results = [run(world, mesh, args)]
    if world.size > 1:
        solo = world.Split(0 if world.rank == 0 else MPI.UNDEFINED, 0)
        if world.rank == 0:
            results.insert(0, run(solo, mesh, args))
            solo.Free()
        world.Barrier()
    if world.rank == 0:
        hdr = f"{'ranks':>5} {'modes':>5} {'POD s':>8} {'ECM s':>8} {'integrand s':>11} {'points':>6} " \
              f"{'ECM err':>8} {'maxrss/rank MiB':>15} {'sum MiB':>8}"
        print(hdr)
        for r in results:
            print(f"{r['ranks']:5d} {r['modes']:5d} {r['pod_s']:8.2f} {r['ecm_s']:8.2f} {r['integrand_s']:11.2f} "
                  f"{r['ecm_points']:6d} {r['ecm_error']:8.1e} {r['rss_max_mib']:15.0f} {r['rss_sum_mib']:8.0f}")
        if len(results) > 1:
            r1, rn = results[0], results[-1]
            n = rn["ranks"]
            for key in ("pod_s", "ecm_s", "integrand_s"):
                print(f"parallel efficiency {key[:-2]}: {r1[key] / (n * rn[key]):.2f} "
                      f"(T1 {r1[key]:.2f} s, T{n} {rn[key]:.2f} s)")
            tot1 = r1["pod_s"] + r1["ecm_s"] + r1["integrand_s"]
            totn = rn["pod_s"] + rn["ecm_s"] + rn["integrand_s"]
            print(f"parallel efficiency POD+integrand+ECM: {tot1 / (n * totn):.2f}")
            print(f"hardware ceiling on this machine (identical independent work on every rank): "
                  f"QR {cal[0]:.2f}, memory streaming {cal[1]:.2f}")
            same = abs(r1["sv_head"][0] - rn["sv_head"][0]) / r1["sv_head"][0]
            print(f"1 vs {n} ranks: modes {r1['modes']} / {rn['modes']}, sigma_0 rel diff {same:.1e}, "
                  f"ECM points {r1['ecm_points']} / {rn['ecm_points']}")
        print("json: " + json.dumps(results), flush=True)


if __name__ == "__main__":
    sys.exit(main())
