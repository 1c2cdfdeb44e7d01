"""CalculiX results (``.frd`` nodal blocks + ``.dat`` integration-point tables) -> series.

Outputs are the (step, increment) pairs of the ``.frd`` in file order (or the distinct
times of the ``.dat`` tables when there is no ``.frd``); times are the total times, taken
from the ``.dat`` (7 digits) when its tables match the ``.frd`` outputs (6 digits).

Nodal fields (``.frd``), components in romnet order:

=========  ==================  =========================================
frd name   romnet field        note
=========  ==================  =========================================
DISP       ``U``               U1 U2 U3 (U1 U2 on plane-strain meshes)
NDTEMP     ``temperature``
STRESS     ``stress_nodal``    extrapolated from the integration points
TOSTRAIN   ``strain_nodal``    total strain, tensorial shear, extrapolated
PE         ``p_nodal``         equivalent plastic strain, extrapolated
other      frd name            e.g. ``ERROR``, ``FORC``
=========  ==================  =========================================

Integration-point fields (``.dat``, ``*EL PRINT``), element by element in the mesh's global
element order, inside an element in CalculiX's ``gauss.f`` order (= romnet's):
``stress`` (S), ``strain`` (E, tensorial shear), ``mechanical_strain`` (ME), ``p`` (PEEQ /
CEEQ), ``sdv`` (SDV1..n); CalculiX's order ``11 22 33 12 13 23`` is permuted to romnet's
``11 22 33 12 23 31``. Plane-strain elements are expanded by CalculiX into 3D elements
whose integration points come in layers; the first layer (``zeta = -g``) is kept, in the
2D element's order. A field is kept only when it covers every integration point at every
output (reduced-integration elements and partial ``*EL PRINT`` sets are reported in the
notes instead).
"""
from __future__ import annotations

import re

import numpy as np

from romnet.errors import InputError
from romnet.fe.elements import get_element_type
from romnet.snapshots import Field, SnapshotSeries

TENSOR = ["11", "22", "33", "12", "23", "31"]
#: CalculiX .dat order xx yy zz xy xz yz -> romnet 11 22 33 12 23 31
DAT_TENSOR_PERM = [0, 1, 2, 3, 5, 4]

FRD_NAMES = {"DISP": "U", "NDTEMP": "temperature", "STRESS": "stress_nodal",
             "TOSTRAIN": "strain_nodal", "PE": "p_nodal"}
DAT_NAMES = {"stresses": ("stress", True), "strains": ("strain", True),
             "mechanical strains": ("mechanical_strain", True),
             "equivalent plastic strain": ("p", False), "equivalent creep strain": ("p", False),
             "internal state variables": ("sdv", False)}


