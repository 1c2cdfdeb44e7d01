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


def relative_errors(a, b, floor=ERROR_FLOOR) -> np.ndarray:
    """Per-output relative errors (module docstring) of ``a`` against the reference ``b``,
    both (n_t, ...) with the same shape; (n_t,)."""
    b = np.asarray(b, dtype=float).reshape(len(b), -1)
    a = np.asarray(a, dtype=float).reshape(b.shape)
    return floored_ratio(np.linalg.norm(a - b, axis=1), np.linalg.norm(b, axis=1), floor)
