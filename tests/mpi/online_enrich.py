"""Online run with adaptive enrichment (under mpirun); rank 0 saves the results. Then the
stored ROM with the full quadrature (``Enricher.full_quadrature``): its weights, strain modes
and the reduced coordinates of its run on the loading.

usage: online_enrich.py ROM.h5 LOADING.h5 TOL OUT.npz   (the ROM store is not updated; the
reduced points split over the ranks: ``distribute_min_work=0``)"""
import sys

import numpy as np

from romnet import mpi
from romnet.hifi import SolverOptions
from romnet.online import load_rom
from romnet.online.solver import OnlineOptions

store, loading, tol, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
comm = mpi.comm()
opts = OnlineOptions(distribute_min_work=0)
res = load_rom(store).run(loading, enrich=True, tol=tol, update_store=False,
                          hf_options=SolverOptions(verbose=False), options=opts)
rom = load_rom(store)
full = rom.enricher().full_quadrature(rom.models[0])
rom.models[0] = full
res_full = rom.run(loading, options=opts)
a, b = mpi.local_range(res.model.n_nodes, comm)
U = np.concatenate(comm.allgather(res.U(slice(a, b))), axis=1)
if comm.Get_rank() == 0:
    np.savez(out, coords=res.coords, U=U, indicator=res.indicator, size=comm.Get_size(),
             enriched=np.array([r["increment"] for r in res.enrichments]),
             redo_vs_hf=np.array([r["redo_vs_hf"] for r in res.enrichments]),
             points=res.model.ip, n_modes=res.model.n_modes, full_weights=full.weights,
             full_strain_modes=full.strain_modes, full_coords=res_full.coords)
