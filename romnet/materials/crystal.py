"""Crystal plasticity (Méric–Cailletaud), Z-set ``gen_evp`` with crystallographic potentials.

Small strain, in the material (crystal) frame of the law's orientation; every array is
vectorized over integration points. Per slip system s of every potential (equations and
sources in docs/materials.md, "Crystal plasticity")::

    tau_s = m_s : sigma            sigma = C(T) : (eps - eps_th(T) - eps_p)
    x_s   = C alpha_s              (kinematic; C = 0 without *kinematic)
    r_s   = R0 + Q sum_t h_st (1 - exp(-b v_t))      (*isotropic nonlinear; constant: R0)
    f_s   = |tau_s - x_s| - r_s
    gdot_s = phi(<f_s>) sign(tau_s - x_s)            (phi: :mod:`.flows`)
    alphadot_s = gdot_s - D alpha_s |gdot_s| - (|x_s| / M)^m sign(x_s)   (m, M: static recovery)
    vdot_s = |gdot_s|,    eps_p_dot = sum_s gdot_s m_s,   pdot = sqrt(2/3 eps_p_dot : eps_p_dot)

Integration of an increment (total strain and temperature linear in time inside it):

* ``runge_kutta``: explicit embedded Runge–Kutta (Cash–Karp 5(4)) with a step size per point,
  error control ``max_i |err_i| / (|y_i| + |h ydot_i| + |dy_i| + 1e-12) <= tolerance`` (dy: the
  step's increment; Numerical Recipes' ``rkqs`` scale plus dy so that a system starting to
  slip inside a step is controlled relatively to its own slip) and failure when
  the step falls below ``dtmin``; the tangent is the backward-Euler consistent tangent
  evaluated at the end state (see :meth:`CrystalLaw._tangent`).
* ``theta_method_a`` (theta = 1): backward Euler in the per-system overstress unknowns
  ``w_s`` (``Delta gamma_s = dt phi(|w_s|) sign(w_s)``), residual
  ``G_s(w) = w_s - sign(z_s) <|z_s| - r_s>`` (z = tau - x at t_{n+1}), solved by Newton with a
  backtracking line search (G is w plus a monotone map, so the solution is unique), and the
  exact consistent tangent of that scheme.

State layout (n, 15 + 3 N): ``p``, ``evp11..evp31`` (Mandel, material frame), ``eto_n11..31``
(total strain of the last increment, Mandel, global frame), ``T_n``, ``init`` (1 once an
increment was integrated), then per potential ``<name>_alpha<s>`` (N), ``<name>_v<s>``
(cumulated slip, N), ``<name>_gamma<s>`` (slip, N).
"""
from __future__ import annotations

import numpy as np

from ..errors import MaterialError
from ..tensors import COMPONENTS
from .elastic import Law, LawResult
from .slip_systems import interaction_matrix, schmid_mandel

# Cash-Karp tableau (Numerical Recipes, rkck)
_A = [[], [1 / 5], [3 / 40, 9 / 40], [3 / 10, -9 / 10, 6 / 5],
      [-11 / 54, 5 / 2, -70 / 27, 35 / 27],
      [1631 / 55296, 175 / 512, 575 / 13824, 44275 / 110592, 253 / 4096]]
_C = [0.0, 1 / 5, 3 / 10, 3 / 5, 1.0, 7 / 8]
_B5 = np.array([37 / 378, 0.0, 250 / 621, 125 / 594, 0.0, 512 / 1771])
_B4 = np.array([2825 / 27648, 0.0, 18575 / 48384, 13525 / 55296, 277 / 14336, 1 / 4])
_E = _B5 - _B4
#: absolute floor of the Runge-Kutta error scale (strain units)
_ABS_FLOOR = 1e-12

P, EVP, ETO, TN, INIT, NHEAD = 0, slice(1, 7), slice(7, 13), 13, 14, 15


