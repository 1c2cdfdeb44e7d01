"""Run under mpirun -n 2: each rank reads only its block of nodes; the blocks add up."""
import sys

import numpy as np
from mpi4py import MPI

from romnet.mpi import local_range
from romnet.store import CaseStore

comm = MPI.COMM_WORLD
path = sys.argv[1]
with CaseStore(path) as st:
    n_nodes = st.field_info("imported", "U")["n_points"]
    a, b = local_range(n_nodes, comm)
    mine = st.read_field("imported", "U", points=slice(a, b))
    full = st.read_field("imported", "U") if comm.rank == 0 else None
local = np.array([np.sum(mine ** 2)])
total = np.zeros(1)
comm.Allreduce(local, total, op=MPI.SUM)
counts = comm.allgather(b - a)
if comm.rank == 0:
    assert sum(counts) == n_nodes and all(c > 0 for c in counts), counts
    assert np.isclose(total[0], np.sum(full ** 2), rtol=1e-14), (total, np.sum(full ** 2))
    print(f"OK {comm.size} ranks, counts {counts}", flush=True)
