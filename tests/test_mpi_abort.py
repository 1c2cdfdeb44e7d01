"""An uncaught exception on one rank ends the whole MPI job (romnet.mpi.abort_on_uncaught).

Without it the failing rank waits in MPI_Finalize and the others in their next collective
call: a batch job that hangs until its wall-time limit (measured here on a benchmark whose
rank 1 raised: both ranks spun for 45 min). The command line installs it when a launcher
started several ranks; the MPI benchmarks too.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import mpirun_cmd
from romnet import mpi

SCRIPT = Path(__file__).parent / "mpi" / "uncaught_run.py"


def _run(*args, timeout):
    cmd = mpirun_cmd(2)
    if cmd is None:
        pytest.fail("no mpirun found (venv, PATH) and ROMNET_MPIRUN unset")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # a session of its own: on a timeout the launcher and every rank are killed together
    # (killing the launcher alone can leave ranks spinning in a collective)
    proc = subprocess.Popen(cmd + [sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_uncaught_exception_aborts_every_rank():
    t0 = time.perf_counter()
    res = _run(timeout=120)
    wall = time.perf_counter() - t0
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "boom on rank 1" in out and "[rank 1 of 2] uncaught exception: aborting every rank" in out
    assert "unreachable" not in out
    assert wall < 60


def test_without_the_hook_the_job_hangs():
    """The control: the same script without the hook does not end by itself."""
    with pytest.raises(subprocess.TimeoutExpired):
        _run("--no-hook", timeout=15)


def test_launched_ranks_from_the_environment(monkeypatch):
    for k in mpi.LAUNCHER_SIZE_VARS:
        monkeypatch.delenv(k, raising=False)
    assert mpi.launched_ranks() == 1
    assert mpi.abort_on_uncaught() is False            # one rank: nothing installed
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert mpi.launched_ranks() == 4
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "x")
    monkeypatch.setenv("PMI_SIZE", "2")
    assert mpi.launched_ranks() == 2


def test_the_command_line_installs_it(monkeypatch, tmp_path):
    from romnet.app import cli
    calls = []
    monkeypatch.setattr(mpi, "abort_on_uncaught", lambda *a, **k: calls.append(1) or False)
    monkeypatch.setattr(sys, "argv", ["romnet", "info", str(tmp_path / "missing.h5")])
    assert cli.main() == 2                            # a RomnetError keeps its message and exit code
    assert calls == [1]
    cli.main(["info", str(tmp_path / "missing.h5")])  # an in-process call with argv: not installed
    assert calls == [1]
