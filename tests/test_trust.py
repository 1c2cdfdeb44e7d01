"""Issue 20 (trust the data): one test per reproducer of the issue.

Lost or mixed runs (resume with another input, second writer, temporaries left by a
killed rewrite, mode of a rewritten store), case.toml (output name, empty steps, bounds,
non-UTF-8 bytes, a generator script that raises), crafted stores (external links /
storage / virtual datasets, bad JSON, wrong types, bad schema version, missing
coordinates, connectivity out of range), silent wrong values at import (non-finite,
out of range, inverted elements, material coefficients), messages (one printable line)
and ``romnet info`` (ranges, non-finite counts, warnings)."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import make_small_case, mpirun_cmd
from hifi_cases import box_plastic_case

from romnet.app.config import load_case_config
from romnet.case import Case
from romnet.errors import ConfigError, InputError, StoreError, printable
from romnet.hifi import HFSolver, SolverOptions, run_hifi
from romnet.locking import is_temporary, lock_path, write_lock
from romnet.store import CaseStore, rewrite_store, write_case
from romnet.summary import store_summary
from romnet.validate import validate_case

REPO = Path(__file__).resolve().parents[1]
ZSET = REPO.parent / "shared" / "data" / "zset" / "MecaSequential"
OPT = SolverOptions(linear="scipy", verbose=False)
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))


def romnet_cli(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "romnet.app.cli", *map(str, args)], capture_output=True,
                          text=True, env=env or ENV, cwd=cwd, timeout=300)


# --------------------------------------------------------------------------- lost or mixed runs
def test_resume_with_another_input_refused(tmp_path):
    mesh, pb = box_plastic_case(n_inc=4)
    a = write_case(tmp_path / "a.h5", Case(mesh, pb, {}, {"code": "test"}))
    _, other = box_plastic_case(n_inc=4, strain_max=4e-3)      # another loading, same mesh
    b = write_case(tmp_path / "b.h5", Case(mesh, other, {}, {"code": "test"}))
    HFSolver(mesh, pb, options=OPT).run(store_out=tmp_path / "out.h5", store_in=a, progress=None, stop_after=2)
    with pytest.raises(StoreError, match="cannot resume: series 'hifi' was computed from another input"):
        HFSolver(mesh, pb, options=OPT).run(store_out=tmp_path / "out.h5", store_in=b, resume=True, progress=None)
    assert not lock_path(tmp_path / "out.h5").exists()        # the refusal released the lock
    res = HFSolver(mesh, pb, options=OPT).run(store_out=tmp_path / "out.h5", store_in=a, resume=True,
                                             progress=None)    # the same input resumes
    assert res.resumed_from == 3


def _hold_lock(path, seconds=60):
    """A subprocess holding the write lock of ``path`` (as a running writer would)."""
    code = textwrap.dedent(f"""
        import sys, time
        from romnet.locking import write_lock
        with write_lock({str(path)!r}):
            print("locked", flush=True)
            time.sleep({seconds})
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=ENV)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_second_writer_refused(tmp_path):
    case = make_small_case()
    store = write_case(tmp_path / "s.h5", case)
    holder = _hold_lock(store)
    try:
        with pytest.raises(StoreError, match=rf"another romnet process \(pid {holder.pid} on host .*\) is writing"):
            write_case(store, case)
        with pytest.raises(StoreError, match="another romnet process"):
            with rewrite_store(store):
                pass
        mesh, pb = box_plastic_case(n_inc=2)
        inp = write_case(tmp_path / "in.h5", Case(mesh, pb, {}, {}))
        holder2 = _hold_lock(tmp_path / "out.h5")
        try:                                                  # romnet hifi on an output being written
            r = romnet_cli("hifi", inp, "-o", tmp_path / "out.h5", "--linear", "scipy")
            assert r.returncode == 2 and "another romnet process" in r.stderr and "Traceback" not in r.stderr
            assert not (tmp_path / "out.h5").exists()
        finally:
            holder2.kill()
            holder2.wait()
    finally:
        holder.kill()
        holder.wait()
    write_case(store, case)                                   # a killed holder's lock is taken over
    assert not lock_path(store).exists()
    with write_lock(store):                                    # re-entrant within a process
        write_case(store, case)


