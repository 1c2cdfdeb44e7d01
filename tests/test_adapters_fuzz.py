"""Fuzz every adapter with mutated real sample files (seeded): truncations, flipped bytes,
changed digits (wrong counts and ids), deleted/duplicated lines, garbage, empty files.

For at least ``N_PER_ADAPTER`` mutated inputs per adapter, read through the registry
(``romnet.import_case``: the adapter, then the validation of romnet/validate.py): no
exception other than a RomnetError subclass, every error message names the file and is
printable, no read takes more than ``FUZZ_TIMEOUT`` s, no memory blow-up (4 GiB address
space limit), no silent non-finite value (an accepted case holds none without a
warning), and no store is left after a failed import (store written with the atomic
``write_case`` only after a successful read). Inputs are read by tests/fuzz_worker.py in
subprocesses (one per adapter, run concurrently: tests/fuzz_harness.py) so a crash of a
vendor reader fails the test instead of the session. Success on a mutated file is allowed.
``pytest -s`` prints the counts; ``python bench/fuzz_thorough.py`` is the longer run.
"""
from __future__ import annotations

from pathlib import Path

import fuzz_harness as fh
import numpy as np
import pytest
from conftest import make_small_case

N_PER_ADAPTER = 210
FUZZ_TIMEOUT = fh.FUZZ_TIMEOUT
ZSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "zset" / "MecaSequential"


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


def _zset_text_templates(tmp):
    """Z-set ASCII mesh (.geof alone) and the MecaSequential deck (.inp + material file +
    temperature files + mesh, no results: the problem definition) of the shared data."""
    if not ZSET.is_dir():
        pytest.skip("shared Z-set data absent")
    deck = {n: (ZSET / n).read_bytes() for n in ("cube.inp", "mat", "cube.geof", "temperature1.node",
                                                 "temperature2.node", "temperature2.ut", "pressure.node")}
    deck = {n: b for n, b in deck.items()}
    geof = {"m.geof": deck["cube.geof"]}
    out = [(geof, "m.geof")] * 2 + [(deck, t) for t in ("cube.inp", "mat", "cube.geof", "temperature1.node")]
    return out, lambda files, target: "m.geof" if "m.geof" in files else "cube.inp"


#: campaign -> (adapter name in the registry, sample set)
SETS = {"adapters.calculix": ("calculix", _calculix_templates), "adapters.abaqus": ("abaqus", _abaqus_templates),
        "adapters.meshio_formats": ("meshio", _meshio_templates), "adapters.ansys": ("ansys", _ansys_templates),
        "adapters.zset": ("zset", _zset_geo_templates), "adapters.zset:text": ("zset", _zset_text_templates)}


@pytest.fixture(scope="module")
def fuzz_results(tmp_path_factory):
    """Run all adapters' fuzz campaigns concurrently: campaign -> worker result (or skip reason)."""
    base = tmp_path_factory.mktemp("fuzz")
    handles, out = {}, {}
    for k, (label, (name, make)) in enumerate(SETS.items()):
        rng = np.random.default_rng(1234 + k)
        work = base / label.split(".")[-1].replace(":", "_")
        work.mkdir()
        try:
            templates, entry = make(work)
        except pytest.skip.Exception as exc:
            out[label] = f"skipped: {exc}"
            continue
        paths = fh._make_cases(work / "cases", templates, entry, rng, N_PER_ADAPTER)
        handles[label] = fh.start("adapter", name, paths, work)
    for label, h in handles.items():
        out[label] = fh.finish(h)
    return out


@pytest.mark.parametrize("module", list(SETS))
def test_fuzz_adapter(fuzz_results, module):
    r = fuzz_results[module]
    if isinstance(r, str):
        pytest.skip(r)
    c = fh.check(r, 200)
    print(fh.report(module, r))
    assert c["slowest"] < FUZZ_TIMEOUT
