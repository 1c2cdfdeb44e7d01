"""Case directories: ``case.toml`` reading and validation.

Every table and key is checked; a problem is a :class:`ConfigError` naming the file, the
table and the key (``case.toml: [online] samples: expected an integer >= 1, got 'ten'``).
Paths are relative to the case directory. Tables (``romnet run`` runs ``[case] steps`` in
order; ``docs`` of each step: :mod:`romnet.workflow`)::

    [case]        name (default: directory name), description, steps (required)
    [import]      code, path                        (required by the step import)
    [generate]    script = "problem.py", variant = "small", seed = 0
    [training]    samples (required by train), seed = 0, increments, fields, elastic = 0
    [offline]     the settings of romnet.offline.pipeline.DEFAULTS (pod_tol, ecm_tol, ...)
                  + clustering: clusters, max_clusters, dissimilarity (step cluster)
    [online]      samples (Monte Carlo when set), seed, tolerance, hf_references, enrich,
                  cluster, ratio
    [report]      speedup_runs (list of run counts of the extrapolated speed-up table)
    [cycles]      passed on unchecked to romnet.cycles.run_cycle_extrapolation (it validates)

Steps: import, generate, info, verify-law, hifi, train, cluster, offline, online, cycles,
report. ``offline`` after ``cluster`` is refused (it would replace the ROM that holds the
local ROMs by a global one).
"""
from __future__ import annotations

import math
from pathlib import Path

from .errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

KNOWN_STEPS = ("import", "generate", "info", "verify-law", "hifi", "train", "cluster", "offline",
               "online", "cycles", "report")


def read_toml(path) -> dict:
    """Parsed TOML file; a missing or malformed file is a ConfigError naming it."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{p}: {exc}") from exc


# ------------------------------------------------------------------------ value kinds
def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(float(v))


#: kind -> (test, description for the message)
KINDS = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int": (_is_int, "an integer"),
    "int>=0": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "int>=1": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "num>0": (lambda v: _is_num(v) and v > 0, "a number > 0"),
    "strlist": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings"),
    "intlist": (lambda v: isinstance(v, list) and all(_is_int(x) for x in v), "a list of integers"),
    "str|strlist": (lambda v: isinstance(v, str) or (isinstance(v, list) and v
                                                      and all(isinstance(x, str) for x in v)),
                    "a string or a non-empty list of strings"),
    "bool|auto": (lambda v: isinstance(v, bool) or v == "auto", 'true, false or "auto"'),
    "clusters": (lambda v: (_is_int(v) and v >= 1) or v == "auto"
                 or (isinstance(v, list) and v and all(_is_int(x) and x >= 1 for x in v)),
                 'an integer >= 1, a list of them or "auto"'),
    "cluster": (lambda v: v in ("classifier", "global") or (_is_int(v) and v >= 0),
                '"classifier", "global" or a cluster index >= 0'),
    "runlist": (lambda v: isinstance(v, list) and v and all(_is_int(x) and x >= 1 for x in v),
                "a non-empty list of integers >= 1"),
    "any": (lambda v: True, "anything"),
}

#: [offline] keys of romnet.offline.pipeline.DEFAULTS (kinds); a DEFAULTS key missing here
#: is accepted with any value (load_config checks it)
OFFLINE_KINDS = dict(series="str|strlist", displacement="str", dual_fields="strlist", pod_tol="num>0",
                     pod_max_modes="int>=1", dual_tol="num>0", dual_max_modes="int>=1", ecm_tol="num>0",
                     ecm_stress="str", ecm_max_points="int>=1", warm_start="intlist",
                     qdeim_fields="strlist", reorthogonalize="bool|auto")
#: [offline] keys of the clustering step (romnet.offline.local_bases.run_clustering)
CLUSTER_KINDS = dict(clusters="clusters", max_clusters="int>=1", dissimilarity="str")


def _offline_schema():
    try:
        from .offline.pipeline import DEFAULTS
        keys = list(DEFAULTS)
    except ImportError:  # pragma: no cover - offline stage absent from the build
        keys = list(OFFLINE_KINDS)
    return {**{k: (OFFLINE_KINDS.get(k, "any"), None) for k in keys},
            **{k: (v, None) for k, v in CLUSTER_KINDS.items()}}


#: table -> {key: (kind, default)}; default None = optional without default
SCHEMA = {
    "case": dict(name=("str", None), description=("str", ""), steps=("strlist", None)),
    "import": dict(code=("str", None), path=("str", None)),
    "generate": dict(script=("str", "problem.py"), variant=("str", "small"), seed=("int>=0", 0)),
    "training": dict(samples=("int>=1", None), seed=("int>=0", 0), increments=("int>=1", None),
                     fields=("strlist", None), elastic=("int>=0", 0)),
    "online": dict(samples=("int>=1", None), seed=("int>=0", 1000), tolerance=("num>0", 1e-3),
                   hf_references=("int>=0", 0), enrich=("bool", False), cluster=("cluster", "classifier"),
                   ratio=("num>0", None)),
    "report": dict(speedup_runs=("runlist", [10, 100, 1000])),
    "cycles": None,      # any keys: romnet.cycles validates them
    "offline": None,     # built from the offline stage's DEFAULTS (_offline_schema)
}

#: keys a step needs: step -> [(table, key)]
REQUIRED = {"import": [("import", "code"), ("import", "path")], "train": [("training", "samples")]}


def _check_table(path, name, table, schema):
    """Unknown keys and wrong types of one table; defaults filled in (a new dict)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{name}]: expected a table, got {type(table).__name__}")
    if schema is None:
        return dict(table)
    for key, v in table.items():
        if key not in schema:
            raise ConfigError(f"{path}: [{name}] {key}: unknown key (known: {', '.join(sorted(schema))})")
        test, what = KINDS[schema[key][0]]
        if not test(v):
            raise ConfigError(f"{path}: [{name}] {key}: expected {what}, got {v!r}")
    out = {k: d for k, (_, d) in schema.items() if d is not None}
    out.update(table)
    return out


