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
``[learning]``  :class:`romnet.online.settings.LearningSettings`
``[report]``    :class:`ReportSettings` (speedup_runs)
``[cycles]``    :class:`romnet.app.cycles.CycleSettings`
``[validation]`` :class:`romnet.validate.ValidationSettings` (relaxed data checks of the
                steps import and generate)
==============  ==========================================================================

Every table and key is checked before any step runs; a problem is a :class:`ConfigError`
naming the file, the table and the key (``case.toml: [online] samples: expected an integer
>= 1, got 'ten'``). ``[case] name`` is a plain folder name (it cannot leave the output
folder ``out/``); ``[case] steps`` is not empty. The settings that name series and fields
of the case store (``[offline] series, displacement, dual_fields, ecm_stress,
qdeim_fields``, ``[online] cluster``) are checked by :func:`check_store_names` as soon as
the store exists (after the step import or generate, before the steps that use them),
against the store and the series the step train will add. A case directory is trusted
Python: its ``[generate] script`` runs with the user's rights.
Paths are relative to the case directory. ``[offline]`` keeps only the keys given (the
offline stage fills its own defaults); the other tables get their defaults filled in.
``romnet run`` runs ``[case] steps`` in order (:mod:`romnet.app.workflow`); ``offline``
after ``cluster`` is refused (it would replace the ROM that holds the local ROMs by a
global one).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, printable
from ..offline.settings import ClusterSettings, OfflineSettings
from ..offline.training import TrainingSettings
from ..online.settings import LearningSettings, OnlineSettings
from ..settings import REQUIRED, Int, ListOf, Name, PathKind, Str, check_table, setting, specs
from ..validate import ValidationSettings, settings_from
from .cycles import CycleSettings, check_settings
from .workflow.steps import STEPS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["STEP_NAMES", "TABLES", "read_toml", "validate", "load_case_config", "online_settings", "case_table",
           "check_store_names",
           "CaseSettings", "ImportSettings", "GenerateSettings", "ReportSettings"]

#: the steps of ``romnet run``, in the order they usually run
STEP_NAMES = tuple(STEPS)


@dataclass
class CaseSettings:
    """``[case]``."""
    name: str = setting(None, Name(), "output folder name out/<name> (default: the directory name)")
    description: str = setting("", Str(), "one line shown by romnet run and the report")
    steps: list = setting(REQUIRED, ListOf(Str(STEP_NAMES), nonempty=True), "the steps to run, in order")


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
    seed: int = setting(0, Int(ge=0, le=2**63 - 1), "seed passed to build_case")


@dataclass
class ReportSettings:
    """``[report]``."""
    speedup_runs: list = setting([10, 100, 1000], ListOf(Int(ge=1, le=10**12), nonempty=True),
                                 "run counts of the extrapolated speed-up table")


#: table -> schemas
TABLES = {"case": (CaseSettings,), "import": (ImportSettings,), "generate": (GenerateSettings,),
          "training": (TrainingSettings,), "offline": (OfflineSettings, ClusterSettings),
          "online": (OnlineSettings,), "learning": (LearningSettings,), "report": (ReportSettings,),
          "cycles": (CycleSettings,), "validation": (ValidationSettings,)}
#: tables whose defaults are filled in by the reader
FILLED = ("case", "import", "generate", "training", "online", "learning", "report")
#: step -> the table whose required keys it needs
NEEDS = {"import": "import", "train": "training"}


def read_toml(path) -> dict:
    """Parsed TOML file; a missing or malformed file is a ConfigError naming it."""
    p = Path(path)
    try:
        data = p.read_bytes()
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{p}:{line}: byte {exc.start}: not UTF-8 text (byte {data[exc.start]:#04x}); "
                          "TOML files are UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{p}: nested too deeply") from None


def _resolve(out: dict, table: str, base: Path, where=None):
    """Path keys of a checked table, resolved against ``base`` (a path the system cannot
    take: a ConfigError naming the key)."""
    for key, s in specs(*TABLES[table]).items():
        if s.kind.path and out.get(key) is not None:
            try:
                out[key] = (base / out[key]).resolve()
                out[key].exists()
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{where or base}: [{table}] {key}: not a usable path "
                                  f"({type(exc).__name__}: {printable(exc, 80)})") from None


