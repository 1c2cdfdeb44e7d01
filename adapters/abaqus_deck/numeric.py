"""Numbers from text tokens at numpy speed, with ``file:line`` on the first bad token."""
from __future__ import annotations

import numpy as np

from romnet.errors import InputError


def _fortran(tok: str) -> str:
    return tok.replace("D", "E").replace("d", "e")


def to_float(tok, path, line, what="value") -> float:
    try:
        v = float(tok)
    except (TypeError, ValueError):
        try:
            v = float(_fortran(str(tok)))
        except ValueError:
            raise InputError(f"{what}: expected a number, got '{tok}'", path, line) from None
    if not np.isfinite(v):
        raise InputError(f"{what}: expected a finite number, got '{tok}'", path, line)
    return v


def to_int(tok, path, line, what="value") -> int:
    try:
        return int(tok)
    except (TypeError, ValueError):
        try:  # Abaqus accepts "1." for integers in some places
            f = float(tok)
            if f.is_integer() and abs(f) < 2**62:
                return int(f)
        except (TypeError, ValueError):
            pass
        raise InputError(f"{what}: expected an integer, got '{tok}'", path, line) from None


def array(tokens, lines, path, dtype, what="value") -> np.ndarray:
    """Flat list of str tokens -> 1D array; ``lines[i]`` is the line of ``tokens[i]``."""
    conv = to_int if dtype is np.int64 else to_float
    try:
        out = np.array(tokens, dtype=np.float64 if dtype is not np.int64 else np.int64)
    except (ValueError, OverflowError, TypeError):
        out = np.array([conv(t, path, ln, what) for t, ln in zip(tokens, lines)], dtype=dtype)
    if dtype is not np.int64 and out.size and not np.isfinite(out).all():
        k = int(np.argmin(np.isfinite(out)))
        conv(tokens[k], path, lines[k], what)
    return out


def flatten(data):
    """[(line, tokens), ...] -> (tokens, lines) flat lists."""
    toks, lines = [], []
    for ln, t in data:
        toks.extend(t)
        lines.extend([ln] * len(t))
    return toks, lines
