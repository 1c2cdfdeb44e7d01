"""Fuzz harness shared by the fuzz tests (tests/test_adapters_fuzz.py,
tests/test_fuzz_inputs.py) and the thorough run (bench/fuzz_thorough.py): seeded byte
mutations, one worker subprocess per campaign (tests/fuzz_worker.py: per-input timeout,
memory limit), campaigns run concurrently, and the acceptance counts (tracebacks, hangs,
memory blow-ups, silent non-finite / out-of-range acceptances)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FUZZ_TIMEOUT = 5
WORKER = Path(__file__).with_name("fuzz_worker.py")


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random mutation of ``data``."""
    op = rng.integers(10)
    n = len(data)
    if n == 0 or op == 0:
        return b"" if rng.random() < 0.3 else data[: int(rng.integers(0, max(n, 1)))]  # empty / truncated
    b = bytearray(data)
    if op == 1:  # flipped bytes
        for _ in range(int(rng.integers(1, 6))):
            k = int(rng.integers(n))
            b[k] ^= 1 << int(rng.integers(8))
        return bytes(b)
    digits = [i for i in rng.integers(0, n, size=200) if 48 <= b[i] <= 57]
    if op in (2, 3, 4) and digits:  # changed digits: counts, ids, values
        for i in digits[: int(rng.integers(1, 4))]:
            b[i] = int(rng.choice(list(b"0123456789" if op != 4 else b"9Xx-.+ E")))
        return bytes(b)
    lines = data.split(b"\n")
    if op == 5 and len(lines) > 2:  # deleted line
        del lines[int(rng.integers(len(lines)))]
        return b"\n".join(lines)
    if op == 6 and len(lines) > 2:  # duplicated line
        k = int(rng.integers(len(lines)))
        lines.insert(k, lines[k])
        return b"\n".join(lines)
    if op == 7:  # garbage inserted
        k = int(rng.integers(n))
        return data[:k] + rng.integers(0, 256, size=int(rng.integers(1, 40))).astype(np.uint8).tobytes() + data[k:]
    if op == 8:  # big number
        k = int(rng.integers(n))
        return data[:k] + b"99999999999" + data[k:]
    k = int(rng.integers(n))  # zeroed block
    return data[:k] + b"\0" * int(rng.integers(1, 64)) + data[k + 64:]


def _make_cases(base: Path, templates: list, entry_of, rng, count: int) -> list:
    """templates: list of (files dict name -> bytes, target name). Returns entry paths."""
    paths = []
    for i in range(count):
        files, target = templates[i % len(templates)]
        d = base / f"{i:04d}"
        d.mkdir(parents=True)
        for name, data in files.items():
            (d / name).write_bytes(mutate(data, rng) if name == target else data)
        paths.append(d / entry_of(files, target))
    return paths



def start(kind: str, target: str, paths: list, work: Path, timeout=FUZZ_TIMEOUT, memory_mb=4096):
    """Start a worker over ``paths`` (reads them in order); returns a handle for :func:`finish`."""
    lst = work / "list.txt"
    lst.write_text("\n".join(map(str, paths)))
    # the ansys adapter kills its reader process after ROMNET_ANSYS_TIMEOUT s (InputError)
    env = dict(os.environ, FUZZ_TIMEOUT=str(timeout), FUZZ_MEMORY_MB=str(memory_mb), OMP_NUM_THREADS="1",
               ROMNET_ANSYS_TIMEOUT="2")
    p = subprocess.Popen([sys.executable, str(WORKER), kind, target, str(lst)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=str(work))
    return p, paths, time.time(), timeout


def finish(handle) -> dict:
    """Wait for a worker: {"records", "n", "rc", "stderr", "seconds", "paths"}."""
    p, paths, t0, timeout = handle
    try:
        so, se = p.communicate(timeout=timeout * 10 + 60 + 2 * len(paths))
    except subprocess.TimeoutExpired:
        p.kill()
        so, se = p.communicate()
    recs = [json.loads(ln) for ln in so.splitlines() if ln.startswith("{")]
    return {"records": recs, "n": len(paths), "rc": p.returncode, "stderr": se[-3000:],
            "seconds": time.time() - t0, "paths": paths}


def counts(r: dict) -> dict:
    """The acceptance counts of a campaign."""
    recs = r["records"]
    by = {o: [x for x in recs if x["outcome"] == o] for o in ("ok", "romnet", "other", "timeout", "memory")}
    errs = by["romnet"]
    return {"inputs": len(recs), "tracebacks": len(by["other"]), "hangs": len(by["timeout"]),
            "memory": len(by["memory"]), "silent": sum(x["silent"] for x in recs), "errors": len(errs),
            "accepted": len(by["ok"]), "named": sum(x["named"] for x in errs),
            "with_position": sum(x["where"] for x in errs),
            "unprintable": sum(not x.get("printable", True) for x in errs),
            "store_left": sum(x["store_left"] for x in recs),
            "slowest": max((x["seconds"] for x in recs), default=0.0), "seconds": r["seconds"]}


def report(label: str, r: dict) -> str:
    c = counts(r)
    return (f"{label}: {c['inputs']} inputs: {c['tracebacks']} tracebacks, {c['hangs']} hangs, {c['memory']} "
            f"memory blow-ups, {c['silent']} silent non-finite/out-of-range; {c['errors']} romnet errors "
            f"({c['with_position']} with a position), {c['accepted']} accepted; slowest {c['slowest']:.2f} s, "
            f"campaign {c['seconds']:.1f} s")


def check(r: dict, minimum: int, named=True):
    """Assert the acceptance of a campaign (module docstring); returns its counts."""
    recs = r["records"]
    if len(recs) < r["n"]:
        last = r["paths"][len(recs)] if len(recs) < len(r["paths"]) else "?"
        raise AssertionError(f"worker stopped (rc {r['rc']}) at input {len(recs)} ({last}):\n{r['stderr']}")
    assert len(recs) >= minimum
    other = [x for x in recs if x["outcome"] == "other"]
    assert not other, f"{len(other)} non-romnet exceptions, first: {other[0]['path']}\n{other[0]['msg']}"
    for what in ("timeout", "memory"):
        bad = [x["path"] for x in recs if x["outcome"] == what]
        assert not bad, f"{what}: {bad[:5]}"
    silent = [x["path"] for x in recs if x["silent"]]
    assert not silent, f"accepted with a non-finite / out-of-range value and no warning: {silent[:5]}"
    assert not [x for x in recs if x["store_left"]], "store left after a failed import"
    errs = [x for x in recs if x["outcome"] == "romnet"]
    assert all(x.get("printable", True) for x in errs), [x["msg"] for x in errs if not x.get("printable", True)][:3]
    if named:
        unnamed = [x["msg"] for x in errs if not x["named"]]
        assert not unnamed, f"errors not naming the file: {unnamed[:5]}"
    return counts(r)
