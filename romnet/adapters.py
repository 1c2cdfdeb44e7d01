"""Adapter registry (in the FE layer: the cases it returns are validated by
:mod:`romnet.validate`, which needs the element kernel).

An adapter turns one external code's files into a :class:`romnet.case.Case`. Adapters are
plugins: they are found through the ``romnet.adapters`` entry-point group, so the core
never imports one by name. A new code needs one module that defines an :class:`Adapter`
subclass instance and one entry-point line in ``setup.cfg``::

    [options.entry_points]
    romnet.adapters =
        zset = adapters.zset:ADAPTER
"""
from __future__ import annotations

from importlib.metadata import entry_points

from .errors import ConfigError, RomnetError

GROUP = "romnet.adapters"


class Adapter:
    """Base class of importers.

    Attributes: ``name`` (CLI name), ``description`` (one line), ``extras`` (pip extras
    the adapter needs, e.g. ``["ansys"]``), ``suffixes`` (file suffixes it reads).
    """

    name = ""
    description = ""
    extras: list = []
    suffixes: list = []

    def available(self) -> tuple[bool, str]:
        """(True, "") if its dependencies are importable, else (False, why)."""
        return True, ""

    def read(self, path, progress=None):
        """Read ``path`` and return a :class:`romnet.case.Case`.

        Must raise :class:`romnet.errors.InputError` (naming file and place) on bad input.
        ``progress`` is an optional callable taking a one-line message.
        """
        raise NotImplementedError


def _entry_points():
    return entry_points(group=GROUP)


def list_adapters() -> dict:
    """name -> entry point, without importing adapter modules."""
    return {ep.name: ep for ep in _entry_points()}


def get_adapter(name: str) -> Adapter:
    eps = list_adapters()
    if name not in eps:
        raise ConfigError(f"no adapter named '{name}' (available: {', '.join(sorted(eps)) or 'none'}); "
                          "is the package installed (pip install -e .)?")
    try:
        adapter = eps[name].load()
    except ImportError as exc:  # a missing optional dependency
        raise ConfigError(f"adapter '{name}' cannot be loaded: {exc}") from exc
    if not isinstance(adapter, Adapter):
        raise RomnetError(f"entry point '{name}' does not give an Adapter instance")
    return adapter


def import_case(code: str, path, progress=None, validation=None):
    """Read ``path`` with the adapter ``code`` (found through the registry) and return the
    :class:`romnet.case.Case` (mesh, problem where the adapter reads one, results),
    validated (:func:`romnet.validate.validate_case`: finite and plausible values,
    connectivity, Jacobians, material bounds; ``validation`` the ``[validation]`` settings
    relaxing a check, None: the defaults). An unknown or unavailable adapter is a
    :class:`ConfigError`; bad input an :class:`romnet.errors.InputError` naming the file
    and the place."""
    from pathlib import Path

    from .validate import validate_case
    adapter = get_adapter(code)
    ok, why = adapter.available()
    if not ok:
        raise ConfigError(f"adapter '{code}' unavailable: {why}")
    case = adapter.read(Path(path), progress=progress)
    warnings = validate_case(case, Path(path), validation)
    for w in warnings if progress else ():
        progress(f"warning: {w}")
    return case
