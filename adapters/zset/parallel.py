"""Z-set parallel (MecaParallel, domain decomposition) results -> global numbering.

Files of a computation ``<stem>`` split in N subdomains (checked on MecaParallel):

* ``<stem>-001.ut`` ... ``<stem>-00N.ut`` (+ .node/.integ/.ctnod): one result set per
  subdomain, in the subdomain's local numbering; its ``**meshfile`` is the subdomain mesh
  (``<stem>-pmeshes/<stem>-00k.geof``, node and element ids = global ids);
* ``<stem>.cut``: ``***decomposition`` (``**global_mesh``, ``**domains``, ...) and
  ``***splitted <dir>``: the per-domain cut files ``<dir>/<stem>-00k.cut``, each with
  ``***domain k``, ``**mesh``, ``**elements n`` + global element ids and ``**nodes n`` +
  global node ids, both in local order (``**nodes_local_to_global`` etc. hold the same as
  0-based indices; used when the id lists are absent).

Assembly into the global mesh (``**global_mesh``):

* integration-point fields: each global element belongs to exactly one subdomain;
* primary nodal fields (U...): nodes on interfaces appear in several subdomains and must
  carry the same value (checked: InputError beyond float32 round-off);
* reaction-like nodal fields ``R<x>`` where ``<x>`` is another node variable (RU1...):
  each subdomain holds the contribution of its own elements, so they are summed;
* ``.ctnod`` fields: each subdomain averages over its own elements around a node, so the
  global value is the average weighted by the number of elements of each subdomain.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from romnet.errors import InputError

from .geof import read_geof
from .results import (build_series, integration_points, read_integ_values, read_node_values,
                      read_ut)
from .tokens import read_lines, to_int, tokens_to_array

_SUB = re.compile(r"^(?P<stem>.+)-(?P<num>\d{3,})\.ut$")
F32_TOL = 8 * np.finfo(np.float32).eps


def split_subdomain_name(path) -> tuple | None:
    """('cube', 1) for 'cube-001.ut', else None."""
    m = _SUB.match(Path(path).name)
    return (m.group("stem"), int(m.group("num"))) if m else None


def subdomain_uts(directory, stem: str) -> list:
    """Sorted ``<stem>-NNN.ut`` files of ``directory``."""
    out = []
    for p in Path(directory).glob(f"{stem}-*.ut"):
        s = split_subdomain_name(p)
        if s and s[0] == stem:
            out.append((s[1], p))
    return [p for _, p in sorted(out)]


@dataclass
class DomainCut:
    index: int
    path: Path
    line: int
    mesh: str = ""
    element_ids: np.ndarray | None = None
    node_ids: np.ndarray | None = None
    elements_l2g: np.ndarray | None = None
    nodes_l2g: np.ndarray | None = None


@dataclass
class CutFile:
    path: Path
    global_mesh: str = ""
    global_mesh_line: int | None = None
    n_domains: int | None = None
    splitted: str | None = None
    domains: list = field(default_factory=list)


_LISTS = {"**elements": "element_ids", "**nodes": "node_ids",
          "**elements_local_to_global": "elements_l2g", "**nodes_local_to_global": "nodes_l2g"}


def read_cut(path) -> CutFile:
    """Parse a global or per-domain ``.cut`` file (unknown sub-keywords are skipped)."""
    path = Path(path)
    lines = read_lines(path, "cut file")
    cut = CutFile(path)
    dom = None
    i, n = 0, len(lines)
    while i < n:
        ln = lines[i]
        kw = ln.keyword
        if kw == "***domain":
            if not ln.args:
                raise InputError("***domain: missing domain number", path, ln.number)
            dom = DomainCut(to_int(ln.args[0], path, ln.number, "domain number"), path, ln.number)
            cut.domains.append(dom)
        elif kw.startswith("***"):
            dom = None
            if kw == "***splitted":
                if not ln.args:
                    raise InputError("***splitted: missing directory", path, ln.number)
                cut.splitted = ln.args[0]
        elif kw == "**global_mesh":
            cut.global_mesh, cut.global_mesh_line = (ln.args[0] if ln.args else ""), ln.number
        elif kw == "**domains":
            cut.n_domains = to_int(ln.args[0] if ln.args else "", path, ln.number, "**domains")
        elif dom is not None and kw == "**mesh":
            dom.mesh = ln.args[0] if ln.args else ""
        elif dom is not None and kw in _LISTS:
            count = to_int(ln.args[0] if ln.args else "", path, ln.number, f"{kw} count")
            toks, nums = [], []
            j = i + 1
            while j < n and len(toks) < count and not lines[j].keyword.startswith("*"):
                toks.extend(lines[j].tokens)
                nums.extend([lines[j].number] * len(lines[j].tokens))
                j += 1
            if len(toks) != count:
                raise InputError(f"{kw}: declares {count} values, found {len(toks)}", path, ln.number)
            setattr(dom, _LISTS[kw], tokens_to_array(toks, nums, path, np.int64, kw))
            i = j
            continue
        i += 1
    return cut


def _domain_cuts(cut: CutFile) -> list:
    doms = list(cut.domains)
    if cut.splitted:
        d = cut.path.parent / cut.splitted
        if not d.is_dir():
            raise InputError(f"***splitted directory '{cut.splitted}' not found", cut.path)
        for p in sorted(d.glob("*.cut")):
            doms.extend(read_cut(p).domains)
    return doms


def read_parallel(directory, stem: str, geof, progress=None, files=None):
    """Assemble the subdomain results of ``<stem>`` onto the global mesh ``geof`` (GeofData).

    Returns (SnapshotSeries, info dict).
    """
    directory = Path(directory)
    mesh = geof.mesh
    uts = subdomain_uts(directory, stem)
    if not uts:
        raise InputError(f"no subdomain results {stem}-NNN.ut", directory)
    cut_path = directory / f"{stem}.cut"
    if not cut_path.is_file():
        raise InputError(f"subdomain results found but decomposition file '{cut_path.name}' is missing",
                         uts[0])
    cut = read_cut(cut_path)
    if files is not None:
        files.append(str(cut_path))
    if cut.n_domains is not None and cut.n_domains != len(uts):
        raise InputError(f"**domains {cut.n_domains} but {len(uts)} subdomain ut files found", cut_path,
                         cut.global_mesh_line)
    doms = _domain_cuts(cut)
    by_mesh = {Path(d.mesh).name: d for d in doms if d.mesh}
    by_index = {d.index: d for d in doms}
    if progress:
        progress(f"parallel results: {len(uts)} subdomains of {stem}")
    n_nodes, n_el = mesh.n_nodes, mesh.n_elements
    node_index = _id_index(mesh.node_ids)
    elem_ids_global = np.concatenate([b.element_ids for b in mesh.blocks])
    elem_index = _id_index(elem_ids_global)
    zset_type_of = np.asarray(geof.zset_types, dtype=object)[
        np.searchsorted(mesh.block_offsets(), np.arange(n_el), side="right") - 1]

    ut0 = None
    subs = []
    for utp in uts:
        ut = read_ut(utp)
        if files is not None:
            files.append(str(utp))
        if ut0 is None:
            ut0 = ut
        else:
            if ut.node_vars != ut0.node_vars or ut.integ_vars != ut0.integ_vars:
                raise InputError(f"variables differ from {ut0.path.name}", utp)
            if ut.outputs.shape != ut0.outputs.shape or not np.array_equal(ut.outputs, ut0.outputs):
                raise InputError(f"stored outputs (times) differ from {ut0.path.name}", utp)
        dom = by_mesh.get(Path(ut.meshfile).name) or by_index.get(split_subdomain_name(utp)[1] - 1)
        if dom is None:
            raise InputError(f"no ***domain of {cut_path.name} for this subdomain (mesh {ut.meshfile})",
                             utp, ut.meshfile_line)
        nodes_g, elems_g = _local_to_global(dom, ut, node_index, elem_index, n_nodes, n_el, files)
        subs.append((ut, dom, nodes_g, elems_g))

    # coverage
    node_mult = np.zeros(n_nodes, dtype=np.int64)
    elem_mult = np.zeros(n_el, dtype=np.int64)
    for _, _, ng, eg in subs:
        np.add.at(node_mult, ng, 1)
        np.add.at(elem_mult, eg, 1)
    if (node_mult == 0).any():
        raise InputError(f"{int((node_mult == 0).sum())} global nodes in no subdomain (first id "
                         f"{mesh.node_ids[np.argmin(node_mult)]})", cut_path)
    if (elem_mult != 1).any():
        bad = int(np.nonzero(elem_mult != 1)[0][0])
        raise InputError(f"global element {elem_ids_global[bad]} is in {elem_mult[bad]} subdomains "
                         "(expected exactly one)", cut_path)

    n_out = ut0.n_outputs
    info = {"n_domains": len(subs), "shared_nodes": int((node_mult > 1).sum()),
            "max_shared_difference": {}}
    node_vals = _assemble_nodal(subs, ut0, mesh, n_out, info, files)
    integ_vals = ctnod_vals = None
    if ut0.integ_vars:
        nv = len(ut0.integ_vars)
        nip_r = np.zeros(n_el, dtype=np.int64)
        parts = []
        ctnod_sum = np.zeros((n_out, nv, n_nodes))
        ctnod_w = np.zeros(n_nodes)
        have_ctnod = True
        for ut, dom, ng, eg in subs:
            p = _binary(ut, ".integ", "integ file", files)
            nip = integration_points(zset_type_of[eg], p, n_out, nv, progress)
            nip_r[eg] = nip
            parts.append((eg, nip, read_integ_values(p, n_out, nv, nip, np.arange(eg.size))))
            c = ut.binary(".ctnod")
            if have_ctnod and c.is_file():
                cv = read_node_values(c, n_out, nv, ng.size, "ctnod file")
                if files is not None:
                    files.append(str(c))
                w = _elements_per_node(mesh, eg)[ng]
                ctnod_sum[:, :, ng] += cv * w[None, None, :]
                ctnod_w[ng] += w
            else:
                have_ctnod = False
        goff = np.concatenate([[0], np.cumsum(nip_r)[:-1]])
        integ_vals = np.empty((n_out, int(nip_r.sum()), nv))
        for eg, nip, loc in parts:
            start = np.repeat(goff[eg], nip)
            within = np.arange(int(nip.sum())) - np.repeat(np.cumsum(nip) - nip, nip)
            integ_vals[:, start + within, :] = loc
        if have_ctnod:
            ctnod_vals = ctnod_sum / np.where(ctnod_w > 0, ctnod_w, 1.0)[None, None, :]
    series = build_series(ut0, mesh.dim, node_vals, integ_vals, ctnod_vals,
                          source=f"{directory / stem}-*.ut ({len(subs)} subdomains)")
    if progress:
        progress(f"assembled {len(subs)} subdomains: {info['shared_nodes']} shared nodes, "
                 f"{n_out} outputs, t = {ut0.times[0]:g} ... {ut0.times[-1]:g}")
    return series, info


def _assemble_nodal(subs, ut0, mesh, n_out, info, files):
    """Global (n_out, n_vars, n_nodes) node values: primary variables checked equal on shared
    nodes, reaction-like ones (R<var>) summed."""
    if not ut0.node_vars:
        return None
    names = list(ut0.node_vars)
    nv = len(names)
    summed = np.array([v.startswith("R") and v[1:] in names for v in names])
    sidx, pidx = np.nonzero(summed)[0], np.nonzero(~summed)[0]
    locs = []
    scale = np.zeros(nv)
    for ut, dom, ng, eg in subs:
        p = _binary(ut, ".node", "node file", files)
        loc = read_node_values(p, n_out, nv, ng.size, "node file")
        if loc.size:
            scale = np.maximum(scale, np.abs(loc).max(axis=(0, 2)))
        locs.append((p, ng, loc))
    vals = np.zeros((n_out, nv, mesh.n_nodes))
    seen = np.zeros(mesh.n_nodes, dtype=bool)
    worst = np.zeros(nv)
    for p, ng, loc in locs:
        if sidx.size:
            vals[:, sidx[:, None], ng[None, :]] += loc[:, sidx, :]
        sh = np.nonzero(seen[ng])[0]
        if sh.size and pidx.size:
            old = vals[:, pidx[:, None], ng[sh][None, :]]
            new = loc[:, pidx[:, None], sh[None, :]]
            d = np.abs(old - new)
            tol = F32_TOL * (scale[pidx][None, :, None] + np.abs(new))
            if (d > tol).any():
                t, v, j = np.unravel_index(int(np.argmax(d - tol)), d.shape)
                raise InputError(f"{names[pidx[v]]} at node {mesh.node_ids[ng[sh[j]]]} shared by "
                                 f"several subdomains differs: {old[t, v, j]:.9g} vs {new[t, v, j]:.9g} "
                                 f"(output {t + 1})", p)
            worst[pidx] = np.maximum(worst[pidx], d.max(axis=(0, 2)))
        if pidx.size:
            vals[:, pidx[:, None], ng[None, :]] = loc[:, pidx, :]
        seen[ng] = True
    info["max_shared_difference"] = {names[k]: float(worst[k]) for k in pidx}
    info["summed_node_variables"] = [names[k] for k in sidx]
    return vals


def _id_index(ids):
    order = np.argsort(ids, kind="stable")
    return ids[order], order


def _lookup(index, q, what, path, line):
    srt, order = index
    q = np.asarray(q, dtype=np.int64)
    pos = np.clip(np.searchsorted(srt, q), 0, max(srt.size - 1, 0))
    ok = srt[pos] == q if srt.size else np.zeros(q.shape, bool)
    if not ok.all():
        raise InputError(f"{what} id {q[np.argmin(ok)]} not in the global mesh", path, line)
    return order[pos]


def _local_to_global(dom: DomainCut, ut, node_index, elem_index, n_nodes, n_el, files):
    """Global node and element indices (0-based) of a subdomain's local nodes/elements."""
    def to_global(ids, l2g, index, what):
        """From the subdomain's global ids (looked up) or its local-to-global table (None: none)."""
        return _lookup(index, ids, what, dom.path, dom.line) if ids is not None else l2g
    ng = to_global(dom.node_ids, dom.nodes_l2g, node_index, "node")
    eg = to_global(dom.element_ids, dom.elements_l2g, elem_index, "element")
    pm = ut.mesh_path()
    if pm.is_file():  # the subdomain mesh: its ids are global ids; cross-check / fill in
        local = read_geof(pm)
        if files is not None:
            files.append(str(pm))
        lng = _lookup(node_index, local.mesh.node_ids, "node", pm, None)
        ids_romnet = np.concatenate([blk.element_ids for blk in local.mesh.blocks])
        leg = _lookup(elem_index, ids_romnet[local.file_order], "element", pm, None)
        if ng is None:
            ng = lng
        elif not np.array_equal(ng, lng):
            raise InputError(f"local nodes of {pm.name} differ from ***domain {dom.index}", dom.path, dom.line)
        if eg is None:
            eg = leg
        elif not np.array_equal(eg, leg):
            raise InputError(f"local elements of {pm.name} differ from ***domain {dom.index}", dom.path,
                             dom.line)
    if ng is None or eg is None:
        raise InputError(f"***domain {dom.index}: no local-to-global node/element lists and no "
                         f"subdomain mesh {ut.meshfile}", dom.path, dom.line)
    ng, eg = np.asarray(ng, np.int64), np.asarray(eg, np.int64)
    if ng.size and (ng.min() < 0 or ng.max() >= n_nodes):
        raise InputError(f"***domain {dom.index}: node index out of range", dom.path, dom.line)
    if eg.size and (eg.min() < 0 or eg.max() >= n_el):
        raise InputError(f"***domain {dom.index}: element index out of range", dom.path, dom.line)
    return ng, eg


