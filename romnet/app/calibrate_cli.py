"""``romnet calibrate STORE.h5``: calibrate the online error indicator on validation runs.

Runs the ROM of the store on validation loadings with HF references (stores given with
``--validation``, or ``--samples N`` generated with the training sampler and romnet's HF
solver), fits indicator -> estimated error for the U and p errors, stores the mapping at
``/rom/calibration`` and writes a report (table, fit, plot). Collective under ``mpirun``
(HF runs and ROM runs distributed; rank 0 writes). See :mod:`romnet.online.calibration`.
"""
from __future__ import annotations

from pathlib import Path

from .options import cluster_arg, command, say


def cmd_calibrate(args):
    """calibrate the online error indicator on validation runs with HF references

    Run the ROM of STORE on validation loadings whose HF solution is known, record per
    increment the indicators (relative Gappy residuals of p and of the stress at the reduced
    points) and the true relative U and p errors, fit indicator -> estimated error
    (log-log), report how well it predicts (in sample and leave-one-run-out) and store the
    mapping at /rom/calibration: later online runs then report the estimated error per
    increment, and `romnet online --enrich --criterion estimate --tol X` enriches when the
    estimated U error exceeds X."""
    from ..errors import InputError
    from ..online.calibration import calibrate_rom
    if not args.validation and not args.samples:
        raise InputError("give validation runs: --validation A.h5 [B.h5 ...] and/or --samples N", args.store)
    report = args.report
    if report is None:
        p = Path(args.store)
        report = str(p.with_name(p.stem + "-calibration"))
    cal = calibrate_rom(args.store, validation=args.validation or [], samples=args.samples or 0, seed=args.seed,
                        series=args.series, cluster=cluster_arg(args.cluster), write=not args.dry_run,
                        report=report, save_runs=args.save_runs, progress=say)
    for k, f in cal["fits"].items():
        q = cal["quality"][k][f["indicator"]]["leave_one_run_out"]
        say(f"calibration {k}: indicator {f['indicator']} slope={f['slope']:.4f} intercept={f['intercept']:.4f} "
            f"r2={f['r2']:.4f} loo_factor_median={q['median']:.3g} loo_factor_p90={q['p90']:.3g} "
            f"loo_factor_max={q['max']:.3g}")
    return 0


def register(subparsers):
    s = command(subparsers, "calibrate", cmd_calibrate)
    s.add_argument("store", help="case store holding the ROM (/rom)")
    s.add_argument("--validation", nargs="+", metavar="STORE", help="validation case stores: each holds a loading "
                   "(/problem, same mesh) and an HF result series with U and p (see --series)")
    s.add_argument("--samples", type=int, default=0, help="generate N validation runs: temperatures from the "
                   "training sampler (/training of STORE, else the default hot-spot sampler), HF by romnet")
    s.add_argument("--seed", type=int, default=None, help="seed of the generated runs (default: training seed "
                   "+ 1000; run i uses the seed sequence (seed, i))")
    s.add_argument("--series", default=None, help="HF series of the validation stores (default: 'hifi', or "
                   "the only series holding U and p)")
    s.add_argument("--cluster", default=None, help="local ROM to run (index) or 'global' (default: the "
                   "classifier's choice when the store has local ROMs)")
    s.add_argument("--report", default=None, help="path prefix of the report: PREFIX.txt (table), PREFIX.json "
                   "(fit), PREFIX.png (plot); default STORE-calibration next to the store")
    s.add_argument("--save-runs", default=None, metavar="DIR", help="write the generated validation runs as "
                   "case stores DIR/val_NNN.h5 (reusable with --validation)")
    s.add_argument("--dry-run", action="store_true", help="report only: do not store the mapping")
