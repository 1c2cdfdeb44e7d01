"""case.toml validation: unknown tables / keys, wrong types and missing keys are
ConfigErrors naming the file, the table and the key; the shipped cases validate."""
import re
from pathlib import Path

import pytest

from romnet.app.config import load_case_config
from romnet.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
BLADE_SCRIPT = REPO / "cases" / "blade" / "problem.py"


def _case(tmp_path, text):
    d = tmp_path / "c"
    d.mkdir(exist_ok=True)
    (d / "case.toml").write_text(text)
    return d


GOOD = f"""
[case]
name = "t"
steps = ["generate", "train", "cluster", "online", "report"]
[generate]
script = "{BLADE_SCRIPT.as_posix()}"
[training]
samples = 4
[offline]
pod_tol = 1e-4
clusters = 2
[online]
samples = 3
hf_references = 1
enrich = true
"""


def test_good_case_defaults(tmp_path):
    cfg = load_case_config(_case(tmp_path, GOOD))
    assert cfg["generate"]["variant"] == "small" and cfg["generate"]["seed"] == 0
    assert cfg["generate"]["script"] == BLADE_SCRIPT
    assert cfg["online"]["tolerance"] == 1e-3 and cfg["online"]["seed"] == 1000
    assert cfg["online"]["cluster"] == "classifier"
    assert cfg["offline"] == {"pod_tol": 1e-4, "clusters": 2}
    assert cfg["report"]["speedup_runs"] == [10, 100, 1000]


@pytest.mark.parametrize("edit, table, key, words", [
    (("[online]\n", "[online]\nsample = 3\n"), "online", "sample", "unknown key"),
    (("samples = 3", 'samples = "three"'), "online", "samples", "integer >= 1"),
    (("samples = 3", "samples = 0"), "online", "samples", "integer >= 1"),
    (("enrich = true", "enrich = 1"), "online", "enrich", "true or false"),
    (("hf_references = 1", "hf_references = -1"), "online", "hf_references", "integer >= 0"),
    (("pod_tol = 1e-4", "pod_tol = -1.0"), "offline", "pod_tol", "number > 0"),
    (("pod_tol = 1e-4", "pod_toll = 1e-4"), "offline", "pod_toll", "unknown key"),
    (("clusters = 2", 'clusters = "two"'), "offline", "clusters", "clusters"),
    (("samples = 4", "seed = 4"), "training", "samples", "missing required key"),
    (('name = "t"', 'name = "t"\nsteps_ = 1'), "case", "steps_", "unknown key"),
    (("[training]", "[trainig]"), "trainig", None, "unknown table"),
    (('"report"]', '"reprt"]'), "case", "steps", "unknown step 'reprt'"),
    (('"online", "report"]', '"online", "offline"]'), "case", "steps", "'offline' after 'cluster'"),
    (("script = ", 'script = "nothere.py"\n#'), "generate", "script", "no such file"),
    (("[online]\n", '[learning]\nhf_start = "zero"\n[online]\n'), "learning", "hf_start", "rom"),
    (("[online]\n", '[learning]\necm_pool = -1\n[online]\n'), "learning", "ecm_pool", "integer >= 0"),
    (("[online]\n", '[learning]\nadd_norm = "h1"\n[online]\n'), "learning", "add_norm", "strain"),
])
def test_bad_key_names_file_table_key(tmp_path, edit, table, key, words):
    old, new = edit
    assert old in GOOD
    d = _case(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as ei:
        load_case_config(d)
    msg = str(ei.value)
    assert str(d / "case.toml") in msg
    assert f"[{table}]" in msg
    if key:
        assert key in msg
    assert words in msg


def test_missing_steps_and_file(tmp_path):
    with pytest.raises(ConfigError, match=r"\[case\] steps: missing required key"):
        load_case_config(_case(tmp_path, '[case]\nname = "x"\n'))
    with pytest.raises(ConfigError, match="no case.toml"):
        load_case_config(tmp_path / "empty")


def test_cycles_table_checked_at_load(tmp_path):
    """[cycles] is checked with its schema when case.toml is read (issue 20; it used to be
    passed through unchecked to the step cycles): an unknown key, a wrong kind or
    train_cycles > cycles is refused before any step, the keys given are kept."""
    for text, words in (("anything = 3", "[cycles] anything: unknown key"),
                        ("ecm_max_points = 1e23", "[cycles] ecm_max_points: expected an integer"),
                        ("cycles = 2\ntrain_cycles = 3", "[cycles] train_cycles: 3 is more than cycles")):
        with pytest.raises(ConfigError, match=re.escape(words)) as ei:
            load_case_config(_case(tmp_path, f'[case]\nsteps = ["cycles"]\n[cycles]\n{text}\n'))
        assert "case.toml" in str(ei.value)
    cfg = load_case_config(_case(tmp_path, '[case]\nsteps = ["cycles"]\n[cycles]\ncycles = 3\n'))
    assert cfg["cycles"] == {"cycles": 3}


@pytest.mark.parametrize("case", ["zset_cube", "blade", "blade_cycles"])
def test_shipped_cases_validate(case):
    d = REPO / "cases" / case
    if case == "zset_cube" and not (REPO.parent / "shared" / "data" / "zset").is_dir():
        pytest.skip("shared Z-set data absent")
    cfg = load_case_config(d)
    assert cfg["case"]["steps"]