def _elements_per_node(mesh, eg):
    """(n_nodes,) number of the elements ``eg`` (global indices) using each global node."""
    count = np.zeros(mesh.n_nodes)
    for b0, blk in zip(mesh.block_offsets(), mesh.blocks):
        sel = eg[(eg >= b0) & (eg < b0 + blk.n_elements)] - b0
        if sel.size:
            np.add.at(count, blk.connectivity[sel].ravel(), 1)
    return count


def _binary(ut, suffix, what, files):
    p = ut.binary(suffix)
    if not p.is_file():
        raise InputError(f"{what} '{p.name}' announced by this ut file not found", ut.path)
    if files is not None:
        files.append(str(p))
    return p


# ------------------------------------------------------------------ per-subdomain loading files
def subdomain_pieces(path) -> list:
    """Sorted ``<stem>-NNN<suffix>`` files standing for the missing whole-mesh file ``path``
    (``pressure.node`` -> ``pressure-001.node``, ``pressure-002.node``, ...)."""
    path = Path(path)
    pat = re.compile(rf"^{re.escape(path.stem)}-(\d{{3,}}){re.escape(path.suffix)}$")
    if not path.parent.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in path.parent.iterdir() if (m := pat.match(p.name))]
    return [p for _, p in sorted(found)]


