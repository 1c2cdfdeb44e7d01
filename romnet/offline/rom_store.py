"""The ``/rom`` group of a case store: the one module that builds, writes and reads it.

Schema: ``docs/rom-schema.md``. Every other module goes through the public functions here:

* trees: :func:`rom_tree` assembles a ROM (global or local, offline or enriched) in the
  in-memory form that :func:`write_rom` writes and :func:`read_rom` returns (nested dicts;
  arrays are datasets, dicts subgroups, other values attributes; the dict values of the
  keys in :data:`JSON_ATTRS` and lists are JSON attributes);
* writing: :func:`write_rom` replaces ``/rom`` -- or one subgroup of it, ``at`` (e.g.
  ``"calibration"``, or :func:`rom_path` ``(k, c)`` for local ROM c of k clusters) --
  atomically (:func:`romnet.store.rewrite_store`, rank 0). Distributed arrays (POD modes)
  are sent to rank 0 one rank block at a time (rank 0 holds its own block plus one other
  block, never a whole field gathered in memory before writing) and written into their
  column range;
* reading: :func:`read_rom` (the tree, optionally without the mesh-sized modes),
  :func:`read_modes` (one hyperslab of a basis: one rank's rows), :func:`has_rom`,
  :func:`rom_summary`, :func:`selected_k`. Each takes a path or an open
  :class:`romnet.store.CaseStore` (not reopened).

A ROM inside ``/rom`` is addressed by its path ``at`` relative to ``/rom``: ``""`` the
global ROM, ``"clusters/<k>/<ccc>"`` a local ROM; a new version of either is written with
``write_rom(store, tree, distributed, at=...)``.

Learned versions (:mod:`.rom_versions`: the index next to the store): the store's ``/rom``
is version 0; :func:`write_rom_version` writes version v as its own file holding the whole
``/rom`` tree with, for every basis, only the mode columns appended since its parent (a
``modes`` dataset with attributes ``first`` -- its first column's index in the basis -- and
``base`` -- the version holding columns ``0 .. first-1``; ``first = 0``: self-contained).
:func:`read_rom` and :func:`read_modes` read the *current* version by default
(``version=`` selects another one), following that chain; nothing else needs to know
where a version lives.
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import numpy as np

from .. import __version__, mpi
from ..errors import StoreError
from ..store import CHUNK_VALUES, CaseStore, atomic_replace, open_h5, read_group_tree, rewrite_store
from . import rom_versions as versions
from .ecm import ZERO_TOL

__all__ = ["ROM_FORMAT", "ROM_SCHEMA_VERSION", "JSON_ATTRS", "encode_json", "cluster_key", "rom_path",
           "pod_entry", "ecm_entry", "rom_tree", "write_rom", "read_rom", "read_modes", "has_rom",
           "selected_k", "rom_summary", "series_list", "rom_base", "resolve_version", "write_rom_version",
           "version_blocks"]

ROM_FORMAT = "romnet-rom"
ROM_SCHEMA_VERSION = 1
#: keys whose dict / list values are stored as one JSON attribute (not as subgroups)
JSON_ATTRS = frozenset({"settings", "timings", "report", "fits", "quality", "runs", "log"})
_TAG = 7301


def encode_json(obj) -> str:
    """JSON text of a tree of dicts / lists / numpy values (arrays as lists)."""
    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (np.floating, np.integer, np.bool_)):
            return o.item()
        return str(o)
    return json.dumps(obj, default=default)


def cluster_key(c: int) -> str:
    """Group name of local ROM ``c`` (``"000"``, ``"001"``, ...)."""
    return f"{int(c):03d}"


def rom_path(k=None, c=None) -> str:
    """Path inside ``/rom`` of the global ROM (``""``) or of local ROM ``c`` of ``k``
    clusters (``"clusters/<k>/<ccc>"``)."""
    return "" if k is None else f"clusters/{int(k)}/{cluster_key(c)}"


# --------------------------------------------------------------------------- trees
def pod_entry(basis, kind, n_points, n_comp, components, convention) -> dict:
    """``/rom/pod/<field>`` (without the modes) of a :class:`romnet.offline.pod.PODBasis`."""
    return dict(singular_values=np.asarray(basis.singular_values, dtype=float), kind=kind,
                n_points=int(n_points), n_comp=int(n_comp), components=list(components),
                convention=convention, inner_product=basis.info["inner_product"],
                tolerance=float(basis.tolerance) if basis.tolerance is not None else -1.0,
                max_modes=int(basis.max_modes) if basis.max_modes is not None else -1,
                n_modes=int(basis.n_modes), n_snapshots=int(basis.n_snapshots),
                total_energy=float(basis.total_energy), discarded_energy=float(basis.discarded_energy),
                relative_error=basis.relative_error(),
                reorthogonalized=bool(basis.info.get("reorthogonalized", False)))


def ecm_entry(res, tolerance, stress_field, displacement_field) -> dict:
    """``/rom/ecm`` of an :class:`romnet.offline.ecm.ECMResult`."""
    return dict(tolerance=float(tolerance), error=float(res.error), converged=bool(res.converged),
                iterations=int(res.iterations), n_columns=int(res.n_columns), n_ecm_points=int(res.points.size),
                stress_field=stress_field, displacement_field=displacement_field, message=str(res.message),
                zero_tol=float(ZERO_TOL), group_errors=np.asarray(res.group_errors, dtype=float),
                history=np.asarray(res.history, dtype=float).reshape(-1, 2))


def _keyed(items) -> dict:
    return {cluster_key(i): item for i, item in enumerate(items)}


def rom_tree(pod: dict, reduced: dict, ecm: dict, lifting=None, **members) -> dict:
    """A ROM tree (``docs/rom-schema.md``) from its parts.

    pod : {field: :func:`pod_entry`}; reduced : the reduced points and operators of
    :func:`romnet.offline.pipeline.hyper_reduce` (``points``, ``weights``, ``is_ecm``,
    ``point_data``, ``qdeim``, ``strain_modes``, ``dual``, ``loads``: the tree of
    :func:`romnet.offline.operators.load_tree`, ``hourglass``: None or the reduced hourglass
    operator); ecm : :func:`ecm_entry`; lifting : the
    lifting of inhomogeneous constraints at the points (:mod:`romnet.offline.lifting`) or
    None; members : the other members (``settings``, ``snapshot_times``, ``series``,
    ``dirichlet``, ``report``, ``timings``, ``enrichment``, ...)."""
    pdat = reduced["point_data"]
    operators = dict(strain_modes=reduced["strain_modes"], dual=reduced["dual"], loads=reduced["loads"])
    if lifting is not None:
        operators["lifting"] = lifting
    if reduced.get("hourglass") is not None:  # hourglass-controlled elements (c3d8r, ...)
        operators["hourglass"] = reduced["hourglass"]
    tree = dict(members)
    tree.update(
        pod=pod,
        points=dict(ip=reduced["points"], element=pdat["element"], block=pdat["block"],
                    local_ip=pdat["local_ip"], coordinates=pdat["coordinates"], material=pdat["material"],
                    nodes=pdat["nodes"], shape=pdat["shape"], plane_stress=pdat["plane_stress"],
                    weight=reduced["weights"],
                    ecm=np.asarray(reduced["is_ecm"]).astype(np.int8)),
        ecm=ecm,
        qdeim={n: dict(points=np.asarray(p, dtype=np.int64)) for n, p in reduced["qdeim"].items()},
        operators=operators)
    return tree


def _write_tree(g, tree: dict):
    """dict -> group: arrays become datasets, dicts subgroups, lists of dicts numbered
    subgroups, other lists JSON attributes, None ``"null"``, scalars / strings attributes;
    the dicts and lists of the keys of :data:`JSON_ATTRS` are JSON attributes."""
    for k, v in tree.items():
        if k in JSON_ATTRS and isinstance(v, (dict, list, tuple)):
            g.attrs[k] = encode_json(v)
        elif isinstance(v, dict):
            _write_tree(g.require_group(k), v)
        elif isinstance(v, np.ndarray):
            g.create_dataset(k, data=v)
        elif isinstance(v, (list, tuple)) and v and isinstance(v[0], dict):
            _write_tree(g.require_group(k), _keyed(v))
        elif v is None:
            g.attrs[k] = "null"
        elif isinstance(v, (list, tuple)):
            g.attrs[k] = encode_json(v)
        else:
            g.attrs[k] = v


# --------------------------------------------------------------------------- writing
def _write_blocks(comm, blocks: dict, open_group, what):
    """Collective writer of distributed mode datasets: rank 0 runs ``open_group()`` (a context
    manager yielding the h5py group to write into, e.g. a store being rewritten), then for
    every key (sorted) creates the (k, n_cols) dataset and writes its own rows and those of
    the other ranks, received one rank block at a time (never a whole field gathered).
    blocks : {dataset path: (local (n_rows_local, k), col_start, n_cols, attrs dict)}.
    An error on rank 0 is sent to the other ranks (StoreError naming ``what``); the pending
    blocks are drained so no rank is left blocked. Returns rank 0's group result (None elsewhere)."""
    rank, size = comm.Get_rank(), comm.Get_size()
    keys = sorted(blocks)
    if rank != 0:
        for key in keys:
            comm.send((blocks[key][1], np.ascontiguousarray(blocks[key][0])), dest=0, tag=_TAG)
        err = comm.bcast(None, root=0) if size > 1 else None
        if err:
            raise StoreError(f"{what} failed on rank 0: {err}")
        return None
    received, expected = 0, (size - 1) * len(keys)
    try:
        with open_group() as g:
            for key in keys:
                local, c0, n_cols, attrs = blocks[key]
                k = local.shape[1]
                ds = g.create_dataset(key, shape=(k, n_cols), dtype="f8",
                                      chunks=(1, max(1, min(n_cols, CHUNK_VALUES))) if k and n_cols else None)
                for name, value in attrs.items():
                    ds.attrs[name] = value
                if k and local.shape[0]:
                    ds[:, c0:c0 + local.shape[0]] = local.T
                for r in range(1, size):  # per-pair order is preserved: source r, key order
                    c0r, blk = comm.recv(source=r, tag=_TAG)
                    received += 1
                    if k and blk.shape[0]:
                        ds[:, c0r:c0r + blk.shape[0]] = blk.T
    except BaseException as exc:
        while received < expected:  # drain so the other ranks are not left blocked
            comm.recv(source=_any_source(), tag=_TAG)
            received += 1
        if size > 1:
            comm.bcast(str(exc) or type(exc).__name__, root=0)
        raise
    if size > 1:
        comm.bcast("", root=0)


