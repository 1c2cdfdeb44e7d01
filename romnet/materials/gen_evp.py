"""``gen_evp``: von Mises elasto-(visco)plasticity with isotropic and kinematic hardening.

Z-set's ``gen_evp`` with one potential, ``*criterion mises`` and ``theta_method_a 1.``
(fully implicit backward Euler); equations, conventions and units in ``docs/materials.md``.

Backward Euler reduces to one scalar equation in the increment ``dp`` of the cumulated
plastic strain per point (radial return, exact with Armstrong-Frederick kinematics)::

    w     = 1 / (1 + D dp)
    xi*   = s_trial - w X_n*          X_n* = 2/3 C(T_{n+1}) alpha_n
    Phi(dp) = J(xi*) - (3 G + C w) dp - R(p_n + theta_R dp)
    plasticity:  Phi(dp) = 0
    Norton:      Phi(dp) - K y = 0,   dp = dt y^n   (solved for y = (dp/dt)^(1/n))

``theta_R`` (``integration.hardening_theta``, default 1) is the point of the increment at
which the isotropic hardening is evaluated. Z-set's ``theta_method_a 1.`` behaves as
``theta_R = 0.999`` (measured on MecaSequentialSimpleMises, see ``docs/materials.md``).

``J(xi*)^2 = 3/2 (s:s - 2 w s:X + w^2 X:X)`` is evaluated from three scalars per point, so
a local iteration costs a few flops. The root is bracketed in ``[0, x_hi]`` and found by a
vectorized safeguarded Newton (bisection whenever the Newton step leaves the bracket).
"""
from __future__ import annotations

import numpy as np

from ..errors import MaterialError
from .coefficients import Coefficient
from .elastic import IsotropicElasticity, Law, LawResult, ThermalStrain, isotropic_tensor

_COMPONENTS = ("11", "22", "33", "12", "23", "31")
_EPS = np.finfo(float).eps


def _take(c, idx):
    """Restrict a per-point coefficient (array) to idx; floats pass through."""
    return c[idx] if isinstance(c, np.ndarray) else c


class Isotropic:
    """Isotropic hardening R(p): constant, linear (R0 + H p) or nonlinear/Voce
    (R0 + Q (1 - exp(-b p)))."""

    def __init__(self, kind: str, R0: Coefficient, H=None, Q=None, b=None):
        self.kind, self.R0, self.H, self.Q, self.b = kind, R0, H, Q, b

    def coefficients(self, temperature):
        """Dict of coefficient values at the temperatures."""
        c = {"R0": self.R0(temperature)}
        if self.kind == "linear":
            c["H"] = self.H(temperature)
        elif self.kind == "nonlinear":
            c["Q"] = self.Q(temperature)
            c["b"] = self.b(temperature)
        return c

    def value(self, c, p):
        """(R(p), dR/dp) with coefficient values c (as from :meth:`coefficients`)."""
        if self.kind == "constant":
            return c["R0"] + 0.0 * p, 0.0 * p
        if self.kind == "linear":
            return c["R0"] + c["H"] * p, c["H"] + 0.0 * p
        e = np.exp(-c["b"] * p)
        return c["R0"] + c["Q"] * (1.0 - e), c["Q"] * c["b"] * e


