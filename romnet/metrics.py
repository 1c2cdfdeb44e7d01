"""Relative errors of a computed series against a reference, with a floor.

One definition serves every comparison of romnet (``romnet compare``, the Monte Carlo HF
references, the indicator calibration, the cycle study): per output ``k`` of a series
(``b`` the reference, ``a`` the computed values)

    err[k] = ||a_k - b_k|| / max(||b_k||, floor * max_j ||b_j||)

(Euclidean norms over everything but the output axis). The floor keeps outputs where the
reference vanishes (the unloaded first output, p before any plastic flow) from dividing
by zero; where the denominator is still 0 the error is NaN when ``a_k = b_k`` too and inf
otherwise.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ERROR_FLOOR", "floored_ratio", "relative_errors"]

#: default relative floor of the denominators (fraction of the largest reference norm)
ERROR_FLOOR = 1e-2


def floored_ratio(num, den, floor=ERROR_FLOOR) -> np.ndarray:
    """``num[k] / max(den[k], floor * max_j den[j])`` for norms already computed (e.g.
    summed over MPI ranks): NaN where numerator and denominator vanish, inf where only
    the denominator does. ``num``, ``den``: (n_t,) non-negative."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    d = np.maximum(den, floor * den.max(initial=0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d > 0, num / np.where(d > 0, d, 1.0), np.where(num > 0, np.inf, np.nan))


def relative_errors(a, b, floor=ERROR_FLOOR, skip_nonfinite=False) -> np.ndarray:
    """Per-output relative errors (module docstring) of ``a`` against the reference ``b``,
    both (n_t, ...) with the same shape; (n_t,). ``skip_nonfinite``: the points (index
    along axis 1) where the reference of an output is not finite (NaN: e.g. the nodes of a
    CalculiX ``.frd`` outside every element) are left out of both norms of that output."""
    b = np.asarray(b, dtype=float)
    a = np.asarray(a, dtype=float).reshape(b.shape)
    if skip_nonfinite and b.ndim > 1:
        ok = np.isfinite(b).reshape(b.shape[0], b.shape[1], -1).all(axis=2)
        ok = ok.reshape(ok.shape + (1,) * (b.ndim - 2))
        a, b = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
    b = b.reshape(len(b), -1)
    a = a.reshape(b.shape)
    return floored_ratio(np.linalg.norm(a - b, axis=1), np.linalg.norm(b, axis=1), floor)
