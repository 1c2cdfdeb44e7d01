"""Backward Euler (theta = 1) for the crystal law and its consistent tangent.

Unknowns: the overstress ``w_s`` of every slip system, ``Delta gamma_s = dt phi(|w_s|)
sign(w_s)``. The kinematic variables are eliminated per system in closed form (a scalar
Newton with static recovery, :meth:`.CrystalLaw._kinematic`), so the residual is::

    G_s(w) = w_s - sign(z_s) <|z_s| - r_s>,      z = tau_{n+1} - C alpha_{n+1}

(G is w plus a monotone map: the solution is unique), solved by Newton with a backtracking
line search from a decoupled scalar predictor. Convergence: ``max |G| <= tolerance x
(max |tau_trial| + max R0)`` per point.

The Jacobian is ``J = D0 + E + diag(a) M C M^T diag(gp)`` (a: active systems, gp = d|Delta
gamma|/d|w|, D0 = 1 + a C dalpha diagonal, M the (N, 6) Schmid matrix, E = diag(a sign(z) Q) H
diag(b exp(-b v) gp sign(w)) the coupling through nonlinear isotropic hardening, block-diagonal
by potential since H is). Eliminating the slips through the stress (``s = C M^T diag(gp) dw``)
leaves a 6x6 system::

    J^-1 G = (D0 + E)^-1 (G - a M (S + B)^-1 M^T diag(gp) (D0 + E)^-1 G),
    S = C^-1,   B = M^T diag(gp) (D0 + E)^-1 diag(a) M,

and the exact consistent tangent is ``(S + B)^-1``, rotated to the global frame. Without
isotropic coupling (E = 0, B = M^T diag(a gp / d0) M) S + B is symmetric positive definite:
one unrolled Cholesky for all points (:class:`.sym6.Cholesky`, Woodbury), a symmetric tangent
rotated by the 21x21 packed rotation; where it is not positive definite (dalpha < 0: a
kinematic variable beyond its saturation after a temperature change) those points take the
general path. With nonlinear isotropic hardening the first ``QUASI_NEWTON_ITERATIONS``
steps ignore E (the coupling Q h b exp(-b v) gp is weak at usual rates), then the general
path: per potential a dense (D0 + E) block (12x12 octahedral, 6x6 cubic) and a 6x6 LU.
"""
from __future__ import annotations

import numpy as np

from . import sym6

#: Newton steps of the decoupled scalar predictor (more do not save coupled iterations:
#: measured on bench/bench_crystal.py)
PREDICTOR_STEPS = 2
#: with nonlinear isotropic hardening: Newton iterations whose step ignores the coupling of
#: the systems through the hardening (Cholesky path), before exact steps (general path)
QUASI_NEWTON_ITERATIONS = 4
#: the coefficients the Newton iterations use (CrystalLaw._coefs)
_ITER_COEFS = ("n", "invK", "nK", "eps0", "invKinf", "e0K", "R0", "Q", "b", "C", "D", "mrec", "beta")


def _rowdot(a, b):
    return np.einsum("ij,ij->i", a, b)


def _context(law, y0, e1, T1, dt, C):
    """Per-point data of an increment (arrays with the points first, or (1, ...) when shared)."""
    N = law.N
    c = law._coefs(T1, dt)
    tau_tr = law._apply_stiffness(C, law._elastic_strain(e1, T1, y0[:, 0:6])) @ law.M.T
    if C is None:
        Ass, S6 = np.diagonal(law._A0)[None], law._S6
    else:
        Ass = C.reshape(-1, 36) @ law._MM36.T                               # diag(M C M^T)
        S6 = sym6.pack_rows(law.elasticity.compliance(T1))                 # (m, 21)
    return dict(c=c, tau_tr=tau_tr, alpha_n=y0[:, 7:7 + N], v_n=y0[:, 7 + N:7 + 2 * N], C=C, Ass=Ass, S6=S6)


