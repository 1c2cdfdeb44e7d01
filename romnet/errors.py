"""romnet exception types.

Every failure caused by user input (files, decks, configs, stores) is raised as a
subclass of :class:`RomnetError` whose message names the file, the place in it and the
problem, e.g. ``cube.geof:347: element 12: unknown element type 'c3d99'``.
"""
from __future__ import annotations

import os


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
        self.problem = message
        self.path = os.fspath(path) if path is not None else None
        self.where = where
        prefix = ""
        if self.path is not None:
            prefix = self.path
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
