"""``romnet online STORE.h5``: run the ROM of a store on a loading.

Run it under ``mpirun -n N romnet online ...`` to split the reduced points over ranks;
progress is printed by rank 0 only. Settings: :class:`romnet.online.settings.OnlineSettings`
(``--config``: the ``[online]`` table of a case.toml, the dialect of ``romnet run``; the
options override it).
"""
from __future__ import annotations

from pathlib import Path

from ..online.settings import CRITERIA, OnlineSettings
from .options import cluster_arg, command, say, settings


def cmd_online(args):
    """run the ROM of a store on a loading (reduced Newton, Gappy-POD, enrichment)

    Online stage: Newton on the reduced coordinates with the law at the reduced integration
    points only; dual fields rebuilt by Gappy-POD; error indicator = Gappy residual of p;
    with --enrich, one HF increment enriches the ROM that runs (global or local) where the
    indicator (or, with --criterion estimate, the calibrated estimate of the U error)
    exceeds --tol; what it learned is kept as a new ROM version of the store (--frozen: not
    kept, a reproducible reference run). The progress says which ROM runs (global or local,
    and how it was chosen)."""
    from ..online.api import load_rom
    from ..online.settings import cluster_choice, solver_options
    on = settings(args, "online", dict(loading=args.loading, tolerance=args.tol, ratio=args.ratio,
                                       criterion=args.criterion, enrich=args.enrich or None))
    if "samples" in on:
        from ..errors import ConfigError
        raise ConfigError(f"{args.config}: [online] samples: a Monte Carlo runs in `romnet run` (the step online); "
                          "romnet online runs one loading")
    cluster = cluster_arg(args.cluster) if args.cluster is not None else on["cluster"]
    loading = on.get("loading")
    rom = load_rom(args.store)
    rom.learning = settings(args, "learning", dict(learn=False if args.frozen else None))
    res = rom.run(loading, enrich=on["enrich"], tol=on["tolerance"], progress=say, options=solver_options(on),
                  cluster=cluster_choice(cluster), criterion=on["criterion"], stress_tol=on.get("stress_tolerance"))
    n_inc = len(res.times) - 1
    est = "".join(f", max estimated {k} error {v[1:].max():.2e}" for k, v in res.estimated_error.items() if n_inc)
    say(f"online done: {n_inc} increments, ROM {res.selection['label']} ({res.selection['how']}), "
        f"{sum(res.iterations)} Newton iterations, {1e3 * sum(res.seconds) / max(1, n_inc):.2f} ms per "
        f"increment, max indicator {res.indicator.max():.3e}{est}, {len(res.enrichments)} enrichment(s), "
        f"{res.wall_time:.2f} s" + (f"; learned ROM version {res.version}" if res.version else ""))
    out = args.output
    if out is None and args.xdmf:
        out = str(Path(args.store).with_name(Path(args.store).stem + "-online.h5"))
    if out:
        res.save(out, source_store=loading or args.store, xdmf=args.xdmf)
        say(f"wrote {out} (series 'online')" + (f" and {args.xdmf}" if args.xdmf else ""))
    return 0


def register(subparsers):
    s = command(subparsers, "online", cmd_online)
    s.add_argument("store", help="case store holding the ROM (/rom, from `romnet offline`)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--loading", help="case store whose problem definition is the new loading "
                   "(same mesh; default: the ROM store's own problem)")
    g.add_argument("--config", help="case.toml whose [online] table (the keys of romnet run: loading, enrich, "
                   "tolerance, ratio, cluster, criterion) gives the settings")
    s.add_argument("--cluster", default=None, metavar="K|global", help="with local ROMs (romnet cluster): run "
                   "local ROM K, or the global ROM; default: the stored classifier's choice")
    s.add_argument("--enrich", action="store_true", help="enrich the ROM where the criterion exceeds --tol "
                   "(kept as a new ROM version: the ROM learns)")
    s.add_argument("--frozen", action="store_true", help="with --enrich: do not keep the enrichments (the "
                   "next run starts from the same ROM: reproducible reference runs)")
    s.add_argument("--criterion", choices=CRITERIA, default=None, help="enrichment criterion: the raw "
                   "indicator (relative Gappy residual of p; default) or the estimated U error of the stored "
                   "calibration (romnet calibrate)")
    s.add_argument("--tol", type=float, default=None,
                   help=f"tolerance of the criterion (default {OnlineSettings.tolerance:g})")
    s.add_argument("--ratio", type=float, default=None, help="reduced Newton tolerance (default: "
                   "romnet.online.solver.OnlineOptions.ratio)")
    s.add_argument("-o", "--output", help="write the run (series 'online': U, dual fields) into a copy "
                   "of the loading store")
    s.add_argument("--xdmf", help="also export the run to XDMF (ParaView)")
