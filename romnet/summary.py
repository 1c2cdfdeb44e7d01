"""Text summary of a case store (``romnet info``, the step ``info`` of ``romnet run``):
source, mesh, problem definition, result series and their fields, and the ROM with its
calibration (through the ``/rom`` owner, :func:`romnet.offline.rom_store.rom_summary`)."""
from __future__ import annotations

from .offline.calibration_store import calibration_summary
from .offline.rom_store import rom_summary
from .store import CaseStore

__all__ = ["store_summary"]


def store_summary(store) -> str:
    """Summary of the case store ``store`` (a path or an open :class:`CaseStore`), one
    item per line."""
    with CaseStore.opened(store) as st:
        lines = [f"store: {st.path}"]
        meta = st.metadata
        if meta:
            lines.append("source: " + ", ".join(f"{k}={v}" for k, v in meta.items() if k != "files"))
        lines.append(st.mesh().summary())
        if st.has_problem():
            lines.append(st.problem().summary())
        for name in st.series_names():
            t = st.times(name)
            lines.append(f"results '{name}': {len(t)} outputs, t = " + " ".join(f"{x:g}" for x in t))
            for kind in ("nodal", "integ"):
                for fname in st.field_names(name, kind):
                    info = st.field_info(name, fname)
                    lines.append(f"  {kind:5s} {fname:16s} shape {info['shape']}  [{' '.join(info['components'])}]")
        rom = rom_summary(st)
        if rom:
            lines.append(rom)
            lines.append(calibration_summary(st) or "  calibration: none (romnet calibrate STORE fits one)")
    return "\n".join(lines)
