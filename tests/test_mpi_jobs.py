"""The training job-array templates of mpi_jobs/ run as their batch systems would run them
(array index and submit directory in the environment, LAUNCH=env: one process): SLURM and
PBS, train tasks -> merge -> case steps, on a 3-run small-blade case directory."""
import os
import subprocess
from pathlib import Path

import pytest
from conftest import write_blade_case_dir

from romnet.offline.training import read_training
from romnet.app.runner import run_case
from romnet.store import CaseStore

REPO = Path(__file__).resolve().parents[1]


def _case(tmp_path):
    return write_blade_case_dir(tmp_path / "case", "jobs", seed=2)


def _run(script, env):
    e = dict(os.environ, ROMNET_VENV=str(REPO / ".venv"), LAUNCH="env", OMP_NUM_THREADS="1", **env)
    r = subprocess.run(["bash", str(REPO / "mpi_jobs" / script)], env=e, capture_output=True, text=True,
                       cwd=env.get("PBS_O_WORKDIR", REPO))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.parametrize("system", ["slurm", "pbs"])
def test_training_array_merge_and_case_steps(tmp_path, system):
    case = _case(tmp_path)
    out = tmp_path / "out"
    run_case(case, output=out, progress=None, steps=["generate"])
    common = dict(CASE=str(case), OUT=str(out))
    if system == "slurm":
        common.update(SLURM_SUBMIT_DIR=str(REPO), SLURM_NTASKS="1")
        task_env, ext = "SLURM_ARRAY_TASK_ID", "sbatch"
    else:
        common.update(PBS_O_WORKDIR=str(REPO))
        task_env, ext = "PBS_ARRAY_INDEX", "pbs"
    logs = [_run(f"{system}/train.{ext}", dict(common, RUNS_PER_TASK="2", **{task_env: str(k)}))
            for k in range(3)]
    assert "runs 0..1 of 3" in logs[0] and "runs 2..2 of 3" in logs[1]
    assert "task 2 has no run" in logs[2]
    parts = sorted((out / "parts").glob("part_*.h5"))
    assert [p.name for p in parts] == ["part_0000.h5", "part_0001.h5"]
    assert read_training(parts[1])["series"] == ["train_002"]
    log = _run(f"{system}/train_merge.{ext}", common)
    assert "3 run(s) copied" in log and "3/3 runs complete" in log
    log = _run(f"{system}/case.{ext}", dict(common, STEPS="train,offline"))
    assert "0 run(s), 3 kept" in log and "step offline" in log
    with CaseStore(out / "case.h5") as st:
        assert "rom" in st.f


def test_train_task_without_case_store(tmp_path):
    case = _case(tmp_path)
    e = dict(os.environ, CASE=str(case), OUT=str(tmp_path / "none"), TASK="0", LAUNCH="env",
             PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}")
    r = subprocess.run(["bash", str(REPO / "mpi_jobs" / "train_task.sh")], env=e, capture_output=True,
                       text=True, cwd=REPO)
    assert r.returncode == 2 and "no case store" in r.stderr and "--steps generate" in r.stderr
