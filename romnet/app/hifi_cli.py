"""``romnet hifi`` and ``romnet compare`` sub-commands."""
from __future__ import annotations

from ..hifi.solver import SolverOptions
from .options import command


def cmd_hifi(args):
    """run the HF solver on a store's problem definition

    Run romnet's implicit nonlinear FE solver on the problem definition of a case store
    (e.g. one imported from a Z-set deck), also as `mpirun -n N romnet hifi STORE.h5`.
    Snapshots are written as increments finish; a killed run continues with --resume."""
    from ..hifi import run_hifi
    from ..mpi import is_root
    opts = SolverOptions(linear=args.linear, petsc_options=args.petsc_options or "",
                         max_cuts=args.max_cuts, ratio=args.ratio,
                         max_iterations=args.max_iterations,
                         verbose="iterations" if args.verbose else True)
    progress = print if is_root() else None
    run_hifi(args.store, args.output, resume=args.resume, options=opts, progress=progress)
    return 0


def cmd_compare(args):
    """relative errors of U and p between two stores

    Per-output relative errors (L2 over nodes for U, over integration points for p;
    romnet.metrics.relative_errors) of STORE_A against STORE_B on the same mesh, outputs
    matched by time. Last line: u_rel_err=<max> p_rel_err=<max>."""
    from ..hifi import compare_stores
    print(compare_stores(args.store_a, args.store_b, args.series_a, args.series_b).table())
    return 0


def register(sub):
    s = command(sub, "hifi", cmd_hifi)
    s.add_argument("store", help="case store with mesh and problem definition (never modified)")
    s.add_argument("-o", "--output", help="output store (default: <store>-hifi.h5), series 'hifi'")
    s.add_argument("--resume", action="store_true", help="continue an interrupted run in --output")
    s.add_argument("--linear", choices=["auto", "scipy", "petsc"], default="auto",
                   help="linear solver backend (default auto: PETSc when petsc4py imports)")
    s.add_argument("--petsc-options", default="",
                   help='PETSc options overriding the defaults, e.g. "-ksp_type cg -pc_type gamg"')
    s.add_argument("--max-cuts", type=int, default=SolverOptions.max_cuts,
                   help=f"levels of increment halving (default {SolverOptions.max_cuts})")
    s.add_argument("--ratio", type=float, default=None,
                   help="Newton residual ratio (default: the problem's, e.g. the deck's *ratio)")
    s.add_argument("--max-iterations", type=int, default=None, help="Newton iterations per increment")
    s.add_argument("-v", "--verbose", action="store_true", help="one line per Newton iteration")
    s = command(sub, "compare", cmd_compare)
    s.add_argument("store_a", help="store to check (default series: hifi, else the first)")
    s.add_argument("store_b", help="reference store (default series: imported, else the first)")
    s.add_argument("--series-a", default=None)
    s.add_argument("--series-b", default=None)