def online_settings(table: dict, where, base: Path, note=None) -> dict:
    """The checked ``[online]`` table (defaults filled, ``loading`` resolved against
    ``base``); ``loading`` and ``samples`` exclude each other (a Monte Carlo samples its
    own loadings)."""
    out = check_table(table, TABLES["online"], where, "online", note=note)
    if "loading" in out and "samples" in out:
        raise ConfigError(f"{where}: [online] loading: one run on a given loading and a Monte Carlo "
                          "(samples) exclude each other")
    _resolve(out, "online", base, where)
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
        if name == "cycles":                   # the keys given (the step fills the defaults)
            if name in cfg:
                out[name] = check_table(table, TABLES[name], path, name, fill=False, note=note)
                try:
                    check_settings(out[name])
                except ConfigError as exc:
                    raise ConfigError(f"{path}: {exc}") from None
            continue
        if name == "validation":
            out[name] = settings_from(table, path)
            continue
        if name == "online":
            out[name] = online_settings(table, path, case_dir, note)
            continue
        if name in cfg or name in FILLED:
            out[name] = check_table(table, TABLES[name], path, name, fill=name in FILLED, note=note)
            _resolve(out[name], name, case_dir, path)
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
    _resolve(out, name, base, path)
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


def check_store_names(cfg: dict, store) -> None:
    """The settings that name series and fields of the case store, checked against the
    store ``store`` and the series the steps still to run will add (``train``: the
    ``train_NNN`` series with the ``[training] fields``; ``elastic_NNN`` with ``[training]
    elastic``): ``[offline] series`` (names and patterns), ``displacement`` (a nodal
    field), ``ecm_stress``, ``dual_fields``, ``qdeim_fields`` (integration-point fields),
    ``[online] cluster`` (a local ROM index below the largest number of clusters built).
    ConfigError naming case.toml, the table and the key; nothing when no step reads them."""
    import fnmatch

    from ..offline.elastic_snapshots import PREFIX as ELASTIC
    from ..offline.training import SERIES_PREFIX, series_name
    from ..store import CaseStore
    path, steps = cfg.get("_path", "case.toml"), cfg["case"]["steps"]
    off, on = cfg.get("offline", {}), cfg.get("online", {})
    if "cluster" in steps or "online" in steps:
        c = on.get("cluster")
        if isinstance(c, int) and not isinstance(c, bool):
            ks = off.get("clusters", "auto")
            top = max(ks) if isinstance(ks, list) else (ks if isinstance(ks, int) else
                                                        off.get("max_clusters", ClusterSettings.max_clusters))
            if c >= top:
                raise ConfigError(f"{path}: [online] cluster: local ROM {c} does not exist: at most {top} "
                                  f"clusters are built ([offline] clusters / max_clusters)")
    if not ({"offline", "cluster"} & set(steps)):
        return
    fields = {}                                  # series -> (nodal names, integ names)
    with CaseStore(store) as st:
        for s in st.series_names():
            fields[s] = (set(st.field_names(s, "nodal")), set(st.field_names(s, "integ")))
        has_training = st.has("training")
    if "train" in steps:
        tr = cfg.get("training", {})
        nodal = {f for f in tr.get("fields", ()) if f in ("U", "RU")}
        integ = set(tr.get("fields", ())) - nodal
        for i in range(int(tr.get("samples", 0) or 0)):
            fields[series_name(i)] = (nodal, integ)
        for i in range(int(tr.get("elastic", 0) or 0)):
            fields[f"{ELASTIC}{i:03d}"] = (nodal, integ)
        has_training = True
    spec = off.get("series")
    if spec is None:
        spec = [SERIES_PREFIX + "*"] if has_training else "imported"
    names = []
    for s in ([spec] if isinstance(spec, str) else spec):
        hit = fnmatch.filter(list(fields), s) if any(ch in s for ch in "*?[") else [x for x in fields if x == s]
        if not hit:
            raise ConfigError(f"{path}: [offline] series: no result series matches '{s}' in {store} "
                              f"(has: {', '.join(sorted(fields)) or 'none'}; the step train adds train_NNN)")
        names += hit
    nodal, integ = fields[names[0]]
    disp = off.get("displacement", OfflineSettings.displacement)
    if disp not in nodal:
        raise ConfigError(f"{path}: [offline] displacement: '{disp}' is not a nodal field of series "
                          f"'{names[0]}' (has: {', '.join(sorted(nodal)) or 'none'})")
    for key, wanted in (("ecm_stress", [off.get("ecm_stress", OfflineSettings.ecm_stress)]),
                        ("dual_fields", off.get("dual_fields") or []), ("qdeim_fields", off.get("qdeim_fields") or [])):
        bad = [f for f in wanted if f not in integ]
        if bad:
            raise ConfigError(f"{path}: [offline] {key}: '{bad[0]}' is not an integration-point field of series "
                              f"'{names[0]}' (has: {', '.join(sorted(integ)) or 'none'})")
