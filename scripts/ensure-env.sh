#!/usr/bin/env bash
# Source me: creates/updates the project's virtual environment in .venv/ and activates it.
# ROMNET_EXTRAS (default "") adds pip extras, e.g. "ansys" for the test suite.
# First run on a fresh machine: finds Python >= 3.10 (prefers 3.12, which later PETSc
# binary wheels need), creates .venv, installs romnet with its test extras; prints the
# set-up time. Later runs only reinstall when setup.cfg/pyproject.toml changed.
set -euo pipefail
ROMNET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROMNET_ROOT/.venv"
STAMP="$VENV/.romnet-setup-stamp"

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

ROMNET_EXTRAS="${ROMNET_EXTRAS:-}"
_romnet_needs_install() {
    [ ! -x "$VENV/bin/python" ] && return 0
    [ ! -f "$STAMP" ] && return 0
    # the stamp holds the extras installed last time; more extras asked -> install
    [ -n "$ROMNET_EXTRAS" ] && ! grep -qx "$ROMNET_EXTRAS" "$STAMP" && return 0
    [ "$ROMNET_ROOT/setup.cfg" -nt "$STAMP" ] && return 0
    [ "$ROMNET_ROOT/pyproject.toml" -nt "$STAMP" ] && return 0
    return 1
}

if _romnet_needs_install; then
    _t0=$(date +%s.%N)
    echo "[setup] preparing $VENV (first run or dependencies changed)"
    if [ ! -x "$VENV/bin/python" ]; then
        PY="$(_romnet_python)" || { echo "[setup] error: no Python >= 3.10 found (PATH or pyenv)" >&2; exit 1; }
        echo "[setup] creating venv with $PY ($("$PY" --version 2>&1))"
        "$PY" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
    EXTRAS="test${ROMNET_EXTRAS:+,$ROMNET_EXTRAS}"
    if "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
        EXTRAS="$EXTRAS,petsc"   # PETSc binary wheel (needs Python >= 3.12)
    else
        echo "[setup] Python < 3.12: no PETSc wheel; the HF solver uses scipy (serial), PETSc tests skip"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROMNET_ROOT[$EXTRAS]" 2> >(grep -v "is ignored: it is neither" >&2)
    echo "$ROMNET_EXTRAS" > "$STAMP"
    _t1=$(date +%s.%N)
    printf '[setup] environment ready in %.1f s\n' "$(echo "$_t1 - $_t0" | bc -l 2>/dev/null || python3 -c "print($_t1-$_t0)")"
else
    echo "[setup] environment up to date ($VENV), set-up took 0.0 s"
fi
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
