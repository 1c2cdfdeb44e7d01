"""Offline-stage benchmark: distributed POD (TSQR, L2 mass product) and ECM (global greedy)
on a synthetic snapshot matrix of a structured c3d8 box, on 1 and N ranks.

Run: ``.venv/bin/mpirun -n 2 .venv/bin/python bench/bench_offline.py [--cells 46]
[--snapshots 200] [--ecm-snapshots 10] [--ecm-modes 8] [--repeat 1]``

The N-rank run is done first on all ranks, then a 1-rank run on rank 0 alone (the other
ranks wait at a barrier). Peak memory = ru_maxrss per rank (max and sum over ranks); the
1-rank run needs more memory per process than the N-rank one, so measuring it second keeps
both peaks meaningful. Parallel efficiency = T_1 / (N T_N) (wall clock); the CPU-work
efficiency = CPU_1 / (sum over the N ranks of CPU_N) is also printed: on a shared machine it
is less sensitive to other jobs (a descheduled rank accrues no CPU time; the MPI wait of
its partner does). ``--repeat R`` does R such
pairs and reports every pair and the median efficiency per stage (the machine is shared:
the 1-minute load average is printed with every run; efficiencies measured at a load
above the number of cores are not meaningful).

Stages: ``POD`` (TSQR + modes), ``integrand`` (Mandel strains of the modes and of the
snapshots, a synthetic elastic stress, the ECM integrand ``G``; sub-times printed),
``ECM`` (greedy; its phases set-up / score / select / nnls printed from
``ECMResult.timings``: ``select`` on N ranks includes the wait for the slowest rank).

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
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one BLAS thread per rank: ranks = cores

import numpy as np
from mpi4py import MPI

from romnet.meshing import box
from romnet.offline.ecm import ecm, internal_force_integrand
from romnet.offline.operators import mode_strains
from romnet.offline.pod import NodalL2, RowLayout, pod


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
    cpu = {}                                           # CPU seconds of this rank per stage
    comm.Barrier()
    t0 = MPI.Wtime()
    L = RowLayout(mesh, comm)
    a, b = L.node_range
    S = snapshots(mesh.coordinates[a:b], args.snapshots)
    comm.Barrier()
    t_gen = MPI.Wtime() - t0
    t0, c0 = MPI.Wtime(), time.process_time()
    basis = pod(S, NodalL2(L), comm, tol=args.pod_tol)
    comm.Barrier()
    t_pod, cpu["pod_s"] = MPI.Wtime() - t0, time.process_time() - c0
    t0, c0 = MPI.Wtime(), time.process_time()
    sub = {}
    k = min(args.ecm_modes, basis.n_modes)
    eps_m = mode_strains(L, basis.modes[:, :k])
    sub["strain_modes"] = MPI.Wtime() - t0
    eps_s = mode_strains(L, S[:, :args.ecm_snapshots])
    sub["strain_snapshots"] = MPI.Wtime() - t0 - sum(sub.values())
    lam, mu = 1.0, 0.7
    sig = eps_s                                        # in place: sig = 2 mu eps + lam tr(eps) I
    tr = eps_s[:, :3].sum(axis=1, keepdims=True)
    sig *= 2 * mu
    sig[:, :3] += lam * tr
    sub["stress"] = MPI.Wtime() - t0 - sum(sub.values())
    G, groups = internal_force_integrand(sig, eps_m)
    sub["G"] = MPI.Wtime() - t0 - sum(sub.values())
    del eps_s, sig, tr
    comm.Barrier()
    t_int, cpu["integrand_s"] = MPI.Wtime() - t0, time.process_time() - c0
    t0, c0 = MPI.Wtime(), time.process_time()
    res = ecm(G, L.local_dV(), comm, ip_offset=L.ip_range[0], tol=args.ecm_tol, groups=groups)
    comm.Barrier()
    t_ecm, cpu["ecm_s"] = MPI.Wtime() - t0, time.process_time() - c0
    cpu_sum = {k: float(v) for k, v in zip(cpu, np.sum(comm.allgather(list(cpu.values())), axis=0))}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # MiB (Linux: KiB)
    rss_all = comm.allgather(rss)
    return dict(ranks=comm.Get_size(), dof=3 * mesh.n_nodes, snapshots=args.snapshots,
                modes=basis.n_modes, pod_s=t_pod, gen_s=t_gen, integrand_s=t_int, ecm_s=t_ecm,
                integrand_parts=sub, ecm_phases=dict(res.timings), ecm_iterations=int(res.iterations),
                cpu_sum=cpu_sum,
                load=os.getloadavg()[0],
                ecm_points=int(res.points.size), ecm_error=res.error, ecm_columns=int(G.shape[1]),
                rss_max_mib=max(rss_all), rss_sum_mib=sum(rss_all),
                sv_head=basis.singular_values[:3].tolist(), sv_last=float(basis.sigma[-1]))


def calibrate(world):
    """Hardware ceiling: the same independent work on every rank, timed on 1 rank then on
    all ranks at once; efficiency = T_1 / T_N (ideal 1). Three kinds of work: Householder
    QR (compute bound, like the TSQR of the POD), ``sum`` of a 160 MB vector, and the ECM
    score pass, a matrix-vector product with a column-major (400 000 x 81) matrix (260 MB,
    out of cache): a memory-bound stage cannot have a better efficiency than its ceiling."""
    from scipy.linalg import lapack
    A = np.random.default_rng(0).random((3200, 200))
    B = np.ones(20_000_000)
    C = np.asfortranarray(np.ones((400_000, 81)))
    v, out = np.ones(81), np.empty(400_000)

    def work():
        t = [MPI.Wtime()]
        for _ in range(10):
            lapack.dgeqrf(A)
        t.append(MPI.Wtime())
        for _ in range(10):
            B.sum()
        t.append(MPI.Wtime())
        for _ in range(10):
            np.dot(C, v, out=out)
        t.append(MPI.Wtime())
        return np.diff(t)

    solo = None
    if world.rank == 0:
        solo = work()
    world.Barrier()
    allr = np.max(world.allgather(work()), axis=0)
    return tuple(solo / allr) if world.rank == 0 else None


def pair(world, mesh, args):
    """(1-rank result, N-rank result) measured as in the module docstring."""
    results = [run(world, mesh, args)]
    if world.size > 1:
        solo = world.Split(0 if world.rank == 0 else MPI.UNDEFINED, 0)
        if world.rank == 0:
            results.insert(0, run(solo, mesh, args))
            solo.Free()
        world.Barrier()
    return results


STAGES = ("pod_s", "integrand_s", "ecm_s")


def report(results, n):
    """Print one pair; returns {stage: efficiency} (N-rank runs only)."""
    hdr = f"{'ranks':>5} {'modes':>5} {'POD s':>8} {'integrand s':>11} {'ECM s':>8} {'points':>6} " \
          f"{'ECM err':>8} {'maxrss/rank MiB':>15} {'sum MiB':>8} {'load':>5}"
    print(hdr)
    for r in results:
        print(f"{r['ranks']:5d} {r['modes']:5d} {r['pod_s']:8.2f} {r['integrand_s']:11.2f} {r['ecm_s']:8.2f} "
              f"{r['ecm_points']:6d} {r['ecm_error']:8.1e} {r['rss_max_mib']:15.0f} {r['rss_sum_mib']:8.0f} "
              f"{r['load']:5.2f}")
    for r in results:
        print(f"  {r['ranks']} rank(s): integrand " + ", ".join(f"{k} {v:.2f}" for k, v in r["integrand_parts"].items())
              + f" s; ECM {r['ecm_iterations']} steps: " + ", ".join(f"{k} {v:.2f}" for k, v in r["ecm_phases"].items())
              + " s")
    if len(results) < 2:
        return {}
    r1, rn = results[0], results[-1]
    eff = {}
    for key in STAGES:
        eff[key] = r1[key] / (n * rn[key])
        print(f"parallel efficiency {key[:-2]}: {eff[key]:.2f} (T1 {r1[key]:.2f} s, T{n} {rn[key]:.2f} s)")
    for key in STAGES:
        eff["cpu_" + key] = r1["cpu_sum"][key] / rn["cpu_sum"][key]
    print("CPU-work efficiency (CPU seconds on 1 rank / CPU seconds summed over the N ranks; "
          "time the process is descheduled by other jobs does not count): "
          + ", ".join(f"{k[:-2]} {eff['cpu_' + k]:.2f}" for k in STAGES))
    tot1, totn = sum(r1[k] for k in STAGES), sum(rn[k] for k in STAGES)
    eff["total"] = tot1 / (n * totn)
    print(f"parallel efficiency POD+integrand+ECM: {eff['total']:.2f}")
    same = abs(r1["sv_head"][0] - rn["sv_head"][0]) / r1["sv_head"][0]
    print(f"1 vs {n} ranks: modes {r1['modes']} / {rn['modes']}, sigma_0 rel diff {same:.1e}, "
          f"ECM points {r1['ecm_points']} / {rn['ecm_points']}")
    return eff


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=46)
    p.add_argument("--snapshots", type=int, default=200)
    p.add_argument("--pod-tol", type=float, default=1e-8)
    p.add_argument("--ecm-snapshots", type=int, default=10)
    p.add_argument("--ecm-modes", type=int, default=8)
    p.add_argument("--ecm-tol", type=float, default=1e-4)
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    world = MPI.COMM_WORLD
    mesh = box("c3d8", args.cells)
    if world.rank == 0:
        print(f"bench_offline: {mesh.n_nodes} nodes ({3 * mesh.n_nodes} DOF), {mesh.n_elements} c3d8, "
              f"{args.snapshots} snapshots, {world.size} rank(s); load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    cal = calibrate(world) if world.size > 1 else None
    effs, allres = [], []
    for rep in range(max(1, args.repeat)):
        results = pair(world, mesh, args)
        if world.rank == 0:
            if args.repeat > 1:
                print(f"--- pair {rep + 1} of {args.repeat}")
            effs.append(report(results, world.size))
            allres.append(results)
    if world.rank == 0:
        if world.size > 1:
            print(f"hardware ceiling on this machine (identical independent work on every rank): "
                  f"QR {cal[0]:.2f}, memory streaming (sum) {cal[1]:.2f}, matrix-vector (ECM pass) {cal[2]:.2f}")
            if len(effs) > 1:
                print("median parallel efficiency over the pairs: " + ", ".join(
                    f"{k.replace('_s', '')} {np.median([e[k] for e in effs]):.2f}" for k in effs[0]))
        print("json: " + json.dumps(allres), flush=True)


if __name__ == "__main__":
    sys.exit(main())
