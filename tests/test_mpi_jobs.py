"""The job templates of mpi_jobs/ run as their batch systems would run them (array index
and submit directory in the environment): the training job array (LAUNCH=env: one
process), SLURM and PBS, train tasks -> merge -> case steps, on a 3-run small-blade case
directory; the launcher switch of mpi_jobs/job_env.sh: srun by default under SLURM (a
stand-in srun records how it is called), LAUNCHER=mpirun with this environment's real MPI
on 2 ranks, PBS's mpirun over the cores of $PBS_NODEFILE."""
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import mpirun_cmd, write_blade_case_dir
from hifi_cases import box_plastic_case

from romnet.case import Case
from romnet.offline.training import read_training
from romnet.app.runner import run_case
from romnet.store import CaseStore, write_case

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)          # this environment's venv (.venv, .venv-system)


def _case(tmp_path):
    return write_blade_case_dir(tmp_path / "case", "jobs", seed=2)


def _run(script, env):
    e = dict(os.environ, ROMNET_VENV=str(VENV), LAUNCH="env", OMP_NUM_THREADS="1", **env)
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
             PATH=f"{VENV / 'bin'}:{os.environ['PATH']}")
    r = subprocess.run(["bash", str(REPO / "mpi_jobs" / "train_task.sh")], env=e, capture_output=True,
                       text=True, cwd=REPO)
    assert r.returncode == 2 and "no case store" in r.stderr and "--steps generate" in r.stderr


def _box_store(tmp_path):
    mesh, pb = box_plastic_case(n=(3, 2, 2), n_inc=2)
    store = tmp_path / "box.h5"
    write_case(store, Case(mesh, pb, {}, {"code": "generated"}))
    return store


def _template(script, env, tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "PBS_", "LAUNCH"))}
    e.update(ROMNET_VENV=str(VENV), OMP_NUM_THREADS="1", **env)
    return subprocess.run(["bash", str(REPO / "mpi_jobs" / script)], env=e, capture_output=True, text=True,
                          cwd=REPO, timeout=600)


