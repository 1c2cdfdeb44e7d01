"""Greedy training under mpirun: the family of a case store (a copy per run), rank 0
saves the report (chosen runs, scores) as JSON.

usage: greedy_run.py STORE.h5 OUT.json SAMPLES POOL INITIAL INCREMENTS"""
import json
import sys

from romnet import mpi
from romnet.online.greedy_training import run_greedy_training

store, out = sys.argv[1], sys.argv[2]
samples, pool, initial, incs = map(int, sys.argv[3:7])
comm = mpi.comm()
rep = run_greedy_training(store, samples, seed=0, pool=pool, initial=initial, n_increments=incs,
                          offline={"pod_tol": 1e-3, "ecm_tol": 1e-3}, comm=comm, progress=None)
if comm.Get_rank() == 0:
    with open(out, "w") as fh:
        json.dump(dict(size=comm.Get_size(), choices=rep["choices"], scores=rep["scores"],
                       modes=rep["final_rom"]["modes"], n_points=rep["final_rom"]["n_points"]), fh)