def write_rom(path, rom: dict, distributed=None, comm=None, at: str = ""):
    """Write a ROM tree atomically: ``at=""`` replaces the whole ``/rom`` (attributes
    ``format``, ``rom_schema_version``, ``romnet_version``, ``created`` added), ``at="a/b"``
    replaces only the subgroup ``/rom/a/b`` and keeps the rest (e.g. ``"calibration"``, or
    :func:`rom_path` ``(k, c)``: a new version of local ROM c).

    rom : replicated tree (:func:`rom_tree`; dicts / arrays / scalars), identical on every
        rank; written from rank 0.
    distributed : {dataset path under the written group: (local (n_rows_local, k),
        col_start, n_cols)}: a (k, n_cols) dataset whose columns col_start.. hold
        ``local.T`` (each rank its own rows), chunked (1, <=131072) like snapshot fields.
    Collective: every rank must call it with the same ``distributed`` keys."""
    from contextlib import contextmanager
    comm = comm or mpi.comm()
    blocks = {k: (loc, c0, n, {}) for k, (loc, c0, n) in (distributed or {}).items()}

    @contextmanager
    def group():
        with rewrite_store(path) as f:
            g = _target_group(f, path, at)
            _write_tree(g, rom)
            yield g
    _write_blocks(comm, blocks, group, f"{path}: writing the ROM")


