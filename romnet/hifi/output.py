"""Incremental output of the HF solver into a case store (copy of the input store).

Series group ``/results/<series>`` (default ``hifi``), same layout as any series
(docs/store-schema.md), with every dataset resizable along time (``maxshape=(None, ...)``):
``times``, ``cycles``, ``increments``, ``nodal/U``, ``nodal/RU`` (F_int - F_ext: the
reactions on constrained DOFs, ~0 elsewhere), ``integ/strain``, ``integ/stress`` (storage
convention), ``integ/p``, ``integ/plastic_strain`` and ``integ/state`` (every law state
column, zero padded to the widest law; components = state names). Each output row is
written, the file flushed, then the group attribute ``n_complete`` is set to the number
of complete rows and flushed again: a killed run leaves ``n_complete`` rows that are valid
(rows beyond it, if any, are garbage and readers should ignore them; ``resume`` truncates
them). Only rank 0 touches the file; fields are gathered to it (output only).

The writer holds the write lock of the output store for the whole run
(:func:`romnet.locking.write_lock`: a second ``romnet hifi`` on the same output is refused
at once). The series attribute ``input_digest`` is the SHA-256 of the input store's
``/mesh`` and ``/problem`` (:meth:`romnet.store.CaseStore.digest`): ``resume`` continues
only when the input store given has the same digest (else a StoreError: the outputs would
mix two loadings).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ..errors import RomnetError, StoreError
from ..metrics import relative_errors
from ..locking import copy_mode, temporary_path, write_lock
from ..store import CaseStore

__all__ = ["SeriesWriter", "CHUNK", "compare_stores", "CompareReport"]

CHUNK = 131072
_T6 = ["11", "22", "33", "12", "23", "31"]


class SeriesWriter:
    """Rank-0 writer; methods are no-ops on other ranks (but all ranks call them)."""

    def __init__(self, store_in, store_out, solver, series="hifi", resume=False):
        self.store_in, self.path, self.series = Path(store_in) if store_in else None, Path(store_out), series
        self.solver, self.root = solver, solver.is_root
        self.f = None
        self.lock = None
        self.n_complete = 0
        mesh, model = solver.mesh, solver.model
        self.layout_fields = {
            "nodal": {"U": ([f"U{i + 1}" for i in range(mesh.dim)], mesh.n_nodes),
                      "RU": ([f"RU{i + 1}" for i in range(mesh.dim)], mesh.n_nodes)},
            "integ": {"strain": (_T6, model.n_ip_total), "stress": (_T6, model.n_ip_total),
                      "p": (["p"], model.n_ip_total), "plastic_strain": (_T6, model.n_ip_total),
                      "state": (list(model.state_names), model.n_ip_total)}}
        ok = True
        if self.root:
            try:
                self._open(resume)
            except Exception as exc:  # noqa: BLE001  (re-raised on every rank below)
                self.close()
                ok = str(exc) if isinstance(exc, RomnetError) else f"cannot open the output store: {exc!r}"
        ok = solver.comm.bcast(ok, root=0)
        if ok is not True:
            raise StoreError(ok if ok.startswith(str(self.path)) else f"{self.path}: {ok}")
        self.n_complete = solver.comm.bcast(self.n_complete, root=0)

    def _open(self, resume):
        import h5py
        if self.store_in is not None and self.path.resolve() == self.store_in.resolve():
            raise StoreError("the output store must differ from the input store")
        self.lock = write_lock(self.path)
        self.lock.__enter__()
        digest = None
        if self.store_in is not None:
            with CaseStore(self.store_in) as st:
                digest = st.digest()
        if resume and self.path.exists():
            with CaseStore(self.path):          # schema / external-link checks before writing
                pass
            self.f = h5py.File(self.path, "r+")
            g = self.f.get(f"results/{self.series}")
            if g is not None and "n_complete" in g.attrs:
                self._check_digest(g, digest)
                self.g = g
                self.n_complete = int(g.attrs["n_complete"])
                for ds in self._datasets():
                    ds.resize(self.n_complete, axis=0)
                self.f.flush()
                return
            self.f.close()
            self.f = None
        if self.store_in is None:
            raise StoreError("no input store to copy")
        tmp = temporary_path(self.path)
        try:
            shutil.copyfile(self.store_in, tmp)
            copy_mode(self.path, tmp)
            tmp.replace(self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.f = h5py.File(self.path, "r+")
        res = self.f.require_group("results")
        if self.series in res:
            del res[self.series]
        g = res.create_group(self.series)
        g.attrs["source"] = "romnet hifi"
        g.attrs["input_digest"] = digest
        g.attrs["n_complete"] = 0
        g.create_dataset("times", shape=(0,), maxshape=(None,), dtype="f8", chunks=(1024,))
        for nm in ("cycles", "increments"):
            g.create_dataset(nm, shape=(0,), maxshape=(None,), dtype="i8", chunks=(1024,))
        for kind, fields in self.layout_fields.items():
            kg = g.create_group(kind)
            for name, (comps, n_pts) in fields.items():
                w = n_pts * len(comps)
                ds = kg.create_dataset(name, shape=(0, w), maxshape=(None, w), dtype="f8",
                                       chunks=(1, max(1, min(w, CHUNK))))
                ds.attrs["n_points"] = n_pts
                ds.attrs["components"] = json.dumps(comps)
                ds.attrs["source_names"] = json.dumps([])
        self.g = g
        self.f.flush()

    def _check_digest(self, g, digest):
        """Refuse to resume an output computed from another input (module docstring)."""
        stored = g.attrs.get("input_digest")
        stored = stored.decode() if isinstance(stored, bytes) else stored
        if digest is None:
            raise StoreError(f"{self.path}: cannot resume without the input store it was computed from")
        if stored is None:
            raise StoreError(f"{self.path}: series '{self.series}' has no input digest (written by an older "
                             "romnet): it cannot be checked against the input; rerun without --resume")
        if stored != digest:
            raise StoreError(f"{self.path}: cannot resume: series '{self.series}' was computed from another "
                             f"input (mesh or problem of {self.store_in} differ: digest {digest[:12]} vs "
                             f"{str(stored)[:12]}); rerun without --resume or give the same input store")

    def _datasets(self):
        g = self.g
        out = [g["times"], g["cycles"], g["increments"]]
        for kind in ("nodal", "integ"):
            out += [g[kind][k] for k in g[kind]]
        return out

    def last(self):
        """(t, U (n_nodes, dim), packed states (n_ip_total, n_state)) of the last complete
        row, broadcast to every rank; None when there is none."""
        data = None
        if self.root and self.n_complete > 0:
            k = self.n_complete - 1
            d = self.solver.mesh.dim
            data = (float(self.g["times"][k]), self.g["nodal/U"][k].reshape(-1, d),
                    self.g["integ/state"][k].reshape(self.solver.model.n_ip_total, -1),
                    int(self.g["increments"][k]))
        return self.solver.comm.bcast(data, root=0)

    def write(self, t, cycle, increment, fields):
        """Append one output row; ``fields`` name -> full array (rank 0; None elsewhere)."""
        if not self.root:
            self.n_complete += 1
            return
        k = self.n_complete
        for ds in self._datasets():
            ds.resize(k + 1, axis=0)
        self.g["times"][k] = t
        self.g["cycles"][k] = cycle
        self.g["increments"][k] = increment
        for kind in ("nodal", "integ"):
            for name in self.layout_fields[kind]:
                self.g[kind][name][k] = np.asarray(fields[name], dtype=float).ravel()
        self.f.flush()
        self.n_complete = k + 1
        self.g.attrs["n_complete"] = self.n_complete
        self.f.flush()

    def close(self):
        try:
            if self.f is not None:
                self.f.close()
                self.f = None
        finally:
            if self.lock is not None:
                lock, self.lock = self.lock, None
                lock.__exit__(None, None, None)


# --------------------------------------------------------------------------- comparison
class CompareReport:
    """Per matched output k: time, relative U error (L2 over nodes, all components) and p
    error (L2 over integration points) of :func:`romnet.metrics.relative_errors` (b the
    reference, denominator floored at 1e-2 of its largest norm); ``nan`` (not counted in
    the maxima) when both vanish."""

    def __init__(self, times, u_err, p_err, series_a, series_b, notes=()):
        self.times, self.u_err, self.p_err = np.asarray(times), np.asarray(u_err), np.asarray(p_err)
        self.series_a, self.series_b, self.notes = series_a, series_b, list(notes)

    @staticmethod
    def _max(v):
        v = v[~np.isnan(v)]
        return float(np.max(v)) if v.size else 0.0

    @property
    def u_rel_err(self):
        return self._max(self.u_err)

    @property
    def p_rel_err(self):
        return self._max(self.p_err)

    def table(self) -> str:
        def f(x):
            return "        -" if np.isnan(x) else f"{x:9.2e}"
        lines = [f"compare {self.series_a} vs {self.series_b} (reference)",
                 "output      time   u_rel_err   p_rel_err"]
        for k, t in enumerate(self.times):
            lines.append(f"{k:6d} {t:9.4g}   {f(self.u_err[k])}   {f(self.p_err[k])}")
        lines += self.notes
        lines.append(f"u_rel_err={self.u_rel_err:.3e} p_rel_err={self.p_rel_err:.3e}")
        return "\n".join(lines)

    __str__ = table


def compare_stores(a, b, series_a=None, series_b=None) -> CompareReport:
    """Relative errors of store ``a`` against store ``b`` (the reference) on the same mesh.

    Default series: ``hifi`` if present else the first series for ``a``; ``imported`` if
    present else the first for ``b``. Outputs are matched by time (|dt| <= 1e-9 max(1,|t|));
    outputs of a without a match are listed in the notes. Fields compared: ``U`` (nodal,
    the first dim components; nodes where the reference is NaN are skipped, with a note)
    and ``p`` (integration points) when both stores have them."""
    from ..store import CaseStore
    with CaseStore(a) as sa, CaseStore(b) as sb:
        na, nb = sa.series_names(), sb.series_names()
        if not na or not nb:
            raise StoreError(f"{a if not na else b}: no result series")
        series_a = series_a or ("hifi" if "hifi" in na else na[0])
        series_b = series_b or ("imported" if "imported" in nb else nb[0])
        ma, mb = sa.mesh(), sb.mesh()
        if ma.n_nodes != mb.n_nodes or ma.n_elements != mb.n_elements:
            raise StoreError(f"{a} and {b} do not hold the same mesh ({ma.n_nodes}/{mb.n_nodes} nodes)")
        ta, tb = sa.times(series_a), sb.times(series_b)     # complete outputs only
        d = ma.dim
        has_p = "p" in sa.field_names(series_a, "integ") and "p" in sb.field_names(series_b, "integ")
        times, notes, pairs = [], [], []
        for i, t in enumerate(ta):
            j = np.flatnonzero(np.abs(tb - t) <= 1e-9 * max(1.0, abs(t)))
            if j.size == 0:
                notes.append(f"output {i} (t={t:g}) of {series_a} has no match in {series_b}")
                continue
            pairs.append((i, int(j[0])))
            times.append(t)
        if not times:
            raise StoreError(f"no output time of {a}:{series_a} matches one of {b}:{series_b}")

        def outputs(st, name, field, rows, cols=slice(None)):
            return np.stack([st.read_field(name, field, times=slice(k, k + 1))[0][:, cols] for k in rows])
        ia, ib = [i for i, _ in pairs], [j for _, j in pairs]
        Ub = outputs(sb, series_b, "U", ib, slice(0, d))
        n_nan = int(np.count_nonzero(~np.isfinite(Ub).all(axis=2), axis=1).max())
        if n_nan:
            notes.append(f"{n_nan} node(s) without reference U (NaN, e.g. nodes outside every element "
                         "in a CalculiX .frd): not compared")
        ue = relative_errors(outputs(sa, series_a, "U", ia, slice(0, d)), Ub, skip_nonfinite=True)
        if has_p:
            pe = relative_errors(outputs(sa, series_a, "p", ia), outputs(sb, series_b, "p", ib), skip_nonfinite=True)
        else:
            pe = np.full(len(pairs), np.nan)
            notes.append("no 'p' field in both series: p not compared")
    return CompareReport(times, ue, pe, f"{a}:{series_a}", f"{b}:{series_b}", notes)
