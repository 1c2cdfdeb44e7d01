"""Case store: one HDF5 file per case (schema in ``docs/store-schema.md``).

* Whole-case writes (:func:`write_case`) go to a temporary file in the same folder that
  is renamed over the target only once complete (``os.replace`` is atomic on POSIX):
  a crash or an error leaves either the old store or no store, never a half-written one.
* A store whose ``schema_version`` differs from :data:`SCHEMA_VERSION` is refused with
  :class:`~romnet.errors.SchemaVersionError`.
* No pickles: arrays are datasets, small structured data (problem definition, material
  descriptions, metadata) is JSON text.
* :class:`CaseStore` opens a store read-only and reads slices (e.g. one rank's nodes or
  integration points), without loading whole fields.
"""
from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import __version__
from .case import Case
from .errors import InputError, SchemaVersionError, StoreError, printable
from .locking import copy_mode, temporary_path, try_clean_temporaries, write_lock
from .mesh import ElementBlock, Mesh
from .problem import (Centrifugal, Constraint, Dirichlet, Gravity, InitialState, MaterialAssignment,
                      NodalForce, Pressure, Problem, Temperature, TimeStepping, TimeTable, as_jsonable)
from .snapshots import Field, SnapshotSeries

SCHEMA_VERSION = 1
FORMAT_NAME = "romnet-case-store"
#: target chunk size (values) along the DOF axis of snapshot datasets
CHUNK_VALUES = 1 << 17


def _h5py():
    import h5py
    return h5py


def open_h5(path, mode="r+"):
    """The raw ``h5py.File`` of a store, for the owners of a group that write it in place
    (the HF series writer, the training index): ``with open_h5(path) as f: ...``; any mode
    but ``"r"`` holds the write lock of ``path`` until the file is closed
    (:func:`romnet.locking.write_lock`: a second writer is refused). Readers use
    :class:`CaseStore`; whole-store replacements :func:`write_case` /
    :func:`rewrite_store`."""
    h5py = _h5py()
    if mode == "r":
        return h5py.File(path, mode)
    lock = write_lock(path)
    lock.__enter__()
    try:
        f = _LockedFile(path, mode)
    except BaseException as exc:
        lock.__exit__(type(exc), exc, exc.__traceback__)
        raise
    f._romnet_lock = lock
    return f


def _locked_file_class():
    h5py = _h5py()

    class LockedFile(h5py.File):
        """An ``h5py.File`` that releases its write lock when closed."""

        def close(self):
            try:
                super().close()
            finally:
                lock = self.__dict__.pop("_romnet_lock", None)
                if lock is not None:
                    lock.__exit__(None, None, None)
    return LockedFile


def _LockedFile(path, mode):
    global _LOCKED
    if _LOCKED is None:
        _LOCKED = _locked_file_class()
    return _LOCKED(path, mode)


_LOCKED = None


