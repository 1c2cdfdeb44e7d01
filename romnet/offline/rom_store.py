"""The ``/rom`` group of a case store: writing (atomic, from distributed ranks) and reading.

Schema: ``docs/rom-schema.md``. The store is rewritten atomically with
:func:`romnet.store.rewrite_store` by rank 0; distributed arrays (POD modes) are sent to
rank 0 one rank block at a time (rank 0 holds its own block plus one other block, never a
whole field gathered in memory before writing) and written into their column range.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from .. import __version__, mpi
from ..errors import StoreError
from ..store import CHUNK_VALUES, CaseStore, check_store, rewrite_store

__all__ = ["ROM_FORMAT", "ROM_SCHEMA_VERSION", "write_rom", "read_rom", "read_modes", "has_rom",
           "rom_summary", "series_list"]

ROM_FORMAT = "romnet-rom"
ROM_SCHEMA_VERSION = 1
_TAG = 7301


def _json(obj):
    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (np.floating, np.integer, np.bool_)):
            return o.item()
        return str(o)
    return json.dumps(obj, default=default)


def _write_tree(g, tree: dict):
    """dict -> group: arrays become datasets, dicts subgroups, scalars/strings attributes."""
    for k, v in tree.items():
        if isinstance(v, dict):
            _write_tree(g.require_group(k), v)
        elif isinstance(v, np.ndarray):
            g.create_dataset(k, data=v)
        elif isinstance(v, (list, tuple)) and v and isinstance(v[0], dict):
            sub = g.require_group(k)
            for i, item in enumerate(v):
                _write_tree(sub.require_group(f"{i:03d}"), item)
        elif v is None:
            g.attrs[k] = "null"
        elif isinstance(v, (list, tuple)):
            g.attrs[k] = _json(v)
        else:
            g.attrs[k] = v


def write_rom(path, rom: dict, distributed: dict, comm=None):
    """Write ``/rom`` (replacing any previous one) atomically.

    rom : replicated tree (dict of dicts / arrays / scalars), identical on every rank;
        written from rank 0.
    distributed : {dataset path under /rom: (local (n_rows_local, k), col_start, n_cols)}:
        a (k, n_cols) dataset whose columns col_start.. hold ``local.T`` (each rank its
        own rows), chunked (1, <=131072) like snapshot fields.
    Collective: every rank must call it with the same ``distributed`` keys."""
    comm = comm or mpi.comm()
    rank, size = comm.Get_rank(), comm.Get_size()
    keys = sorted(distributed)
    if rank != 0:
        for key in keys:
            local, c0, _ = distributed[key]
            comm.send((c0, np.ascontiguousarray(local)), dest=0, tag=_TAG)
        err = comm.bcast(None, root=0)
        if err:
            raise StoreError(f"{path}: writing the ROM failed on rank 0: {err}")
        return
    received = 0
    expected = (size - 1) * len(keys)
    try:
        with rewrite_store(path) as f:
            if "rom" in f:
                del f["rom"]
            g = f.create_group("rom")
            g.attrs["format"] = ROM_FORMAT
            g.attrs["rom_schema_version"] = ROM_SCHEMA_VERSION
            g.attrs["romnet_version"] = __version__
            g.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")
            _write_tree(g, rom)
            for key in keys:
                local, c0, n_cols = distributed[key]
                k = local.shape[1]
                ds = g.create_dataset(key, shape=(k, n_cols), dtype="f8",
                                      chunks=(1, max(1, min(n_cols, CHUNK_VALUES))) if k and n_cols else None)
                if k and local.shape[0]:
                    ds[:, c0:c0 + local.shape[0]] = local.T
                for r in range(1, size):  # per-pair order is preserved: source r, key order
                    c0r, blk = comm.recv(source=r, tag=_TAG)
                    received += 1
                    if k and blk.shape[0]:
                        ds[:, c0r:c0r + blk.shape[0]] = blk.T
    except BaseException as exc:
        while received < expected:  # drain so the other ranks are not left blocked
            comm.recv(source=mpi_any_source(), tag=_TAG)
            received += 1
        if size > 1:
            comm.bcast(str(exc) or type(exc).__name__, root=0)
        raise
    if size > 1:
        comm.bcast("", root=0)


def mpi_any_source():
    try:
        from mpi4py import MPI
        return MPI.ANY_SOURCE
    except ImportError:  # pragma: no cover
        return 0


# --------------------------------------------------------------------------- reading
def has_rom(path) -> bool:
    with CaseStore(path) as st:
        return "rom" in st.f


def _rom_group(st):
    if "rom" not in st.f:
        raise StoreError(f"{st.path}: no ROM in this store (run `romnet offline {st.path}`)")
    g = st.f["rom"]
    v = int(g.attrs.get("rom_schema_version", -1))
    if g.attrs.get("format") != ROM_FORMAT or v != ROM_SCHEMA_VERSION:
        raise StoreError(f"{st.path}: /rom has schema version {v}, this romnet reads "
                         f"{ROM_SCHEMA_VERSION}; rerun `romnet offline`")
    return g


def series_list(value) -> list:
    """The training series of a ROM's ``series`` attribute as a list: the attribute is one
    name (``romnet offline`` on one series) or a JSON list (several series, a training
    family, local ROMs); :func:`read_rom` decodes the JSON, raw strings are accepted too."""
    if value is None or value == "":
        return []
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        if value[:1] == "[":
            try:
                return [str(v) for v in json.loads(value)]
            except ValueError:
                pass
        return [value]
    return [str(v) for v in value]


def read_rom(path, modes=True) -> dict:
    """The whole ``/rom`` group as nested dicts (attributes decoded from JSON). With
    ``modes=False`` the (large) POD mode datasets are left out."""
    with CaseStore(path) as st:
        g = _rom_group(st)
        out = _read_tree_filtered(g, modes)
    return out


def _read_tree_filtered(g, modes):
    out = _read_tree_attrs(g)
    for k, v in g.items():
        if hasattr(v, "keys"):
            out[k] = _read_tree_filtered(v, modes)
        elif modes or k != "modes":
            out[k] = v[()]
    return out


def _read_tree_attrs(g):
    t = {}
    for k, v in g.attrs.items():
        if isinstance(v, bytes):
            v = v.decode()
        if isinstance(v, str) and (v[:1] in "[{" or v == "null"):
            try:
                v = json.loads(v)
            except ValueError:
                pass
        elif isinstance(v, np.generic):
            v = v.item()
        t[k] = v
    return t


def read_modes(path, field: str, points=None) -> np.ndarray:
    """POD modes of ``field`` as (n_points_sel * n_comp, n_modes) rows (node- or
    ip-major, components fastest) for a contiguous slice of points (one hyperslab)."""
    with CaseStore(path) as st:
        g = _rom_group(st)
        if field not in g.get("pod", {}):
            raise StoreError(f"{path}: the ROM has no POD basis for '{field}'")
        fg = g["pod"][field]
        n_p, n_c = int(fg.attrs["n_points"]), int(fg.attrs["n_comp"])
        a, b, _ = (slice(None) if points is None else points).indices(n_p)
        return fg["modes"][:, a * n_c:b * n_c].T


def rom_summary(path) -> str:
    """Human-readable summary of the ROM of a store (for ``romnet info``), '' if none."""
    check_store(path)
    with CaseStore(path) as st:
        if "rom" not in st.f:
            return ""
        g = _rom_group(st)
        ser = series_list(g.attrs.get("series"))
        ser_txt = f"series '{ser[0]}'" if len(ser) == 1 else \
            f"{len(ser)} series ({', '.join(ser[:3])}{', ...' if len(ser) > 3 else ''})"
        lines = [f"rom: {ser_txt}, written {g.attrs.get('created', '?')} "
                 f"by romnet {g.attrs.get('romnet_version', '?')}"]
        for name, fg in g.get("pod", {}).items():
            a = fg.attrs
            lines.append(f"  POD {name:14s} {int(a['n_modes']):4d} modes of {int(a['n_snapshots'])} snapshots "
                         f"({a['kind']}, {a['inner_product']}, tol {a['tolerance']}, "
                         f"relative error {float(a['relative_error']):.2e})")
        if "points" in g:
            p = g["points"]
            n = p["ip"].shape[0]
            n_ecm = int(np.count_nonzero(p["ecm"][()]))
            lines.append(f"  reduced integration points: {n} ({n_ecm} ECM with weights, "
                         f"{n - n_ecm} QDEIM with zero weight)")
        if "ecm" in g:
            e = g["ecm"].attrs
            lines.append(f"  ECM: tolerance {e['tolerance']}, max relative error {float(e['error']):.2e}, "
                         f"{int(e['n_columns'])} integrand columns")
        if "clusters" in g:
            ca = _read_tree_attrs(g["clusters"])
            lines.append(f"  clusters: local ROMs for k = {ca.get('stored', '?')}, selected k = "
                         f"{ca.get('selected', '?')} ({ca.get('dissimilarity', '?')} dissimilarity)")
        else:
            lines.append("  clusters: none (single global basis)")
        if "timings" in g.attrs:
            t = json.loads(g.attrs["timings"])
            lines.append("  offline timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in t.items()))
        return "\n".join(lines)
