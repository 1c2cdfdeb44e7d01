"""Fuzz every adapter with mutated real sample files (seeded): truncations, flipped bytes,
changed digits (wrong counts and ids), deleted/duplicated lines, garbage, empty files.

For at least ``N_PER_ADAPTER`` mutated inputs per adapter: no exception other than a
RomnetError subclass, every error message names the file, no read takes more than
``FUZZ_TIMEOUT`` s, and no store is left after a failed import (store written with the
atomic ``write_case`` only after a successful read). Inputs are read by
tests/fuzz_worker.py in subprocesses (one per adapter, run concurrently) so a crash of a
vendor reader fails the test instead of the session. Success on a mutated file is allowed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import make_small_case

N_PER_ADAPTER = 210
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


# ------------------------------------------------------------------ sample sets
def _calculix_templates(tmp):
    from ccx_decks import PLASTIC, beam_deck, ccx_or_skip, run_ccx
    ccx_or_skip()
    out = []
    for binary in (False, True):
        d = tmp / f"ccx_{int(binary)}"
        d.mkdir()
        deck = beam_deck(d, name="job", nx=2, nz=1, binary=binary, steps=((0.5, 1.0),))
        run_ccx(deck)
        files = {p.name: p.read_bytes() for p in d.glob("job.*") if p.suffix in (".inp", ".frd", ".dat")}
        targets = ["job.frd"] if binary else ["job.inp", "job.frd", "job.dat"]
        out += [(files, t) for t in targets]
    # a deck with the deck features: local systems, equations, amplitudes, point loads,
    # gravity, held boundary conditions, GENERATE sets (tests/test_deck_features.py)
    d = tmp / "ccx_features"
    d.mkdir()
    deck = beam_deck(d, name="job", nx=2, nz=1, steps=((0.5, 1.0),), material=PLASTIC + "*DENSITY\n7.8E-9\n",
                     extra_model=(
        "*NSET, NSET=GEN, GENERATE\n1, 200, 7\n*NSET, NSET=TR\n5, 6\n*TRANSFORM, NSET=TR, TYPE=C\n"
        "0., 0.5, 0.5, 4., 0.5, 0.5\n*EQUATION\n2\n3, 2, 1., 12, 2, -1.\n*AMPLITUDE, NAME=A\n0., 0., 1., 1., 2., 0.5\n"))
    text = deck.read_text()
    deck.write_text(text + "*STEP\n*STATIC\n0.5, 1.\n*CLOAD, OP=NEW, AMPLITUDE=A\nTR, 2, 3.\n*DLOAD\n"
                    "EALL, GRAV, 9810., 0., 0., -1.\n*BOUNDARY, FIXED\n9, 1, 3\n*NODE FILE\nU\n*END STEP\n")
    run_ccx(deck)
    files = {p.name: p.read_bytes() for p in d.glob("job.*") if p.suffix in (".inp", ".frd", ".dat")}
    out += [(files, "job.inp")]
    return out, lambda files, target: "job.inp"


def _abaqus_templates(tmp):
    from data_fetch import pybaqus_fil_files
    fils = {p.name: p for p in pybaqus_fil_files()}
    return [({n: fils[n].read_bytes()}, n) for n in ("quad_CPE4.fil", "hex_C3D8.fil", "tri_CPE3.fil")], \
        lambda files, target: target


def _meshio_templates(tmp):
    import meshio

    from romnet.export import export_xdmf, vtk_permutation
    from romnet.store import write_case
    case = make_small_case(n_times=3)
    store = write_case(tmp / "store.h5", case)
    x = export_xdmf(store, "imported", tmp / "ts.xdmf", fields=["U"])
    xfiles = {"ts.xdmf": x.read_bytes(), "ts.h5": x.with_suffix(".h5").read_bytes()}
    m = case.mesh
    vtu = tmp / "a.vtu"
    meshio.write(vtu, meshio.Mesh(m.coordinates, [("hexahedron", m.blocks[0].connectivity[:, vtk_permutation("c3d8")])],
                                  point_data={"U": case.results["imported"].nodal["U"].values[0]}), binary=False)
    pvd = b'<?xml version="1.0"?><VTKFile type="Collection"><Collection><DataSet timestep="0.5" file="a.vtu"/></Collection></VTKFile>'
    vfiles = {"a.vtu": vtu.read_bytes(), "s.pvd": pvd}
    entry = lambda files, target: "ts.xdmf" if "ts.xdmf" in files else "s.pvd"
    return [(xfiles, "ts.xdmf"), (xfiles, "ts.h5"), (vfiles, "a.vtu"), (vfiles, "s.pvd")], entry


def _ansys_templates(tmp):
    from data_fetch import ansys_examples
    f = ansys_examples()[0]
    return [({"file.rst": f.read_bytes()}, "file.rst")], lambda files, target: "file.rst"


def _zset_geo_templates(tmp):
    """Z-set binary meshes (.geo) with every 3D element type, node/element/face sets."""
    from adapters.zset.geo import write_geo
    from test_zset_geo import TYPES_3D, synthetic
    data = write_geo(tmp / "m.geo", *synthetic(TYPES_3D)).read_bytes()
    return [({"m.geo": data}, "m.geo")], lambda files, target: "m.geo"


SETS = {"adapters.calculix": _calculix_templates, "adapters.abaqus": _abaqus_templates,
        "adapters.meshio_formats": _meshio_templates, "adapters.ansys": _ansys_templates,
        "adapters.zset": _zset_geo_templates}


@pytest.fixture(scope="module")
def fuzz_results(tmp_path_factory):
    """Run all adapters' fuzz campaigns concurrently: module -> list of records (or skip reason)."""
    base = tmp_path_factory.mktemp("fuzz")
    procs, out = {}, {}
    for k, (module, make) in enumerate(SETS.items()):
        rng = np.random.default_rng(1234 + k)
        work = base / module.split(".")[-1]
        work.mkdir()
        try:
            templates, entry = make(work)
        except pytest.skip.Exception as exc:
            out[module] = f"skipped: {exc}"
            continue
        paths = _make_cases(work / "cases", templates, entry, rng, N_PER_ADAPTER)
        lst = work / "list.txt"
        lst.write_text("\n".join(map(str, paths)))
        # the ansys adapter kills its reader process after ROMNET_ANSYS_TIMEOUT s (InputError)
        env = dict(os.environ, FUZZ_TIMEOUT=str(FUZZ_TIMEOUT), OMP_NUM_THREADS="1",
                   ROMNET_ANSYS_TIMEOUT="2")
        procs[module] = (subprocess.Popen([sys.executable, str(WORKER), module, str(lst)], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, env=env, cwd=str(work)), paths, time.time())
    for module, (p, paths, t0) in procs.items():
        try:
            so, se = p.communicate(timeout=FUZZ_TIMEOUT * 10 + 120)
        except subprocess.TimeoutExpired:
            p.kill()
            so, se = p.communicate()
        recs = [json.loads(ln) for ln in so.splitlines() if ln.startswith("{")]
        out[module] = {"records": recs, "n": len(paths), "rc": p.returncode, "stderr": se[-3000:],
                       "seconds": time.time() - t0, "paths": paths}
    return out


