"""Explicit Runge–Kutta (Cash–Karp 5(4)) for the crystal law, with a tangent from the
sensitivity of the accepted substeps.

Integrated vector per point ``y = [evp (6), p, alpha (N), v (N), gamma (N)]`` (material
frame), total strain and temperature linear in time over the increment. Step size per point;
error ``max_i |err_i| / (|y_i| + |h ydot_i| + |dy_i| + 1e-12) <= tolerance`` (Numerical
Recipes' ``rkqs`` scale plus the step's increment dy, so that a system starting to slip inside
a step is controlled relatively to its own slip); step control ``h_new = h / clip(err^0.2 /
0.9, 1/5, 10)`` without growth right after a rejection (Hairer's DOPRI5 without the PI
memory); failure below ``dtmin``. Points whose systems are all below their threshold at both
ends with no static recovery acting take no substep.

Tangent (:func:`integrate` with ``sensitivity``; constant isotropic hardening): the
sensitivities ``Sp = d eps_p / d eps_{n+1}`` (6 x 6) and ``Sa = d alpha / d eps_{n+1}`` (N x 6)
are carried along the accepted substeps, each substep linearized as a backward-Euler step
from its start to its end state (the strain of the substep end is ``eps_n + t / dt
(eps_{n+1} - eps_n)``, so its derivative is ``t / dt I``)::

    d sigma   = (S + B)^-1 [t/dt I - Sp + M^T W (C / dres) Sa]        (Woodbury, as backward Euler)
    d Dgamma  = W [M d sigma - (C / dres) Sa]
    Sp += M^T d Dgamma,   Sa = Sa / dres + kappa d Dgamma

(W = diag(a gp / d0), gp = h phi'(end overstress), kappa = (1 - D alpha sign) / dres, dres =
1 + D |Dgamma| + recovery slope): the derivative of the exact increment to first order in
the substep size, ``C (I - Sp)`` at the end. With nonlinear isotropic hardening the tangent
is the backward-Euler one at the end state (:func:`.crystal_implicit.end_state`).
"""
from __future__ import annotations

import numpy as np

from . import sym6

# Cash-Karp tableau (Numerical Recipes, rkck)
_A = [np.array(a) for a in ([], [1 / 5], [3 / 40, 9 / 40], [3 / 10, -9 / 10, 6 / 5],
                            [-11 / 54, 5 / 2, -70 / 27, 35 / 27],
                            [1631 / 55296, 175 / 512, 575 / 13824, 44275 / 110592, 253 / 4096])]
_C = [0.0, 1 / 5, 3 / 10, 3 / 5, 1.0, 7 / 8]
_B5 = np.array([37 / 378, 0.0, 250 / 621, 125 / 594, 0.0, 512 / 1771])
_B4 = np.array([2825 / 27648, 0.0, 18575 / 48384, 13525 / 55296, 277 / 14336, 1 / 4])
_E = _B5 - _B4
#: absolute floor of the error scale (strain units)
_ABS_FLOOR = 1e-12


def rates(law, y, e, T, c, C):
    """dy/dt (m, 7 + 3N) for y at strain e (m, 6), temperature T (m,), coefficients c,
    stiffness C (None: constant)."""
    N = law.N
    alpha, v = y[:, 7:7 + N], y[:, 7 + N:7 + 2 * N]
    z = law._apply_stiffness(C, law._elastic_strain(e, T, y[:, 0:6])) @ law.M.T
    z -= c["C"] * alpha
    r, _ = law._radius(v, c)
    f = np.abs(z)
    f -= r
    np.maximum(f, 0.0, out=f)
    phi, _ = law._flow(f, c, derivative=False)
    gd = np.copysign(phi, z)
    out = np.empty_like(y)
    epd = gd @ law.M
    out[:, 0:6] = epd
    out[:, 6] = np.sqrt(2.0 / 3.0 * np.einsum("ij,ij->i", epd, epd))
    kin = c["D"] * alpha
    kin *= phi
    np.subtract(gd, kin, out=kin)
    if law.recovery:
        kin -= law._recovery_rate(alpha, c)
    out[:, 7:7 + N] = kin
    out[:, 7 + N:7 + 2 * N] = phi
    out[:, 7 + 2 * N:] = gd
    return out


def flowing(law, y, e, T, c):
    """(m,) True where some system has f > 0 (or static recovery acts) for y at (e, T)."""
    N = law.N
    C = None if law._C0 is not None else law._stiffness(T)
    alpha = y[:, 7:7 + N]
    z = law._apply_stiffness(C, law._elastic_strain(e, T, y[:, 0:6])) @ law.M.T - c["C"] * alpha
    r, _ = law._radius(y[:, 7 + N:7 + 2 * N], c)
    act = np.any(np.abs(z) - r > 0, axis=1)
    if law.recovery:
        act |= np.any((alpha != 0) & (c["rc"] > 0), axis=1)
    return act


