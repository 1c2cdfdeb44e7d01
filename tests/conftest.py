"""Shared fixtures: paths to the shared Z-set data and a small synthetic case."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from romnet.case import Case
from romnet.mesh import ElementBlock, Mesh
from romnet.problem import (Centrifugal, Dirichlet, MaterialAssignment, Pressure, Problem,
                            Temperature, TimeStepping, TimeTable)
from romnet.snapshots import Field, SnapshotSeries

# Small dense factorizations (TSQR panels, NNLS) dominate many tests: threaded BLAS on a
# 2-core machine only contends (measured 250x slower panels under load), so one thread.
try:
    from threadpoolctl import threadpool_limits
    _BLAS_LIMIT = threadpool_limits(1)
except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
    _BLAS_LIMIT = None

REPO = Path(__file__).resolve().parents[1]
ZSET = REPO.parent / "shared" / "data" / "zset"


def zset_case(name: str) -> Path:
    """Folder of a shared Z-set case; skips the test (saying why) when absent, except
    under CI (CI=true), where the reference data must be there and its absence fails."""
    p = ZSET / name
    if not p.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"shared Z-set data not found at {p} (required under CI)")
        pytest.skip(f"shared Z-set data not found at {p}")
    return p


def writable_copy(name: str, dst: Path) -> Path:
    """A writable copy of the shared Z-set case ``name`` at ``dst`` (the shared data stay
    read-only: never modify them)."""
    shutil.copytree(zset_case(name), dst)
    for p in dst.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    return dst


def mpirun_cmd(n: int = 2):
    """[launcher..., -n, n]: ``ROMNET_MPIRUN`` (a command with its flags, e.g. "mpirun
    --allow-run-as-root --oversubscribe" for Open MPI as root: scripts/test-system-mpi.sh),
    else the venv's mpirun (mpich wheel), else mpirun on PATH; None if there is none."""
    if os.environ.get("ROMNET_MPIRUN"):
        return shlex.split(os.environ["ROMNET_MPIRUN"]) + ["-n", str(n)]
    cand = Path(sys.executable).parent / "mpirun"
    exe = str(cand) if cand.exists() else shutil.which("mpirun")
    return [exe, "-n", str(n)] if exe else None


def run_mpi(script: Path, *args, n: int = 2, timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = mpirun_cmd(n)
    if cmd is None:
        pytest.fail("no mpirun found (venv, PATH) and ROMNET_MPIRUN unset: install an MPI "
                    "(the mpich extra, or the system's) or set ROMNET_MPIRUN")
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    res = subprocess.run(cmd + [sys.executable, str(script), *map(str, args)], capture_output=True,
                         text=True, timeout=timeout, env=env)
    if res.returncode != 0:
        raise AssertionError(f"mpirun failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


def make_small_case(n_times: int = 4) -> Case:
    """Two c3d8 elements side by side, with sets, a problem and a snapshot series."""
    x = np.array([[i, j, k] for k in (0, 1) for j in (0, 1) for i in (0, 1, 2)], dtype=float)
    conn = np.array([[0, 1, 4, 3, 6, 7, 10, 9], [1, 2, 5, 4, 7, 8, 11, 10]])
    mesh = Mesh(x, np.arange(1, 13), [ElementBlock("c3d8", conn, [1, 2])],
                node_sets={"x0": np.array([0, 3, 6, 9]), "odd/name": np.array([1])},
                element_sets={"ALL": np.array([0, 1]), "right": np.array([1])},
                face_sets={"x2": {"q4": np.array([[2, 5, 11, 8]])}})
    rng = np.random.default_rng(0)
    times = np.linspace(0, 1, n_times)
    series = SnapshotSeries(times, increments=np.arange(n_times), cycles=np.ones(n_times, int),
                            source="synthetic")
    series.nodal["U"] = Field("U", ["U1", "U2", "U3"], rng.normal(size=(n_times, 12, 3)))
    series.integ["stress"] = Field("stress", ["11", "22", "33", "12", "23", "31"],
                                   rng.normal(size=(n_times, 16, 6)))
    series.integ["p"] = Field("p", ["p"], rng.random(size=(n_times, 16, 1)), ["evrcum"])
    spec = {"law": "elastic", "density": 1e-8, "elasticity": {"young": {"temperature": [0, 100], "value": [2e5, 1.9e5]},
                                                                "poisson": 0.3}}
    problem = Problem(
        materials=[MaterialAssignment("ALL", spec, "mat")],
        dirichlet=[Dirichlet("x0", 0, 0.0)],
        pressure=[Pressure("x2", np.arange(20.0), "load", per="node"), Pressure("x2", 5.0, None)],
        centrifugal=[Centrifugal("ALL", [0, 0, 0], [0, 0, 1], 1.5e4, "rot")],
        temperature=Temperature(np.array([0.0, 0.5, 1.0]), rng.random((3, 12)) * 100, period=1.0),
        tables={"load": TimeTable("load", [0, 1], [0, 1], period=1.0), "rot": TimeTable("rot", [0, 1], [0, 2])},
        stepping=TimeStepping(np.linspace(0, 1, 5), cycles=1, ratio=1e-4),
        source="synthetic")
    return Case(mesh, problem, {"imported": series}, {"code": "synthetic"})


@pytest.fixture
def small_case():
    return make_small_case()


def write_blade_case_dir(directory: Path, name: str, seed: int, samples: int = 3) -> Path:
    """A small-blade case directory (generate, train ``samples`` runs of 3 increments with
    family seed ``seed``, global offline at loose tolerances) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "case.toml").write_text(f"""
[case]
name = "{name}"
steps = ["generate", "train", "offline"]
[generate]
script = "{(REPO / 'cases' / 'blade' / 'problem.py').as_posix()}"
variant = "small"
[training]
samples = {samples}
seed = {seed}
increments = 3
[offline]
pod_tol = 1e-3
ecm_tol = 1e-2
""")
    return directory


def cube_rom(directory: Path):
    """(case, store) of the Z-set MecaSequential cube imported into ``directory/cube.h5``
    with its ROM (POD 1e-6, ECM 1e-5) built from its own Z-set snapshots."""
    from adapters.zset import ADAPTER
    from romnet.offline.pipeline import run_offline
    from romnet.store import write_case
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    store = write_case(directory / "cube.h5", case)
    run_offline(store, {"pod_tol": 1e-6, "ecm_tol": 1e-5}, progress=None)
    return case, store