def test_slurm_launches_with_srun_by_default(tmp_path):
    """Under SLURM the templates start their ranks with `srun -n $SLURM_NTASKS $SRUN_FLAGS
    $ROMNET_CONTAINER` (here a stand-in srun that records its arguments and runs the command
    once, and `env VAR=1` standing in for `apptainer exec IMAGE`)."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "srun.log"
    (bin_ / "srun").write_text(f"#!/bin/bash\nprintf '%s ' \"$@\" > {log}\n"
                               "while [[ $1 == -* ]]; do [[ $1 == -n ]] && shift; shift; done\nexec \"$@\"\n")
    (bin_ / "srun").chmod(0o755)
    store = _box_store(tmp_path)
    r = _template("slurm/hifi.sbatch", dict(SLURM_SUBMIT_DIR=str(REPO), SLURM_JOB_ID="7", SLURM_NTASKS="4",
                                            SRUN_FLAGS="--mpi=pmix", STORE=str(store), OUT=str(tmp_path / "h.h5"),
                                            ROMNET_CONTAINER="env ROMNET_IN_IMAGE=1",
                                            PATH=f"{bin_}:{os.environ['PATH']}"), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "launcher: srun -n 4 --mpi=pmix env ROMNET_IN_IMAGE=1" in r.stdout
    assert log.read_text().split()[:7] == ["-n", "4", "--mpi=pmix", "env", "ROMNET_IN_IMAGE=1", "romnet", "hifi"]
    with CaseStore(tmp_path / "h.h5") as st:
        assert "hifi" in st.series_names()


def test_slurm_switch_to_mpirun_runs_two_ranks(tmp_path):
    """LAUNCHER=mpirun (e.g. the `mpich` extra's MPICH, which srun cannot start): the
    template runs `romnet hifi` on 2 ranks with this environment's own mpirun; the same
    displacement as one process (one communicator of 2 ranks: the log is written once)."""
    cmd = mpirun_cmd(2)
    if cmd is None:
        pytest.fail("no mpirun (venv, PATH, ROMNET_MPIRUN)")
    store = _box_store(tmp_path)
    mpirun, flags = cmd[0], " ".join(shlex.quote(c) for c in cmd[1:-2])
    out2, out1 = tmp_path / "h2.h5", tmp_path / "h1.h5"
    common = dict(SLURM_SUBMIT_DIR=str(REPO), SLURM_JOB_ID="8", STORE=str(store),
                  PETSC_OPTIONS="-ksp_type preonly -pc_type lu -pc_factor_mat_solver_type mumps")
    r = _template("slurm/hifi.sbatch", dict(common, SLURM_NTASKS="2", LAUNCHER="mpirun", MPIRUN=mpirun,
                                            MPIRUN_FLAGS=flags, OUT=str(out2)), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"launcher: {mpirun} -n 2" in r.stdout
    r1 = _template("slurm/hifi.sbatch", dict(common, LAUNCH="env", OUT=str(out1)), tmp_path)
    assert r1.returncode == 0, r1.stdout + r1.stderr
    body = [ln for ln in r.stdout.splitlines() if not ln.startswith("job_env:")]
    assert len(body) == len([ln for ln in r1.stdout.splitlines() if not ln.startswith("job_env:")]), r.stdout
    with CaseStore(out2) as a, CaseStore(out1) as b:
        ua, ub = a.read_field("hifi", "U"), b.read_field("hifi", "U")
    assert np.linalg.norm(ua - ub) <= 1e-10 * np.linalg.norm(ub)


def test_pbs_launches_mpirun_over_the_nodefile(tmp_path):
    nodefile = tmp_path / "nodes"
    nodefile.write_text("n1\nn1\nn2\n")
    r = _template("pbs/hifi.pbs", dict(PBS_O_WORKDIR=str(REPO), PBS_NODEFILE=str(nodefile),
                                       MPIRUN="printf <%s>", STORE="case.h5", OUT="o.h5"), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "<-n><3><romnet><hifi><case.h5><-o><o.h5>", r.stdout


def _sections(text, pattern):
    import re
    return re.findall(pattern, text, flags=re.M)


def test_container_recipes():
    """The Apptainer definition and the Dockerfile (not built here: no container engine):
    their sections / instructions, the MPI build argument, the romnet install (one script,
    mpi_jobs/container/install.sh, through scripts/ensure-env.sh's system route) and the
    test commands."""
    d = (REPO / "mpi_jobs" / "apptainer" / "romnet.def").read_text()
    header = dict(ln.split(":", 1) for ln in d.splitlines()[:2])
    assert header["Bootstrap"].strip() == "docker" and header["From"].strip().startswith("debian:bookworm")
    sections = _sections(d, r"^%(\w+)")
    for name in ("arguments", "files", "environment", "post", "test", "runscript", "help"):
        assert sections.count(name) == 1, (name, sections)
    body = {}
    for part in d.split("\n%")[1:]:
        name, _, text = part.partition("\n")
        body[name.strip()] = text
    assert "MPI=openmpi" in body["arguments"] and "PETSC_VERSION=" in body["arguments"]
    assert "bash mpi_jobs/container/install.sh {{ MPI }} {{ PETSC_VERSION }}" in body["post"]
    assert "romnet --version" in body["test"] and "python -m pytest" in body["test"]
    assert "tests/test_hifi_mpi.py" in body["test"]
    assert "--bind" in d and "LD_LIBRARY_PATH" in d          # the bind model is documented

    f = (REPO / "mpi_jobs" / "container" / "Dockerfile").read_text()
    instr = [ln.split()[0] for ln in f.splitlines() if ln.strip() and not ln.startswith(("#", " "))]
    for name in ("ARG", "FROM", "ENV", "COPY", "WORKDIR", "RUN", "ENTRYPOINT"):
        assert name in instr, (name, instr)
    assert instr.index("ARG") < instr.index("FROM")           # BASE is a build argument
    assert "ARG MPI=openmpi" in f and "ARG PETSC_VERSION=" in f
    assert 'RUN bash mpi_jobs/container/install.sh "$MPI" "$PETSC_VERSION"' in f
    assert "romnet --version" in f and "python -m pytest" in f and "tests/test_hifi_mpi.py" in f

    inst = (REPO / "mpi_jobs" / "container" / "install.sh").read_text()
    assert "ROMNET_MPI=system" in inst and 'source "$SRC/scripts/ensure-env.sh"' in inst
    assert "openmpi)" in inst and "mpich)" in inst and "python3-petsc4py" in inst
    # the openmpi image installs what the tested system route installs
    tested = (REPO / "scripts" / "test-system-mpi.sh").read_text()
    pkgs = set(" ".join(tested.split("APT_PACKAGES=(")[1].split(")")[0].split()).split())
    inst_pkgs = set(" ".join(inst.split("COMMON=(")[1].split(")")[0].split()).split())
    inst_pkgs |= {"openmpi-bin", "python3-mpi4py", "python3-petsc4py"}
    assert pkgs <= inst_pkgs, pkgs - inst_pkgs
    r = subprocess.run(["bash", "-n", str(REPO / "mpi_jobs" / "container" / "install.sh")], capture_output=True)
    assert r.returncode == 0, r.stderr