def integrate(law, y0, e0, e1, T0, T1, dt, sensitivity=False):
    """Adaptive Cash-Karp over [0, dt] per point. Returns (y1, ok, max substeps, Sp) with Sp
    (m, 6, 6) = d eps_p / d e1 when ``sensitivity`` (else None)."""
    m, N = y0.shape[0], law.N
    y = y0.copy()
    ok = np.ones(m, dtype=bool)
    c0 = law._coefs(T0)
    act = np.flatnonzero(flowing(law, y0, e0, T0, c0) | flowing(law, y0, e1, T1, law._coefs(T1)))
    t = np.zeros(m)
    h = np.full(m, dt)
    nsub = np.zeros(m, dtype=np.int64)
    rej = np.zeros(m, dtype=bool)
    de, dT = e1 - e0, T1 - T0
    Sp = np.zeros((6, m, 6)) if sensitivity else None
    Sa = np.zeros((N, m, 6)) if sensitivity else None
    const_C = law._C0 is not None
    steps = 0
    while act.size:
        steps += 1
        if steps > 100000:
            ok[act] = False
            break
        ya, ta = y[act], t[act]
        hh = np.minimum(h[act], dt - ta)
        e0a, dea, T0a, dTa = e0[act], de[act], T0[act], dT[act]
        # temperature fixed over the increment at these points: coefficients and stiffness once
        const_T = not np.any(dTa)
        ca = law._take(c0, act) if (law.const_coefs or const_T) else None
        Ca = None if const_C or not const_T else law._stiffness(T0a)
        ks = np.empty((6,) + ya.shape)
        for i in range(6):
            yi = ya + hh[:, None] * np.tensordot(_A[i], ks[:i], axes=1) if i else ya
            s = (ta + _C[i] * hh) / dt
            Ti = T0a if const_T else T0a + s * dTa
            ci = ca if ca is not None else law._coefs(Ti)
            Ci = None if const_C else (Ca if const_T else law._stiffness(Ti))
            ks[i] = rates(law, yi, e0a + s[:, None] * dea, Ti, ci, Ci)
        dy = hh[:, None] * np.tensordot(_B5, ks, axes=1)
        err = hh[:, None] * np.tensordot(_E, ks, axes=1)
        scale = np.abs(ya) + np.abs(hh[:, None] * ks[0]) + np.abs(dy) + _ABS_FLOOR
        errmax = np.max(np.abs(err) / scale, axis=1) / law.tolerance
        errmax = np.where(np.isfinite(errmax), errmax, 1e10)
        acc = errmax <= 1.0
        ia = act[acc]
        y[ia] = ya[acc] + dy[acc]
        t[ia] = ta[acc] + hh[acc]
        nsub[ia] += 1
        if sensitivity and ia.size:
            _substep_sensitivity(law, ia, ya[acc], y[ia], hh[acc], t[ia] / dt, e0[ia] + (t[ia] / dt)[:, None] * de[ia],
                                 T0[ia] + t[ia] / dt * dT[ia], Sp, Sa)
        with np.errstate(divide="ignore"):
            hnew = hh / np.clip(errmax ** 0.2 / 0.9, 0.2, 10.0)
        h[act] = np.where(acc & rej[act], np.minimum(hnew, hh), hnew)
        rej[act] = ~acc
        failed = ~acc & (h[act] < law.dtmin)
        ok[act[failed]] = False
        finished = acc & (t[act] >= dt * (1.0 - 1e-12))
        act = act[~(finished | failed)]
    return y, ok, int(nsub.max()) if m else 0, None if Sp is None else Sp.transpose(1, 0, 2)


def _substep_sensitivity(law, idx, y_old, y_new, h, frac, e, T, Sp, Sa):
    """Update Sp, Sa at the points idx over an accepted substep (see the module docstring)."""
    N, M = law.N, law.M
    c = law._coefs(T)
    C = None if law._C0 is not None else law._stiffness(T)
    alpha = y_new[:, 7:7 + N]
    z = law._apply_stiffness(C, law._elastic_strain(e, T, y_new[:, 0:6])) @ M.T - c["C"] * alpha
    r, _ = law._radius(y_new[:, 7 + N:7 + 2 * N], c)
    f = np.abs(z) - r
    a = (f > 0).astype(float)
    _, dphi = law._flow(np.maximum(f, 0.0), c)
    gp = h[:, None] * dphi
    D = c["D"]
    dres = 1.0 + D * np.abs(y_new[:, 7 + 2 * N:] - y_old[:, 7 + 2 * N:])
    if law.recovery:
        dres += h[:, None] * law._recovery_slope(alpha, dict(c, beta=c["rc"]))
    kappa = (1.0 - D * alpha * np.sign(z)) / dres
    W = a * gp / (1.0 + a * c["C"] * gp * kappa)
    K6 = law._MM.T @ W.T
    K6 += law._S6.T if C is None else sym6.pack_rows(law.elasticity.compliance(T)).T
    Cd = c["C"] / dres
    # component-major layouts: Sp (6, m, 6), Sa (N, m, 6): the contractions with M are BLAS products
    k = idx.size
    Spi, Sai = Sp[:, idx], Sa[:, idx]
    WSa = (W * Cd).T[:, :, None] * Sai                                      # (N, k, 6)
    rhs = (M.T @ WSa.reshape(N, -1)).reshape(6, k, 6) - Spi
    rhs[np.arange(6), :, np.arange(6)] += frac
    dsig = sym6.Cholesky(K6).solve(rhs)                                     # (6, k, 6)
    dg = W.T[:, :, None] * (M @ dsig.reshape(6, -1)).reshape(N, k, 6) - WSa
    Sp[:, idx] = Spi + (M.T @ dg.reshape(N, -1)).reshape(6, k, 6)
    Sa[:, idx] = Sai / dres.T[:, :, None] + kappa.T[:, :, None] * dg
