"""Cycle extrapolation under mpirun: every rank calls run_cycle_extrapolation; rank 0
writes OUT_DIR/cycles.json (the test compares it with a one-rank run).

usage: cycles_run.py STORE.h5 OUT_DIR SETTINGS_JSON"""
import json
import sys

from romnet import mpi
from romnet.app.cycles import run_cycle_extrapolation

store, out_dir, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
res = run_cycle_extrapolation(store, out_dir, settings, progress=print)
# the returned dict is replicated: check it on every rank against rank 0's
ref = mpi.comm().bcast(res["p_rel_err"], root=0)
assert ref == res["p_rel_err"], "ranks returned different results"
