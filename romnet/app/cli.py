"""``romnet`` command line.

Every command has ``--help``. Errors caused by input are printed as one line
``romnet: error: <file>:<place>: <problem>`` with exit status 2 (no traceback; set
``ROMNET_DEBUG=1`` to get one).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from ..errors import ConfigError, RomnetError, printable
from .options import command

#: modules that add sub-commands: each defines ``register(subparsers)`` which adds its
#: parsers with ``set_defaults(func=...)``; ``func(args)`` returns an exit status.
COMMAND_MODULES = (
    "romnet.app.hifi_cli",        # romnet hifi, romnet compare
    "romnet.app.offline_cli",     # romnet offline
    "romnet.app.clustering_cli",  # romnet train, romnet train-merge, romnet cluster
    "romnet.app.online_cli",      # romnet online
    "romnet.app.calibrate_cli",   # romnet calibrate
    "romnet.app.export_cli",      # romnet export
    "romnet.app.rom_cli",         # romnet rom (learned ROM versions)
)


def _progress(msg: str):
    print(msg, flush=True)


# --------------------------------------------------------------------------- commands
def cmd_import(args):
    """import an external code's results into a case store

    Import a case (mesh, problem definition where the adapter reads one, results) from an
    external FE code into an HDF5 case store."""
    from ..adapters import import_case, list_adapters
    if args.list:
        eps = list_adapters()
        if not eps:
            print("no adapters installed")
        for name, ep in sorted(eps.items()):
            try:
                ad = ep.load()
                ok, why = ad.available()
                extras = ", ".join(ad.extras) or "none"
                status = "available" if ok else f"unavailable: {why}"
                print(f"{name:10s} {ad.description}  [extras: {extras}; {status}]")
            except ImportError as exc:
                print(f"{name:10s} cannot be loaded: {exc}")
        return 0
    if not args.code or not args.path or not args.output:
        raise SystemExit("romnet import: usage: romnet import CODE PATH -o STORE.h5 (or --list)")
    from ..store import write_case
    from ..validate import settings_from
    relax = {}
    for item in args.relax or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--relax {item}: expected KEY=VALUE (keys of [validation], docs/adapters.md)")
        relax[key.strip()] = option_value(value.strip(), f"--relax {item}")
    t0 = time.perf_counter()
    case = import_case(args.code, Path(args.path), progress=_progress,
                       validation=settings_from(relax, "--relax"))
    write_case(args.output, case)
    print(f"wrote {args.output} in {time.perf_counter() - t0:.2f} s")
    print(case.summary())
    return 0


def option_value(text, where):
    """A TOML value (``1e12``, ``"warn"``, ``warn``, ``[0, 2000]``) of a command-line option."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    for candidate in (text, f'"{text}"'):
        try:
            return tomllib.loads(f"v = {candidate}")["v"]
        except tomllib.TOMLDecodeError:
            continue
    raise ConfigError(f"{where}: cannot read the value '{printable(text, 60)}'")


def cmd_info(args):
    """summarise a case store

    Mesh size, element types, sets, problem definition, result fields and times of a case
    store, and its ROM (with the calibration of its indicator)."""
    from ..summary import store_summary
    if args.allow_external:
        from ..store import ALLOW_EXTERNAL_ENV
        os.environ[ALLOW_EXTERNAL_ENV] = "1"
    print(store_summary(args.store, stats=not args.no_stats))
    return 0


def cmd_verify_law(args):
    """re-integrate the material law along imported strains

    Re-integrate the store's material law at every integration point along the imported
    total strain and temperature history and compare with the imported stress and cumulated
    plastic strain. Last line: sigma_rel_err=<x> p_rel_err=<y>, preceded by eps_p_rel_err=<z>
    when the series stores the inelastic strain tensor (max over outputs of the relative L2
    norm over integration points)."""
    from ..verify_law import verify_law
    report = verify_law(args.store, series=args.series, progress=_progress)
    print(report.table())
    print(report.summary())
    return 0


def cmd_run(args):
    """run a case directory (case.toml) end to end

    Run the steps a case directory's case.toml lists (docs/architecture.md, "Settings": one
    schema per table)."""
    from .runner import run_case
    steps = [x.strip() for x in args.steps.split(",") if x.strip()] if args.steps is not None else None
    return run_case(args.case, output=args.output, progress=_progress, steps=steps)


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="romnet", description=__doc__.splitlines()[0] + " Reduced-order "
                                "models of nonlinear structural mechanics.")
    from .environment import ReportAction
    p.add_argument("--version", action=ReportAction, help="romnet's version and stack (Python, numpy, ..., "
                   "MPI, PETSc: versions and where they come from), then exit")
    sub = p.add_subparsers(dest="command", required=True)

    s = command(sub, "import", cmd_import)
    s.add_argument("code", nargs="?", help="adapter name (see --list), e.g. zset")
    s.add_argument("path", nargs="?", help="file or directory to import, e.g. case/cube.ut")
    s.add_argument("-o", "--output", help="case store to write (HDF5)")
    s.add_argument("--list", action="store_true", help="list the installed adapters and their extras")
    s.add_argument("--relax", action="append", metavar="KEY=VALUE",
                   help="relax a data check (keys of the [validation] table, e.g. nonfinite=warn, "
                   "max_abs_coordinate=1e12; repeatable; docs/adapters.md)")
    s = command(sub, "info", cmd_info)
    s.add_argument("store", help="case store (HDF5)")
    s.add_argument("--no-stats", action="store_true", help="skip the per-field min / max / NaN counts "
                   "(they read every output)")
    s.add_argument("--allow-external", action="store_true", help="read a store with external links or "
                   "external storage (refused by default: they read other files)")
    s = command(sub, "verify-law", cmd_verify_law)
    s.add_argument("store", help="case store with a problem definition and imported results")
    s.add_argument("--series", default="imported", help="result series to check (default: imported)")
    s = command(sub, "run", cmd_run)
    s.add_argument("case", help="case directory holding case.toml")
    s.add_argument("-o", "--output", help="output folder (default: out/<case name>)")
    s.add_argument("--steps", help="comma-separated steps to run instead of the case's (e.g. cluster,online,"
                   "report on the output folder of an earlier run: one batch job per stage)")

    for module in COMMAND_MODULES:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("romnet"):
                continue  # subsystem not present in this build
            raise
        mod.register(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if argv is None:                 # the command line itself (not a caller's in-process call)
        from ..mpi import abort_on_uncaught
        abort_on_uncaught()
    try:
        return int(args.func(args) or 0)
    except RomnetError as exc:
        if os.environ.get("ROMNET_DEBUG"):
            raise
        print(f"romnet: error: {printable(exc, 2000)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("romnet: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
