"""Text summary of a case store (``romnet info``, the step ``info`` of ``romnet run``):
source, mesh, problem definition, result series and their fields (with min / max and the
count of non-finite values of each, read one output at a time), the ROM with its
calibration (through the ``/rom`` owner, :func:`romnet.offline.rom_store.rom_summary`),
and the warnings: the import's (``metadata["warnings"]``), the checks of
:mod:`romnet.validate` on the mesh and problem, non-finite values, output times that
decrease."""
from __future__ import annotations

import numpy as np

from .errors import StoreError
from .offline.calibration_store import calibration_summary
from .offline.rom_store import rom_summary
from .store import CaseStore
from .validate import field_stats, validate_store

__all__ = ["store_summary"]


def _range(s) -> str:
    if np.isnan(s["min"]):
        return "no finite value"
    return f"min {s['min']:.4g} max {s['max']:.4g}"


def store_summary(store, stats: bool = True) -> str:
    """Summary of the case store ``store`` (a path or an open :class:`CaseStore`), one
    item per line; ``stats=False`` leaves out the per-field min / max / non-finite counts
    (which read every output of every field)."""
    with CaseStore.opened(store) as st:
        lines = [f"store: {st.path}"]
        meta = st.metadata
        warnings = [str(w) for w in meta.get("warnings", [])] if isinstance(meta.get("warnings"), list) else []
        if meta:
            lines.append("source: " + ", ".join(f"{k}={v}" for k, v in meta.items() if k not in ("files", "warnings")))
        lines.append(st.mesh().summary())
        if st.has_problem():
            lines.append(st.problem().summary())
        try:
            warnings += validate_store(st).warnings
        except StoreError as exc:
            warnings.append(f"invalid data: {exc}")
        for name in st.series_names():
            t = st.times(name)
            lines.append(f"results '{name}': {len(t)} outputs, t = " + " ".join(f"{x:g}" for x in t))
            if t.size and not np.isfinite(t).all():
                warnings.append(f"results '{name}': non-finite output time")
            elif (np.diff(t) < 0).any():
                k = int(np.flatnonzero(np.diff(t) < 0)[0])
                warnings.append(f"results '{name}': output times decrease ({t[k]:g} then {t[k + 1]:g} at "
                                f"output {k + 1})")
            for kind in ("nodal", "integ"):
                for fname in st.field_names(name, kind):
                    info = st.field_info(name, fname)
                    line = f"  {kind:5s} {fname:16s} shape {info['shape']}  [{' '.join(info['components'])}]"
                    if stats:
                        s = field_stats(st, name, fname)
                        line += f"  {_range(s)}" + (f", {s['nonfinite']} non-finite" if s["nonfinite"] else "")
                        if s["nonfinite"]:
                            warnings.append(f"results '{name}' field '{fname}': {s['nonfinite']} non-finite "
                                            "value(s)")
                    lines.append(line)
        rom = rom_summary(st)
        if rom:
            lines.append(rom)
            lines.append(calibration_summary(st) or "  calibration: none (romnet calibrate STORE fits one)")
        lines.append(f"warnings ({len(warnings)}):" if warnings else "warnings: none")
        lines += [f"  {w}" for w in warnings]
    return "\n".join(lines)
