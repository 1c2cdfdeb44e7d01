"""Reduced Newton solver (hyper-reduced: the law is evaluated at the reduced points only).

Unknowns: reduced coordinates ``a`` (k,) of the displacement ``u = Phi a``. At every
reduced point p (ECM points with weight ``w_p``, QDEIM points with ``w_p = 0``)::

    eps_p   = B_p a                      B_p = strain_modes[p]  (6, k) Mandel
    sigma_p, D_p, state_p = law(eps_p, T_p(t), dt, state_p(t_n))
    f_int   = sum_p w_p B_p^T sigma_p     (k,)
    K       = sum_p w_p B_p^T D_p B_p     (k, k)
    F_ext   = sum_l c_l(t) phi_f_l         c = magnitude * table(t) (pressure, centrifugal,
                                           gravity, nodal forces)

With inhomogeneous constraints (a lifting, :mod:`romnet.offline.lifting`) the strain is
``eps_p = B_p a + sum_k h_k(t) E_p,k`` (``E_p,k`` the strain of lifting field k at the
point, ``h_k`` the loading's table of its condition).

plus, with hourglass-controlled elements (c3d8r, ...), the exact linear term
``f_int += K_hg a``, ``K += K_hg`` with ``K_hg = sum_m c_m Phi^T K_hg,m Phi`` (the stored
per-material matrices, ``c_m`` the loading's constant modulus). Points on plane-stress
elements integrate their law through :class:`romnet.fe.plane_stress.PlaneStressLaw`
(sigma33 = 0; e33 is written into the point strain).

Newton on ``R(a) = f_int(a) - F_ext(t) = 0`` from ``a_n`` (or, with ``predictor``, from
the linear extrapolation of the last two accepted states); during the iterations the law is
evaluated at the ECM points only (the points with a weight: they alone make ``f_int`` and
``K``, ``K`` assembled as one BLAS product ``(w B)^T (D B)`` and only when the residual asks
for another iteration); the zero-weight (QDEIM) points,
needed by Gappy-POD and the indicator, get the law once per accepted increment. Converged when
``||R|| <= ratio * F_ref`` with ``F_ref = max(||F_ext||, ||sum_p w_p |B_p^T sigma_p| ||)``
(the second term is the scale of the internal forces, so thermal-only loadings converge
too; taken at the attempt's first iterate: later iterations get ``f`` as one product), or
when the correction is at round-off (``||da|| <= 1e-13 ||a||``). An attempt fails on a
non-converged law point, non-finite values, ``max_iterations`` or a residual growth by 1e4;
the increment is then halved recursively (``max_cuts`` levels).

Internal variables live at all reduced points (QDEIM points too: Gappy-POD of the dual
fields needs them). Temperature at the points: ``T_p = sum_a shape[p, a] T(nodes[p, a])``
from the nodal temperature of the loading restricted, once, to the nodes the points need.

Distribution: below ``distribute_min_work`` (n_points x n_modes^2, the reduced tangent's
cost; default 1.2e6) every rank integrates all the points (replicated: the same operations
as on one rank, nothing communicated). From that size on the reduced points are split in
contiguous blocks over the ranks (each
rank integrates its own points); ``f_int``, the force scale and the number of failed
points go through one Allreduce per iteration, ``K`` through a second one when the iteration
is not the last. The Newton solve (k x k) is replicated.
Cost per iteration: O(n_p (6 k + 36) k) -- independent of the mesh size.

Modified Newton (``tangent_refresh``, default 0.1): the tangent ``K`` (its product,
O(n_p 6 k^2), is most of an iteration's cost with tens of modes) is kept across iterations
and increments while each iteration divides the residual by 10 or more; when one does not,
``K`` is assembled at the current iterate, and after a failed attempt (its increment is
halved) the next attempt starts with a new one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import mpi
from ..errors import ConvergenceError, InputError
from ..fe.plane_stress import PlaneStressLaw, wrap_law
from ..materials import build_law
from ..offline.lifting import check_sources, inhomogeneous, source_tables
from ..offline.operators import LOAD_KINDS

__all__ = ["OnlineOptions", "ReducedState", "ReducedSolver", "StepInfo", "schedule"]


#: default of :attr:`OnlineOptions.distribute_min_work`: runs on 2 ranks, replicated vs split
#: (s per run, learned blade ROMs, points x modes): 408 x 23 0.047 vs 0.048, 713 x 38 0.079 vs
#: 0.087, 919 x 38 0.109 vs 0.094, 1 362 x 64 0.20 vs 0.15, 1 735 x 71 0.36 vs 0.25
DISTRIBUTE_MIN_WORK = 1.2e6
#: default of :attr:`OnlineOptions.tangent_refresh` (module docstring, "Modified Newton")
TANGENT_REFRESH = 0.1


@dataclass
class OnlineOptions:
    """ratio: Newton tolerance on ||R|| / F_ref; max_iterations per attempt; max_cuts:
    levels of increment halving; round_off: relative size of a correction treated as
    converged; predictor: start Newton from the extrapolation of the last two accepted
    states (the same converged answer, fewer iterations); distribute_min_work: on several
    ranks, the reduced points are split over them only from this n_points x n_modes^2 on,
    below every rank integrates all of them and nothing is communicated (module docstring,
    "Distribution"; 0: always split); tangent_refresh: modified Newton -- the reduced tangent
    last assembled (this increment or an earlier one) is kept while every iteration divides
    the residual by at least 1 / tangent_refresh, and assembled again at the current iterate
    otherwise (0: a new tangent at every iteration, full Newton). The converged answer is
    the same (same residual test); module docstring, "Modified Newton"."""
    ratio: float = 1e-8
    max_iterations: int = 30
    max_cuts: int = 8
    round_off: float = 1e-13
    predictor: bool = True
    distribute_min_work: float = DISTRIBUTE_MIN_WORK
    tangent_refresh: float = TANGENT_REFRESH


@dataclass
class ReducedState:
    """State at time t: reduced coordinates ``a`` (k,) (replicated), law states at this
    rank's points ``states`` (n_loc, n_state_max) packed, and (after a step) ``stress`` /
    ``strain`` (n_loc, 6) Mandel at this rank's points."""
    t: float
    a: np.ndarray
    states: np.ndarray
    stress: np.ndarray | None = None
    strain: np.ndarray | None = None


