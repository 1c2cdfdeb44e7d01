"""Ansys MAPDL importer: ``.rst`` result files through ``ansys-mapdl-reader``.

Optional extra: ``pip install romnet[ansys]`` (``ansys-mapdl-reader``, which pulls VTK /
pyvista). ``ADAPTER.available()`` says so when it is missing.

``ADAPTER.read(job.rst)`` gives

* the mesh of the result file with every node of quadratic elements (``Result.quadgrid``:
  SOLID186/187 as c3d20/c3d10 (degenerate SOLID186 shapes as c3d15/c3d10), SOLID185 as
  c3d8/c3d6/c3d4; VTK cells converted to romnet's node order; other cells are reported and
  skipped, as are nodes no element uses), node ids = MAPDL node numbers, element ids =
  MAPDL element numbers; ``metadata["ansys_element_types"]`` counts the MAPDL element
  routines (e.g. ``{"SOLID186": 40}``);
* the analysis type (``metadata["analysis"]``: static, transient, modal, buckling; MAPDL
  header ``kan``): static/transient results are one output per result set at its time
  (series ``imported``); **modal and buckling results are mode shapes**, imported as the
  series ``modes`` whose "times" are the mode numbers 1..n, the frequencies (Hz) or load
  factors in ``metadata["frequencies"]`` and a note; harmonic and other analyses are
  refused;
* nodal fields: ``U`` (displacement), ``temperature`` (when every node has one),
  ``stress_nodal`` (SX SY SZ SXY SYZ SXZ -> 11 22 33 12 23 31).

**Element results are not at integration points**: MAPDL's ``.rst`` stores element
solutions at the element nodes (extrapolated from the integration points, or copied,
depending on ``ERESX``), and ``stress_nodal`` is their average at each node. They are
therefore imported as nodal fields named ``*_nodal`` and ``metadata["notes"]`` says so;
no integration-point field is imported from ``.rst`` files.
"""
from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path

import numpy as np

from romnet.adapters import Adapter
from romnet.case import Case
from romnet.errors import InputError, RomnetError
from romnet.export import romnet_permutation
from romnet.mesh import ElementBlock, Mesh
from romnet.snapshots import Field, SnapshotSeries

__all__ = ["ADAPTER", "AnsysAdapter"]

VTK_TO_ROMNET = {10: "c3d4", 24: "c3d10", 13: "c3d6", 26: "c3d15", 12: "c3d8", 25: "c3d20"}
#: MAPDL analysis type (result header ``kan``) -> name
ANALYSIS = {0: "static", 1: "buckling", 2: "modal", 3: "harmonic", 4: "transient", 7: "substructure",
            8: "spectrum"}
MODE_ANALYSES = ("modal", "buckling")
EXTRAPOLATED_NOTE = ("stress_nodal: MAPDL element stresses at the nodes (extrapolated from the "
                     "integration points or copied, see ERESX), averaged over the elements of each "
                     "node -- not integration-point values")


def _guard(path, what, fn, *args):
    try:
        return fn(*args)
    except RomnetError:
        raise
    except MemoryError:
        raise InputError(f"{what}: file announces more data than fits in memory", path) from None
    except Exception as exc:  # the reader raises many types on damaged files
        msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputError(f"{what}: cannot read ({type(exc).__name__}: {msg})", path) from None


class AnsysAdapter(Adapter):
    name = "ansys"
    description = "Ansys MAPDL .rst results via ansys-mapdl-reader (nodal U, T, nodal-averaged stress)"
    extras = ["ansys"]
    suffixes = [".rst"]

    def available(self):
        try:
            import ansys.mapdl.reader  # noqa: F401
        except ImportError:
            return False, "pip install romnet[ansys]"
        return True, ""

    def read(self, path, progress=None) -> Case:
        ok, why = self.available()
        if not ok:
            raise InputError(f"the ansys adapter needs ansys-mapdl-reader: {why}", path)
        path = Path(path)
        say = progress or (lambda m: None)
        if not path.is_file():
            raise InputError("rst file not found", path)
        if path.stat().st_size == 0:
            raise InputError("empty rst file", path)
        say(f"reading {path}")
        d = run_isolated(_extract, path)
        notes = list(d["notes"])
        analysis = str(d["analysis"][0])
        if analysis not in ("static", "transient") + MODE_ANALYSES:
            raise InputError(f"{analysis} analysis results are not supported (static, transient, modal, "
                             "buckling)", path, "result header kan")
        blocks = [ElementBlock(et, d[f"conn{i}"], d[f"eids{i}"]) for i, et in enumerate(d["etypes"])]
        mesh = Mesh(d["points"], d["node_ids"], blocks).validate(path)
        n_sets = len(d["times"])
        modes = analysis in MODE_ANALYSES
        series = SnapshotSeries(np.arange(1.0, n_sets + 1) if modes else d["times"],
                                increments=np.arange(1, n_sets + 1), source=str(path))
        series.nodal["U"] = Field("U", ["U1", "U2", "U3"], d["U"], ["UX", "UY", "UZ"])
        if "T" in d:
            series.nodal["temperature"] = Field("temperature", ["temperature"], d["T"], ["TEMP"])
        if "S" in d:
            series.nodal["stress_nodal"] = Field("stress_nodal", ["11", "22", "33", "12", "23", "31"], d["S"],
                                                 ["SX", "SY", "SZ", "SXY", "SYZ", "SXZ"])
        notes.append("element results in .rst files are stored at the nodes (extrapolated), not at "
                     "integration points: no integration-point field is imported")
        meta = {"code": "ansys", "files": [str(path)], "notes": notes, "analysis": analysis,
                "ansys_element_types": json.loads(str(d["element_types"][0])),
                "element_results": "nodal (extrapolated/averaged), not at integration points"}
        if modes:
            what = "frequencies (Hz)" if analysis == "modal" else "load factors"
            meta["frequencies"] = [float(x) for x in d["times"]]
            notes.append(f"{analysis} result: the {n_sets} result sets are mode shapes, imported as the "
                         f"series 'modes' with 'times' = mode numbers 1..{n_sets}; their {what} are in "
                         f"metadata['frequencies'] ({', '.join(f'{x:.6g}' for x in d['times'])})")
        for n in notes:
            say("note: " + n)
        return Case(mesh, None, {"modes" if modes else "imported": series}, meta)