def _take(law, cx, idx):
    out = {}
    for k, v in cx.items():
        if k == "c":
            out[k] = law._take({j: v[j] for j in _ITER_COEFS if j in v}, idx)
        else:
            out[k] = v if v is None or v.shape[0] == 1 else v[idx]
    return out


def _dtau(law, dg, C):
    """Change of the resolved shear stresses by the slips dg (m, N): -M C M^T dg."""
    if C is None:
        return dg @ law._A0
    return law._apply_stiffness(C, dg @ law.M) @ law.M.T


def _residual(law, w, cx, dt):
    """G(w) (m, N) and the pieces of the Jacobian and of the update."""
    c = cx["c"]
    sw = np.sign(w)
    g, gp = law._flow(np.abs(w), c)
    g *= dt                                                                 # |Delta gamma|
    gp *= dt                                                                # d|Delta gamma| / d|w|
    dg = g * sw
    D = c["D"]
    den = D * g
    den += 1.0
    alpha, dres = law._kinematic(cx["alpha_n"] + dg, den, c)
    dalpha = D * alpha                                                      # d alpha / d w:
    dalpha *= sw
    np.subtract(1.0, dalpha, out=dalpha)
    dalpha *= gp
    dalpha /= dres                                                          # gp (1 - D alpha sw) / dres
    v = cx["v_n"] + g
    r, bev = law._radius(v, c)
    z = cx["tau_tr"] - _dtau(law, dg, cx["C"])
    z -= c["C"] * alpha
    f = np.abs(z)
    f -= r
    act = f > 0
    np.maximum(f, 0.0, out=f)
    np.copysign(f, z, out=f)
    G = np.subtract(w, f, out=f)
    q = dict(gp=gp, dalpha=dalpha, act=act, dg=dg, alpha=alpha, v=v)
    if bev is not None:
        q.update(bev=bev, sz=np.sign(z), sw=sw)
    return G, q


def _predictor(law, cx, dt):
    """Initial w: per system the decoupled scalar problem ``x + k dt phi(x) = f0`` (k the
    self-stiffness A_ss + C, f0 the trial overstress), by Newton from the upper bound
    min(f0, phi^-1(f0 / (k dt))): h(x) = x + k dt phi(x) - f0 is convex and increasing, so
    the iterates decrease monotonically to the root."""
    c = cx["c"]
    z = cx["tau_tr"] - c["C"] * cx["alpha_n"]
    r, _ = law._radius(cx["v_n"], c)
    f0 = np.maximum(np.abs(z) - r, 0.0)
    if not np.any(f0):
        return np.zeros_like(z)
    kdt = (cx["Ass"] + c["C"]) * dt
    x = np.minimum(f0, law._flow_bound(f0 / kdt, c))
    for _ in range(PREDICTOR_STEPS):
        phi, dphi = law._flow(x, c)
        x = x - (x + kdt * phi - f0) / (1.0 + kdt * dphi)
    return np.copysign(np.maximum(x, 0.0), z)


def _stress_matrix(law, q, cx):
    """Packed S + B (21, m) and (a, d0) of the Woodbury form."""
    a = q["act"].astype(float)
    d0 = 1.0 + a * cx["c"]["C"] * q["dalpha"]
    K6 = law._MM.T @ (a * q["gp"] / d0).T
    K6 += cx["S6"].T
    return K6, a, d0


def _slip_solve(law, q, c, rhs):
    """(D0 + E)^-1 rhs for rhs (m, N, r): diagonal without isotropic coupling, else dense
    per potential block (H is block-diagonal). (A fixed point ``X = D0^-1 (rhs - E X)``
    needs ~10 iterations at the bench's coupling (row sums of D0^-1 E up to 0.025) and was
    measured 1.5x slower than these solves.)"""
    a = q["act"]
    d0 = 1.0 + a * c["C"] * q["dalpha"]
    if "bev" not in q:
        return rhs / d0[:, :, None]
    left = a * q["sz"] * c["Q"]                                             # rows
    right = q["bev"] * q["gp"] * q["sw"]                                    # columns
    out = np.empty_like(rhs)
    for p, sl in zip(law.potentials, law.slices):
        J = left[:, sl, None] * p.H * right[:, None, sl]
        k = np.arange(p.N)
        J[:, k, k] += d0[:, sl]
        out[:, sl] = np.linalg.solve(J, rhs[:, sl])
    return out


