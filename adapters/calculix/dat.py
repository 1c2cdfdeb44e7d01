"""CalculiX ``.dat`` files: ``*NODE PRINT`` / ``*EL PRINT`` tables.

Each table starts with a header line such as::

    stresses (elem, integ.pnt.,sxx,syy,szz,sxy,sxz,syz) for set EALL and time  0.2500000E+00

followed by one line per node (``id v1 v2 ...``) or per integration point
(``elem ip v1 v2 ...``, ip 1-based in CalculiX's ``gauss.f`` order = romnet's order).
Values are printed ``E13.6`` (7 significant digits); the time is the total time.

Variants: a node line ending with ``L`` holds values in the node's local system
(``*TRANSFORM``; printed unless ``GLOBAL=YES``): the flag is kept in
:attr:`DatTable.local`. ``*NODE PRINT, TOTALS=YES|ONLY`` adds ``total force (fx,fy,fz)
...`` tables of one line without an id (``kind="total"``). Tables whose columns start
with ``elem`` alone (whole-element quantities) are skipped. :func:`read_dat` returns
:class:`DatTable` objects.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from romnet.errors import InputError

_HEADER = re.compile(r"^\s*(?P<title>[^()]+?)\s*\((?P<cols>[^()]*)\)\s*for set\s+(?P<set>\S+)\s+"
                     r"and time\s+(?P<time>\S+)\s*$")


@dataclass
class DatTable:
    """One table: ``kind`` 'node', 'ip' or 'total'; ``ids`` (n,) node or element ids (empty
    for totals); ``ips`` (n,) 1-based integration points (ip tables); ``values`` (n, n_col);
    ``columns`` names as printed (e.g. ``sxx ... syz``); ``line`` of the header;
    ``local`` (n,) bool, True where a node's values are in its local system (``L``)."""

    title: str
    kind: str
    columns: list
    set_name: str
    time: float
    ids: np.ndarray
    ips: np.ndarray | None
    values: np.ndarray
    line: int
    local: np.ndarray | None = None


def _numbers(rows, lines, path, dtype, what):
    try:
        return np.array(rows, dtype=dtype)
    except (ValueError, OverflowError):
        for row, ln in zip(rows, lines):
            for t in row:
                try:
                    dtype(t) if dtype is not np.float64 else float(t)
                except (ValueError, OverflowError):
                    raise InputError(f"{what}: expected a number, got '{t}'", path, ln) from None
        raise InputError(f"{what}: bad numbers", path, lines[0] if lines else None) from None


def read_dat(path) -> list:
    """All node/integration-point tables of a ``.dat`` file, in file order."""
    path = Path(path)
    if not path.is_file():
        raise InputError("dat file not found", path)
    raw = path.read_bytes()
    if b"\0" in raw:
        pos = raw.index(b"\x00")
        raise InputError("binary content (NUL byte) in a .dat file", path, f"byte {pos}")
    text = raw.decode("latin-1").splitlines()
    tables = []
    i, n = 0, len(text)
    while i < n:
        ln = text[i]
        i += 1
        s = ln.strip()
        if not s:
            continue
        m = _HEADER.match(ln)
        if not m:
            if "for set" in s and "and time" in s:
                raise InputError(f"unreadable table header '{s[:80]}'", path, i)
            continue
        head_line = i
        cols = [c.strip() for c in m.group("cols").split(",")]
        try:
            time = float(m.group("time"))
        except ValueError:
            raise InputError(f"table time: expected a number, got '{m.group('time')}'", path, i) from None
        if not np.isfinite(time):
            raise InputError(f"table time: non-finite '{m.group('time')}'", path, i)
        if m.group("title").strip().lower().startswith("total"):
            kind, n_key, names = "total", 0, cols
        elif cols[:2] == ["elem", "integ.pnt."]:
            kind, n_key, names = "ip", 2, cols[2:]
        elif cols and cols[0] in ("elem",):
            kind, n_key, names = None, 1, cols[1:]
        else:
            kind, n_key, names = "node", 1, cols
        rows, lines = [], []
        while i < n and text[i].strip() == "":
            i += 1
        while i < n and text[i].strip():
            rows.append(text[i].split())
            lines.append(i + 1)
            i += 1
        if kind is None:
            continue  # whole-element quantities
        if not rows:
            raise InputError(f"table '{m.group('title')}' has no data lines", path, head_line)
        local = None
        if kind == "node":
            local = np.array([bool(r) and r[-1] == "L" for r in rows])
            if local.any():
                rows = [r[:-1] if flag else r for r, flag in zip(rows, local)]
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            w0 = len(rows[0])
            k = next(j for j, r in enumerate(rows) if len(r) != w0)
            raise InputError(f"table '{m.group('title')}': expected {w0} columns, got {len(rows[k])}",
                             path, lines[k])
        width = widths.pop()
        if width <= n_key:
            raise InputError(f"table '{m.group('title')}': no values on the data lines", path, lines[0])
        if kind == "total" and len(rows) != 1:
            raise InputError(f"table '{m.group('title')}': expected one line of totals, got {len(rows)}",
                             path, lines[1])
        if names and len(names) != width - n_key and m.group("title") != "internal state variables":
            # some tables (SDV) list fewer names than values; others must match
            names = names[:width - n_key] + [f"v{k + 1}" for k in range(len(names), width - n_key)]
        if len(names) != width - n_key:
            names = [f"v{k + 1}" for k in range(width - n_key)]
        keys = (_numbers([r[:n_key] for r in rows], lines, path, np.int64, m.group("title")) if n_key
                else np.zeros((len(rows), 1), dtype=np.int64))
        vals = _numbers([r[n_key:] for r in rows], lines, path, np.float64, m.group("title"))
        if not np.isfinite(vals).all():
            k = int(np.flatnonzero(~np.isfinite(vals).all(axis=1))[0])
            raise InputError(f"table '{m.group('title')}': non-finite value", path, lines[k])
        tables.append(DatTable(m.group("title").strip(), kind, names, m.group("set"), time,
                               keys[:, 0] if n_key else np.zeros(0, np.int64),
                               keys[:, 1] if kind == "ip" else None, vals, head_line, local))
    return tables
