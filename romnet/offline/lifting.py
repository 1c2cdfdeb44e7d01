"""Constraints in the ROM: homogeneous parts in the modes, inhomogeneous parts as a lifting.

The HF solutions satisfy ``u_d = (T u)_d + g_d(t)`` on the dependent DOFs of the problem's
Dirichlet conditions and multi-point constraints (:mod:`romnet.hifi.constraints`), with
``g = sum_k L_k h_k(t)``: ``L_k`` (the lifting field of source k: its imposed values on the
dependent DOFs, 0 elsewhere) and ``h_k(t)`` its table value. The offline stage subtracts
the lifting from the snapshots, ``u' = u - sum_k h_k(t) L_k``; then ``u'_d = (T u')_d``
(the homogeneous constraints, ``T`` references free DOFs only), so the POD modes -- linear
combinations of snapshots -- satisfy them and the reduced solution is
``u = sum_k h_k(t) L_k + Phi a``. Online the strain at a reduced point is
``B_p a + sum_k h_k(t) eps_p(L_k)`` with the loading's own tables ``h_k``; the imposed
values must be the ROM's (only the tables may change).

:func:`check_constraints` measures how well snapshots (and modes) satisfy the homogeneous
constraints and refuses snapshots that do not. Conditions activated in a later step or
held (``start`` / ``hold``) are refused: their constraint set changes in time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..hifi.constraints import eliminate

__all__ = ["Lifting", "build_lifting", "check_constraints", "check_sources", "inhomogeneous", "source_tables"]


@dataclass
class Lifting:
    """``dofs`` (n_d,) mesh-order DOFs (``node * dim + component``), ``values`` (n_d, n_l)
    the lifting fields on them, ``sources`` [{kind, index, table, rhs}] (n_l,)."""
    dofs: np.ndarray
    values: np.ndarray
    sources: list = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.sources)

    def own(self, layout) -> np.ndarray:
        """(n_own * dim, n_l) rows of the lifting fields on the layout's own nodes."""
        a, b = layout.node_range
        d = layout.dim
        out = np.zeros((layout.n_own * d, self.n))
        nodes = self.dofs // d
        m = (nodes >= a) & (nodes < b)
        out[(nodes[m] - a) * d + self.dofs[m] % d] = self.values[m]
        return out

    def rows(self, nodes, dim) -> np.ndarray:
        """(len(nodes) * dim, n_l) rows of the lifting on ``nodes`` (a contiguous range or indices)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        pos = np.full(int(nodes.max()) + 1 if nodes.size else 0, -1, dtype=np.int64)
        pos[nodes] = np.arange(nodes.size)
        out = np.zeros((nodes.size * dim, self.n))
        dn = self.dofs // dim
        m = dn < pos.size
        m[m] = pos[dn[m]] >= 0
        out[pos[dn[m]] * dim + self.dofs[m] % dim] = self.values[m]
        return out

    def h(self, problem, times) -> np.ndarray:
        """(n_l, n_t) table values of the sources in ``problem`` (which must impose the same
        values) at ``times``."""
        check_sources(self.sources, problem)
        t = np.atleast_1d(np.asarray(times, dtype=float))
        tabs = source_tables(self.sources, problem)
        return np.array([problem.table(tab)(t) if tab else np.ones_like(t) for tab in tabs]).reshape(self.n, t.size)

    def to_tree(self) -> dict:
        import json
        return dict(dofs=self.dofs, values=self.values, sources=json.dumps(self.sources))

    @classmethod
    def from_tree(cls, tree):
        import json
        src = tree["sources"]
        return cls(np.asarray(tree["dofs"], dtype=np.int64).reshape(-1),
                   np.asarray(tree["values"], dtype=float).reshape(np.size(tree["dofs"]), -1),
                   json.loads(src) if isinstance(src, str) else list(src))


def _conditions(problem):
    return [("dirichlet", j, d) for j, d in enumerate(problem.dirichlet)] + \
           [("constraint", j, c) for j, c in enumerate(problem.constraints)]


def _static(problem):
    for kind, j, c in _conditions(problem):
        if c.start is not None or getattr(c, "hold", False):
            name = getattr(c, "node_set", None) or getattr(c, "name", "")
            raise InputError(f"{kind} condition {j} ({name}) starts in a later step or holds a displacement: "
                             "the ROM needs the same constraints at every time")


def _rhs(kind, c):
    v = c.value if kind == "dirichlet" else c.values
    return np.asarray(v, dtype=float).ravel().tolist()


def build_lifting(mesh, problem) -> Lifting | None:
    """The lifting of the inhomogeneous conditions of ``problem`` (None when all imposed
    values are zero)."""
    if problem is None:
        return None
    _static(problem)
    e = eliminate(mesh, problem, np.inf)
    conds = _conditions(problem)
    cols = np.unique(e.g_cols[e.g_vals != 0.0])
    if cols.size == 0:
        return None
    kinds = {("dirichlet", j): c for kind, j, c in conds if kind == "dirichlet"}
    kinds.update({("constraint", j): c for kind, j, c in conds if kind == "constraint"})
    sources = []
    for k in cols.tolist():
        tab, kind, j = e.sources[k]
        if kind == "clamped":
            continue
        c = kinds[(kind, j)]
        sources.append(dict(kind=kind, index=int(j), table=tab or "", rhs=_rhs(kind, c)))
    keep = np.array([e.sources[k][1] != "clamped" for k in cols.tolist()], dtype=bool)
    cols = cols[keep]
    if cols.size == 0:
        return None
    colpos = np.full(len(e.sources), -1, dtype=np.int64)
    colpos[cols] = np.arange(cols.size)
    sel = colpos[e.g_cols] >= 0
    rows = np.unique(e.g_rows[sel])
    rpos = np.full(e.dependent.size, -1, dtype=np.int64)
    rpos[rows] = np.arange(rows.size)
    vals = np.zeros((rows.size, cols.size))
    np.add.at(vals, (rpos[e.g_rows[sel]], colpos[e.g_cols[sel]]), e.g_vals[sel])
    return Lifting(e.dependent[rows], vals, sources)


def inhomogeneous(problem) -> str | None:
    """Description of the first condition of ``problem`` that imposes a non-zero value at
    some time (None: all homogeneous)."""
    for kind, j, c in _conditions(problem):
        if getattr(c, "hold", False):
            return f"{kind} {j} held at its displacement"
        tab = problem.tables.get(c.table) if c.table else None
        if np.any(np.asarray(_rhs(kind, c)) != 0) and (tab is None or np.any(np.asarray(tab.values, dtype=float) != 0)):
            return f"{kind} {j} on {getattr(c, 'node_set', None) or c.name}"
    return None


def source_tables(sources, problem) -> list:
    """Table name (or None) of every lifting source in ``problem``."""
    out = []
    for s in sources:
        lst = problem.dirichlet if s["kind"] == "dirichlet" else problem.constraints
        if s["index"] >= len(lst):
            raise InputError(f"the loading has no {s['kind']} condition {s['index']} (the ROM's lifting needs it)")
        out.append(lst[s["index"]].table)
    return out


def check_sources(sources, problem):
    """The loading imposes the ROM's values (its tables may differ)."""
    for s in sources:
        lst = problem.dirichlet if s["kind"] == "dirichlet" else problem.constraints
        if s["index"] >= len(lst):
            raise InputError(f"the loading has no {s['kind']} condition {s['index']} (the ROM's lifting needs it)")
        if not np.allclose(_rhs(s["kind"], lst[s["index"]]), s["rhs"], rtol=1e-12, atol=0.0):
            raise InputError(f"{s['kind']} condition {s['index']}: the loading imposes other values than the "
                             "ROM was built with (only its time table may change)")


