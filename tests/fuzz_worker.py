"""Fuzz worker: ``python fuzz_worker.py KIND TARGET LIST_FILE`` reads every input path
listed (one per line), within ``FUZZ_TIMEOUT`` seconds each (SIGALRM) and under an
address-space limit of ``FUZZ_MEMORY_MB`` (a memory blow-up is a ``MemoryError``:
outcome ``memory``), and writes a JSON line per input to stdout:

``{"i": k, "outcome": "ok" | "romnet" | "other" | "timeout" | "memory", "type": ...,
"msg": ..., "named": bool (message names the file), "where": bool (message has a
position), "store_left": bool (a store exists after a failure), "silent": bool (accepted
with a non-finite or out-of-range value and no warning), "seconds": t}``

KIND:

* ``adapter NAME``: the adapter NAME through the registry (:func:`romnet.import_case`:
  read + validation); a successful read is written with :func:`romnet.store.write_case`
  (atomic); a failed read must leave no store. ``silent``: a non-finite value in the
  case's mesh, fields or problem arrays without a warning.
* ``toml -``: :func:`romnet.app.config.load_case_config` of the case directory holding the
  listed case.toml. ``silent``: an accepted output name that is not a plain name, or a
  non-finite number.
* ``store -``: ``romnet info`` (:func:`romnet.summary.store_summary`) and the checks the HF
  solver makes before it runs (:func:`romnet.validate.validate_store`, mesh + problem
  read). ``silent``: info succeeded on a store whose fields hold non-finite values without
  saying so.

Run in a subprocess so a crash of a vendor reader cannot take the test session down (the
parent sees the last index reached).
"""
from __future__ import annotations

import json
import math
import os
import resource
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

TIMEOUT = int(os.environ.get("FUZZ_TIMEOUT", "5"))
MEMORY_MB = int(os.environ.get("FUZZ_MEMORY_MB", "4096"))


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _nonfinite_arrays(obj):
    """True when a tree of objects / dicts / lists / arrays holds a non-finite float."""
    if isinstance(obj, np.ndarray):
        return obj.dtype.kind == "f" and not np.isfinite(obj).all()
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(_nonfinite_arrays(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_nonfinite_arrays(v) for v in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return any(_nonfinite_arrays(v) for v in vars(obj).values())
    return False


def _adapter(name):
    from romnet.adapters import get_adapter, import_case
    from romnet.store import write_case
    get_adapter(name).available()        # load the adapter and its vendor library before the clock runs

    def run(p):
        case = import_case(name, p)
        silent = not case.metadata.get("warnings") and (
            _nonfinite_arrays(case.mesh.coordinates) or _nonfinite_arrays(case.problem)
            or any(_nonfinite_arrays(f.values) or _nonfinite_arrays(s.times)
                   for s in case.results.values() for f in {**s.nodal, **s.integ}.values()))
        write_case(p.parent / "out.h5", case)
        return silent
    return run


def _toml(_):
    from romnet.app.config import load_case_config
    from romnet.settings import Name

    def run(p):
        cfg = load_case_config(p.parent)
        bad_name = not Name()(cfg["case"]["name"])
        return bad_name or _nonfinite_arrays({k: v for k, v in cfg.items() if not k.startswith("_")})
    return run


def _store(_):
    from romnet.store import CaseStore
    from romnet.summary import store_summary
    from romnet.validate import validate_store

    def run(p):
        text = store_summary(p)
        validate_store(p)
        with CaseStore(p) as st:
            st.case()
        marker = p.with_suffix(".nonfinite")
        return marker.exists() and "non-finite" not in text
    return run


def main():
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from romnet.errors import InputError, RomnetError
    kind, target = sys.argv[1], sys.argv[2]
    run = {"adapter": _adapter, "toml": _toml, "store": _store}[kind](target)
    paths = [Path(p) for p in Path(sys.argv[3]).read_text().splitlines() if p.strip()]
    limit = MEMORY_MB * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _alarm)
    for k, p in enumerate(paths):
        store = p.parent / "out.h5"
        rec = {"i": k, "path": str(p), "silent": False}
        t0 = time.perf_counter()
        signal.alarm(TIMEOUT)
        try:
            rec["silent"] = bool(run(p))
            rec["outcome"] = "ok"
        except _Timeout:
            rec["outcome"] = "timeout"
        except MemoryError:
            rec["outcome"] = "memory"
        except RomnetError as exc:
            msg = str(exc)
            rec.update(outcome="romnet", type=type(exc).__name__, msg=msg[:300],
                       named=p.name in msg or str(p.parent) in msg,
                       where=isinstance(exc, InputError) and exc.where is not None,
                       printable=msg.isprintable())
        except BaseException as exc:  # noqa: BLE001 - that is what we look for
            rec.update(outcome="other", type=type(exc).__name__,
                       msg="".join(traceback.format_exception(exc))[-1500:])
        finally:
            signal.alarm(0)
        rec["seconds"] = time.perf_counter() - t0
        rec["store_left"] = kind == "adapter" and rec["outcome"] != "ok" and store.exists()
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