#: seconds allowed to the vendor reader on one file
READ_TIMEOUT = float(os.environ.get("ROMNET_ANSYS_TIMEOUT", "300"))


def _said(log) -> str:
    """``; the reader said: <first line>`` of what the vendor reader printed ('' if nothing)."""
    from romnet.errors import printable
    log.seek(0)
    lines = [ln.strip() for ln in log.read(4096).decode("latin-1").splitlines() if ln.strip()]
    return f"; the reader said: {printable(lines[0], 120)}" if lines else ""


def run_isolated(fn, path, timeout=None):
    """Run ``fn(path) -> dict`` in a forked child so that a crash (the vendor reader is C
    code that can segfault on a damaged file) or a hang becomes an InputError naming the
    file. The dict (numpy arrays, lists of str) comes back through a temporary .npz file.
    Without ``os.fork`` (Windows) it runs in-process."""
    timeout = READ_TIMEOUT if timeout is None else timeout
    if not hasattr(os, "fork"):
        return fn(path)
    fd, tmp = tempfile.mkstemp(suffix=".npz")
    os.close(fd)
    log = tempfile.TemporaryFile()      # the vendor reader's own output (C++ noise), summarised
    try:
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                os.dup2(log.fileno(), 1)
                os.dup2(log.fileno(), 2)
                out = fn(path)
                np.savez(tmp, __json__=json.dumps({k: v for k, v in out.items() if isinstance(v, list)}),
                         **{k: v for k, v in out.items() if not isinstance(v, list)})
            except InputError as exc:
                np.savez(tmp, __error__=json.dumps([str(exc.problem), exc.where]))
                code = 3
            except BaseException as exc:  # noqa: BLE001 - reported by the parent
                msg = str(exc).splitlines()[0][:200] if str(exc) else ""
                np.savez(tmp, __error__=json.dumps([f"cannot read ({type(exc).__name__}: {msg})", None]))
                code = 4
            finally:
                os._exit(code)
        t0 = time.monotonic()
        try:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() - t0 > timeout:
                    raise InputError(f"the MAPDL reader did not finish within {timeout:g} s "
                                     "(damaged file?)", path)
                time.sleep(0.002)
        except BaseException:  # timeout, interrupt: never leave the child running
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        if os.WIFSIGNALED(status):
            raise InputError(f"the MAPDL reader (ansys-mapdl-reader) crashed with signal "
                             f"{os.WTERMSIG(status)} on this file: damaged or unsupported .rst"
                             f"{_said(log)}", path)
        with np.load(tmp, allow_pickle=False) as z:
            if "__error__" in z:
                msg, where = json.loads(str(z["__error__"]))
                raise InputError(msg + _said(log), path, where)
            out = {k: z[k] for k in z.files if k != "__json__"}
            out.update(json.loads(str(z["__json__"])))
        return out
    finally:
        log.close()
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _extract(path):
    """Everything the adapter needs from the .rst, as arrays (runs in the child)."""
    import warnings
    warnings.simplefilter("ignore")
    from ansys.mapdl.reader import read_binary
    rst = _guard(path, "rst", read_binary, str(path))
    if not hasattr(rst, "nodal_displacement"):
        raise InputError(f"not a structural result file ({type(rst).__name__})", path)
    grid = _guard(path, "rst mesh", lambda: rst.quadgrid if hasattr(rst, "quadgrid") else rst.grid)
    mesh, notes = _guard(path, "rst mesh", _mesh, grid, path)
    header = _guard(path, "rst header", lambda: rst._resultheader)
    kan = int(header.get("kan", 0))
    routines = _guard(path, "rst element types", _element_routines, rst)
    times = np.asarray(_guard(path, "rst time values", lambda: rst.time_values), dtype=float)
    n_sets = int(_guard(path, "rst", lambda: rst.n_results))
    if times.shape != (n_sets,) or not np.isfinite(times).all():
        raise InputError(f"{n_sets} result sets but time values {times.shape}", path)
    order = np.argsort(mesh.node_ids, kind="stable")
    sorted_ids = mesh.node_ids[order]

    def index(nnum):
        nnum = np.asarray(nnum, dtype=np.int64)
        pos = np.clip(np.searchsorted(sorted_ids, nnum), 0, sorted_ids.size - 1)
        return order[pos], sorted_ids[pos] == nnum

    U = np.full((n_sets, mesh.n_nodes, 3), np.nan)
    T = np.full((n_sets, mesh.n_nodes, 1), np.nan)
    S = np.full((n_sets, mesh.n_nodes, 6), np.nan)
    has_t = has_s = True
    for i in range(n_sets):
        nnum, d = _guard(path, f"result set {i + 1} displacement", rst.nodal_displacement, i)
        idx, ok = index(nnum)
        U[i, idx[ok]] = np.asarray(d, dtype=float)[ok, :3]
        if has_t:
            try:
                nnum, t = rst.nodal_temperature(i)
                idx, ok = index(nnum)
                T[i, idx[ok], 0] = np.asarray(t, dtype=float)[ok]
            except Exception:  # no temperature in this file
                has_t = False
        if has_s:
            try:
                nnum, st = rst.nodal_stress(i)
                idx, ok = index(nnum)
                S[i, idx[ok]] = np.asarray(st, dtype=float)[ok][:, :6]
            except Exception:  # no stress in this file
                has_s = False
    if np.isnan(U).any():
        raise InputError("displacement missing at some nodes of the mesh", path)
    out = {"points": mesh.coordinates, "node_ids": mesh.node_ids, "times": times, "U": U,
           "etypes": [b.etype for b in mesh.blocks], "notes": notes,
           "analysis": [ANALYSIS.get(kan, f"type {kan}")], "element_types": [json.dumps(routines)]}
    for i, b in enumerate(mesh.blocks):
        out[f"conn{i}"], out[f"eids{i}"] = b.connectivity, b.element_ids
    if has_t and not np.isnan(T).any():
        out["T"] = T
    elif has_t:
        notes.append("nodal temperatures missing at some nodes: not imported")
    if has_s and not np.isnan(S).any():
        out["S"] = S
        notes.append(EXTRAPOLATED_NOTE)
    elif has_s:
        notes.append("nodal stresses missing at some nodes (e.g. mid-side nodes): not imported")
    return out


