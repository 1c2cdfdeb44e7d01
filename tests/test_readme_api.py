"""The README's script of the top-level API (``import romnet``), run as it stands there: it
is read from README.md (the ``python`` block after the marker ``<!-- api-script -->``), so
the two cannot drift. The Z-set MecaSequential cube is imported through the adapter
registry, re-run with romnet's HF solver, reduced (offline) and run online; the figures it
prints are checked against Z-set (README, "Measured figures": HF U 2.2e-5, p 7.0e-5; ROM U
3.4e-6, p 7.1e-6)."""
import re
import subprocess
import sys

from conftest import REPO, zset_case

MARKER = "<!-- api-script -->"


def readme_script() -> str:
    text = (REPO / "README.md").read_text()
    assert MARKER in text, "README.md lost its API script marker"
    m = re.search(r"```python\n(.*?)```", text[text.index(MARKER):], re.S)
    assert m, "no ```python block after the marker"
    return m.group(1)


def test_readme_script_runs_end_to_end(tmp_path):
    src = zset_case("MecaSequential")
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "shared").symlink_to(src.parents[2])          # the script reads ../shared/...
    (work / "api.py").write_text(readme_script())
    r = subprocess.run([sys.executable, "api.py"], cwd=work, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    print(r.stdout)
    err = {m[0]: (float(m[1]), float(m[2]))
           for m in re.findall(r"^(HF|ROM) vs Z-set: U ([0-9.e+-]+), p ([0-9.e+-]+)$", r.stdout, re.M)}
    assert set(err) == {"HF", "ROM"}, r.stdout
    assert err["HF"][0] < 1e-4 and err["HF"][1] < 3e-4        # measured 2.2e-5 / 7.0e-5
    assert err["ROM"][0] < 3e-5 and err["ROM"][1] < 3e-5      # measured 3.4e-6 / 7.1e-6
    m = re.search(r"^ROM: (\d+) U modes, (\d+) reduced points", r.stdout, re.M)
    assert m and int(m[1]) == 10 and 0 < int(m[2]) < 1728     # 10 modes, 103 of 1728 points
    assert (work / "out" / "api" / "cube-rom.h5").is_file()
