"""``romnet run CASE_DIR``: the steps of a case directory, timed, with progress.

The steps and their tables: :mod:`romnet.app.workflow`; the settings: :mod:`romnet.app.config`.
Every MPI rank runs every step (``mpirun -n N romnet run CASE_DIR``); rank 0 prints, and
writes ``out/<name>/run.json`` (settings file, steps, seconds per step) after each step.
"""
from __future__ import annotations

import time
from pathlib import Path

from .. import mpi
from ..errors import ConfigError
from .config import check_store_names, load_case_config


def run_case(case_dir, output=None, progress=print, steps=None) -> int:
    """Run the steps of ``case_dir/case.toml`` (or ``steps``, a subset run on the output
    folder of an earlier run: batch jobs one stage at a time)."""
    from .workflow import STEPS, Context
    cfg = load_case_config(case_dir, note=lambda m: mpi.rprint(f"romnet: note: {m}"))
    if steps is not None:
        unknown = [s for s in steps if s not in STEPS]
        if unknown or not steps:
            raise ConfigError(f"--steps {','.join(steps)}: unknown step(s) {unknown} "
                              f"(known: {', '.join(STEPS)})")
        cfg["case"]["steps"] = list(steps)
    name = cfg["case"]["name"]                 # a plain name (config.CaseSettings): stays in out/
    ctx = Context(cfg, Path(output) if output else Path("out") / name, progress=progress)
    if ctx.root:
        ctx.out.mkdir(parents=True, exist_ok=True)
    ctx.barrier()
    ctx.say(f"== romnet run {case_dir}: {cfg['case'].get('description') or name}")
    ctx.say(f"   output folder: {ctx.out}, {ctx.comm.Get_size()} MPI rank(s)")
    steps = cfg["case"]["steps"]
    t_all = time.perf_counter()
    checked = False
    for i, step in enumerate(steps):
        if not checked and step not in ("import", "generate") and ctx.store.exists():
            check_store_names(cfg, ctx.store)    # the store exists: its series and fields are known
            checked = True
        ctx.say(f"-- step {step} ({i + 1}/{len(steps)})")
        ctx.barrier()
        t0 = time.perf_counter()
        STEPS[step](ctx)
        ctx.barrier()
        dt = time.perf_counter() - t0
        ctx.timings.append((step, dt))
        ctx.say(f"   step {step}: {dt:.2f} s")
        ctx.write_json("run.json", dict(case=str(cfg["_path"]), steps=steps, ranks=ctx.comm.Get_size(),
                                        seconds={s: t for s, t in ctx.timings}))
    total = time.perf_counter() - t_all
    ctx.say("-- time budget: " + ", ".join(f"{s} {t:.2f} s" for s, t in ctx.timings) + f"; total {total:.1f} s")
    return 0
