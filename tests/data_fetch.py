"""Test data fetched from PyPI packages, cached under ``.venv/test-data/``.

* :func:`pybaqus_dir`: the ``pybaqus`` source distribution (real ASCII Abaqus ``.fil``
  files in ``tests/abaqus/fil``), fetched with
  ``pip download --no-deps --no-binary :all: pybaqus -d .venv/test-data/pybaqus`` and
  unpacked once. The test is skipped, saying why, when it cannot be fetched (offline).
* :func:`ansys_examples`: the example ``.rst`` files shipped with ``ansys-mapdl-reader``
  (the optional extra ``romnet[ansys]``); skipped when the package is not installed.
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".venv" / "test-data"


def pybaqus_dir() -> Path:
    """Unpacked pybaqus sdist folder (contains tests/abaqus/fil/*.fil)."""
    cache = CACHE / "pybaqus"
    found = sorted(cache.glob("pybaqus-*/tests/abaqus/fil"))
    if found:
        return found[-1].parents[2]
    tars = sorted(cache.glob("pybaqus-*.tar.gz"))
    if not tars:
        cache.mkdir(parents=True, exist_ok=True)
        try:
            res = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                                  ":all:", "pybaqus", "-d", str(cache)], capture_output=True, text=True,
                                 timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"cannot fetch the pybaqus sdist ({exc})")
        tars = sorted(cache.glob("pybaqus-*.tar.gz"))
        if res.returncode != 0 or not tars:
            pytest.skip("cannot fetch the pybaqus sdist with pip download (offline?): "
                        + (res.stderr.strip().splitlines() or ["?"])[-1])
    with tarfile.open(tars[-1]) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(cache, filter="data")
        else:  # Python < 3.11.4 (Debian 12's 3.11.2): no extraction filters, check the names
            bad = [m.name for m in tf.getmembers() if m.name.startswith("/") or ".." in Path(m.name).parts
                   or not (m.isfile() or m.isdir())]
            if bad:
                pytest.fail(f"{tars[-1]}: unsafe member(s) {bad[:3]}")
            tf.extractall(cache)
    found = sorted(cache.glob("pybaqus-*/tests/abaqus/fil"))
    if not found:
        pytest.skip(f"{tars[-1].name} has no tests/abaqus/fil folder")
    return found[-1].parents[2]


def pybaqus_fil_files() -> list:
    return sorted((pybaqus_dir() / "tests" / "abaqus" / "fil").glob("*.fil"))


def ansys_examples() -> list:
    """Paths of the example .rst files of ansys-mapdl-reader (skip if not installed)."""
    try:
        from ansys.mapdl.reader import examples
    except ImportError:
        pytest.skip("ansys-mapdl-reader not installed (pip install romnet[ansys])")
    folder = Path(examples.__file__).parent
    files = sorted(folder.rglob("*.rst"))
    if not files:
        pytest.skip(f"no example .rst file in {folder}")
    return files


def muscat_geo_reader():
    """muscat's binary Z-set mesh reader ``Muscat.IO.GeoReader.ReadGeo`` and the folder of
    muscat's test data (holding the real Z-set file ``cube.geo``).

    muscat (BSD-3, PyPI) is a test-only reference: installed once with
    ``pip install --no-deps --target .venv/test-data/muscat muscat sympy mpmath`` (its
    reader needs numpy, scipy and sympy only; ~30 s; the full dependency set pulls cvxpy,
    ~2 min). Skipped, saying why, when it cannot be fetched (offline)."""
    target = CACHE / "muscat"
    if not (target / "Muscat").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        try:
            res = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                                  "--disable-pip-version-check", "--target", str(target), "muscat",
                                  "sympy", "mpmath"], capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"cannot install muscat ({exc})")
        if res.returncode != 0 or not (target / "Muscat").is_dir():
            pytest.skip("cannot install muscat with pip (offline?): "
                        + (res.stderr.strip().splitlines() or ["?"])[-1])
    if str(target) not in sys.path:
        sys.path.append(str(target))
    from Muscat.IO.GeoReader import ReadGeo
    return ReadGeo, target / "Muscat" / "TestData"
