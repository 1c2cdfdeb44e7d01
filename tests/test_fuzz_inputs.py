"""Fuzz the case.toml reader and the store readers (issue 20), seeded, fixed counts:

* ``N_TOML`` mutated case.toml files (the shipped cases and a full configuration: byte
  mutations of tests/fuzz_harness.py, and values replaced by hostile ones: huge, negative,
  non-finite, empty, path escapes, wrong kinds; keys and tables deleted or invented) read
  by :func:`romnet.app.config.load_case_config`;
* ``N_STORES`` crafted stores (a valid small store, then 1-3 random edits of its HDF5
  structure: members deleted or replaced by another kind / dtype / shape, attributes and
  JSON texts garbled, NaN / inf / huge values, indices out of range, external links and
  storage, bytes flipped or the file truncated) read as ``romnet info`` does and as the HF
  solver does before it runs.

Acceptance (printed with ``pytest -s``): 0 tracebacks, 0 hangs, 0 memory blow-ups, 0
silent acceptances (an accepted case.toml with an output name that leaves its folder or a
non-finite number; an info on a store holding non-finite values that does not say so).
Each input runs in a worker subprocess (tests/fuzz_worker.py: per-input timeout, memory
limit); both campaigns run concurrently. ``python bench/fuzz_thorough.py`` is the longer run.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import fuzz_harness as fh
import h5py
import numpy as np
import pytest
from conftest import make_small_case

from romnet.store import write_case

N_TOML = 120
N_STORES = 120
REPO = Path(__file__).resolve().parents[1]

HOSTILE = ["1e300", "-1", "0", "9223372036854775807", "1e23", "nan", "inf", "-inf", '""', '"../x"',
           '"../../x"', '"/etc/x"', "[]", "[-1, 100000]", "true", '"x"', "[1, 2, 3]", "{}", '"' + "a" * 300 + '"',
           '"\\u0000"', "1.5", '"auto"', '"global"', "-0.0", "1e-300", '"train_*"']


def _toml_templates():
    texts = []
    for case in ("blade", "blade_cycles", "zset_cube", "zset_bimat"):
        t = (REPO / "cases" / case / "case.toml").read_text()
        texts.append(t.replace('"problem.py"', f'"{(REPO / "cases" / "blade" / "problem.py").as_posix()}"'))
    texts.append(f"""[case]
