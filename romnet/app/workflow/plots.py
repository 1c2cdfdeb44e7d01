"""PNG plots of the run report (matplotlib, Agg backend). Each function takes plain arrays
and writes one PNG, returning its path."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _plt().close(fig)
    return path


def pod_decay(roms, path):
    """roms: [(label, {field: (singular values (n_sv,), n_modes)})]: s_k / s_0 per field,
    one panel per ROM (at most 4), the kept modes marked."""
    plt = _plt()
    roms = roms[:4]
    fig, axes = plt.subplots(1, len(roms), figsize=(4.6 * len(roms), 3.8), squeeze=False, sharey=True)
    for ax, (label, fields) in zip(axes[0], roms):
        for name, (s, m) in fields.items():
            s = np.asarray(s, dtype=float)
            if s.size == 0 or s[0] <= 0:
                continue
            k = np.arange(1, s.size + 1)
            pos = s > 0
            line, = ax.semilogy(k[pos], s[pos] / s[0], ".-", ms=3, lw=1, label=f"{name} ({m} modes)")
            if 0 < m <= s.size and s[m - 1] > 0:
                ax.semilogy([m], [s[m - 1] / s[0]], "o", mfc="none", color=line.get_color(), ms=7)
        ax.set_xlabel("index k")
        ax.set_title(f"{label} ROM", fontsize=10)
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("singular value s_k / s_1")
    return _save(fig, path)


def ecm_points(nodes, roms, path, max_nodes=20000):
    """nodes (n_nodes, 3): light scatter (subsampled to ``max_nodes``); roms: [(label,
    coordinates (n_p, 3), ecm flag (n_p,))]: ECM points red, QDEIM-only points blue; one
    3D panel per ROM (at most 4)."""
    plt = _plt()
    roms = roms[:4]
    X = np.asarray(nodes, dtype=float)
    if X.shape[0] > max_nodes:
        X = X[np.random.default_rng(0).choice(X.shape[0], max_nodes, replace=False)]
    fig = plt.figure(figsize=(4.4 * len(roms), 4.6))
    span = X.max(axis=0) - X.min(axis=0)
    for i, (label, P, is_ecm) in enumerate(roms):
        ax = fig.add_subplot(1, len(roms), i + 1, projection="3d")
        ax.scatter(X[:, 0], X[:, 1], X[:, 2], s=0.3, c="0.75", alpha=0.25, linewidths=0)
        P = np.asarray(P, dtype=float).reshape(-1, 3)
        e = np.asarray(is_ecm).astype(bool)
        ax.scatter(*P[e].T, s=12, c="tab:red", depthshade=False, label=f"ECM ({e.sum()})")
        if (~e).any():
            ax.scatter(*P[~e].T, s=12, c="tab:blue", marker="^", depthshade=False, label=f"QDEIM ({(~e).sum()})")
        ax.set_box_aspect(tuple(np.maximum(span, 1e-12 * span.max())))
        ax.set_title(f"{label} ROM: {P.shape[0]} reduced points", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        ax.tick_params(labelsize=6)
    return _save(fig, path)


def _finish(fig, ax, xlabel, ylabel, path, legend=7):
    """Axis labels, a light log grid, the legend; save the figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=legend)
    return _save(fig, path)


def indicator_vs_error(eta, u_err, p_err, fit, path):
    """Per increment of the HF-referenced samples: relative U and p errors against the
    indicator (log-log); ``fit`` (romnet.online.indicator.calibrate of the U error) drawn
    when it has >= 2 points."""
    from ...online.indicator import estimate_error
    plt = _plt()
    eta, u_err, p_err = (np.asarray(v, dtype=float) for v in (eta, u_err, p_err))
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    for err, lab, mk in ((u_err, "U error", "o"), (p_err, "p error", "s")):
        m = (eta > 0) & (err > 0) & np.isfinite(err)
        ax.loglog(eta[m], err[m], mk, ms=4, mfc="none", label=lab)
    m = (eta > 0) & (u_err > 0) & np.isfinite(u_err)
    if fit and fit.get("n", 0) >= 2 and m.any():
        xs = np.logspace(np.log10(eta[m].min()), np.log10(eta[m].max()), 50)
        ax.loglog(xs, estimate_error(fit, xs), "k-", lw=1,
                  label=f"fit of U error: slope {fit['slope']:.2f}, r2 {fit['r2']:.2f}")
    return _finish(fig, ax, "indicator (relative Gappy residual of p at the reduced points)",
                   "relative error vs HF", path, legend=8)


