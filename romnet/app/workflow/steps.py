"""One function per ``romnet run`` step (table in :mod:`romnet.app.workflow`); each takes
the :class:`.Context` and is called on every rank."""
from __future__ import annotations

from ...store import CaseStore
from .context import Context


def step_import(ctx: Context):
    from ...adapters import import_case
    from ...store import write_case
    imp = ctx.cfg["import"]

    def run():
        write_case(ctx.store, import_case(imp["code"], imp["path"], progress=ctx.say,
                                          validation=ctx.cfg.get("validation")))
    ctx.on_root(run)
    ctx.say(f"   wrote {ctx.store}")


def step_generate(ctx: Context):
    from ...store import write_case
    gen = ctx.cfg["generate"]
    mod = ctx.script_module()
    from ...errors import RomnetError
    from ...validate import validate_case
    from .context import script_error
    ctx.say(f"   {gen['script']}: build_case(variant={gen['variant']!r}, seed={gen['seed']})")
    try:
        case = mod.build_case(gen["variant"], gen["seed"])
    except RomnetError:
        raise
    except Exception as exc:  # noqa: BLE001 - the script's own failure, reported as one line
        raise script_error(gen["script"], exc) from exc
    validate_case(case, gen["script"], ctx.cfg.get("validation"))
    ctx.on_root(write_case, ctx.store, case)
    ctx.say(f"   wrote {ctx.store}: {case.mesh.n_nodes} nodes ({case.mesh.n_nodes * case.mesh.dim} DOF), "
            f"{case.mesh.n_elements} elements")
    ctx.results["generate"] = dict(variant=gen["variant"], seed=gen["seed"], n_nodes=case.mesh.n_nodes,
                                   n_elements=case.mesh.n_elements, dim=case.mesh.dim)


def step_info(ctx: Context):
    from ...summary import store_summary
    if ctx.root:
        ctx.say(store_summary(ctx.store))
    ctx.barrier()


def step_verify_law(ctx: Context):
    from ...verify_law import verify_law
    rep = ctx.on_root(verify_law, ctx.store, progress=ctx.say)
    if ctx.root:
        ctx.say(rep.table())
        ctx.say(rep.summary())


def _compare_with_imported(ctx: Context, store, what, **series):
    """Print the relative errors of ``store`` against the imported results (rank 0), when
    the case store holds imported results."""
    from ...hifi import compare_stores
    if ctx.root:
        with CaseStore(ctx.store) as st:
            imported = "imported" in st.series_names()
        if imported:
            ctx.say(f"   {what} vs the imported results:")
            ctx.say(compare_stores(store, ctx.store, **series).table())
    ctx.barrier()


def step_hifi(ctx: Context):
    from ...hifi import run_hifi
    hifi_store = ctx.out / "hifi.h5"
    run_hifi(ctx.store, hifi_store, progress=ctx.say, comm=ctx.comm)
    _compare_with_imported(ctx, hifi_store, "romnet HF solution")


def step_train(ctx: Context):
    """The training family (``[training] strategy``: random runs, or greedy choices scored on
    ROMs built with the ``[offline]`` settings; /rom left to a later offline / cluster step)."""
    from ...online.greedy_training import train_family
    from ...online.settings import solver_options
    tr = ctx.cfg["training"]
    sampler = ctx.sampler()
    steps = ctx.cfg["case"]["steps"]
    later = steps[steps.index("train") + 1:] if "train" in steps else []
    rep = train_family(ctx.store, tr, sampler, offline=_pipeline_settings(ctx),
                       online_options=solver_options(ctx.cfg.get("online", {})),
                       final_rom=not ({"offline", "cluster"} & set(later)), comm=ctx.comm, progress=ctx.say)
    if tr["elastic"]:
        from ...offline.elastic_snapshots import run_elastic_snapshots
        rep["elastic"] = run_elastic_snapshots(ctx.store, tr["elastic"], seed=tr["seed"], sampler=sampler,
                                               fields=tr["fields"], comm=ctx.comm, progress=ctx.say)
    ctx.results["train"] = rep


