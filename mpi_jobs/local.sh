#!/usr/bin/env bash
# romnet pipeline on one machine with mpirun:
#
#   1. case store    generate the blade (cases/blade/problem.py) or import an external case
#   2. hifi          mpirun -n $N romnet hifi      (HF snapshots of the store's problem)
#   3. offline       mpirun -n $N romnet offline   (POD, ECM, reduced operators -> /rom)
#   4. online        romnet online                 (ROM on a new temperature sample)
#
# Usage (from anywhere; paths below are relative to the current directory):
#   N=2 mpi_jobs/local.sh                       # small blade, all stages
#   N=4 VARIANT=large OUT=out/blade-large mpi_jobs/local.sh
#   STOP_AFTER=offline N=2 mpi_jobs/local.sh    # stop after the offline stage
#   INPUT_STORE=out/zset_cube/case.h5 N=2 mpi_jobs/local.sh   # an existing case store
#   IMPORT_CODE=zset IMPORT_PATH=../shared/data/zset/MecaSequential/cube.ut mpi_jobs/local.sh
#
# Environment (defaults in brackets):
#   N            MPI ranks of the hifi and offline stages [2]
#   MPIRUN       MPI launcher [$ROMNET_MPIRUN, else $VENV/bin/mpirun if it exists, else mpirun]
#   VENV         virtual environment holding romnet [<repo>/.venv]
#   OUT          output folder [out/blade-local]
#   VARIANT      blade mesh: small | large [small]
#   SEED         temperature seed of the training (reference) problem [0]
#   ONLINE_SEED  temperature seed of the online loading [1000]
#   INPUT_STORE  use this case store (mesh + problem) instead of generating the blade
#   IMPORT_CODE / IMPORT_PATH   import with `romnet import CODE PATH` instead
#   POD_TOL, ECM_TOL            offline tolerances [1e-4, 1e-4]
#   ONLINE_TOL   error-indicator tolerance of the online enrichment [1e-3]
#   HIFI_ARGS, OFFLINE_ARGS, ONLINE_ARGS   extra arguments of each stage
#                (e.g. HIFI_ARGS='--petsc-options "-ksp_type cg -pc_type gamg"')
#   STOP_AFTER   store | hifi | offline | online [online]
#
# Notes
# * The offline stage reads the series 'hifi' written by stage 2 and writes /rom into
#   OUT/hifi.h5 (the store is modified in place).
# * The online loading is the same problem with another temperature sample (ONLINE_SEED);
#   for an imported case it is the case's own problem.
# * Training families (`romnet train`, several temperature samples in one store) and
#   clustering (`romnet cluster`) are not used here: this script trains the ROM on the
#   single HF run of stage 2. The whole pipeline with both, a Monte Carlo and a report:
#   `mpirun -n 2 romnet run cases/blade` (cases/blade/README.md).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
VENV="${VENV:-$REPO/.venv}"
N="${N:-2}"
MPIRUN="${MPIRUN:-${ROMNET_MPIRUN:-}}"
if [[ -z "$MPIRUN" ]]; then
    if [[ -x "$VENV/bin/mpirun" ]]; then MPIRUN="$VENV/bin/mpirun"; else MPIRUN=mpirun; fi
fi
PYTHON="$VENV/bin/python"
ROMNET="$VENV/bin/romnet"
OUT="${OUT:-out/blade-local}"
VARIANT="${VARIANT:-small}"
SEED="${SEED:-0}"
ONLINE_SEED="${ONLINE_SEED:-1000}"
POD_TOL="${POD_TOL:-1e-4}"
ECM_TOL="${ECM_TOL:-1e-4}"
ONLINE_TOL="${ONLINE_TOL:-1e-3}"
STOP_AFTER="${STOP_AFTER:-online}"
HIFI_ARGS="${HIFI_ARGS:-}"
OFFLINE_ARGS="${OFFLINE_ARGS:-}"
ONLINE_ARGS="${ONLINE_ARGS:-}"

mkdir -p "$OUT"
CASE="$OUT/case.h5"
HIFI="$OUT/hifi.h5"
LOADING="$OUT/loading.h5"
ONLINE="$OUT/online.h5"

stamp() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(stamp)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "== [$(date +%H:%M:%S)] $*"; }

# ---------------------------------------------------------------- 1. case store
t0=$(stamp)
if [[ -n "${INPUT_STORE:-}" ]]; then
    say "case store: $INPUT_STORE"
    cp "$INPUT_STORE" "$CASE"
elif [[ -n "${IMPORT_CODE:-}" ]]; then
    say "import: romnet import $IMPORT_CODE ${IMPORT_PATH:?IMPORT_PATH is required with IMPORT_CODE}"
    "$ROMNET" import "$IMPORT_CODE" "$IMPORT_PATH" -o "$CASE"
else
    say "generate: blade variant $VARIANT, seed $SEED"
    "$PYTHON" "$REPO/cases/blade/problem.py" --variant "$VARIANT" --seed "$SEED" -o "$CASE"
fi
"$ROMNET" info "$CASE" | head -20
say "case store done in $(elapsed "$t0") s"
[[ "$STOP_AFTER" == store ]] && exit 0

# ---------------------------------------------------------------- 2. HF snapshots
t0=$(stamp)
say "hifi: $MPIRUN -n $N romnet hifi $CASE -o $HIFI"
eval "EXTRA=($HIFI_ARGS)"
$MPIRUN -n "$N" "$ROMNET" hifi "$CASE" -o "$HIFI" ${EXTRA[@]+"${EXTRA[@]}"}
say "hifi done in $(elapsed "$t0") s"
[[ "$STOP_AFTER" == hifi ]] && exit 0

# ---------------------------------------------------------------- 3. offline (ROM)
t0=$(stamp)
say "offline: $MPIRUN -n $N romnet offline $HIFI --series hifi"
eval "EXTRA=($OFFLINE_ARGS)"
$MPIRUN -n "$N" "$ROMNET" offline "$HIFI" --series hifi --pod-tol "$POD_TOL" --ecm-tol "$ECM_TOL" \
    ${EXTRA[@]+"${EXTRA[@]}"}
say "offline done in $(elapsed "$t0") s"
[[ "$STOP_AFTER" == offline ]] && exit 0

# ---------------------------------------------------------------- 4. online
t0=$(stamp)
LOADING_ARGS=()
if [[ -z "${INPUT_STORE:-}" && -z "${IMPORT_CODE:-}" ]]; then
    say "online loading: blade variant $VARIANT, seed $ONLINE_SEED"
    "$PYTHON" "$REPO/cases/blade/problem.py" --variant "$VARIANT" --seed "$ONLINE_SEED" -o "$LOADING"
    LOADING_ARGS=(--loading "$LOADING")
fi
say "online: romnet online $HIFI ${LOADING_ARGS[*]} --enrich --tol $ONLINE_TOL -o $ONLINE"
eval "EXTRA=($ONLINE_ARGS)"
"$ROMNET" online "$HIFI" ${LOADING_ARGS[@]+"${LOADING_ARGS[@]}"} --enrich --tol "$ONLINE_TOL" -o "$ONLINE" \
    ${EXTRA[@]+"${EXTRA[@]}"}
say "online done in $(elapsed "$t0") s"
