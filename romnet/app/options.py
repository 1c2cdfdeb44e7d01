"""What the sub-command modules share: rank-0 progress, the ``--cluster`` argument and
the ``--config case.toml`` table of a command (checked with its schema,
:func:`romnet.app.config.case_table`), with command-line options overriding it."""
from __future__ import annotations

import inspect

from .. import mpi
from ..errors import InputError


def say(msg: str):
    """Progress line, printed by rank 0 only (flushed)."""
    mpi.rprint(msg)


def note(msg: str):
    """Deprecation note of an old setting spelling (rank 0)."""
    mpi.rprint(f"romnet: note: {msg}")


def cluster_arg(value):
    """``--cluster``: a local ROM index, ``global`` (or ``classifier``: the default)."""
    if value is None or value == "classifier":
        return None
    if value.lower() == "global":
        return "global"
    try:
        return int(value)
    except ValueError:
        raise InputError(f"--cluster: expected a local ROM index or 'global', got {value!r}") from None


def settings(args, table: str, options: dict) -> dict:
    """The ``[table]`` of ``args.config`` (checked; the defaults of the tables the case.toml
    reader fills in, e.g. ``[online]``, also without ``--config``), updated by the
    command-line ``options`` {key: value} that were given (not None)."""
    from .config import case_table
    cfg = case_table(getattr(args, "config", None), table, note)
    cfg.update({k: v for k, v in options.items() if v is not None})
    return cfg


def command(subparsers, name: str, func):
    """Add the sub-command ``name`` running ``func(args)`` (which returns an exit status):
    its ``--help`` summary is the first paragraph of ``func``'s docstring, its description
    the rest."""
    doc = inspect.getdoc(func) or ""
    head, _, body = doc.partition("\n\n")
    p = subparsers.add_parser(name, help=" ".join(head.split()), description=" ".join((body or head).split()))
    p.set_defaults(func=func)
    return p
