#!/usr/bin/env bash
# Main job: the whole pipeline on the small generated turbine blade (cases/blade):
# `mpirun -n $N romnet run cases/blade` (sets up .venv on first use). N ranks (default 2;
# MPIRUN or ROMNET_MPIRUN: the launcher with its flags, default the venv's mpirun);
# output in out/blade/ (report.md). Extra arguments go to `romnet run` (e.g. -o DIR).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ensure-env.sh"
cd "$ROMNET_ROOT"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"   # threaded BLAS only contends on few cores
N="${N:-2}"
if [[ "$N" == 1 ]]; then
    exec romnet run cases/blade "$@"
fi
MPIRUN="${MPIRUN:-${ROMNET_MPIRUN:-}}"   # ROMNET_MPIRUN: docs/install.md
if [[ -z "$MPIRUN" ]]; then
    if [[ -x "$VENV/bin/mpirun" ]]; then MPIRUN="$VENV/bin/mpirun"; else MPIRUN=mpirun; fi
fi
exec $MPIRUN -n "$N" romnet run cases/blade "$@"
