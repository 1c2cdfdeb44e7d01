"""A sample that starts a new local ROM, under mpirun: the classifier's local ROM runs a new
temperature field with enrichment (kept as version 1), the sample then starts a new local ROM
(version 2: that local ROM back to version 0, the classifier refitted), and a second run of the
same field, from the store, on the local ROM the new classifier chooses. Rank 0 saves what
happened. The reduced points are split over the ranks (``distribute_min_work=0``).

usage: new_local_rom.py FAMILY.h5 N_INC TOL OUT.npz"""
import copy
import sys

import numpy as np

from romnet import mpi
from romnet.hifi import SolverOptions
from romnet.offline.rom_store import resolve_version
from romnet.online import load_rom
from romnet.online.solver import OnlineOptions
from romnet.sampling import HotSpotSampler, sample_parameters, temperature_field, with_temperature
from romnet.store import CaseStore

store, n_inc, tol, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
comm = mpi.comm()
hf = SolverOptions(verbose=False)
split = OnlineOptions(distribute_min_work=0)
with CaseStore(store) as st:
    x, pb0 = st.mesh().coordinates, st.problem()
t = np.asarray(pb0.stepping.times, dtype=float)
pb0.stepping = copy.copy(pb0.stepping)
pb0.stepping.times = np.linspace(t[0], t[-1], n_inc + 1)
sampler = HotSpotSampler(dim=3)
pb = with_temperature(pb0, temperature_field(x, sample_parameters([7, 0], sampler)), sampler.t_ref)
rom = load_rom(store, comm)
v0 = resolve_version(store)
r1 = rom.run(pb, enrich=True, tol=tol, hf_options=hf, options=split)
made = rom.start_local_rom(pb, r1, v0, dict(sample=0))
r2 = load_rom(store, comm).run(pb, enrich=True, tol=tol, hf_options=hf, options=split)
a, b = mpi.local_range(r2.model.n_nodes, comm)
U = np.concatenate(comm.allgather(r2.U(slice(a, b))), axis=1)
if comm.Get_rank() == 0:
    np.savez(out, size=comm.Get_size(), coords1=r1.coords, coords2=r2.coords, U=U, enr1=len(r1.enrichments),
             enr2=len(r2.enrichments), cluster1=r1.cluster, cluster2=r2.cluster, new=made["cluster"],
             version=made["version"], n_modes=[m.n_modes for m in rom.models], points=r2.model.ip)