name = "t"
steps = ["generate", "train", "cluster", "online", "report"]
[generate]
script = "{(REPO / 'cases' / 'blade' / 'problem.py').as_posix()}"
[training]
samples = 4
fields = ["U", "stress", "p"]
[offline]
pod_tol = 1e-4
clusters = [2, 3]
warm_start = [0, 5]
ecm_max_points = 50
[online]
samples = 3
hf_references = 1
enrich = true
cluster = 1
[report]
speedup_runs = [10, 100]
[cycles]
cycles = 3
train_cycles = 1
[validation]
nonfinite = "warn"
temperature_range = [-300.0, 2000.0]
""")
    return texts


def _mutate_toml(text: str, rng) -> bytes:
    lines = text.split("\n")
    values = [i for i, ln in enumerate(lines) if re.match(r"\s*\w+\s*=", ln)]
    op = int(rng.integers(6))
    if op == 0 or not values:
        return fh.mutate(text.encode(), rng)
    k = int(rng.choice(values))
    key = lines[k].split("=")[0]
    if op in (1, 2, 3):
        lines[k] = f"{key}= {HOSTILE[int(rng.integers(len(HOSTILE)))]}"
    elif op == 4:
        del lines[k]
    else:
        lines.insert(k, f"{['bogus', 'name', 'steps', 'series', 'cluster'][int(rng.integers(5))]}x = 1"
                     if rng.random() < 0.5 else "[unknown_table]")
    return "\n".join(lines).encode()


# ---------------------------------------------------------------------------- stores
def _rand_path(f, rng, kind=None):
    names = []
    f.visititems(lambda n, o: names.append(n) if kind is None or isinstance(o, kind) else None)
    return names[int(rng.integers(len(names)))] if names else None


def _edit_store(path: Path, rng) -> bool:
    """1-3 random edits of a store; returns True when field values became non-finite."""
    nonfinite = False
    for _ in range(int(rng.integers(1, 4))):
        op = int(rng.integers(12))
        if op == 10:                                        # bytes of the file
            data = bytearray(path.read_bytes())
            if rng.random() < 0.5:
                data = data[: int(rng.integers(len(data)))]
            else:
                for _ in range(int(rng.integers(1, 20))):
                    data[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
            path.write_bytes(bytes(data))
            return nonfinite
        try:
            nonfinite |= _edit_h5(path, op, rng)
        except (OSError, RuntimeError, KeyError, ValueError, TypeError):
            pass                                            # an edit the damaged structure does not allow
    return nonfinite


def _edit_h5(path, op, rng) -> bool:
    nonfinite = False
    with h5py.File(path, "r+") as f:
        if op == 0 and (p := _rand_path(f, rng)):         # member deleted
            del f[p]
        elif op == 1 and (p := _rand_path(f, rng, h5py.Dataset)):   # dataset of another kind / shape
            choice = int(rng.integers(4))
            data = [np.zeros((3, 3, 3)), np.array([b"x", b"y"]), np.arange(2), np.float64(7.0)][choice]
            del f[p]
            f[p] = data
        elif op == 2 and (p := _rand_path(f, rng)):         # attribute garbled
            obj = f[p]
            if obj.attrs:
                a = list(obj.attrs)[int(rng.integers(len(obj.attrs)))]
                obj.attrs[a] = [b"\xff\x00", "{bad json", np.array([1, 2]), -5, "abc", 1e308][int(rng.integers(6))]
        elif op == 3:                                      # root attributes
            a = ["format", "schema_version", "metadata"][int(rng.integers(3))]
            f.attrs[a] = ["abc", "[1, 2", 2, b"\x80", '{"warnings": 3}'][int(rng.integers(5))]
        elif op == 4 and "problem/definition" in f:       # problem JSON edited
            tree = json.loads(f["problem/definition"][()])
            key = list(tree)[int(rng.integers(len(tree)))]
            tree[key] = [None, 3, "x", [1, 2], {"a": 1}, [{"element_set": "ALL", "spec": {"law": 5}}],
                         1e308, -1][int(rng.integers(8))]
            del f["problem/definition"]
            f["problem/definition"] = json.dumps(tree) if rng.random() < 0.9 else json.dumps(tree)[:-3]
        elif op == 5 and (p := _rand_path(f, rng, h5py.Dataset)) and f[p].dtype.kind == "f" and f[p].size:
            v = f[p][()]                                   # NaN / inf / huge in a float dataset
            v.flat[int(rng.integers(v.size))] = [np.nan, np.inf, -np.inf, 1e308][int(rng.integers(4))]
            f[p][...] = v
            nonfinite |= p.startswith("results") and not np.isfinite(v).all()
        elif op == 6:                                      # connectivity / set index out of range
            p = _rand_path(f, rng, h5py.Dataset)
            if p and f[p].dtype.kind == "i" and f[p].size:
                v = f[p][()]
                v.flat[int(rng.integers(v.size))] = [-1, 10**6, 2**62][int(rng.integers(3))]
                f[p][...] = v
        elif op == 7:                                      # external link / storage
            if rng.random() < 0.5:
                f[f"mesh/ext{int(rng.integers(10**6))}"] = h5py.ExternalLink("/etc/hostname", "/x")
            else:
                f.create_dataset(f"ext{int(rng.integers(10**6))}", shape=(2,), dtype="f8", external=[("/etc/hostname", 0, 16)])
        elif op == 8 and "results" in f and len(f["results"]):   # n_complete / n_points garbled
            g = f["results"][list(f["results"])[0]]
            g.attrs["n_complete"] = [-3, 10**9, "x"][int(rng.integers(3))]
        elif op == 9:                                      # soft link loop / dangling link
            name = f"mesh/loop{int(rng.integers(10**6))}"
            f[name] = h5py.SoftLink("/" + name) if rng.random() < 0.5 else h5py.SoftLink("/nowhere")
        elif op == 11 and "results/imported/times" in f:   # times backwards
            t = f["results/imported/times"][()]
            f["results/imported/times"][...] = t[::-1]
    return nonfinite


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz_inputs")
    rng = np.random.default_rng(2020)
    handles = {}
    # case.toml
    work = base / "toml"
    texts = _toml_templates()
    paths = []
    for i in range(N_TOML):
        d = work / f"{i:04d}"
        d.mkdir(parents=True)
        (d / "case.toml").write_bytes(_mutate_toml(texts[i % len(texts)], rng))
        paths.append(d / "case.toml")
    handles["case.toml"] = fh.start("toml", "-", paths, work)
    # stores
    work = base / "store"
    good = write_case(work / "good.h5", make_small_case())
    paths = []
    for i in range(N_STORES):
        d = work / f"{i:04d}"
        d.mkdir(parents=True)
        p = d / "s.h5"
        shutil.copyfile(good, p)
        if _edit_store(p, rng):
            p.with_suffix(".nonfinite").write_text("")
        paths.append(p)
    handles["stores"] = fh.start("store", "-", paths, work)
    return {k: fh.finish(h) for k, h in handles.items()}


def test_fuzz_case_toml(campaigns):
    r = campaigns["case.toml"]
    c = fh.check(r, 100)
    print(fh.report("case.toml", r))
    assert c["errors"] >= 30                     # the hostile values are refused, not accepted


def test_fuzz_stores(campaigns):
    r = campaigns["stores"]
    c = fh.check(r, 100)
    print(fh.report("crafted stores", r))
    assert c["errors"] >= 30
