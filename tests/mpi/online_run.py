"""Run the ROM of a store online (under mpirun) and save the results from rank 0: the
reduced points split over the ranks (``distribute_min_work=0``), and replicated on every
rank (the default for a ROM this small).

usage: online_run.py STORE.h5 OUT.npz"""
import sys

import numpy as np

from romnet import mpi
from romnet.online import load_rom
from romnet.online.solver import OnlineOptions

store, out = sys.argv[1], sys.argv[2]
comm = mpi.comm()
res = load_rom(store).run(options=OnlineOptions(distribute_min_work=0))
rep = load_rom(store).run()
# distributed reconstruction: each rank its rows, gathered here for the comparison
n = res.model.n_nodes
a, b = mpi.local_range(n, comm)
U_loc = res.U(slice(a, b))
U = np.concatenate(comm.allgather(U_loc), axis=1)
if comm.Get_rank() == 0:
    np.savez(out, coords=res.coords, U=U, p=res.reconstruct("p"), indicator=res.indicator,
             p_pts=np.asarray(res.point_values["p"]), size=comm.Get_size(), rep_coords=rep.coords,
             rep_p_pts=np.asarray(rep.point_values["p"]))
