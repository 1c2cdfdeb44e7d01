"""``romnet run CASE_DIR``: the steps of a case directory, timed, with progress."""
from __future__ import annotations

import time
from pathlib import Path

from .config import load_case_config


def _series_of(store):
    from .store import CaseStore
    with CaseStore(store) as st:
        return st.series_names()


def run_case(case_dir, output=None, progress=print) -> int:
    cfg = load_case_config(case_dir)
    name = cfg["case"]["name"]
    out = Path(output) if output else Path("out") / name
    out.mkdir(parents=True, exist_ok=True)
    store = out / "case.h5"
    progress(f"== romnet run {case_dir}: {cfg['case'].get('description', name)}")
    progress(f"   output folder: {out}")
    timings = []
    for step in cfg["case"]["steps"]:
        t0 = time.perf_counter()
        progress(f"-- step {step}")
        if step == "import":
            from .adapters import get_adapter
            from .store import write_case
            imp = cfg["import"]
            case = get_adapter(imp["code"]).read(imp["path"], progress=progress)
            write_case(store, case)
            progress(f"   wrote {store}")
        elif step == "info":
            from .cli import cmd_info

            class A:  # noqa: D401 - argparse-like namespace
                pass
            a = A()
            a.store = store
            cmd_info(a)
        elif step == "hifi":
            from .hifi import compare_stores, run_hifi
            hifi_store = out / "hifi.h5"
            run_hifi(store, hifi_store, progress=progress)
            if "imported" in _series_of(store):
                progress("   romnet HF solution vs the imported results:")
                progress(compare_stores(hifi_store, store).table())
        elif step == "offline":
            from .offline.pipeline import run_offline
            run_offline(store, config=cfg.get("offline"), progress=progress)
            from .offline.rom_store import rom_summary
            progress(rom_summary(store))
        elif step == "online":
            from .hifi import compare_stores
            from .online.api import load_rom
            res = load_rom(store).run(progress=progress)
            online_store = out / "online.h5"
            res.save(online_store, source_store=store)
            sec = sorted(res.seconds) if hasattr(res, "seconds") else []
            if len(sec):
                progress(f"   online: {len(sec)} increments, median {1e3 * sec[len(sec) // 2]:.1f} ms "
                         "per increment")
            if "imported" in _series_of(store):
                progress("   ROM (online) vs the imported results:")
                progress(compare_stores(online_store, store, series_a="online").table())
        elif step == "verify-law":
            from .verify_law import verify_law
            rep = verify_law(store, progress=progress)
            progress(rep.table())
            progress(f"sigma_rel_err={rep.sigma_rel_err:.3e} p_rel_err={rep.p_rel_err:.3e}")
        timings.append((step, time.perf_counter() - t0))
    progress("-- time budget: " + ", ".join(f"{s} {t:.2f} s" for s, t in timings))
    return 0
