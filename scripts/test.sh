#!/usr/bin/env bash
# All tests (sets up .venv on first use). Test-only set-up: the `ansys` extra (its reader
# ships real .rst samples), Debian's calculix-ccx (the CalculiX tests run it) and
# calculix-ccx-test (CalculiX's own test decks: tests/test_ccx_suite.py, bench/ccx_suite.py),
# the pybaqus sdist with real Abaqus .fil files (fetched on first use by tests/data_fetch.py).
# Tests that need two MPI ranks start `mpirun -n 2` themselves, with the venv's mpirun (or
# ROMNET_MPIRUN: scripts/test-system-mpi.sh runs this script on Debian's Open MPI + PETSc).
set -euo pipefail
export ROMNET_EXTRAS=ansys
source "$(dirname "${BASH_SOURCE[0]}")/ensure-env.sh"
cd "$ROMNET_ROOT"
_ccx_pkgs=""
command -v ccx >/dev/null 2>&1 || _ccx_pkgs="calculix-ccx"
dpkg -s calculix-ccx-test >/dev/null 2>&1 || _ccx_pkgs="$_ccx_pkgs calculix-ccx-test"
if [ -n "$_ccx_pkgs" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        _t0=$(date +%s)
        echo "[setup] installing Debian$_ccx_pkgs (CalculiX tests)"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $_ccx_pkgs >/dev/null) \
            || echo "[setup] warning:$_ccx_pkgs could not be installed; CalculiX tests will skip"
        echo "[setup] CalculiX packages step took $(( $(date +%s) - _t0 )) s"
    else
        echo "[setup] warning:$_ccx_pkgs missing and cannot apt-get install them; CalculiX tests will skip"
    fi
fi
exec python -m pytest -q -ra tests "$@"
