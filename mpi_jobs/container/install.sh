#!/usr/bin/env bash
# Installs romnet inside a Debian 12 container image on the chosen MPI; run by
# mpi_jobs/container/Dockerfile and mpi_jobs/apptainer/romnet.def (mpi_jobs/README.md,
# "Containers"), as root, from the romnet source tree copied into the image:
#   bash mpi_jobs/container/install.sh MPI [PETSC_VERSION]
# MPI=openmpi  Debian's Open MPI 4.1 + python3-mpi4py + python3-petsc4py (PETSc 3.18: MUMPS,
#              hypre, PT-Scotch) + numpy 1.24, scipy, h5py...: the packages and the set-up of
#              scripts/test-system-mpi.sh (the tested system route). Hybrid model with a host
#              Open MPI 4.1.x.
# MPI=mpich    Debian's MPICH 4.0 (libmpi.so.12: the MPICH ABI of Intel MPI, Cray MPICH,
#              MVAPICH, which the bind model mounts over it); mpi4py, PETSc PETSC_VERSION (with
#              MUMPS, ScaLAPACK, PT-Scotch, METIS downloaded by PETSc's configure) and petsc4py
#              built from PyPI sources against it: ~35 min on 2 cores, network needed.
# Then romnet (with the test extra) into ROMNET_VENV (default /opt/romnet/venv) through
# scripts/ensure-env.sh, route ROMNET_MPI=system: pip adds no second MPI or numpy.
set -euo pipefail
MPI="${1:-openmpi}"
PETSC_VERSION="${2:-3.22.5}"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROMNET_VENV="${ROMNET_VENV:-/opt/romnet/venv}" ROMNET_PYTHON=/usr/bin/python3 ROMNET_MPI=system
export DEBIAN_FRONTEND=noninteractive
COMMON=(ca-certificates python3 python3-venv python3-dev python3-numpy python3-scipy python3-h5py
        python3-meshio python3-sklearn python3-matplotlib python3-threadpoolctl python3-pytest)
apt-get update -qq
case "$MPI" in
    openmpi)
        apt-get install -y -qq --no-install-recommends "${COMMON[@]}" openmpi-bin python3-mpi4py python3-petsc4py
        ;;
    mpich)
        apt-get install -y -qq --no-install-recommends "${COMMON[@]}" python3-pip mpich libmpich-dev build-essential gfortran \
            cmake pkg-config libopenblas-dev liblapack-dev bison flex git
        # mpi4py, PETSc and petsc4py against this MPICH, into the Python the venv extends
        export MPICC=mpicc.mpich CC=mpicc.mpich CXX=mpicxx.mpich FC=mpif90.mpich
        export PETSC_CONFIGURE_OPTIONS="--with-debugging=0 --with-mpi-dir=/usr --with-fc=mpif90.mpich \
--download-mumps --download-scalapack --download-ptscotch --download-metis --download-parmetis \
--download-hypre COPTFLAGS=-O2 CXXOPTFLAGS=-O2 FOPTFLAGS=-O2"
        python3 -m pip install --break-system-packages --no-cache-dir --no-binary=mpi4py "mpi4py>=3.1"
        python3 -m pip install --break-system-packages --no-cache-dir "petsc==$PETSC_VERSION"
        python3 -m pip install --break-system-packages --no-cache-dir --no-build-isolation "petsc4py==$PETSC_VERSION"
        ;;
    *) echo "install.sh: MPI=$MPI unknown (openmpi, mpich)" >&2; exit 2 ;;
esac
# shellcheck source=../../scripts/ensure-env.sh
source "$SRC/scripts/ensure-env.sh"
romnet --version
apt-get clean
rm -rf /var/lib/apt/lists/*
