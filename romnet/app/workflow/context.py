"""State shared by the steps of one ``romnet run``: settings, paths, communicator, the
case generator script, step timings and the results the report uses."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ... import mpi
from ...errors import ConfigError, InputError


def load_script(path):
    """The module of a case generator script loaded by path
    (``importlib.util.spec_from_file_location``; registered in ``sys.modules`` under a name
    derived from the absolute path, so dataclasses defined in it work)."""
    path = Path(path).resolve()
    name = "romnet_case_script_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: not a Python script")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:
        del sys.modules[name]
        raise script_error(path, exc) from exc
    if not callable(getattr(mod, "build_case", None)):
        del sys.modules[name]
        raise ConfigError(f"{path}: the generator script defines no build_case(variant, seed)")
    return mod


def script_error(path, exc) -> ConfigError:
    """``<script>: <exception>`` for an exception raised by a case generator script (a case
    directory is trusted Python; the traceback is shown with ``ROMNET_DEBUG=1``, which
    re-raises the error chained to it)."""
    from ...errors import printable
    return ConfigError(f"{path}: {type(exc).__name__}: {printable(exc, 300)}")


@dataclass
class Context:
    """cfg: validated case.toml (:func:`romnet.app.config.load_case_config`); out: output
    folder; store: the case store ``out/case.h5``; timings: [(step, seconds)] of the steps
    done; results: {step: dict} for the report."""
    cfg: dict
    out: Path
    comm: object = None
    progress: object = print
    timings: list = field(default_factory=list)
    results: dict = field(default_factory=dict)
    generator: object = None

    def __post_init__(self):
        self.comm = self.comm or mpi.comm()
        self.out = Path(self.out)

    @property
    def store(self) -> Path:
        return self.out / "case.h5"

    @property
    def root(self) -> bool:
        return self.comm.Get_rank() == 0

    def say(self, msg: str):
        """Print on rank 0 only (flushed)."""
        if self.root and self.progress:
            self.progress(msg)

    def barrier(self):
        self.comm.Barrier()

    def on_root(self, fn, *args, **kw):
        """Run ``fn`` on rank 0; an exception there is raised on every rank (as
        InputError with rank 0's message on the others) so no rank waits forever."""
        err, out = None, None
        if self.root:
            try:
                out = fn(*args, **kw)
            except Exception as exc:  # noqa: BLE001 - re-raised below
                err = exc
        msg = self.comm.bcast(None if err is None else f"{type(err).__name__}: {err}", root=0)
        if err is not None:
            raise err
        if msg is not None:
            raise InputError(f"rank 0 failed: {msg}")
        return out

    def write_json(self, name, data) -> Path:
        """Write ``out/<name>`` (rank 0; NaN/inf as null)."""
        path = self.out / name

        def write():
            path.write_text(json.dumps(_finite(data), indent=1) + "\n")
        self.on_root(write)
        return path

    # ------------------------------------------------------------------ sampler
    def script_module(self):
        """The ``[generate] script`` module (loaded once)."""
        if self.generator is None:
            gen = self.cfg.get("generate")
            if not gen or "script" not in gen:
                return None
            self.generator = load_script(gen["script"])
        return self.generator

    def sampler(self):
        """Temperature sampler of the training and Monte Carlo fields: the generator
        script's ``SAMPLER``, else the one stored with the training family."""
        mod = self.script_module()
        if mod is not None and getattr(mod, "SAMPLER", None) is not None:
            return mod.SAMPLER
        from ...offline.training import training_family
        fam = training_family(self.store)
        if fam is not None:
            return fam["sampler"]
        raise InputError("no temperature sampler: the case has no [generate] script with a SAMPLER and "
                         "the store no training family", self.store)


def _finite(obj):
    """JSON-able copy: numpy scalars / arrays to Python, NaN and inf to None."""
    import math

    import numpy as np
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj
