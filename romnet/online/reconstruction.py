"""Reconstruction of full fields from an online run.

* displacement: ``U(t) = Phi a(t)`` on the whole mesh, or on a contiguous range of nodes
  (one rank's rows: :func:`reconstruct_U` with ``nodes=slice``);
* dual fields (stress, p, plastic strain, ...): Gappy-POD from their values at the reduced
  points: ``c = argmin ||Psi_pts c - x_pts||_2`` (least squares with the dual basis at the
  points, ``/rom/operators/dual/<f>/modes_at_points``), then ``x = Psi c`` on the whole
  mesh (or a range of integration points);
* output: :func:`write_result_store` writes a result series (``online``) into a copy of a
  case store -- fields in the store's storage convention (tensors tensorial Voigt) -- and
  :func:`export_result` writes XDMF through :func:`romnet.export.export_xdmf`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..tensors import mandel_to_storage

__all__ = ["Gappy", "reconstruct_U", "reconstruct_dual", "write_result_store", "export_result"]


class Gappy:
    """Gappy-POD of one dual field from its values at the reduced points.

    P : (n_p, n_comp, m) basis at the points. ``coefficients(x)`` with x (..., n_p, n_comp)
    returns (..., m); ``residual(x)`` the relative residual ||x - P c|| / ||x|| (see
    :mod:`romnet.online.indicator`)."""

    def __init__(self, P):
        P = np.asarray(P, dtype=float)
        self.n_p, self.n_comp, self.m = P.shape
        self.A = P.reshape(-1, self.m)
        self.pinv = np.linalg.pinv(self.A, rcond=1e-12) if self.m else np.zeros((0, self.A.shape[0]))

    def coefficients(self, x):
        x = np.asarray(x, dtype=float)
        flat = x.reshape(x.shape[:-2] + (-1,))
        return flat @ self.pinv.T

    def residual_norms(self, x):
        """(||x - P c||, ||x||) per leading index (Euclidean over points and components)."""
        x = np.asarray(x, dtype=float)
        flat = x.reshape(x.shape[:-2] + (-1,))
        c = flat @ self.pinv.T
        r = flat - c @ self.A.T
        return np.linalg.norm(r, axis=-1), np.linalg.norm(flat, axis=-1)


def reconstruct_U(model, coords, nodes=None, modes=None, lift=None):
    """(n_t, n_sel_nodes, dim) displacement ``Phi a`` for coords (n_t, k) (or (k,)), plus
    ``sum_k lift[:, k] L_k`` with the ROM's lifting fields (``lift`` (n_t, n_l) their table
    values, :mod:`romnet.offline.lifting`)."""
    a = np.atleast_2d(np.asarray(coords, dtype=float))
    Phi = model.modes(model.displacement, nodes) if modes is None else modes
    d = model.dim
    U = a @ Phi.T
    if lift is not None and getattr(model, "lifting", None) is not None:
        from ..offline.lifting import Lifting
        L = Lifting(model.lifting["dofs"], model.lifting["values"], model.lifting["sources"])
        sel = np.arange(model.n_nodes)[slice(None) if nodes is None else nodes]
        U = U + np.atleast_2d(lift) @ L.rows(sel, d).T
    return U.reshape(a.shape[0], -1, d)


def reconstruct_dual(model, name, coeffs, ips=None, modes=None):
    """(n_t, n_sel_ips, n_comp) dual field ``Psi c`` (Mandel for tensors, the POD's
    convention) from Gappy coefficients (n_t, m)."""
    c = np.atleast_2d(np.asarray(coeffs, dtype=float))
    Psi = model.modes(name, ips) if modes is None else modes
    n_c = int(model.dual_info[name]["n_comp"])
    return (c @ Psi.T).reshape(c.shape[0], -1, n_c)


def write_result_store(result, out_path, source_store, series="online", fields=None):
    """Copy ``source_store`` (a case store on the same mesh: the loading's, or the ROM's)
    to ``out_path`` and write the run as result series ``series``: nodal ``U`` and the
    reconstructed dual fields (storage convention), plus group ``/results/<series>/rom``
    with the reduced coordinates, indicator (``indicator``, ``indicator_<field>``), estimated
    errors (``estimated_error_<kind>``, with a calibration), the enrichment log (JSON
    attribute ``enrichments``) and the ROM that ran (attributes ``rom``: its label,
    ``selection``: JSON of ``OnlineResult.selection``).
    Written atomically; returns the path."""
    import json

    from ..snapshots import Field, SnapshotSeries
    from ..store import CaseStore, rewrite_store, write_series
    out_path = Path(out_path)
    model = result.model
    if Path(source_store).resolve() != out_path.resolve():
        shutil.copyfile(source_store, out_path)
    with CaseStore(out_path) as st:
        comps = {}
        for n in model.dual_info:
            comps[n] = model.dual_info[n].get("components") or [str(i) for i in range(model.dual_info[n]["n_comp"])]
        has_u = "imported" in st.series_names() and "U" in st.field_names("imported", "nodal")
        ucomp = st.field_info("imported", "U")["components"] if has_u else \
            [f"U{i + 1}" for i in range(model.dim)]
    n_t = len(result.times)
    cycles = getattr(result, "cycles", None)
    s = SnapshotSeries(np.asarray(result.times), increments=np.arange(n_t),
                       cycles=np.ones(n_t, int) if cycles is None else np.asarray(cycles, dtype=int),
                       source="romnet online")
    s.nodal[model.displacement] = Field(model.displacement, ucomp, result.U())
    for n in (fields if fields is not None else result.dual_names()):
        v = result.reconstruct(n)
        if model.dual_info[n].get("convention") == "mandel":
            v = mandel_to_storage(v)
        s.integ[n] = Field(n, comps[n], v)
    with rewrite_store(out_path) as f:
        res = f.require_group("results")
        if series in res:
            del res[series]
        g = res.create_group(series)
        write_series(g, s)
        r = g.create_group("rom")
        r.create_dataset("coordinates", data=np.asarray(result.coords))
        r.create_dataset("indicator", data=np.asarray(result.indicator))
        r.attrs["enrichments"] = json.dumps(result.enrichments, default=float)
        r.attrs["rom_store"] = str(model.store)
        r.attrs["rom"] = str(result.selection.get("label", model.label))
        r.attrs["selection"] = json.dumps(result.selection, default=str)
        for n, v in getattr(result, "indicators", {}).items():
            r.create_dataset(f"indicator_{n}", data=np.asarray(v))
        for k, v in getattr(result, "estimated_error", {}).items():
            r.create_dataset(f"estimated_error_{k}", data=np.asarray(v))
    return out_path


def export_result(store, out_xdmf, series="online"):
    """XDMF of a result series written by :func:`write_result_store` (romnet.export)."""
    from ..export import export_xdmf
    return export_xdmf(store, series, out_xdmf)
