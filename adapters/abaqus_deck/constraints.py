"""Linear multi-point constraints of a keyword deck -> :class:`romnet.problem.Constraint`.

* ``*TRANSFORM, NSET=, TYPE=R|C`` (:class:`LocalAxes`): the degrees of freedom of boundary
  conditions, concentrated loads and equations on these nodes refer to local axes:
  rectangular (``a`` on the local x axis, ``b`` in the local x-y plane) or cylindrical
  (axis from point ``a`` to point ``b``; local x radial, y tangential, z axial), as in
  CalculiX (``transformatrix.f``) and Abaqus. A condition on a local DOF ``k`` of a node
  becomes the equation ``e_k . u = value`` (its largest global term dependent).
* ``*EQUATION``: ``n`` then ``n`` terms ``node_or_set, dof, coefficient`` (4 per line);
  the first term is the dependent DOF; a node set of m nodes gives m equations (its nodes
  in order). Right-hand side 0.
* ``*MPC``: ``MEANROT`` (CalculiX mean rotation: nodes listed 3 times each, then the
  rotation node whose DOF 1 is the mean rotation angle about the axis through the nodes'
  centre along the rotation node's position vector), linearized at u = 0, which is what
  ccx solves in a linear static step: ``sum_i (a x p_i).(u_i - u_mean) / |p_i|^2 = n theta``
  (``p_i`` the node's position relative to the centre, normal to the axis; nodes on the
  axis left out as ccx does). Other kinds are refused.
* ``*TIE``: every node of the slave surface (node or element-face surface) within the
  position tolerance of a master face gets ``u_s = sum_a N_a(xi) u_a`` over that face's
  nodes (its closest point; matching and non-matching meshes). Default tolerance 2.5 % of
  the mean master edge length (``POSITION TOLERANCE=`` overrides); slave nodes are not
  moved (``ADJUST``): a note says when some are off the master surface.
* ``*RIGID BODY, NSET|ELSET=, REF NODE=, ROT NODE=``: linearized rigid motion
  ``u_i = u_ref + theta x (x_i - x_ref)`` (theta the ROT NODE's displacement), what ccx's
  RIGID MPC is in a linear step.
"""
from __future__ import annotations

import numpy as np

from romnet.errors import UnsupportedError
from romnet.fe.elements import get_element_type
from romnet.problem import Constraint

from .materials import rectangular_axes, two_points
from .numeric import to_float, to_int


# ---------------------------------------------------------------- local axes
class LocalAxes:
    """``*TRANSFORM`` of the nodes: (3, 3) matrix per node, rows = local axes (global
    coordinates); a later definition overrides an earlier one."""

    def __init__(self, coordinates):
        self.coordinates = np.asarray(coordinates, dtype=float)
        self.R = {}

    def __bool__(self):
        return bool(self.R)

    def add(self, kw, nodes):
        ttype = kw.param("TYPE", "R")
        if ttype not in ("R", "C"):
            raise kw.error(f"TYPE={ttype} unknown (R, C)")
        ln, v = two_points(kw, "transform")
        if self.coordinates.shape[1] != 3:
            raise kw.error("*TRANSFORM on a 2D mesh is not supported", ln, UnsupportedError)
        if ttype == "R":
            try:
                R = rectangular_axes(v[:3], v[3:])
            except ValueError as exc:
                raise kw.error(str(exc), ln) from None
            for n in np.asarray(nodes).tolist():
                self.R[n] = R
            return
        axis = v[3:] - v[:3]
        na = np.linalg.norm(axis)
        if not na > 0:
            raise kw.error("the cylinder axis points a and b coincide", ln)
        e3 = axis / na
        for n in np.asarray(nodes).tolist():
            self.R[n] = cylindrical_axes(self.coordinates[n], v[:3], e3)

    def get(self, node):
        return self.R.get(int(node))


