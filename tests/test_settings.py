"""Settings schemas (romnet.settings and the tables' owners): one schema per case.toml
table, one [online] dialect for `romnet run` and `romnet online --config`, old spellings
renamed with a note or refused naming the new key, defaults written once."""
from pathlib import Path

import pytest

from romnet.app.config import TABLES, case_table, load_case_config
from romnet.errors import ConfigError
from romnet.offline.settings import ClusterSettings, OfflineSettings
from romnet.offline.training import RUN_FIELDS, TrainingSettings
from romnet.online.settings import OnlineSettings, cluster_choice, solver_options
from romnet.settings import Int, ListOf, Num, check_table, defaults, describe, setting

REPO = Path(__file__).resolve().parents[1]


def _toml(tmp_path, text, name="case.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_every_key_has_kind_default_and_doc():
    for table, schemas in TABLES.items():
        text = describe(*schemas)
        assert text.count("\n") + 1 == sum(len(s.__dataclass_fields__) for s in schemas), table
        for line in text.splitlines():
            key, rest = line.split(" = ", 1)
            assert "(" in rest and "): " in rest and rest.split("): ", 1)[1].strip(), line


def test_defaults_live_in_the_schemas():
    from romnet.app.cycles import DEFAULTS as CYCLES
    from romnet.offline.pipeline import DEFAULTS as OFFLINE
    from romnet.online.solver import OnlineOptions
    assert OFFLINE == defaults(OfflineSettings) and OFFLINE["pod_tol"] == 1e-6 and OFFLINE["ecm_tol"] == 1e-5
    assert CYCLES["pod_tol"] == OFFLINE["pod_tol"] and CYCLES["ecm_tol"] == OFFLINE["ecm_tol"]
    assert CYCLES["tolerance"] == OnlineSettings.tolerance == 1e-3
    assert ClusterSettings.max_clusters == 6 and ClusterSettings.dissimilarity == "angle"
    assert solver_options({}).ratio == OnlineOptions().ratio
    assert solver_options({"ratio": 1e-6}).ratio == 1e-6
    assert TrainingSettings.seed == 0 and defaults(TrainingSettings)["fields"] == ["U", "stress", "p", "plastic_strain"]


def test_training_fields_are_the_hf_outputs():
    from romnet.hifi import OUTPUT_FIELDS
    assert tuple(RUN_FIELDS) == tuple(OUTPUT_FIELDS)


def test_kinds_and_messages():
    from dataclasses import dataclass

    @dataclass
    class S:
        n: int = setting(3, Int(ge=1), "a count")
        x: float = setting(None, Num(gt=0), "a positive number", renamed={"old_x": "deprecated", "bad": "error"})
        v: list = setting(None, ListOf(Int(ge=1), nonempty=True), "run counts")
    assert check_table({}, S, "f.toml", "t") == {"n": 3}
    assert check_table({"v": (1, 2)}, S, "f.toml", "t", fill=False) == {"v": (1, 2)}
    notes = []
    assert check_table({"old_x": 2.5}, S, "f.toml", "t", note=notes.append) == {"n": 3, "x": 2.5}
    assert notes and "f.toml: [t] old_x is deprecated: use x" in notes[0]
    for table, words in (({"n": 0}, "[t] n: expected an integer >= 1, got 0"),
                         ({"n": True}, "[t] n: expected an integer >= 1"),
                         ({"x": "1"}, "[t] x: expected a number > 0"),
                         ({"v": []}, "[t] v: expected a non-empty list of integers >= 1"),
                         ({"w": 1}, "[t] w: unknown key"),
                         ({"bad": 1.0}, "[t] bad: renamed; use x"),
                         ({"old_x": 1.0, "x": 2.0}, "[t] old_x: renamed; use x")):
        with pytest.raises(ConfigError) as ei:
            check_table(table, S, "f.toml", "t")
        assert str(ei.value).startswith("f.toml: ") and words in str(ei.value), (table, str(ei.value))


def test_one_online_dialect(tmp_path):
    """The [online] table of romnet run, read by romnet online --config: same keys, same
    defaults; the old spelling tol is read as tolerance with a note; loading is resolved
    against the file's folder; a Monte Carlo (samples) excludes loading."""
    notes = []
    p = _toml(tmp_path, '[online]\nloading = "hot.h5"\nenrich = true\ntol = 2e-2\ncluster = "global"\n'
                        'criterion = "estimate"\n')
    on = case_table(p, "online", notes.append)
    assert on["tolerance"] == 2e-2 and on["enrich"] is True and on["criterion"] == "estimate"
    assert on["loading"] == (tmp_path / "hot.h5").resolve() and on["seed"] == OnlineSettings.seed
    assert cluster_choice(on["cluster"]) == "global" and cluster_choice("classifier") is None
    assert len(notes) == 1 and "tol is deprecated: use tolerance" in notes[0]
    with pytest.raises(ConfigError, match=r"\[online\] loading: .*exclude each other"):
        case_table(_toml(tmp_path, '[online]\nloading = "a.h5"\nsamples = 3\n', "b.toml"), "online")
    with pytest.raises(ConfigError, match=r"\[online\] cluster: expected"):
        case_table(_toml(tmp_path, '[online]\ncluster = "1"\n', "c.toml"), "online")
    # the same keys in a whole case.toml of romnet run
    d = tmp_path / "case"
    d.mkdir()
    (d / "case.toml").write_text('[case]\nsteps = ["online"]\n[online]\ntol = 0.05\nratio = 1e-9\n')
    notes.clear()
    cfg = load_case_config(d, note=notes.append)
    assert cfg["online"]["tolerance"] == 0.05 and cfg["online"]["ratio"] == 1e-9 and notes


def test_online_command_reads_the_run_dialect(tmp_path, capsys):
    """romnet online --config with a [online] table written for romnet run: the shared
    cube ROM runs on it (a key of the other old dialect, samples, is refused with a clear
    error instead of being silently ignored)."""
    from conftest import cube_rom

    from romnet.app.cli import main
    _, store = cube_rom(tmp_path)
    cfg = _toml(tmp_path, '[online]\nloading = "cube.h5"\ntolerance = 1e-3\ncluster = "classifier"\n')
    assert main(["online", str(store), "--config", str(cfg), "-o", str(tmp_path / "o.h5")]) == 0
    out = capsys.readouterr().out
    assert "online done: 10 increments, ROM global (global)" in out
    bad = _toml(tmp_path, '[online]\nsamples = 4\n', "mc.toml")
    assert main(["online", str(store), "--config", str(bad)]) == 2
    assert "[online] samples: a Monte Carlo runs in `romnet run`" in capsys.readouterr().err
