#!/usr/bin/env bash
# The second tested route (docs/install.md): Debian 12's own stack, the closest thing here
# to a cluster's site MPI and PETSc. Installs with apt, only what is missing (as root):
# Open MPI 4.1, python3-mpi4py, python3-petsc4py (PETSc 3.18 with MUMPS, hypre, PT-Scotch),
# numpy 1.24, scipy, h5py, meshio, scikit-learn, matplotlib, pytest; makes a
# --system-site-packages venv of /usr/bin/python3 in .venv-system/ (ROMNET_MPI=system
# route of scripts/ensure-env.sh: pip adds only kmedoids and the test extras, no MPI, no
# second numpy); then runs the whole test suite (scripts/test.sh) with the 2-rank tests
# under Open MPI's mpirun (tests/test_packaging.py checks there that `pip install .` would
# install no MPI next to the system's).
# Prints the set-up time and the stack used. Arguments go to pytest.
#   ROMNET_MPIRUN   launcher of the 2-rank tests (default: /usr/bin/mpirun, plus
#                   --allow-run-as-root as root, and --oversubscribe)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
_sm_t0=$(date +%s)
APT_PACKAGES=(openmpi-bin python3-mpi4py python3-petsc4py python3-numpy python3-scipy python3-h5py
              python3-meshio python3-sklearn python3-matplotlib python3-threadpoolctl python3-pytest
              python3-venv)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "[system-mpi] error: missing Debian packages ${missing[*]} (run as root on Debian 12, or install them)" >&2
        exit 1
    fi
    echo "[system-mpi] apt-get install ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
_sm_t1=$(date +%s)
echo "[system-mpi] Debian packages: $(( _sm_t1 - _sm_t0 )) s (${#missing[@]} missing before)"

export ROMNET_MPI=system ROMNET_PYTHON=/usr/bin/python3 ROMNET_VENV="$ROOT/.venv-system" ROMNET_EXTRAS=ansys
if [ -z "${ROMNET_MPIRUN:-}" ]; then
    ROMNET_MPIRUN="/usr/bin/mpirun --oversubscribe"
    [ "$(id -u)" = 0 ] && ROMNET_MPIRUN="$ROMNET_MPIRUN --allow-run-as-root"
fi
export ROMNET_MPIRUN
# shellcheck source=ensure-env.sh
source "$ROOT/scripts/ensure-env.sh"
_sm_t2=$(date +%s)

echo "[system-mpi] set-up $(( _sm_t2 - _sm_t0 )) s in all (apt $(( _sm_t1 - _sm_t0 )) s, venv $(( _sm_t2 - _sm_t1 )) s); launcher: $ROMNET_MPIRUN"
exec "$ROOT/scripts/test.sh" "$@"