def _stress_system(law, q, cx, G=None):
    """(S + B (m, 6, 6), (D0 + E)^-1 diag(a) M (m, N, 6), (D0 + E)^-1 G (m, N) or None)."""
    m, N = q["gp"].shape
    rhs = np.broadcast_to(q["act"][:, :, None] * law.M, (m, N, 6))
    if G is not None:
        rhs = np.concatenate([rhs, G[:, :, None]], axis=2)
    X = _slip_solve(law, q, cx["c"], rhs)
    Y = X[:, :, :6]
    K = sym6.unpack(np.broadcast_to(cx["S6"], (m, 21)).T) + np.einsum("si,ns,nsj->nij", law.M, q["gp"], Y)
    return K, Y, (X[:, :, 6] if G is not None else None)


def _general_step(law, G, q, cx):
    """Newton direction -J^-1 G through the 6x6 stress system (any Jacobian)."""
    K, Y, ZG = _stress_system(law, q, cx, G)
    try:
        s = np.linalg.solve(K, -((q["gp"] * ZG) @ law.M)[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return -G
    return -(ZG + np.einsum("nsj,nj->ns", Y, s))


def _newton_step(law, G, q, cx, exact):
    """Newton direction -J^-1 G (m, N); with nonlinear isotropic hardening and not ``exact``,
    the direction of the Jacobian without the isotropic coupling (quasi-Newton)."""
    if exact:
        return _general_step(law, G, q, cx)
    K6, a, d0 = _stress_matrix(law, q, cx)
    ch = sym6.Cholesky(K6)
    y = ch.solve(law.M.T @ (q["gp"] * G / d0).T)                            # (6, m)
    delta = (a * (y.T @ law.M.T) - G) / d0
    bad = np.flatnonzero(~ch.ok)
    if bad.size:
        sub = {k: v[bad] for k, v in q.items() if k not in ("bev", "sz", "sw")}
        delta[bad] = _general_step(law, G[bad], sub, _take(law, cx, bad))
    return delta


def integrate(law, y0, e1, T1, dt, C):
    """Backward Euler of an increment; returns (y1, ok, iterations, sol) (sol: for tangent)."""
    N = law.N
    cx = _context(law, y0, e1, T1, dt, C)
    w = _predictor(law, cx, dt)
    G, q = _residual(law, w, cx, dt)
    tol = law.tolerance * (np.max(np.abs(cx["tau_tr"]), axis=1) + np.max(np.abs(cx["c"]["R0"]), axis=1) + 1e-30)
    ok = np.max(np.abs(G), axis=1) <= tol
    act = np.flatnonzero(~ok)
    # the iterations work on compacted copies of the unconverged points, shrunk as points
    # converge; a point's results are written back once
    cxa, wa, Ga, tola = _take(law, cx, act), w[act], G[act], tol[act]
    qa = {k: v[act] for k, v in q.items()}
    its = 0
    while act.size and its < law.max_iterations:
        its += 1
        delta = _newton_step(law, Ga, qa, cxa, "bev" in qa and its > QUASI_NEWTON_ITERATIONS)
        n0 = _rowdot(Ga, Ga)
        lam = np.ones(act.size)
        wn = wa + delta
        Gn, qn = _residual(law, wn, cxa, dt)
        for _ in range(30):                                                 # backtracking
            n1 = _rowdot(Gn, Gn)
            bad = ~(n1 <= (1.0 - 1e-4 * lam) * n0) & (lam > 1e-8)
            if not np.any(bad):
                break
            lam = np.where(bad, 0.5 * lam, lam)
            ib = np.flatnonzero(bad)
            wb = wa[ib] + lam[ib, None] * delta[ib]
            Gb, qb = _residual(law, wb, _take(law, cxa, ib), dt)
            wn[ib], Gn[ib] = wb, Gb
            for k in qn:
                qn[k][ib] = qb[k]
        conv = np.max(np.abs(Gn), axis=1) <= tola
        done = act[conv]
        ok[done] = True
        w[done], G[done] = wn[conv], Gn[conv]
        for k in q:
            q[k][done] = qn[k][conv]
        keep = ~conv
        act = act[keep]
        if act.size:
            cxa, wa, Ga, tola = _take(law, cxa, keep), wn[keep], Gn[keep], tola[keep]
            qa = {k: v[keep] for k, v in qn.items()}
    if act.size:                                                            # not converged: last iterate
        w[act], G[act] = wa, Ga
        for k in q:
            q[k][act] = qa[k]
    y = y0.copy()
    dg = q["dg"]
    depsp = dg @ law.M
    y[:, 0:6] += depsp
    y[:, 6] += np.sqrt(2.0 / 3.0 * _rowdot(depsp, depsp))
    y[:, 7:7 + N] = q["alpha"]
    y[:, 7 + N:7 + 2 * N] = q["v"]
    y[:, 7 + 2 * N:] += dg
    return y, ok, its, dict(q=q, cx=cx)


def end_state(law, y0, y1, e1, T1, dt, C):
    """Backward-Euler Jacobian pieces at a given end state y1 (the Runge-Kutta tangent):
    w = the end overstress, g = |Delta gamma| of the increment."""
    N = law.N
    cx = _context(law, y1, e1, T1, dt, C)
    c = cx["c"]
    alpha, v = y1[:, 7:7 + N], y1[:, 7 + N:7 + 2 * N]
    z = cx["tau_tr"] - c["C"] * alpha
    r, bev = law._radius(v, c)
    f = np.abs(z) - r
    act = f > 0
    w = np.where(act, np.copysign(f, z), 0.0)
    _, dphi = law._flow(np.abs(w), c)
    gp = dt * dphi
    sw = np.sign(w)
    g = np.abs(y1[:, 7 + 2 * N:] - y0[:, 7 + 2 * N:])
    D = c["D"]
    dres = 1.0 + D * g
    if law.recovery:
        dres = dres + law._recovery_slope(alpha, c)
    q = dict(gp=gp, dalpha=gp * (1.0 - D * alpha * sw) / dres, act=act)
    if bev is not None:
        q.update(bev=bev, sz=np.sign(z), sw=sw)
    return dict(q=q, cx=cx)


def tangent(law, sol):
    """(m, 6, 6) consistent tangent (S + B)^-1 in the global frame from integrate's or
    end_state's sol (the elastic stiffness where no system is active)."""
    q, cx = sol["q"], sol["cx"]
    C = cx["C"]
    a = q["act"]
    m = a.shape[0]
    rows = np.flatnonzero(np.any(a, axis=1))
    if "bev" not in q:
        D = np.repeat(law._C6, m, axis=1) if C is None else sym6.pack(C)    # (21, m)
        if rows.size:
            qa = {k: q[k][rows] for k in ("act", "gp", "dalpha")}
            cxa = _take(law, cx, rows)
            K6, _, _ = _stress_matrix(law, qa, cxa)
            ch = sym6.Cholesky(K6)
            D[:, rows] = ch.inverse()
            bad = np.flatnonzero(~ch.ok)
            if bad.size:
                sub = {k: v[bad] for k, v in qa.items()}
                D[:, rows[bad]] = sym6.pack(np.linalg.inv(_stress_system(law, sub, _take(law, cxa, bad))[0]))
        if law._R21 is not None:
            D = law._R21 @ D
        return sym6.unpack(D)
    D = np.array(np.broadcast_to(law._C0, (m, 6, 6)) if C is None else C, dtype=float)
    if rows.size:
        D[rows] = np.linalg.inv(_stress_system(law, {k: v[rows] for k, v in q.items()}, _take(law, cx, rows))[0])
    rot = law.orientation
    return D if rot is None or rot.is_identity else rot.tangent_to_global(D)