def _target_group(f, path, at):
    """The (new, empty) group a :func:`write_rom` writes into."""
    at = at.strip("/")
    if not at:
        if "rom" in f:
            del f["rom"]
        g = f.create_group("rom")
        g.attrs["format"] = ROM_FORMAT
        g.attrs["rom_schema_version"] = ROM_SCHEMA_VERSION
        g.attrs["romnet_version"] = __version__
        g.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")
        g.attrs["token"] = uuid.uuid4().hex      # identifies this /rom for its learned versions
        return g
    if "rom" not in f:
        raise StoreError(f"{path}: no /rom to write /rom/{at} into (run `romnet offline` first)")
    _check_version(dict(f["rom"].attrs), path)
    if at in f["rom"]:
        del f["rom"][at]
    return f["rom"].create_group(at)


def _any_source():
    try:
        from mpi4py import MPI
        return MPI.ANY_SOURCE
    except ImportError:  # pragma: no cover
        return 0


# --------------------------------------------------------------------------- reading
def _check_version(attrs, path):
    try:
        v = int(attrs.get("rom_schema_version", -1))
    except (TypeError, ValueError):
        v = -1
    if attrs.get("format") != ROM_FORMAT or v != ROM_SCHEMA_VERSION:
        raise StoreError(f"{path}: /rom has schema version {v}, this romnet reads "
                         f"{ROM_SCHEMA_VERSION}; rerun `romnet offline`")