class CrystalPotential:
    """One ``**potential octahedral|cubic <name>``: slip family, flow, hardening, interaction."""

    def __init__(self, name, family, flow, isotropic, kinematic, interaction):
        """isotropic: ("constant", {"R0"}) or ("nonlinear", {"R0", "Q", "b"});
        kinematic: None or {"C", "D"[, "m", "M"]} (Coefficients); interaction: list of h."""
        self.name, self.family, self.flow = name, family, flow
        self.iso_kind, self.iso = isotropic
        self.kin = kinematic
        self.h = list(interaction)
        self.M = schmid_mandel(family)
        self.N = self.M.shape[0]
        self.H = interaction_matrix(family, self.h)

    def to_spec(self):
        out = {"name": self.name, "type": "crystal", "family": self.family, "flow": self.flow.to_spec(),
               "isotropic": {"type": self.iso_kind, **{k: c.to_spec() for k, c in self.iso.items()}},
               "interaction": list(self.h)}
        if self.kin is not None:
            out["kinematic"] = {"type": "nonlinear", **{k: c.to_spec() for k, c in self.kin.items()}}
        return out


class CrystalLaw(Law):
    """Z-set gen_evp with crystallographic potentials (see the module docstring)."""

    name = "gen_evp"

    def __init__(self, stiffness, thermal, potentials, orientation=None, *, method="runge_kutta",
                 tolerance=1e-5, dtmin=1e-12, max_iterations=200, density=None):
        if not potentials:
            raise MaterialError("potentials: at least one crystal potential needed")
        self.elasticity = stiffness
        self.thermal = thermal
        self.potentials = list(potentials)
        self.orientation = orientation
        self.method = method
        self.tolerance = float(tolerance)
        self.dtmin = float(dtmin)
        self.max_iterations = int(max_iterations)
        self.density = density
        self.M = np.concatenate([p.M for p in self.potentials])           # (N, 6)
        self.N = self.M.shape[0]
        self.slices, start = [], 0
        for p in self.potentials:
            self.slices.append(slice(start, start + p.N))
            start += p.N
        self.Hb = np.zeros((self.N, self.N))                                # block-diagonal h
        for p, sl in zip(self.potentials, self.slices):
            self.Hb[sl, sl] = p.H
        self.nonlinear_iso = any(p.iso_kind == "nonlinear" for p in self.potentials)
        self.recovery = any(p.kin is not None and "M" in p.kin for p in self.potentials)
        self.hyperbolic = any(p.flow.kind == "hyperbolic" for p in self.potentials)
        N = self.N
        self.ALPHA = slice(NHEAD, NHEAD + N)
        self.V = slice(NHEAD + N, NHEAD + 2 * N)
        self.GAMMA = slice(NHEAD + 2 * N, NHEAD + 3 * N)
        self.n_state = NHEAD + 3 * N
        names = (["p"] + [f"evp{c}" for c in COMPONENTS] + [f"eto_n{c}" for c in COMPONENTS] + ["T_n", "init"])
        for key in ("alpha", "v", "gamma"):
            for p in self.potentials:
                names += [f"{p.name}_{key}{s + 1}" for s in range(p.N)]
        self.state_names = names
        self.const_coefs = self._all_constant()
        self._coef_cache = self._system_coefs(np.zeros(1)) if self.const_coefs else None
        self.symmetric_tangent = False

    # ------------------------------------------------------------------ coefficients
    def _all_constant(self):
        coefs = [c for p in self.potentials for c in
                 list(p.flow.coefs.values()) + list(p.iso.values()) + list((p.kin or {}).values())]
        return all(c.is_constant for c in coefs)

    def _system_coefs(self, T):
        """Per-system coefficient arrays (m, N) (or (1, N) when all constant) at temperatures T."""
        m = 1 if self.const_coefs else T.size
        out = {k: np.zeros((m, self.N)) for k in ("K", "n", "eps0", "Kinf", "R0", "Q", "b", "C", "D",
                                                  "mrec", "Mrec")}
        out["Kinf"][:] = 1.0
        out["mrec"][:] = 1.0
        out["Mrec"][:] = np.inf
        for p, sl in zip(self.potentials, self.slices):
            def put(key, coef):
                v = coef(T[:1] if self.const_coefs else T)
                out[key][:, sl] = np.reshape(v, (-1, 1)) if np.ndim(v) else v
            for k, c in p.flow.coefs.items():
                put(k, c)
            for k, c in p.iso.items():
                put(k, c)
            if p.kin is not None:
                put("C", p.kin["C"])
                put("D", p.kin["D"])
                if "M" in p.kin:
                    put("mrec", p.kin["m"])
                    put("Mrec", p.kin["M"])
        return out

    def _coefs(self, T):
        return self._coef_cache if self._coef_cache is not None else self._system_coefs(T)

    @staticmethod
    def _take(c, idx):
        return {k: (v if v.shape[0] == 1 else v[idx]) for k, v in c.items()}

    def _flow(self, f, c):
        """(phi, dphi/df) per system at overstress f >= 0."""
        x = f / c["K"]
        xn1 = x ** (c["n"] - 1.0)
        phi = xn1 * x
        dphi = c["n"] * xn1 / c["K"]
        if self.hyperbolic:
            a = np.minimum(f / c["Kinf"], 700.0)
            phi = phi + c["eps0"] * np.sinh(a)
            dphi = dphi + c["eps0"] / c["Kinf"] * np.cosh(a)
        return phi, dphi

    def _radius(self, v, c):
        """(r (m, N), dr/dv (m, N, N) or None)."""
        if not self.nonlinear_iso:
            return c["R0"] + 0.0 * v, None
        e = np.exp(-c["b"] * v)
        r = c["R0"] + c["Q"] * ((1.0 - e) @ self.Hb.T)
        dr = c["Q"][:, :, None] * self.Hb[None, :, :] * (c["b"] * e)[:, None, :]
        return r, dr

    def _recovery(self, alpha, c):
        """(rho, drho/dalpha) of the static recovery (|C alpha| / M)^m sign(alpha)."""
        if not self.recovery:
            return 0.0 * alpha, 0.0 * alpha
        xa = np.abs(c["C"] * alpha) / c["Mrec"]
        xm1 = xa ** (c["mrec"] - 1.0)
        rho = xm1 * xa * np.sign(alpha)
        drho = c["mrec"] * xm1 * c["C"] / c["Mrec"]
        return rho, drho

    # ------------------------------------------------------------------ elasticity helpers
    def _stiffness(self, T):
        return self.elasticity.stiffness(T)

    def _elastic_strain(self, e, T, evp):
        ee = e - evp
        if self.thermal is not None:
            ee = ee.copy()
            ee[:, :3] -= self.thermal.strain(T)[:, None]
        return ee

    def _to_mat(self, a):
        rot = self.orientation
        return a if rot is None or rot.is_identity else rot.to_material(a)

    def _to_glob(self, a):
        rot = self.orientation
        return a if rot is None or rot.is_identity else rot.to_global(a)

    # ------------------------------------------------------------------ accessors
    def cumulated_plastic_strain(self, state):
        return np.array(np.asarray(state)[:, P], dtype=float)

    def plastic_strain(self, state):
        """(n, 6) Mandel inelastic strain in the global frame."""
        return self._to_glob(np.array(np.asarray(state)[:, EVP], dtype=float))

    def slips(self, state):
        return np.array(np.asarray(state)[:, self.GAMMA], dtype=float)

    # ------------------------------------------------------------------ rates (RK)
    def _rates(self, y, e, T, c):
        """dy/dt for the integrated vector y = [evp(6), p, alpha(N), v(N), gamma(N)] (m, 7+3N)."""
        N = self.N
        evp, alpha, v = y[:, 0:6], y[:, 7:7 + N], y[:, 7 + N:7 + 2 * N]
        C = self._stiffness(T)
        sig = np.einsum("nij,nj->ni", C, self._elastic_strain(e, T, evp))
        z = sig @ self.M.T - c["C"] * alpha
        r, _ = self._radius(v, c)
        f = np.abs(z) - r
        phi, _ = self._flow(np.maximum(f, 0.0), c)
        phi = np.where(f > 0, phi, 0.0)
        gd = phi * np.sign(z)
        rho, _ = self._recovery(alpha, c)
        out = np.empty_like(y)
        epd = gd @ self.M
        out[:, 0:6] = epd
        out[:, 6] = np.sqrt(2.0 / 3.0 * np.einsum("ij,ij->i", epd, epd))
        out[:, 7:7 + N] = gd - c["D"] * alpha * phi - rho
        out[:, 7 + N:7 + 2 * N] = phi
        out[:, 7 + 2 * N:] = gd
        return out

    def _flowing(self, y, e, T, c):
        """(m,) True where some system has f > 0 (or recovery acts) for state y at (e, T)."""
        N = self.N
        C = self._stiffness(T)
        sig = np.einsum("nij,nj->ni", C, self._elastic_strain(e, T, y[:, 0:6]))
        alpha = y[:, 7:7 + N]
        z = sig @ self.M.T - c["C"] * alpha
        r, _ = self._radius(y[:, 7 + N:7 + 2 * N], c)
        act = np.any(np.abs(z) - r > 0, axis=1)
        if self.recovery:
            act |= np.any((alpha != 0) & np.isfinite(c["Mrec"]) & (c["C"] > 0), axis=1)
        return act

    def _rk(self, y0, e0, e1, T0, T1, dt):
        """Adaptive Cash-Karp over [0, dt] per point. Returns (y1, ok, max substeps)."""
        m = y0.shape[0]
        y = y0.copy()
        ok = np.ones(m, dtype=bool)
        c0 = self._coefs(T0)
        c1 = self._coefs(T1)
        act = np.flatnonzero(self._flowing(y0, e0, T0, c0) | self._flowing(y0, e1, T1, c1))
        t = np.zeros(m)
        h = np.full(m, dt)
        nsub = np.zeros(m, dtype=np.int64)
        de, dT = e1 - e0, T1 - T0
        tol = self.tolerance
        steps = 0
        while act.size:
            steps += 1
            if steps > 100000:
                ok[act] = False
                break
            ya, ta = y[act], t[act]
            hh = np.minimum(h[act], dt - ta)
            e0a, dea, T0a, dTa = e0[act], de[act], T0[act], dT[act]
            ks = []
            for i in range(6):
                yi = ya.copy()
                for j, a in enumerate(_A[i]):
                    yi += (a * hh)[:, None] * ks[j]
                s = (ta + _C[i] * hh) / dt
                Ti = T0a + s * dTa
                ci = self._take(c0, act) if self.const_coefs else self._coefs(Ti)
                ks.append(self._rates(yi, e0a + s[:, None] * dea, Ti, ci))
            y5 = ya + hh[:, None] * sum(b * k for b, k in zip(_B5, ks) if b)
            err = hh[:, None] * sum(b * k for b, k in zip(_E, ks) if b)
            scale = np.abs(ya) + np.abs(hh[:, None] * ks[0]) + np.abs(y5 - ya) + _ABS_FLOOR
            errmax = np.max(np.abs(err) / scale, axis=1) / tol
            errmax = np.where(np.isfinite(errmax), errmax, 1e10)
            acc = errmax <= 1.0
            ia = act[acc]
            y[ia] = y5[acc]
            t[ia] = ta[acc] + hh[acc]
            nsub[ia] += 1
            with np.errstate(divide="ignore"):
                grow = np.where(errmax > 1.89e-4, 0.9 * errmax ** -0.2, 5.0)
                shrink = np.maximum(0.9 * errmax ** -0.25, 0.1)
            h[act] = np.where(acc, hh * grow, hh * shrink)
            failed = ~acc & (h[act] < self.dtmin)
            ok[act[failed]] = False
            finished = acc & (t[act] >= dt * (1.0 - 1e-12))
            act = act[~(finished | failed)]
        return y, ok, int(nsub.max()) if m else 0

    # ------------------------------------------------------------------ implicit
    def _alpha(self, alpha_n, dg, g, gp, w, c):
        """alpha_{n+1} and d alpha / d w of the backward-Euler kinematic update (per system)."""
        D = c["D"]
        den = 1.0 + D * g
        alpha = (alpha_n + dg) / den
        if not self.recovery:
            dalpha = (gp - D * alpha * gp * np.sign(w)) / den
            return alpha, dalpha
        # alpha (1 + D g) + dt rho(alpha) = alpha_n + dg: convex, Newton from the no-recovery value
        rhs = alpha_n + dg
        dt = self._dt
        for _ in range(60):
            rho, drho = self._recovery(alpha, c)
            res = alpha * den + dt * rho - rhs
            step = res / (den + dt * drho)
            alpha = alpha - step
            if np.all(np.abs(step) <= 1e-14 * (np.abs(alpha) + 1e-30)):
                break
        _, drho = self._recovery(alpha, c)
        dalpha = (gp - D * alpha * gp * np.sign(w)) / (den + dt * drho)
        return alpha, dalpha

    def _be_residual(self, w, ctx):
        """G(w), with the pieces needed for the Jacobian."""
        dt = self._dt
        c = ctx["c"]
        aw = np.abs(w)
        phi, dphi = self._flow(aw, c)
        g, gp = dt * phi, dt * dphi
        dg = g * np.sign(w)
        alpha, dalpha = self._alpha(ctx["alpha_n"], dg, g, gp, w, c)
        v = ctx["v_n"] + g
        r, drdv = self._radius(v, c)
        tau = ctx["tau_tr"] - (np.einsum("nij,nj->ni", ctx["A"], dg) if ctx["A"].ndim == 3 else dg @ ctx["A"].T)
        z = tau - c["C"] * alpha
        f = np.abs(z) - r
        act = f > 0
        S = np.where(act, np.sign(z) * f, 0.0)
        return w - S, dict(g=g, gp=gp, dg=dg, alpha=alpha, dalpha=dalpha, v=v, drdv=drdv, z=z, act=act)

    def _be_jacobian(self, w, q, ctx):
        """(m, N, N) dG/dw."""
        c = ctx["c"]
        A = ctx["A"]
        m, N = w.shape
        a = q["act"].astype(float)
        dz = -(A if A.ndim == 3 else A[None]) * q["gp"][:, None, :]
        dz[:, np.arange(N), np.arange(N)] -= c["C"] * q["dalpha"]
        dS = dz
        if q["drdv"] is not None:
            dS = dS - np.sign(q["z"])[:, :, None] * q["drdv"] * (q["gp"] * np.sign(w))[:, None, :]
        J = -a[:, :, None] * dS
        J[:, np.arange(N), np.arange(N)] += 1.0
        return J

    def _low_rank(self, w, q, ctx):
        """Pieces of J = D0 + diag(a) M C M^T diag(gp) (no isotropic coupling): (d0, a, B, C)
        with B = M^T diag(a gp / d0) M (m, 6, 6)."""
        c = ctx["c"]
        a = q["act"].astype(float)
        d0 = 1.0 + a * c["C"] * q["dalpha"]
        wgt = a * q["gp"] / d0
        B = np.einsum("si,ns,sj->nij", self.M, wgt, self.M, optimize=True)
        return d0, a, B

    def _newton_step(self, w, G, q, ctx):
        """Newton direction -J^-1 G: Woodbury through the 6x6 stress space when the isotropic
        hardening does not couple the systems (J - I is then diagonal + rank 6), else dense."""
        if q["drdv"] is None:
            C = ctx["C"]
            d0, a, B = self._low_rank(w, q, ctx)
            S6 = np.eye(6) + np.einsum("nij,njk->nik", C, B)
            rhs = np.einsum("nij,nj->ni", C, (q["gp"] * G / d0) @ self.M)
            y = np.linalg.solve(S6, rhs[:, :, None])[:, :, 0]
            return -(G - a * (y @ self.M.T)) / d0
        J = self._be_jacobian(w, q, ctx)
        try:
            return np.linalg.solve(J, -G[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            return -G

    def _predictor(self, ctx):
        """Initial overstress w per system: the decoupled scalar problem
        ``w = S_trial - A_ss dt phi(|w|) sign(w)`` (safeguarded Newton, a few steps)."""
        c = ctx["c"]
        z = ctx["tau_tr"] - c["C"] * ctx["alpha_n"]
        r, _ = self._radius(ctx["v_n"], c)
        f0 = np.abs(z) - r
        act = f0 > 0
        if not np.any(act):
            return np.zeros_like(z)
        A = ctx["A"]
        Ass = np.diagonal(A, axis1=-2, axis2=-1)
        Ass = Ass if Ass.ndim == 2 else Ass[None, :]
        k = Ass + c["C"]
        dt = self._dt
        lo = np.zeros_like(f0)
        hi = np.maximum(f0, 0.0)
        x = 0.5 * hi
        for _ in range(12):
            phi, dphi = self._flow(x, c)
            g = x - (f0 - k * dt * phi)
            lo = np.where(g < 0, x, lo)
            hi = np.where(g >= 0, x, hi)
            xn = x - g / (1.0 + k * dt * dphi)
            x = np.where((xn > lo) & (xn < hi), xn, 0.5 * (lo + hi))
        return np.where(act, np.sign(z) * x, 0.0)

    def _implicit(self, y0, e1, T1, dt):
        """Backward Euler; returns (y1, ok, iterations, ctx, w, q) for the points."""
        m, N = y0.shape[0], self.N
        c = self._coefs(T1)
        C = self._stiffness(T1)
        sig_tr = np.einsum("nij,nj->ni", C, self._elastic_strain(e1, T1, y0[:, 0:6]))
        if self.elasticity.is_constant:
            A = self.M @ C[0] @ self.M.T
        else:
            A = np.einsum("si,nij,tj->nst", self.M, C, self.M, optimize=True)
        ctx = dict(c=c, alpha_n=y0[:, 7:7 + N], v_n=y0[:, 7 + N:7 + 2 * N], tau_tr=sig_tr @ self.M.T, A=A,
                   C=C)
        self._dt = dt
        w = self._predictor(ctx)
        G, q = self._be_residual(w, ctx)
        scale = np.max(np.abs(ctx["tau_tr"]), axis=1) + np.max(np.abs(c["R0"]), axis=1) + 1e-30
        ok = np.max(np.abs(G), axis=1) <= self.tolerance * scale
        act = np.flatnonzero(~ok)
        its = 0

        def sub(d, idx):
            out = {}
            for k, v in d.items():
                if k == "c":
                    out[k] = self._take(v, idx)
                elif k in ("A", "C"):
                    out[k] = v if v.ndim == 2 or v.shape[0] == 1 else v[idx]
                elif v is None:
                    out[k] = None
                else:
                    out[k] = v[idx]
            return out

        while act.size and its < self.max_iterations:
            its += 1
            cx = sub(ctx, act)
            wa, Ga, qa = w[act], G[act], sub(q, act)
            delta = self._newton_step(wa, Ga, qa, cx)
            n0 = np.einsum("ij,ij->i", Ga, Ga)
            lam = np.ones(act.size)
            wn, Gn, qn = wa + delta, *self._be_residual(wa + delta, cx)
            for _ in range(30):
                n1 = np.einsum("ij,ij->i", Gn, Gn)
                bad = ~(n1 <= (1.0 - 1e-4 * lam) * n0) & (lam > 1e-8)
                if not np.any(bad):
                    break
                lam = np.where(bad, 0.5 * lam, lam)
                ib = np.flatnonzero(bad)
                cb = sub(cx, ib)
                wb = wa[ib] + lam[ib, None] * delta[ib]
                Gb, qb = self._be_residual(wb, cb)
                wn[ib], Gn[ib] = wb, Gb
                for k in qn:
                    if qn[k] is not None:
                        qn[k][ib] = qb[k]
            w[act], G[act] = wn, Gn
            for k in q:
                if q[k] is not None:
                    q[k][act] = qn[k]
            conv = np.max(np.abs(Gn), axis=1) <= self.tolerance * scale[act]
            ok[act[conv]] = True
            act = act[~conv]
        y = y0.copy()
        dg = q["dg"]
        depsp = dg @ self.M
        y[:, 0:6] += depsp
        y[:, 6] += np.sqrt(2.0 / 3.0 * np.einsum("ij,ij->i", depsp, depsp))
        y[:, 7:7 + N] = q["alpha"]
        y[:, 7 + N:7 + 2 * N] = q["v"]
        y[:, 7 + 2 * N:] += dg
        return y, ok, its, ctx, w, q

    # ------------------------------------------------------------------ tangent
    def _tangent(self, C, w, q, ctx):
        """Material-frame consistent tangent C - C M^T diag(gp) J^-1 diag(a) M C (backward Euler)."""
        a = q["act"]
        D = np.array(C, dtype=float, copy=True)
        rows = np.flatnonzero(np.any(a, axis=1))
        if rows.size == 0:
            return D
        sub = {k: (v[rows] if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == w.shape[0] else v)
               for k, v in q.items()}
        cx = dict(ctx, c=self._take(ctx["c"], rows),
                  A=ctx["A"] if ctx["A"].ndim == 2 else ctx["A"][rows])
        Cr = C[rows]
        if sub["drdv"] is None:
            # D = C - C B (I + C B)^-1 C  (Woodbury, see _newton_step)
            _, _, B = self._low_rank(w[rows], sub, cx)
            CB = np.einsum("nij,njk->nik", Cr, B)
            X = np.linalg.solve(np.eye(6) + CB, Cr)
            D[rows] = Cr - np.einsum("nij,njk->nik", CB, X)
            return D
        J = self._be_jacobian(w[rows], sub, cx)
        MC = np.einsum("si,nij->nsj", self.M, Cr)                           # (r, N, 6)
        rhs = a[rows][:, :, None] * MC
        dw = np.linalg.solve(J, rhs)                                        # (r, N, 6)
        depdE = np.einsum("si,ns,nsj->nij", self.M, sub["gp"], dw)          # (r, 6, 6)
        D[rows] = Cr - np.einsum("nij,njk->nik", Cr, depdE)
        return D

    def _end_state_be(self, y1, e1, T1, dt, y0):
        """Backward-Euler quantities at a given end state (RK tangent): w = end overstress."""
        N = self.N
        c = self._coefs(T1)
        C = self._stiffness(T1)
        sig = np.einsum("nij,nj->ni", C, self._elastic_strain(e1, T1, y1[:, 0:6]))
        alpha, v = y1[:, 7:7 + N], y1[:, 7 + N:7 + 2 * N]
        z = sig @ self.M.T - c["C"] * alpha
        r, drdv = self._radius(v, c)
        f = np.abs(z) - r
        act = f > 0
        w = np.where(act, np.sign(z) * f, 0.0)
        phi, dphi = self._flow(np.abs(w), c)
        self._dt = dt
        gp = dt * dphi
        g = np.abs(y1[:, 7 + 2 * N:] - y0[:, 7 + 2 * N:])
        D = c["D"]
        rho, drho = self._recovery(alpha, c)
        dalpha = (gp - D * alpha * gp * np.sign(w)) / (1.0 + D * g + dt * drho)
        if self.elasticity.is_constant:
            A = self.M @ C[0] @ self.M.T
        else:
            A = np.einsum("si,nij,tj->nst", self.M, C, self.M, optimize=True)
        q = dict(gp=gp, dalpha=dalpha, drdv=drdv, z=z, act=act)
        return C, w, q, dict(c=c, A=A)

    # ------------------------------------------------------------------ main
    def integrate(self, strain, temperature, dt, state, tangent=True) -> LawResult:
        strain, T1, state = self._check_inputs(strain, temperature, state)
        n, N = strain.shape[0], self.N
        dt = float(dt)
        if not (dt > 0 and np.isfinite(dt)):
            raise MaterialError(f"gen_evp (crystal): time step must be > 0, got {dt!r}")
        init = state[:, INIT] > 0
        e0g = np.where(init[:, None], state[:, ETO], 0.0)
        T0 = np.where(init, state[:, TN], T1)
        e1 = self._to_mat(strain)
        e0 = self._to_mat(e0g)
        y0 = np.concatenate([state[:, EVP], state[:, P:P + 1], state[:, self.ALPHA], state[:, self.V],
                             state[:, self.GAMMA]], axis=1)
        if self.method == "runge_kutta":
            y1, ok, its = self._rk(y0, e0, e1, T0, T1, dt)
        else:
            y1, ok, its, ctx, w, q = self._implicit(y0, e1, T1, dt)
        C = self._stiffness(T1)
        sig = np.einsum("nij,nj->ni", C, self._elastic_strain(e1, T1, y1[:, 0:6]))
        tan = None
        if tangent:
            if self.method == "runge_kutta":
                Cq, w, q, ctx = self._end_state_be(y1, e1, T1, dt, y0)
                tan = self._tangent(Cq, w, q, ctx)
            else:
                tan = self._tangent(C, w, q, ctx)
            rot = self.orientation
            if rot is not None and not rot.is_identity:
                tan = rot.tangent_to_global(tan)
        new = state.copy()
        new[:, EVP] = y1[:, 0:6]
        new[:, P] = y1[:, 6]
        new[:, self.ALPHA] = y1[:, 7:7 + N]
        new[:, self.V] = y1[:, 7 + N:7 + 2 * N]
        new[:, self.GAMMA] = y1[:, 7 + 2 * N:]
        new[:, ETO] = strain
        new[:, TN] = T1
        new[:, INIT] = 1.0
        return LawResult(self._to_glob(sig), new, tan, ok & np.all(np.isfinite(sig), axis=1), its)
