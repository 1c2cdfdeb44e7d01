"""mpirun -n N python hifi_run.py CASE OUT.npz [RATIO] [LINEAR] [ASSEMBLY]: run the HF solver on a Z-set case
(CASE: a Z-set case folder name under ../shared/data/zset, 'box' for a generated
elastoplastic box, 'crystal' / 'crystal_theta_method_a' for the generated single-crystal cube) and save U (outputs, n_nodes, dim), p (outputs, n_ip) and the times on
rank 0 (ASSEMBLY: PETSc matrix assembly, coo or csr; default: petsc4py's best). Each rank
also checks it owns a non-empty part of the mesh."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from romnet.hifi import HFSolver, SolverOptions  # noqa: E402
from romnet.mpi import comm  # noqa: E402

name, out = sys.argv[1], sys.argv[2]
ratio = float(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] != "-" else None
linear = sys.argv[4] if len(sys.argv) > 4 else "auto"
assembly = sys.argv[5] if len(sys.argv) > 5 else None
if name == "box":
    from hifi_cases import box_plastic_case
    mesh, problem = box_plastic_case()
elif name.startswith("crystal"):                       # crystal / crystal_theta_method_a
    from hifi_cases import crystal_cube_case
    mesh, problem = crystal_cube_case("theta_method_a" if name.endswith("theta_method_a") else "runge_kutta",
                                      n=(3, 2, 2))
else:
    from adapters.zset import ADAPTER
    zdir = Path(__file__).resolve().parents[3] / "shared" / "data" / "zset" / name
    case = ADAPTER.read(zdir if name == "MecaParallel" else zdir / "cube.ut")
    mesh, problem = case.mesh, case.problem
c = comm()
# MUMPS LU pinned (whatever the size-based default is): a direct solve makes 1 and N ranks
# agree to round-off, which the 1e-10 check of test_hifi_mpi.py relies on
PINNED = "-ksp_type preonly -pc_type lu -pc_factor_mat_solver_type mumps"
solver = HFSolver(mesh, problem, comm=c, options=SolverOptions(linear=linear, ratio=ratio, verbose=False,
                                                             petsc_options=PINNED, petsc_assembly=assembly))
assert solver.model.n_ip > 0, "a rank got no element"
state = solver.initial_state()
Us, ps, ts, its = [], [], [], []
for t, _, _ in solver.schedule()[1:]:
    state, info = solver.step(state, t)
    U = solver.gather_U(state)
    p, _ = solver.model.plastic_fields(state.states)
    pg = solver.gather_ip(p[:, None])
    its.append(info.iterations)
    if c.Get_rank() == 0:
        Us.append(U)
        ps.append(pg[:, 0])
        ts.append(t)
counts = c.gather(solver.model.n_ip, root=0)
if c.Get_rank() == 0:
    np.savez(out, U=np.array(Us), p=np.array(ps), times=np.array(ts), iterations=np.array(its),
             n_ip_per_rank=np.array(counts), backend=solver.backend.name,
             assembly=getattr(getattr(solver.backend, "assembly", None), "kind", "none"))
    print("done", c.Get_size(), its)
