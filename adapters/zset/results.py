"""Z-set results: ``.ut`` (ASCII index) + ``.node``, ``.integ``, ``.ctnod`` (binary).

Layouts (checked on the shared cases; all big-endian float32, no record markers):

* ``.ut``: ``**meshfile``, ``**node <names>``, ``**integ <names>``, ``**element [<names>]``
  then one line per stored output: ``output# cycle sequence increment time``;
* ``.node``: [output][node variable][node] (nodes in geof file order);
* ``.integ``: [output][element][integ variable][integration point] (elements in geof file
  order; points in Z-set's order, for c3d8 2x2x2 Gauss, first reference coordinate fastest);
* ``.ctnod``: [output][integ variable][node] (integration-point values extrapolated to the
  nodes of each element and averaged over the elements around a node; checked on
  MecaSequential).

Integration points per element: c3d8 has 8 (verified). For any other type the count is
derived from the ``.integ`` size when the mesh has a single element type (the values
BasicTools/pymicro list are in ``ZSET_IP_UNVERIFIED``, reported when they differ); a mixed
mesh with another type than c3d8 raises UnsupportedError.

Canonical fields (values float64, tensors in storage order 11 22 33 12 23 31 as Z-set
writes them: tensorial shear, no conversion):

* nodal ``U`` (U1 U2 [U3]), ``RU`` (RU1 RU2 [RU3]); other node variables keep their name;
* integ ``strain`` (eto..), ``stress`` (sig..), ``p`` (the single ``<pot>cum`` variable),
  ``plastic_strain`` (``<pot>i..`` of that potential, e.g. evri.., epi..); every other
  integ variable is a 1-component field under its own name;
* ``.ctnod`` variables: grouped like the integ ones, with suffix ``_nodes`` (``stress_nodes``,
  ``p_nodes``, ``<var>_nodes``), nodal fields.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from romnet.errors import InputError, UnsupportedError
from romnet.snapshots import Field, SnapshotSeries

from .tokens import read_be_float32, read_lines, to_float, to_int

TENSOR_3D = ("11", "22", "33", "12", "23", "31")
TENSOR_2D = ("11", "22", "33", "12")

ZSET_IP = {"c3d8": 8}  # verified on the shared data
# listed by BasicTools (ZsetTools.nbIntegrationsPoints) / pymicro (FE_Element); unverified
ZSET_IP_UNVERIFIED = {"c3d4": 4, "c3d10": 5, "c3d6": 6, "c3d15": 18, "c3d20": 27,
                      "c2d3": 3, "c2d4": 4, "c2d6": 6, "c2d8": 9}


@dataclass
class UtFile:
    path: Path
    meshfile: str
    meshfile_line: int
    node_vars: list
    integ_vars: list
    element_vars: list
    outputs: np.ndarray  # (n, 5): output# cycle sequence increment time
    lines: dict = field(default_factory=dict)  # keyword -> line number

    @property
    def n_outputs(self) -> int:
        return self.outputs.shape[0]

    @property
    def times(self) -> np.ndarray:
        return self.outputs[:, 4].astype(float)

    @property
    def cycles(self) -> np.ndarray:
        return self.outputs[:, 1].astype(np.int64)

    @property
    def increments(self) -> np.ndarray:
        return self.outputs[:, 3].astype(np.int64)

    def binary(self, suffix: str) -> Path:
        return self.path.with_suffix(suffix)

    def mesh_path(self) -> Path:
        p = Path(self.meshfile)
        return p if p.is_absolute() else self.path.parent / p


def read_ut(path) -> UtFile:
    """Parse a ``.ut`` file (InputError naming file:line on any malformed line)."""
    path = Path(path)
    lines = read_lines(path, "ut file")
    meshfile, mline = None, None
    node_vars, integ_vars, element_vars = [], [], []
    rows = []
    where = {}
    seen_element = False
    for ln in lines:
        kw = ln.keyword
        if kw.startswith("*"):
            if seen_element:
                raise InputError(f"unexpected keyword '{kw}' after the output lines", path, ln.number)
            where[kw] = ln.number
            if kw == "**meshfile":
                if len(ln.args) != 1:
                    raise InputError("**meshfile: expected one file name", path, ln.number)
                meshfile, mline = ln.args[0], ln.number
            elif kw == "**node":
                node_vars = list(ln.args)
            elif kw == "**integ":
                integ_vars = list(ln.args)
            elif kw == "**element":
                element_vars = list(ln.args)
                seen_element = True
            else:
                raise UnsupportedError(f"unsupported keyword '{kw}' in ut file", path, ln.number)
            continue
        if not seen_element:
            raise InputError(f"unexpected data '{' '.join(ln.tokens)}' before **element", path, ln.number)
        if len(ln.tokens) != 5:
            raise InputError(f"output line: expected 'output# cycle sequence increment time', got "
                             f"{len(ln.tokens)} values", path, ln.number)
        rows.append([to_int(t, path, ln.number, "output line") for t in ln.tokens[:4]]
                    + [to_float(ln.tokens[4], path, ln.number, "output line time")])
    if meshfile is None:
        raise InputError("no **meshfile line", path)
    if not seen_element:
        raise InputError("no **element line (end of the header)", path)
    if not rows:
        raise InputError("no stored output", path)
    out = np.asarray(rows, dtype=float)
    for name, vars_ in (("node", node_vars), ("integ", integ_vars)):
        if len(set(vars_)) != len(vars_):
            raise InputError(f"duplicate name in **{name}", path, where.get(f"**{name}"))
    return UtFile(path, meshfile, mline, node_vars, integ_vars, element_vars, out, where)


def read_node_values(path, n_outputs: int, n_vars: int, n_nodes: int, what: str) -> np.ndarray:
    """(n_outputs, n_vars, n_nodes) float64 from a [output][var][node] file (.node/.ctnod)."""
    a = read_be_float32(path, n_outputs * n_vars * n_nodes, what)
    return a.reshape(n_outputs, n_vars, n_nodes)


def integration_points(file_types, integ_path, n_outputs: int, n_vars: int, progress=None) -> np.ndarray:
    """(n_elements,) integration points of each element; ``file_types``: Z-set type per element."""
    file_types = np.asarray(file_types, dtype=object)
    types = list(dict.fromkeys(file_types.tolist()))
    n_el = file_types.size
    if all(t in ZSET_IP for t in types):
        return np.array([ZSET_IP[t] for t in file_types], dtype=np.int64)
    if len(types) > 1:
        raise UnsupportedError(
            f"cannot tell the number of integration points per element in a mesh mixing "
            f"{', '.join(types)} (only known for {', '.join(ZSET_IP)})", integ_path)
    size = os.path.getsize(integ_path) if Path(integ_path).is_file() else 0
    per = 4 * n_outputs * n_vars * n_el
    if size == 0 or per == 0 or size % per:
        raise InputError(f"integ file size {size} bytes is not a multiple of 4 bytes x {n_outputs} "
                         f"outputs x {n_vars} variables x {n_el} {types[0]} elements: truncated or "
                         "wrong mesh", integ_path)
    nip = size // per
    ref = ZSET_IP_UNVERIFIED.get(types[0])
    if progress:
        progress(f"{types[0]}: {nip} integration points per element (from the integ file size"
                 + (f"; BasicTools lists {ref}" if ref is not None and ref != nip else "") + ")")
    return np.full(n_el, nip, dtype=np.int64)


def read_integ_values(path, n_outputs: int, n_vars: int, nip_file: np.ndarray,
                      file_order: np.ndarray) -> np.ndarray:
    """(n_outputs, n_ip_total, n_vars) from a .integ file, elements in romnet global order.

    ``nip_file``: integration points per element in file order; ``file_order``: romnet
    global index of each element in file order.
    """
    nip_file = np.asarray(nip_file, dtype=np.int64)
    total = int(nip_file.sum())
    raw = read_be_float32(path, n_outputs * n_vars * total, "integ file").reshape(n_outputs, -1)
    n_el = nip_file.size
    foff = np.concatenate([[0], np.cumsum(n_vars * nip_file)[:-1]])
    inv = np.empty(n_el, dtype=np.int64)
    inv[file_order] = np.arange(n_el)  # file index of romnet element g
    if n_el and (nip_file == nip_file[0]).all():  # one point count: plain reshape
        q = int(nip_file[0])
        arr = raw.reshape(n_outputs, n_el, n_vars, q)
        if not np.array_equal(inv, np.arange(n_el)):
            arr = arr[:, inv]
        return np.ascontiguousarray(arr.transpose(0, 1, 3, 2)).reshape(n_outputs, n_el * q, n_vars)
    nip_r = nip_file[inv]
    roff = np.concatenate([[0], np.cumsum(nip_r)[:-1]])
    out = np.empty((n_outputs, total, n_vars))
    for q in np.unique(nip_r):
        g = np.nonzero(nip_r == q)[0]
        src = foff[inv[g]][:, None] + np.arange(n_vars * q)[None, :]
        blk = raw[:, src].reshape(n_outputs, g.size, n_vars, q).transpose(0, 1, 3, 2)
        dst = (roff[g][:, None] + np.arange(q)[None, :]).ravel()
        out[:, dst, :] = blk.reshape(n_outputs, g.size * q, n_vars)
    return out


def _tensor(prefix: str, names: set, dim: int):
    comps = TENSOR_3D if dim == 3 else TENSOR_2D
    full = [prefix + c for c in comps]
    if all(n in names for n in full):
        return list(comps), full
    return None


def group_variables(names: list, kind: str, dim: int) -> list:
    """Canonical grouping: list of (field name, components, source names)."""
    names = list(names)
    pool = set(names)
    groups = []
    if kind == "node":
        vec = [f"{i}" for i in range(1, dim + 1)]
        for pre in ("U", "RU"):
            full = [pre + c for c in vec]
            if all(n in pool for n in full):
                groups.append((pre, full, full))
                pool -= set(full)
    else:
        for pre, canon in (("eto", "strain"), ("sig", "stress")):
            t = _tensor(pre, pool, dim)
            if t:
                groups.append((canon, t[0], t[1]))
                pool -= set(t[1])
        cums = [n for n in names if n.endswith("cum") and len(n) > 3]
        if len(cums) == 1:
            groups.append(("p", ["p"], [cums[0]]))
            pool.discard(cums[0])
            t = _tensor(cums[0][:-3] + "i", pool, dim)
            if t:
                groups.append(("plastic_strain", t[0], t[1]))
                pool -= set(t[1])
    taken = {g[0] for g in groups}
    for n in names:
        if n in pool:
            fname = n if n not in taken else f"{n}_zset"
            groups.append((fname, [n], [n]))
    return groups


def build_series(ut: UtFile, dim: int, node_vals=None, integ_vals=None, ctnod_vals=None,
                 source: str = "") -> SnapshotSeries:
    """SnapshotSeries from raw arrays: node/ctnod (n_out, n_vars, n_nodes), integ (n_out, n_ip, n_vars)."""
    s = SnapshotSeries(ut.times, increments=ut.increments, cycles=ut.cycles, source=source)
    if node_vals is not None:
        for name, comps, src in group_variables(ut.node_vars, "node", dim):
            idx = [ut.node_vars.index(v) for v in src]
            s.nodal[name] = Field(name, comps, np.ascontiguousarray(node_vals[:, idx, :].transpose(0, 2, 1)), src)
    if integ_vals is not None:
        for name, comps, src in group_variables(ut.integ_vars, "integ", dim):
            idx = [ut.integ_vars.index(v) for v in src]
            s.integ[name] = Field(name, comps, np.ascontiguousarray(integ_vals[:, :, idx]), src)
    if ctnod_vals is not None:
        for name, comps, src in group_variables(ut.integ_vars, "integ", dim):
            idx = [ut.integ_vars.index(v) for v in src]
            fname = f"{name}_nodes"
            s.nodal[fname] = Field(fname, comps, np.ascontiguousarray(ctnod_vals[:, idx, :].transpose(0, 2, 1)), src)
    return s


def binary_path(ut: UtFile, suffix: str, what: str) -> Path:
    p = ut.binary(suffix)
    if not p.is_file():
        raise InputError(f"{what} '{p.name}' announced by this ut file not found (looked for {p})",
                         ut.path, ut.lines.get("**node" if suffix == ".node" else "**integ"))
    return p


def read_results(ut: UtFile, geof, progress=None, files=None) -> SnapshotSeries:
    """Read a sequential computation's results on the mesh ``geof`` (a GeofData)."""
    mesh = geof.mesh
    n_out = ut.n_outputs
    if progress:
        progress(f"reading results {ut.path.name}: {n_out} outputs, t = {ut.times[0]:g} ... {ut.times[-1]:g}")
    node_vals = integ_vals = ctnod_vals = None
    if ut.node_vars:
        p = binary_path(ut, ".node", "node file")
        node_vals = read_node_values(p, n_out, len(ut.node_vars), mesh.n_nodes, "node file")
        if files is not None:
            files.append(str(p))
    if ut.integ_vars:
        p = binary_path(ut, ".integ", "integ file")
        nip = integration_points(geof.file_zset_types, p, n_out, len(ut.integ_vars), progress)
        integ_vals = read_integ_values(p, n_out, len(ut.integ_vars), nip, geof.file_order)
        if files is not None:
            files.append(str(p))
        c = ut.binary(".ctnod")
        if c.is_file():
            ctnod_vals = read_node_values(c, n_out, len(ut.integ_vars), mesh.n_nodes, "ctnod file")
            if files is not None:
                files.append(str(c))
    return build_series(ut, mesh.dim, node_vals, integ_vals, ctnod_vals, source=str(ut.path))
