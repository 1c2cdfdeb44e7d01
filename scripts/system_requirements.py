"""Which of romnet's requirements the running Python already has (system / site packages).

    python scripts/system_requirements.py [--extras test,ansys] [--constraints FILE]

Prints, one per line, the requirements of ``setup.cfg`` (install_requires + the extras)
that no installed distribution satisfies: what pip must add. With ``--constraints``, writes
``name==version`` of the installed MPI / numpy stack (``STACK``: always, so pip refuses a
requirement the stack does not meet rather than shadow it) and of every requirement the
system satisfies, so that pip adds packages without replacing the system's numpy, mpi4py,
petsc4py, scipy... (a numpy 2 from PyPI would break the ABI of Debian's petsc4py and
scipy); other system packages (pure Python: typing_extensions...) may be shadowed in the
venv by newer ones that an added package needs (pyvista 0.49 needs typing_extensions >=
4.10, Debian 12 has 4.4). Used by ``scripts/ensure-env.sh`` in ``ROMNET_MPI=system`` mode,
before romnet itself is installed with ``--no-deps``.

A distribution counts under its own name or under a Debian alias: Debian 12 ships h5py
as ``h5py._debian_h5py_serial`` (Name: ``h5py.-debian-h5py-serial``), which pip does not recognise as ``h5py``.
Exit status 2 (message on stderr) when setup.cfg cannot be read.
"""
from __future__ import annotations

import argparse
import configparser
import re
import sys
from importlib import metadata
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.version import InvalidVersion, Version
except ImportError:  # pragma: no cover - pip always vendors it
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.version import InvalidVersion, Version


#: never replaced in the venv when installed: MPI, PETSc and what is compiled against numpy
STACK = ("numpy", "scipy", "mpi4py", "petsc4py", "h5py", "matplotlib", "scikit-learn")


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(aliases=True):
    """{normalized name: version} of every installed distribution (first on sys.path
    wins), with the Debian aliases (``h5py._debian_h5py_serial`` -> ``h5py``) if
    ``aliases``."""
    out = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        out.setdefault(_norm(name), dist.version)
        m = re.match(r"([A-Za-z0-9]+)\.[-_]debian[-_]", name)
        if m and aliases:
            out.setdefault(_norm(m.group(1)), dist.version)
    return out


def _valid(version):
    try:
        Version(version)
        return True
    except InvalidVersion:
        return False


def requirements(setup_cfg, extras):
    cfg = configparser.ConfigParser()
    if not cfg.read(setup_cfg):
        raise SystemExit(f"system_requirements: cannot read {setup_cfg}")
    lines = cfg.get("options", "install_requires").splitlines()
    for extra in extras:
        lines += cfg.get("options.extras_require", extra, fallback="").splitlines()
    reqs = [Requirement(s.strip()) for s in lines if s.strip() and not s.strip().startswith("#")]
    return [r for r in reqs if r.marker is None or r.marker.evaluate()]


def missing(reqs, have):
    """Requirements not satisfied by ``have`` (installed distributions)."""
    return [r for r in reqs if not (_norm(r.name) in have
                                    and r.specifier.contains(have[_norm(r.name)], prereleases=True))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setup-cfg", default=str(Path(__file__).resolve().parents[1] / "setup.cfg"))
    ap.add_argument("--extras", default="", help="comma-separated extras of setup.cfg")
    ap.add_argument("--constraints", help="write name==version of the installed distributions here")
    args = ap.parse_args(argv)
    have = installed()
    reqs = requirements(args.setup_cfg, [e for e in args.extras.split(",") if e])
    for r in missing(reqs, have):
        if _norm(r.name) in have:
            print(f"system_requirements: installed {r.name} {have[_norm(r.name)]} does not satisfy "
                  f"'{r}': pip adds another one in the venv", file=sys.stderr)
        print(str(r))
    if args.constraints:   # under their own names only: pip knows no alias
        todo = {_norm(r.name) for r in missing(reqs, have)}
        keep = ({_norm(r.name) for r in reqs} - todo) | {_norm(n) for n in STACK}
        pins = sorted(f"{n}=={v}" for n, v in installed(aliases=False).items() if n in keep and _valid(v))
        Path(args.constraints).write_text("\n".join(pins) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
