"""mpirun -n N python constraints_run.py DIR OUT.npz [LINEAR]: the featured box of
tests/deck_cases.py (imposed values, equations spanning the partition at y = 0.5, nodal
force, gravity) through the HF solver and the ROM (offline on the HF run, online on a new
loading). Saves on rank 0: the HF displacements of both loadings, the ROM's on the new one,
and how many equations have DOFs owned by different ranks."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deck_cases import NEW_TABLES, featured_box  # noqa: E402
from romnet.hifi import HFSolver, SolverOptions  # noqa: E402
from romnet.mpi import comm  # noqa: E402
from romnet.offline.pipeline import run_offline  # noqa: E402
from romnet.online import load_rom  # noqa: E402
from romnet.store import CaseStore, write_case  # noqa: E402

folder, out = Path(sys.argv[1]), sys.argv[2]
linear = sys.argv[3] if len(sys.argv) > 3 else "auto"
c = comm()
PINNED = "-ksp_type preonly -pc_type lu -pc_factor_mat_solver_type mumps"
train, new = featured_box(partition=True), featured_box(partition=True, tables=NEW_TABLES)
if c.Get_rank() == 0:
    write_case(folder / "train.h5", train)
    write_case(folder / "new.h5", new)
c.Barrier()
Us = {}
spanning = 0
for name, case in (("train", train), ("new", new)):
    s = HFSolver(case.mesh, case.problem, comm=c,
                 options=SolverOptions(linear=linear, verbose=False, petsc_options=PINNED))
    res = s.run(store_out=folder / f"{name}-hifi.h5", store_in=folder / f"{name}.h5", progress=None)
    lay = s.layout
    d = case.mesh.dim
    for cons in case.problem.constraints:
        for a, b in zip(cons.offsets[:-1], cons.offsets[1:]):
            spanning += np.unique(lay.node_owner[cons.nodes[a:b]]).size > 1
    s.close()
    c.Barrier()
    if c.Get_rank() == 0:
        with CaseStore(folder / f"{name}-hifi.h5") as st:
            Us[name] = st.read_field("hifi", "U")
run_offline(folder / "train-hifi.h5", {"series": "hifi", "pod_tol": 1e-12, "ecm_tol": 1e-8, "dual_fields": ["stress"]},
            comm=c, progress=None)
rom = load_rom(folder / "train-hifi.h5", comm=c).run(loading=folder / "new.h5")
U_rom = rom.U()
if c.Get_rank() == 0:
    np.savez(out, U_train=Us["train"], U_new=Us["new"], U_rom=U_rom, spanning=spanning, size=c.Get_size(),
             lift=rom.lift)
    print("done", c.Get_size())