# --------------------------------------------------------------------------- writing
@contextmanager
def atomic_replace(path: Path):
    """Yield a temporary path next to ``path`` (:func:`romnet.locking.temporary_path`);
    rename it over ``path`` if the block completes (with the permission bits of the file it
    replaces), delete it otherwise (also on KeyboardInterrupt). The write lock of ``path``
    is held throughout (a second writer is refused; stale temporaries are removed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with write_lock(path):
        tmp = temporary_path(path)
        try:
            yield str(tmp)
            copy_mode(path, tmp)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


_atomic_replace = atomic_replace


def write_case(path, case: Case, *, extra=None):
    """Write ``case`` to ``path`` atomically (replacing any existing store).

    ``extra`` is an optional callable ``extra(h5file)`` that writes more groups (e.g. a
    ROM) inside the same atomic write.
    """
    path = Path(path)
    h5py = _h5py()
    with _atomic_replace(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["romnet_version"] = __version__
            f.attrs["metadata"] = json.dumps(as_jsonable(case.metadata))
            _write_mesh(f.create_group("mesh"), case.mesh)
            if case.problem is not None:
                _write_problem(f.create_group("problem"), case.problem)
            res = f.create_group("results")
            for name, series in case.results.items():
                write_series(res.create_group(name), series)
            if extra is not None:
                extra(f)
    return path


def _name_group(parent, kind: str, items: dict, writer):
    """Sets are stored as ``<kind>/<index>`` with the set name in attribute ``name``
    (set names may contain characters HDF5 does not allow in paths)."""
    g = parent.create_group(kind)
    for i, (name, value) in enumerate(items.items()):
        obj = writer(g, f"{i:05d}", value)
        obj.attrs["name"] = name


def _write_mesh(g, mesh: Mesh):
    g.create_dataset("coordinates", data=mesh.coordinates)
    g.create_dataset("node_ids", data=mesh.node_ids)
    blocks = g.create_group("blocks")
    for i, b in enumerate(mesh.blocks):
        bg = blocks.create_group(f"{i:03d}")
        bg.attrs["etype"] = b.etype
        bg.create_dataset("connectivity", data=b.connectivity)
        bg.create_dataset("element_ids", data=b.element_ids)
    _name_group(g, "node_sets", mesh.node_sets,
                lambda gg, k, v: gg.create_dataset(k, data=np.asarray(v, dtype=np.int64)))
    _name_group(g, "element_sets", mesh.element_sets,
                lambda gg, k, v: gg.create_dataset(k, data=np.asarray(v, dtype=np.int64)))

    def face_writer(gg, k, faces):
        fg = gg.create_group(k)
        for ftype, conn in faces.items():
            fg.create_dataset(ftype, data=np.asarray(conn, dtype=np.int64))
        return fg

    _name_group(g, "face_sets", mesh.face_sets, face_writer)
    if mesh.partition is not None:
        g.create_dataset("partition", data=np.asarray(mesh.partition, dtype=np.int32))


def _array_refs(obj, arrays: dict, prefix: str):
    """Replace numpy arrays (size > 16) in a JSON-able tree by {"$array": key}."""
    if isinstance(obj, dict):
        return {k: _array_refs(v, arrays, f"{prefix}.{k}") for k, v in obj.items()}
    if isinstance(obj, list):
        return [_array_refs(v, arrays, f"{prefix}.{i}") for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray) and obj.size > 16:
        key = f"a{len(arrays):04d}"
        arrays[key] = obj
        return {"$array": key}
    return as_jsonable(obj)


def _write_problem(g, problem: Problem):
    arrays = {}
    tree = {
        "materials": [_array_refs(vars(m), arrays, "m") for m in problem.materials],
        "dirichlet": [_array_refs(dict(vars(d)), arrays, "d") for d in problem.dirichlet],
        "pressure": [_array_refs(dict(vars(p)), arrays, "p") for p in problem.pressure],
        "centrifugal": [as_jsonable(c) for c in problem.centrifugal],
        "tables": {k: as_jsonable(t) for k, t in problem.tables.items()},
        "stepping": _array_refs(dict(vars(problem.stepping)), arrays, "s") if problem.stepping else None,
        "temperature": (_array_refs({"times": np.asarray(problem.temperature.times, dtype=float),
                                     "fields": np.asarray(problem.temperature.fields, dtype=float),
                                     "period": problem.temperature.period}, arrays, "t")
                        if problem.temperature is not None else None),
        "source": problem.source,
        # deck features (absent in stores written before them: empty / defaults)
        "nodal_forces": [_array_refs(dict(vars(f)), arrays, "f") for f in problem.nodal_forces],
        "gravity": [as_jsonable(x) for x in problem.gravity],
        "constraints": [_array_refs(dict(vars(c)), arrays, "c") for c in problem.constraints],
        "initial": (_array_refs(dict(vars(problem.initial)), arrays, "i")
                    if problem.initial is not None else None),
        "thermal_reference": problem.thermal_reference,
        "temperature_at_ips": problem.temperature_at_ips,
        "notes": list(problem.notes),
    }
    g.create_dataset("definition", data=json.dumps(tree))
    ag = g.create_group("arrays")
    for k, v in arrays.items():
        ag.create_dataset(k, data=v)


def _chunks(shape):
    n_t, n_v = shape
    return (1, max(1, min(n_v, CHUNK_VALUES))) if n_t and n_v else None


def write_series(g, series: SnapshotSeries):
    """Write a series in group ``g``: fields as (n_times, n_points * n_comp) chunked datasets."""
    g.create_dataset("times", data=series.times)
    if series.increments is not None:
        g.create_dataset("increments", data=np.asarray(series.increments, dtype=np.int64))
    if series.cycles is not None:
        g.create_dataset("cycles", data=np.asarray(series.cycles, dtype=np.int64))
    g.attrs["source"] = series.source
    for kind, fields in (("nodal", series.nodal), ("integ", series.integ)):
        kg = g.create_group(kind)
        for name, fld in fields.items():
            v = np.asarray(fld.values, dtype=np.float64)
            if v.ndim != 3:
                raise StoreError(f"field {name}: values must be (n_times, n_points, n_comp), got {v.shape}")
            flat = v.reshape(v.shape[0], -1)
            ds = kg.create_dataset(name, data=flat, chunks=_chunks(flat.shape))
            ds.attrs["n_points"] = v.shape[1]
            ds.attrs["components"] = json.dumps(list(fld.components))
            ds.attrs["source_names"] = json.dumps(fld.source_names or [])


# --------------------------------------------------------------------------- reading
def check_store(path) -> None:
    """Raise StoreError / SchemaVersionError if ``path`` is not a readable store."""
    with CaseStore(path):
        pass


#: environment variable that allows external links, external storage and virtual
#: datasets in the stores read (``1``; default: refused, docs/store-schema.md)
ALLOW_EXTERNAL_ENV = "ROMNET_ALLOW_EXTERNAL"


def external_allowed() -> bool:
    """True when ``ROMNET_ALLOW_EXTERNAL=1`` (the opt-in of :func:`refuse_external`)."""
    return os.environ.get(ALLOW_EXTERNAL_ENV, "") in ("1", "true", "yes")


def refuse_external(f, path) -> None:
    """StoreError when the open HDF5 file ``f`` holds an external link, a dataset with
    external storage or a virtual dataset: reading them reads other files (any local file),
    which a case store never needs. Soft links must stay inside the file. The walk reads
    link and dataset headers only (no data)."""
    h5py = _h5py()

    def check_links(g, prefix):
        for name in g:
            link = g.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise StoreError(f"{path}: {prefix}/{name} is an external link to "
                                 f"{printable(link.filename, 120)}:{printable(link.path, 60)}; stores with "
                                 f"external links are refused ({ALLOW_EXTERNAL_ENV}=1 allows them)")

    def visit(name, obj):           # each object once (hard-link cycles included)
        if isinstance(obj, h5py.Group):
            check_links(obj, "/" + name)
        elif isinstance(obj, h5py.Dataset) and (obj.external or obj.is_virtual):
            what = "external storage" if obj.external else "a virtual dataset"
            raise StoreError(f"{path}: dataset /{name} uses {what} (data in other files); refused "
                             f"({ALLOW_EXTERNAL_ENV}=1 allows it)")

    check_links(f, "")
    f.visititems(visit)


def _plain(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return v.item() if isinstance(v, np.generic) and v.ndim == 0 else v


def _json(text, path, where):
    """JSON value of a stored text; StoreError naming the store and the place otherwise."""
    try:
        return json.loads(_plain(text))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{path}: {where}: not valid JSON ({printable(exc, 120)})") from None


@contextmanager
def schema_errors(path, where):
    """Turn the exceptions of reading a malformed group (missing member, wrong type or
    shape, bad JSON) into a StoreError naming the store and ``where``."""
    try:
        yield
    except StoreError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OSError, RuntimeError,
            OverflowError) as exc:
        raise StoreError(f"{path}: {where}: malformed ({type(exc).__name__}: {printable(exc, 160)})") from None


def read_group_tree(g, skip=()) -> dict:
    """An open h5py group as nested dicts (:meth:`CaseStore.read_tree`): for the owners of
    files that are not case stores (learned ROM versions)."""
    return _read_tree(g, tuple(skip))


def _read_tree(g, skip) -> dict:
    out = {}
    for k, v in g.attrs.items():
        v = _plain(v)
        if isinstance(v, str) and (v[:1] in "[{" or v == "null"):
            try:
                v = json.loads(v)
            except ValueError:
                pass
        out[k] = v
    for k, v in g.items():
        if hasattr(v, "keys"):
            out[k] = _read_tree(v, skip)
        elif k not in skip:
            out[k] = v[()]
    return out


def problem_from_definition(tree: dict, arrays, with_temperature: bool = True) -> Problem:
    """Problem from the JSON tree of ``/problem/definition`` and the ``/problem/arrays``
    group; ``with_temperature=False`` leaves ``temperature`` None without reading its
    (mesh-sized) fields."""
    def deref(obj):
        if isinstance(obj, dict):
            if set(obj) == {"$array"}:
                return arrays[obj["$array"]][()]
            return {k: deref(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [deref(v) for v in obj]
        return obj

    tree = deref({k: v for k, v in tree.items() if with_temperature or k != "temperature"})
    pb = Problem(source=tree.get("source", ""))
    pb.materials = [MaterialAssignment(**m) for m in tree["materials"]]
    pb.dirichlet = [Dirichlet(**{**d, "value": _num_or_array(d["value"])}) for d in tree["dirichlet"]]
    pb.pressure = [Pressure(**{**p, "value": np.asarray(p["value"]) if isinstance(p["value"], list) else p["value"]})
                   for p in tree["pressure"]]
    pb.centrifugal = [Centrifugal(**c) for c in tree["centrifugal"]]
    pb.tables = {k: TimeTable(**t) for k, t in tree["tables"].items()}
    if tree["stepping"] is not None:
        st = dict(tree["stepping"])
        st["times"] = np.asarray(st["times"], dtype=float)
        pb.stepping = TimeStepping(**st)
    pb.nodal_forces = [NodalForce(f["name"], np.asarray(f["nodes"], dtype=np.int64).reshape(-1),
                                  np.asarray(f["forces"], dtype=float).reshape(len(np.ravel(f["nodes"])), -1),
                                  f["value"], f["table"]) for f in tree.get("nodal_forces", [])]
    pb.gravity = [Gravity(**x) for x in tree.get("gravity", [])]
    pb.constraints = [Constraint(c["name"], np.asarray(c["nodes"], dtype=np.int64).reshape(-1),
                                 np.asarray(c["components"], dtype=np.int64).reshape(-1),
                                 np.asarray(c["coefficients"], dtype=float).reshape(-1),
                                 np.asarray(c["offsets"], dtype=np.int64).reshape(-1),
                                 _num_or_array(c["values"]), c["table"], c["start"], c.get("kind", "equation"))
                      for c in tree.get("constraints", [])]
    if tree.get("initial") is not None:
        ini = tree["initial"]
        pb.initial = InitialState(*(None if ini.get(k) is None else np.asarray(ini[k], dtype=float).reshape(-1, 6)
                                    for k in ("stress", "plastic_strain")))
    pb.thermal_reference = tree.get("thermal_reference", "reference")
    pb.temperature_at_ips = tree.get("temperature_at_ips")
    pb.notes = list(tree.get("notes", []))
    if tree.get("temperature") is not None:
        t = tree["temperature"]
        pb.temperature = Temperature(np.asarray(t["times"], dtype=float),
                                     np.asarray(t["fields"], dtype=float), t["period"])
    return pb


def _numeric(v) -> bool:
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError, OverflowError):
        return False
    return a.dtype.kind == "f"


#: annotation text of a problem dataclass field -> test of a stored value
_FIELD_TESTS = {
    "str": lambda v: isinstance(v, str),
    "str | None": lambda v: v is None or isinstance(v, str),
    "int": lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool),
    "float | None": lambda v: v is None or (isinstance(v, (int, float, np.number)) and not isinstance(v, bool)),
    "bool": lambda v: isinstance(v, (bool, np.bool_)),
    "list": _numeric, "np.ndarray": _numeric, "object": _numeric,
}


def check_problem_types(pb: Problem, path) -> Problem:
    """StoreError naming the member when a stored problem field has the wrong type (every
    field of the problem's dataclasses whose annotation is in :data:`_FIELD_TESTS`; the
    temperature rules, notes, materials)."""
    import dataclasses

    def check(obj, where):
        for f in dataclasses.fields(obj):
            test = _FIELD_TESTS.get(str(f.type))
            v = getattr(obj, f.name)
            if test is not None and not test(v):
                raise StoreError(f"{path}: /problem/definition {where}.{f.name}: wrong type "
                                 f"({printable(repr(v), 60)}; expected {f.type})")
    for kind in ("dirichlet", "pressure", "centrifugal", "nodal_forces", "gravity", "constraints"):
        for i, item in enumerate(getattr(pb, kind)):
            check(item, f"{kind}[{i}]")
    for name, t in pb.tables.items():
        check(t, f"tables[{printable(name, 40)}]")
    if pb.stepping is not None:
        check(pb.stepping, "stepping")
    for i, m in enumerate(pb.materials):
        if not isinstance(m.element_set, str) or not isinstance(m.spec, dict):
            raise StoreError(f"{path}: /problem/definition materials[{i}]: expected an element set name and a "
                             "material description (JSON object)")
    rules = pb.temperature_at_ips
    if rules is not None and not (isinstance(rules, list) and all(isinstance(r, str) for r in rules)):
        raise StoreError(f"{path}: /problem/definition temperature_at_ips: expected null or a list of rules")
    if not isinstance(pb.thermal_reference, str) or not all(isinstance(n, str) for n in pb.notes) \
            or not isinstance(pb.source, str):
        raise StoreError(f"{path}: /problem/definition thermal_reference / notes / source: wrong type")
    return pb


def _index_array(ds, path):
    """An integer index dataset (sets, face connectivity)."""
    v = ds[()]
    if v.size and not np.issubdtype(v.dtype, np.integer):
        raise StoreError(f"{path}: {ds.name}: expected integer indices, got {v.dtype}")
    return v.astype(np.int64, copy=False)


def _num_or_array(v):
    """A JSON number, or a list / array read back as a float array."""
    return np.asarray(v, dtype=float) if isinstance(v, (list, np.ndarray)) else v


class CaseStore:
    """Read-only access to a case store, usable as a context manager.

    >>> with CaseStore("cube.h5") as st:
    ...     mesh = st.mesh()
    ...     u = st.read_field("imported", "U", times=slice(0, 3), points=slice(0, 100))
    """

    def __init__(self, path, allow_external=None):
        self.path = Path(path)
        h5py = _h5py()
        if not self.path.exists():
            raise StoreError(f"{self.path}: no such case store")
        try_clean_temporaries(self.path)
        try:
            self.f = h5py.File(self.path, "r")
        except OSError as exc:
            raise StoreError(f"{self.path}: not a readable HDF5 case store ({printable(exc, 200)})") from exc
        try:
            with schema_errors(self.path, "HDF5 structure"):
                self._check_header()
                if not (external_allowed() if allow_external is None else allow_external):
                    refuse_external(self.f, self.path)
        except BaseException:
            self.f.close()
            raise

    def _check_header(self):
        fmt = _plain(self.f.attrs.get("format"))
        version = _plain(self.f.attrs.get("schema_version"))
        if fmt != FORMAT_NAME or version is None:
            raise StoreError(f"{self.path}: HDF5 file is not a romnet case store (no '{FORMAT_NAME}' format attribute)")
        try:
            version = int(version)
        except (TypeError, ValueError):
            raise StoreError(f"{self.path}: schema_version {printable(repr(version), 60)} is not an integer") from None
        if version != SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.path}: case store schema version {version}, this romnet "
                f"{__version__} reads version {SCHEMA_VERSION}; re-import the case with this version")

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _get(self, key):
        try:
            return self.f[key]
        except KeyError:
            raise StoreError(f"{self.path}: missing '{key}' in the case store") from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise StoreError(f"{self.path}: '{key}': unreadable ({printable(exc, 160)})") from None

    @classmethod
    @contextmanager
    def opened(cls, store):
        """``with CaseStore.opened(x) as st``: ``x`` itself when it is an open
        :class:`CaseStore` (left open: helpers called with an open store do not reopen the
        file), else a store opened from the path ``x`` and closed at the end."""
        if isinstance(store, CaseStore):
            yield store
            return
        with cls(store) as st:
            yield st

    # ---- generic groups (owned by other modules: /training, /rom, ...)
    def has(self, path: str) -> bool:
        """True when the group or dataset ``path`` (e.g. ``"rom/calibration"``) exists."""
        with schema_errors(self.path, path):
            return path in self.f

    def attrs(self, path: str = "/") -> dict:
        """Attributes of a group or dataset, decoded: bytes -> str, numpy scalars ->
        Python; JSON strings (``[..]``, ``{..}``, ``null``) are NOT decoded here (see
        :meth:`read_tree`)."""
        with schema_errors(self.path, path):
            return {k: _plain(v) for k, v in self._get(path).attrs.items()}

    def keys(self, path: str) -> list:
        """Names of the members of a group."""
        with schema_errors(self.path, path):
            return list(self._get(path).keys())

    def shape(self, path: str) -> tuple:
        """Shape of a dataset (nothing read)."""
        return tuple(self._get(path).shape)

    def read(self, path: str, rows=None, cols=None) -> np.ndarray:
        """A dataset (or a hyperslab of it: ``rows`` / ``cols`` slices or index arrays
        along its first two axes) as a numpy array."""
        ds = self._get(path)
        with schema_errors(self.path, path):
            if rows is None and cols is None:
                return ds[()]
            rows = slice(None) if rows is None else rows
            return ds[rows] if cols is None else ds[rows, cols]

    def read_tree(self, path: str, skip=()) -> dict:
        """A group as nested dicts: subgroups -> dicts, datasets -> arrays (those named in
        ``skip`` left out, e.g. ``("modes",)``), attributes -> values with JSON strings
        (``[..]``, ``{..}``, ``null``) decoded."""
        with schema_errors(self.path, "/" + path.strip("/")):
            return _read_tree(self._get(path), tuple(skip))

    def digest(self, groups=("mesh", "problem")) -> str:
        """SHA-256 (hex) of the members of ``groups`` (names, attributes and dataset
        contents, in sorted order): the identity of an input (mesh + problem definition)
        stored with the outputs computed from it (``romnet hifi --resume``)."""
        h5py = _h5py()
        h = hashlib.sha256()

        def add(g, prefix):
            for k in sorted(g.attrs):
                h.update(f"{prefix}@{k}={_plain(g.attrs[k])!r}".encode())
            if isinstance(g, h5py.Dataset):
                h.update(np.ascontiguousarray(g[()]).tobytes())
                return
            for k in sorted(g):
                h.update(f"{prefix}/{k}".encode())
                add(g[k], f"{prefix}/{k}")
        with schema_errors(self.path, "digest"):
            for name in groups:
                if name in self.f:
                    add(self.f[name], name)
        return h.hexdigest()

    # ---- metadata
    @property
    def metadata(self) -> dict:
        meta = _json(self.f.attrs.get("metadata", "{}"), self.path, "attribute 'metadata'")
        if not isinstance(meta, dict):
            raise StoreError(f"{self.path}: attribute 'metadata': expected a JSON object")
        return meta

    # ---- mesh
    def mesh(self) -> Mesh:
        """The mesh, schema-checked (shapes, integer indices in range: StoreError naming
        the store and the member otherwise)."""
        g = self._get("mesh")
        with schema_errors(self.path, "/mesh"):
            blocks = []
            for k, bg in sorted(g["blocks"].items()):
                conn, ids = bg["connectivity"][()], bg["element_ids"][()]
                if conn.ndim != 2 or not np.issubdtype(conn.dtype, np.integer) or ids.shape != conn.shape[:1]:
                    raise StoreError(f"{self.path}: /mesh/blocks/{k}: connectivity must be (n_el, n_el_nodes) "
                                     f"integers with one element id each, got {conn.dtype} {conn.shape} and "
                                     f"{ids.shape} ids")
                blocks.append(ElementBlock(str(_plain(bg.attrs["etype"])), conn, ids))

            def sets(kind):
                return {str(_plain(ds.attrs["name"])): _index_array(ds, self.path)
                        for _, ds in sorted(g[kind].items())}

            faces = {str(_plain(fg.attrs["name"])): {ft: _index_array(ds, self.path) for ft, ds in fg.items()}
                     for _, fg in sorted(g["face_sets"].items())}
            x, ids = g["coordinates"][()], g["node_ids"][()]
            if x.ndim != 2 or x.shape[1] not in (1, 2, 3) or not np.issubdtype(x.dtype, np.number) \
                    or ids.shape != x.shape[:1]:
                raise StoreError(f"{self.path}: /mesh/coordinates: expected (n_nodes, 1..3) numbers with one "
                                 f"node id each, got {x.dtype} {x.shape} and {ids.shape} ids")
            part = g["partition"][()] if "partition" in g else None
            if part is not None and part.shape != (sum(b.n_elements for b in blocks),):
                raise StoreError(f"{self.path}: /mesh/partition: expected one rank per element")
            mesh = Mesh(x, ids, blocks, sets("node_sets"), sets("element_sets"), faces, part)
        try:
            return mesh.validate()
        except InputError as exc:
            raise StoreError(f"{self.path}: /mesh: {exc.problem}") from None

    # ---- problem
    def has_problem(self) -> bool:
        return "problem" in self.f

    def _definition(self) -> dict:
        g = self._get("problem")
        with schema_errors(self.path, "/problem/definition"):
            tree = _json(g["definition"][()], self.path, "/problem/definition")
            if not isinstance(tree, dict):
                raise StoreError(f"{self.path}: /problem/definition: expected a JSON object")
            return tree

    def problem(self, with_temperature: bool = True) -> Problem:
        """The problem definition; ``with_temperature=False`` leaves its temperature None
        without reading the (mesh-sized) key fields (see :meth:`temperature_fields`).
        A malformed definition (missing or unknown key, wrong type) is a StoreError."""
        tree = self._definition()
        with schema_errors(self.path, "/problem/definition"):
            pb = problem_from_definition(tree, self.f["problem"]["arrays"], with_temperature)
        return check_problem_types(pb, self.path)

    def temperature_fields(self, nodes=None):
        """(times (n_keys,), key fields (n_keys, n_sel), period) of the problem's nodal
        temperature, ``n_sel`` the sorted ``nodes`` (one hyperslab read per key field) or
        all nodes; None when the problem has no temperature."""
        g = self._get("problem")
        temp = self._definition().get("temperature")
        if temp is None:
            return None
        with schema_errors(self.path, "/problem/definition temperature"):
            f = temp["fields"]
            sel = slice(None) if nodes is None else np.asarray(nodes, dtype=np.int64)
            if isinstance(f, dict):
                arr = g["arrays"][f["$array"]][:, sel]
            else:
                arr = np.asarray(f, dtype=float)[:, sel]
            return (np.asarray(temp["times"], dtype=float), np.atleast_2d(np.asarray(arr, dtype=float)),
                    temp["period"])

    # ---- results
    def series_names(self) -> list:
        if "results" not in self.f:
            return []
        if not isinstance(self.f["results"], _h5py().Group):
            raise StoreError(f"{self.path}: /results is not a group")
        return list(self.f["results"].keys())

    def _series(self, series):
        if series not in self.series_names():
            raise StoreError(f"{self.path}: no result series '{series}' (has: {self.series_names()})")
        return self.f["results"][series]

    def n_complete(self, series: str) -> int:
        """Number of complete outputs of a series (a series written incrementally, e.g.
        by the HF solver, sets the group attribute ``n_complete`` after each output;
        rows beyond it belong to an interrupted write and are ignored)."""
        g = self._series(series)
        with schema_errors(self.path, f"/results/{series}"):
            n = g["times"].shape[0]
            if "n_complete" not in g.attrs:
                return n
            k = int(g.attrs["n_complete"])
            if k < 0:
                raise StoreError(f"{self.path}: /results/{series}: n_complete = {k} is negative")
            return min(n, k)

    def times(self, series: str) -> np.ndarray:
        with schema_errors(self.path, f"/results/{series}/times"):
            t = self._series(series)["times"][: self.n_complete(series)]
            return np.asarray(t, dtype=float).reshape(-1)

    def field_names(self, series: str, kind: str) -> list:
        g = self._series(series)
        return list(g[kind].keys()) if kind in g else []

    def field_info(self, series: str, name: str) -> dict:
        """{'kind', 'n_points', 'components', 'source_names', 'shape'} of one field."""
        ds, kind = self._field_ds(series, name)
        where = f"/results/{series}/{kind}/{name}"
        with schema_errors(self.path, where):
            n_p = int(ds.attrs["n_points"])
            comps = _json(ds.attrs["components"], self.path, where + " components")
            names = _json(ds.attrs.get("source_names", "[]"), self.path, where + " source_names")
            if not isinstance(comps, list) or ds.ndim != 2 or n_p < 0 or ds.shape[1] != n_p * len(comps):
                raise StoreError(f"{self.path}: {where}: shape {ds.shape} does not hold {n_p} points x "
                                 f"{len(comps) if isinstance(comps, list) else '?'} components per output")
            return {"kind": kind, "n_points": n_p, "components": [str(c) for c in comps],
                    "source_names": names if isinstance(names, list) else [],
                    "shape": (ds.shape[0], n_p, len(comps))}

    def _field_ds(self, series, name):
        g = self._series(series)
        for kind in ("nodal", "integ"):
            if kind in g and name in g[kind]:
                ds = g[kind][name]
                if not isinstance(ds, _h5py().Dataset):
                    raise StoreError(f"{self.path}: /results/{series}/{kind}/{name} is not a dataset")
                return ds, kind
        raise StoreError(f"{self.path}: series '{series}' has no field '{name}'")

    def read_field(self, series: str, name: str, times=None, points=None) -> np.ndarray:
        """Values (n_t, n_p, n_comp) of a field; ``times`` and ``points`` are slices
        (or None for all). Only the requested hyperslab is read from disk."""
        ds, _ = self._field_ds(series, name)
        info = self.field_info(series, name)
        n_p, n_c = info["n_points"], len(info["components"])
        n_t = self.n_complete(series)
        times = slice(None) if times is None else times
        if not isinstance(times, slice):
            raise StoreError("times must be a slice")
        times = slice(*times.indices(n_t))
        points = slice(None) if points is None else points
        if not isinstance(points, slice):
            raise StoreError("points must be a slice (contiguous range)")
        start, stop, step = points.indices(n_p)
        if step != 1:
            raise StoreError("points slice must have step 1")
        with schema_errors(self.path, f"/results/{series}/{name}"):
            block = np.asarray(ds[times, start * n_c:stop * n_c], dtype=float)
            return block.reshape(block.shape[0], stop - start, n_c)

    def series(self, name: str) -> SnapshotSeries:
        g = self._series(name)
        n_t = self.n_complete(name)
        with schema_errors(self.path, f"/results/{name}"):
            s = SnapshotSeries(g["times"][:n_t],
                               increments=g["increments"][:n_t] if "increments" in g else None,
                               cycles=g["cycles"][:n_t] if "cycles" in g else None,
                               source=str(_plain(g.attrs.get("source", ""))))
        for kind, target in (("nodal", s.nodal), ("integ", s.integ)):
            for fname in self.field_names(name, kind):
                info = self.field_info(name, fname)
                target[fname] = Field(fname, info["components"], self.read_field(name, fname),
                                      info["source_names"] or None)
        return s

    def case(self) -> Case:
        return Case(self.mesh(), self.problem() if self.has_problem() else None,
                    {n: self.series(n) for n in self.series_names()}, self.metadata)


def read_case(path) -> Case:
    """Whole case in memory (small cases, tests); use :class:`CaseStore` for slices."""
    with CaseStore(path) as st:
        return st.case()


@contextmanager
def rewrite_store(path):
    """Atomically modify a store: yields an h5py.File on a temporary copy that replaces
    ``path`` (keeping its permission bits) only if the block completes without an
    exception; the write lock of ``path`` is held throughout."""
    import shutil
    path = Path(path)
    with _atomic_replace(path) as tmp:
        check_store(path)
        shutil.copyfile(path, tmp)
        with _h5py().File(tmp, "r+") as f:
            yield f