def _rom_attrs(st) -> dict:
    """Attributes of ``/rom`` after the format / version check."""
    if not st.has("rom"):
        raise StoreError(f"{st.path}: no ROM in this store (run `romnet offline {st.path}`)")
    a = st.attrs("rom")
    _check_version(a, st.path)
    return a


def _member(st, at, what="ROM") -> str:
    """Store path of ``/rom/<at>`` (checked: /rom readable, the member present)."""
    _rom_attrs(st)
    full = "rom/" + at.strip("/") if at.strip("/") else "rom"
    if not st.has(full):
        raise StoreError(f"{st.path}: no {what} at /{full}")
    return full


def has_rom(store) -> bool:
    with CaseStore.opened(store) as st:
        return st.has("rom")


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


def rom_base(store) -> dict:
    """``{"created", "token"}`` of the store's ``/rom`` (version 0), which its learned
    versions extend (:mod:`.rom_versions`)."""
    with CaseStore.opened(store) as st:
        a = _rom_attrs(st)
        return {"created": str(a.get("created", "")), "token": str(a.get("token", ""))}


def resolve_version(store, version=None) -> int:
    """The ROM version to read: ``version`` if given (checked), else the current one (0 when
    the store has no learned versions or they extend an older ``/rom``)."""
    with CaseStore.opened(store) as st:
        base = rom_base(st)
        idx = versions.read_index(st.path, base)
    known = {0} | {int(v["version"]) for v in idx["versions"]}
    v = int(idx.get("current", 0)) if version is None else int(version)
    if v not in known:
        raise StoreError(f"{store}: no ROM version {v} (versions: {sorted(known)})")
    return v


def _version_file(store_path, v):
    path = versions.version_file(store_path, v)
    if not path.is_file():
        raise StoreError(f"{path}: learned ROM version {v} is missing (the index lists it)")
    return path


def _version_member(f, path, at):
    full = "rom/" + at.strip("/") if at.strip("/") else "rom"
    if full not in f:
        raise StoreError(f"{path}: no ROM at /{full}")
    return full


def _fill_modes(st, v, tree, prefix):
    """Fill the ``modes`` of every basis under ``tree`` (a version's tree read without them)."""
    for k, sub in list(tree.items()):
        if not isinstance(sub, dict):
            continue
        if k == "pod":
            for field, entry in sub.items():
                if isinstance(entry, dict) and "n_points" in entry:
                    n = int(entry["n_points"]) * int(entry["n_comp"])
                    entry["modes"] = _version_columns(st, v, f"{prefix}pod/{field}/modes", slice(0, n)).T
        else:
            _fill_modes(st, v, sub, f"{prefix}{k}/")


def _version_columns(st, v, dspath, cols):
    """(n_modes, len(cols)) of the basis dataset ``/rom/<dspath>`` of version ``v``,
    following the chain of appended blocks down to version 0 (the store's /rom); the
    blocks are read version by version and stacked once (no copy per version)."""
    blocks = []
    while v != 0:
        path = _version_file(st.path, v)
        with open_h5(path, "r") as f:
            if f"rom/{dspath}" not in f:
                raise StoreError(f"{path}: no /rom/{dspath}")
            ds = f[f"rom/{dspath}"]
            first, base = int(ds.attrs.get("first", 0)), int(ds.attrs.get("base", 0))
            own = ds[:, cols] if ds.shape[0] else np.zeros((0, len(range(*cols.indices(ds.shape[1])))))
        blocks.append((path, first, own))
        if first == 0:
            break
        v = base
    else:
        blocks.append((None, 0, st.read(f"rom/{dspath}", cols=cols)))
    n = 0
    for path, first, own in reversed(blocks):
        if path is not None and first != n:
            raise StoreError(f"{path}: /rom/{dspath} extends {first} columns of its parent version, which has {n}")
        n += own.shape[0]
    return np.concatenate([own for _, _, own in reversed(blocks)], axis=0)


