"""Keyword-deck tokenizer (Abaqus / CalculiX ``.inp``).

Rules (Abaqus "Input syntax rules", also CalculiX's):

* ``**`` starts a comment line; blank lines are ignored;
* a line starting with ``*`` is a keyword line: ``*NAME, PARAM=VALUE, FLAG``; keyword and
  parameter names are case-insensitive (upper-cased here), so are set, surface and
  material names (upper-cased too, as both codes do); a keyword line ending with ``,``
  continues on the next line;
* other lines are data lines: comma-separated tokens (a trailing comma is dropped);
* ``*INCLUDE, INPUT=file`` inserts another file (relative to the including file).

Every keyword and data line keeps its file and 1-based line number for error messages.

Abaqus parts and instances: a keyword inside ``*PART ... *END PART`` or ``*INSTANCE ...
*END INSTANCE`` has the ``scope`` of the instance (the part's one instance): the sets and
surfaces it defines are named ``INSTANCE.NAME`` (how the assembly refers to them) and the
names it uses are looked up there first (:meth:`Keyword.key`, :meth:`Keyword.find`), so a
part set and an assembly set of the same name stay two sets. The assembly is read flat:
a part with several instances is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from romnet.errors import InputError

#: maximum nesting of *INCLUDE
MAX_INCLUDE_DEPTH = 10


@dataclass
class Keyword:
    """One keyword block.

    ``name`` upper-case keyword without the star (``"SOLID SECTION"``); ``params`` upper-case
    parameter name -> value (``None`` for a flag), values upper-cased except ``INPUT``;
    ``data`` list of (line number, token list); ``path``/``line`` where the keyword stands.
    """

    name: str
    params: dict
    path: Path
    line: int
    data: list = field(default_factory=list)
    scope: str | None = None

    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def key(self, name: str) -> str:
        """Key of a set / surface this keyword defines (scoped inside a part or instance)."""
        name = name.upper()
        return f"{self.scope}.{name}" if self.scope else name

    def find(self, table, name):
        """Key of ``name`` in ``table`` as seen from this keyword (its scope first), or None."""
        name = name.upper()
        if self.scope and f"{self.scope}.{name}" in table:
            return f"{self.scope}.{name}"
        return name if name in table else None

    def param(self, key, default=None, required=False):
        if key in self.params:
            return self.params[key]
        if required:
            raise InputError(f"*{self.name}: missing parameter {key}=", self.path, self.line)
        return default

    def error(self, msg, line=None, cls=InputError):
        return cls(f"*{self.name}: {msg}", self.path, self.line if line is None else line)


@dataclass
class Deck:
    """A parsed deck: keyword blocks in file order, and the files read."""

    path: Path
    keywords: list
    files: list


def read_deck_text(path) -> str:
    """Text of a deck file; InputError if missing, a directory, binary or empty."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", p)
    if p.is_dir():
        raise InputError("is a directory, expected a file", p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", p) from exc
    if not raw.strip():
        raise InputError("empty file", p)
    if b"\0" in raw:
        pos = raw.index(b"\0")
        raise InputError("binary content (NUL byte) in a text deck", p, f"byte {pos}")
    return raw.decode("utf-8", errors="replace")


def _split_params(text: str, path, line):
    parts = [t.strip() for t in text.split(",")]
    name = " ".join(parts[0].lstrip("*").upper().split())
    if not name:
        raise InputError("empty keyword name", path, line)
    params = {}
    for tok in parts[1:]:
        if not tok:
            continue
        if "=" in tok:
            k, v = tok.split("=", 1)
            k = k.strip().upper()
            v = v.strip()
            params[k] = v if k in ("INPUT", "FILE") else v.upper()
        else:
            params[tok.upper()] = None
    return name, params


def parse_deck(path, _depth=0, _files=None) -> Deck:
    """Split ``path`` into :class:`Keyword` blocks (``*INCLUDE`` expanded)."""
    path = Path(path)
    files = [] if _files is None else _files
    files.append(str(path))
    text = read_deck_text(path)
    keywords: list = []
    current = None
    pending = None  # (start line, text) of a keyword line continued with ','
    for num, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s or s.startswith("**"):
            continue
        if pending is not None:
            start, acc = pending
            acc += s
            if s.endswith(","):
                pending = (start, acc)
                continue
            pending = None
            current = _keyword(acc, path, start, keywords, _depth, files)
            continue
        if s.startswith("*"):
            if s.endswith(","):
                pending = (num, s)
                continue
            current = _keyword(s, path, num, keywords, _depth, files)
            continue
        if current is None:
            raise InputError("data line before the first keyword", path, num)
        toks = [t.strip() for t in s.split(",")]
        if toks and toks[-1] == "":
            toks.pop()
        current.data.append((num, toks))
    if pending is not None:
        raise InputError("keyword line continued (trailing ',') at the end of the file", path, pending[0])
    if not keywords:
        raise InputError("no keyword (*...) in the deck", path)
    if _depth == 0:
        _assign_scopes(keywords)
    return Deck(path, keywords, files)


def _assign_scopes(keywords):
    """Scope (instance name) of the keywords inside parts and instances (module docstring)."""
    from romnet.errors import UnsupportedError
    instances = {}
    for kw in keywords:
        if kw.name == "INSTANCE":
            part = kw.param("PART")
            name = kw.param("NAME", required=True)
            if part in instances:
                raise kw.error(f"a second instance ({name}) of part {part}: romnet reads the assembly flat "
                               "(one instance per part)", cls=UnsupportedError)
            if part:
                instances[part] = name
    scope = None
    for kw in keywords:
        if kw.name == "PART":
            scope = instances.get(kw.param("NAME", required=True))
        elif kw.name == "INSTANCE":
            scope = kw.param("NAME")
        elif kw.name in ("END PART", "END INSTANCE"):
            scope = None
        else:
            kw.scope = scope


def _keyword(text, path, line, keywords, depth, files):
    name, params = _split_params(text, path, line)
    if name == "INCLUDE":
        inc = params.get("INPUT")
        if not inc:
            raise InputError("*INCLUDE: missing INPUT=", path, line)
        if depth >= MAX_INCLUDE_DEPTH:
            raise InputError(f"*INCLUDE nested more than {MAX_INCLUDE_DEPTH} levels", path, line)
        p = Path(inc)
        if not p.is_absolute():
            p = path.parent / p
        if not p.is_file():
            raise InputError(f"*INCLUDE: file '{inc}' not found (looked for {p})", path, line)
        keywords.extend(parse_deck(p, depth + 1, files).keywords)
        return None
    kw = Keyword(name, params, path, line)
    keywords.append(kw)
    return kw
