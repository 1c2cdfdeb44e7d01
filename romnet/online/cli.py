"""``romnet online STORE.h5``: run the ROM of a store on a loading.

Run under ``mpirun -n N romnet online ...`` to split the reduced points over ranks;
progress is printed by rank 0 only.
"""
from __future__ import annotations

from pathlib import Path


def _loading_from_config(path):
    """``[online] loading = "other.h5"`` (relative to the toml file) from a case.toml."""
    from ..config import read_toml
    from ..errors import ConfigError
    p = Path(path)
    tree = read_toml(p)
    sec = tree.get("online", {})
    known = {"loading", "enrich", "tol", "ratio", "cluster", "criterion"}
    unknown = set(sec) - known
    if unknown:
        raise ConfigError(f"{p}: [online]: unknown setting(s) {sorted(unknown)} (known: "
                          f"{', '.join(sorted(known))})")
    if "loading" in sec:
        lp = Path(sec["loading"])
        sec["loading"] = str(lp if lp.is_absolute() else p.parent / lp)
    return sec


def cmd_online(args):
    from .. import mpi
    from .api import load_rom
    from .calibrate_cli import _cluster_arg
    from .solver import OnlineOptions
    cfg = _loading_from_config(args.config) if args.config else {}
    loading = args.loading or cfg.get("loading")
    enrich = args.enrich or bool(cfg.get("enrich", False))
    tol = args.tol if args.tol is not None else float(cfg.get("tol", 1e-3))
    criterion = args.criterion or cfg.get("criterion", "indicator")
    cluster = _cluster_arg(args.cluster if args.cluster is not None else
                           (str(cfg["cluster"]) if "cluster" in cfg else None))
    opts = OnlineOptions(ratio=args.ratio if args.ratio is not None else float(cfg.get("ratio", 1e-8)))
    rom = load_rom(args.store)
    res = rom.run(loading, enrich=enrich, tol=tol, progress=lambda m: mpi.rprint(m), options=opts,
                  cluster=cluster, criterion=criterion)
    n_inc = len(res.times) - 1
    est = "".join(f", max estimated {k} error {v[1:].max():.2e}" for k, v in res.estimated_error.items() if n_inc)
    mpi.rprint(f"online done: {n_inc} increments, ROM {res.selection['label']} ({res.selection['how']}), "
               f"{sum(res.iterations)} Newton iterations, {1e3 * sum(res.seconds) / max(1, n_inc):.2f} ms per "
               f"increment, max indicator {res.indicator.max():.3e}{est}, {len(res.enrichments)} enrichment(s), "
               f"{res.wall_time:.2f} s")
    out = args.output
    if out is None and args.xdmf:
        out = str(Path(args.store).with_name(Path(args.store).stem + "-online.h5"))
    if out:
        src = loading if loading else args.store
        res.save(out, source_store=src, xdmf=args.xdmf)
        mpi.rprint(f"wrote {out} (series 'online')" + (f" and {args.xdmf}" if args.xdmf else ""))
    return 0


def register(subparsers):
    s = subparsers.add_parser(
        "online", help="run the ROM of a store on a loading (reduced Newton, Gappy-POD, enrichment)",
        description="Online stage: Newton on the reduced coordinates with the law at the reduced "
                    "integration points only; dual fields rebuilt by Gappy-POD; error indicator = "
                    "Gappy residual of p; with --enrich, one HF increment enriches the ROM where the "
                    "indicator (or, with --criterion estimate, the calibrated estimate of the U error) exceeds "
                    "--tol (the enriched ROM replaces the store's /rom). The progress says which ROM runs "
                    "(global or local, and how it was chosen).")
    s.add_argument("store", help="case store holding the ROM (/rom, from `romnet offline`)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--loading", help="case store whose problem definition is the new loading "
                   "(same mesh; default: the ROM store's own problem)")
    g.add_argument("--config", help="case.toml whose [online] table gives loading, enrich, tol, ratio, cluster, "
                   "criterion")
    s.add_argument("--cluster", default=None, metavar="K|global", help="with local ROMs (romnet cluster): run "
                   "local ROM K, or the global ROM; default: the stored classifier's choice")
    s.add_argument("--enrich", action="store_true", help="enrich the ROM where the criterion exceeds --tol")
    s.add_argument("--criterion", choices=("indicator", "estimate"), default=None, help="enrichment criterion: "
                   "the raw indicator (relative Gappy residual of p; default) or the estimated U error of the "
                   "stored calibration (romnet calibrate)")
    s.add_argument("--tol", type=float, default=None, help="tolerance of the criterion (default 1e-3)")
    s.add_argument("--ratio", type=float, default=None, help="reduced Newton tolerance (default 1e-8)")
    s.add_argument("-o", "--output", help="write the run (series 'online': U, dual fields) into a copy "
                   "of the loading store")
    s.add_argument("--xdmf", help="also export the run to XDMF (ParaView)")
    s.set_defaults(func=cmd_online)
