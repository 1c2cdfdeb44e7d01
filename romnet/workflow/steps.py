"""One function per ``romnet run`` step (table in :mod:`romnet.workflow`); each takes the
:class:`.Context` and is called on every rank."""
from __future__ import annotations

from ..errors import InputError
from .context import Context


def _series_of(store):
    from ..store import CaseStore
    with CaseStore(store) as st:
        return st.series_names()


def _has_training(store) -> bool:
    from ..store import CaseStore
    with CaseStore(store) as st:
        return "training" in st.f


def step_import(ctx: Context):
    from ..adapters import get_adapter
    from ..store import write_case
    imp = ctx.cfg["import"]

    def run():
        case = get_adapter(imp["code"]).read(imp["path"], progress=ctx.say)
        write_case(ctx.store, case)
    ctx.on_root(run)
    ctx.say(f"   wrote {ctx.store}")


def step_generate(ctx: Context):
    from ..store import write_case
    gen = ctx.cfg["generate"]
    mod = ctx.script_module()
    ctx.say(f"   {gen['script']}: build_case(variant={gen['variant']!r}, seed={gen['seed']})")
    case = mod.build_case(gen["variant"], gen["seed"])
    ctx.on_root(write_case, ctx.store, case)
    ctx.say(f"   wrote {ctx.store}: {case.mesh.n_nodes} nodes ({case.mesh.n_nodes * case.mesh.dim} DOF), "
            f"{case.mesh.n_elements} elements")
    ctx.results["generate"] = dict(variant=gen["variant"], seed=gen["seed"], n_nodes=case.mesh.n_nodes,
                                   n_elements=case.mesh.n_elements, dim=case.mesh.dim)


def step_info(ctx: Context):
    from ..cli import cmd_info

    class Args:  # argparse-like namespace
        store = ctx.store
    if ctx.root:
        cmd_info(Args())
    ctx.barrier()


def step_verify_law(ctx: Context):
    from ..verify_law import verify_law
    rep = ctx.on_root(verify_law, ctx.store, progress=ctx.say)
    if ctx.root:
        ctx.say(rep.table())
        ctx.say(rep.summary())


def step_hifi(ctx: Context):
    from ..hifi import compare_stores, run_hifi
    hifi_store = ctx.out / "hifi.h5"
    run_hifi(ctx.store, hifi_store, progress=ctx.say, comm=ctx.comm)
    if "imported" in _series_of(ctx.store) and ctx.root:
        ctx.say("   romnet HF solution vs the imported results:")
        ctx.say(compare_stores(hifi_store, ctx.store).table())
    ctx.barrier()


def step_train(ctx: Context):
    from ..offline.training import DEFAULT_FIELDS, run_training
    tr = ctx.cfg["training"]
    fields = tr.get("fields") or DEFAULT_FIELDS
    rep = run_training(ctx.store, n_samples=tr["samples"], seed=tr["seed"], sampler=ctx.sampler(),
                       fields=fields, n_increments=tr.get("increments"), comm=ctx.comm, progress=ctx.say)
    if tr["elastic"]:
        from ..offline.elastic_snapshots import run_elastic_snapshots
        rep["elastic"] = run_elastic_snapshots(ctx.store, tr["elastic"], seed=tr["seed"], sampler=ctx.sampler(),
                                               fields=fields, comm=ctx.comm, progress=ctx.say)
    ctx.results["train"] = rep


def _pipeline_settings(ctx: Context) -> dict:
    """The ``[offline]`` keys of the offline pipeline (clustering keys left out); series
    ``train_*`` (+ ``elastic_*``, the thermo-elastic snapshots, when the store has some) by
    default when the store holds a training family."""
    from ..config import CLUSTER_KINDS
    from ..offline.elastic_snapshots import PREFIX, elastic_series
    off = {k: v for k, v in ctx.cfg["offline"].items() if k not in CLUSTER_KINDS}
    if "series" not in off and _has_training(ctx.store):
        off["series"] = ["train_*"] + ([PREFIX + "*"] if elastic_series(ctx.store) else [])
    return off


def step_cluster(ctx: Context):
    from ..offline.local_bases import run_clustering
    off = ctx.cfg["offline"]
    clusters = off.get("clusters", "auto")
    rep = run_clustering(ctx.store, clusters=None if clusters == "auto" else clusters,
                         max_clusters=off.get("max_clusters", 6),
                         dissimilarity=off.get("dissimilarity", "angle"),
                         config=_pipeline_settings(ctx), comm=ctx.comm, progress=ctx.say)
    ctx.results["cluster"] = {k: v for k, v in rep.items() if k != "table"}
    _rom_summary(ctx)


def step_offline(ctx: Context):
    from ..offline.pipeline import run_offline
    ctx.results["offline"] = run_offline(ctx.store, config=_pipeline_settings(ctx), comm=ctx.comm,
                                         progress=ctx.say)
    _rom_summary(ctx)


def _rom_summary(ctx):
    from ..offline.rom_store import rom_summary
    if ctx.root:
        ctx.say(rom_summary(ctx.store))
    ctx.barrier()


def step_online(ctx: Context):
    on = ctx.cfg["online"]
    if "samples" in on:
        from .montecarlo import run_montecarlo
        ctx.results["montecarlo"] = run_montecarlo(ctx)
        return
    from ..hifi import compare_stores
    from ..online.api import load_rom
    from ..online.solver import OnlineOptions
    opts = OnlineOptions(ratio=on["ratio"]) if "ratio" in on else None
    rom = load_rom(ctx.store, ctx.comm)
    cluster = None if on["cluster"] == "classifier" else on["cluster"]
    res = rom.run(progress=ctx.say, enrich=on["enrich"], tol=on["tolerance"], options=opts, cluster=cluster)
    online_store = ctx.out / "online.h5"
    res.save(online_store, source_store=ctx.store)
    sec = sorted(res.seconds)
    if sec:
        ctx.say(f"   online: {len(sec)} increments, median {1e3 * sec[len(sec) // 2]:.1f} ms per increment")
    if "imported" in _series_of(ctx.store) and ctx.root:
        ctx.say("   ROM (online) vs the imported results:")
        ctx.say(compare_stores(online_store, ctx.store, series_a="online").table())
    ctx.barrier()


def step_cycles(ctx: Context):
    try:
        from ..cycles import run_cycle_extrapolation
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise InputError(f"step cycles: romnet.cycles is not available ({exc})") from exc
    ctx.results["cycles"] = run_cycle_extrapolation(ctx.store, ctx.out / "cycles", dict(ctx.cfg.get("cycles", {})),
                                                    progress=ctx.say)


def step_report(ctx: Context):
    from .report import write_report
    path = write_report(ctx)
    ctx.say(f"   wrote {path}")


STEPS = {"import": step_import, "generate": step_generate, "info": step_info, "verify-law": step_verify_law,
         "hifi": step_hifi, "train": step_train, "cluster": step_cluster, "offline": step_offline,
         "online": step_online, "cycles": step_cycles, "report": step_report}
