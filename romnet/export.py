"""Export a result series of a case store to XDMF (ParaView) with meshio.

``export_xdmf(store, series, out_path, fields=None)`` writes ``out_path`` (``.xdmf``) and
its heavy-data file (``<stem>.h5``, meshio's XDMF TimeSeriesWriter) with:

* the mesh: one cell block per element block; romnet's (Abaqus) node order is converted
  to VTK's (:data:`VTK_CELLS`: identical except wedges, whose bottom triangle is reversed
  because VTK orients it the other way); 2D meshes keep 2D points;
* one time step per output of the series, at the series' times (exact float64);
* nodal fields as point data (n_nodes, n_comp);
* integration-point fields as **cell averages**: the arithmetic mean over each element's
  integration points (not volume-weighted), named ``<field>`` like the store field; the
  XDMF file has no per-point values -- use the store for those. Tensor components stay in
  romnet's storage order ``11 22 33 12 23 31`` with tensorial shear.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import ConfigError, StoreError
from .fe.elements import get_element_type

#: romnet base type (``ElementType.base``: formulation variants share it) -> meshio cell type
VTK_CELLS = {"c3d4": "tetra", "c3d10": "tetra10", "c3d6": "wedge", "c3d15": "wedge15",
             "c3d8": "hexahedron", "c3d20": "hexahedron20", "cpe3": "triangle", "cpe6": "triangle6",
             "cpe4": "quad", "cpe8": "quad8"}

_CORNERS_TO_VTK = {"c3d6": [0, 2, 1, 3, 5, 4], "c3d15": [0, 2, 1, 3, 5, 4]}


def vtk_permutation(etype: str) -> np.ndarray:
    """Indices p such that ``vtk_conn = romnet_conn[:, p]`` (corner permutation, mid-edge
    nodes following their edges)."""
    et = get_element_type(etype)
    corners = _CORNERS_TO_VTK.get(et.base, list(range(et.n_corners)))
    if not et.edges:
        return np.array(corners)
    lookup = {}
    for k, (i, j) in enumerate(et.edges):
        lookup[(i, j)] = lookup[(j, i)] = et.n_corners + k
    # VTK's edge order is romnet's edge list with corners renamed by the permutation
    mids = [lookup[(corners[i], corners[j])] for i, j in et.edges]
    return np.array(corners + mids)


def romnet_permutation(etype: str) -> np.ndarray:
    """Inverse of :func:`vtk_permutation`: ``romnet_conn = vtk_conn[:, p]``."""
    p = vtk_permutation(etype)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size)
    return inv


def _open(store):
    from .store import CaseStore
    if isinstance(store, CaseStore):
        return store, False
    return CaseStore(store), True


def export_xdmf(store, series: str | None, out_path, fields=None, progress=None) -> Path:
    """Write the series ``series`` (default: ``imported`` or the only one) of ``store`` (a
    path or an open :class:`~romnet.store.CaseStore`) to ``out_path``; ``fields`` limits
    the exported fields (names). Returns the path written."""
    import meshio

    st, close = _open(store)
    try:
        names = st.series_names()
        if series is None:
            if "imported" in names:
                series = "imported"
            elif len(names) == 1:
                series = names[0]
            else:
                raise ConfigError(f"{st.path}: choose a series with --series ({', '.join(names) or 'none'})")
        times = st.times(series)
        mesh = st.mesh()
        nodal = st.field_names(series, "nodal")
        integ = st.field_names(series, "integ")
        if fields is not None:
            unknown = set(fields) - set(nodal) - set(integ)
            if unknown:
                raise StoreError(f"{st.path}: series '{series}' has no field {', '.join(sorted(unknown))} "
                                 f"(has: {', '.join(nodal + integ)})")
            nodal = [f for f in nodal if f in fields]
            integ = [f for f in integ if f in fields]
        cells = [(VTK_CELLS[get_element_type(b.etype).base], b.connectivity[:, vtk_permutation(b.etype)]) for b in mesh.blocks]
        n_ip = [get_element_type(b.etype).n_ip for b in mesh.blocks]
        bounds = np.concatenate([[0], np.cumsum([b.n_elements * k for b, k in zip(mesh.blocks, n_ip)])])
        for f in integ:
            if st.field_info(series, f)["n_points"] != bounds[-1]:
                raise StoreError(f"{st.path}: field '{f}' has {st.field_info(series, f)['n_points']} "
                                 f"points, the mesh's full integration rules have {bounds[-1]}")
        out_path = Path(out_path).resolve()
        if out_path.with_suffix(".h5") == st.path.resolve():
            raise ConfigError(f"{out_path}: its heavy-data file {out_path.with_suffix('.h5').name} would "
                              "overwrite the case store; choose another output name")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        # meshio writes the heavy-data file relative to the working directory: work there
        cwd = os.getcwd()
        os.chdir(out_path.parent)
        try:
            _write(meshio, out_path.name, st, series, times, mesh, cells, nodal, integ, n_ip, bounds, progress)
        finally:
            os.chdir(cwd)
        return out_path
    finally:
        if close:
            st.close()


def _write(meshio, name, st, series, times, mesh, cells, nodal, integ, n_ip, bounds, progress):
    """Write the time series into ``name`` (in the current directory)."""
    with meshio.xdmf.TimeSeriesWriter(name) as w:
        w.write_points_cells(mesh.coordinates, cells)
        for k, t in enumerate(times):
            sl = slice(k, k + 1)
            pdata = {f: st.read_field(series, f, times=sl)[0] for f in nodal}
            cdata = {}
            for f in integ:
                v = st.read_field(series, f, times=sl)[0]
                cdata[f] = [v[bounds[i]:bounds[i + 1]].reshape(b.n_elements, n_ip[i], -1).mean(axis=1)
                            for i, b in enumerate(mesh.blocks)]
            w.write_data(float(t), point_data=pdata, cell_data=cdata)
            if progress:
                progress(f"exported output {k + 1}/{len(times)} (t = {t:g})")
