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

* ``runge_kutta``: explicit embedded Runge–Kutta (Cash–Karp 5(4)) with a step size per
  point (:mod:`.crystal_rk`); tangent from the sensitivities of the accepted substeps
  (constant isotropic hardening) or the backward-Euler tangent at the end state.
* ``theta_method_a`` (theta = 1): backward Euler in the per-system overstress unknowns
  ``w_s`` (:mod:`.crystal_implicit`), with its exact consistent tangent.

State layout (n, 15 + 3 N): ``p``, ``evp11..evp31`` (Mandel, material frame), ``eto_n11..31``
(total strain of the last increment, Mandel, global frame), ``T_n``, ``init`` (1 once an
increment was integrated), then per potential ``<name>_alpha<s>`` (N), ``<name>_v<s>``
(cumulated slip, N), ``<name>_gamma<s>`` (slip, N).

Speed (``bench/bench_crystal.py``, docs/materials.md "Crystal law performance"): points are
integrated in blocks of POINTS_PER_BLOCK points (the (block, N) temporaries stay in cache
and are reused by the allocator instead of being mapped afresh); the coefficients constant in
temperature are (1, N) rows computed once per law, tabulated ones (block, N) arrays once per
increment; integer exponents (Norton n, recovery m) are products instead of ``**``; the
resolved shear stresses are BLAS products with the (N, 6) Schmid matrix; the 6x6 systems
are solved by an unrolled Cholesky over all points (:mod:`.sym6`).
"""
from __future__ import annotations

import numpy as np

from ..errors import MaterialError
from ..tensors import COMPONENTS
from . import crystal_implicit, crystal_rk, sym6
from .elastic import Law, LawResult
from .flows import int_exponent, ipow
from .slip_systems import interaction_matrix, schmid_mandel

#: cap of the sinh argument of the hyperbolic flow
_MAX_SINH = 700.0

P, EVP, ETO, TN, INIT, NHEAD = 0, slice(1, 7), slice(7, 13), 13, 14, 15
#: points integrated together, per method: (block, N) temporaries stay in cache and are
#: recycled by the allocator instead of being mapped afresh (bench/bench_crystal.py: backward
#: Euler 1.46e5/s at 2 500 against 1.33e5 at 5 000 and 0.98e5 at 10 000; Runge-Kutta, whose
#: per-step overhead grows with the number of blocks, best near 5 000)
POINTS_PER_BLOCK = {"theta_method_a": 2500, "runge_kutta": 5000}
RK_SENSITIVITY_TANGENT = True
PI_CONTROL = True
INITIAL_STEP = 1.0
#: per-system coefficients and their value where a potential does not define them
_COEF_DEFAULTS = {"K": 1.0, "n": 1.0, "eps0": 0.0, "Kinf": 1.0, "R0": 0.0, "Q": 0.0, "b": 0.0, "C": 0.0,
                  "D": 0.0, "mrec": 1.0, "Mrec": np.inf}


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

    def coefficients(self):
        """(key, Coefficient) pairs of the per-system coefficient arrays (keys of _COEF_DEFAULTS)."""
        out = list(self.flow.coefs.items()) + list(self.iso.items())
        if self.kin is not None:
            out += [("C", self.kin["C"]), ("D", self.kin["D"])]
            if "M" in self.kin:
                out += [("mrec", self.kin["m"]), ("Mrec", self.kin["M"])]
        return out

    def to_spec(self):
        out = {"name": self.name, "type": "crystal", "family": self.family, "flow": self.flow.to_spec(),
               "isotropic": {"type": self.iso_kind, **{k: c.to_spec() for k, c in self.iso.items()}},
               "interaction": list(self.h)}
        if self.kin is not None:
            out["kinematic"] = {"type": "nonlinear", **{k: c.to_spec() for k, c in self.kin.items()}}
        return out


def _power_plan(slices, coefs, shift):
    """[(slice, int or None)] per potential: the exponent ``coef - shift`` as an int where the
    coefficient is a constant integer (evaluated by products), None elsewhere (``**``)."""
    return [(sl, int_exponent(c, shift)) for sl, c in zip(slices, coefs)]


def _spow(x, plan, expo):
    """x ** expo (m, N), the exponent given per potential by ``plan`` (see _power_plan) and
    ``expo`` ((1 | m, N) array, used where the plan has no integer)."""
    ks = {k for _, k in plan}
    if len(ks) == 1 and None not in ks:
        return ipow(x, ks.pop())
    out = np.empty(np.broadcast_shapes(x.shape, expo.shape))
    for sl, k in plan:
        out[:, sl] = ipow(x[:, sl], k) if k is not None else x[:, sl] ** expo[:, sl]
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
        self.symmetric_tangent = False
        self._setup_coefficients()
        self._setup_elasticity()

    # ------------------------------------------------------------------ coefficients
    def _setup_coefficients(self):
        """Constant coefficients as (1, N) rows once; the tabulated ones listed for _coefs."""
        self._rows = {k: np.full((1, self.N), v) for k, v in _COEF_DEFAULTS.items()}
        self._tables = []
        for p, sl in zip(self.potentials, self.slices):
            for key, coef in p.coefficients():
                if coef.is_constant:
                    self._rows[key][0, sl] = coef(0.0)
                else:
                    self._tables.append((key, sl, coef))
        self.const_coefs = not self._tables
        flows = [p.flow.coefs["n"] for p in self.potentials]
        self._n_plan = _power_plan(self.slices, flows, 1.0)                 # n - 1
        self._n_root = [(sl, int_exponent(c, 0.0)) for sl, c in zip(self.slices, flows)]
        self._rec_plan = []                                                 # (slice, m - 1 int or None)
        for p, sl in zip(self.potentials, self.slices):
            if p.kin is not None and "M" in p.kin:
                self._rec_plan.append((sl, int_exponent(p.kin["m"], 1.0)))
        self._const_cache = {}

    def _coefs(self, T, dt=None):
        """Per-system coefficients at temperatures T (m,): a dict of (1, N) rows where constant
        in temperature, (m, N) arrays where tabulated, with derived quantities: ``invK``,
        ``nK`` (n / K), ``invKinf``, ``e0K`` (eps0 / Kinf), ``rc`` ((C / M)^m, static recovery),
        and with dt: ``beta`` (dt rc)."""
        key = dt if self.const_coefs else None
        if key is not None and key in self._const_cache:
            return self._const_cache[key]
        c = dict(self._rows)
        for k, sl, coef in self._tables:
            a = c[k]
            if a.shape[0] != T.size or a is self._rows[k]:
                a = c[k] = np.repeat(a, T.size, axis=0) if a.shape[0] == 1 else a.copy()
            a[:, sl] = coef(T)[:, None]
        c["invK"] = 1.0 / c["K"]
        c["nK"] = c["n"] * c["invK"]
        c["invKinf"] = 1.0 / c["Kinf"]
        c["e0K"] = c["eps0"] * c["invKinf"]
        if self.recovery:
            c["rc"] = (c["C"] / c["Mrec"]) ** c["mrec"]                     # 0 where M = inf
            if dt is not None:
                c["beta"] = dt * c["rc"]
        if key is not None:
            if len(self._const_cache) > 8:
                self._const_cache.clear()
            self._const_cache[key] = c
        return c

    @staticmethod
    def _take(c, idx):
        return {k: (v if v.shape[0] == 1 else v[idx]) for k, v in c.items()}

    # ------------------------------------------------------------------ per-system functions
    def _flow(self, f, c, derivative=True):
        """phi (and dphi/df) (m, N) at overstresses f >= 0 (m, N) (in-place arithmetic: large
        temporaries cost page faults)."""
        x = f * c["invK"]
        xn1 = _spow(x, self._n_plan, c["n"] - 1.0)
        dphi = np.multiply(xn1, c["nK"]) if derivative else None
        phi = np.multiply(x, xn1, out=x)
        if self.hyperbolic:
            a = np.multiply(f, c["invKinf"])
            np.minimum(a, _MAX_SINH, out=a)
            t = np.sinh(a)
            t *= c["eps0"]
            phi += t
            if derivative:
                np.cosh(a, out=a)
                a *= c["e0K"]
                dphi += a
        return phi, dphi

    def _flow_bound(self, rate, c):
        """Overstress at which the Norton part alone (and the sinh part alone) reaches ``rate``
        (m, N) >= 0: upper bounds of phi^-1(rate) (the flow is the sum of both parts)."""
        if all(k in (1, 2, 3) for _, k in self._n_root):
            out = np.empty_like(rate)
            for sl, k in self._n_root:
                out[:, sl] = rate[:, sl] if k == 1 else np.sqrt(rate[:, sl]) if k == 2 else np.cbrt(rate[:, sl])
        else:                                                               # rate^(1/n) on the whole array
            with np.errstate(divide="ignore"):
                out = np.log(rate)
            out *= 1.0 / c["n"]
            np.exp(out, out=out)
        out *= c["K"]
        if self.hyperbolic:
            with np.errstate(divide="ignore", invalid="ignore"):
                h = np.arcsinh(rate / c["eps0"]) * c["Kinf"]
            out = np.fmin(out, h)                                           # NaN (eps0 = 0) ignored
        return out

    def _radius(self, v, c):
        """(r (m | 1, N), b exp(-b v) (m, N) or None): the derivative of r is
        ``dr_s/dv_t = Q_s h_st (b exp(-b v))_t`` (:func:`.crystal_implicit._slip_solve`)."""
        if not self.nonlinear_iso:
            return c["R0"], None
        e = np.exp(-c["b"] * v)
        r = c["R0"] + c["Q"] * ((1.0 - e) @ self.Hb.T)
        return r, e * c["b"]

    def _recovery_rate(self, alpha, c):
        """(C |alpha| / M)^m sign(alpha) (m, N) (0 on the systems without static recovery)."""
        out = np.zeros(np.broadcast_shapes(alpha.shape, c["rc"].shape))
        for sl, k in self._rec_plan:
            a = alpha[:, sl]
            x = np.abs(a)
            xm = x * ipow(x, k) if k is not None else x ** c["mrec"][:, sl]
            out[:, sl] = np.copysign(c["rc"][:, sl] * xm, a)
        return out

    def _recovery_slope(self, alpha, c):
        """m beta |alpha|^(m-1) (m, N): derivative of the backward-Euler recovery term."""
        out = np.zeros(np.broadcast_shapes(alpha.shape, c["beta"].shape))
        for sl, k in self._rec_plan:
            x = np.abs(alpha[:, sl])
            xm1 = ipow(x, k) if k is not None else x ** (c["mrec"][:, sl] - 1.0)
            out[:, sl] = c["mrec"][:, sl] * c["beta"][:, sl] * xm1
        return out

    def _kinematic(self, rhs, den, c):
        """Backward-Euler kinematic variable: alpha with ``den alpha + beta |alpha|^m sign(alpha)
        = rhs`` (per system; beta = dt (C/M)^m) and the derivative of the left side
        ``den + m beta |alpha|^(m-1)`` (den (m, N) is overwritten by it). Without recovery and for m = 1, 2, 3: closed forms
        (m = 3: the real root of the depressed cubic in hyperbolic form, then one Newton
        step); else Newton on |alpha| from the smaller of the two single-term solutions (an
        upper bound: the function is convex and increasing, so the iterates decrease
        monotonically to the root)."""
        alpha = rhs / den
        if not self.recovery:
            return alpha, den
        dres = den                                                          # overwritten below
        for sl, k in self._rec_plan:
            dn = den[:, sl]
            q = np.abs(rhs[:, sl])
            beta = c["beta"][:, sl]
            if k == 0:                                                      # m = 1
                x = q / (dn + beta)
            elif k == 1:                                                    # m = 2
                x = 2.0 * q / (dn + np.sqrt(dn * dn + 4.0 * beta * q))
            elif k == 2:                                                    # m = 3
                # x = 2 sqrt(dn / 3 beta) sinh(asinh(3 q / (2 dn) sqrt(3 beta / dn)) / 3)
                s = dn / (3.0 * np.maximum(beta, 1e-300))
                np.sqrt(s, out=s)
                x = q / dn
                x *= 1.5
                x /= s
                np.arcsinh(x, out=x)
                x *= 1.0 / 3.0
                np.sinh(x, out=x)
                x *= s
                x *= 2.0
                x2 = x * x                                                  # one Newton step
                t = beta * x2
                s = t + dn
                s *= x
                s -= q
                t *= 3.0
                t += dn
                s /= t
                x -= s
            else:
                x = self._kinematic_newton(q, dn, beta, c["mrec"][:, sl], k)
            alpha[:, sl] = np.copysign(x, rhs[:, sl])
            m = c["mrec"][:, sl]
            xm1 = ipow(x, k) if k is not None else x ** (m - 1.0)
            xm1 *= m * beta
            dres[:, sl] = dn + xm1
        return alpha, dres

    @staticmethod
    def _kinematic_newton(q, dn, beta, m, k):
        """x >= 0 with dn x + beta x^m = q (any m >= 1) by Newton from an upper bound."""
        with np.errstate(divide="ignore"):
            xb = (q / beta) ** (1.0 / m)
        x = np.minimum(q / dn, xb)
        for _ in range(60):
            xm1 = ipow(x, k) if k is not None else x ** (m - 1.0)
            step = (x * (dn + beta * xm1) - q) / (dn + m * beta * xm1)
            x = x - step
            if np.all(np.abs(step) <= 1e-14 * (x + 1e-30)):
                break
        return x

    # ------------------------------------------------------------------ elasticity helpers
    def _setup_elasticity(self):
        self._C0 = self._S0 = None
        if self.elasticity.is_constant:
            self._C0 = np.array(self.elasticity.stiffness(np.zeros(1))[0])
            self._S0 = np.linalg.inv(self._C0)
            self._A0 = self.M @ self._C0 @ self.M.T                         # (N, N) M C M^T
            self._C6 = sym6.pack(self._C0[None])                            # (21, 1)
            self._S6 = sym6.pack(self._S0[None]).T                          # (1, 21)
        self._MM = sym6.pair_products(self.M)                               # (N, 21)
        self._MM36 = (self.M[:, :, None] * self.M[:, None, :]).reshape(self.N, 36)
        rot = self.orientation
        self._R21 = None if rot is None or rot.is_identity else sym6.rotation(rot.Q)

    def _stiffness(self, T):
        return self.elasticity.stiffness(T)

    def _apply_stiffness(self, C, a):
        """C : a for C (m, 6, 6) (or None: the constant stiffness) and a (m, 6)."""
        if C is None:
            return a @ self._C0.T
        return np.einsum("nij,nj->ni", C, a)

    def _elastic_strain(self, e, T, evp):
        ee = e - evp
        if self.thermal is not None:
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

    # ------------------------------------------------------------------ main
    def integrate(self, strain, temperature, dt, state, tangent=True) -> LawResult:
        strain, T1, state = self._check_inputs(strain, temperature, state)
        dt = float(dt)
        if not (dt > 0 and np.isfinite(dt)):
            raise MaterialError(f"gen_evp (crystal): time step must be > 0, got {dt!r}")
        n, block = strain.shape[0], POINTS_PER_BLOCK[self.method]
        if n <= block:
            return self._integrate_block(strain, T1, dt, state, tangent)
        stress, new = np.empty((n, 6)), np.empty_like(state)
        tan = np.empty((n, 6, 6)) if tangent else None
        conv, its = np.empty(n, dtype=bool), 0
        for i in range(0, n, block):
            b = slice(i, min(i + block, n))
            r = self._integrate_block(strain[b], T1[b], dt, state[b], tangent)
            stress[b], new[b], conv[b], its = r.stress, r.state, r.converged, max(its, r.iterations)
            if tangent:
                tan[b] = r.tangent
        return LawResult(stress, new, tan, conv, its)

    def _integrate_block(self, strain, T1, dt, state, tangent):
        N = self.N
        e1 = self._to_mat(strain)
        y0 = np.concatenate([state[:, EVP], state[:, P:P + 1], state[:, self.ALPHA], state[:, self.V],
                             state[:, self.GAMMA]], axis=1)
        C = None if self._C0 is not None else self._stiffness(T1)
        if self.method == "runge_kutta":
            init = state[:, INIT] > 0
            e0 = self._to_mat(np.where(init[:, None], state[:, ETO], 0.0))
            T0 = np.where(init, state[:, TN], T1)
            sens = tangent and RK_SENSITIVITY_TANGENT and not self.nonlinear_iso
            y1, ok, its, Sp = crystal_rk.integrate(self, y0, e0, e1, T0, T1, dt, sens)
        else:
            y1, ok, its, sol = crystal_implicit.integrate(self, y0, e1, T1, dt, C)
        sig = self._apply_stiffness(C, self._elastic_strain(e1, T1, y1[:, 0:6]))
        tan = None
        if tangent:
            if self.method != "runge_kutta":
                tan = crystal_implicit.tangent(self, sol)
            elif Sp is not None:
                Cm = np.broadcast_to(self._C0, (strain.shape[0], 6, 6)) if C is None else C
                tan = Cm - Cm @ Sp
                rot = self.orientation
                tan = tan if rot is None or rot.is_identity else rot.tangent_to_global(tan)
            else:
                tan = crystal_implicit.tangent(self, crystal_implicit.end_state(self, y0, y1, e1, T1, dt, C))
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
