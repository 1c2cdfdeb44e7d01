"""Abaqus decks shipped with pybaqus re-run with romnet and compared with their .fil.

Each deck (``*CLOAD`` / ``*DSLOAD`` on assembly sets, ``*BOUNDARY``) is imported with its
``.fil`` next to it (``romnet import abaqus``), solved with ``romnet hifi`` and compared with
Abaqus' displacements (``romnet compare``: max over outputs, L2 over nodes) within 1e-4.
The decks use elements whose Abaqus formulation must be romnet's: B-bar C3D8 / CPE4 / CAX4,
plane-stress CPS*, incompatible-mode CPS4I, the section thickness of plane elements. A deck
whose formulation this romnet lacks is skipped, naming it (the elements work provides
them); every deck must import and run regardless. The .fil of ``discontinuous_numbering_2D``
numbers the nodes 1..6 where its deck has 1, 2, 3, 4, 7, 8 (same coordinates): deck and
results do not import together, so that one is compared node by node through the
coordinates.
"""
from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from data_fetch import pybaqus_dir
from romnet.errors import InputError, UnsupportedError
from romnet.fe.elements import get_element_type
from romnet.problem import MaterialAssignment

#: deck (path under the sdist) -> romnet element type of Abaqus' formulation it needs
DECKS = {
    "tests/abaqus/input/hex_C3D8.inp": "c3d8_bbar",
    "tests/abaqus/input/quad_CPE4.inp": "cpe4_bbar",
    "tests/abaqus/input/quad_CPE4H.inp": "cpe4_bbar",
    "tests/abaqus/input/tri_CPE3.inp": "cpe3",
    "tests/abaqus/input/tri_CPE3H.inp": "cpe3",
    "tests/abaqus/input/quad_CPS4.inp": "cps4",
    "tests/abaqus/input/quad_CPS4I.inp": "cps4",   # run as CPS4, with an import note (docs/conventions.md)
    "tests/abaqus/input/quad_CPS4R.inp": "cps4r",
    "tests/abaqus/input/tri_CPS3.inp": "cps3",
    "tests/abaqus/input/discontinuous_numbering_2D.inp": "cps4",
    "examples/Displacement_visualization/model.inp": "cax4_bbar",
}


def _fil(root, inp):
    for cand in (root / "tests" / "abaqus" / "fil" / (inp.stem + ".fil"), inp.parent / "model_results.fil"):
        if cand.exists():
            return cand
    raise FileNotFoundError(inp)


def _missing(etype):
    try:
        get_element_type(etype)
    except Exception:  # noqa: BLE001 - unknown type
        return f"romnet has no '{etype}' formulation yet (elements work)"
    if etype[:3] in ("cpe", "cps") and "thickness" not in {f.name for f in dataclasses.fields(MaterialAssignment)}:
        return "romnet ignores the section thickness of plane elements here (elements work)"
    return None


@pytest.mark.parametrize("deck", list(DECKS))
def test_pybaqus_deck_reruns_and_matches_fil(deck, tmp_path):
    from adapters.abaqus import ADAPTER
    from romnet.hifi import SolverOptions
    from romnet.hifi.output import compare_stores
    from romnet.hifi.solver import run_hifi
    from romnet.store import write_case
    root = pybaqus_dir()
    inp = root / deck
    shutil.copy(inp, tmp_path / "job.inp")
    shutil.copy(_fil(root, inp), tmp_path / "res.fil")
    try:
        case = ADAPTER.read(tmp_path / "job.inp")                    # the deck alone first
    except UnsupportedError as exc:
        reason = _missing(DECKS[deck])
        if reason:
            pytest.skip(f"{reason}: {exc}")
        raise
    assert case.problem.nodal_forces or case.problem.pressure
    shutil.copy(tmp_path / "res.fil", tmp_path / "job.fil")
    try:
        case = ADAPTER.read(tmp_path / "job.inp")                    # deck + results
        by_coordinates = False
    except InputError as exc:
        assert "unknown U node id" in str(exc) and "discontinuous" in deck, exc
        by_coordinates = True
    write_case(tmp_path / "a.h5", case)
    run_hifi(tmp_path / "a.h5", tmp_path / "b.h5", options=SolverOptions(verbose=False), progress=None)
    if by_coordinates:
        from romnet.store import CaseStore
        fil = ADAPTER.read(tmp_path / "res.fil")
        Uf = fil.results["imported"].nodal["U"].values[-1]
        X = case.mesh.coordinates
        match = [int(np.flatnonzero(np.all(np.isclose(X, x, rtol=0, atol=1e-9 * np.abs(X).max()), axis=1))[0])
                 for x in fil.mesh.coordinates]
        with CaseStore(tmp_path / "b.h5") as st:
            U = st.read_field("hifi", "U")[-1][match]
        err = float(np.linalg.norm(U - Uf) / np.linalg.norm(Uf))
    else:
        err = compare_stores(tmp_path / "b.h5", tmp_path / "a.h5").u_rel_err
    reason = _missing(DECKS[deck])
    if reason and err > 1e-4:
        pytest.skip(f"{reason}: U error {err:.2e} with the formulation romnet has")
    assert err <= 1e-4, err
