"""A learning sequence under mpirun: two loadings run with enrichment, each run's
enrichments kept as a new ROM version; the second run loads the first one's version from the
store. Rank 0 saves what both runs did. The reduced points are split over the ranks
(``distribute_min_work=0``). DUAL_ONLY (optional): the second run's ``dual_only_below``
(its enrichments below that U error extend only the dual bases).

usage: online_learn.py ROM.h5 LOADING1.h5 LOADING2.h5 TOL OUT.npz [DUAL_ONLY]"""
import sys

import numpy as np

from romnet import mpi
from romnet.hifi import SolverOptions
from romnet.online import load_rom
from romnet.online.solver import OnlineOptions

store, l1, l2, tol, out = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
comm = mpi.comm()
hf = SolverOptions(verbose=False)
split = OnlineOptions(distribute_min_work=0)
r1 = load_rom(store, comm).run(l1, enrich=True, tol=tol, hf_options=hf, options=split)
rom = load_rom(store, comm)                     # a new process would do the same: version from the store
rom.learning = dict(dual_only_below=float(sys.argv[6]) if len(sys.argv) > 6 else 0.0)
r2 = rom.run(l2, enrich=True, tol=tol, hf_options=hf, options=split)
a, b = mpi.local_range(r2.model.n_nodes, comm)
U = np.concatenate(comm.allgather(r2.U(slice(a, b))), axis=1)
if comm.Get_rank() == 0:
    np.savez(out, coords1=r1.coords, coords2=r2.coords, U=U, ind1=r1.indicator, ind2=r2.indicator,
             v1=r1.version, v2=-1 if r2.version is None else r2.version, size=comm.Get_size(),
             enr1=np.array([r["increment"] for r in r1.enrichments]),
             enr2=np.array([r["increment"] for r in r2.enrichments]),
             dual2=np.array([bool(r["dual_only"]) for r in r2.enrichments]),
             err2=np.array([r["error_before"] for r in r2.enrichments]),
             points=r2.model.ip, n_modes=r2.model.n_modes)
