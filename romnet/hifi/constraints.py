"""Dirichlet conditions and linear multi-point constraints as one elimination.

Every constraint active at a time t -- a :class:`romnet.problem.Dirichlet` DOF, an equation
of a :class:`romnet.problem.Constraint` -- eliminates one *dependent* DOF::

    u_d = sum_m T[d, m] u_m + sum_k G[d, k] h_k(t)        (m: free DOFs only)

``h_k(t)`` is the table value of source k (one per Dirichlet condition and per constraint
group: ``table(t)``, or 1 without a table) and ``G[d, k]`` collects the imposed values (a
Dirichlet value, an equation's right-hand side, and what substitutions carry over). In
matrix form, with ``T`` the identity on free DOFs and ``T[d, :]`` the row above on
dependent ones (``T[:, d] = 0``): ``u = T u + g(t)``, ``g = G h(t)`` zero on free DOFs.
The solver solves ``T^T K T dv = T^T r`` (:mod:`romnet.hifi.linear`).

Elimination (:func:`eliminate`, replicated on every rank, deterministic): the Dirichlet
DOFs first (a later condition overrides an earlier one on the same DOF; the DOFs of nodes
touched by no element that no constraint references are clamped), then the equations in
problem order: already eliminated DOFs are substituted (cascaded MPCs), terms below 1e-12
of the largest coefficient dropped, and the equation's preferred dependent (its first term,
as CalculiX's ``*EQUATION``) is eliminated unless it is gone or its coefficient is below
1e-6 of the largest, in which case the largest term is; earlier dependents are rewritten
in terms of free DOFs only (back substitution). A redundant equation (no term left, zero
right-hand side) is skipped; an inconsistent one raises :class:`InputError`.

Activation: a condition with ``start`` is active for increments that end after ``start``;
the solver rebuilds the elimination when the active set changes (:func:`epoch`). A
``hold`` Dirichlet DOF keeps the displacement it has when it is activated (``held``).

DOF numbering here: mesh order, ``node * dim + component``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["Elimination", "eliminate", "epoch", "active"]

#: relative size under which a substituted coefficient is dropped
DROP = 1e-12
#: relative size under which the preferred dependent of an equation is not used
PREFER = 1e-6


def active(start, t1) -> bool:
    """A condition with ``start`` is active in an increment ending at t1."""
    return start is None or t1 > start * (1 + 1e-12) + 1e-300


def epoch(problem, t1) -> tuple:
    """Key of the set of conditions active in an increment ending at t1."""
    return (tuple(active(d.start, t1) for d in problem.dirichlet)
            + tuple(active(c.start, t1) for c in problem.constraints))


@dataclass
class Elimination:
    """Result of :func:`eliminate` (global mesh-order DOFs, replicated).

    ``dependent`` (n_dep,) sorted DOFs; ``t_rows`` / ``t_cols`` / ``t_vals`` the entries
    ``T[dependent[t_rows], t_cols]``; ``g_rows`` / ``g_cols`` / ``g_vals`` the entries
    ``G[dependent[g_rows], source g_cols]``; ``sources`` [(table name or None, kind, index)]
    of every source; ``n_dofs``; ``notes``."""
    dependent: np.ndarray
    t_rows: np.ndarray
    t_cols: np.ndarray
    t_vals: np.ndarray
    g_rows: np.ndarray
    g_cols: np.ndarray
    g_vals: np.ndarray
    sources: list
    n_dofs: int
    notes: list

    @property
    def has_mpc(self) -> bool:
        return self.t_rows.size > 0

    def source_values(self, problem, t) -> np.ndarray:
        """(n_sources,) h_k(t)."""
        return np.array([float(problem.table(tab)(t)) if tab else 1.0 for tab, _, _ in self.sources])

    def g(self, problem, t) -> np.ndarray:
        """(n_dep,) imposed part of the dependent DOFs at time t."""
        h = self.source_values(problem, t)
        return np.bincount(self.g_rows, weights=self.g_vals * h[self.g_cols], minlength=self.dependent.size)


def _dirichlet_dofs(mesh, d, dim):
    nodes = np.asarray(mesh.node_set(d.node_set), dtype=np.int64)
    if not 0 <= d.component < dim:
        raise InputError(f"Dirichlet on {d.node_set}: component {d.component + 1} out of range (dim {dim})")
    val = np.asarray(d.value, dtype=float) if not d.hold else np.zeros(0)
    if not d.hold and val.ndim and val.shape[0] != nodes.size:
        raise InputError(f"Dirichlet on {d.node_set}: {val.shape[0]} values for {nodes.size} nodes")
    return nodes * dim + d.component, val


def eliminate(mesh, problem, t1, held=None) -> Elimination:
    """The elimination of the conditions of ``problem`` active in an increment ending at t1.
    ``held``: {DOF: value} of the active ``hold`` Dirichlet DOFs."""
    dim = mesh.dim
    n = mesh.n_nodes * dim
    held = held or {}
    sources, notes = [], []
    # ---- Dirichlet (vectorized): the last condition on a DOF wins
    dep_src = np.full(n, -1, dtype=np.int64)
    dep_coef = np.zeros(n)
    for j, d in enumerate(problem.dirichlet):
        if not active(d.start, t1):
            continue
        dofs, val = _dirichlet_dofs(mesh, d, dim)
        k = len(sources)
        if d.hold:
            sources.append((None, "dirichlet", j))
            missing = [int(x) for x in dofs.tolist() if x not in held]
            if missing:
                raise InputError(f"Dirichlet on {d.node_set}: held value of DOF {missing[0]} unknown")
            dep_coef[dofs] = [held[int(x)] for x in dofs.tolist()]
        else:
            sources.append((d.table, "dirichlet", j))
            dep_coef[dofs] = val
        dep_src[dofs] = k
    # ---- constraints: referenced DOFs (free orphans among them)
    cons = [(i, c) for i, c in enumerate(problem.constraints) if active(c.start, t1)]
    in_el = np.zeros(mesh.n_nodes, dtype=bool)
    for b in mesh.blocks:
        in_el[b.connectivity.ravel()] = True
    referenced = np.zeros(n, dtype=bool)
    for _, c in cons:
        referenced[np.asarray(c.nodes, dtype=np.int64) * dim + np.asarray(c.components, dtype=np.int64)] = True
    orphans = np.flatnonzero(~in_el)
    if orphans.size:
        cd = (orphans[:, None] * dim + np.arange(dim)).ravel()
        cd = cd[(dep_src[cd] < 0) & ~referenced[cd]]
        if cd.size:
            k = len(sources)
            sources.append((None, "clamped", -1))
            dep_src[cd] = k
            dep_coef[cd] = 0.0
    # ---- equations (sequential elimination)
    expr = {}             # dependent dof -> ({master dof: a}, {source: beta})
    users = {}            # master dof -> set of dependents using it
    skipped = 0
    for ci, c in cons:
        k_src = len(sources)
        sources.append((c.table, "constraint", ci))
        rhs = c.rhs()
        nodes = np.asarray(c.nodes, dtype=np.int64)
        comps = np.asarray(c.components, dtype=np.int64)
        coefs = np.asarray(c.coefficients, dtype=float)
        off = np.asarray(c.offsets, dtype=np.int64)
        if np.any((comps < 0) | (comps >= dim)):
            raise InputError(f"constraints {c.name}: component out of range (dim {dim})")
        dofs_all = nodes * dim + comps
        for e in range(len(off) - 1):
            a, b = int(off[e]), int(off[e + 1])
            if b <= a:
                continue
            dofs, cf = dofs_all[a:b], coefs[a:b]
            scale = float(np.abs(cf).max())
            terms, src = {}, {k_src: float(rhs[e])} if rhs[e] != 0.0 else {}
            for dof, x in zip(dofs.tolist(), cf.tolist()):
                if dep_src[dof] >= 0:                         # Dirichlet: to the right-hand side
                    s = int(dep_src[dof])
                    src[s] = src.get(s, 0.0) - x * dep_coef[dof]
                elif dof in expr:                              # earlier dependent: substitute
                    m_, s_ = expr[dof]
                    for mm, aa in m_.items():
                        terms[mm] = terms.get(mm, 0.0) + x * aa
                    for ss, bb in s_.items():
                        src[ss] = src.get(ss, 0.0) - x * bb
                else:
                    terms[dof] = terms.get(dof, 0.0) + x
            terms = {m: v for m, v in terms.items() if abs(v) > DROP * scale}
            src = {s: v for s, v in src.items() if v != 0.0}
            if not terms:
                if any(abs(v) > 1e-12 * max(scale, 1.0) for v in src.values()):
                    raise InputError(f"constraints {c.name}: equation {e + 1} contradicts the conditions "
                                     "already imposed on its DOFs")
                skipped += 1
                continue
            big = max(abs(v) for v in terms.values())
            pref = int(dofs[0])
            dep = pref if pref in terms and abs(terms[pref]) >= PREFER * big else \
                max(terms, key=lambda m: (abs(terms[m]), -m))
            cd = terms.pop(dep)
            masters = {m: -v / cd for m, v in terms.items()}
            betas = {s: v / cd for s, v in src.items()}
            # back substitution into earlier dependents that use dep
            for d2 in users.pop(dep, ()):
                m2, s2 = expr[d2]
                a2 = m2.pop(dep)
                for mm, aa in masters.items():
                    m2[mm] = m2.get(mm, 0.0) + a2 * aa
                    users.setdefault(mm, set()).add(d2)
                for ss, bb in betas.items():
                    s2[ss] = s2.get(ss, 0.0) + a2 * bb
            expr[dep] = (masters, betas)
            for mm in masters:
                users.setdefault(mm, set()).add(dep)
    if skipped:
        notes.append(f"{skipped} redundant constraint equation(s) skipped (every DOF already imposed)")
    # ---- assemble
    dir_dofs = np.flatnonzero(dep_src >= 0)
    mpc_dofs = np.array(sorted(expr), dtype=np.int64)
    dependent = np.union1d(dir_dofs, mpc_dofs)
    pos = np.searchsorted(dependent, dir_dofs)
    g_rows, g_cols, g_vals = [pos], [dep_src[dir_dofs]], [dep_coef[dir_dofs]]
    t_rows, t_cols, t_vals = [], [], []
    for d in mpc_dofs.tolist():
        m_, s_ = expr[d]
        p = int(np.searchsorted(dependent, d))
        for mm, aa in m_.items():
            if aa != 0.0:
                t_rows.append(p)
                t_cols.append(mm)
                t_vals.append(aa)
        for ss, bb in s_.items():
            g_rows.append(np.array([p]))
            g_cols.append(np.array([ss]))
            g_vals.append(np.array([bb]))
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
    return Elimination(dependent, np.array(t_rows, dtype=np.int64), np.array(t_cols, dtype=np.int64),
                       np.array(t_vals, dtype=float), cat(g_rows, np.int64), cat(g_cols, np.int64),
                       cat(g_vals, float), sources, n, notes)


class Constraints:
    """The constraints of a problem on one rank's DOF layout (:class:`romnet.hifi.partition.Layout`).

    :meth:`update` (before every increment attempt) rebuilds the elimination when the set
    of active conditions changes and hands it to the linear backend
    (``backend.set_constraints``). ``dependent`` are this rank's owned positions of the
    dependent DOFs (the rank that owns a DOF's node owns its equation); :meth:`g` their
    imposed parts at a time."""

    def __init__(self, mesh, problem, layout, comm):
        self.mesh, self.problem, self.layout, self.comm = mesh, problem, layout, comm
        self.key = None
        self.elim = None
        self.held = {}
        self.notes = []

    def _hold_dofs(self, t1):
        dim = self.mesh.dim
        out = []
        for d in self.problem.dirichlet:
            if d.hold and active(d.start, t1):
                nodes = np.asarray(self.mesh.node_set(d.node_set), dtype=np.int64)
                out.append(nodes * dim + d.component)
        return np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)

    def update(self, t1, U_owned, backend) -> bool:
        """Make the conditions active at t1 current (``U_owned``: the displacement at the
        start of the increment, for held DOFs). Returns True when they changed."""
        key = epoch(self.problem, t1)
        if key == self.key:
            return False
        lay, dim = self.layout, self.mesh.dim
        hold = self._hold_dofs(t1)
        new = [x for x in hold.tolist() if x not in self.held]
        if self.comm.allreduce(len(new)):
            vals = np.zeros(len(new))
            nodes = np.array(new, dtype=np.int64) // dim
            own = lay.node_owner[nodes] == lay.rank
            pos = (lay.new_of_node[nodes[own]] - lay.owned_range[0]) * dim + np.array(new)[own] % dim
            vals[own] = np.asarray(U_owned)[pos]
            vals = self.comm.allreduce(vals) if self.comm.Get_size() > 1 else vals
            self.held.update(zip(new, vals.tolist()))
        self.elim = e = eliminate(self.mesh, self.problem, t1, self.held)
        self.notes = e.notes
        dep_nodes = e.dependent // dim
        mine = np.flatnonzero(lay.node_owner[dep_nodes] == lay.rank)
        self._rows = mine
        self.dependent = (lay.new_of_node[dep_nodes[mine]] - lay.owned_range[0]) * dim + e.dependent[mine] % dim
        order = np.argsort(self.dependent, kind="stable")
        self._rows, self.dependent = mine[order], self.dependent[order]
        local = np.full(e.dependent.size, -1, dtype=np.int64)
        local[self._rows] = np.arange(self._rows.size)
        sel = local[e.t_rows] >= 0
        t_cols = lay.new_of_node[e.t_cols[sel] // dim] * dim + e.t_cols[sel] % dim
        backend.set_constraints(self.dependent, local[e.t_rows[sel]], t_cols, e.t_vals[sel])
        self.key = key
        return True

    def g(self, t) -> np.ndarray:
        """(n_dependent_owned,) imposed parts at time t."""
        return self.elim.g(self.problem, t)[self._rows]