def cylindrical_axes(x, a, e3) -> np.ndarray:
    """Rows e_r, e_t, e_z at point x for the axis through a along unit e3 (a point on the
    axis gets an arbitrary radial direction, as ccx does)."""
    r = np.asarray(x, dtype=float) - a
    r = r - (r @ e3) * e3
    nr = np.linalg.norm(r)
    if nr < 1e-10:
        k = int(np.argmin(np.abs(e3)))
        r = np.zeros(3)
        r[k] = 1.0
        r = r - (r @ e3) * e3
        nr = np.linalg.norm(r)
    e1 = r / nr
    return np.array([e1, np.cross(e3, e1), e3])


# ---------------------------------------------------------------- building equations
class Equations:
    """Accumulates equations ``sum c u = value`` of one constraint group."""

    def __init__(self, name, kind, axes=None):
        self.name, self.kind, self.axes = name, kind, axes
        self.nodes, self.comps, self.coefs, self.offsets, self.values = [], [], [], [0], []

    def __len__(self):
        return len(self.values)

    def terms(self, node, dof, coef):
        """Global terms of ``coef * u[node, dof]`` (dof 0-based; in the node's local axes
        when it has a ``*TRANSFORM``), largest first."""
        R = self.axes.get(node) if self.axes else None
        if R is None:
            return [(int(node), int(dof), float(coef))]
        row = coef * R[dof]
        order = np.argsort(-np.abs(row), kind="stable")
        return [(int(node), int(i), float(row[i])) for i in order if abs(row[i]) > 1e-14 * abs(coef)]

    def add(self, terms, value=0.0):
        """One equation from global terms [(node, comp, coef)] (the first: preferred dependent)."""
        for n, c, a in terms:
            self.nodes.append(n)
            self.comps.append(c)
            self.coefs.append(a)
        self.offsets.append(len(self.nodes))
        self.values.append(float(value))

    def add_local(self, local_terms, value=0.0):
        """One equation from terms [(node, dof, coef)] in the nodes' own axes."""
        out = []
        for n, d, a in local_terms:
            out.extend(self.terms(n, d, a))
        self.add(out, value)

    def build(self, values=None, table=None, start=None) -> Constraint | None:
        if not self.values:
            return None
        vals = np.asarray(self.values if values is None else values, dtype=float)
        return Constraint(self.name, np.array(self.nodes, dtype=np.int64), np.array(self.comps, dtype=np.int64),
                          np.array(self.coefs, dtype=float), np.array(self.offsets, dtype=np.int64),
                          float(vals[0]) if np.all(vals == vals[0]) else vals, table, start, self.kind)


# ---------------------------------------------------------------- *EQUATION
def read_equation(kw, nodes_of, eqs: Equations, dim):
    """Equations of one ``*EQUATION`` block into ``eqs``."""
    data = list(kw.data)
    k = 0
    while k < len(data):
        ln, toks = data[k]
        toks = [t for t in toks if t != ""]
        if len(toks) != 1:
            raise kw.error(f"expected the number of terms alone on a line, got {len(toks)} values", ln)
        n = to_int(toks[0], kw.path, ln, "number of terms")
        if n < 1:
            raise kw.error(f"number of terms must be >= 1, got {n}", ln)
        k += 1
        flat, lines = [], []
        while len(flat) < 3 * n:
            if k >= len(data):
                raise kw.error(f"equation with {n} terms: only {len(flat) // 3} given", ln)
            ln2, t2 = data[k]
            t2 = [t for t in t2 if t != ""]
            flat.extend(t2)
            lines.extend([ln2] * len(t2))
            k += 1
        if len(flat) != 3 * n:
            raise kw.error(f"equation with {n} terms: {len(flat)} values (3 per term)", lines[-1])
        members = []
        for j in range(n):
            tok, l0 = flat[3 * j], lines[3 * j]
            _, idx = nodes_of(tok, kw, l0)
            dof = to_int(flat[3 * j + 1], kw.path, l0, "dof")
            if not 1 <= dof <= dim:
                raise kw.error(f"dof {dof} not supported (displacement dofs 1..{dim})", l0, UnsupportedError)
            members.append((np.asarray(idx), dof - 1, to_float(flat[3 * j + 2], kw.path, l0, "coefficient")))
        sizes = {m[0].size for m in members}
        if 0 in sizes:
            raise kw.error("empty node set in an equation", ln)
        m = max(sizes)
        if sizes - {1, m}:
            raise kw.error(f"node sets of an equation must have the same size (got {sorted(sizes)})", ln)
        for i in range(m):
            eqs.add_local([(int(idx[i] if idx.size > 1 else idx[0]), d, c) for idx, d, c in members])


