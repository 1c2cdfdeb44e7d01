"""The ROM with the deck features: imposed values and constraint right-hand sides (a
lifting, romnet/offline/lifting.py), homogeneous multi-point constraints (in the modes),
nodal forces and gravity (reduced load vectors online).

The featured box (tests/deck_cases.py) is linear elastic, so its HF solutions lie in the
span of four load cases; the training tables make those independent. A ROM trained on one
HF run must then reproduce the HF solution of a *new* loading (other tables of the same
loads and imposed values) to round-off -- which needs every reduced load term and the
lifting online: dropping any of them breaks it (checked). 1 vs 2 ranks:
tests/test_constraints.py (tests/mpi/constraints_run.py runs the ROM too).
"""
from __future__ import annotations

import numpy as np
import pytest

from deck_cases import NEW_TABLES, featured_box
from romnet.errors import InputError
from romnet.hifi import SolverOptions
from romnet.hifi.solver import HFSolver, run_hifi
from romnet.offline.pipeline import run_offline
from romnet.offline.rom_store import read_rom
from romnet.online import load_rom
from romnet.store import CaseStore, write_case

#: ROM vs HF on the new loading (max over outputs, L2 over nodes); measured 2e-14
TOL = 1e-9


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("romdeck")
    for name, tables in (("train", None), ("new", NEW_TABLES)):
        write_case(d / f"{name}.h5", featured_box(tables=tables))
        run_hifi(d / f"{name}.h5", d / f"{name}-hifi.h5", options=SolverOptions(verbose=False), progress=None)
    rep = run_offline(d / "train-hifi.h5", {"series": "hifi", "pod_tol": 1e-12, "ecm_tol": 1e-8,
                                           "dual_fields": ["stress"]}, progress=None)
    return d, rep


def _err(U, Uh):
    return max(float(np.linalg.norm(U[i] - Uh[i]) / np.linalg.norm(Uh[i])) for i in range(1, len(U)))


def test_rom_reproduces_hf_on_a_new_loading(trained):
    d, rep = trained
    with CaseStore(d / "new-hifi.h5") as st:
        Uh = st.read_field("hifi", "U")
    res = load_rom(d / "train-hifi.h5").run(loading=d / "new.h5")
    err = _err(res.U(), Uh)
    print(f"\nROM vs HF, new loading: U {err:.2e} ({res.model.n_modes} modes, {res.model.n_points} points)")
    assert res.model.n_modes == 4 and err <= TOL
    assert rep["dirichlet"]["mode_violation"] <= 1e-12 and rep["dirichlet"]["n_conditions"] == 13
    # the lifting (imposed values): without it the reconstruction misses the imposed part
    assert res.lift.shape == (len(res.times), 2)
    res.lift = None
    assert _err(res.U(), Uh) > 1e-2