def check_constraints(layout, problem, S_own, modes=None, rtol=1e-8) -> dict:
    """How well the snapshots ``S_own`` (n_own * dim, n_t) -- lifting already subtracted --
    and the ``modes`` satisfy the homogeneous constraints ``u_d = (T u)_d``: the largest
    ``|u_d - (T u)_d|`` relative to ``max |u|``. Raises InputError above ``rtol`` for the
    snapshots."""
    res = {"n_conditions": 0, "n_dependent": 0, "snapshot_violation": 0.0, "mode_violation": 0.0}
    if problem is None:
        return res
    _static(problem)
    e = eliminate(layout.mesh, problem, np.inf)
    res["n_conditions"] = len(problem.dirichlet) + sum(c.n_equations for c in problem.constraints)
    res["n_dependent"] = int(e.dependent.size)

    d = layout.dim
    a, b = layout.node_range
    has_t = np.zeros(e.dependent.size, dtype=bool)
    has_t[e.t_rows] = True
    plain = e.dependent[~has_t]                       # u_d = 0: checked where it is owned
    plain = plain[(plain // d >= a) & (plain // d < b)]
    mpc = np.flatnonzero(has_t)                       # u_d = T u: rows gathered (small)
    need = np.unique(np.concatenate([e.dependent[mpc] // d, e.t_cols // d]))

    def violation(X):
        if X is None:
            return 0.0
        X = np.asarray(X, dtype=float)
        k = X.shape[1]
        X3 = X.reshape(layout.n_own, d, k)
        v = float(np.abs(X3[plain // d - a, plain % d]).max()) if plain.size and k else 0.0
        if need.size and k:
            rows = layout.gather_node_rows(X3.reshape(layout.n_own, d * k), need).reshape(need.size, d, k)
            dep = e.dependent[mpc]
            val = rows[np.searchsorted(need, dep // d), dep % d]
            Tu = np.zeros_like(val)
            mrow = np.searchsorted(mpc, e.t_rows)
            np.add.at(Tu, mrow, e.t_vals[:, None] * rows[np.searchsorted(need, e.t_cols // d), e.t_cols % d])
            v = max(v, float(np.abs(val - Tu).max()))
        scale = float(np.abs(X).max()) if X.size else 0.0
        if layout.size > 1:
            v, scale = (layout.comm.allreduce(x, op=_max_op()) for x in (v, scale))
        return v / scale if scale > 0 else 0.0

    res["snapshot_violation"] = violation(S_own)
    if modes is not None:
        res["mode_violation"] = violation(modes)
    if res["snapshot_violation"] > rtol:
        raise InputError(f"snapshots do not satisfy the problem's Dirichlet conditions and constraints (max violation "
                         f"{res['snapshot_violation']:.3e} x max |u|): the reduced basis would not satisfy them")
    return res


def _max_op():
    from mpi4py import MPI
    return MPI.MAX
