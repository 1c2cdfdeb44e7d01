"""mpirun -n N python formulations_run.py CASE DIR OUT.npz: HF run, offline and online ROM of
a generated case on the new element formulations (CASE: plate (cps4, plastic), cylinder
(cax8, plastic), beam (c3d8r, plastic)); saves on rank 0 the HF and ROM displacements
(outputs, n_nodes, dim) and the ROM's reduced hourglass operator (beam)."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from formulation_cases import beam_case, cylinder_case, plate_case  # noqa: E402
from romnet import mpi  # noqa: E402
from romnet.case import Case  # noqa: E402
from romnet.hifi import SolverOptions  # noqa: E402
from romnet.hifi.solver import run_hifi  # noqa: E402
from romnet.offline.pipeline import run_offline  # noqa: E402
from romnet.online import load_rom  # noqa: E402
from romnet.offline.rom_store import read_rom  # noqa: E402
from romnet.store import CaseStore, write_case  # noqa: E402

CASES = {"plate": lambda: plate_case("cps4"), "cylinder": lambda: cylinder_case("cax8", plastic=True, p=150.0),
         "beam": lambda: beam_case("c3d8r", plastic=True, p=4.0)}
name, folder, out = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
c = mpi.comm()
mesh, problem = CASES[name]()
src, hf = folder / f"{name}.h5", folder / f"{name}-hifi.h5"
if c.Get_rank() == 0:
    write_case(src, Case(mesh, problem, {}, {}))
c.Barrier()
PINNED = "-ksp_type preonly -pc_type lu -pc_factor_mat_solver_type mumps"
run_hifi(src, hf, options=SolverOptions(verbose=False, petsc_options=PINNED), progress=None, comm=c)
c.Barrier()  # rank 0 writes the HF store
run_offline(hf, {"series": "hifi", "pod_tol": 1e-8, "ecm_tol": 1e-8}, comm=c, progress=None)
c.Barrier()
res = load_rom(hf, comm=c).run()
n = res.model.n_nodes
a, b = mpi.local_range(n, c)
U_rom = np.concatenate(c.allgather(res.U(slice(a, b))), axis=1)
if c.Get_rank() == 0:
    with CaseStore(hf) as st:
        U_hf = st.read_field("hifi", "U")
    hg = read_rom(hf, modes=False)["operators"].get("hourglass", {})
    np.savez(out, U_hf=U_hf, U_rom=U_rom, hourglass=np.asarray(hg.get("matrices", np.zeros(0))),
             size=c.Get_size())