def test_no_tmp_left_after_killed_rewrite(tmp_path):
    store = write_case(tmp_path / "s.h5", make_small_case())
    code = textwrap.dedent(f"""
        import os, signal
        from romnet.store import rewrite_store
        with rewrite_store({str(store)!r}) as f:
            f.attrs["x"] = 1
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True)
    assert r.returncode == -signal.SIGKILL
    left = [p for p in tmp_path.iterdir() if is_temporary(p, store)]
    assert len(left) == 1 and left[0].stat().st_size > 0      # what the kill leaves ...
    decoy = tmp_path / "s.h5.notours.tmp"                     # not our pattern: kept
    decoy.write_text("x")
    with CaseStore(store) as st:                               # ... is removed on the next open
        assert "x" not in st.attrs("/")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == [decoy.name]


def test_mode_preserved_on_rewrite(tmp_path):
    store = write_case(tmp_path / "s.h5", make_small_case())
    os.chmod(store, 0o640)
    with rewrite_store(store) as f:
        f.attrs["x"] = 1
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o640
    os.chmod(store, 0o604)
    write_case(store, make_small_case())
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o604
    mask = os.umask(0o022)
    os.umask(mask)
    new = write_case(tmp_path / "new.h5", make_small_case())  # a new store: the umask's mode, not 0600
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o666 & ~mask


# --------------------------------------------------------------------------- case.toml
def _case(tmp_path, text):
    d = tmp_path / "c"
    d.mkdir(exist_ok=True)
    (d / "case.toml").write_bytes(text if isinstance(text, bytes) else text.encode())
    return d


@pytest.mark.parametrize("text, words", [
    ('[case]\nname = "../x"\nsteps = ["info"]\n', "[case] name: expected a plain name"),
    ('[case]\nname = "../../x"\nsteps = ["info"]\n', "[case] name: expected a plain name"),
    ('[case]\nname = "/tmp/x"\nsteps = ["info"]\n', "[case] name: expected a plain name"),
    ('[case]\nname = ""\nsteps = ["info"]\n', "[case] name: expected a plain name"),
    ('[case]\nsteps = []\n', "[case] steps: expected a non-empty list"),
    ('[case]\nsteps = ["offline"]\n[offline]\nwarm_start = [-1, 100000]\n', "[offline] warm_start: expected"),
    ('[case]\nsteps = ["offline"]\n[offline]\npod_tol = 1e300\n', "[offline] pod_tol: expected a number > 0 and <= 1"),
    ('[case]\nsteps = ["offline"]\n[offline]\necm_max_points = 1e23\n', "[offline] ecm_max_points: expected an integer"),
    ('[case]\nsteps = ["cycles"]\n[cycles]\necm_max_points = 1e23\n', "[cycles] ecm_max_points: expected an integer"),
    ('[case]\nsteps = ["online"]\n[online]\nsamples = 100000000000\n', "[online] samples: expected an integer >= 1"),
    ('[case]\nsteps = ["import"]\n[validation]\nnonfinite = "ignore"\n', "[validation] nonfinite: expected"),
    (b'[case]\nsteps = ["info"]\n# caf\xe9\n', ":3: byte 29: not UTF-8 text (byte 0xe9)"),
    ('[case]\nsteps = ["import"]\n[import]\ncode = "zset"\npath = "a\\u0000b"\n', "[import] path: not a usable path"),
    ('[case]\nsteps = ["generate"]\n[generate]\nscript = "' + "a" * 300 + '"\n', "[generate] script: not a usable path"),
])
def test_case_toml_refused(tmp_path, text, words):
    d = _case(tmp_path, text)
    with pytest.raises(ConfigError) as ei:
        load_case_config(d)
    assert str(d / "case.toml") in str(ei.value) and words in str(ei.value), str(ei.value)
    r = romnet_cli("run", d, cwd=tmp_path)                    # the command line: one line, status 2
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and words in r.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()


def test_store_names_checked_before_the_steps_that_use_them(tmp_path):
    store = write_case(tmp_path / "out" / "t" / "case.h5", make_small_case())
    d = _case(tmp_path, '[case]\nname = "t"\nsteps = ["info", "offline"]\n[offline]\necm_stress = "sigma"\n')
    r = romnet_cli("run", d, "--steps", "offline", cwd=tmp_path)
    assert r.returncode == 2 and "case.toml: [offline] ecm_stress: 'sigma' is not an integration-point field" \
        in r.stderr, r.stderr
    d = _case(tmp_path, '[case]\nname = "t"\nsteps = ["offline"]\n[offline]\nseries = "train_*"\n')
    r = romnet_cli("run", d, cwd=tmp_path)
    assert r.returncode == 2 and "[offline] series: no result series matches 'train_*'" in r.stderr
    d = _case(tmp_path, '[case]\nname = "t"\nsteps = ["cluster", "online"]\n[offline]\nclusters = 2\n'
                        '[online]\ncluster = 3\n')
    r = romnet_cli("run", d, cwd=tmp_path)
    assert r.returncode == 2 and "[online] cluster: local ROM 3 does not exist" in r.stderr
    assert store.exists()


def test_generator_script_exception_is_one_line(tmp_path):
    d = _case(tmp_path, '[case]\nname = "g"\nsteps = ["generate"]\n[generate]\nscript = "gen.py"\n')
    (d / "gen.py").write_text("def build_case(variant, seed):\n    raise RuntimeError('no mesh for ' + variant)\n")
    r = romnet_cli("run", d, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == f"romnet: error: {(d / 'gen.py').resolve()}: RuntimeError: no mesh for small"
    r = romnet_cli("run", d, cwd=tmp_path, env=dict(ENV, ROMNET_DEBUG="1"))
    assert "Traceback" in r.stderr and "RuntimeError: no mesh for small" in r.stderr
    (d / "gen.py").write_text("1 / 0\n")                      # failing at import
    r = romnet_cli("run", d, cwd=tmp_path)
    assert r.returncode == 2 and "gen.py: ZeroDivisionError: division by zero" in r.stderr


# --------------------------------------------------------------------------- crafted stores
def _crafted(tmp_path, name, edit):
    store = write_case(tmp_path / f"{name}.h5", make_small_case())
    with h5py.File(store, "r+") as f:
        edit(f, tmp_path)
    return store


def _external_link(f, tmp):
    secret = tmp / "secret.h5"
    with h5py.File(secret, "w") as g:
        g["data"] = np.arange(3.0)
    f["mesh/stolen"] = h5py.ExternalLink(str(secret), "/data")


def _external_storage(f, tmp):
    (tmp / "raw.bin").write_bytes(np.arange(12.0).tobytes())
    f.create_dataset("extra", shape=(12,), dtype="<f8", external=[(str(tmp / "raw.bin"), 0, 96)])


def _virtual(f, tmp):
    with h5py.File(tmp / "src.h5", "w") as g:
        g["d"] = np.arange(4.0)
    layout = h5py.VirtualLayout(shape=(4,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(tmp / "src.h5"), "d", shape=(4,))
    f.create_virtual_dataset("virt", layout)


def _set_problem(f, tree):
    del f["problem/definition"]
    f["problem/definition"] = json.dumps(tree) if not isinstance(tree, str) else tree


def _definition(f):
    return json.loads(f["problem/definition"][()])


def _conn(f, value):
    c = f["mesh/blocks/000/connectivity"][()]
    c[0, 0] = value
    del f["mesh/blocks/000/connectivity"]
    f["mesh/blocks/000/connectivity"] = c


CRAFTED = {
    "external_link": (_external_link, "is an external link"),
    "external_storage": (_external_storage, "uses external storage"),
    "virtual_dataset": (_virtual, "uses a virtual dataset"),
    "bad_json_problem": (lambda f, t: _set_problem(f, "{not json"), "/problem/definition: not valid JSON"),
    "bad_json_metadata": (lambda f, t: f.attrs.__setitem__("metadata", "[1, 2"), "'metadata': not valid JSON"),
    "wrong_types": (lambda f, t: _set_problem(f, {**_definition(f), "materials": 3}), "/problem/definition: malformed"),
    "unknown_material_key": (lambda f, t: _set_problem(f, {**_definition(f), "materials": [
        {"element_set": "ALL", "spec": {}, "sauce": 1}]}), "/problem/definition: malformed"),
    "schema_version_abc": (lambda f, t: f.attrs.__setitem__("schema_version", "abc"), "schema_version 'abc' is not an integer"),
    "missing_coordinates": (lambda f, t: f["mesh"].__delitem__("coordinates"), "/mesh: malformed"),
    "connectivity_out_of_range": (lambda f, t: _conn(f, 10**6), "node index out of range"),
    "connectivity_float": (lambda f, t: (f["mesh/blocks/000"].__delitem__("connectivity"),
                                         f["mesh/blocks/000"].create_dataset("connectivity", data=np.zeros((2, 8)))),
                           "connectivity must be (n_el, n_el_nodes) integers"),
    "field_shape": (lambda f, t: f["results/imported/nodal/U"].attrs.__setitem__("n_points", 5), "does not hold 5 points"),
    "nan_coordinates": (lambda f, t: f["mesh/coordinates"].__setitem__((0, 0), np.nan), "non-finite coordinate"),
    "cycles_huge": (lambda f, t: _set_problem(f, {**_definition(f), "stepping": {
        **_definition(f)["stepping"], "cycles": 9223372036854775807}}), "cycles = 9223372036854775807 out of range"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_store_refused(tmp_path, name):
    edit, words = CRAFTED[name]
    store = _crafted(tmp_path, name, edit)
    r = romnet_cli("info", store)
    assert "Traceback" not in r.stderr, r.stderr
    if name in ("nan_coordinates", "cycles_huge"):       # readable: info shows it as a warning
        assert r.returncode == 0 and words in r.stdout, r.stdout
        with pytest.raises(StoreError, match=words.replace("(", r"\(")):
            run_hifi(store, tmp_path / "o.h5", progress=None, options=OPT)
    else:
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr
        assert str(store) in r.stderr


def test_external_opt_in(tmp_path):
    store = _crafted(tmp_path, "ext", _external_link)
    with pytest.raises(StoreError, match="external link"):
        CaseStore(store)
    with CaseStore(store, allow_external=True) as st:
        assert st.read("mesh/stolen").tolist() == [0.0, 1.0, 2.0]
    r = romnet_cli("info", store, "--allow-external")
    assert r.returncode == 0, r.stderr


def test_offline_refuses_nonfinite_snapshots(tmp_path):
    case = make_small_case()
    case.results["imported"].nodal["U"].values[2, 5, 1] = np.nan   # written without an import: unchecked
    store = write_case(tmp_path / "s.h5", case)
    r = romnet_cli("offline", store)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "LinAlgError" not in r.stderr
    assert "field 'U' holds 1 non-finite snapshot value(s)" in r.stderr, r.stderr


def test_rom_with_bad_version_is_a_store_error(tmp_path):
    store = write_case(tmp_path / "s.h5", make_small_case())
    with h5py.File(store, "r+") as f:
        f.create_group("rom").attrs.update({"format": "romnet-rom", "rom_schema_version": "abc"})
    r = romnet_cli("info", store)
    assert r.returncode == 2 and "/rom has schema version -1" in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- silent wrong values
def _bad(case_edit, words, **settings):
    case = make_small_case()
    case_edit(case)
    with pytest.raises(InputError, match=words):
        validate_case(case, "x.dat", settings or None)


def test_import_validation_refuses_wrong_values():
    _bad(lambda c: c.results["imported"].nodal["U"].values.__setitem__((1, 2, 0), np.nan),
         r"x.dat: results 'imported' nodal field 'U': 1 non-finite value\(s\), first nan at output 1, point 2")
    _bad(lambda c: c.results["imported"].integ["stress"].values.__setitem__((0, 0, 0), -np.inf), "non-finite")
    _bad(lambda c: c.results["imported"].__setattr__("times", np.array([0, np.inf, 2, 3.0])), "non-finite output time")
    _bad(lambda c: c.results["imported"].__setattr__("times", np.array([0, 2, 1, 3.0])), "output times decrease")
    _bad(lambda c: c.mesh.coordinates.__setitem__((0, 0), 1e308), "beyond max_abs_coordinate")
    _bad(lambda c: c.problem.stepping.__setattr__("cycles", 9223372036854775807), "cycles = 9223372036854775807")
    _bad(lambda c: c.problem.materials[0].spec["elasticity"].__setitem__("poisson", 0.7),
         r"material 'ALL' elasticity.poisson = 0.7: out of range \(-1, 0.5\)")
    _bad(lambda c: c.problem.temperature.fields.__setitem__((0, 0), 3e7), "out of temperature_range")
    _bad(lambda c: c.mesh.blocks[0].connectivity.__setitem__((0, slice(None)),
                                                             c.mesh.blocks[0].connectivity[0, [1, 0, 3, 2, 5, 4, 7, 6]]),
         r"element 1 \(c3d8\): non-positive Jacobian")
    case = make_small_case()                                   # relaxed: a warning kept with the case
    case.results["imported"].nodal["U"].values[1, 2, 0] = np.nan
    w = validate_case(case, "x.dat", {"nonfinite": "warn"})
    assert len(w) == 1 and case.metadata["warnings"] == w


def test_norton_exponent_bound_names_the_coefficient():
    case = make_small_case()
    case.problem.materials[0].spec.update(law="gen_evp", flow={"type": "norton", "K": 100.0, "n": 1e308})
    with pytest.raises(InputError, match=r"material 'ALL' flow.n = 1e\+308: out of range \(0, 200\]"):
        validate_case(case, "mat")


def test_nan_at_unused_nodes_is_a_warning():
    case = make_small_case()
    m = case.mesh
    m.coordinates = np.vstack([m.coordinates, [[9.0, 9.0, 9.0]]])        # a node no element uses
    m.node_ids = np.append(m.node_ids, 99)
    tf = case.problem.temperature
    tf.fields = np.hstack([tf.fields, tf.fields[:, :1]])
    s = case.results["imported"]
    u = np.concatenate([s.nodal["U"].values, np.full((4, 1, 3), np.nan)], axis=1)
    s.nodal["U"].values = u
    w = validate_case(case, "job.frd")
    assert len(w) == 1 and "1 node(s) that no element uses" in w[0]


@pytest.mark.skipif(not ZSET.is_dir(), reason="shared Z-set data absent")
def test_zset_reproducers(tmp_path):
    import shutil
    d = tmp_path / "z"
    shutil.copytree(ZSET, d)
    for f in d.iterdir():
        f.chmod(0o644)
    geof = (d / "cube.geof").read_text()
    i = geof.index("**element")
    el = geof[i:].split("\n")
    el[2] = "9223372036854775808" + el[2].lstrip().partition(" ")[1] + el[2].lstrip().partition(" ")[2]
    (d / "cube.geof").write_text(geof[:i] + "\n".join(el))
    r = romnet_cli("import", "zset", d / "cube.ut", "-o", tmp_path / "o.h5")
    assert r.returncode == 2 and "out of the 64-bit range" in r.stderr and "Traceback" not in r.stderr
    (d / "cube.geof").write_text(geof)
    mat = (d / "mat").read_text()
    assert "\n30.     0." in mat
    (d / "mat").write_text(mat.replace("\n30.     0.", "\n1e308     0.", 1))   # Norton exponent n
    r = romnet_cli("import", "zset", d / "cube.ut", "-o", tmp_path / "o.h5")
    assert r.returncode == 2 and "flow.n = 1e+308: out of range (0, 200]" in r.stderr, r.stderr
    r = romnet_cli("import", "zset", d / "cube.ut", "-o", tmp_path / "o.h5", "--relax", "material_bounds=warn")
    assert r.returncode == 0 and "warning: material" in r.stdout, r.stderr
    assert not (tmp_path / "o.h5.lock").exists()


# --------------------------------------------------------------------------- messages and info
def test_messages_are_one_printable_line():
    msg = str(InputError("bad token 'a\nb\x00\xff" + "x" * 5000 + "'", "f.dat", "byte 12"))
    assert msg.isprintable() and msg.startswith("f.dat:byte 12: bad token 'a\\nb\\x00") and len(msg) < 1000
    assert printable(b"\x00ab\n") == "\\x00ab\\n"


def test_info_shows_ranges_nonfinite_and_warnings(tmp_path):
    case = make_small_case()
    s = case.results["imported"]
    s.times = np.array([0.0, 0.5, 0.25, 1.0])
    s.nodal["U"].values[:] = 1.0
    s.nodal["U"].values[2, 3, 1] = -2.0
    s.nodal["U"].values[1, 0, 0] = np.nan
    store = write_case(tmp_path / "s.h5", case)                # written without an import: unchecked
    text = store_summary(store)
    assert "nodal U                shape (4, 12, 3)  [U1 U2 U3]  min -2 max 1, 1 non-finite" in text
    assert "results 'imported': output times decrease (0.5 then 0.25 at output 2)" in text
    assert "results 'imported' field 'U': 1 non-finite value(s)" in text
    assert "warnings (2):" in text


def test_rank_loss_ends_the_job(tmp_path):
    """No regression of what the issue found sound: an MPI rank killed in the middle of an
    HF run ends the whole job (the launcher returns non-zero within seconds: no rank is
    left waiting in a collective) and leaves no complete-looking output."""
    launcher = mpirun_cmd(2)
    if launcher is None:
        pytest.fail("no mpirun found (venv, PATH) and ROMNET_MPIRUN unset")
    mesh, pb = box_plastic_case(n=(6, 4, 4), n_inc=400)
    store = write_case(tmp_path / "in.h5", Case(mesh, pb, {}, {"code": "test"}))
    out = tmp_path / "out.h5"
    code = textwrap.dedent(f"""
        import os
        from romnet import mpi
        from romnet.hifi import HFSolver, SolverOptions
        from romnet.store import CaseStore
        rank = mpi.comm().Get_rank()
        with CaseStore({str(store)!r}) as st:
            mesh, pb = st.mesh(), st.problem()
        open(os.path.join({str(tmp_path)!r}, f"pid{{rank}}"), "w").write(str(os.getpid()))
        HFSolver(mesh, pb, options=SolverOptions(verbose=False)).run(
            store_out={str(out)!r}, store_in={str(store)!r}, progress=None)
    """)
    proc = subprocess.Popen([*launcher, sys.executable, "-c", code], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pid1 = tmp_path / "pid1"
    t0 = time.monotonic()
    while not (pid1.exists() and pid1.read_text()) and time.monotonic() - t0 < 120 and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, "the job ended before rank 1 could be killed"
    time.sleep(2.0)                                           # rank 1 inside the HF increments
    assert proc.poll() is None, "the job ended before rank 1 could be killed (make it longer)"
    os.kill(int(pid1.read_text()), signal.SIGKILL)
    t_kill = time.monotonic()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the job still runs 60 s after one of its ranks was killed")
    assert proc.returncode != 0
    assert time.monotonic() - t_kill < 60
    if out.exists():                                         # an incomplete run is marked as such
        with CaseStore(out) as st:
            assert "hifi" not in st.series_names() or st.n_complete("hifi") < 401
