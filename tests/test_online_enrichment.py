"""Adaptive enrichment on a loading outside the training set (MecaSequential, thermal
strain x1.75: temperature fields 20 + 1.75 (T - 20)); HF reference by romnet.hifi.

Tolerances: displacement error tolerance 5e-3 (max over outputs, L2 over nodes, vs the HF
run on the hot loading); indicator tolerance 2e-2. The non-enriched ROM's error must exceed
5 x 5e-3; the enriched run's error must be below 5e-3 with fewer HF increments than the run
has increments; the enriched ROM is stored and the next run starts improved.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import zset_case
from romnet.case import Case
from romnet.hifi import SolverOptions, run_hifi
from romnet.offline.pipeline import run_offline
from romnet.offline.rom_store import read_rom
from romnet.online import load_rom
from romnet.store import CaseStore, read_case, write_case

U_TOL, IND_TOL = 5e-3, 2e-2


def u_error(U, Uref):
    return max(np.linalg.norm(U[i] - Uref[i]) / np.linalg.norm(Uref[i]) for i in range(1, len(U)))


@pytest.fixture(scope="module")
def hot(tmp_path_factory):
    from adapters.zset import ADAPTER
    d = tmp_path_factory.mktemp("enrich")
    case = ADAPTER.read(zset_case("MecaSequential") / "cube.ut")
    rom = write_case(d / "cube.h5", case)
    run_offline(rom, {"pod_tol": 1e-6, "ecm_tol": 1e-5}, progress=None)
    pb = case.problem
    pb.temperature.fields = 20.0 + 1.75 * (np.asarray(pb.temperature.fields) - 20.0)
    loading = write_case(d / "hot.h5", Case(case.mesh, pb, {}, {"code": "test"}))
    run_hifi(loading, d / "hot-hifi.h5", options=SolverOptions(linear="scipy", verbose=False), progress=None)
    with CaseStore(d / "hot-hifi.h5") as st:
        Uref = st.read_field("hifi", "U")
    return rom, loading, Uref


def test_enrichment_reaches_tolerance(hot):
    rom_path, loading, Uref = hot
    plain = load_rom(rom_path).run(loading)
    e0 = u_error(plain.U(), Uref)
    assert e0 > 5 * U_TOL, e0
    assert plain.indicator.max() > IND_TOL
    res = load_rom(rom_path).run(loading, enrich=True, tol=IND_TOL, progress=print)
    e1 = u_error(res.U(), Uref)
    n_inc = len(res.times) - 1
    print(f"\nnon-enriched U error {e0:.2e}; enriched {e1:.2e} with {res.hf_increments} HF increments "
          f"of {n_inc}; log: {[(r['increment'], r['modes_after'], r['points_after']) for r in res.enrichments]}")
    assert res.enrichments and 0 < res.hf_increments < n_inc
    assert e1 <= U_TOL
    for r in res.enrichments:
        assert r["indicator_after"] < IND_TOL and r["modes_after"] > r["modes_before"]
    # the enriched ROM was stored: the next run starts improved
    rom = read_rom(rom_path, modes=False)
    assert rom["enrichment"]["count"] == len(res.enrichments)
    assert rom["pod"]["U"]["n_modes"] == res.model.n_modes
    again = load_rom(rom_path).run(loading)
    assert u_error(again.U(), Uref) < e0 / 5
