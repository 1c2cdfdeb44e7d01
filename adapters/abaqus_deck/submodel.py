"""``*SUBMODEL, TYPE=NODE, INPUT=global results[, GLOBAL ELSET=set]``: displacements and
temperatures of driven nodes interpolated from a global model's results.

The results file is read by a callback the adapter gives (:data:`GlobalReader`: the
CalculiX adapter reads ``.frd`` files); without one the keyword is refused. Each driven
node is located in the global mesh (in the elements of ``GLOBAL ELSET`` -- a set of the
submodel deck listing *global* element numbers -- when given): the element whose
isoparametric inverse map puts it inside (tolerance 1e-6 in reference coordinates, else
the closest within 1e-3), then the global nodal values are interpolated with that
element's shape functions. ``*BOUNDARY, SUBMODEL, STEP=s`` / ``*TEMPERATURE, SUBMODEL,
STEP=s`` take the values of the global step's last output (a global step of several
outputs is refused) and ramp to them over the submodel step like any other value.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from romnet.errors import InputError, UnsupportedError
from romnet.fe.elements import get_element_type


@dataclass
class GlobalResults:
    """A global model: ``coordinates`` (n, 3), ``node_ids`` (n,), ``blocks`` [(etype,
    connectivity (e, k) node indices in romnet order, element ids (e,))], and per step the
    nodal ``U`` (n, 3) and ``temperature`` (n,) of its last output (``None`` if absent),
    ``n_outputs`` per step."""
    path: Path
    coordinates: np.ndarray
    node_ids: np.ndarray
    blocks: list
    U: dict
    temperature: dict
    n_outputs: dict


#: callback(path) -> GlobalResults
GlobalReader = Callable[[Path], GlobalResults]


class Submodels:
    """The ``*SUBMODEL`` definitions of a deck: driven node -> (results file, global elset)."""

    def __init__(self, reader: GlobalReader | None, coordinates):
        self.reader = reader
        self.coordinates = np.asarray(coordinates, dtype=float)
        self.driven = {}        # node index -> (path, global element ids or None, keyword)
        self._cache = {}

    def add(self, kw, nodes, global_elements):
        if kw.param("TYPE", "NODE") != "NODE":
            raise kw.error(f"TYPE={kw.param('TYPE')} not supported (NODE: displacement/temperature "
                           "interpolation)", cls=UnsupportedError)
        if self.reader is None:
            raise kw.error("global results cannot be read by this adapter", cls=UnsupportedError)
        inp = kw.param("INPUT", required=True)
        path = Path(inp) if Path(inp).is_absolute() else kw.path.parent / inp
        for n in np.asarray(nodes).tolist():
            self.driven[int(n)] = (path, global_elements, kw)

    def results(self, path, kw) -> GlobalResults:
        if path not in self._cache:
            if not path.is_file():
                raise kw.error(f"global results file '{path.name}' not found (looked for {path})")
            self._cache[path] = self.reader(path)
        return self._cache[path]

    def values(self, kw, nodes, step, what, ln):
        """(n, 3) displacements or (n,) temperatures of the global ``step`` at ``nodes``."""
        nodes = np.asarray(nodes, dtype=np.int64)
        out = None
        groups = {}
        for i, n in enumerate(nodes.tolist()):
            if n not in self.driven:
                raise kw.error(f"node {n + 1}-th of the set is not driven by a *SUBMODEL", ln)
            path, gel, skw = self.driven[n]
            groups.setdefault((path, None if gel is None else tuple(gel)), []).append(i)
        for (path, gel), idx in groups.items():
            g = self.results(path, kw)
            if step not in g.n_outputs:
                raise kw.error(f"step {step} not in the global results {path.name} (steps "
                               f"{sorted(g.n_outputs)})", ln)
            if g.n_outputs[step] != 1:
                raise kw.error(f"step {step} of {path.name} has {g.n_outputs[step]} outputs: interpolating "
                               "in time is not supported (one output per global step)", ln, UnsupportedError)
            field = g.U.get(step) if what == "U" else g.temperature.get(step)
            if field is None:
                raise kw.error(f"no {'displacement' if what == 'U' else 'temperature'} in step {step} of "
                               f"{path.name}", ln)
            W, conn = interpolation(g, self.coordinates[nodes[idx]], gel, path)
            vals = np.einsum("pa,pa...->p...", W, field[conn])
            if out is None:
                out = np.zeros((nodes.size,) + vals.shape[1:])
            out[idx] = vals
        return out


def interpolation(g: GlobalResults, points, global_elements, path):
    """Shape-function weights (p, k) and global node indices (p, k) of each point."""
    P = np.asarray(points, dtype=float)
    k_max = max(get_element_type(b[0]).n_nodes for b in g.blocks)
    W = np.zeros((len(P), k_max))
    C = np.zeros((len(P), k_max), dtype=np.int64)
    best = np.full(len(P), np.inf)
    for etype, conn, ids in g.blocks:
        et = get_element_type(etype)
        if et.dim != 3:
            continue
        sel = np.arange(len(ids)) if global_elements is None else np.flatnonzero(np.isin(ids, global_elements))
        if sel.size == 0:
            continue
        xe = g.coordinates[conn[sel]]                          # (e, k, 3)
        lo, hi = xe.min(axis=1), xe.max(axis=1)
        pad = 1e-6 * (hi - lo).max(axis=1, keepdims=True)
        for p in range(len(P)):
            cand = np.flatnonzero(np.all((P[p] >= lo - pad) & (P[p] <= hi + pad), axis=1))
            for e in cand:
                xi, err = _inverse_map(et, xe[e], P[p])
                if err < best[p]:
                    best[p] = err
                    W[p, :et.n_nodes] = et.shape(xi[None])[0]
                    C[p, :et.n_nodes] = conn[sel[e]]
                    W[p, et.n_nodes:] = 0.0
    bad = best > 1e-3
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"driven node at {P[i].tolist()} is not inside the global mesh"
                         + (" elements of GLOBAL ELSET" if global_elements is not None else ""), path)
    return W, C


def _inverse_map(et, xe, p, iters=30):
    """(xi, distance outside the reference cell) of point p in the element (k, 3)."""
    xi = et.reference_nodes.mean(axis=0).astype(float)
    for _ in range(iters):
        N = et.shape(xi[None])[0]
        dN = et.shape_derivatives(xi[None])[0]                # (k, 3)
        J = xe.T @ dN
        r = p - N @ xe
        try:
            d = np.linalg.solve(J, r)
        except np.linalg.LinAlgError:
            return xi, np.inf
        xi = xi + d
        if np.linalg.norm(d) < 1e-12:
            break
    return xi, _outside(et, xi)


def _outside(et, xi):
    if et.family in ("hex", "quad"):
        return float(max(0.0, np.max(np.abs(xi)) - 1.0))
    if et.family in ("tet", "tri"):
        return float(max(0.0, -xi.min(), xi.sum() - 1.0))
    # wedge: triangle x line
    return float(max(0.0, -xi[:2].min(), xi[:2].sum() - 1.0, abs(xi[2]) - 1.0))