def read_rom(store, modes=True, at: str = "", version=None) -> dict:
    """The ROM at ``/rom/<at>`` (default the whole ``/rom``: the global ROM with its
    clusters, calibration, ...) as nested dicts (attributes decoded from JSON), of the
    current version (``version``: another one; 0 = the store's own ``/rom``). With
    ``modes=False`` the (large) POD mode datasets are left out."""
    with CaseStore.opened(store) as st:
        v = resolve_version(st, version)
        if v == 0:
            return st.read_tree(_member(st, at), skip=() if modes else ("modes",))
        path = _version_file(st.path, v)
        with open_h5(path, "r") as f:
            tree = read_group_tree(f[_version_member(f, path, at)], skip=("modes",))
        if modes:
            _fill_modes(st, v, tree, (at.strip("/") + "/") if at.strip("/") else "")
        tree["version"] = v
        return tree


def selected_k(store) -> int | None:
    """The number of clusters whose local ROMs are used by default (``/rom/clusters``
    attribute ``selected``), None without local ROMs."""
    with CaseStore.opened(store) as st:
        _rom_attrs(st)
        return int(st.attrs("rom/clusters")["selected"]) if st.has("rom/clusters") else None


def read_modes(store, field: str, points=None, at: str = "", version=None) -> np.ndarray:
    """POD modes of ``field`` of the ROM at ``/rom/<at>`` (current version, or
    ``version``) as (n_points_sel * n_comp, n_modes) rows (node- or ip-major, components
    fastest) for a contiguous slice of points (one hyperslab per version block)."""
    with CaseStore.opened(store) as st:
        v = resolve_version(st, version)
        where = "the ROM" if not at else f"the ROM at /rom/{at}"
        if v == 0:
            base = _member(st, at)
            if not st.has(f"{base}/pod/{field}"):
                raise StoreError(f"{st.path}: {where} has no POD basis for '{field}'")
            a = st.attrs(f"{base}/pod/{field}")
        else:
            path = _version_file(st.path, v)
            with open_h5(path, "r") as f:
                base = _version_member(f, path, at)
                if f"{base}/pod/{field}" not in f:
                    raise StoreError(f"{path}: {where} has no POD basis for '{field}'")
                a = dict(f[f"{base}/pod/{field}"].attrs)
        n_p, n_c = int(a["n_points"]), int(a["n_comp"])
        lo, hi, _ = (slice(None) if points is None else points).indices(n_p)
        member = (at.strip("/") + "/") if at.strip("/") else ""
        return _version_columns(st, v, f"{member}pod/{field}/modes", slice(lo * n_c, hi * n_c)).T


def version_blocks(layout, key: str, pod: dict, columns: dict) -> dict:
    """The ``blocks`` of :func:`write_rom_version` for every basis of the ROM at ``key``
    inside ``/rom`` (its ``pod`` tree, without modes): ``columns`` {field: (this rank's rows
    of columns ``first ..`` (n_rows_local, k_new), first)}; a field not in ``columns`` gets
    no new column (all of its parent's). ``layout``: the offline row layout
    (:class:`romnet.offline.pod.RowLayout`: ``node_range`` / ``ip_range`` of this rank)."""
    out = {}
    for n, info in pod.items():
        c, n_pts = int(info["n_comp"]), int(info["n_points"])
        start = (layout.node_range[0] if info["kind"] == "nodal" else layout.ip_range[0]) * c
        path = (key + "/" if key else "") + f"pod/{n}/modes"
        new, first = columns.get(n, (np.zeros((0, 0)), int(info["n_modes"])))
        out[path] = (new, int(start), n_pts * c, int(first))
    return out