class SubdomainFiles:
    """Merges the per-subdomain loading files of a parallel run onto the global mesh.

    Z-set's parallel runs read ``<name>-NNN<suffix>`` (made by ``**build_parallel_param_files``
    / ``**build_parallel_boundary_files``) on subdomain NNN; values follow the subdomain
    mesh's node order (nodal files) or the order of the faces of the face set in the
    subdomain mesh (boundary files). The subdomain meshes come from the decomposition
    ``<problem>.cut`` (its ***domain **mesh, or the subdomain k-1 for file k); their node ids
    are the global ids. Checked on MecaParallel: merged pieces equal the whole-mesh files."""

    def __init__(self, cut_path, geof, files=None):
        self.cut_path = Path(cut_path)
        self.geof, self.files = geof, files
        self._domains = None
        self._meshes = {}

    def domains(self):
        if self._domains is None:
            if not self.cut_path.is_file():
                raise InputError(f"per-subdomain files need the decomposition file '{self.cut_path.name}' "
                                 "(not found)", self.cut_path)
            cut = read_cut(self.cut_path)
            self._domains = (cut, _domain_cuts(cut))
        return self._domains

    def local_mesh(self, piece: Path):
        """GeofData of the subdomain mesh of piece ``<name>-NNN.<ext>``."""
        num = int(piece.stem.rsplit("-", 1)[1])
        cut, doms = self.domains()
        if cut.n_domains is not None and not 1 <= num <= cut.n_domains:
            raise InputError(f"subdomain file {piece.name}: {cut.n_domains} domains in {self.cut_path.name}",
                             piece)
        dom = next((d for d in doms if d.mesh and Path(d.mesh).stem.endswith(f"-{num:03d}")), None)
        dom = dom or next((d for d in doms if d.index == num - 1), None)
        if dom is None or not dom.mesh:
            raise InputError(f"no ***domain with a **mesh for subdomain file {piece.name} in the decomposition",
                             self.cut_path)
        mp = Path(dom.mesh) if Path(dom.mesh).is_absolute() else self.cut_path.parent / dom.mesh
        if mp not in self._meshes:
            if not mp.is_file():
                raise InputError(f"subdomain mesh '{dom.mesh}' not found", dom.path, dom.line)
            self._meshes[mp] = read_geof(mp)
            if self.files is not None:
                self.files.append(str(mp))
        return self._meshes[mp]

    def _check_all(self, pieces, whole):
        cut, doms = self.domains()
        n = cut.n_domains or len({d.index for d in doms})
        nums = [int(p.stem.rsplit("-", 1)[1]) for p in pieces]
        missing = [k for k in range(1, n + 1) if k not in nums]
        if missing:
            name = f"{whole.stem}-{missing[0]:03d}{whole.suffix}"
            raise InputError(f"'{whole.name}' not found and subdomain file '{name}' missing ({n} domains in "
                             f"{self.cut_path.name}; found {', '.join(p.name for p in pieces)})", whole.parent / name)
        if self.files is not None:
            self.files.extend(str(p) for p in pieces)

    def nodal(self, whole: Path, pieces, n_records=None) -> np.ndarray:
        """(n_records, n_global_nodes) from nodal pieces (records of n_local float32 each);
        values of nodes shared by subdomains must agree (float32 round-off)."""
        self._check_all(pieces, whole)
        mesh = self.geof.mesh
        index = _id_index(mesh.node_ids)
        out = seen = None
        for p in pieces:
            loc = self.local_mesh(p)
            n_loc = loc.mesh.n_nodes
            size = p.stat().st_size
            if size == 0 or size % (4 * n_loc):
                raise InputError(f"subdomain file: {size} bytes is not a whole number of records of {n_loc} "
                                 f"float32 values (the nodes of {loc.path.name})", p, f"byte {size}")
            vals = np.fromfile(p, dtype=">f4").astype(np.float64).reshape(-1, n_loc)
            g = _lookup(index, loc.mesh.node_ids, "node", loc.path, None)
            if out is None:
                out = np.zeros((vals.shape[0], mesh.n_nodes))
                seen = np.zeros(mesh.n_nodes, dtype=bool)
            elif vals.shape[0] != out.shape[0]:
                raise InputError(f"{vals.shape[0]} records, {pieces[0].name} has {out.shape[0]}", p)
            sh = seen[g]
            if sh.any():
                old, new = out[:, g[sh]], vals[:, sh]
                tol = F32_TOL * (np.abs(old) + np.abs(new) + 1e-30)
                if (np.abs(old - new) > tol).any():
                    r, j = np.unravel_index(int(np.argmax(np.abs(old - new) - tol)), old.shape)
                    raise InputError(f"node {mesh.node_ids[g[sh][j]]} shared by subdomains has {new[r, j]:.9g} here "
                                     f"and {old[r, j]:.9g} in another subdomain file (record {r + 1})", p)
            out[:, g] = vals
            seen[g] = True
        if not seen.all():
            raise InputError(f"{int((~seen).sum())} global nodes in no subdomain file (first id "
                             f"{mesh.node_ids[np.argmin(seen)]})", pieces[0])
        return out

    def faces(self, whole: Path, pieces, face_set: str) -> np.ndarray:
        """(n_faces,) per-face values of the global face set ``face_set`` in its file order,
        from pieces holding one float32 per face of the set in each subdomain mesh."""
        self._check_all(pieces, whole)
        gkeys = _face_keys(self.geof, face_set, self.geof.mesh.node_ids)
        pos = {k: i for i, k in enumerate(gkeys)}
        out = np.full(len(gkeys), np.nan)
        for p in pieces:
            loc = self.local_mesh(p)
            if face_set not in loc.mesh.face_sets:
                raise InputError(f"subdomain mesh {loc.path.name} has no face set {face_set}", p)
            lkeys = _face_keys(loc, face_set, loc.mesh.node_ids)
            size = p.stat().st_size
            if size != 4 * len(lkeys):
                raise InputError(f"expected {4 * len(lkeys)} bytes (one float32 per face of {face_set} in "
                                 f"{loc.path.name}), found {size} bytes", p, f"byte {min(size, 4 * len(lkeys))}")
            vals = np.fromfile(p, dtype=">f4").astype(np.float64)
            for k, v in zip(lkeys, vals):
                i = pos.get(k)
                if i is None:
                    raise InputError(f"a face of {face_set} in {loc.path.name} (nodes {sorted(k)}) is not in the "
                                     "global face set", p)
                out[i] = v
        if np.isnan(out).any():
            raise InputError(f"{int(np.isnan(out).sum())} faces of {face_set} in no subdomain file", pieces[0])
        return out


def _face_keys(geof, face_set, node_ids) -> list:
    """Node-id sets of the faces of ``face_set`` in the file order of ``geof``."""
    from .geof import N_CORNERS
    faces = geof.mesh.face_sets[face_set]
    types = geof.face_file_types[face_set]
    keys = [None] * len(types)
    for ft, conn in faces.items():
        where = np.flatnonzero(types == ft)
        for i, row in zip(where, conn[:, :N_CORNERS[ft]]):
            keys[i] = frozenset(node_ids[row].tolist())
    return keys