def error_over_time(runs, path):
    """runs: [(label, times (n_t,), u_err (n_t,), p_err (n_t,))]: relative errors per output."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    for label, t, ue, pe in runs:
        for ax, e in zip(axes, (ue, pe)):
            e = np.asarray(e, dtype=float)
            m = np.isfinite(e) & (e > 0)
            ax.semilogy(np.asarray(t)[m], e[m], ".-", lw=1, label=label)
    for ax, name in zip(axes, ("U", "p")):
        ax.set_xlabel("time (s)")
        ax.set_ylabel(f"relative {name} error vs HF")
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)


def time_budget(steps, seconds, path):
    """Horizontal bars: seconds per step."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(steps) + 1.2))
    y = np.arange(len(steps))
    ax.barh(y, seconds, color="tab:gray")
    for yi, s in zip(y, seconds):
        ax.text(s, yi, f" {s:.1f} s", va="center", fontsize=8)
    ax.set_yticks(y, steps)
    ax.invert_yaxis()
    ax.set_xlabel("wall time (s)")
    ax.set_xlim(0, max(seconds, default=1.0) * 1.25 + 1e-9)
    return _save(fig, path)


def speedup(labels, rom_s, hf_s, n_runs, offline_s, rom_mean_s, hf_mean_s, path):
    """Left: wall time per referenced sample, ROM vs HF (log). Right: cost of N runs,
    N HF runs vs offline + N ROM runs (log-log), with the break-even N."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
    ax = axes[0]
    if len(labels):
        x = np.arange(len(labels))
        ax.bar(x - 0.2, hf_s, 0.4, label="HF", color="tab:red")
        ax.bar(x + 0.2, rom_s, 0.4, label="ROM (enrichment included)", color="tab:blue")
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_yscale("log")
        lo, hi = min(min(rom_s), min(hf_s)), max(max(rom_s), max(hf_s))
        ax.set_ylim(lo / 3, hi * 3)
        for xi, h, r in zip(x, hf_s, rom_s):
            ax.text(xi, max(h, r) * 1.05, f"x{h / r:.3g}", ha="center", va="bottom", fontsize=7)
        ax.set_xlabel("HF-referenced sample (label: speed-up)")
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no HF reference", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("wall time per run (s)")
    ax = axes[1]
    N = np.unique(np.geomspace(1, max(max(n_runs, default=10), 10), 60).astype(int))
    ax.loglog(N, N * hf_mean_s, "r-", label=f"N HF runs ({hf_mean_s:.2g} s each)")
    ax.loglog(N, offline_s + N * rom_mean_s, "b-", label=f"offline {offline_s:.0f} s + N ROM runs")
    if hf_mean_s > rom_mean_s:
        nb = offline_s / (hf_mean_s - rom_mean_s)
        if N[0] <= nb <= N[-1]:
            ax.axvline(nb, color="0.5", ls=":", lw=1)
            ax.text(nb, ax.get_ylim()[0], f" break-even N={nb:.0f}", fontsize=7, rotation=90, va="bottom")
    return _finish(fig, ax, "number of runs N", "wall time (s)", path)


def learning(samples, path):
    """The learning sequence: enrichments per sample (bars) and the size of the ROM that ran
    after each sample (U modes, reduced points; right axis)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    i = np.arange(1, len(samples) + 1)
    ax.bar(i, [r.get("enrichments", 0) for r in samples], color="tab:red", alpha=0.6, label="enrichments")
    ax.set_xlabel("Monte Carlo sample (learning sequence)")
    ax.set_ylabel("enrichments (HF increments)")
    ax2 = ax.twinx()
    ax2.plot(i, [r.get("modes", np.nan) for r in samples], "b.-", lw=1, label="U modes")
    ax2.plot(i, [r.get("points", np.nan) for r in samples], "g.-", lw=1, label="reduced points")
    ax2.set_ylabel("size of the ROM that ran")
    ax2.set_yscale("log")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper right")
    return _save(fig, path)
