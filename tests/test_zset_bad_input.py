"""Bad Z-set input: every failure is a romnet InputError/UnsupportedError naming the file,
the place and the problem (never a bare ValueError/IndexError from the parsers)."""
from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from adapters.zset import ADAPTER
from adapters.zset.material import read_material
from romnet.errors import InputError, RomnetError, UnsupportedError

from conftest import writable_copy, zset_case
SEQ_FILES = ("cube.ut", "cube.geof", "cube.node", "cube.integ", "cube.ctnod", "cube.inp", "mat",
             "pressure.node", "temperature1.node", "temperature2.node")


case_dir = zset_case  # skips (or fails under CI) when the shared data is absent


@pytest.fixture
def seq(tmp_path):
    """A writable copy of MecaSequential in tmp_path (the shared data stay read-only)."""
    src = case_dir("MecaSequential")
    for f in SEQ_FILES:
        shutil.copyfile(src / f, tmp_path / f)
    return tmp_path


def edit(path: Path, old: str, new: str, count: int = 1):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))


def line_of(path: Path, needle: str) -> int:
    for i, ln in enumerate(path.read_text().splitlines(), start=1):
        if needle in ln:
            return i
    raise AssertionError(needle)


def test_truncated_node_file(seq):
    data = (seq / "cube.node").read_bytes()
    (seq / "cube.node").write_bytes(data[:-100])
    with pytest.raises(InputError) as e:
        ADAPTER.read(seq / "cube.ut")
    msg = str(e.value)
    assert "cube.node" in msg and "truncated" in msg
    assert "90552" in msg and str(len(data) - 100) in msg


