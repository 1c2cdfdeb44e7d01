"""Case directories: ``case.toml`` reading and validation.

Schema (all paths relative to the case directory)::

    [case]
    name = "zset_cube"            # output folder name (default: directory name)
    description = "..."
    steps = ["import", "info", "verify-law"]   # what `romnet run` does, in order

    [import]
    code = "zset"                 # adapter name (romnet import --list)
    path = "../../../shared/data/zset/MecaSequential/cube.ut"
"""
from __future__ import annotations

from pathlib import Path

from .errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

KNOWN_STEPS = ("import", "info", "verify-law", "hifi", "offline", "online")


def read_toml(path) -> dict:
    """Parsed TOML file; a missing or malformed file is a ConfigError naming it."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{p}: {exc}") from exc


def load_case_config(case_dir) -> dict:
    case_dir = Path(case_dir)
    path = case_dir / "case.toml"
    if not path.is_file():
        raise ConfigError(f"{path}: no case.toml in case directory '{case_dir}'")
    cfg = read_toml(path)
    case = cfg.setdefault("case", {})
    case.setdefault("name", case_dir.resolve().name)
    steps = case.setdefault("steps", list(KNOWN_STEPS))
    for s in steps:
        if s not in KNOWN_STEPS:
            raise ConfigError(f"{path}: [case] steps: unknown step '{s}' (known: {', '.join(KNOWN_STEPS)})")
    if "import" in steps:
        imp = cfg.get("import")
        if not isinstance(imp, dict) or "code" not in imp or "path" not in imp:
            raise ConfigError(f"{path}: [import] needs 'code' and 'path'")
        imp["path"] = (case_dir / imp["path"]).resolve()
        if not imp["path"].exists():
            raise ConfigError(f"{path}: [import] path does not exist: {imp['path']}")
    cfg["_path"] = path
    return cfg