def _sanitize(title: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", title).strip("_") or "field"


def output_list(frd, dats):
    """[(step, increment, time)] of the outputs."""
    if frd is not None and frd.results:
        outs = []
        for b in frd.results:
            key = (b.step, b.increment, b.time)
            if not outs or outs[-1][:2] != key[:2]:
                if outs and (key[0], key[1]) in {(o[0], o[1]) for o in outs}:
                    continue
                outs.append(key)
        return outs
    times = []
    for t in dats:
        if t.kind == "ip" and (not times or not np.isclose(times[-1], t.time, rtol=1e-7, atol=0)):
            if not any(np.isclose(x, t.time, rtol=1e-7, atol=0) for x in times):
                times.append(t.time)
    return [(0, k + 1, t) for k, t in enumerate(times)]


def _match_time(times, t, scale):
    d = np.abs(times - t)
    k = int(np.argmin(d))
    return k if d[k] <= 2e-5 * max(abs(t), scale) else None


def build_series(frd, dats, dm, frd_path=None, dat_path=None):
    """(SnapshotSeries, notes list) from a parsed frd (or None) and dat tables (list)."""
    notes = []
    outs = output_list(frd, dats)
    n_out = len(outs)
    times = np.array([o[2] for o in outs], dtype=float)
    scale = float(np.abs(times).max()) if n_out else 1.0
    ip_tables = [t for t in dats if t.kind == "ip"]
    # more precise times from the .dat
    if frd is not None and ip_tables and n_out:
        dat_times = sorted({t.time for t in ip_tables})
        matched = {}
        for t in dat_times:
            k = _match_time(times, t, scale)
            if k is not None:
                matched[k] = t
        for k, t in matched.items():
            times[k] = t
    series = SnapshotSeries(times, increments=np.array([o[1] for o in outs], dtype=np.int64),
                            source=str(frd_path or dat_path or ""))
    if frd is not None:
        _nodal_fields(series, frd, dm, outs, notes, frd_path)
    if ip_tables:
        _ip_fields(series, ip_tables, dm, times, scale, notes, dat_path)
    return series, notes


def _nodal_fields(series, frd, dm, outs, notes, path):
    mesh = dm.mesh
    index = {(o[0], o[1]): k for k, o in enumerate(outs)}
    by_name = {}
    for b in frd.results:
        by_name.setdefault(b.name, []).append(b)
    for name, blocks in by_name.items():
        comps = blocks[0].components
        n_c = len(comps)
        vals = np.full((len(outs), mesh.n_nodes, n_c), np.nan)
        seen = np.zeros(len(outs), dtype=bool)
        for b in blocks:
            if b.components != comps:
                raise InputError(f"{name}: components change between outputs", path, b.where)
            k = index[(b.step, b.increment)]
            idx = dm.node_index(b.node_ids, path, b.where, f"{name} node")
            vals[k, idx] = b.values
            seen[k] = True
        fname = FRD_NAMES.get(name, name)
        if not seen.all():
            notes.append(f"frd field {name} missing at {int((~seen).sum())} of {len(outs)} outputs: not imported")
            continue
        covered = ~np.isnan(vals[:, :, 0]).any(axis=0)
        if not covered.all() and fname == "U":
            # ccx writes no results for nodes outside every element (reference nodes of
            # rigid bodies / mean-rotation MPCs, pressure nodes): they stay NaN
            in_el = np.zeros(mesh.n_nodes, dtype=bool)
            for blk in mesh.blocks:
                in_el[blk.connectivity.ravel()] = True
            bad = ~covered & in_el
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(f"DISP misses {int(bad.sum())} nodes of the mesh's elements (first: node "
                                 f"{int(mesh.node_ids[i])})", path)
            notes.append(f"frd DISP has no values for {int((~covered).sum())} node(s) outside every element "
                         f"(ccx writes none; e.g. node {int(mesh.node_ids[np.flatnonzero(~covered)[0]])}): "
                         "U is NaN there and romnet compare skips them")
            covered[:] = True
        if not covered.all():
            notes.append(f"frd field {name} covers {int(covered.sum())} of {mesh.n_nodes} nodes: not imported")
            continue
        labels = comps
        if name == "DISP":
            labels = [f"U{i + 1}" for i in range(n_c)]
            if mesh.dim == 2 and n_c == 3:
                vals, labels, comps = vals[:, :, :2], labels[:2], comps[:2]
        elif n_c == 6 and name in ("STRESS", "TOSTRAIN", "MESTRAIN", "PEEQ", "ZZSTR"):
            labels = TENSOR
        series.nodal[fname] = Field(fname, list(labels), vals, list(comps))
    if "U" not in series.nodal and frd.results:
        notes.append("no displacement (DISP) in the frd file")
    if "STRESS" in by_name:
        notes.append("stress_nodal / strain_nodal / p_nodal are CalculiX's extrapolations to the nodes; "
                     "integration-point values come from the .dat (*EL PRINT)")


def _ip_fields(series, tables, dm, times, scale, notes, path):
    mesh = dm.mesh
    n_ip_blk = [get_element_type(b.etype).n_ip for b in mesh.blocks]
    el_ip0 = np.zeros(mesh.n_elements + 1, dtype=np.int64)
    per_el = np.concatenate([np.full(b.n_elements, n) for b, n in zip(mesh.blocks, n_ip_blk)]) \
        if mesh.blocks else np.zeros(0, np.int64)
    el_ip0[1:] = np.cumsum(per_el)
    n_ip_total = int(el_ip0[-1])
    el_block = np.concatenate([np.full(b.n_elements, i) for i, b in enumerate(mesh.blocks)]) \
        if mesh.blocks else np.zeros(0, np.int64)
    groups = {}
    for t in tables:
        groups.setdefault(t.title, []).append(t)
    for title, tabs in groups.items():
        fname, is_tensor = DAT_NAMES.get(title, (_sanitize(title), False))
        n_c = tabs[0].values.shape[1]
        if any(t.values.shape[1] != n_c for t in tabs):
            raise InputError(f"table '{title}': column count changes", path, tabs[0].line)
        vals = np.full((len(times), n_ip_total, n_c), np.nan)
        skip = None
        for t in tabs:
            k = _match_time(times, t.time, scale)
            if k is None:
                notes.append(f"dat table '{title}' at t = {t.time:g} matches no frd output: ignored")
                continue
            el = dm.element_index(t.ids, path, t.line, f"'{title}' element")
            blk = el_block[el]
            ip = t.ips - 1
            n_src = np.zeros(len(mesh.blocks), dtype=np.int64)
            np.maximum.at(n_src, blk, t.ips)
            keep = np.ones(ip.size, dtype=bool)
            for b in np.unique(blk):
                b = int(b)
                n_rom = n_ip_blk[b]
                src_n = int(n_src[b])
                if src_n == n_rom and dm.source_n_ip[b] == n_rom:
                    continue
                etype = mesh.blocks[b].etype
                if get_element_type(etype).dim == 2 and src_n % n_rom == 0 and dm.source_n_ip[b] == n_rom:
                    keep &= ~((blk == b) & (ip >= n_rom))
                    continue
                skip = (f"dat table '{title}': {mesh.blocks[b].etype} elements "
                        f"({dm.source_types[b] if b < len(dm.source_types) else '?'}) have {src_n} "
                        f"integration points, romnet's full rule has {n_rom}: not imported")
                break
            if skip:
                break
            if np.any(ip < 0):
                raise InputError(f"table '{title}': integration point numbers start at 1", path, t.line)
            vals[k, el_ip0[el[keep]] + ip[keep]] = t.values[keep]
        if skip:
            notes.append(skip)
            continue
        missing = np.isnan(vals[:, :, 0])
        if missing.any():
            n_miss_out = int(missing.all(axis=1).sum())
            notes.append(f"dat table '{title}' covers {int((~missing[-1]).sum())} of {n_ip_total} "
                         f"integration points ({n_miss_out} outputs without it): not imported "
                         "(print every element with *EL PRINT at every increment)")
            continue
        src = tabs[0].columns
        if is_tensor and n_c == 6:
            vals = vals[:, :, DAT_TENSOR_PERM]
            comps, src = TENSOR, [src[i] for i in DAT_TENSOR_PERM]
        elif fname == "sdv":
            comps = [f"SDV{i + 1}" for i in range(n_c)]
            src = comps
        elif n_c == 1:
            comps = [fname]
        else:
            comps = list(src)
        if fname in series.integ:
            notes.append(f"dat table '{title}' duplicates field {fname}: ignored")
            continue
        series.integ[fname] = Field(fname, list(comps), vals, list(src))