# ---------------------------------------------------------------- *MPC
def read_mpc(kw, nodes_of, coordinates, eqs: Equations):
    """``*MPC`` lines: ``TYPE, node, node, ...`` (MEANROT only)."""
    ln0 = kw.data[0][0] if kw.data else kw.line
    toks, lines = [], []
    for ln, t in kw.data:
        t = [x for x in t if x != ""]
        toks.extend(t)
        lines.extend([ln] * len(t))
    if not toks:
        raise kw.error("no data line")
    mtype = toks[0].upper()
    if mtype not in ("MEANROT",):
        raise kw.error(f"MPC type {mtype} not supported (MEANROT)", ln0, UnsupportedError)
    nodes = []
    for tok, ln in zip(toks[1:], lines[1:]):
        _, idx = nodes_of(tok, kw, ln)
        nodes.extend(np.asarray(idx).tolist())
    if len(nodes) < 4 or (len(nodes) - 1) % 3:
        raise kw.error(f"MEANROT needs each node 3 times and the rotation node, got {len(nodes)} nodes", ln0)
    mean_rotation(kw, nodes, coordinates, eqs, ln0)


def mean_rotation(kw, nodes, coordinates, eqs, line):
    """Linearized CalculiX MEANROT (see the module docstring)."""
    X = np.asarray(coordinates, dtype=float)
    rot = nodes[-1]
    body = nodes[:-1:3]
    if any(nodes[3 * i:3 * i + 3] != [n] * 3 for i, n in enumerate(body)):
        raise kw.error("MEANROT: each node must be listed 3 times in a row", line)
    axis = X[rot]
    na = np.linalg.norm(axis)
    if not na > 1e-10:
        raise kw.error("MEANROT: the rotation node's position (the axis) is zero", line)
    a = axis / na
    x = X[body]
    p = x - x.mean(axis=0)
    std = float(np.mean(np.sum(p * p, axis=1)))
    p = p - (p @ a)[:, None] * a
    r2 = np.sum(p * p, axis=1)
    keep = r2 >= 1e-10 * std
    n = len(body)
    c = np.zeros((n, 3))
    c[keep] = np.cross(a, p[keep]) / r2[keep, None]                # d(angle_i) / d(u_i)
    coef = c - c[keep].sum(axis=0) / n                             # u_i - u_mean
    terms = [(int(body[i]), j, float(coef[i, j])) for i in range(n) for j in range(3) if coef[i, j] != 0.0]
    if not terms:
        raise kw.error("MEANROT: every node is on the rotation axis", line)
    terms.append((int(rot), 0, -float(n)))
    first = max(range(len(terms) - 1), key=lambda i: abs(terms[i][2]))
    terms.insert(0, terms.pop(first))
    eqs.add(terms)


# ---------------------------------------------------------------- *RIGID BODY
def rigid_body(kw, nodes, ref, rot, coordinates, eqs: Equations):
    """u_i - u_ref - theta x (x_i - x_ref) = 0 for every node of the body (3 equations)."""
    X = np.asarray(coordinates, dtype=float)
    if X.shape[1] != 3:
        raise kw.error("*RIGID BODY on a 2D mesh is not supported", cls=UnsupportedError)
    for i in np.asarray(nodes).tolist():
        if i in (ref, rot):
            continue
        r = X[i] - X[ref]
        # (theta x r)_k = sum_j eps_kjl theta_j r_l
        cross = {0: [(1, r[2]), (2, -r[1])], 1: [(2, r[0]), (0, -r[2])], 2: [(0, r[1]), (1, -r[0])]}
        for k in range(3):
            terms = [(int(i), k, 1.0), (int(ref), k, -1.0)]
            terms += [(int(rot), j, -float(c)) for j, c in cross[k] if c != 0.0]
            eqs.add(terms)


# ---------------------------------------------------------------- *TIE
#: default position tolerance of *TIE, relative to the mean master edge length
TIE_TOLERANCE = 0.025


