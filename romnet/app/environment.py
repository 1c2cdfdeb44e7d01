"""The software stack romnet runs on, for ``romnet --version`` and the set-up scripts.

:func:`report` lists romnet, Python and each dependency with its version and the folder it
is imported from (a venv's ``site-packages``, the system's ``dist-packages``, a site
module...), the MPI library behind mpi4py (``MPI.Get_library_version()``, first line) and
the PETSc behind petsc4py (:func:`romnet.hifi.linear.petsc_description`: version, where it
comes from, external solvers). Nothing here fails: a missing or broken package is reported
as such. ``python -m romnet.app.environment`` prints the report; ``--stack`` only its MPI
and PETSc lines.
"""
from __future__ import annotations

import argparse
import importlib
import platform
import sys
from pathlib import Path

__all__ = ["report", "format_report", "ReportAction"]

#: (distribution name, module) of the dependencies reported, in this order
PACKAGES = (("numpy", "numpy"), ("scipy", "scipy"), ("h5py", "h5py"), ("meshio", "meshio"),
            ("scikit-learn", "sklearn"), ("matplotlib", "matplotlib"), ("kmedoids", "kmedoids"),
            ("mpi4py", "mpi4py"))


def _module(name):
    """(version, folder) of an importable module, or (None, why not)."""
    try:
        mod = importlib.import_module(name)
    except Exception as exc:  # ImportError, or a broken binary
        return None, f"not importable ({type(exc).__name__}: {exc})"
    version = getattr(mod, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version
            version = dist_version(name)
        except Exception:
            version = "?"
    return str(version), str(Path(mod.__file__).parent)


def mpi_library():
    """First line of ``MPI.Get_library_version()`` (implementation and version, e.g.
    "Open MPI v4.1.4" / "MPICH Version: 5.0.2"), or None without mpi4py."""
    try:
        from mpi4py import MPI
    except Exception:
        return None
    first = MPI.Get_library_version().strip().splitlines()[0]
    return " ".join(first.replace("\x00", " ").split()).rstrip(",")


def report():
    """[(name, description)] of romnet's stack (see the module docstring)."""
    from .. import __version__
    from ..hifi.linear import petsc_description
    rows = [("romnet", f"{__version__} ({Path(__file__).parents[1]})"),
            ("Python", f"{platform.python_version()} ({sys.executable})")]
    for dist, mod in PACKAGES:
        version, where = _module(mod)
        rows.append((dist, f"{version} ({where})" if version else where))
    lib = mpi_library()
    rows.append(("MPI", lib if lib else "none (mpi4py not importable: one rank only)"))
    p = petsc_description()
    if "error" in p:
        rows.append(("PETSc", f"none: {p['error']} (HF solver: scipy, one rank)"))
    else:
        src = f"PETSC_DIR={p['petsc_dir']}" if p["petsc_dir"] else "PETSc bundled"
        if p["distribution"]:
            src += f" by {p['distribution']}"
        rows.append(("PETSc", f"{p['version']} (petsc4py {p['petsc4py']}; {src}"
                              f"{' ' + p['petsc_arch'] if p['petsc_arch'] else ''}; "
                              f"external packages: {', '.join(p['packages']) or 'none'})"))
    return rows


def format_report(rows=None, names=None):
    """The report as aligned ``name  description`` lines (only ``names`` if given)."""
    rows = report() if rows is None else rows
    return "\n".join(f"{n:<13s}{d}" for n, d in rows if names is None or n in names)


class ReportAction(argparse.Action):
    """argparse action (``--version``): print the report and exit."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(format_report())
        parser.exit()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m romnet.app.environment", description=__doc__.splitlines()[0])
    ap.add_argument("--stack", action="store_true", help="only the MPI and PETSc lines")
    args = ap.parse_args(argv)
    print(format_report(names=("MPI", "PETSc") if args.stack else None))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
