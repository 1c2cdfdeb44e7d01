"""Settings schemas: one dataclass per ``case.toml`` table, declared by the layer that
uses the settings.

Each field of a schema dataclass is declared with :func:`setting`: its default, its
:class:`Kind` (type, allowed range or values, item type of a list, path), a one-line
doc and the old spellings it replaces. The owners: ``[offline]``
(:class:`romnet.offline.settings.OfflineSettings` + ``ClusterSettings``), ``[online]``
(:class:`romnet.online.settings.OnlineSettings`), ``[training]``
(:class:`romnet.offline.training.TrainingSettings`), the application's tables
(``[case]``, ``[import]``, ``[generate]``, ``[report]``, ``[cycles]``:
:mod:`romnet.app.config`, :mod:`romnet.app.cycles`). A default lives in its schema only;
code that needs it reads it from there (``OnlineSettings.tolerance`` is the default
value, :func:`defaults` gives them all).

:func:`check_table` validates one table (a dict) against one or several schemas: an
unknown key, a value of the wrong kind or a missing required key is a
:class:`romnet.errors.ConfigError` naming the file, the table and the key, e.g.
``case.toml: [online] samples: expected an integer >= 1, got 'ten'``; an old spelling is
renamed with a deprecation note (``note``) or refused with an error naming the new key.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from pathlib import Path

import numpy as np

from .errors import ConfigError

__all__ = ["Kind", "Int", "Num", "Name", "Bool", "Str", "ListOf", "OneOf", "Const", "PathKind", "Any", "setting",
           "Setting", "specs", "defaults", "check_table", "describe", "REQUIRED"]


class Kind:
    """A kind of value: ``test(v) -> bool`` and the text of the error message
    (``expected <text>``); ``path``: a string naming a file, resolved relative to the
    case directory by the reader."""

    def __init__(self, test, text, path=False):
        self.test, self.text, self.path = test, text, path

    def __call__(self, v) -> bool:
        return bool(self.test(v))

    def __repr__(self):
        return f"Kind({self.text!r})"


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_num(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(float(v))


def Int(ge=None, le=None) -> Kind:
    """An integer (``ge`` / ``le``: smallest / largest allowed value)."""
    text = "an integer" + ("" if ge is None else f" >= {ge}") + ("" if le is None else
                                                                  f"{' and' if ge is not None else ''} <= {le:g}")
    return Kind(lambda v: _is_int(v) and (ge is None or v >= ge) and (le is None or v <= le), text)


def Num(gt=None, ge=None, le=None) -> Kind:
    """A finite number (``gt`` / ``ge``: exclusive / inclusive lower bound; ``le``:
    inclusive upper bound)."""
    text = "a number" + (f" > {gt:g}" if gt is not None else "") + (f" >= {ge:g}" if ge is not None else "") \
        + ("" if le is None else f"{' and' if gt is not None or ge is not None else ''} <= {le:g}")
    return Kind(lambda v: _is_num(v) and (gt is None or v > gt) and (ge is None or v >= ge)
                and (le is None or v <= le), text)


def Name() -> Kind:
    """A plain file or folder name: letters, digits, ``.``, ``_``, ``-`` (not starting
    with ``.``), at most 100 characters (no path separator: it cannot leave its folder)."""
    import re
    pat = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,99}")
    return Kind(lambda v: isinstance(v, str) and pat.fullmatch(v) is not None,
                "a plain name (letters, digits, '.', '_', '-'; no '/', not starting with '.'; 1-100 characters)")


Bool = Kind(lambda v: isinstance(v, (bool, np.bool_)), "true or false")
Any = Kind(lambda v: True, "anything")
PathKind = Kind(lambda v: isinstance(v, (str, Path)), "a path (string)", path=True)


def Str(choices=None) -> Kind:
    """A string (``choices``: the allowed values)."""
    if choices is None:
        return Kind(lambda v: isinstance(v, str), "a string")
    return Kind(lambda v: isinstance(v, str) and v in choices, "one of " + ", ".join(f'"{c}"' for c in choices))


def Const(*values) -> Kind:
    """One of the given values (strings)."""
    return Kind(lambda v: isinstance(v, str) and v in values, " or ".join(f'"{c}"' for c in values))


def ListOf(item: Kind, nonempty=False, text=None) -> Kind:
    """A list (or tuple / 1-d array) of values of kind ``item``."""
    def test(v):
        if isinstance(v, np.ndarray):
            v = v.tolist() if v.ndim == 1 else None
        return isinstance(v, (list, tuple)) and (len(v) > 0 or not nonempty) and all(item(x) for x in v)
    plural = {"a string": "strings", "an integer": "integers"}.get(item.text, f"values ({item.text})")
    if item.text.startswith("an integer >="):
        plural = "integers" + item.text[len("an integer"):]
    return Kind(test, text or f"a {'non-empty ' if nonempty else ''}list of {plural}")


def OneOf(*kinds: Kind, text=None) -> Kind:
    """A value of any of ``kinds``."""
    return Kind(lambda v: any(k(v) for k in kinds), text or " or ".join(k.text for k in kinds))


#: default of a key that must be given (by the steps / commands that need it)
REQUIRED = dataclasses.MISSING


@dataclasses.dataclass(frozen=True)
class Setting:
    """One key of a table: ``key``, ``kind``, ``default`` (None: optional without default),
    ``doc``, ``renamed`` {old spelling: "deprecated" (renamed with a note) or "error"
    (refused naming the new key)}, ``required`` (only meaningful where the reader asks)."""
    key: str
    kind: Kind
    default: object
    doc: str
    renamed: dict
    required: bool = False


def setting(default, kind: Kind, doc: str, renamed=None):
    """Field of a settings dataclass: ``default`` (None: optional without default;
    :data:`REQUIRED`: must be given where it is needed), ``kind``, one-line ``doc``,
    ``renamed`` {old key: "deprecated" | "error"}."""
    meta = dict(kind=kind, doc=doc, renamed=dict(renamed or {}))
    if default is REQUIRED:
        return dataclasses.field(default=None, metadata={**meta, "required": True})
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def specs(*schemas) -> dict:
    """{key: :class:`Setting`} of one or several schema dataclasses (in declaration order)."""
    out = {}
    for cls in schemas:
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            out[f.name] = Setting(f.name, f.metadata["kind"], default, f.metadata["doc"],
                                  f.metadata["renamed"], bool(f.metadata.get("required", False)))
    return out


def defaults(*schemas) -> dict:
    """{key: default} of every key (None for optional keys without default)."""
    return {k: s.default for k, s in specs(*schemas).items()}


def check_table(table, schemas, where, name, fill=True, note=None) -> dict:
    """Checked copy of one table.

    table : the parsed table (a dict); schemas : a schema dataclass or a tuple of them;
    where : the file (or command) named in messages (None: none); name : the table name;
    fill : add the defaults of the keys not given (those without a default left out);
    note : callable taking a one-line deprecation note (old spellings; default: none).
    Raises :class:`ConfigError` on an unknown key, a wrong value or an old spelling
    refused."""
    schemas = schemas if isinstance(schemas, tuple) else (schemas,)
    sp = specs(*schemas)
    where = f"{where}: " if where else ""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}[{name}]: expected a table, got {type(table).__name__}")
    old = {o: (s.key, how) for s in sp.values() for o, how in s.renamed.items()}
    out = {}
    for key, v in table.items():
        if key not in sp and key in old:
            new, how = old[key]
            if how == "error" or new in table:
                raise ConfigError(f"{where}[{name}] {key}: renamed; use {new} = ... instead")
            if note:
                note(f"{where}[{name}] {key} is deprecated: use {new} (read as {new} = {v!r})")
            key = new
        if key not in sp:
            raise ConfigError(f"{where}[{name}] {key}: unknown key (unknown setting; known: "
                              f"{', '.join(sorted(sp))})")
        if not sp[key].kind(v):
            raise ConfigError(f"{where}[{name}] {key}: expected {sp[key].kind.text}, got {v!r}")
        out[key] = v.item() if isinstance(v, np.generic) else v
    if fill:
        out = {**{k: s.default for k, s in sp.items() if s.default is not None and k not in out}, **out}
    return out


def describe(*schemas) -> str:
    """The keys of a table as text lines ``key = default  kind: doc`` (for docs / help)."""
    lines = []
    for s in specs(*schemas).values():
        d = "required" if s.required else ("none" if s.default is None else repr(s.default))
        lines.append(f"{s.key} = {d}  ({s.kind.text}): {s.doc}")
    return "\n".join(lines)
