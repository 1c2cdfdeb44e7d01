#!/usr/bin/env bash
# All tests (sets up .venv on first use). Test-only set-up: the `ansys` extra (its reader
# ships real .rst samples), Debian's calculix-ccx (the CalculiX tests run it), the pybaqus
# sdist with real Abaqus .fil files (fetched on first use by tests/data_fetch.py).
# Tests that need two MPI ranks start `mpirun -n 2` themselves, with the venv's mpirun (or
# ROMNET_MPIRUN: scripts/test-system-mpi.sh runs this script on Debian's Open MPI + PETSc).
set -euo pipefail
export ROMNET_EXTRAS=ansys
source "$(dirname "${BASH_SOURCE[0]}")/ensure-env.sh"
cd "$ROMNET_ROOT"
if ! command -v ccx >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        _t0=$(date +%s)
        echo "[setup] installing Debian calculix-ccx (CalculiX tests)"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq calculix-ccx >/dev/null) \
            || echo "[setup] warning: calculix-ccx could not be installed; CalculiX tests will skip"
        echo "[setup] calculix-ccx step took $(( $(date +%s) - _t0 )) s"
    else
        echo "[setup] warning: ccx not found and cannot apt-get install it; CalculiX tests will skip"
    fi
fi
exec python -m pytest -q -ra tests "$@"
