"""The ECM of an enrichment (romnet.offline.ecm.ecm with nnls_solver="qr") on an integrand
split over the ranks by rows.

usage: online_ecm.py CASE.npz OUT.npz   (CASE: G, dV, groups, warm, tol)"""
import sys

import numpy as np

from romnet import mpi
from romnet.offline.ecm import ecm

case, out = sys.argv[1], sys.argv[2]
comm = mpi.comm()
z = np.load(case)
a, b = mpi.local_range(z["G"].shape[0], comm)
res = ecm(z["G"][a:b], z["dV"][a:b], comm, ip_offset=a, tol=float(z["tol"]), groups=z["groups"],
          warm_start=z["warm"], nnls_solver="qr")
if comm.Get_rank() == 0:
    np.savez(out, points=res.points, weights=res.weights, error=res.error, size=comm.Get_size())
