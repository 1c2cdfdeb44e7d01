#!/bin/bash
# One task of a training family run as a job array: runs RUNS_PER_TASK HF training runs
# (indices TASK*RUNS_PER_TASK ...) of the case directory CASE into its own copy of the case
# store, OUT/parts/part_TTTT.h5. Called by slurm/train.sbatch and pbs/train.pbs; runnable by
# hand with the venv active (TASK=0 CASE=cases/blade mpi_jobs/train_task.sh). Then gather the parts:
#     romnet train-merge OUT/case.h5 OUT/parts/part_*.h5        (slurm|pbs/train_merge.*)
#
# Environment:
#   CASE           case directory (case.toml: [training] samples, seed, increments; the
#                  temperature sampler of its [generate] script)            (required)
#   TASK           index of this task, 0-based                              (required)
#   OUT            output folder of the case (default out/<case name>); OUT/case.h5 must
#                  exist: `romnet run CASE --steps generate -o OUT` (or import) first
#   RUNS_PER_TASK  runs per task (default 1): tasks needed = ceil(samples / RUNS_PER_TASK)
#   LAUNCH         MPI launcher of one HF run, e.g. "srun -n 8" (default: one process)
#   TRAIN_ARGS     extra `romnet train` options, e.g. "--petsc-options '-ksp_type gmres'"
#   ROMNET_CONTAINER  romnet in a container: put before its python (mpi_jobs/job_env.sh)
#
# A task killed by the time limit is resumed by submitting it again (complete runs of the
# part are kept); a task whose range is past the family's end does nothing.
set -euo pipefail
CASE="${CASE:?set CASE=case directory}"
TASK="${TASK:?set TASK=task index (0-based)}"
RUNS_PER_TASK="${RUNS_PER_TASK:-1}"
LAUNCH="${LAUNCH:-}"
read -r NAME SAMPLES < <(${ROMNET_CONTAINER:-} python - "$CASE" <<'PY'
import sys
from romnet.app.config import load_case_config
cfg = load_case_config(sys.argv[1])
print(cfg["case"]["name"], cfg["training"].get("samples", 0))
PY
)
OUT="${OUT:-out/$NAME}"
STORE="$OUT/case.h5"
if [[ ! -f "$STORE" ]]; then
    echo "train_task: no case store $STORE: run 'romnet run $CASE --steps generate -o $OUT' first" >&2
    exit 2
fi
A=$((TASK * RUNS_PER_TASK))
B=$((A + RUNS_PER_TASK))
(( B > SAMPLES )) && B=$SAMPLES
if (( A >= SAMPLES )); then
    echo "train_task: task $TASK has no run (family of $SAMPLES runs, $RUNS_PER_TASK per task)"
    exit 0
fi
mkdir -p "$OUT/parts"
PART="$OUT/parts/part_$(printf %04d "$TASK").h5"
if [[ ! -f "$PART" ]]; then
    cp "$STORE" "$PART.tmp.$$" && mv "$PART.tmp.$$" "$PART"
fi
echo "train_task: task $TASK, runs $A..$((B - 1)) of $SAMPLES -> $PART"
# shellcheck disable=SC2086  # LAUNCH and TRAIN_ARGS are word lists
$LAUNCH romnet train "$PART" --case "$CASE" --runs "$A:$B" ${TRAIN_ARGS:-}
