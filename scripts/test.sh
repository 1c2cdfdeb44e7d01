#!/usr/bin/env bash
# All tests (sets up .venv on first use). Tests that need two MPI ranks start
# `mpirun -n 2` themselves (tests/test_mpi_*.py), with the mpirun of the venv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ensure-env.sh"
cd "$ROMNET_ROOT"
exec python -m pytest -q -ra tests "$@"
