"""Case directories: ``case.toml`` reading and validation.

One schema per table (:mod:`romnet.settings`), declared by its owner and composed here:

==============  ==========================================================================
table           schema (keys, kinds, defaults, one-line docs)
==============  ==========================================================================
``[case]``      :class:`CaseSettings` (name, description, steps)
``[import]``    :class:`ImportSettings` (code, path; required by the step import)
``[generate]``  :class:`GenerateSettings` (script, variant, seed)
``[training]``  :class:`romnet.offline.training.TrainingSettings`
``[offline]``   :class:`romnet.offline.settings.OfflineSettings` +
                :class:`romnet.offline.settings.ClusterSettings`
``[online]``    :class:`romnet.online.settings.OnlineSettings` (the same dialect as
                ``romnet online --config``)
``[report]``    :class:`ReportSettings` (speedup_runs)
``[cycles]``    :class:`romnet.app.cycles.CycleSettings` (checked by the step cycles)
==============  ==========================================================================

Every table and key is checked; a problem is a :class:`ConfigError` naming the file, the
table and the key (``case.toml: [online] samples: expected an integer >= 1, got 'ten'``).
Paths are relative to the case directory. ``[offline]`` keeps only the keys given (the
offline stage fills its own defaults); the other tables get their defaults filled in.
``romnet run`` runs ``[case] steps`` in order (:mod:`romnet.app.workflow`); ``offline``
after ``cluster`` is refused (it would replace the ROM that holds the local ROMs by a
global one).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..offline.settings import ClusterSettings, OfflineSettings
from ..offline.training import TrainingSettings
from ..online.settings import OnlineSettings
from ..settings import REQUIRED, Int, ListOf, PathKind, Str, check_table, setting, specs
from .cycles import CycleSettings
from .workflow.steps import STEPS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["STEP_NAMES", "TABLES", "read_toml", "validate", "load_case_config", "online_settings", "case_table",
           "CaseSettings", "ImportSettings", "GenerateSettings", "ReportSettings"]

#: the steps of ``romnet run``, in the order they usually run
STEP_NAMES = tuple(STEPS)


@dataclass
class CaseSettings:
    """``[case]``."""
    name: str = setting(None, Str(), "output folder name out/<name> (default: the directory name)")
    description: str = setting("", Str(), "one line shown by romnet run and the report")
    steps: list = setting(REQUIRED, ListOf(Str(STEP_NAMES)), "the steps to run, in order")


@dataclass
class ImportSettings:
    """``[import]``: the step import (an adapter reads ``path``)."""
    code: str = setting(REQUIRED, Str(), "adapter name (romnet import --list)")
    path: str = setting(REQUIRED, PathKind, "file or directory to import")


@dataclass
class GenerateSettings:
    """``[generate]``: the step generate (a generator script's build_case(variant, seed))."""
    script: str = setting("problem.py", PathKind, "generator script (defines build_case and SAMPLER)")
    variant: str = setting("small", Str(), "variant passed to build_case")
    seed: int = setting(0, Int(ge=0), "seed passed to build_case")


@dataclass
class ReportSettings:
    """``[report]``."""
    speedup_runs: list = setting([10, 100, 1000], ListOf(Int(ge=1), nonempty=True),
                                 "run counts of the extrapolated speed-up table")


#: table -> schemas; ``[cycles]`` is passed on to the step cycles, which checks it
TABLES = {"case": (CaseSettings,), "import": (ImportSettings,), "generate": (GenerateSettings,),
          "training": (TrainingSettings,), "offline": (OfflineSettings, ClusterSettings),
          "online": (OnlineSettings,), "report": (ReportSettings,), "cycles": (CycleSettings,)}
#: tables whose defaults are filled in by the reader
FILLED = ("case", "import", "generate", "training", "online", "report")
#: step -> the table whose required keys it needs
NEEDS = {"import": "import", "train": "training"}


def read_toml(path) -> dict:
    """Parsed TOML file; a missing or malformed file is a ConfigError naming it."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{p}: {exc}") from exc


def _resolve(out: dict, table: str, base: Path):
    """Path keys of a checked table, resolved against ``base``."""
    for key, s in specs(*TABLES[table]).items():
        if s.kind.path and out.get(key) is not None:
            out[key] = (base / out[key]).resolve()


def online_settings(table: dict, where, base: Path, note=None) -> dict:
    """The checked ``[online]`` table (defaults filled, ``loading`` resolved against
    ``base``); ``loading`` and ``samples`` exclude each other (a Monte Carlo samples its
    own loadings)."""
    out = check_table(table, TABLES["online"], where, "online", note=note)
    if "loading" in out and "samples" in out:
        raise ConfigError(f"{where}: [online] loading: one run on a given loading and a Monte Carlo "
                          "(samples) exclude each other")
    _resolve(out, "online", base)
    return out


def validate(cfg: dict, path, case_dir, note=None) -> dict:
    """Checked copy of a parsed case.toml (module docstring); ``path`` names the file in
    messages, relative paths are resolved against ``case_dir``; ``note`` receives the
    deprecation notes of old spellings."""
    case_dir = Path(case_dir)
    for name in cfg:
        if name not in TABLES:
            raise ConfigError(f"{path}: [{name}]: unknown table (known: {', '.join(sorted(TABLES))})")
    given = cfg.get("case", {}).get("steps") if isinstance(cfg.get("case"), dict) else None
    bad = [s for s in given if isinstance(s, str) and s not in STEP_NAMES] if isinstance(given, list) else []
    if bad:
        raise ConfigError(f"{path}: [case] steps: unknown step '{bad[0]}' (known: {', '.join(STEP_NAMES)})")
    out = {}
    for name in TABLES:
        table = cfg.get(name, {})
        if name == "cycles":                   # checked by the step (romnet.app.cycles.check_settings)
            if name in cfg:
                if not isinstance(table, dict):
                    raise ConfigError(f"{path}: [cycles]: expected a table, got {type(table).__name__}")
                out[name] = dict(table)
            continue
        if name == "online":
            out[name] = online_settings(table, path, case_dir, note)
            continue
        if name in cfg or name in FILLED:
            out[name] = check_table(table, TABLES[name], path, name, fill=name in FILLED, note=note)
            _resolve(out[name], name, case_dir)
    case = out["case"]
    case.setdefault("name", case_dir.resolve().name)
    if "steps" not in case:
        raise ConfigError(f"{path}: [case] steps: missing required key (the steps to run, in order; "
                          f"known: {', '.join(STEP_NAMES)})")
    steps = case["steps"]
    if "cluster" in steps and "offline" in steps[steps.index("cluster"):]:
        raise ConfigError(f"{path}: [case] steps: 'offline' after 'cluster' would replace the clustered "
                          "ROM (global + local ROMs) by a global one; the step cluster already builds "
                          "the global ROM")
    for step, table in NEEDS.items():
        if step in steps:
            for key, s in specs(*TABLES[table]).items():
                if s.required and key not in cfg.get(table, {}):
                    raise ConfigError(f"{path}: [{table}] {key}: missing required key (step '{step}')")
    if "import" in steps and not out["import"]["path"].exists():
        raise ConfigError(f"{path}: [import] path: does not exist: {out['import']['path']}")
    if "generate" in steps or "generate" in cfg:
        if not out["generate"]["script"].is_file():
            raise ConfigError(f"{path}: [generate] script: no such file: {out['generate']['script']}")
    else:
        del out["generate"]
    if "import" not in cfg:
        del out["import"]
    return out


def case_table(path, name, note=None) -> dict:
    """One table of a case.toml given to a single command (``romnet offline --config``,
    ``romnet cluster --config``, ``romnet online --config``), checked with its schema
    (:data:`TABLES`; ``[offline]`` keeps only the keys given); path keys resolved against
    the file's directory. A missing table (or ``path`` None) is an empty one."""
    path = None if path is None else Path(path)
    table = read_toml(path).get(name, {}) if path is not None else {}
    base = path.parent if path is not None else Path(".")
    if name == "online":
        return online_settings(table, path, base, note)
    out = check_table(table, TABLES[name], path, name, fill=name in FILLED, note=note)
    _resolve(out, name, base)
    return out


def load_case_config(case_dir, note=None) -> dict:
    """The validated settings of ``case_dir/case.toml`` (:func:`validate`); ``_path``: the
    file, ``_dir``: the case directory."""
    case_dir = Path(case_dir)
    path = case_dir / "case.toml"
    if not path.is_file():
        raise ConfigError(f"{path}: no case.toml in case directory '{case_dir}'")
    cfg = validate(read_toml(path), path, case_dir, note)
    cfg["_path"] = path
    cfg["_dir"] = case_dir
    return cfg