def validate(cfg: dict, path, case_dir) -> dict:
    """Checked copy of a parsed case.toml (module docstring); ``path`` names the file in
    messages, relative paths are resolved against ``case_dir``."""
    case_dir = Path(case_dir)
    schema = dict(SCHEMA, offline=_offline_schema())
    for name in cfg:
        if name not in schema:
            raise ConfigError(f"{path}: [{name}]: unknown table (known: {', '.join(sorted(schema))})")
    out = {name: _check_table(path, name, cfg.get(name, {}), schema[name])
           for name in schema if name in cfg or name in ("case",)}
    case = out["case"]
    case.setdefault("name", case_dir.resolve().name)
    if "steps" not in case:
        raise ConfigError(f"{path}: [case] steps: missing required key (the steps to run, in order; "
                          f"known: {', '.join(KNOWN_STEPS)})")
    steps = case["steps"]
    for s in steps:
        if s not in KNOWN_STEPS:
            raise ConfigError(f"{path}: [case] steps: unknown step '{s}' (known: {', '.join(KNOWN_STEPS)})")
    if "cluster" in steps and "offline" in steps[steps.index("cluster"):]:
        raise ConfigError(f"{path}: [case] steps: 'offline' after 'cluster' would replace the clustered "
                          "ROM (global + local ROMs) by a global one; the step cluster already builds "
                          "the global ROM")
    for step, keys in REQUIRED.items():
        if step in steps:
            for table, key in keys:
                if key not in out.get(table, {}):
                    raise ConfigError(f"{path}: [{table}] {key}: missing required key (step '{step}')")
    if "import" in out:
        imp = out["import"]
        if "path" in imp:
            imp["path"] = (case_dir / imp["path"]).resolve()
            if "import" in steps and not imp["path"].exists():
                raise ConfigError(f"{path}: [import] path: does not exist: {imp['path']}")
    if "generate" in steps or "generate" in out:
        gen = out.setdefault("generate", _check_table(path, "generate", {}, schema["generate"]))
        gen["script"] = (case_dir / gen["script"]).resolve()
        if not gen["script"].is_file():
            raise ConfigError(f"{path}: [generate] script: no such file: {gen['script']}")
    for name in ("training", "online", "report", "offline"):
        out.setdefault(name, _check_table(path, name, {}, schema[name]))
    return out


def load_case_config(case_dir) -> dict:
    """The validated settings of ``case_dir/case.toml`` (:func:`validate`); ``_path``: the
    file, ``_dir``: the case directory."""
    case_dir = Path(case_dir)
    path = case_dir / "case.toml"
    if not path.is_file():
        raise ConfigError(f"{path}: no case.toml in case directory '{case_dir}'")
    cfg = validate(read_toml(path), path, case_dir)
    cfg["_path"] = path
    cfg["_dir"] = case_dir
    return cfg
