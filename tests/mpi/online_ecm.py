"""ECM update (romnet.online.ecm_update) on an integrand split over the ranks by rows.

usage: online_ecm.py CASE.npz OUT.npz   (CASE: G, dV, groups, warm, tol)"""
import sys

import numpy as np

from romnet import mpi
from romnet.online.ecm_update import ecm_update

case, out = sys.argv[1], sys.argv[2]
comm = mpi.comm()
z = np.load(case)
a, b = mpi.local_range(z["G"].shape[0], comm)
res = ecm_update(z["G"][a:b], z["dV"][a:b], comm, ip_offset=a, tol=float(z["tol"]), groups=z["groups"],
                 warm_start=z["warm"])
if comm.Get_rank() == 0:
    np.savez(out, points=res.points, weights=res.weights, error=res.error, size=comm.Get_size())