def _pipeline_settings(ctx: Context) -> dict:
    """The ``[offline]`` keys of the offline pipeline (clustering keys left out); series
    ``train_*`` (+ ``elastic_*``, the thermo-elastic snapshots, when the store has some) by
    default when the store holds a training family."""
    from ...offline.elastic_snapshots import PREFIX, elastic_series
    from ...offline.settings import ClusterSettings
    from ...settings import specs
    off = {k: v for k, v in ctx.cfg["offline"].items() if k not in specs(ClusterSettings)}
    if "series" not in off:
        with CaseStore(ctx.store) as st:
            if st.has("training"):
                off["series"] = ["train_*"] + ([PREFIX + "*"] if elastic_series(st) else [])
    return off


def step_cluster(ctx: Context):
    from ...offline.local_bases import run_clustering
    from ...offline.settings import ClusterSettings
    from ...settings import defaults
    cl = {k: ctx.cfg["offline"].get(k, d) for k, d in defaults(ClusterSettings).items()}
    rep = run_clustering(ctx.store, clusters=None if cl["clusters"] == "auto" else cl["clusters"],
                         max_clusters=cl["max_clusters"], dissimilarity=cl["dissimilarity"],
                         config=_pipeline_settings(ctx), comm=ctx.comm, progress=ctx.say)
    ctx.results["cluster"] = {k: v for k, v in rep.items() if k != "table"}
    _rom_summary(ctx)


def step_offline(ctx: Context):
    from ...offline.pipeline import run_offline
    ctx.results["offline"] = run_offline(ctx.store, config=_pipeline_settings(ctx), comm=ctx.comm,
                                         progress=ctx.say)
    _rom_summary(ctx)


def _rom_summary(ctx):
    from ...offline.rom_store import rom_summary
    if ctx.root:
        ctx.say(rom_summary(ctx.store))
    ctx.barrier()


def step_online(ctx: Context):
    from ...online.settings import cluster_choice, solver_options
    on = ctx.cfg["online"]
    if "samples" in on:
        from ...online.montecarlo import run_montecarlo
        mc = run_montecarlo(ctx.store, on, ctx.sampler(), comm=ctx.comm, progress=ctx.say,
                            learning=ctx.cfg.get("learning"))
        ctx.write_json("montecarlo.json", mc)
        ctx.results["montecarlo"] = mc
        return
    from ...online.api import load_rom
    rom = load_rom(ctx.store, ctx.comm)
    rom.learning = dict(ctx.cfg.get("learning") or {})
    res = rom.run(on.get("loading"), progress=ctx.say, enrich=on["enrich"], tol=on["tolerance"],
                  options=solver_options(on), cluster=cluster_choice(on["cluster"]), criterion=on["criterion"],
                  stress_tol=on.get("stress_tolerance"))
    online_store = ctx.out / "online.h5"
    res.save(online_store, source_store=on.get("loading") or ctx.store)
    sec = sorted(res.seconds)
    if sec:
        ctx.say(f"   online: {len(sec)} increments, median {1e3 * sec[len(sec) // 2]:.1f} ms per increment")
    _compare_with_imported(ctx, online_store, "ROM (online)", series_a="online")


def step_cycles(ctx: Context):
    from .. import cycles
    ctx.results["cycles"] = cycles.run_cycle_extrapolation(ctx.store, ctx.out / "cycles",
                                                           dict(ctx.cfg.get("cycles", {})), progress=ctx.say)


def step_report(ctx: Context):
    from .report import write_report
    path = write_report(ctx)
    ctx.say(f"   wrote {path}")


STEPS = {"import": step_import, "generate": step_generate, "info": step_info, "verify-law": step_verify_law,
         "hifi": step_hifi, "train": step_train, "cluster": step_cluster, "offline": step_offline,
         "online": step_online, "cycles": step_cycles, "report": step_report}
