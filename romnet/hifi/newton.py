"""Incremental Newton-Raphson with automatic increment cutting.

One increment t_n -> t_{n+1} (``dt`` given to the laws):

1. ``U = U_n`` (or a given initial guess of ``U_{n+1}``, e.g. a ROM's prediction when an
   enrichment computes one HF increment: :meth:`romnet.hifi.HFSolver.step` ``guess``;
   dropped if the increment is cut); external forces ``F_ext(t_{n+1})``, imposed values ``g(t_{n+1})``,
   temperature ``T(t_{n+1})`` at the integration points.
2. Iterate: strain -> law (stress, consistent tangent, new states from the states at t_n)
   -> ``F_int = sum B^T sigma dV`` -> residual ``R = F_int - F_ext``, reduced to the free
   DOFs ``T^T R`` (:mod:`romnet.hifi.constraints`: Dirichlet conditions and multi-point
   constraints ``u_d = T u + g``). Solve ``T^T K T dv = -T^T (R + K dg)``, ``du = T dv + dg``,
   ``dg = g(t_{n+1}) + (T U)_d - U_d`` on the dependent DOFs (lifting: the first iteration
   imposes the increment of the imposed values, later ones have ``dg = 0``). The matrix of
   the first iteration is, by default (``SolverOptions.first_tangent="loading"``), the
   law's tangent for a small further deviatoric loading from the converged state
   (:func:`loading_tangent`): a plastic point keeps its elastic-plastic stiffness instead
   of the elastic one the law gives at U_n, which saves 2-4 iterations per increment of
   monotonic plastic loading; ``"current"``: the tangent of the law evaluated at U_n.

Convergence (``ratio``, like Z-set's ``*ratio``)::

    ||T^T R||_2  <=  ratio * ||F_ref||_2,    F_ref = T^T F_ext on free DOFs, F_int (= the
                                             reactions) on dependent DOFs

i.e. the residual relative to the norm of all forces applied to the structure, reactions
included, checked after the Dirichlet values are reached. When ``F_ref`` is round-off
(free thermal expansion, no load) the iteration also stops once the correction is at
round-off level, ``||du|| <= 1e-12 ||U||``.

Failure of an attempt: a law that does not converge at some point (or a non-finite
stress), ``max_iterations`` iterations without convergence, a residual that grows above
1e4 times its value after the first correction (divergence), a failed linear solve.
The increment is then halved (two half increments, each of which may be halved again),
up to ``max_cuts`` levels; beyond that :class:`romnet.errors.ConvergenceError` is raised.
All ranks take the same decisions (norms and flags are reduced).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConvergenceError
from .linear import LinearSolveError

__all__ = ["StepInfo", "advance"]


class _AttemptFailed(Exception):
    pass


@dataclass
class StepInfo:
    """What one :meth:`HFSolver.step` did: total Newton ``iterations`` over its sub
    increments, ``residuals`` (per sub increment, the list of ||R||/||F_ref|| per
    iteration), ``cuts`` (number of halvings), ``substeps`` (end times of accepted sub
    increments), ``failures`` (messages of failed attempts)."""
    iterations: int = 0
    residuals: list = field(default_factory=list)
    cuts: int = 0
    substeps: list = field(default_factory=list)
    failures: list = field(default_factory=list)


#: size of the probing strain step of :func:`loading_tangent`, relative to |dev eps|
LOADING_PROBE = 1e-4


def loading_tangent(model, eps, sig, T, dt, states, D):
    """Tangent for the first Newton iteration of an increment: the law integrated from the
    states at t_n to the strain ``eps + h d`` (``d`` the unit deviatoric direction of the
    stress ``sig``, ``h = LOADING_PROBE * max(|dev eps|, 1e-6)``): a point on its yield
    surface returns its elastic-plastic tangent for continued loading, an elastic point its
    elastic tangent. Points where that evaluation fails keep ``D``."""
    s = np.array(sig, dtype=float)
    s[:, :3] -= s[:, :3].mean(axis=1, keepdims=True)
    e = np.array(eps, dtype=float)
    e[:, :3] -= e[:, :3].mean(axis=1, keepdims=True)
    ns = np.linalg.norm(s, axis=1)
    h = LOADING_PROBE * np.maximum(np.linalg.norm(e, axis=1), 1e-6)
    d = np.divide(s, ns[:, None], out=np.zeros_like(s), where=ns[:, None] > 0)
    _, Dp, _, ok, _ = model.integrate(eps + h[:, None] * d, T, dt, states, tangent=True)
    ok &= np.all(np.isfinite(Dp), axis=(1, 2))
    Dp[~ok] = D[~ok]
    return Dp


def newton_attempt(solver, state, t1, guess=None):
    """One Newton solve from ``state`` to t1 without cutting, starting from ``U = guess``
    (owned block of the distributed numbering, like ``state.U``) or ``state.U``.
    Returns (new state, history)."""
    model, be, loads, opt = solver.model, solver.backend, solver.loads, solver.options
    dt = float(t1 - state.t)
    ratio, max_it = solver.ratio, solver.max_iterations
    U = (state.U if guess is None else np.asarray(guess, dtype=float).reshape(state.U.shape)).copy()
    fext = loads.external_forces(t1, be)
    cons = solver.constraints
    cons.update(t1, state.U, be)
    con = cons.dependent
    g = cons.g(t1)
    T = model.temperature(t1)
    hist = []
    du_small = False
    r_first = None
    for it in range(max_it + 1):
        Uloc = be.forward(U)
        eps = model.strain(Uloc)
        sig, D, new, ok, _ = model.integrate(eps, T, dt, state.states, tangent=True)
        n_bad = int(be.comm.allreduce(int(np.sum(~ok))))
        if n_bad:
            raise _AttemptFailed(f"law integration failed at {n_bad} integration point(s) "
                                 f"(iteration {it})")
        fint = be.reverse_add(model.internal_forces(sig, Uloc, T))
        R = fint - fext
        Rr = be.reduce(R)
        fref = be.reduce(fext)
        fref[con] = fint[con]
        rn, ref = be.norm(Rr), be.norm(fref)
        duc = g + be.expand(U)[con] - U[con]
        bc_pending = be.comm.allreduce(int(np.any(duc != 0.0))) > 0
        rel = rn / ref if ref > 0 else (0.0 if rn == 0 else np.inf)
        hist.append(rel)
        if not np.isfinite(rn):
            raise _AttemptFailed(f"non-finite residual at iteration {it}")
        if not bc_pending and (rn <= ratio * ref or du_small or rn == 0.0):
            return solver._new_state(t1, U, new, sig, eps, R), hist
        if it == max_it:
            raise _AttemptFailed(f"no convergence in {max_it} iterations (||R||/||F|| = {rel:.3e})")
        if it == 1:
            r_first = rn
        if r_first is not None and it > 1 and rn > 1e4 * max(r_first, ratio * ref):
            raise _AttemptFailed(f"diverging (||R|| grew from {r_first:.3e} to {rn:.3e})")
        try:
            Dm = D
            if it == 0 and opt.first_tangent == "loading":
                Dm = loading_tangent(model, eps, sig, T, dt, state.states, D)
            dg = np.zeros(U.size)
            dg[con] = duc
            du = be.solve(solver.matrix_values(Dm, T), -R, dg, ratio=ratio, new_increment=(it == 0))
        except LinearSolveError as exc:
            raise _AttemptFailed(str(exc)) from None
        U += du
        U[con] = g + be.expand(U)[con]
        du_small = be.norm(du) <= 1e-12 * be.norm(U)
        if opt.verbose and solver.is_root and opt.verbose == "iterations":
            print(f"      it {it}: ||R||/||F|| = {rel:.3e}", flush=True)
    raise AssertionError("unreachable")


def advance(solver, state, t1, info=None, depth=0, guess=None):
    """Advance ``state`` to t1, halving the increment on failure (up to max_cuts levels);
    ``guess``: initial ``U`` of the first attempt (the halves start from their own U_n)."""
    info = StepInfo() if info is None else info
    try:
        new, hist = newton_attempt(solver, state, t1, guess)
        info.iterations += len(hist) - 1
        info.residuals.append(hist)
        info.substeps.append(float(t1))
        return new, info
    except _AttemptFailed as exc:
        msg = f"t={state.t:.6g} -> {t1:.6g}: {exc}"
        info.failures.append(msg)
        if depth >= solver.options.max_cuts:
            raise ConvergenceError(
                f"increment to t={t1:.6g} did not converge after {depth} cut(s) of the increment "
                f"(smallest increment {t1 - state.t:.3g}); last failure: {exc}") from None
        if solver.options.verbose and solver.is_root:
            print(f"    cutting increment ({msg})", flush=True)
        info.cuts += 1
        tm = state.t + 0.5 * (t1 - state.t)
        mid, info = advance(solver, state, tm, info, depth + 1)
        return advance(solver, mid, t1, info, depth + 1)
