"""Storage of the indicator calibration, ``/rom/calibration`` (``docs/rom-schema.md``).

The calibration itself (validation runs, fits) is :mod:`romnet.online.calibration`; this
module only writes and reads what it stores, through the ``/rom`` owner
(:mod:`.rom_store`): :func:`write_calibration`, :func:`read_calibration`,
:func:`fits_of` (the per-error-kind fits the online stage uses) and
:func:`calibration_summary` (the lines ``romnet info`` prints).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from ..store import CaseStore
from .rom_store import read_rom, write_rom

__all__ = ["CALIBRATION", "write_calibration", "read_calibration", "fits_of", "calibration_summary"]

#: path of the calibration inside /rom
CALIBRATION = "calibration"


def write_calibration(store, cal: dict, comm=None):
    """Replace ``/rom/calibration`` of ``store`` atomically (rank 0 writes; collective).
    ``cal``: the dict of :func:`romnet.online.calibration.calibrate_rom`."""
    tree = {k: np.asarray(cal[k], dtype=float) for k in ("error_U", "error_p", "time")}
    tree.update({f"indicator_{n}": np.asarray(v, dtype=float) for n, v in cal["indicators"].items()})
    tree.update({k: np.asarray(cal[k], dtype=np.int64) for k in ("run", "increment")})
    tree.update(indicator_field=cal["indicator_field"], fits=cal["fits"], quality=cal["quality"],
                runs=list(cal["runs"]), cluster=str(cal["cluster"]), rom_modes=int(cal["rom_modes"]),
                rom_points=int(cal["rom_points"]), enrichments=int(cal.get("enrichments", 0)),
                created=datetime.now(UTC).isoformat(timespec="seconds"))
    write_rom(store, tree, {}, comm, at=CALIBRATION)


def read_calibration(store) -> dict | None:
    """``/rom/calibration`` of a store as a dict (fits decoded), None without one."""
    with CaseStore.opened(store) as st:
        if not st.has(f"rom/{CALIBRATION}"):
            return None
        return read_rom(st, modes=False, at=CALIBRATION)


def fits_of(calibration) -> dict:
    """{kind: fit dict} of a stored calibration (as read from /rom/calibration)."""
    if not calibration:
        return {}
    fits = calibration.get("fits", {})
    if isinstance(fits, str):
        fits = json.loads(fits)
    return fits


def calibration_summary(store) -> str:
    """One line per error kind describing ``/rom/calibration`` ('' without one), e.g. for
    ``romnet info``."""
    cal = read_calibration(store)
    if cal is None:
        return ""
    lines = [f"  calibration: {len(cal.get('runs', []))} validation run(s), {int(cal['run'].size)} increments, "
             f"written {cal.get('created', '?')} (ROM then: {cal.get('rom_modes')} modes, "
             f"{cal.get('rom_points')} points)"]
    for k, f in fits_of(cal).items():
        q = cal.get("quality", {}).get(k, {}).get(f.get("indicator"), {}).get("leave_one_run_out", {})
        lines.append(f"    {k} error ~ {10 ** f['intercept']:.3g} * eta_{f.get('indicator')}^{f['slope']:.3f} "
                     f"(r2 {f['r2']:.3f}; leave-one-run-out factor median {q.get('median', float('nan')):.3g}, "
                     f"max {q.get('max', float('nan')):.3g})")
    return "\n".join(lines)