@dataclass
class StepInfo:
    iterations: int = 0
    cuts: int = 0
    residuals: list = field(default_factory=list)
    substeps: list = field(default_factory=list)   # [(t, a)] accepted sub-increments
    failures: list = field(default_factory=list)


class _AttemptFailed(Exception):
    pass


def schedule(stepping, times=None):
    """Output times of a run: ``times`` if given, else the problem's stepping (cycle c
    shifted by c * period, like :meth:`romnet.hifi.HFSolver.schedule`)."""
    if times is not None:
        return np.asarray(times, dtype=float)
    return np.array([t for t, _, _ in stepping.outputs()])


class ReducedSolver:
    """Hyper-reduced Newton solver of one :class:`ReducedModel` on one loading.

    problem : the loading (:class:`romnet.problem.Problem`): materials (same order as the
        ROM's store), tables, pressure / centrifugal magnitudes, temperature; its
        ``temperature`` may hold all nodes, or only ``model.needed_nodes()`` when it
        carries an attribute ``nodes`` (see :func:`romnet.online.api.read_loading`).
    """

    def __init__(self, model, problem, comm=None, options=None):
        self.model, self.problem = model, problem
        self.options = options or OnlineOptions()
        self.comm = comm or mpi.comm()
        #: every rank integrates every point (few points on several ranks: no communication)
        self.replicated = model.n_points * model.n_modes ** 2 < self.options.distribute_min_work
        self.size = 1 if self.replicated else self.comm.Get_size()
        self.p0, self.p1 = (0, model.n_points) if self.replicated else mpi.local_range(model.n_points, self.comm)
        sl = slice(self.p0, self.p1)
        self.B = np.ascontiguousarray(model.strain_modes[sl])              # (n, 6, k)
        self.w = np.ascontiguousarray(model.weights[sl])
        self.k = model.n_modes
        self.n_loc = self.p1 - self.p0
        mat = model.material[sl]
        if problem.materials is None or not len(problem.materials):
            raise InputError("the loading has no material")
        if mat.size and (mat.min() < 0 or mat.max() >= len(problem.materials)):
            raise InputError(f"reduced points refer to material {int(mat.max())} / {int(mat.min())}, the "
                             f"loading has {len(problem.materials)} material assignment(s)")
        ps = model.plane_stress if model.plane_stress is not None else np.zeros(model.n_points, np.int8)
        self.laws = [wrap_law(build_law(m.spec), ps[model.material == i], m.element_set)
                     for i, m in enumerate(problem.materials)]
        self.groups = [(law, np.flatnonzero(mat == i)) for i, law in enumerate(self.laws)]
        self.groups = [(law, idx) for law, idx in self.groups if idx.size]
        self.K_hg = self._hourglass(model, problem)
        # ECM points (weights > 0: f_int and K) and zero-weight points (outputs only)
        self.act = np.flatnonzero(self.w > 0)
        self.pas = np.flatnonzero(self.w <= 0)
        self.Ba = np.ascontiguousarray(self.B[self.act])
        self.wBa = np.ascontiguousarray((self.w[self.act, None, None] * self.Ba).reshape(-1, self.k))
        self.sub_groups = {name: [(law, np.searchsorted(sub, idx[np.isin(idx, sub)])) for law, idx in self.groups]
                           for name, sub in (("act", self.act), ("pas", self.pas))}
        self._last = None           # (t_prev, a_prev, t, a) of the last two accepted states
        self._K = None              # the last assembled reduced tangent (modified Newton)
        self.tangents = 0           # reduced tangents assembled (modified Newton keeps most)
        self.n_state = max([law.n_state for law in self.laws] + [1])
        self._setup_temperature(problem, sl)
        self._setup_loads(problem)
        self._setup_lifting(problem, sl)
        self._setup_offsets(problem, sl)

    # ------------------------------------------------------------------ loading
    def _hourglass(self, model, problem):
        """(k, k) reduced hourglass stiffness of the loading (None without hourglass elements)."""
        if model.hourglass is None:
            return None
        from ..offline.operators import hourglass_modulus_constant
        mats, modulus = model.hourglass["matrices"], model.hourglass["modulus"]
        K = np.zeros((self.k, self.k))
        for j in np.flatnonzero(np.isfinite(modulus)):
            if j >= len(self.laws):
                raise InputError(f"the ROM's hourglass operator refers to material {j}, the loading has "
                                 f"{len(self.laws)}")
            law = getattr(self.laws[j], "law", self.laws[j])
            K += hourglass_modulus_constant(law, problem, problem.materials[j].element_set) * mats[j]
        return K

    def _setup_temperature(self, problem, sl):
        nodes = self.model.nodes[sl]
        self.shape = self.model.shape[sl]
        temp = problem.temperature
        self.ref_T = np.zeros(self.n_loc)
        for law, idx in self.groups:
            if law.thermal is not None:
                self.ref_T[idx] = law.thermal.ref_temperature
        if temp is None:
            self.temp = None
            return
        need = np.unique(nodes[nodes >= 0])
        have = getattr(temp, "nodes", None)
        fields = np.asarray(temp.fields, dtype=float)
        if have is None:
            F = fields[:, need]
        else:
            have = np.asarray(have)
            pos = np.searchsorted(have, need)
            if np.any(pos >= have.size) or np.any(have[np.minimum(pos, have.size - 1)] != need):
                raise InputError("the loading's temperature lacks nodes needed by the reduced points")
            F = fields[:, pos]
        from ..problem import Temperature
        self.temp = Temperature(np.asarray(temp.times, dtype=float), F, temp.period)
        self.t_idx = np.where(nodes >= 0, np.searchsorted(need, np.maximum(nodes, 0)), 0)

    def temperature(self, t):
        """(n_loc,) temperature at this rank's points at time t."""
        if self.temp is None:
            return self.ref_T.copy()
        Tn = self.temp.at(t)
        return np.einsum("pa,pa->p", self.shape, Tn[self.t_idx])

    def _setup_loads(self, problem):
        m = self.model
        self.load_terms = []          # (magnitude, table name, phi_f)
        for kind, (items, same, magnitude) in LOAD_KINDS.items():
            mine, rom = items(problem), m.loads.get(kind, [])
            if len(mine) != len(rom):
                raise InputError(f"the loading has {len(mine)} {kind} load(s), the ROM was built with {len(rom)}: "
                                 "the reduced load vectors of new loads are not available")
            for ld, r in zip(mine, rom):
                if not same(ld, r):
                    raise InputError(f"{kind} load {r.get('face_set') or r.get('element_set') or r.get('name')}: "
                                     "the loading's load differs from the ROM's (only its magnitude and table "
                                     "may change)")
                self.load_terms.append((magnitude(ld), ld.table, np.asarray(r["phi_f"], dtype=float)))

    def _setup_lifting(self, problem, sl):
        """Strain of the lifting at this rank's points and the loading's tables of its
        conditions; without a lifting every imposed value must be zero."""
        lift = self.model.lifting
        self.lift_E = None
        if lift is None:
            what = inhomogeneous(problem)
            if what:
                raise InputError(f"the loading imposes a non-zero value ({what}); the ROM was built without "
                                 "imposed values (no lifting): build it from snapshots of such a problem")
            return
        check_sources(lift["sources"], problem)
        self.lift_tables = source_tables(lift["sources"], problem)
        self.lift_E = np.ascontiguousarray(np.asarray(lift["strain_at_points"], dtype=float)[sl])

    def lifting_values(self, t):
        """(n_l,) h_k(t) of the lifting (empty without one)."""
        if self.model.lifting is None:
            return np.zeros(0)
        return np.array([float(self.problem.table(tab or None)(t)) for tab in self.lift_tables])

    def _lift_strain(self, t):
        if self.lift_E is None:
            return None
        return np.einsum("pck,k->pc", self.lift_E, self.lifting_values(t))

    def _setup_offsets(self, problem, sl):
        """Strain / stress offsets at this rank's points (:mod:`romnet.hifi.initial`): the
        thermal strain at the initial temperature and initial plastic strain / stress."""
        from ..tensors import storage_to_mandel
        n = self.n_loc
        eps0, sig0 = np.zeros((n, 6)), np.zeros((n, 6))
        if problem.thermal_reference == "initial" and self.temp is not None:
            T0 = self.temperature(float(problem.stepping.times[0]) if problem.stepping is not None else 0.0)
            for law, idx in self.groups:
                if law.thermal is not None:
                    eps0[idx] += law.stress_free_strain(T0[idx])
        ini = problem.initial
        ips = self.model.ip[sl]
        for key, sign, target in (("plastic_strain", -1.0, eps0), ("stress", 1.0, sig0)):
            arr = getattr(ini, key, None) if ini is not None else None
            if arr is not None:
                target += sign * storage_to_mandel(np.asarray(arr, dtype=float)[ips])
        self.eps0 = eps0 if np.any(eps0) else None
        self.sig0 = sig0 if np.any(sig0) else None

    def external_forces(self, t):
        F = np.zeros(self.k)
        for mag, tab, phi in self.load_terms:
            F += mag * float(self.problem.table(tab or None)(t)) * phi
        return F

    # ------------------------------------------------------------------ states
    def initial_state(self, t0=None):
        t0 = float(self.problem.stepping.times[0]) if t0 is None else float(t0)
        st = np.zeros((self.n_loc, self.n_state))
        for law, idx in self.groups:
            st[idx, :law.n_state] = law.initial_state(idx.size)
        return ReducedState(t0, np.zeros(self.k), st, np.zeros((self.n_loc, 6)), np.zeros((self.n_loc, 6)))

    def state_from(self, t, a, states_at_points):
        """State from reduced coordinates and packed law states at ALL points (n_p, n_s)."""
        S = np.zeros((self.n_loc, self.n_state))
        src = np.asarray(states_at_points, dtype=float)[self.p0:self.p1]
        c = min(S.shape[1], src.shape[1])
        S[:, :c] = src[:, :c]
        st = ReducedState(float(t), np.array(a, dtype=float), S)
        st.strain = np.einsum("pck,k->pc", self.B, st.a)
        if self.lift_E is not None:
            st.strain += self._lift_strain(t)
        for law, idx in self.groups:
            if isinstance(law, PlaneStressLaw):
                st.strain[idx, 2] = law.thickness_strain(S[idx, :law.n_state])
        return st

    # ------------------------------------------------------------------ evaluation
    def integrate(self, eps, T, dt, states, tangent=True, subset=None):
        """Law at this rank's points: stress (n, 6), tangent (n, 6, 6), states, ok (n,)
        (the law sees ``eps + eps0``, its stress gets ``sig0``: initial state offsets;
        plane-stress points: ``eps[:, 2]`` is overwritten with the solved e33 less eps0).
        ``subset``: ``"act"`` / ``"pas"``: the arrays are those of the ECM / zero-weight
        points only (``self.act`` / ``self.pas`` order)."""
        sel = slice(None) if subset is None else (self.act if subset == "act" else self.pas)
        n = self.n_loc if subset is None else len(sel)
        eps0 = None if self.eps0 is None else self.eps0[sel]
        eps_in = eps
        if eps0 is not None:
            eps = eps + eps0
        sig = np.zeros((n, 6))
        D = np.zeros((n, 6, 6)) if tangent else None
        new = np.array(states, copy=True)
        ok = np.ones(n, dtype=bool)
        for law, idx in (self.groups if subset is None else self.sub_groups[subset]):
            if not idx.size:
                continue
            with np.errstate(all="ignore"):
                r = law.integrate(eps[idx], T[idx], dt, states[idx, :law.n_state], tangent=tangent)
            sig[idx] = r.stress
            if tangent:
                D[idx] = r.tangent
            if isinstance(law, PlaneStressLaw):
                eps_in[idx, 2] = law.thickness_strain(r.state) - (0.0 if eps0 is None else eps0[idx, 2])
            new[idx, :law.n_state] = r.state
            ok[idx] = r.converged & np.all(np.isfinite(r.stress), axis=1)
        if self.sig0 is not None:
            sig = sig + self.sig0[sel]
        return sig, D, new, ok

    # ------------------------------------------------------------------ Newton
    def newton_attempt(self, state, t1):
        opt = self.options
        dt = float(t1 - state.t)
        F = self.external_forces(t1)
        T = self.temperature(t1)
        E = self._lift_strain(t1)
        act, k = self.act, self.k
        Ta, Sa = T[act], state.states[act]
        Ea = None if E is None else E[act]
        a = state.a.copy()
        if opt.predictor and self._last is not None and self._last[2] == state.t and self._last[0] < state.t \
                and np.array_equal(self._last[3], state.a):
            tp, ap = self._last[0], self._last[1]
            a = a + (a - ap) * ((t1 - state.t) / (state.t - tp))
        hist = []
        r_first = rn_prev = None
        small = False
        for it in range(opt.max_iterations + 1):
            eps_a = (self.Ba.reshape(-1, k) @ a).reshape(-1, 6)
            if Ea is not None:
                eps_a = eps_a + Ea
            sig_a, D_a, new_a, ok_a = self.integrate(eps_a, Ta, dt, Sa, True, subset="act")
            scale = it == 0                   # the force scale of the attempt: from its first iterate
            f, fabs = self._forces(sig_a, scale)
            buf = np.concatenate([f] + ([fabs] if scale else []) + [[float(np.count_nonzero(~ok_a))]])
            if self.size > 1:
                buf = self.comm.allreduce(buf)
            f, nbad = buf[:k], int(round(buf[-1]))
            if self.K_hg is not None:  # exact linear hourglass term (replicated)
                fh = self.K_hg @ a
                f = f + fh
            if scale:
                fabs = buf[k:2 * k] + (0.0 if self.K_hg is None else np.abs(fh))
                fscale = float(np.linalg.norm(fabs))
            if nbad:
                raise _AttemptFailed(f"law integration failed at {nbad} reduced point(s) (iteration {it})")
            R = f - F
            rn = float(np.linalg.norm(R))
            ref = max(float(np.linalg.norm(F)), fscale)
            rel = rn / ref if ref > 0 else (0.0 if rn == 0 else np.inf)
            hist.append(rel)
            if not np.isfinite(rn):
                raise _AttemptFailed(f"non-finite residual at iteration {it}")
            if rn <= opt.ratio * ref or rn == 0.0 or small:
                return self._accepted(state, t1, a, T, E, dt, eps_a, sig_a, new_a), hist
            if it == opt.max_iterations:
                raise _AttemptFailed(f"no convergence in {opt.max_iterations} iterations "
                                     f"(||R||/||F|| = {rel:.3e})")
            if it == 1:
                r_first = rn
            if r_first is not None and it > 1 and rn > 1e4 * max(r_first, opt.ratio * ref):
                raise _AttemptFailed(f"diverging (||R|| grew from {r_first:.3e} to {rn:.3e})")
            if (self._K is None or not opt.tangent_refresh > 0
                    or (rn_prev is not None and rn > opt.tangent_refresh * rn_prev)):
                self._K = self._tangent(D_a)
                self.tangents += 1
            rn_prev = rn
            try:
                da = np.linalg.solve(self._K, -R)
            except np.linalg.LinAlgError as exc:
                raise _AttemptFailed(f"singular reduced tangent: {exc}") from None
            if not np.all(np.isfinite(da)):
                raise _AttemptFailed("non-finite correction")
            a = a + da
            small = np.linalg.norm(da) <= opt.round_off * max(np.linalg.norm(a), 1e-300)
        raise AssertionError("unreachable")

    def _forces(self, sig_a, scale=True):
        """This rank's reduced internal forces ``f = sum_p w_p B_p^T sigma_p`` (k,) and their
        scale ``sum_p |w_p B_p^T sigma_p|`` (k,; None without ``scale``: f is then one
        product) from the stress at the ECM points (n_act, 6)."""
        if not scale:
            return sig_a.reshape(-1) @ self.wBa.reshape(-1, self.k), None
        contrib = np.matmul(sig_a[:, None, :], self.wBa.reshape(-1, 6, self.k))[:, 0]     # (n_act, k)
        return contrib.sum(axis=0), np.abs(contrib).sum(axis=0)

    def _tangent(self, D_a):
        """Reduced tangent ``K = sum_p w_p B_p^T D_p B_p`` (k, k), summed over the ranks (one
        Allreduce, only when another Newton iteration is needed), hourglass term added."""
        K = self.wBa.T @ np.matmul(D_a, self.Ba).reshape(-1, self.k)
        if self.size > 1:
            K = self.comm.allreduce(K)
        if self.K_hg is not None:
            K = K + self.K_hg
        return K

    def _accepted(self, state, t1, a, T, E, dt, eps_a, sig_a, new_a):
        """The converged state: the ECM points' law results, the law once at the
        zero-weight points (their failure fails the attempt too)."""
        eps = np.einsum("pck,k->pc", self.B, a)
        if E is not None:
            eps = eps + E
        eps[self.act] = eps_a                      # with the plane-stress e33 the law solved
        states = np.array(state.states, copy=True)
        stress = np.zeros((self.n_loc, 6))
        states[self.act], stress[self.act] = new_a, sig_a
        nbad = 0
        if self.pas.size:
            eps_p = eps[self.pas]
            sig_p, _, new_p, ok_p = self.integrate(eps_p, T[self.pas], dt, state.states[self.pas], False, subset="pas")
            eps[self.pas] = eps_p
            states[self.pas], stress[self.pas] = new_p, sig_p
            nbad = int(np.count_nonzero(~ok_p))
        if self.size > 1:
            nbad = int(self.comm.allreduce(nbad))
        if nbad:
            raise _AttemptFailed(f"law integration failed at {nbad} zero-weight reduced point(s)")
        return ReducedState(float(t1), a, states, stress, eps)

    def step(self, state, t1, info=None, depth=0):
        """Advance to t1 (halving on failure). Returns (state, StepInfo)."""
        info = StepInfo() if info is None else info
        try:
            new, hist = self.newton_attempt(state, t1)
        except _AttemptFailed as exc:
            self._K = None                    # the retry starts from a tangent of its own
            msg = f"t={state.t:.6g} -> {t1:.6g}: {exc}"
            info.failures.append(msg)
            if depth >= self.options.max_cuts:
                raise ConvergenceError(f"reduced increment to t={t1:.6g} did not converge after {depth} "
                                       f"cut(s); last failure: {exc}") from None
            info.cuts += 1
            tm = state.t + 0.5 * (t1 - state.t)
            mid, info = self.step(state, tm, info, depth + 1)
            return self.step(mid, t1, info, depth + 1)
        info.iterations += len(hist) - 1
        info.residuals.append(hist)
        info.substeps.append((float(t1), new.a.copy()))
        self._last = (float(state.t), state.a.copy(), float(t1), new.a.copy())
        return new, info

    # ------------------------------------------------------------------ outputs at points
    def point_fields(self, state):
        """Fields at ALL reduced points (replicated): stress, strain, plastic_strain
        (n_p, 6) Mandel, p (n_p, 1), state (n_p, n_state)."""
        n = self.n_loc
        p = np.zeros((n, 1))
        ep = np.zeros((n, 6))
        for law, idx in self.groups:
            s = state.states[idx, :law.n_state]
            p[idx, 0] = law.cumulated_plastic_strain(s)
            ep[idx] = law.plastic_strain(s)
        loc = dict(stress=state.stress if state.stress is not None else np.zeros((n, 6)),
                   strain=state.strain if state.strain is not None else np.einsum("pck,k->pc", self.B, state.a),
                   plastic_strain=ep, p=p, state=state.states)
        if self.size == 1:
            return {k: np.array(v) for k, v in loc.items()}
        parts = self.comm.allgather(loc)
        return {k: np.concatenate([pt[k] for pt in parts], axis=0) for k in loc}
