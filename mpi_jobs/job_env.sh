# Sourced by the SLURM and PBS templates (from the submit directory, the repository root):
# activates romnet's venv and sets LAUNCH, the command that starts the job's MPI ranks.
# Environment (sbatch exports it by default; qsub -V / -v):
#   ROMNET_VENV   venv to activate (default: ./.venv, else ./.venv-system, when present; with
#                 neither, the romnet already on PATH: a site module, a container)
#   LAUNCHER      srun (SLURM's default: the MPI that mpi4py was built on, started through the
#                 site's PMI) | mpirun (PBS's default; under SLURM for an MPI that srun cannot
#                 start, e.g. the pip-installed MPICH of the `mpich` extra: one node only)
#                 | mpiexec
#   SRUN_FLAGS    extra srun flags, e.g. "--mpi=pmix" where the site's default PMI plugin does
#                 not match the MPI (srun --mpi=list shows the plugins)
#   MPIRUN        the mpirun / mpiexec command (default: the one on PATH once the venv and the
#                 modules are loaded: the MPI of mpi4py, mpi_jobs/README.md)
#   MPIRUN_FLAGS  extra flags, e.g. "--bind-to core" (Open MPI), "-ppn 8" (MPICH / Intel MPI)
#   NTASKS        ranks (default: $SLURM_NTASKS, or the lines of $PBS_NODEFILE, else 1)
#   LAUNCH        the whole command, overriding all of the above (LAUNCH=env: one process)
#   ROMNET_CONTAINER  romnet in a container image (mpi_jobs/README.md, "Containers"), e.g.
#                 "apptainer exec --bind $SCRATCH romnet.sif": appended to LAUNCH, and put
#                 before the serial commands of the templates (train-merge, train_task.sh)
ROMNET_VENV="${ROMNET_VENV:-}"
if [[ -z "$ROMNET_VENV" ]]; then
    for _v in "$PWD/.venv" "$PWD/.venv-system"; do
        [[ -f "$_v/bin/activate" ]] && { ROMNET_VENV="$_v"; break; }
    done
fi
[[ -n "$ROMNET_VENV" && -f "$ROMNET_VENV/bin/activate" ]] && source "$ROMNET_VENV/bin/activate"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"      # one thread per MPI rank (BLAS in the laws, MUMPS)
if [[ -z "${LAUNCH:-}" ]]; then
    if [[ -n "${SLURM_JOB_ID:-}${SLURM_NTASKS:-}" ]]; then
        LAUNCHER="${LAUNCHER:-srun}"
        NTASKS="${NTASKS:-${SLURM_NTASKS:-1}}"
    else
        LAUNCHER="${LAUNCHER:-mpirun}"
        NTASKS="${NTASKS:-$( [[ -f "${PBS_NODEFILE:-}" ]] && wc -l < "$PBS_NODEFILE" || echo 1)}"
    fi
    case "$LAUNCHER" in
        srun) LAUNCH="srun -n $NTASKS ${SRUN_FLAGS:-}" ;;
        mpirun|mpiexec) LAUNCH="${MPIRUN:-$LAUNCHER} -n $NTASKS ${MPIRUN_FLAGS:-}" ;;
        *) echo "job_env: LAUNCHER=$LAUNCHER unknown (srun, mpirun, mpiexec; or set LAUNCH)" >&2; exit 2 ;;
    esac
fi
ROMNET_CONTAINER="${ROMNET_CONTAINER:-}"
LAUNCH="${LAUNCH% } $ROMNET_CONTAINER"
export LAUNCH="${LAUNCH% }" ROMNET_CONTAINER
if [[ -n "$ROMNET_CONTAINER" ]]; then
    echo "job_env: romnet in $ROMNET_CONTAINER, launcher: $LAUNCH"
else
    echo "job_env: romnet $(command -v romnet || echo 'not found'), launcher: $LAUNCH"
fi