@pytest.mark.parametrize("module", list(SETS))
def test_fuzz_adapter(fuzz_results, module):
    r = fuzz_results[module]
    if isinstance(r, str):
        pytest.skip(r)
    recs = r["records"]
    if len(recs) < r["n"]:
        last = r["paths"][len(recs)] if len(recs) < len(r["paths"]) else "?"
        raise AssertionError(f"worker stopped (rc {r['rc']}) at input {len(recs)} ({last}):\n{r['stderr']}")
    assert len(recs) >= 200
    other = [x for x in recs if x["outcome"] == "other"]
    assert not other, f"{len(other)} non-romnet exceptions, first: {other[0]['path']}\n{other[0]['msg']}"
    timeouts = [x["path"] for x in recs if x["outcome"] == "timeout"]
    assert not timeouts, f"reads over {FUZZ_TIMEOUT} s: {timeouts[:5]}"
    assert not [x for x in recs if x["store_left"]], "store left after a failed import"
    errs = [x for x in recs if x["outcome"] == "romnet"]
    unnamed = [x["msg"] for x in errs if not x["named"]]
    assert not unnamed, f"errors not naming the file: {unnamed[:5]}"
    with_pos = sum(x["where"] for x in errs)
    slowest = max(x["seconds"] for x in recs)
    print(f"{module}: {len(recs)} inputs, {len(errs)} romnet errors ({with_pos} with a position), "
          f"{len(recs) - len(errs)} read fine, slowest {slowest:.2f} s, campaign {r['seconds']:.1f} s")
    assert slowest < FUZZ_TIMEOUT
