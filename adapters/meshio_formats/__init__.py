"""Generic importer through meshio: XDMF time series, VTU series (``.pvd``), MED.

``ADAPTER.read(path)`` accepts

* ``.xdmf`` / ``.xmf``: a time series (meshio's TimeSeriesReader; times = the XDMF
  ``<Time Value=...>``, exact) or a single mesh (one output at t = 0);
* ``.pvd``: a ParaView collection of ``.vtu`` files (``<DataSet timestep=... file=...>``,
  times from the ``.pvd``), all on the same mesh;
* ``.vtu``: one output at t = 0;
* ``.med`` (code_aster / Salome): the mesh and the nodal (``NOEU``) fields at every time
  step (times read from the MED file's ``PDT`` attributes).

Cells: meshio volume cells (``tetra tetra10 wedge wedge15 hexahedron hexahedron20``) or, for
2D meshes (all z = 0 or 2D points), ``triangle triangle6 quad quad8`` as plane-strain
elements; their VTK node order is permuted to romnet's (:func:`romnet.export.romnet_permutation`).
Lower-dimensional cells (boundary faces, lines, vertices) are skipped and reported in
``metadata["notes"]``. Point data become nodal fields (displacement names ``U``,
``DEPL``, ``displacement``, ``u`` become ``U``); cell data (one value per cell, e.g. a von
Mises stress per cell: not integration-point values) are not imported, and a note in
``metadata["notes"]`` (shown by ``romnet import`` and ``romnet info``) names them.
Series ``"imported"``.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from romnet.adapters import Adapter
from romnet.case import Case
from romnet.errors import InputError, RomnetError
from romnet.export import VTK_CELLS, romnet_permutation
from romnet.mesh import ElementBlock, Mesh
from romnet.snapshots import Field, SnapshotSeries

__all__ = ["ADAPTER", "MeshioAdapter"]

MESHIO_TO_ROMNET = {v: k for k, v in VTK_CELLS.items()}
DISPLACEMENT_NAMES = {"U", "DEPL", "displacement", "Displacement", "u", "DISP"}
#: meshio's own cell-data bookkeeping (element tags of MED / gmsh files), not results
CELL_TAGS = {"cell_tags", "gmsh:physical", "gmsh:geometrical", "medit:ref"}


def cell_data_note(names) -> list:
    """The note for cell data that is not imported (empty when there is none)."""
    names = sorted({str(n) for n in names} - CELL_TAGS)
    if not names:
        return []
    return ["cell data not imported (one value per cell, not at integration points): " + ", ".join(names)]


def _guard(path, what, fn, *args, **kw):
    """Run a meshio call; any non-romnet failure becomes an InputError naming the file.
    What meshio prints (its own error line before it exits) and the warnings it raises are
    captured: summarised in the error, never left on the terminal."""
    import contextlib
    import io
    import warnings
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kw)
    except RomnetError:
        raise
    except MemoryError:
        raise InputError(f"{what}: file announces more data than fits in memory", path) from None
    except (Exception, SystemExit) as exc:  # meshio/h5py/xml raise many types (meshio even exits)
        msg = str(exc).splitlines()[0][:200] if str(exc).strip() else ""
        lines = [ln.strip() for ln in said.getvalue().splitlines() if ln.strip()]
        if isinstance(exc, SystemExit) or not msg:
            msg = lines[0][:200] if lines else type(exc).__name__
            raise InputError(f"{what}: cannot read ({msg})", path) from None
        raise InputError(f"{what}: cannot read ({type(exc).__name__}: {msg})", path) from None


def _mesh(points, cells, path):
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] not in (2, 3) or points.shape[0] == 0:
        raise InputError(f"points must be (n, 2) or (n, 3), got shape {points.shape}", path)
    if not np.isfinite(points).all():
        raise InputError("non-finite point coordinates", path)
    vol = [c for c in cells if c.type in MESHIO_TO_ROMNET and not MESHIO_TO_ROMNET[c.type].startswith("cpe")]
    notes = []
    if vol:
        use, dim = vol, 3
        if points.shape[1] != 3:
            raise InputError("3D cells with 2D points", path)
    else:
        use = [c for c in cells if c.type in MESHIO_TO_ROMNET]
        dim = 2
        if not use:
            raise InputError("no supported cells (volume cells, or triangles/quads of a 2D mesh); found: "
                             + ", ".join(sorted({c.type for c in cells})) or "none", path)
        if points.shape[1] == 3:
            if np.abs(points[:, 2]).max() > 0:
                raise InputError("2D cells on a 3D surface (non-zero z): not a plane-strain mesh", path)
            points = points[:, :2]
    skipped = sorted({c.type for c in cells} - {c.type for c in use})
    if skipped:
        notes.append("skipped cells: " + ", ".join(skipped))
    blocks = []
    n_el = 0
    keep = []
    for i, c in enumerate(cells):
        if c not in use:
            continue
        et = MESHIO_TO_ROMNET[c.type]
        conn = np.asarray(c.data, dtype=np.int64)
        if conn.ndim != 2 or conn.shape[1] != romnet_permutation(et).size:
            raise InputError(f"{c.type} cells: bad connectivity shape {conn.shape}", path)
        blocks.append(ElementBlock(et, conn[:, romnet_permutation(et)], np.arange(n_el + 1, n_el + len(conn) + 1)))
        n_el += len(conn)
        keep.append(i)
    mesh = Mesh(points, np.arange(1, points.shape[0] + 1), blocks)
    mesh.validate(path)
    return mesh, keep, notes, dim


def _fields(point_data_list, mesh, path, dim):
    """point_data dicts (one per output) -> nodal Field dict."""
    nodal = {}
    names = list(point_data_list[0]) if point_data_list else []
    for name in names:
        arrs = []
        for k, pd in enumerate(point_data_list):
            if name not in pd:
                raise InputError(f"point data '{name}' missing at output {k}", path)
            a = np.asarray(pd[name], dtype=float)
            if a.ndim == 1:
                a = a[:, None]
            if a.ndim != 2 or a.shape[0] != mesh.n_nodes:
                raise InputError(f"point data '{name}' has shape {a.shape}, expected ({mesh.n_nodes}, k)", path)
            arrs.append(a)
        if len({a.shape for a in arrs}) != 1:
            raise InputError(f"point data '{name}' changes shape between outputs", path)
        vals = np.stack(arrs)
        fname = "U" if name in DISPLACEMENT_NAMES else name
        if fname == "U":
            vals = vals[:, :, :dim] if vals.shape[2] >= dim else vals
            comps = [f"U{i + 1}" for i in range(vals.shape[2])]
        else:
            comps = [str(i) for i in range(vals.shape[2])] if vals.shape[2] > 1 else [fname]
        if fname in nodal:
            raise InputError(f"two point-data arrays map to field '{fname}'", path)
        nodal[fname] = Field(fname, comps, vals, [name] * len(comps))
    return nodal


def read_pvd(path):
    """[(time, vtu path)] of a ParaView collection file."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"not a valid XML .pvd file ({exc})", path, f"line {exc.position[0]}") from None
    out = []
    for ds in root.iter("DataSet"):
        f = ds.get("file")
        t = ds.get("timestep", "0")
        if f is None:
            raise InputError("DataSet without file=", path)
        try:
            tv = float(t)
        except ValueError:
            raise InputError(f"DataSet timestep '{t}' is not a number", path) from None
        if not np.isfinite(tv):
            raise InputError(f"DataSet timestep '{t}' is not finite", path)
        out.append((tv, path.parent / f))
    if not out:
        raise InputError("no DataSet in the .pvd collection", path)
    return out