def _face_project(ftype, xf, p, iters=20):
    """Closest point of point p on face (n_nodes, 3): (xi (2,), distance, inside flag)."""
    et = get_element_type(ftype)
    tri = ftype.startswith("t")
    xi = np.array([1 / 3, 1 / 3]) if tri else np.zeros(2)
    for _ in range(iters):
        N = et.shape(xi[None])[0]
        dN = et.shape_derivatives(xi[None])[0]                    # (n, 2)
        x = N @ xf
        J = xf.T @ dN                                             # (3, 2)
        r = p - x
        g = J.T @ r
        H = J.T @ J
        try:
            d = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        xi = xi + d
        if np.linalg.norm(d) < 1e-13:
            break
    tol = 1e-6
    if tri:
        inside = xi[0] >= -tol and xi[1] >= -tol and xi.sum() <= 1 + tol
        xi = np.clip(xi, 0, 1)
        if xi.sum() > 1:
            xi = xi / xi.sum()
    else:
        inside = bool(np.all(np.abs(xi) <= 1 + tol))
        xi = np.clip(xi, -1, 1)
    N = et.shape(xi[None])[0]
    return xi, float(np.linalg.norm(p - N @ xf)), inside, N


def tie(kw, slave_nodes, master_faces, coordinates, eqs: Equations, notes):
    """Tie constraints of the slave nodes on the master faces ({face_type: (n_f, k)})."""
    X = np.asarray(coordinates, dtype=float)
    if X.shape[1] != 3:
        raise kw.error("*TIE on a 2D mesh is not supported", cls=UnsupportedError)
    faces = [(ft, np.asarray(c, dtype=np.int64)) for ft, c in master_faces.items() if len(c)]
    if not faces:
        raise kw.error("the master surface has no face")
    edge = []
    for ft, conn in faces:
        nc = 3 if ft.startswith("t") else 4
        xc = X[conn[:, :nc]]
        edge.append(np.linalg.norm(xc - np.roll(xc, 1, axis=1), axis=2).ravel())
    h = float(np.mean(np.concatenate(edge)))
    tol = kw.param("POSITION TOLERANCE")
    tol = to_float(tol, kw.path, kw.line, "POSITION TOLERANCE") if tol is not None else TIE_TOLERANCE * h
    master_nodes = np.unique(np.concatenate([c.ravel() for _, c in faces]))
    cent = [(ft, conn, X[conn].mean(axis=1), np.max(np.linalg.norm(X[conn] - X[conn].mean(axis=1)[:, None],
                                                                       axis=2), axis=1)) for ft, conn in faces]
    n_off, n_self, n_gap = 0, 0, 0
    for s in np.asarray(slave_nodes).tolist():
        if np.any(master_nodes == s):
            n_self += 1
            continue
        p = X[s]
        best = None
        for ft, conn, c, rad in cent:
            d0 = np.linalg.norm(c - p, axis=1) - rad
            for f in np.flatnonzero(d0 <= tol + 1e-12 * h):
                xi, dist, inside, N = _face_project(ft, X[conn[f]], p)
                score = (not inside, dist)
                if best is None or score < best[0]:
                    best = (score, conn[f], N, dist)
        if best is None or best[3] > tol:
            n_off += 1
            continue
        _, fn, N, dist = best
        n_gap += dist > 1e-9 * h
        for k in range(3):
            terms = [(int(s), k, 1.0)] + [(int(m), k, -float(w)) for m, w in zip(fn, N) if abs(w) > 1e-14]
            eqs.add(terms)
    if n_off:
        notes.append(f"*TIE {kw.param('NAME', '')} ({kw.where()}): {n_off} slave node(s) farther than the "
                     f"position tolerance {tol:g} from the master surface are not tied")
    if n_gap:
        notes.append(f"*TIE {kw.param('NAME', '')} ({kw.where()}): {n_gap} tied slave node(s) are off the master "
                     "surface (up to the tolerance); romnet ties them where they are (no ADJUST of coordinates)")
    if n_self:
        notes.append(f"*TIE {kw.param('NAME', '')} ({kw.where()}): {n_self} slave node(s) also on the master "
                     "surface are not tied")
