"""CalculiX's own test suite (Debian calculix-ccx-test) through ccx and romnet.

Each deck of :data:`SELECTION` is run by ccx (cached outside the repository) and by romnet
(import deck + results, ``romnet hifi``, ``romnet compare``): the displacements must agree
within ``U_TOL`` = 1e-4 relative (max over outputs, as ``romnet compare``; the ccx values
are the .frd's 6 digits). The decks that romnet refuses must name the keyword, the file and
the line. The element formulation is isolated from the deck features with the harness'
``full`` variant (C3D20R -> C3D20 in both codes) while romnet runs C3D20R fully integrated
(:func:`ccx_suite.default_variant`). All 50 decks: ``python bench/ccx_suite.py``.

Without ``ccx`` or the suite package the tests skip (under ``CI=true`` they fail): the
test set-up (``scripts/test.sh``) installs both.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

import ccx_suite

#: deck -> what it checks (fast: ~0.3 s each once ccx's run is cached)
SELECTION = {
    "achtel29": "*EQUATION with 2 and 9 terms, *CLOAD",
    "achtelcas": "cascaded *EQUATION (a dependent DOF in another equation)",
    "achtelg": "*DLOAD GRAV",
    "achtelc": "*DLOAD CENTRIF",
    "achteld": "imposed displacement in a step",
    "beampfix": "*CLOAD, OP=NEW and *BOUNDARY, FIXED in a second step",
    "beamprb": "*RIGID BODY (linearized), load on the rotation node outside the elements",
    "beamptied1": "*TIE of a node surface",
    "beamptied2": "*TIE of an element-face surface",
    "beammrlin": "*MPC MEANROT (linearized) with an imposed rotation",
    "beampdepmpc": "*CLOAD on the dependent DOF of an *EQUATION",
    "mpcforce": "*EQUATION across two materials",
    "segment1": "*TRANSFORM (cylindrical) boundary conditions",
    "segment2": "*TRANSFORM on every DOF of a node: cascaded local constraints",
    "segmentf": "*CLOAD in a cylindrical system",
    "segmentm": "*EQUATION between DOFs of transformed nodes",
    "disk2": "*TRANSFORM + *EQUATION + two CENTRIF loads",
    "beamd2": "*DLOAD P2NP (pressure from a node's imposed value)",
    "beampset": "*NSET of another set, *NSET GENERATE",
    "beamidset": "element and node sets of the same name",
    "beam20t": "C3D20 temperatures at the ips: trilinear projection",
    "beam8t": "C3D8 temperatures at the ips: element mean",
    "beamt4": "thermal strain from the initial temperature, temperature-dependent E and alpha",
    "inistrain": "*INITIAL CONDITIONS, TYPE=PLASTIC STRAIN (full integration: see FULL_ONLY)",
    "resstress1": "*INITIAL CONDITIONS, TYPE=STRESS",
    "submodelbeamp": "*SUBMODEL + *BOUNDARY, SUBMODEL (global .frd of another deck)",
    "submodeltwobeam": "*SUBMODEL with GLOBAL ELSET, *TEMPERATURE, SUBMODEL",
    "beam10p": "C3D10, *CLOAD on a set",
    "c3d15": "C3D15 pressures, *ORIENTATION on an isotropic material",
    "c3d6": "C3D6, *CLOAD OP=NEW, *MEMBRANE on an undefined set (ignored as ccx does)",
}
#: decks compared with full integration whatever romnet runs: inistrain is one C3D20R element
#: held on one face, which keeps a zero-energy mode (its stiffness is singular): U is not
#: unique in either code (ccx and romnet differ by 0.23 along that mode)
FULL_ONLY = {"inistrain"}
#: decks romnet refuses: the keyword their error must name
REFUSED = {"pret1": "PRE-TENSION SECTION", "resstress2": "INITIAL CONDITIONS",
           "changesolidsection": "CHANGE SOLID SECTION"}


@pytest.fixture(scope="module")
def folder():
    f = ccx_suite.suite_folder()
    why = None
    if ccx_suite.ccx_executable() is None:
        why = "ccx not found (apt-get install calculix-ccx)"
    elif f is None:
        why = f"{ccx_suite.PACKAGE} not installed (apt-get install {ccx_suite.PACKAGE})"
    if why:
        if os.environ.get("CI"):
            pytest.fail(why + " (required under CI)")
        pytest.skip(why)
    return f


@pytest.mark.parametrize("name", list(SELECTION))
def test_deck_matches_ccx(folder, name):
    r = ccx_suite.run_deck(name, "full" if name in FULL_ONLY else None, folder=folder)
    assert r.status == "match", f"{name} ({SELECTION[name]}): {r.status} {r.u_err} {r.message[-2000:]}"
    assert r.u_err <= ccx_suite.U_TOL


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_deck_names_keyword_file_line(folder, name):
    r = ccx_suite.run_deck(name, folder=folder)
    assert r.status == "refused", (r.status, r.message[-1000:])
    assert r.keyword == REFUSED[name]
    assert re.search(rf"{name}\.inp:\d+: \*{re.escape(REFUSED[name])}", r.message), r.message


def _rerun(run, tmp_path, edit=None, **options):
    """romnet on a cached ccx run with the imported problem edited / solver options."""
    from adapters.calculix import ADAPTER
    from romnet.hifi import SolverOptions
    from romnet.hifi.output import compare_stores
    from romnet.hifi.solver import run_hifi
    from romnet.store import write_case
    case = ADAPTER.read(run.deck)
    if edit:
        edit(case.problem)
    write_case(tmp_path / "in.h5", case)
    run_hifi(tmp_path / "in.h5", tmp_path / "out.h5", options=SolverOptions(verbose=False, **options),
             progress=None)
    return compare_stores(tmp_path / "out.h5", tmp_path / "in.h5").u_rel_err


def test_calculix_temperature_conventions_matter(folder, tmp_path):
    """No silent approximation: interpolating the temperatures of C3D20 / C3D8 elements at
    their ips (instead of ccx's trilinear projection / element mean), or measuring the
    thermal strain from the expansion's reference instead of the initial temperature,
    misses ccx's displacements by far more than the tolerance."""
    run = ccx_suite.prepare("beam20t", folder, ccx_suite.default_variant("beam20t", folder))
    err = _rerun(run, tmp_path / "a", temperature_at_ips="interpolate")
    assert err > 1e-2, err
    run = ccx_suite.prepare("beamt4", folder, ccx_suite.default_variant("beamt4", folder))

    def reference(pb):
        pb.thermal_reference = "reference"
    assert _rerun(run, tmp_path / "c", edit=reference) > 1e-2


@pytest.mark.parametrize("etype", ["C3D8", "C3D20"])
def test_temperature_rules_measured(tmp_path, etype):
    """ccx 2.20 on a free block with a non-uniform, non-polynomial temperature field (every
    node random) from an initial temperature away from ZERO, with a temperature-dependent
    expansion: romnet with ccx's rule (C3D8 element mean, C3D20 trilinear projection) and
    thermal reference matches; plain shape-function interpolation does not."""
    from adapters.calculix import ADAPTER
    from ccx_decks import run_ccx, thermal_block
    from romnet.hifi import HFSolver, SolverOptions
    deck = thermal_block(tmp_path, etype, t0=120.0)
    run_ccx(deck)
    case = ADAPTER.read(deck)
    Uref = case.results["imported"].nodal["U"].values[-1]
    errs = {}
    for rule in (None, "interpolate"):
        s = HFSolver(case.mesh, case.problem, options=SolverOptions(verbose=False, temperature_at_ips=rule))
        st = s.initial_state()
        for t in case.problem.stepping.times[1:]:
            st, _ = s.step(st, t)
        errs[rule] = np.linalg.norm(s.gather_U(st) - Uref) / np.linalg.norm(Uref)
        s.close()
    assert errs[None] <= 1e-5 and errs["interpolate"] > 1e-2, errs


def test_imported_conventions_and_notes(folder):
    from adapters.calculix import ADAPTER
    run = ccx_suite.prepare("beam20t", folder, ccx_suite.default_variant("beam20t", folder))
    pb = ADAPTER.read(run.deck).problem
    assert pb.thermal_reference == "initial" and pb.temperature_at_ips == ["trilinear"]
    assert "thermal strain measured from the initial temperature" in pb.summary()
    run = ccx_suite.prepare("c3d6", folder)
    case = ADAPTER.read(run.deck)
    assert any("*MEMBRANE" in n and "ignored" in n for n in case.metadata["notes"])
    assert "note: *MEMBRANE" in case.problem.summary()        # what `romnet info` prints


def test_frd_without_element_free_nodes(folder):
    """ccx writes no displacement for nodes outside every element (here the rigid body's
    reference and rotation nodes): NaN in the import, with a note; compare skips them."""
    from adapters.calculix import ADAPTER
    run = ccx_suite.prepare("beamprb", folder, ccx_suite.default_variant("beamprb", folder))
    case = ADAPTER.read(run.deck)
    U = case.results["imported"].nodal["U"].values
    assert int(np.isnan(U[-1, :, 0]).sum()) == 2
    assert any("outside every element" in n for n in case.metadata["notes"])


def test_displacement_output_added_once():
    text = "*STEP\n*STATIC\n*NODE FILE\nNT\n*END STEP\n*STEP\n*STATIC\n*NODE PRINT\nU\n*END STEP\n" \
           "*STEP\n*STATIC\n*NODE OUTPUT\nU, RF\n*END STEP\n"
    out = ccx_suite.with_displacement_output(text).splitlines()
    assert out[3] == "NT,U"
    assert out[7:12] == ["*NODE PRINT", "U", "*NODE FILE", "U", "*END STEP"]   # PRINT: the .dat
    assert out.count("U") == 2 and "U, RF" in out and out.count("*NODE FILE") == 2
    assert ccx_suite.full_integration("*ELEMENT, TYPE=C3D20R, ELSET=A") == "*ELEMENT, TYPE=C3D20, ELSET=A"
    assert ccx_suite.refused_keyword("a.inp:3: *PRE-TENSION SECTION: x") == "PRE-TENSION SECTION"