class MeshioAdapter(Adapter):
    name = "meshio"
    description = "meshio formats: XDMF time series, VTU series (.pvd), MED (code_aster) nodal fields"
    extras: list = []
    suffixes = [".xdmf", ".xmf", ".pvd", ".vtu", ".med"]

    def read(self, path, progress=None) -> Case:
        import meshio
        path = Path(path)
        if not path.is_file():
            raise InputError("file not found", path)
        if path.stat().st_size == 0:
            raise InputError("empty file", path)
        suffix = path.suffix.lower()
        files = [str(path)]
        cell_names = set()
        if suffix in (".xdmf", ".xmf"):
            times, points, cells, pdata, cell_names = _guard(path, "XDMF", self._xdmf, meshio, path)
        elif suffix == ".pvd":
            entries = read_pvd(path)
            times, pdata = [], []
            points = cells = None
            for t, f in entries:
                if not f.is_file():
                    raise InputError(f"DataSet file '{f.name}' not found", path)
                m = _guard(f, "VTU", meshio.read, str(f), file_format="vtu")
                files.append(str(f))
                if points is None:
                    points, cells = m.points, m.cells
                elif m.points.shape != points.shape or not np.array_equal(m.points, points):
                    raise InputError("the .vtu files of the collection are not on the same mesh", f)
                times.append(t)
                pdata.append(m.point_data)
                cell_names |= set(m.cell_data)
            order = np.argsort(times, kind="stable")
            times = [times[i] for i in order]
            pdata = [pdata[i] for i in order]
        elif suffix == ".vtu":
            m = _guard(path, "VTU", meshio.read, str(path), file_format="vtu")
            times, points, cells, pdata = [0.0], m.points, m.cells, [m.point_data]
            cell_names = set(m.cell_data)
        elif suffix == ".med":
            times, points, cells, pdata, cell_names = _guard(path, "MED", self._med, meshio, path)
        else:
            raise InputError(f"unsupported suffix '{path.suffix}' (expected {' '.join(self.suffixes)})", path)
        mesh, _, notes, dim = _mesh(points, cells, path)
        notes += cell_data_note(cell_names)
        series = SnapshotSeries(np.asarray(times, dtype=float), source=str(path))
        series.nodal = _fields(pdata, mesh, path, dim)
        meta = {"code": "meshio", "format": suffix.lstrip("."), "files": files, "notes": notes}
        if progress is not None:
            for n in notes:
                progress("note: " + n)
        return Case(mesh, None, {"imported": series} if series.nodal else {}, meta)

    @staticmethod
    def _xdmf(meshio, path):
        try:
            with meshio.xdmf.TimeSeriesReader(str(path)) as r:
                points, cells = r.read_points_cells()
                steps = [r.read_data(k) for k in range(r.num_steps)]
        except Exception:
            m = meshio.read(str(path), file_format="xdmf")
            return [0.0], m.points, m.cells, [m.point_data], set(m.cell_data)
        if not steps:
            return [0.0], points, cells, [{}], set()
        return ([float(s[0]) for s in steps], points, cells, [s[1] for s in steps],
                {n for s in steps for n in s[2]})

    @staticmethod
    def _med(meshio, path):
        import h5py
        m = meshio.read(str(path), file_format="med")
        with h5py.File(path, "r") as f:
            cha = f["CHA"] if "CHA" in f else {}
            steps = {name: [float(cha[name][k].attrs["PDT"]) for k in sorted(cha[name].keys())]
                     for name in cha}
        multi = {n: t for n, t in steps.items() if len(t) > 1}
        times = sorted({t for ts in multi.values() for t in ts}) or [0.0]
        pdata = [dict() for _ in times]
        for key, val in m.point_data.items():
            if key in ("point_tags",):
                continue
            base, _, rest = key.partition("[")
            if base in multi and rest:
                i = int(rest.split("]")[0])
                pdata[times.index(multi[base][i])][base] = val
            else:
                for pd in pdata:
                    pd[key] = val
        return times, m.points, m.cells, pdata, set(m.cell_data)


ADAPTER = MeshioAdapter()
