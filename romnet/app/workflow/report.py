"""``report`` step: ``out/<name>/report.md`` + PNG plots from what the run produced.

Sources: the step timings and results of this run (:class:`.Context`: the report is
the last step of a ``romnet run``), and ``/rom`` of the case store (POD singular values, reduced points). A part
whose data is missing (no ROM, no Monte Carlo, no HF reference) is replaced by a sentence
saying so; the report never fails for lack of data.

Plots: ``pod_decay.png`` (s_k / s_1 per field, global and local ROMs), ``ecm_points.png``
(reduced points over the mesh nodes), ``indicator_vs_error.png`` (per increment of the
HF-referenced samples, with the log-log fit :func:`romnet.online.indicator.calibrate` of
the U error), ``error_over_time.png``, ``time_budget.png``, ``speedup.png`` (per run, and
the cost of N runs: offline + N ROM runs vs N HF runs, HF time per run measured on the HF
references, else on the training runs).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import plots
from .context import Context

#: steps whose time is the offline cost of the ROM (end-to-end speed-up)
OFFLINE_STEPS = ("train", "cluster", "offline")


def _fmt(v, spec=".3g"):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return format(float(v), spec)
    return str(v)


def _table(head, rows) -> list:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows]
    return out + [""]


# ------------------------------------------------------------------------ ROM data
def rom_data(store):
    """[(label, tree)] of the global ROM and the local ROMs of the selected k, or []."""
    from ...offline.rom_store import read_rom
    from ...store import CaseStore
    if not Path(store).is_file():
        return []
    with CaseStore(store) as st:
        if not st.has("rom"):
            return []
        rom = read_rom(st, modes=False)
    out = [("global", rom)]
    cl = rom.get("clusters")
    if cl:
        k = str(int(cl["selected"]))
        for key in sorted(x for x in cl.get(k, {}) if x.isdigit()):
            out.append((f"local {int(key)}", cl[k][key]))
    return out


def _rom_rows(roms):
    rows = []
    for label, t in roms:
        pod = t["pod"]
        ecm = t.get("ecm", {})
        dual = ", ".join(f"{n} {pod[n]['n_modes']}" for n in pod if n != "U")
        pts = t["points"]
        rows.append([label, int(pod["U"]["n_modes"]), dual, int(np.count_nonzero(pts["ecm"])),
                     int(np.size(pts["ecm"]) - np.count_nonzero(pts["ecm"])), ecm.get("error"),
                     ecm.get("converged"), int(pod["U"].get("n_snapshots", 0))])
    return rows


# ------------------------------------------------------------------------ sections
def _section_rom(ctx, roms, lines, figs):
    lines += ["## Offline ROM", ""]
    if not roms:
        lines += ["No ROM in the case store (no `offline` or `cluster` step in this case).", ""]
        return
    lines += _table(["ROM", "U modes", "dual modes", "ECM points", "QDEIM extra points", "ECM error",
                     "ECM converged", "snapshots"], _rom_rows(roms))
    cl = roms[0][1].get("clusters")
    if cl and "criterion" in cl:
        c = cl["criterion"]
        kinds = c.get("kinds") or []
        lines += [f"A priori criterion (`romnet cluster`): mean relative projection error of the training "
                  f"snapshots with {cl.get('modes')} modes in every basis; selected k = {cl['selected']}.", ""]
        rows = [[int(k), g] + [c[f"local_{kd}"][i] for kd in kinds]
                for i, (k, g) in enumerate(zip(c["k"], c["global_error"]))]
        lines += _table(["k", "global"] + [f"local ({kd})" for kd in kinds], rows)
    crep = ctx.results.get("cluster", {}).get("classifier", {})
    for k, r in crep.items():
        lines += [f"Classifier (k = {k}): {r.get('model')}, cross-validated accuracy {_fmt(r.get('cv_accuracy'))} "
                  f"(chance {_fmt(r.get('chance'))}).", ""]
    fields = [(lab, {n: (np.asarray(p["singular_values"]), int(p["n_modes"])) for n, p in t["pod"].items()})
              for lab, t in roms]
    figs["pod_decay"] = plots.pod_decay(fields, ctx.out / "pod_decay.png")
    from ...store import CaseStore
    with CaseStore(ctx.store) as st:
        X = st.mesh().coordinates
    if X.shape[1] == 3:
        pts = [(lab, t["points"]["coordinates"], t["points"]["ecm"]) for lab, t in roms]
        figs["ecm_points"] = plots.ecm_points(X, pts, ctx.out / "ecm_points.png")
    lines += ["POD singular value decay (circles: last kept mode):", "", "![POD decay](pod_decay.png)", ""]
    if "ecm_points" in figs:
        lines += ["Reduced integration points over the mesh nodes (grey):", "", "![ECM points](ecm_points.png)", ""]


def _section_montecarlo(ctx, mc, lines, figs, costs):
    lines += ["## Online Monte Carlo", ""]
    if not mc:
        lines += ["No Monte Carlo in this run (`[online] samples` not set or no `online` step).", ""]
        return
    s, st, samples = mc["summary"], mc["settings"], mc["samples"]
    lines += [f"{s['n_samples']} new temperature fields (seeds ({st['seed']}, i)), ROM choice "
              f"`{st['cluster']}`, enrichment {'on' if st['enrich'] else 'off'} (indicator tolerance "
              f"{_fmt(st['tolerance'])}); ROM loaded once in {_fmt(mc.get('rom_load_s'))} s.", ""]
    lines += _table(["figure", "value"], [
        ["ROM wall time per sample, mean / median / max (s)",
         f"{_fmt(s['rom_wall_mean_s'])} / {_fmt(s['rom_wall_median_s'])} / {_fmt(s['rom_wall_max_s'])}"],
        ["ROMs used", ", ".join(f"{k}: {v}" for k, v in s["roms"].items())],
        ["max indicator", s["indicator_max"]], ["enrichments (HF increments)", s["enrichments"]],
        ["fallbacks local -> enriched global", s["fallbacks"]],
        ["new local ROMs started by samples no local ROM represented",
         ", ".join(str(c) for c in s.get("new_local_roms", [])) or "none"],
        ["failed samples (reduced Newton did not converge)", s.get("failures", 0)],
        ["HF references", s["n_references"]],
        ["HF wall time per run, mean (s)", s["hf_wall_mean_s"]],
        ["speed-up ROM vs HF per run, mean / min", f"{_fmt(s['speedup_mean'])} / {_fmt(s['speedup_min'])}"],
        ["U relative error, max / median over references and outputs",
         f"{_fmt(s['u_rel_err_max'])} / {_fmt(s.get('u_rel_err_median'))}"],
        ["p relative error, max / median over references and outputs",
         f"{_fmt(s['p_rel_err_max'])} / {_fmt(s.get('p_rel_err_median'))}"]])
    shown = samples[:20]
    lines += [f"Samples{' (first 20)' if len(samples) > 20 else ''}:", ""]
    lines += _table(["#", "T max (degC)", "ROM", "wall (s)", "increments", "Newton its", "max indicator",
                     "enrichments", "HF (s)", "speed-up", "U err", "p err"],
                    [[r["index"], r["temperature_max"], r["rom"] + (" -> global" if r["fallback"] else "")
                      + (f" (new local ROM {r['new_local_rom']})" if "new_local_rom" in r else ""),
                      r["wall_time_s"], r.get("increments"), r.get("newton_iterations"), r["indicator_max"],
                      r["enrichments"], r.get("hf_wall_time_s"), r.get("speedup"), r.get("u_rel_err_max"),
                      r.get("p_rel_err_max")] for r in shown])
    refs = [r for r in samples if r.get("u_rel_err") is not None]
    if not refs:
        lines += ["No HF reference run (`[online] hf_references = 0`): the ROM errors are not measured, "
                  "so there is no indicator-vs-error plot and no error-over-time plot.", ""]
    else:
        from ...online.indicator import calibrate
        eta = np.concatenate([np.asarray(r["indicator"], dtype=float)[1:] for r in refs])
        ue = np.concatenate([np.asarray(r["u_rel_err"], dtype=float)[1:] for r in refs])
        pe = np.concatenate([np.asarray(r["p_rel_err"], dtype=float)[1:] for r in refs])
        fit = calibrate(eta, np.nan_to_num(ue, nan=0.0))
        figs["indicator_vs_error"] = plots.indicator_vs_error(eta, ue, pe, fit, ctx.out / "indicator_vs_error.png")
        runs = [(f"sample {r['index']} ({r['rom']}{' -> global' if r['fallback'] else ''})",
                 r["times"], r["u_rel_err"], r["p_rel_err"]) for r in refs]
        figs["error_over_time"] = plots.error_over_time(runs, ctx.out / "error_over_time.png")
        fit_txt = (f"log10(U err) = {fit['slope']:.3f} log10(indicator) + {fit['intercept']:.3f}, r2 "
                   f"{fit['r2']:.3f} over {fit['n']} increments" if fit["n"] >= 2 else
                   "too few increments with a non-zero indicator for a fit")
        lines += ["Indicator against the true error per increment of the HF-referenced samples "
                  f"(calibration fit: {fit_txt}):", "", "![indicator vs error](indicator_vs_error.png)", "",
                  "Relative error per output (U: L2 over the nodes; p: Gappy-POD reconstruction vs HF "
                  "over every integration point; denominator floored at 1e-2 of the largest reference norm):",
                  "", "![error over time](error_over_time.png)", ""]
    costs["rom_mean_s"] = s["rom_wall_mean_s"]
    costs["summary"] = s
    costs["refs"] = refs


def _section_learning(ctx, mc, lines, figs, costs):
    """The learning sequence (enrichments and ROM size per sample) and the held-out samples
    run on the frozen learned ROM with HF references."""
    if not mc or not mc["settings"].get("enrich"):
        return
    samples, s = mc["samples"], mc["summary"]
    learn = (mc.get("learning") or {}).get("learn", True)
    lines += ["## Learning", "", f"Enrichments are {'kept (a new ROM version per sample that enriched)' if learn else 'discarded after each sample'}; "
              f"criterion `{mc['settings'].get('criterion')}`. {s.get('enrichments')} enrichments"
              + (f" ({s['dual_only_enrichments']} dual-only: U basis and ECM points kept)"
                 if s.get("dual_only_enrichments") else "")
              + f"; in the first / last quarter of the "
              f"sequence: {s.get('enrichments_first_quarter')} / {s.get('enrichments_last_quarter')}; ROM after "
              f"the sequence: {s.get('modes_last')} U modes, {s.get('points_last')} reduced points; reduced "
              f"solve per increment {_fmt(s.get('ms_per_increment_first_quarter'))} ms in the first quarter, "
              f"{_fmt(s.get('ms_per_increment_last_quarter'))} ms in the last; time in enrichments "
              f"{_fmt(s.get('enrichment_s'))} s of {_fmt(s.get('sequence_s'))} s.", ""]
    if any("modes" in r for r in samples):
        figs["learning"] = plots.learning(samples, ctx.out / "learning.png")
        lines += ["![learning](learning.png)", ""]
    ho = mc.get("holdout")
    if not ho:
        lines += ["No held-out samples (`[online] holdout = 0`).", ""]
        return
    h = ho["summary"]
    lines += [f"### Held-out samples ({h['n']} new fields, seeds ({mc['settings'].get('holdout_seed')}, i)) on "
              "the frozen learned ROM, with HF references", ""]
    lines += _table(["figure", "value"], [
        ["U error, loaded outputs: median / max", f"{_fmt(h['u_loaded_median'])} / {_fmt(h['u_loaded_max'])}"],
        ["U error, unloaded end state: median", h["u_unloaded_median"]],
        ["p error (all outputs): median / max", f"{_fmt(h['p_median'])} / {_fmt(h['p_max'])}"],
        ["p: best approximation by the ROM's p basis (median) and ROM / best",
         f"{_fmt(h['p_best_median'])} / {_fmt(h['p_over_best'])}"],
        ["speed-up HF / learned ROM per run, median", h["speedup_median"]],
        ["ROM / HF wall time per run, median (s)", f"{_fmt(h['rom_wall_median_s'])} / {_fmt(h['hf_wall_median_s'])}"],
        [f"indicator reliability (tol {_fmt(mc['settings'].get('error_tolerance'))}): missed (of which at unloaded "
         "outputs) / wasted",
         f"{_fmt(100 * h['missed'], '.1f')} % ({_fmt(100 * h.get('missed_unloaded', float('nan')), '.1f')} %) / "
         f"{_fmt(100 * h['wasted'], '.1f')} %"]])
    recs = [r for r in ho["samples"] if "u_rel_err" in r]
    if recs:
        runs = [(f"held-out {r['index']}", list(range(len(r["u_rel_err"]))), r["u_rel_err"], r["p_rel_err"])
                for r in recs]
        figs["holdout_errors"] = plots.error_over_time(runs, ctx.out / "holdout_errors.png")
        lines += ["Held-out errors per output (x: output index):", "", "![held-out errors](holdout_errors.png)", ""]
        costs["holdout"] = h
    costs["sequence"] = [r["wall_time_s"] for r in samples]


def _learning_costs(ctx, costs, lines):
    """End-to-end cost of N runs with everything counted: training + offline + the learning
    sequence (enrichments included) + the further runs on the frozen learned ROM, vs N HF runs."""
    h, seq = costs.get("holdout"), costs.get("sequence")
    if not h or not seq:
        return False
    fixed = sum(t for s, t in ctx.timings if s in OFFLINE_STEPS)
    hf, rom = h["hf_wall_median_s"], h["rom_wall_median_s"]
    n_runs = list(ctx.cfg["report"]["speedup_runs"])
    rows = []
    for n in n_runs:
        cost = fixed + (sum(seq[:n]) if n <= len(seq) else sum(seq) + (n - len(seq)) * rom)
        rows.append([n, n * hf, cost, n * hf / cost])
    lines += [f"Everything counted: training + offline steps ({fixed:.1f} s), the learning sequence of "
              f"{len(seq)} samples ({sum(seq):.1f} s, enrichments included), then {rom:.3g} s per run on the "
              f"frozen learned ROM; HF {hf:.3g} s per run (median over the held-out references).", ""]
    lines += _table(["runs N", "N HF runs (s)", "ROM, everything counted (s)", "end-to-end speed-up"], rows)
    costs["learning_table"] = rows
    return True


def _section_speedup(ctx, costs, lines, figs):
    lines += ["## Speed-up", ""]
    if _learning_costs(ctx, costs, lines):
        return
    rom_mean = costs.get("rom_mean_s")
    refs = costs.get("refs") or []
    hf_mean, hf_src = None, None
    if refs:
        hf_mean, hf_src = float(np.mean([r["hf_wall_time_s"] for r in refs])), "the HF reference runs"
    else:
        tr = ctx.results.get("train") or {}
        if tr.get("wall_time"):
            hf_mean, hf_src = float(np.mean(tr["wall_time"])), "the training runs (their stepping)"
    if rom_mean is None or hf_mean is None or not np.isfinite(rom_mean):
        lines += ["No speed-up figure: it needs Monte Carlo ROM runs and a measured HF run time "
                  "(HF references or training runs in this run).", ""]
        return
    offline = sum(t for s, t in ctx.timings if s in OFFLINE_STEPS)
    n_runs = list(ctx.cfg["report"]["speedup_runs"])
    lines += [f"HF wall time per run {hf_mean:.3g} s (mean over {hf_src}); ROM {rom_mean:.3g} s per run "
              f"(mean over the Monte Carlo samples, enrichment included); offline cost (steps "
              f"{', '.join(s for s, _ in ctx.timings if s in OFFLINE_STEPS) or 'none'} of this run) "
              f"{offline:.1f} s.", ""]
    rows = [[n, n * hf_mean, offline + n * rom_mean, n * hf_mean / (offline + n * rom_mean)] for n in n_runs]
    lines += _table(["runs N", "N HF runs (s)", "offline + N ROM runs (s)", "end-to-end speed-up"], rows)
    if hf_mean > rom_mean:
        lines += [f"Per run the ROM is {hf_mean / rom_mean:.3g}x faster than the HF solver; the offline "
                  f"cost is recovered after N = {offline / (hf_mean - rom_mean):.1f} runs.", ""]
    else:
        lines += [f"Per run the ROM (enrichment included) is slower than the HF solver ({hf_mean / rom_mean:.2g}x): "
                  "the offline cost is never recovered at these settings.", ""]
    mcs = costs.get("summary") or {}
    if mcs.get("n_plain"):
        plain = mcs["rom_wall_plain_mean_s"]
        lines += [f"Samples run without enrichment nor fallback ({mcs['n_plain']}): ROM {plain:.3g} s "
                  f"per run, {hf_mean / plain:.3g}x faster than the HF run.", ""]
    figs["speedup"] = plots.speedup([f"#{r['index']}" for r in refs], [r["wall_time_s"] for r in refs],
                                    [r["hf_wall_time_s"] for r in refs], n_runs, offline, rom_mean, hf_mean,
                                    ctx.out / "speedup.png")
    lines += ["![speed-up](speedup.png)", ""]


def _section_cycles(cyc, lines):
    lines += ["## Cycle extrapolation", ""]
    scal = [[k, v] for k, v in cyc.items() if isinstance(v, (int, float, bool, str)) or v is None]
    lines += _table(["figure", "value"], scal)
    for key in ("rom", "times"):
        if isinstance(cyc.get(key), dict):
            lines += _table([key, "value"], [[k, v] for k, v in cyc[key].items()
                                             if not isinstance(v, (dict, list))])
    n = cyc.get("cycles")
    per = {k: v for k, v in cyc.items() if k.endswith("_cycle") and isinstance(v, list) and len(v) == n}
    if per:
        lines += ["Per cycle (maximum over the outputs of the cycle):", ""]
        lines += _table(["cycle"] + list(per), [[c + 1] + [per[k][c] for k in per] for c in range(int(n))])


def write_report(ctx: Context) -> Path:
    """Write ``out/report.md`` and its PNGs (rank 0; collective call). Returns the path."""
    return ctx.on_root(_write, ctx)


def _write(ctx: Context) -> Path:
    from ... import __version__
    cfg = ctx.cfg
    desc = cfg["case"].get("description")
    lines = [f"# romnet run: {cfg['case']['name']}", ""] + ([desc, ""] if desc else []) + [
             f"romnet {__version__}, {ctx.comm.Get_size()} MPI rank(s), written "
             f"{time.strftime('%Y-%m-%d %H:%M:%S')}; case `{cfg.get('_path', '')}`, steps "
             f"{', '.join(cfg['case']['steps'])}.", ""]
    figs, costs = {}, {}
    gen = ctx.results.get("generate")
    if gen:
        lines += [f"Case: generated variant `{gen['variant']}` (seed {gen['seed']}), {gen['n_nodes']} nodes "
                  f"({gen['n_nodes'] * gen['dim']} DOF), {gen['n_elements']} elements.", ""]
    # time budget
    lines += ["## Time budget", ""]
    if ctx.timings:
        total = sum(t for _, t in ctx.timings)
        lines += _table(["step", "wall time (s)", "share"],
                        [[s, t, f"{100 * t / total:.0f} %" if total > 0 else "-"] for s, t in ctx.timings]
                        + [["total (before the report)", total, ""]])
        figs["time_budget"] = plots.time_budget([s for s, _ in ctx.timings], [t for _, t in ctx.timings],
                                                ctx.out / "time_budget.png")
        lines += ["![time budget](time_budget.png)", ""]
    else:
        lines += ["No step ran before the report.", ""]
    tr = ctx.results.get("train")
    if tr:
        w = tr.get("wall_time") or []
        lines += ["## Training", "", f"{len(tr['series'])} HF training runs ({len(tr.get('ran', []))} run now, "
                  f"{len(tr.get('skipped', []))} kept from a previous run)"
                  + (f"; wall time per run mean {np.mean(w):.2f} s, max {np.max(w):.2f} s." if w else "."), ""]
    _section_rom(ctx, rom_data(ctx.store), lines, figs)
    mc = ctx.results.get("montecarlo")
    _section_montecarlo(ctx, mc, lines, figs, costs)
    _section_learning(ctx, mc, lines, figs, costs)
    _section_speedup(ctx, costs, lines, figs)
    cyc = ctx.results.get("cycles")
    if cyc:
        _section_cycles(cyc, lines)
    path = ctx.out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