def test_reduced_loads_are_projections_of_the_hf_loads(trained):
    """phi_f of the nodal force and of gravity = Phi^T f with f the HF solver's load vector."""
    d, _ = trained
    rom = read_rom(d / "train-hifi.h5", modes=True)
    Phi = np.asarray(rom["pod"]["U"]["modes"]).T                 # (n_dofs, k)
    case = featured_box()
    s = HFSolver(case.mesh, case.problem, options=SolverOptions(linear="scipy", verbose=False))
    loads = s.loads
    nodes = s.layout.node_of_new                          # new numbering -> mesh nodes
    f_new, w, tab = loads.centrifugal[0]                  # gravity shares the body-force list
    f = np.zeros_like(f_new).reshape(-1, 3)
    f[nodes] = f_new.reshape(-1, 3)
    ld = rom["operators"]["loads"]["gravity"]["000"]
    assert np.allclose(ld["phi_f"], Phi.T @ f.ravel(), rtol=1e-12, atol=1e-14 * np.abs(Phi.T @ f.ravel()).max())
    assert ld["magnitude"] == w and ld["table"] == tab == "grav"
    pos, val, w, tab = loads.nodal[0]
    f = np.zeros(case.mesh.n_nodes * 3)
    f[(nodes[pos // 3]) * 3 + pos % 3] = val
    ld = rom["operators"]["loads"]["nodal"]["000"]
    assert np.allclose(ld["phi_f"], Phi.T @ f, rtol=1e-12) and ld["magnitude"] == w and ld["table"] == "point"
    s.close()


def test_each_reduced_term_is_needed(trained, monkeypatch):
    """Dropping the gravity or nodal-force term, or the lifting strain, breaks the
    reproduction (the test can fail)."""
    from romnet.online import solver as online_solver
    d, _ = trained
    with CaseStore(d / "new-hifi.h5") as st:
        Uh = st.read_field("hifi", "U")
    orig = online_solver.ReducedSolver._setup_loads
    for drop in ("gravity", "nodal"):
        def setup(self, problem, drop=drop):
            orig(self, problem)
            kinds = [k for k, (items, _, _) in online_solver.LOAD_KINDS.items() for _ in items(problem)]
            self.load_terms = [t for t, k in zip(self.load_terms, kinds) if k != drop]
        monkeypatch.setattr(online_solver.ReducedSolver, "_setup_loads", setup)
        assert _err(load_rom(d / "train-hifi.h5").run(loading=d / "new.h5").U(), Uh) > 1e-3, drop
    monkeypatch.setattr(online_solver.ReducedSolver, "_setup_loads", orig)
    monkeypatch.setattr(online_solver.ReducedSolver, "_lift_strain", lambda self, t: None)
    assert _err(load_rom(d / "train-hifi.h5").run(loading=d / "new.h5").U(), Uh) > 1e-3


def test_loading_must_keep_imposed_values_and_loads(trained, tmp_path):
    d, _ = trained
    other = featured_box(tables=NEW_TABLES, pull=0.02)            # another imposed value
    write_case(tmp_path / "o.h5", other)
    with pytest.raises(InputError, match="imposes other values than the ROM was built with"):
        load_rom(d / "train-hifi.h5").run(loading=tmp_path / "o.h5")
    moved = featured_box(tables=NEW_TABLES)
    moved.problem.gravity[0].direction = [0.0, 1.0, 0.0]
    write_case(tmp_path / "m.h5", moved)
    with pytest.raises(InputError, match="gravity load ALL: the loading's load differs"):
        load_rom(d / "train-hifi.h5").run(loading=tmp_path / "m.h5")
    with pytest.raises(InputError, match="enrichment of a ROM with imposed values"):
        load_rom(d / "train-hifi.h5").run(loading=d / "new.h5", enrich=True, tol=0.0, update_store=False,
                                          indicator_field="stress")


@pytest.mark.parametrize("etype", ["C3D8", "C3D20"])
def test_rom_follows_the_calculix_temperature_conventions(tmp_path, etype):
    """A CalculiX thermal deck (random nodal temperatures, initial temperature away from
    ZERO, temperature-dependent expansion: tests/ccx_decks.thermal_block): the ROM trained
    on romnet's HF run reproduces it only if its reduced points take the temperature with
    the deck's rule (element mean / trilinear projection) and the thermal strain from the
    initial temperature, as the HF solver does."""
    from adapters.calculix import ADAPTER
    from ccx_decks import thermal_block
    from romnet.online import solver as online_solver
    deck = thermal_block(tmp_path, etype, t0=120.0)
    case = ADAPTER.read(deck)                                 # the deck alone (no ccx run needed)
    assert case.problem.thermal_reference == "initial" and case.problem.temperature_at_ips
    write_case(tmp_path / "b.h5", case)
    run_hifi(tmp_path / "b.h5", tmp_path / "h.h5", options=SolverOptions(verbose=False), progress=None)
    run_offline(tmp_path / "h.h5", {"series": "hifi", "pod_tol": 1e-12, "ecm_tol": 1e-10,
                                   "dual_fields": ["stress"]}, progress=None)
    with CaseStore(tmp_path / "h.h5") as st:
        Uh = st.read_field("hifi", "U")
    err = _err(load_rom(tmp_path / "h.h5").run().U(), Uh)
    assert err <= 1e-8, err
    # without the thermal reference at the points the ROM misses the HF solution
    orig = online_solver.ReducedSolver._setup_offsets

    def no_offsets(self, problem, sl):
        orig(self, problem, sl)
        self.eps0 = None
    online_solver.ReducedSolver._setup_offsets = no_offsets
    try:
        assert _err(load_rom(tmp_path / "h.h5").run().U(), Uh) > 1e-2
    finally:
        online_solver.ReducedSolver._setup_offsets = orig