def _mesh(grid, path):
    pts = np.asarray(grid.points, dtype=float)
    node_ids = np.asarray(grid.point_data["ansys_node_num"], dtype=np.int64)
    elem_ids = np.asarray(grid.cell_data["ansys_elem_num"], dtype=np.int64)
    celltypes = np.asarray(grid.celltypes)
    cells = grid.cells_dict
    notes = []
    blocks = []
    skipped = sorted(set(celltypes.tolist()) - set(VTK_TO_ROMNET))
    if skipped:
        notes.append(f"skipped non-solid VTK cell types {skipped}")
    for vtk_type, etype in VTK_TO_ROMNET.items():
        if vtk_type not in cells:
            continue
        conn = np.asarray(cells[vtk_type], dtype=np.int64)
        blocks.append(ElementBlock(etype, conn[:, romnet_permutation(etype)], elem_ids[celltypes == vtk_type]))
    if not blocks:
        raise InputError("no solid element in the result file", path)
    used = np.zeros(pts.shape[0], dtype=bool)
    for b in blocks:
        used[b.connectivity] = True
    if not used.all():
        notes.append(f"{int((~used).sum())} of {used.size} nodes belong to no imported element")
    return Mesh(pts, node_ids, blocks).validate(path), notes


def _element_routines(rst):
    """{"SOLID186": count, ...}: MAPDL element routine of every element (``mesh.ekey`` maps
    element type numbers, field 2 of each element record, to routines)."""
    m = rst.mesh
    ekey = {int(a): int(b) for a, b in np.asarray(m.ekey).reshape(-1, 2)}
    types = [int(e[1]) for e in m.elem]
    names, counts = np.unique([ekey.get(t, -1) for t in types], return_counts=True)
    return {(f"SOLID{n}" if 185 <= n <= 187 else f"routine {n}"): int(c) for n, c in zip(names, counts)}


ADAPTER = AnsysAdapter()
