"""Error indicator of the online stage (Casenave et al. 2019) and its calibration.

Indicator at an increment: the relative Gappy-POD residual of the cumulated plastic
strain ``p`` at the reduced points::

    eta = ||p_pts - Psi_pts c|| / max(||p_pts||, floor),   c = argmin ||Psi_pts c - p_pts||

``p_pts`` is computed by the law at the (n_p) points, ``Psi_pts`` the p basis there. When the
ROM's p basis describes the new solution, ``p_pts`` lies in the span of ``Psi_pts`` and eta ~ 0;
a solution leaving the training manifold leaves a residual. Cost O(n_p m), mesh-independent.
``floor`` avoids dividing by a vanishing p (elastic increments): ``floor_ratio`` (default
1e-2) times the RMS norm at the points of the training p snapshots, computable from the ROM
alone: ``||Psi_pts diag(s)||_F / sqrt(n_snapshots)`` (s: p singular values).

Calibration (:func:`calibrate`): on validation runs with HF references, fit
``log10(err) = slope * log10(eta) + intercept`` (least squares over increments with
eta > 0 and err > 0); :func:`estimate_error` maps an indicator to an estimated error;
:func:`calibration_report` writes a table and, when matplotlib is installed, a PNG.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .reconstruction import Gappy

__all__ = ["PIndicator", "calibrate", "estimate_error", "learned_fits", "MIN_EVENTS", "calibration_report",
           "calibration_table"]


class PIndicator:
    def __init__(self, model, field="p", floor_ratio=1e-2):
        if field not in model.dual:
            raise KeyError(f"the ROM has no dual basis '{field}' for the error indicator "
                           f"(has: {list(model.dual)})")
        self.field = field
        P = model.dual[field]
        self.gappy = model.gappy()[field] if hasattr(model, "gappy") else Gappy(P)
        info = model.dual_info[field]
        s = np.asarray(info.get("singular_values", []), dtype=float)[:P.shape[2]]
        n_s = max(1, int(info.get("n_snapshots", 1)))
        rms = float(np.linalg.norm(P.reshape(-1, P.shape[2]) * s)) / np.sqrt(n_s) if s.size else 0.0
        self.floor = floor_ratio * rms

    def __call__(self, x_pts):
        """x_pts (..., n_p, n_comp) -> indicator (...)."""
        r, n = self.gappy.residual_norms(x_pts)
        den = np.maximum(n, self.floor)
        return np.where(den > 0, r / np.where(den > 0, den, 1.0), 0.0)


def calibrate(indicators, errors) -> dict:
    """Log-log linear fit of errors against indicators (arrays of the same size).
    Returns {slope, intercept, r2, n, rms_log_residual, max_factor}."""
    eta = np.ravel(np.asarray(indicators, dtype=float))
    err = np.ravel(np.asarray(errors, dtype=float))
    m = (eta > 0) & (err > 0) & np.isfinite(eta) & np.isfinite(err)
    x, y = np.log10(eta[m]), np.log10(err[m])
    if x.size < 2 or np.ptp(x) == 0:
        return dict(slope=1.0, intercept=float(np.mean(y - x)) if x.size else 0.0, r2=0.0, n=int(x.size),
                    rms_log_residual=float("nan"), max_factor=float("nan"))
    A = np.c_[x, np.ones_like(x)]
    (slope, icpt), *_ = np.linalg.lstsq(A, y, rcond=None)
    res = y - A @ [slope, icpt]
    r2 = 1.0 - float(np.sum(res ** 2)) / float(np.sum((y - y.mean()) ** 2)) if np.ptp(y) > 0 else 0.0
    return dict(slope=float(slope), intercept=float(icpt), r2=r2, n=int(x.size),
                rms_log_residual=float(np.sqrt(np.mean(res ** 2))), max_factor=float(10 ** np.abs(res).max()))


#: enrichments of a ROM needed before its learned criterion replaces the raw thresholds
MIN_EVENTS = 6


def learned_fits(events, min_events=MIN_EVENTS) -> dict:
    """Fits of the errors measured at a ROM's enrichments against its indicators just before
    them (criterion ``"learned"``): ``{"U": fit on the stress indicator, "p": fit on the p
    indicator}`` (:func:`calibrate` form, usable by :func:`estimate_error`; a kind is
    absent with fewer than ``min_events`` usable events). Each enrichment measures the ROM's
    error at that increment against the HF increment (``error_before``, ``p_error_before``
    of the enrichment log): the ROM learns how its indicators map to its errors as it is
    used, without validation runs."""
    fits = {}
    for kind, ind, key in (("U", "stress", "error_before"), ("p", "p", "p_error_before")):
        eta = [e.get("indicators_before", {}).get(ind, 0.0) for e in events]
        err = [e.get(key, np.nan) for e in events]
        eta, err = np.asarray(eta, dtype=float), np.asarray(err, dtype=float)
        m = (eta > 0) & (err > 0) & np.isfinite(err)
        if np.count_nonzero(m) >= min_events:
            f = calibrate(eta[m], err[m])
            f["indicator"] = ind
            fits[kind] = f
    return fits


def estimate_error(cal: dict, indicator):
    """Estimated error ``10**(slope log10(eta) + intercept)`` (0 where eta == 0)."""
    eta = np.asarray(indicator, dtype=float)
    with np.errstate(divide="ignore"):
        est = 10.0 ** (cal["slope"] * np.log10(np.where(eta > 0, eta, 1.0)) + cal["intercept"])
    return np.where(eta > 0, est, 0.0)


def calibration_report(cal, indicators, errors, out_prefix) -> dict:
    """Write ``<prefix>.txt`` (table: indicator, error, estimate) and ``<prefix>.json``
    (fit), plus ``<prefix>.png`` when matplotlib is importable. Returns the paths."""
    out = Path(out_prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    eta, err = np.ravel(indicators), np.ravel(errors)
    est = estimate_error(cal, eta)
    lines = [f"# log10(err) = {cal['slope']:.4f} log10(eta) + {cal['intercept']:.4f}; r2 = {cal['r2']:.4f}, "
             f"n = {cal['n']}, rms log residual {cal['rms_log_residual']:.3f}, max factor {cal['max_factor']:.3g}",
             f"{'indicator':>12s} {'error':>12s} {'estimate':>12s}"]
    lines += [f"{a:12.4e} {b:12.4e} {c:12.4e}" for a, b, c in zip(eta, err, est)]
    paths = {"table": out.with_suffix(".txt"), "fit": out.with_suffix(".json")}
    paths["table"].write_text("\n".join(lines) + "\n")
    paths["fit"].write_text(json.dumps(cal, indent=1))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        paths["png"] = None
        return paths
    fig, ax = plt.subplots(figsize=(5, 4))
    m = (eta > 0) & (err > 0)
    ax.loglog(eta[m], err[m], "o", label="validation increments")
    if m.any():
        xs = np.logspace(np.log10(eta[m].min()), np.log10(eta[m].max()), 50)
        ax.loglog(xs, estimate_error(cal, xs), "-", label=f"fit (r2={cal['r2']:.3f})")
    ax.set_xlabel("indicator (relative Gappy residual of p)")
    ax.set_ylabel("displacement error vs HF")
    ax.legend()
    fig.tight_layout()
    paths["png"] = out.with_suffix(".png")
    fig.savefig(paths["png"], dpi=100)
    plt.close(fig)
    return paths


def calibration_table(cal: dict, out_prefix) -> dict:
    """Report of a ROM calibration (:func:`romnet.online.calibration.calibrate_rom`):
    ``<prefix>.txt`` (for each error kind the chosen fit and the prediction factors of
    every candidate indicator, then one row per validation increment: run, increment,
    time, each indicator, U error and its estimate, p error and its estimate),
    ``<prefix>.json`` (fits, quality, runs) and ``<prefix>.png`` (one log-log panel per
    error kind against its chosen indicator: increments coloured by run, the fit and the
    fit x 3 and / 3 lines) when matplotlib is importable. Returns the paths."""
    out = Path(out_prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    inds = {n: np.asarray(v, dtype=float) for n, v in cal["indicators"].items()}
    kinds = [k for k in ("U", "p") if k in cal["fits"]]
    xs_of = {k: inds[cal["fits"][k].get("indicator", "p")] for k in kinds}
    est = {k: estimate_error(cal["fits"][k], xs_of[k]) for k in kinds}
    lines = []
    for k in kinds:
        f = cal["fits"][k]
        lines.append(f"# {k} error: log10(err) = {f['slope']:.4f} log10(eta_{f['indicator']}) + {f['intercept']:.4f}; "
                     f"r2 {f['r2']:.4f}, n {f['n']}, rms log residual {f['rms_log_residual']:.3f}")
        for name, q in cal["quality"][k].items():
            for lab, st in (("in sample", q["in_sample"]), ("leave one run out", q["leave_one_run_out"])):
                lines.append(f"#   on eta_{name:<8s} r2 {q['fit']['r2']:.3f}; factor max(est/err, err/est), {lab}: "
                             f"median {st['median']:.3g}, 90% {st['p90']:.3g}, max {st['max']:.3g} "
                             f"({st['n']} increments)")
    names = [r["name"] for r in cal["runs"]]
    lines.append(f"{'run':>12s} {'inc':>4s} {'time':>10s} " + " ".join(f"{'eta_' + n:>12s}" for n in inds)
                 + " " + " ".join(f"{'err_' + k:>11s} {'est_' + k:>11s}" for k in kinds))
    for i in range(len(cal["run"])):
        lines.append(f"{names[int(cal['run'][i])]:>12s} {int(cal['increment'][i]):4d} {cal['time'][i]:10.4g} "
                     + " ".join(f"{v[i]:12.3e}" for v in inds.values()) + " "
                     + " ".join(f"{cal['error_' + k][i]:11.3e} {est[k][i]:11.3e}" for k in kinds))
    paths = {"table": out.with_suffix(".txt"), "fit": out.with_suffix(".json")}
    paths["table"].write_text("\n".join(lines) + "\n")
    paths["fit"].write_text(json.dumps({"fits": cal["fits"], "quality": cal["quality"], "runs": cal["runs"]},
                                       indent=1, default=str))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        paths["png"] = None
        return paths
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 4.4), squeeze=False)
    run = np.asarray(cal["run"], dtype=int)
    for ax, k in zip(axes[0], kinds):
        f = cal["fits"][k]
        eta = xs_of[k]
        err = np.asarray(cal["error_" + k], dtype=float)
        m = (eta > 0) & (err > 0) & np.isfinite(err)
        for r in np.unique(run):
            mr = m & (run == r)
            ax.loglog(eta[mr], err[mr], "o", ms=4, label=names[r] if len(names) <= 12 else None)
        if m.any():
            xs = np.logspace(np.log10(eta[m].min()), np.log10(eta[m].max()), 50)
            ys = estimate_error(f, xs)
            ax.loglog(xs, ys, "k-", label=f"fit (r2 {f['r2']:.2f})")
            ax.loglog(xs, ys * 3, "k:", xs, ys / 3, "k:")
        ax.set_xlabel(f"indicator: relative Gappy residual of {f['indicator']} at the reduced points")
        ax.set_ylabel(f"relative {k} error vs HF")
        q = cal["quality"][k][f["indicator"]]["leave_one_run_out"]
        ax.set_title(f"{k} error; leave-one-run-out factor: median {q['median']:.2g}, 90% {q['p90']:.2g}, "
                     f"max {q['max']:.2g}", fontsize=8)
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    paths["png"] = out.with_suffix(".png")
    fig.savefig(paths["png"], dpi=100)
    plt.close(fig)
    return paths
