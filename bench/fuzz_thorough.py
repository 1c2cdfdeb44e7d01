"""Thorough fuzz run (issue 20): the campaigns of tests/test_adapters_fuzz.py and
tests/test_fuzz_inputs.py with more inputs and other seeds, all campaigns concurrent
(one worker process each), and the acceptance counts per campaign: tracebacks, hangs,
memory blow-ups, silent non-finite / out-of-range acceptances.

    python bench/fuzz_thorough.py [--per-adapter 2000] [--toml 1000] [--stores 1000] [--seed 7]

Exit status 1 when any count that must be 0 is not (the offending inputs are listed and
kept under --work). Measured: see the last lines it prints (README "Measured figures").
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import fuzz_harness as fh  # noqa: E402
import pytest  # noqa: E402
import test_adapters_fuzz as ta  # noqa: E402
import test_fuzz_inputs as ti  # noqa: E402
from conftest import make_small_case  # noqa: E402

from romnet.store import write_case  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-adapter", type=int, default=2000)
    ap.add_argument("--toml", type=int, default=1000)
    ap.add_argument("--stores", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=int, default=10, help="seconds per input")
    ap.add_argument("--work", default=None, help="folder for the inputs (default: a temporary one, removed)")
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="romnet-fuzz-"))
    t0 = time.time()
    handles = {}
    for k, (label, (name, make)) in enumerate(ta.SETS.items()):
        w = work / label.replace(":", "_")
        w.mkdir(parents=True)
        try:
            templates, entry = make(w)
        except pytest.skip.Exception as exc:
            print(f"{label}: skipped ({exc})")
            continue
        rng = np.random.default_rng(a.seed * 1000 + k)
        paths = fh._make_cases(w / "cases", templates, entry, rng, a.per_adapter)
        handles[label] = fh.start("adapter", name, paths, w, timeout=a.timeout)
    rng = np.random.default_rng(a.seed)
    w = work / "toml"
    texts = ti._toml_templates()
    paths = []
    for i in range(a.toml):
        d = w / f"{i:05d}"
        d.mkdir(parents=True)
        (d / "case.toml").write_bytes(ti._mutate_toml(texts[i % len(texts)], rng))
        paths.append(d / "case.toml")
    handles["case.toml"] = fh.start("toml", "-", paths, w, timeout=a.timeout)
    w = work / "store"
    good = write_case(w / "good.h5", make_small_case())
    paths = []
    for i in range(a.stores):
        d = w / f"{i:05d}"
        d.mkdir(parents=True)
        p = d / "s.h5"
        shutil.copyfile(good, p)
        if ti._edit_store(p, rng):
            p.with_suffix(".nonfinite").write_text("")
        paths.append(p)
    handles["stores"] = fh.start("store", "-", paths, w, timeout=a.timeout)
    bad = 0
    for label, h in handles.items():
        r = fh.finish(h)
        print(fh.report(label, r), flush=True)
        c = fh.counts(r)
        if c["inputs"] < r["n"] or c["tracebacks"] or c["hangs"] or c["memory"] or c["silent"] or c["unprintable"]:
            bad += 1
            for x in r["records"]:
                if x["outcome"] in ("other", "timeout", "memory") or x["silent"]:
                    print(f"   {x['outcome']}{' silent' if x['silent'] else ''}: {x['path']}")
            if c["inputs"] < r["n"]:
                print(f"   worker stopped at input {c['inputs']}: {r['stderr'][-500:]}")
    print(f"total {time.time() - t0:.0f} s; {'FAILED: ' + str(bad) + ' campaign(s)' if bad else 'all campaigns clean'}")
    if not a.work and not bad:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