class GenEvpLaw(Law):
    """Von Mises elasto-(visco)plastic law, see the module docstring and docs/materials.md.

    State (n, 13): ``p``, plastic strain ``evp`` (Mandel, 6), back strain ``alpha``
    (Mandel, 6).
    """

    name = "gen_evp"
    n_state = 13
    state_names = (["p"] + [f"evp{c}" for c in _COMPONENTS] + [f"alpha{c}" for c in _COMPONENTS])

    def __init__(self, elasticity: IsotropicElasticity, thermal: ThermalStrain | None,
                 isotropic: Isotropic, *, norton: tuple | None = None,
                 kinematic: tuple | None = None, tolerance: float = 1e-9,
                 max_iterations: int = 200, density: float | None = None,
                 hardening_theta: float = 1.0):
        """norton: (K, n) coefficients or None for rate-independent plasticity;
        kinematic: (C, D) coefficients (D = 0 for linear kinematic hardening) or None;
        hardening_theta: isotropic hardening evaluated at p_n + hardening_theta * dp."""
        self.elasticity = elasticity
        self.thermal = thermal
        self.isotropic = isotropic
        self.norton = norton
        self.kinematic = kinematic
        self.tolerance = float(tolerance)
        self.max_iterations = int(max_iterations)
        self.density = density
        self.hardening_theta = float(hardening_theta)
        self.state_names = list(type(self).state_names)

    @property
    def symmetric_tangent(self) -> bool:
        """True without nonlinear kinematic hardening (the tangent is then symmetric)."""
        if self.kinematic is None:
            return True
        d = self.kinematic[1]
        return bool(d.max == 0.0 and d.min == 0.0)

    @property
    def viscous(self) -> bool:
        return self.norton is not None

    def cumulated_plastic_strain(self, state):
        return np.array(np.asarray(state)[:, 0], dtype=float)

    def plastic_strain(self, state):
        return np.array(np.asarray(state)[:, 1:7], dtype=float)

    def back_strain(self, state):
        """(n, 6) Mandel back strain alpha (X = 2/3 C alpha)."""
        return np.array(np.asarray(state)[:, 7:13], dtype=float)

    # ------------------------------------------------------------------------------------
    def integrate(self, strain, temperature, dt, state, tangent=True) -> LawResult:
        strain, temperature, state = self._check_inputs(strain, temperature, state)
        n = strain.shape[0]
        if self.viscous:
            dt = float(dt)
            if not (dt > 0 and np.isfinite(dt)):
                raise MaterialError(f"gen_evp (norton): time step must be > 0, got {dt!r}")
        T = temperature
        g, kappa = self.elasticity.moduli(T)
        g = np.broadcast_to(np.asarray(g, dtype=float), (n,))
        kappa = np.broadcast_to(np.asarray(kappa, dtype=float), (n,))

        p_n = state[:, 0]
        evp_n = state[:, 1:7]
        alpha_n = state[:, 7:13]

        # elastic predictor
        e = strain - evp_n
        if self.thermal is not None:
            e[:, :3] -= self.thermal.strain(T)[:, None]
        tr = e[:, 0] + e[:, 1] + e[:, 2]
        e[:, :3] -= (tr / 3.0)[:, None]
        s_tr = (2.0 * g)[:, None] * e              # trial deviatoric stress
        if self.kinematic is not None:
            ck = self.kinematic[0](T)
            dk = self.kinematic[1](T)
            ck = np.broadcast_to(np.asarray(ck, dtype=float), (n,))
            dk = np.broadcast_to(np.asarray(dk, dtype=float), (n,))
            x_n = ((2.0 / 3.0) * ck)[:, None] * alpha_n
        else:
            ck, dk = 0.0, 0.0
            x_n = np.zeros_like(s_tr)
        xi0 = s_tr - x_n
        j0 = np.sqrt(1.5 * np.einsum("ij,ij->i", xi0, xi0))
        iso_c = self.isotropic.coefficients(T)
        r_n, _ = self.isotropic.value(iso_c, p_n)
        f_tr = j0 - r_n

        stress = s_tr.copy()
        stress[:, :3] += (kappa * tr)[:, None]
        new_state = state.copy()
        converged = np.ones(n, dtype=bool)
        tan = None
        iterations = 0

        idx = np.flatnonzero(f_tr > 0.0)
        if idx.size:
            s = s_tr[idx]
            x = x_n[idx]
            gi = g[idx]
            ci = np.broadcast_to(np.asarray(_take(ck, idx), dtype=float), idx.shape)
            di = np.broadcast_to(np.asarray(_take(dk, idx), dtype=float), idx.shape)
            pn = p_n[idx]
            isoc = {k: _take(v, idx) for k, v in iso_c.items()}
            if self.viscous:
                kk = np.broadcast_to(np.asarray(self.norton[0](T), dtype=float), (n,))[idx]
                nn = np.broadcast_to(np.asarray(self.norton[1](T), dtype=float), (n,))[idx]
            else:
                kk = nn = None
            aa = np.einsum("ij,ij->i", s, s)
            ab = np.einsum("ij,ij->i", s, x)
            bb = np.einsum("ij,ij->i", x, x)
            dp, yv, ok, iterations = self._solve(aa, ab, bb, gi, ci, di, pn, isoc, kk, nn, dt,
                                                 f_tr[idx], j0[idx])
            converged[idx] = ok

            w = 1.0 / (1.0 + di * dp)
            xis = s - w[:, None] * x
            jx = np.sqrt(1.5 * np.einsum("ij,ij->i", xis, xis))
            jx_safe = np.where(jx > 0, jx, 1.0)
            nv = (1.5 / jx_safe)[:, None] * xis          # flow direction (deviatoric)
            dpn = dp[:, None] * nv
            stress[idx] -= (2.0 * gi * dp)[:, None] * nv
            new_state[idx, 0] = pn + dp
            new_state[idx, 1:7] = evp_n[idx] + dpn
            new_state[idx, 7:13] = w[:, None] * (alpha_n[idx] + dpn)

            if tangent:
                nx = np.einsum("ij,ij->i", nv, x)
                _, rp = self.isotropic.value(isoc, pn + self.hardening_theta * dp)
                rp = self.hardening_theta * rp
                a_ri = 3.0 * gi + ci * w * w + rp - di * w * w * nx
                if self.viscous:
                    dpdy = nn * dt * yv ** (nn - 1.0)
                    inv_a = dpdy / (a_ri * dpdy + kk)
                else:
                    inv_a = 1.0 / a_ri
                g2 = gi * gi
                a = 6.0 * g2 * dp / jx_safe
                beta = (2.0 / 3.0) * a - 4.0 * g2 * inv_a
                c = 6.0 * g2 * dp * di * w * w * inv_a / jx_safe
                z = x - ((2.0 / 3.0) * nx)[:, None] * nv
                u = beta[:, None] * nv - c[:, None] * z
                g_eff = 2.0 * g
                g_eff[idx] -= a
                tan = isotropic_tensor(3.0 * kappa, g_eff, n)
                if idx.size > n // 2:
                    uf = np.zeros((n, 6))
                    nf = np.zeros((n, 6))
                    uf[idx] = u
                    nf[idx] = nv
                    tan += uf[:, :, None] * nf[:, None, :]
                else:
                    tan[idx] += u[:, :, None] * nv[:, None, :]
        if tangent and tan is None:
            tan = isotropic_tensor(3.0 * kappa, 2.0 * g, n)
        return LawResult(stress, new_state, tan, converged, int(iterations))

    # ------------------------------------------------------------------------------------
    def _solve(self, aa, ab, bb, g, c, d, pn, isoc, kk, nn, dt, f0, j0):
        """Solve the scalar return equation at the plastic points.

        Returns (dp, y, converged, iterations); y = (dp/dt)^(1/n) for Norton (None else).
        """
        m = aa.size
        viscous = kk is not None
        tol = self.tolerance
        iso = self.isotropic
        th = self.hardening_theta
        scale = j0 + np.abs(j0 - f0)                   # J(xi*(0)) + |R(p_n)|

        # bracket [0, hi] in dp: J(xi*) <= J(s) + J(X) = 3G hi  =>  Phi(hi) <= -R - C w hi
        dp_hi = (np.sqrt(1.5 * aa) + np.sqrt(1.5 * bb)) / (3.0 * g)
        # derivative of Phi at dp = 0 (n0 : X = 3/2 (ab - bb) / J0)
        _, rp0 = iso.value(isoc, pn)
        a0 = 3.0 * g + c + th * rp0 - d * 1.5 * (ab - bb) / j0
        a0 = np.maximum(a0, 1e-3 * g)
        dp0 = np.minimum(f0 / a0, dp_hi)
        if viscous:
            inv_n = 1.0 / nn
            hi = np.minimum(f0 / kk, (dp_hi / dt) ** inv_n)
            x0 = np.minimum(f0 / kk, (dp0 / dt) ** inv_n)
        else:
            hi = dp_hi
            x0 = dp0
        lo = np.zeros(m)
        hi_ok = np.zeros(m, dtype=bool)                  # g(hi) <= 0 seen

        out_x = x0.copy()
        ok = np.zeros(m, dtype=bool)
        act = np.arange(m)
        xa = x0
        # per-point parameters restricted to the active set
        P = dict(aa=aa, ab=ab, bb=bb, g=g, c=c, d=d, pn=pn, scale=scale, lo=lo, hi=hi,
                 hi_ok=hi_ok)
        if viscous:
            P.update(kk=kk, nn=nn)
        for k, v in isoc.items():
            P["iso_" + k] = np.broadcast_to(np.asarray(v, dtype=float), (m,))
        its = 0
        for it in range(1, self.max_iterations + 1):
            its = it
            if viscous:
                ym1 = xa ** (P["nn"] - 1.0)
                dp = dt * ym1 * xa
                dpdx = P["nn"] * dt * ym1
            else:
                dp = xa
            w = 1.0 / (1.0 + P["d"] * dp)
            j2 = 1.5 * (P["aa"] - 2.0 * w * P["ab"] + w * w * P["bb"])
            jx = np.sqrt(np.maximum(j2, 0.0))
            r, rp = iso.value({k[4:]: v for k, v in P.items() if k.startswith("iso_")},
                              P["pn"] + th * dp)
            rp = th * rp
            cw = P["c"] * w
            phi = jx - (3.0 * P["g"] + cw) * dp - r
            with np.errstate(divide="ignore", invalid="ignore"):
                djx = np.where(jx > 0, P["d"] * w * w * 1.5 * (P["ab"] - w * P["bb"]) / jx, 0.0)
            dphi = djx - 3.0 * P["g"] - cw * w - rp
            if viscous:
                gv = phi - P["kk"] * xa
                dg = dphi * dpdx - P["kk"]
            else:
                gv, dg = phi, dphi
            pos = gv > 0
            lo_a = np.where(pos, xa, P["lo"])
            hi_a = np.where(pos, P["hi"], xa)
            hi_ok_a = P["hi_ok"] | ~pos
            width = hi_a - lo_a
            tiny = width <= 4.0 * _EPS * np.abs(hi_a)
            done = (np.abs(gv) <= tol * P["scale"]) | (tiny & hi_ok_a)
            failed = tiny & ~hi_ok_a & ~done          # cannot bracket (should not happen)
            fin = done | failed
            with np.errstate(divide="ignore", invalid="ignore"):
                xn = xa - gv / dg
            inside = (xn >= lo_a) & (xn <= hi_a)
            if np.any(fin):
                # converged points take the last Newton correction too (free accuracy)
                out_x[act[fin]] = np.where(inside & done, xn, xa)[fin]
                ok[act[done]] = True
            keep = ~fin
            if not np.any(keep):
                break
            bad = ~(inside & (xn > lo_a) & (xn < hi_a))
            xn = np.where(bad, 0.5 * (lo_a + hi_a), xn)
            if np.all(keep):
                xa = xn
                P["lo"], P["hi"], P["hi_ok"] = lo_a, hi_a, hi_ok_a
            else:
                act = act[keep]
                xa = xn[keep]
                for key, v in P.items():
                    if key in ("lo", "hi", "hi_ok"):
                        continue
                    P[key] = v[keep] if isinstance(v, np.ndarray) and v.ndim else v
                P["lo"], P["hi"], P["hi_ok"] = lo_a[keep], hi_a[keep], hi_ok_a[keep]
        else:
            out_x[act] = xa
        if viscous:
            y = out_x
            dp = dt * y ** nn
            return dp, y, ok, its
        return out_x, None, ok, its
