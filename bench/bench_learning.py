"""Learning benchmark: the main job's sequence (cases/blade/case.toml) on a blade variant.

    OMP_NUM_THREADS=1 mpirun -n 2 python bench/bench_learning.py --variant medium
    python bench/bench_learning.py --variant small --samples 80 --holdout 8 [--frozen]
    ... --out DIR --steps online,report --set online.tolerance=0.03   (another online setting
        on an earlier run's ROM: first `romnet rom DIR/case.h5 --use 0`)

Runs ``romnet run`` in-process on a temporary copy of the main job's case (generate the
variant, HF training family, ROMs, Monte Carlo learning sequence, held-out samples on the
frozen learned ROM with HF references, report) in ``--out`` and prints the figures the
issue asks for: held-out U error on the loaded outputs (median / max), p (median, and its
best approximation by the ROM's p basis), learned ROM speed-up per run (median), enrichments
in the first / last quarter of the sequence, indicator reliability (missed / wasted), the
cost of one enrichment in HF increments of the same mesh, and the end-to-end speed-up at
10 / 100 / 1 000 runs with every cost counted (training, offline, the learning sequence with
its enrichments, the further ROM runs). ``--frozen``: the same sequence with every
enrichment discarded after its sample (today's behaviour before issue 17), for comparison.
Last line: ``key=value`` pairs.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def write_case(path: Path, tables: dict):
    """A case.toml of plain tables (scalars and lists)."""
    lines = []
    for name, tab in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in tab.items()]
        lines.append("")
    path.write_text("\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="medium", help="blade variant: small | medium | large")
    ap.add_argument("--samples", type=int, default=None, help="learning sequence length (default: the case's)")
    ap.add_argument("--holdout", type=int, default=None, help="held-out samples (default: the case's)")
    ap.add_argument("--train", type=int, default=None, help="HF training runs (default: the case's)")
    ap.add_argument("--frozen", action="store_true", help="discard every enrichment after its sample")
    ap.add_argument("--out", default=None, help="output folder (default: out/bench_learning_<variant>)")
    ap.add_argument("--set", action="append", default=[], metavar="TABLE.KEY=VALUE",
                    help="override one case.toml setting (TOML value), e.g. --set online.tolerance=0.03; repeatable")
    ap.add_argument("--steps", default=None, help="comma-separated steps to run on the output folder of an "
                    "earlier run (e.g. online,report after an interrupted run; its step times are kept)")
    a = ap.parse_args(argv)
    from romnet import mpi
    mpi.abort_on_uncaught()        # a failing rank ends the job (no hang in the others' collectives)
    from romnet.app.cli import option_value as toml_option
    from romnet.app.config import read_toml
    from romnet.app.runner import run_case
    from romnet.online.montecarlo import ENRICHMENT_PARTS
    comm = mpi.comm()
    src = REPO / "cases" / "blade"
    cfg = read_toml(src / "case.toml")
    cfg["case"]["name"] = f"bench_learning_{a.variant}" + ("_frozen" if a.frozen else "")
    cfg["generate"]["script"] = str(src / cfg["generate"].get("script", "problem.py"))
    cfg["generate"]["variant"] = a.variant
    if a.samples is not None:
        cfg["online"]["samples"] = a.samples
    if a.holdout is not None:
        cfg["online"]["holdout"] = a.holdout
    if a.train is not None:
        cfg["training"]["samples"] = a.train
    cfg.setdefault("learning", {})["learn"] = not a.frozen
    for item in a.set:
        key, sep, value = item.partition("=")
        table, dot, name = key.strip().partition(".")
        if not (sep and dot and table and name):
            ap.error(f"--set {item!r}: expected TABLE.KEY=VALUE")
        cfg.setdefault(table, {})[name] = toml_option(value.strip(), f"--set {key}")
    out = Path(a.out or (REPO / "out" / cfg["case"]["name"]))
    tmp = None
    if comm.Get_rank() == 0:
        tmp = tempfile.mkdtemp(prefix="romnet-bench-learning-")
        write_case(Path(tmp) / "case.toml", cfg)
    tmp = comm.bcast(tmp, root=0) if comm.Get_size() > 1 else tmp
    before = {}
    if a.steps and (out / "run.json").is_file():
        before = json.loads((out / "run.json").read_text()).get("seconds", {})
    steps = [x.strip() for x in a.steps.split(",")] if a.steps else None
    before = {k: v for k, v in before.items() if steps is None or k not in steps}   # steps not rerun
    t0 = time.perf_counter()
    run_case(tmp, output=out, progress=mpi.rprint, steps=steps)
    wall = time.perf_counter() - t0 + sum(before.values())
    if comm.Get_rank() != 0:
        return 0
    if before:          # keep the earlier steps' seconds in run.json: the next --steps run counts them too
        run = json.loads((out / "run.json").read_text())
        run["seconds"] = {**before, **run["seconds"]}
        (out / "run.json").write_text(json.dumps(run, indent=1))
    if not (out / "montecarlo.json").is_file():
        print(f"bench_learning ({a.variant}): steps done in {wall:.0f} s, no Monte Carlo yet in {out} "
              "(run the online and report steps: --steps online,report)")
        return 0
    mc = json.loads((out / "montecarlo.json").read_text())
    run = json.loads((out / "run.json").read_text())
    s, h = mc["summary"], (mc.get("holdout") or {}).get("summary", {})
    fixed = sum(v for k, v in run["seconds"].items() if k in ("train", "cluster", "offline"))
    seq = [r["wall_time_s"] for r in mc["samples"]]
    hf, rom = h.get("hf_wall_median_s", float("nan")), h.get("rom_wall_median_s", float("nan"))
    n_inc = max(1, mc["samples"][0].get("increments", 16)) if mc["samples"] else 16
    n_enr = sum(r.get("enrichments", 0) for r in mc["samples"])
    per_enr = sum(r.get("enrichment_s", 0.0) for r in mc["samples"]) / n_enr if n_enr else float("nan")
    parts = {k: sum(r.get("enrichment_parts_s", {}).get(k, 0.0) for r in mc["samples"]) / n_enr if n_enr
             else float("nan") for k in ENRICHMENT_PARTS}
    fig = dict(variant=a.variant, learn=not a.frozen, samples=len(seq), holdout=h.get("n", 0),
               u_loaded_median=h.get("u_loaded_median"), u_loaded_max=h.get("u_loaded_max"),
               u_unloaded_median=h.get("u_unloaded_median"), p_median=h.get("p_median"),
               p_best_median=h.get("p_best_median"), speedup_median=h.get("speedup_median"),
               rom_s=rom, hf_s=hf, enrichments=s.get("enrichments"), dual_only=s.get("dual_only_enrichments"),
               enrichments_first_quarter=s.get("enrichments_first_quarter"),
               enrichments_last_quarter=s.get("enrichments_last_quarter"), missed=h.get("missed"),
               missed_unloaded=h.get("missed_unloaded"),
               wasted=h.get("wasted"), enrichment_s=per_enr, enrichment_hf_increments=per_enr / (hf / n_inc),
               **{f"enrichment_{k}_hf_increments": v / (hf / n_inc) for k, v in parts.items()},
               modes=s.get("modes_last"), points=s.get("points_last"), training_offline_s=fixed,
               sequence_s=sum(seq), wall_s=wall)
    for n in (10, 100, 1000):
        cost = fixed + (sum(seq[:n]) if n <= len(seq) else sum(seq) + (n - len(seq)) * rom)
        fig[f"end_to_end_{n}"] = n * hf / cost
    print(f"bench_learning ({a.variant}, {'learning' if not a.frozen else 'enrichment discarded'}): "
          f"{len(seq)} samples, {h.get('n', 0)} held-out; run {wall:.0f} s; report {out / 'report.md'}")
    print("  held-out U loaded median / max: %s / %s; unloaded median %s" % tuple(
        f"{fig[k]:.2e}" if fig[k] is not None else "-" for k in ("u_loaded_median", "u_loaded_max", "u_unloaded_median")))
    print(f"  held-out p median {fig['p_median']:.2e} (best approximation {fig['p_best_median']:.2e})")
    print(f"  learned ROM {rom:.3f} s vs HF {hf:.2f} s per run: speed-up {fig['speedup_median']:.0f}x")
    print(f"  enrichments {fig['enrichments']} (first / last quarter {fig['enrichments_first_quarter']} / "
          f"{fig['enrichments_last_quarter']}), one enrichment {per_enr:.2f} s = "
          f"{fig['enrichment_hf_increments']:.2f} HF increments; missed {fig['missed']:.1%} "
          f"({fig['missed_unloaded'] or 0:.1%} at unloaded outputs), wasted {fig['wasted']:.1%}")
    print("  one enrichment in HF increments: " + ", ".join(
        f"{k} {fig[f'enrichment_{k}_hf_increments']:.2f}" for k in parts)
        + f", rest {fig['enrichment_hf_increments'] - sum(fig[f'enrichment_{k}_hf_increments'] for k in parts):.2f}"
        + " (state: law states at t_n; rebuild: ECM + QDEIM + operators)")
    print(f"  end to end (training + offline {fixed:.0f} s, sequence {sum(seq):.0f} s): 10 runs "
          f"{fig['end_to_end_10']:.1f}x, 100 runs {fig['end_to_end_100']:.1f}x, 1000 runs {fig['end_to_end_1000']:.1f}x")
    print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fig.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