def test_truncated_integ_file(seq):
    data = (seq / "cube.integ").read_bytes()
    (seq / "cube.integ").write_bytes(data[: len(data) // 2 + 3])
    with pytest.raises(InputError) as e:
        ADAPTER.read(seq / "cube.ut")
    msg = str(e.value)
    assert "cube.integ" in msg and "truncated" in msg and "1444608" in msg


def test_too_long_ctnod_file(seq):
    with open(seq / "cube.ctnod", "ab") as f:
        f.write(b"\0" * 8)
    with pytest.raises(InputError, match=r"cube\.ctnod.*too long.*286748"):
        ADAPTER.read(seq / "cube.ut")


def test_wrong_node_count_in_geof(seq):
    edit(seq / "cube.geof", "343 3", "344 3")
    with pytest.raises(InputError) as e:
        ADAPTER.read(seq / "cube.ut")
    msg = str(e.value)
    assert "cube.geof:2:" in msg and "344" in msg and "343" in msg


def test_missing_mesh_referenced_by_ut(seq):
    edit(seq / "cube.ut", "**meshfile cube.geof", "**meshfile nothere.geof")
    (seq / "cube.inp").unlink()  # the deck would name its own mesh
    with pytest.raises(InputError) as e:
        ADAPTER.read(seq / "cube.ut")
    msg = str(e.value)
    assert "cube.ut:1:" in msg and "nothere.geof" in msg and "not found" in msg


def test_missing_material_referenced_by_deck(seq):
    edit(seq / "cube.inp", "*file mat", "*file nomat")
    with pytest.raises(InputError) as e:
        ADAPTER.read(seq / "cube.inp")
    msg = str(e.value)
    assert f"cube.inp:{line_of(seq / 'cube.inp', 'nomat')}:" in msg and "nomat" in msg and "not found" in msg


def test_missing_results_binary(seq):
    (seq / "cube.integ").unlink()
    with pytest.raises(InputError, match=r"cube\.ut:.*cube\.integ.*not found"):
        ADAPTER.read(seq / "cube.ut")


def test_missing_ut(tmp_path):
    with pytest.raises(InputError, match=r"nothere\.ut.*not found"):
        ADAPTER.read(tmp_path / "nothere.ut")


def test_unknown_deck_keyword(seq):
    edit(seq / "cube.inp", "**centrifugal", "**foo x1 1.\n**centrifugal")
    with pytest.raises(UnsupportedError) as e:
        ADAPTER.read(seq / "cube.inp")
    msg = str(e.value)
    assert f"cube.inp:{line_of(seq / 'cube.inp', '**foo')}:" in msg
    assert "'**foo'" in msg and "***bc" in msg


def test_unknown_deck_section(seq):
    edit(seq / "cube.inp", "***table", "***init_dof_value\n***table")
    with pytest.raises(UnsupportedError, match=r"cube\.inp:\d+: unsupported keyword '\*\*\*init_dof_value'"):
        ADAPTER.read(seq / "cube.inp")


def test_unknown_element_type(seq):
    edit(seq / "cube.geof", "1 c3d8 1 2 9 8", "1 c3d99 1 2 9 8")
    with pytest.raises(UnsupportedError) as e:
        ADAPTER.read(seq / "cube.ut")
    msg = str(e.value)
    assert f"cube.geof:{line_of(seq / 'cube.geof', 'c3d99')}:" in msg and "'c3d99'" in msg


def test_non_numeric_coordinate_in_geof(seq):
    edit(seq / "cube.geof", "2 1.666666666666667e-01", "2 1.6666x")
    with pytest.raises(InputError) as e:
        ADAPTER.read(seq / "cube.ut")
    msg = str(e.value)
    assert "cube.geof:5:" in msg and "'1.6666x'" in msg and "number" in msg


def test_non_numeric_node_in_element(seq):
    edit(seq / "cube.geof", "2 c3d8 2 3 10 9", "2 c3d8 2 3 1O 9")
    with pytest.raises(InputError) as e:
        ADAPTER.read(seq / "cube.ut")
    assert f"cube.geof:{line_of(seq / 'cube.geof', '2 c3d8 2 3 1O 9')}:" in str(e.value)
    assert "'1O'" in str(e.value)


def test_unknown_node_in_set(seq):
    edit(seq / "cube.geof", "**nset center\n", "**nset center\n 9999\n")
    with pytest.raises(InputError, match=r"cube\.geof:\d+: \*\*nset center: unknown node id 9999"):
        ADAPTER.read(seq / "cube.ut")


@pytest.mark.parametrize("name", ["cube.ut", "cube.geof", "cube.inp", "mat"])
def test_empty_file(seq, name):
    (seq / name).write_text("" if name != "mat" else "% only a comment\n")
    with pytest.raises(InputError) as e:
        if name == "mat":
            read_material(seq / name)
        else:
            ADAPTER.read(seq / ("cube.inp" if name != "cube.ut" else "cube.ut"))
    assert name in str(e.value) and "empty" in str(e.value)


def test_bad_output_line_in_ut(seq):
    edit(seq / "cube.ut", "3 1 1 2 4.000000000000000e-01", "3 1 1 2 0.4e")
    with pytest.raises(InputError, match=r"cube\.ut:7: output line time: expected a number, got '0.4e'"):
        ADAPTER.read(seq / "cube.ut")


def test_wrong_size_pressure_file(seq):
    (seq / "pressure.node").write_bytes(b"\0" * 40)
    with pytest.raises(InputError) as e:
        ADAPTER.read(seq / "cube.inp")
    msg = str(e.value)
    assert "pressure.node" in msg and "144 bytes" in msg and "40 bytes" in msg
    assert f"cube.inp:{line_of(seq / 'cube.inp', 'pressure.node')}:" in msg


def test_truncated_temperature_file(seq):
    (seq / "temperature2.node").write_bytes(b"\0" * 100)
    with pytest.raises(InputError, match=r"cube\.inp:\d+: temperature file temperature2\.node.*1372 bytes"):
        ADAPTER.read(seq / "cube.inp")


def test_undefined_table(seq):
    edit(seq / "cube.inp", "d3 1.5e4 rotation", "d3 1.5e4 spin")
    with pytest.raises(InputError, match=r"cube\.inp:\d+: table 'spin' not defined"):
        ADAPTER.read(seq / "cube.inp")


def test_unknown_set_in_deck(seq):
    edit(seq / "cube.inp", "x0y0   U2 0.0", "nowhere U2 0.0")
    with pytest.raises(InputError, match=r"cube\.inp:\d+: unknown node set 'nowhere'"):
        ADAPTER.read(seq / "cube.inp")


def test_material_unknown_keyword(seq):
    edit(seq / "mat", "*criterion mises", "*criterion mises\n*damage lemaitre")
    with pytest.raises(UnsupportedError) as e:
        read_material(seq / "mat")
    assert f"mat:{line_of(seq / 'mat', '*damage')}:" in str(e.value) and "'*damage'" in str(e.value)


def test_material_theta_not_one(seq):
    edit(seq / "mat", "theta_method_a 1. ", "theta_method_a 0.5 ")
    with pytest.raises(UnsupportedError, match=r"mat:2: .*theta = 0.5"):
        read_material(seq / "mat")


def test_material_bad_table_row(seq):
    edit(seq / "mat", "  300.00  0.", "  300.00  0. 7.")
    with pytest.raises(InputError, match=r"mat:\d+: \*flow norton: table of 'K'"):
        read_material(seq / "mat")


def test_parallel_shared_node_mismatch(tmp_path):
    dst = writable_copy("MecaParallel", tmp_path / "par")
    # node id 22 is the first local node of domain 1 (cube-001) and is shared with cube-002
    nodes2 = (dst / "cube-pcuts" / "cube-002.cut").read_text().split("**nodes 196")[1].split()[:196]
    j = nodes2.index("22")
    a = np.fromfile(dst / "cube-002.node", dtype=">f4").reshape(11, 6, 196)
    a[10, 0, j] += 1e-3  # U1 at the last output
    a.tofile(dst / "cube-002.node")
    with pytest.raises(InputError) as e:
        ADAPTER.read(dst)
    msg = str(e.value)
    assert "cube-002.node" in msg and "U1" in msg and "node 22" in msg and "differs" in msg


def test_parallel_missing_cut(tmp_path):
    src = case_dir("MecaParallel")
    for f in src.iterdir():
        if f.is_file() and f.name != "cube.cut":
            shutil.copyfile(f, tmp_path / f.name)
    with pytest.raises(InputError, match=r"cube\.cut.*missing"):
        ADAPTER.read(tmp_path / "cube-001.ut")


# ------------------------------------------------------------ robustness (fuzz)
def _mutations(text: str, rng: random.Random, n: int):
    lines = text.splitlines()
    junk = ["x", "-", "1e", "(", ")", "**", "***", "*", "nan", "1.5", "0", "-3", "%", ";", "999999"]
    for _ in range(n):
        ls = list(lines)
        for _ in range(rng.randint(1, 3)):
            k = rng.randrange(len(ls))
            op = rng.random()
            toks = ls[k].split()
            if op < 0.3 or not toks:
                del ls[k]
            elif op < 0.6:
                toks[rng.randrange(len(toks))] = rng.choice(junk)
                ls[k] = " ".join(toks)
            elif op < 0.8:
                del toks[rng.randrange(len(toks))]
                ls[k] = " ".join(toks)
            else:
                ls.insert(k, rng.choice(junk) + " " + rng.choice(junk))
        yield "\n".join(ls) + "\n"


@pytest.mark.parametrize("name,reader", [("cube.inp", "deck"), ("mat", "mat"), ("cube.ut", "ut")])
def test_mutated_files_only_raise_romnet_errors(seq, name, reader):
    rng = random.Random(1234)
    original = (seq / name).read_text()
    n_err = 0
    for text in _mutations(original, rng, 60):
        (seq / name).write_text(text)
        try:
            if reader == "mat":
                read_material(seq / name)
            else:
                ADAPTER.read(seq / name)
        except RomnetError as exc:
            assert name in str(exc) or "cube" in str(exc), str(exc)
            n_err += 1
    assert n_err > 0


def test_mutated_geof_only_raises_romnet_errors(seq):
    # a small geof (the first elements of the cube) keeps the loop fast
    from adapters.zset.geof import read_geof
    small = """***geometry
**node
8 3
1 0 0 0
2 1 0 0
3 1 1 0
4 0 1 0
5 0 0 1
6 1 0 1
7 1 1 1
8 0 1 1
**element
1
1 c3d8 1 2 3 4 5 6 7 8
***group
**nset a
1 2
**elset b
1
**faset f
q4 2 3 7 6
***return
"""
    rng = random.Random(99)
    for k, t in enumerate(_mutations(small, rng, 300)):
        p = seq / "m.geof"
        p.write_text(t)
        try:
            read_geof(p)
        except RomnetError as exc:
            assert "m.geof" in str(exc), str(exc)


def test_mixed_types_integ_unsupported(tmp_path):
    from test_zset_import import MIXED_NODES
    (tmp_path / "m.geof").write_text(MIXED_NODES + """**element
2
1 c3d4 1 2 3 4
2 c3d6 2 5 3 6 7 4
***return
""")
    (tmp_path / "m.ut").write_text("**meshfile m.geof\n**node U1 U2 U3\n**integ sig11\n**element\n1 1 1 0 0.\n")
    np.zeros(21, ">f4").tofile(tmp_path / "m.node")
    np.zeros(10, ">f4").tofile(tmp_path / "m.integ")
    with pytest.raises(UnsupportedError, match=r"m\.integ.*integration points.*c3d4, c3d6"):
        ADAPTER.read(tmp_path / "m.ut")


def test_broken_deck_next_to_results_is_reported(seq):
    (seq / "cube.inp").write_text("  \n")
    with pytest.raises(InputError, match=r"cube\.inp: empty deck"):
        ADAPTER.read(seq / "cube.ut")
    (seq / "cube.inp").write_text("****mesher\n***mesh x\n****return\n")  # not a calcul deck: ignored
    case = ADAPTER.read(seq / "cube.ut")
    assert case.problem is None and "imported" in case.results
