"""Run under mpirun -n N: offline pipeline on a store + synthetic POD/update/ECM/QDEIM on a
two-block box mesh; rank 0 saves the results (gathered, test only) to an .npz for
tests/test_offline_mpi.py to compare between 1 and 2 ranks.

usage: offline_compare.py STORE.h5 OUT.npz
"""
import sys

import numpy as np
from mpi4py import MPI

from romnet.mesh import ElementBlock, Mesh
from romnet.meshing import box
from romnet.offline.ecm import ecm, internal_force_integrand
from romnet.offline.operators import mode_strains
from romnet.offline.pipeline import run_offline
from romnet.offline.pod import IntegL2, NodalL2, RowLayout, pod, pod_update
from romnet.offline.qdeim import qdeim_points
from romnet.offline.rom_store import read_modes, read_rom

comm = MPI.COMM_WORLD
store, out = sys.argv[1], sys.argv[2]
res = {}

# ---------------------------------------------------------------- pipeline on the store
rep = run_offline(store, {"pod_tol": 1e-6, "ecm_tol": 1e-5}, comm=comm, progress=None)
if comm.rank == 0:
    rom = read_rom(store)
    res["store_sv_U"] = rom["pod"]["U"]["singular_values"]
    res["store_modes_U"] = read_modes(store, "U")
    res["store_sv_stress"] = rom["pod"]["stress"]["singular_values"]
    res["store_modes_stress"] = read_modes(store, "stress")
    res["store_points"] = rom["points"]["ip"]
    res["store_weights"] = rom["points"]["weight"]
    res["store_ecm_error"] = rom["ecm"]["error"]
    res["store_strain_modes"] = rom["operators"]["strain_modes"]
    res["store_pressure"] = rom["operators"]["loads"]["pressure"]["000"]["phi_f"]
    res["store_centrifugal"] = rom["operators"]["loads"]["centrifugal"]["000"]["phi_f"]

# ---------------------------------------------------------------- synthetic, two blocks
base = box("c3d8", 7)
conn = base.blocks[0].connectivity
h = conn.shape[0] // 2 + 5
mesh = Mesh(base.coordinates, base.node_ids,
            [ElementBlock("c3d8", conn[:h], np.arange(h)), ElementBlock("c3d8", conn[h:], np.arange(h, conn.shape[0]))])
L = RowLayout(mesh, comm)
X = mesh.coordinates
m = 16
rng = np.random.default_rng(7)
freq = rng.normal(size=(m, 3, 3))
# smooth fields, every rank evaluates only its own nodes
a, b = L.node_range
Xo = X[a:b]
S = np.stack([np.sin(Xo @ freq[j]) * (0.5 ** j) for j in range(m)], axis=-1).reshape(-1, m)
inner = NodalL2(L)
full = pod(S, inner, comm, tol=None)
upd = pod_update(pod(S[:, :9], inner, comm, tol=None), S[:, 9:], inner, comm)


def gather_rows(A):
    parts = comm.gather(A, root=0)
    return np.vstack(parts) if comm.rank == 0 else None


res["syn_sv"] = full.singular_values
res["syn_modes"] = gather_rows(full.modes)
res["syn_upd_sv"] = upd.singular_values
res["syn_upd_modes"] = gather_rows(upd.modes)
# ECM on a synthetic stress = strain of the snapshots (elastic-like)
eps_s = mode_strains(L, S)                          # (n_ip_local, 6, m)
eps_m = mode_strains(L, full.modes[:, :6])
G, groups = internal_force_integrand(eps_s, eps_m)
r = ecm(G, L.local_dV(), comm, ip_offset=L.ip_range[0], tol=1e-6, groups=groups)
res["syn_ecm_points"] = r.points
res["syn_ecm_weights"] = r.weights
res["syn_ecm_error"] = r.error
# the same with a candidate pool (the enrichments' greedy: global pool threshold)
rp = ecm(G, L.local_dV(), comm, ip_offset=L.ip_range[0], tol=1e-6, groups=groups, pool=150)
res["pool_points"], res["pool_weights"], res["pool_error"] = rp.points, rp.weights, rp.error
res["pool_refreshes"], res["pool_steps"] = rp.timings["pool_refreshes"], rp.iterations
# + a self-equilibrated "snapshot" (residual stresses after unloading): the stress of
# snapshot 0 minus its dV-projection on the mode strains, so its reduced forces vanish to
# round-off; ECM measures it against ZERO_TOL x its integrand's magnitude
dV = L.local_dV()
s0 = eps_s[:, :, 0]
Ew = eps_m * dV[:, None, None]
gram = comm.allreduce(np.einsum("qci,qcj->ij", Ew, eps_m))
rhs = comm.allreduce(np.einsum("qci,qc->i", Ew, s0))
se = s0 - np.einsum("qci,i->qc", eps_m, np.linalg.solve(gram, rhs))
sig2 = np.concatenate([eps_s, se[:, :, None]], axis=2)
G2, groups2 = internal_force_integrand(sig2, eps_m)
r2 = ecm(G2, dV, comm, ip_offset=L.ip_range[0], tol=1e-6, groups=groups2)
res["se_ratio"] = np.linalg.norm(comm.allreduce(G2[:, groups2 == m].T @ dV)) / \
    np.linalg.norm(comm.allreduce(np.abs(G2[:, groups2 == m]).T @ dV))
res["se_points"], res["se_weights"], res["se_error"] = r2.points, r2.weights, r2.error
res["se_converged"] = r2.converged
# QDEIM of a dual basis of a scalar field without exact ties between integration points
# (|eps| of the snapshots; a single strain component of trilinear fields has equal values
# at ips that differ only in one reference coordinate, where the choice is round-off)
pfield = np.sqrt(np.einsum("qcj,qcj->qj", eps_s, eps_s))
dual = pod(pfield, IntegL2(L, 1), comm, tol=1e-8)
res["syn_qdeim"] = qdeim_points(dual.modes, 1, comm, L.ip_range[0])
res["syn_dual_sv"] = dual.singular_values
if comm.rank == 0:
    np.savez(out, **res)
    print(f"OK {comm.size} ranks: {rep['modes']} {rep['n_points']} points", flush=True)