def write_rom_version(store, rom: dict, blocks: dict, parent: int, log: dict, comm=None) -> int:
    """Write a learned ROM version (:mod:`.rom_versions`) and make it the current one.

    rom : the whole ``/rom`` tree (global ROM, ``clusters``, ``calibration``, ...) without
        mode datasets, replicated; written from rank 0.
    blocks : {basis dataset path under /rom (e.g. ``"pod/U/modes"``, ``"clusters/2/000/pod/U/modes"``):
        (local new columns (n_rows_local, k_new), row_start, n_rows_total, first)}: the
        columns ``first ..`` of that basis (``first = 0``: all of them; else columns
        ``0 .. first-1`` are those of version ``parent``). Every basis of ``rom`` needs an
        entry (``k_new = 0`` for an unchanged one).
    log : JSON-able summary recorded in the index (samples, enrichments, sizes).
    Collective; returns the new version number."""
    from contextlib import contextmanager
    comm = comm or mpi.comm()
    err, v = None, None
    if comm.Get_rank() == 0:
        try:
            v = versions.next_version(store, rom_base(store))
        except Exception as exc:  # noqa: BLE001 (re-raised on every rank)
            err = str(exc) or type(exc).__name__
    if comm.Get_size() > 1:
        err, v = comm.bcast((err, v), root=0)
    if err:
        raise StoreError(err)

    @contextmanager
    def group():
        path = versions.version_file(store, v)
        with atomic_replace(path) as tmp:
            with open_h5(tmp, "w") as f:
                f.attrs["format"] = "romnet-rom-version"
                f.attrs["version"] = int(v)
                f.attrs["parent"] = int(parent)
                g = f.create_group("rom")
                g.attrs.update(format=ROM_FORMAT, rom_schema_version=ROM_SCHEMA_VERSION, romnet_version=__version__,
                               created=datetime.now(UTC).isoformat(timespec="seconds"), version=int(v))
                _write_tree(g, rom)
                yield g
        versions.add_version(store, rom_base(store), v, parent, log)
    _write_blocks(comm, {k: (loc, r0, n, {"first": int(first), "base": int(parent)})
                         for k, (loc, r0, n, first) in blocks.items()}, group, f"{store}: writing ROM version {v}")
    return v


def rom_summary(store) -> str:
    """Human-readable summary of the ROM of a store (for ``romnet info``), '' if none."""
    with CaseStore.opened(store) as st:
        if not st.has("rom"):
            return ""
        a = _rom_attrs(st)
        ser = series_list(a.get("series"))
        ser_txt = f"series '{ser[0]}'" if len(ser) == 1 else \
            f"{len(ser)} series ({', '.join(ser[:3])}{', ...' if len(ser) > 3 else ''})"
        lines = [f"rom: {ser_txt}, written {a.get('created', '?')} by romnet {a.get('romnet_version', '?')}"]
        for name in (st.keys("rom/pod") if st.has("rom/pod") else []):
            p = st.attrs(f"rom/pod/{name}")
            lines.append(f"  POD {name:14s} {int(p['n_modes']):4d} modes of {int(p['n_snapshots'])} snapshots "
                         f"({p['kind']}, {p['inner_product']}, tol {p['tolerance']}, "
                         f"relative error {float(p['relative_error']):.2e})")
        if st.has("rom/points"):
            n = st.read("rom/points/ip").shape[0]
            n_ecm = int(np.count_nonzero(st.read("rom/points/ecm")))
            lines.append(f"  reduced integration points: {n} ({n_ecm} ECM with weights, "
                         f"{n - n_ecm} QDEIM with zero weight)")
        if st.has("rom/ecm"):
            e = st.attrs("rom/ecm")
            lines.append(f"  ECM: tolerance {e['tolerance']}, max relative error {float(e['error']):.2e}, "
                         f"{int(e['n_columns'])} integrand columns")
        if st.has("rom/clusters"):
            ca = st.attrs("rom/clusters")
            lines.append(f"  clusters: local ROMs for k = {ca.get('stored', '?')}, selected k = "
                         f"{ca.get('selected', '?')} ({ca.get('dissimilarity', '?')} dissimilarity)")
        else:
            lines.append("  clusters: none (single global basis)")
        if "timings" in a:
            t = json.loads(a["timings"])
            lines.append("  offline timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in t.items()))
        txt = versions.describe_versions(st.path, rom_base(st))
        if txt:
            lines.append(txt)
        return "\n".join(lines)
