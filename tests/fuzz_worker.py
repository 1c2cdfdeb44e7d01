"""Fuzz worker: ``python fuzz_worker.py ADAPTER_MODULE LIST_FILE`` reads every input path
listed (one per line) with the adapter, within ``FUZZ_TIMEOUT`` seconds each (SIGALRM),
and writes a JSON line per input to stdout:

``{"i": k, "outcome": "ok" | "romnet" | "other" | "timeout", "type": ..., "msg": ...,
"named": bool (message names the file), "where": bool (message has a position),
"store_left": bool (a store exists after a failure), "seconds": t}``

A successful read is written to a store with :func:`romnet.store.write_case` (atomic); a
failed read must leave no store. Run in a subprocess so a crash of a vendor reader
cannot take the test session down (the parent sees the last index reached).
"""
from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

TIMEOUT = int(os.environ.get("FUZZ_TIMEOUT", "5"))


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def main():
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from romnet.errors import InputError, RomnetError
    from romnet.store import write_case

    adapter = importlib.import_module(sys.argv[1]).ADAPTER
    paths = [Path(p) for p in Path(sys.argv[2]).read_text().splitlines() if p.strip()]
    signal.signal(signal.SIGALRM, _alarm)
    for k, p in enumerate(paths):
        store = p.parent / "out.h5"
        rec = {"i": k, "path": str(p)}
        t0 = time.perf_counter()
        signal.alarm(TIMEOUT)
        try:
            case = adapter.read(p)
            write_case(store, case)
            rec["outcome"] = "ok"
        except _Timeout:
            rec["outcome"] = "timeout"
        except RomnetError as exc:
            msg = str(exc)
            rec.update(outcome="romnet", type=type(exc).__name__, msg=msg[:300],
                       named=p.name in msg or str(p.parent) in msg,
                       where=isinstance(exc, InputError) and exc.where is not None)
        except BaseException as exc:  # noqa: BLE001 - that is what we look for
            rec.update(outcome="other", type=type(exc).__name__,
                       msg="".join(traceback.format_exception(exc))[-1500:])
        finally:
            signal.alarm(0)
        rec["seconds"] = time.perf_counter() - t0
        rec["store_left"] = rec["outcome"] != "ok" and store.exists()
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
