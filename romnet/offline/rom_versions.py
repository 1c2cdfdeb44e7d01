"""Learned ROM versions of a case store: the index next to the store (paths and JSON only).

A ROM that learns (online enrichment kept across runs, :mod:`romnet.online.enrichment`)
writes each new state as a *version*; the store's own ``/rom`` (written by ``romnet
offline`` / ``romnet cluster``) is version 0 and is never modified by learning. Learned
versions live in a folder next to the store, so that writing one does not rewrite the
(possibly large) case store::

    case.h5                 the case store; /rom = version 0
    case.h5.roms/
        index.json          {"format", "base": {"created", "token"}, "current": v,
                             "versions": [{"version", "parent", "file", "created", "log"}]}
        v0001.h5            version 1: /rom (the whole ROM tree: global + local ROMs,
        v0002.h5            operators, points) with only the POD mode columns appended
        ...                 since its parent (see :mod:`romnet.offline.rom_store`)

Every file is written to a temporary name and renamed (atomic on POSIX): a killed write
leaves the previous index and versions intact. ``current`` selects the version the online
stage loads (:func:`use_version` rolls back or forward); versions are never deleted by
learning. The index records the ``created`` attribute of the store's ``/rom`` it extends:
when ``romnet offline`` writes a new ``/rom``, the learned versions of the old one are
ignored (``stale``; :func:`read_index` says so) and the next learned version starts a new
index.

This module only manages the index and the file names; the HDF5 contents are written and
read by the ``/rom`` owner (:func:`romnet.offline.rom_store.write_rom_version`,
:func:`romnet.offline.rom_store.read_rom` with ``version=``).
"""
from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from ..errors import StoreError

__all__ = ["VERSIONS_FORMAT", "versions_dir", "read_index", "current_version", "version_file",
           "next_version", "add_version", "use_version", "describe_versions", "atomic_write_bytes"]

VERSIONS_FORMAT = "romnet-rom-versions"


def versions_dir(store) -> Path:
    """Folder of the learned versions of ``store`` (``<store>.roms``)."""
    p = Path(store)
    return p.with_name(p.name + ".roms")


def atomic_write_bytes(path: Path, data: bytes):
    """Write ``data`` to ``path`` atomically (:func:`romnet.store.atomic_replace`: a
    temporary file in the same folder renamed over it, under the file's write lock)."""
    from ..store import atomic_replace
    path = Path(path)
    with atomic_replace(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def _empty(base) -> dict:
    return {"format": VERSIONS_FORMAT, "base": dict(base), "current": 0, "versions": []}


def read_index(store, base=None) -> dict:
    """The index of ``store``'s learned versions (an empty index when there is none). With
    ``base`` (the ``{"created", "token"}`` of the store's current ``/rom``), an index that
    extends another ``/rom`` is returned empty with ``stale`` set to its version count."""
    path = versions_dir(store) / "index.json"
    if not path.is_file():
        return _empty(base or {})
    try:
        idx = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: unreadable index of learned ROM versions ({exc})") from None
    if not isinstance(idx, dict) or idx.get("format") != VERSIONS_FORMAT or not isinstance(idx.get("versions"), list):
        raise StoreError(f"{path}: not an index of learned ROM versions (format {idx.get('format')!r})"
                         if isinstance(idx, dict) else f"{path}: not an index of learned ROM versions")
    if base is not None and idx.get("base") != dict(base):
        out = _empty(base)
        out["stale"] = len(idx["versions"])
        return out
    known = {0} | {int(v["version"]) for v in idx["versions"]}
    if int(idx.get("current", 0)) not in known:
        raise StoreError(f"{path}: current version {idx.get('current')} is not in the index")
    return idx


def current_version(store, base=None) -> int:
    """The version the online stage loads (0: the store's own ``/rom``)."""
    return int(read_index(store, base).get("current", 0))


def version_file(store, v: int) -> Path:
    """HDF5 file of learned version ``v`` (>= 1)."""
    return versions_dir(store) / f"v{int(v):04d}.h5"


def next_version(store, base) -> int:
    idx = read_index(store, base)
    return 1 + max([0] + [int(v["version"]) for v in idx["versions"]])


def add_version(store, base, v: int, parent: int, log: dict):
    """Record version ``v`` (its file already written) as the current one (index rewritten
    atomically; a stale index is replaced)."""
    idx = read_index(store, base)
    if idx.pop("stale", None):
        idx = _empty(base)
    idx["versions"].append(dict(version=int(v), parent=int(parent), file=version_file(store, v).name,
                                created=datetime.now(UTC).isoformat(timespec="seconds"), log=log))
    idx["current"] = int(v)
    atomic_write_bytes(versions_dir(store) / "index.json", json.dumps(idx, indent=1, default=str).encode())


def use_version(store, v: int, base=None):
    """Make version ``v`` the current one (0: the store's own ``/rom``): roll back or forward."""
    idx = read_index(store, base)
    known = {0} | {int(x["version"]) for x in idx["versions"]}
    if int(v) not in known:
        raise StoreError(f"{store}: no learned ROM version {v} (versions: {sorted(known)})")
    if idx.get("stale"):
        raise StoreError(f"{store}: the learned versions extend an older /rom (rewritten by romnet offline)")
    idx["current"] = int(v)
    atomic_write_bytes(versions_dir(store) / "index.json", json.dumps(idx, indent=1, default=str).encode())


def describe_versions(store, base=None) -> str:
    """Lines for ``romnet info``: the learned versions and which one is current ('' if none)."""
    idx = read_index(store, base)
    if idx.get("stale"):
        return f"  learned versions: {idx['stale']} of an older /rom (ignored; the next enrichment starts anew)"
    if not idx["versions"]:
        return ""
    cur = int(idx["current"])
    lines = [f"  learned versions: {len(idx['versions'])} (current: {cur}{' = the offline ROM' if cur == 0 else ''};"
             f" folder {versions_dir(store).name})"]
    for v in idx["versions"][-5:]:
        lg = v.get("log", {})
        lines.append(f"    v{int(v['version'])} (from v{int(v['parent'])}, {v.get('created', '?')}): "
                     + ", ".join(f"{k} {val}" for k, val in lg.items() if not isinstance(val, (list, dict))))
    if len(idx["versions"]) > 5:
        lines.insert(1, f"    ... {len(idx['versions']) - 5} earlier")
    return "\n".join(lines)
