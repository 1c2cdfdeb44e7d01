"""romnet exception types.

Every failure caused by user input (files, decks, configs, stores) is raised as a
subclass of :class:`RomnetError` whose message names the file, the place in it and the
problem, e.g. ``cube.geof:347: element 12: unknown element type 'c3d99'``. Messages are
one line of printable characters (:func:`printable`: binary content quoted from a file is
shown escaped and cut).
"""
from __future__ import annotations

import os

#: longest message part quoted from a file (characters, after escaping)
QUOTE_LIMIT = 200


def printable(text, limit: int | None = None) -> str:
    """``text`` on one line of printable characters: bytes decoded as Latin-1, control and
    non-printable characters (newlines included) shown escaped (``\\n``, ``\\x00``,
    ``\\u2028``), cut to ``limit`` characters (``...`` appended) when given."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("latin-1")
    text = str(text)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "..."
    return text


class RomnetError(Exception):
    """Base class of every error romnet raises on purpose."""


class InputError(RomnetError):
    """Bad or unsupported content in an input file.

    Parameters
    ----------
    message : what is wrong.
    path : the file (str or os.PathLike), if known.
    where : the place in the file: a line number (int), a byte offset ("byte 1234"),
        a record name, ...
    """

    def __init__(self, message: str, path=None, where=None):
        message = printable(message, 4 * QUOTE_LIMIT)
        self.problem = message
        self.path = os.fspath(path) if path is not None else None
        self.where = where
        prefix = ""
        if self.path is not None:
            prefix = printable(self.path)
            if where is not None:
                prefix += f":{where}"
            prefix += ": "
        elif where is not None:
            prefix = f"{where}: "
        super().__init__(prefix + message)


class UnsupportedError(InputError):
    """Input that is well formed but outside what romnet supports (keyword, element...)."""


class StoreError(RomnetError):
    """A case store (HDF5) that cannot be read or written as asked."""


class SchemaVersionError(StoreError):
    """A case store written with another schema version."""


class MaterialError(RomnetError):
    """An invalid or unsupported material description."""


class ConvergenceError(RomnetError):
    """A nonlinear solve (local law integration or global Newton) that did not converge."""


class ConfigError(RomnetError):
    """Invalid command-line or case.toml settings."""


class DependencyError(RomnetError):
    """A dependency (petsc4py, mpi4py, ...) missing or older than romnet supports, for what
    was asked; the message says what is needed (docs/install.md)."""
