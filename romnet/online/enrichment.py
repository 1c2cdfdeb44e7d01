"""Adaptive enrichment of a ROM by one HF increment (Casenave et al. 2019).

When the enrichment criterion exceeds the tolerance at the increment t_n -> t_{n+1} (the
indicator, or the calibrated estimate of the error: :meth:`romnet.online.api.OnlineROM.run`):

1. HF state at t_n: ``U_n = Phi a_n`` on the whole mesh; internal variables at ALL
   integration points by integrating the law along the reconstructed strain history
   ``eps(Phi a_j)`` of every accepted (sub-)increment from the start of the run (the ROM's
   internal variables exist at the reduced points only);
2. ONE HF increment t_n -> t_{n+1} (:meth:`romnet.hifi.HFSolver.step` from that state);
3. incremental POD update (:func:`romnet.offline.pod.pod_update`) of U and of every dual
   basis with the HF result (tensors in Mandel form);
4. the offline ECM (:func:`romnet.offline.ecm.ecm`) warm-started from the current ECM
   points, with the incrementally factorized NNLS (``nnls_solver="qr"``), on the reduced
   internal forces of the updated stress basis' principal snapshots ``s_j psi_j`` (those
   with ``s_j > ecm_tol s_0``) with the updated displacement modes; then the offline steps
   5-6 (:func:`romnet.offline.pipeline.hyper_reduce`): QDEIM points of the updated dual
   bases, operators recomputed at the new points (loads with the ROM store's own problem
   so magnitudes keep their meaning); the new tree is assembled by the ``/rom`` owner
   (:func:`romnet.offline.rom_store.rom_tree`);
5. returned: the new model, ``a_n`` in the new basis, the law states at the new points at
   t_n, the transforms old -> new coordinates (``Phi_new^T M Phi_old``; the same in
   the dual bases' products) and the HF displacement at t_{n+1} -- the caller redoes the
   increment and logs how close the redone reduced solution is to the HF one
   (:meth:`Enricher.distance_to_hf`, ``redo_vs_hf`` in the log).

:meth:`Enricher.write` replaces the store's ``/rom`` atomically
(:func:`romnet.offline.rom_store.write_rom`) with the enriched ROM and an
``/rom/enrichment`` log (attribute ``log``, JSON list), so the next run starts improved;
a stored ``/rom/calibration`` is kept (the mapping describes the indicator, which keeps its
meaning for the enriched ROM: measured, docs/online.md).
Cost: O(mesh) per enrichment (and O(mesh x increments) for step 1); the reduced solve
itself stays mesh-independent.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import InputError, StoreError
from ..mpi import pull_rows, push_rows
from ..sections import element_thickness
from ..offline import operators as ops
from ..offline.ecm import ecm, internal_force_integrand
from ..offline.pipeline import hyper_reduce
from ..offline.pod import IntegL2, NodalL2, PODBasis, RowLayout, gram, pod_update
from ..offline.rom_store import ecm_entry, pod_entry, read_modes, rom_tree, write_rom
from ..store import CaseStore
from .reduced_model import ReducedModel

__all__ = ["Enricher"]


class Enricher:
    """Enrichment machinery for one run: mesh, HF solver on the loading, offline layout
    (rows per rank) and the current POD bases (own rows)."""

    def __init__(self, rom_store, loading_source, comm=None, options=None, progress=None):
        from ..hifi import HFSolver, SolverOptions
        self.store = Path(rom_store)
        self.say = progress or (lambda *a, **k: None)
        with CaseStore(self.store) as st:
            self.mesh = st.mesh()
            self.store_problem = st.problem() if st.has_problem() else None
        if isinstance(loading_source, (str, Path)):
            with CaseStore(loading_source) as st:
                self.problem = st.problem()
        else:
            self.problem = loading_source
        self.comm = comm
        self.hf = HFSolver(self.mesh, self.problem, comm=comm,
                           options=options or SolverOptions(verbose=False))
        self.comm = self.hf.comm
        self.layout = RowLayout(self.mesh, self.comm, element_thickness(self.mesh, self.store_problem))
        self.bases = None
        self.ecm_tol = None

    # ------------------------------------------------------------------ bases
    def _load_bases(self, model):
        if model.lifting is not None:
            raise InputError("enrichment of a ROM with imposed values (a lifting of inhomogeneous "
                             "constraints) is not supported")
        L = self.layout
        self.bases = {}
        with CaseStore(self.store) as st:              # this rank's rows of every basis, one open
            modes = {n: read_modes(st, n, slice(*(L.node_range if info["kind"] == "nodal" else L.ip_range)))
                     for n, info in model.pod_info.items()}
        for n, info in model.pod_info.items():
            c = int(info["n_comp"])
            inner = NodalL2(L, c) if info["kind"] == "nodal" else IntegL2(L, c)
            tol = float(info.get("tolerance", -1))
            mm = int(info.get("max_modes", -1))
            basis = PODBasis(modes[n], np.asarray(info["singular_values"], dtype=float),
                             float(info["total_energy"]), float(info["discarded_energy"]),
                             tol if tol >= 0 else None, mm if mm >= 0 else None, int(info["n_snapshots"]),
                             {"inner_product": info["inner_product"],
                              "reorthogonalized": bool(info.get("reorthogonalized", False))})
            self.bases[n] = (basis, inner, info)
        if "tolerance" not in model.tree.get("ecm", {}):
            raise StoreError(f"{self.store}: /rom/ecm has no tolerance: not a ROM of this romnet (rerun "
                             "`romnet offline`)")
        self.ecm_tol = float(model.tree["ecm"]["tolerance"])
        self.qdeim_fields = model.settings.get("qdeim_fields") or list(model.dual)

    # ------------------------------------------------------------------ HF state
    def hf_states(self, model, history, t_n):
        """Law states at the HF solver's local ips at t_n, integrated along the reconstructed
        strain history [(t_j, a_j)] (a_j in the current basis), and U_n at the HF solver's
        local nodes (owned + ghost), (n_local_nodes, dim). Each rank fetches only the rows of
        the displacement modes at its own HF nodes (:func:`romnet.mpi.pull_rows`)."""
        hf, mdl, dim = self.hf, self.hf.model, self.mesh.dim
        Phi_own = self.bases[model.displacement][0].modes          # (n_own*dim, k), offline rows
        k = Phi_own.shape[1]
        Phi = pull_rows(Phi_own.reshape(-1, dim, k), self.layout.node_range[0], hf.layout.local_nodes,
                        self.comm).reshape(-1, k)                  # (n_local_nodes*dim, k)
        states = mdl.initial_states()
        t_prev = history[0][0]
        for t, a in history[1:]:
            if t > t_n + 1e-12 * max(1.0, abs(t_n)):
                break
            eps = mdl.strain(Phi @ a)
            _, _, states, ok, _ = mdl.integrate(eps, mdl.temperature(t), t - t_prev, states, tangent=False)
            t_prev = t
        U_n = (Phi @ history_last_before(history, t_n)).reshape(-1, dim)
        return U_n, states

    # ------------------------------------------------------------------ enrichment
    def enrich(self, model, history, state, t1, solver=None) -> dict:
        from ..hifi import HFState
        t_start = time.perf_counter()
        if self.bases is None:
            self._load_bases(model)
        hf, L, comm = self.hf, self.layout, self.comm
        t_n = float(state.t)
        U_n, states = self.hf_states(model, history, t_n)
        lay = hf.layout
        new, hf_info = hf.step(HFState.from_local(hf, t_n, U_n[:lay.n_owned_nodes], states), t1)
        # the HF results, redistributed from the HF partition to the own rows of the offline
        # layout (all-to-all; nothing gathered on one rank): nodal U, ip fields (Mandel)
        a, b = L.node_range
        ia, ib = L.ip_range
        U1 = push_rows(lay.local_nodes[:lay.n_owned_nodes], np.asarray(new.U).reshape(-1, self.mesh.dim),
                       a, b, comm)                                  # (n_own, dim)
        ipg = hf.model.ip_global
        p_loc, ep_loc = hf.model.plastic_fields(new.states)
        fields = {"stress": new.stress, "strain": new.strain, "p": p_loc[:, None], "plastic_strain": ep_loc,
                  "state": hf.model.pack_states(new.states)}
        mand = {n: push_rows(ipg, v, ia, ib, comm) for n, v in fields.items() if n in self.bases}
        S_n = push_rows(ipg, hf.model.pack_states(states), ia, ib, comm)   # states at t_n, own ip rows
        # -------------------------------------------------- POD updates
        k_old = {n: b.n_modes for n, (b, _, _) in self.bases.items()}
        old_modes = {n: b.modes for n, (b, _, _) in self.bases.items()}
        for n, (basis, inner, info) in list(self.bases.items()):
            if info["kind"] == "nodal":
                S = U1[:, :int(info["n_comp"])].reshape(-1, 1)
            else:
                if n not in mand:
                    self.say(f"    enrichment: no HF value for dual field '{n}': basis unchanged")
                    continue
                S = mand[n].reshape(-1, 1)
            nb = pod_update(basis, S, inner, comm, name=n)
            self.bases[n] = (nb, inner, info)
        transforms = {}
        for n, (basis, inner, info) in self.bases.items():
            transforms[n] = gram(inner.row_blocks(basis.modes), inner.row_blocks(old_modes[n]), comm)
        disp = model.displacement
        Phi = self.bases[disp][0].modes
        # -------------------------------------------------- ECM (warm start) + QDEIM
        sb = self.bases[model.stress_field][0]
        s = sb.sigma
        keep = np.flatnonzero(s > self.ecm_tol * s[0]) if s.size else np.zeros(0, int)
        sig = (sb.modes[:, keep] * s[keep]).reshape(L.n_ip_local, 6, keep.size)
        eps = ops.mode_strains(L, Phi)
        G, groups = internal_force_integrand(sig, eps)
        del eps
        warm = model.ip[model.weights > 0]
        res = ecm(G, L.local_dV(), comm, ip_offset=ia, tol=self.ecm_tol, groups=groups, warm_start=warm,
                  nnls_solver="qr")
        del G
        # -------------------------------------------------- QDEIM, operators (offline steps 5-6)
        red = hyper_reduce(L, self.store_problem, {n: (bb.modes, info["kind"], int(info["n_comp"]))
                                                   for n, (bb, _, info) in self.bases.items()},
                           disp, res, self.qdeim_fields, comm)
        points = red["points"]
        tree = self._tree(model, red, res)
        new_model = ReducedModel.from_tree(self.store, tree, label=model.label)
        self._model_modes_override(new_model)
        S_pts = L.gather_ip_rows(S_n, points)
        a_n = transforms[disp] @ state.a
        log = dict(t_from=t_n, t_to=float(t1), hf_iterations=int(hf_info.iterations), hf_cuts=int(hf_info.cuts),
                   modes_before=int(k_old[disp]), modes_after=int(Phi.shape[1]),
                   dual_modes_after={n: int(b.n_modes) for n, (b, _, i) in self.bases.items()
                                     if i["kind"] == "integ"},
                   points_before=int(model.n_points), points_after=int(points.size),
                   ecm_error=float(res.error), ecm_converged=bool(res.converged), ecm_seconds=float(res.seconds),
                   seconds=time.perf_counter() - t_start)
        return dict(model=new_model, a_n=a_n, states_at_points=S_pts, transforms=transforms, log=log,
                    U_hf=U1)

    def distance_to_hf(self, model, a, U_hf):
        """Relative distance ``||Phi a - U_hf|| / ||U_hf||`` (Euclidean over all nodal DOF)
        of a reduced solution to the HF increment's result; ``U_hf``: this rank's rows of
        the offline layout (n_own, dim) (collective; replicated result)."""
        Phi = self.bases[model.displacement][0].modes
        U_hf = np.asarray(U_hf).reshape(-1)
        d = Phi @ np.asarray(a) - U_hf
        sums = self.comm.allreduce(np.array([d @ d, U_hf @ U_hf])) if self.comm.Get_size() > 1 \
            else np.array([d @ d, U_hf @ U_hf])
        return float(np.sqrt(sums[0] / sums[1])) if sums[1] > 0 else 0.0

    def _model_modes_override(self, model):
        """The enriched model's full modes live in memory until written: make
        ``model.modes(field, slice)`` return them (replicated via the layout rows)."""
        enr = self

        def modes(field=None, points=None):
            field = field or model.displacement
            basis, _, info = enr.bases[field]
            c = int(info["n_comp"])
            n_pts = int(info["n_points"])
            full = enr._full_rows(basis.modes, info)
            sl = slice(None) if points is None else points
            a, b, _ = sl.indices(n_pts)
            return full[a * c:b * c]
        model.modes = modes

    def _full_rows(self, local, info):
        if self.comm.Get_size() == 1:
            return local
        return np.concatenate(self.comm.allgather(local), axis=0)

    # ------------------------------------------------------------------ tree / write
    def _tree(self, model, red, res):
        """The enriched ROM's tree (``/rom`` owner's :func:`rom_tree`): the updated bases,
        the new points and operators; settings, training times, Dirichlet check, timings,
        report, enrichment log and calibration kept from the ROM being enriched."""
        old = model.tree
        pod = {n: pod_entry(b, info["kind"], info["n_points"], info["n_comp"], info.get("components", []),
                            info.get("convention", "storage"))
               for n, (b, _, info) in self.bases.items()}
        ecm_old = old.get("ecm", {})
        kept = {k: old[k] for k in ("settings", "dirichlet", "timings", "report", "calibration") if old.get(k)}
        return rom_tree(pod, red, ecm_entry(res, self.ecm_tol, ecm_old.get("stress_field", "stress"),
                                            ecm_old.get("displacement_field", model.displacement)),
                        series=old.get("series", ""),
                        snapshot_times=np.asarray(old.get("snapshot_times", np.zeros(0))),
                        enrichment=dict(old.get("enrichment", {})), **kept)

    def write(self, model, log):
        """Replace the store's /rom by the enriched ROM (atomic), appending ``log``."""
        tree = dict(model.tree)
        prev = tree.get("enrichment", {}).get("log", [])
        prev = prev if isinstance(prev, list) else []
        tree["enrichment"] = dict(log=prev + list(log), count=len(prev) + len(log))
        L = self.layout
        distributed = {}
        for n, (b, _, info) in self.bases.items():
            c = int(info["n_comp"])
            start = (L.node_range[0] if info["kind"] == "nodal" else L.ip_range[0]) * c
            distributed[f"pod/{n}/modes"] = (b.modes, int(start), int(info["n_points"]) * c)
        write_rom(self.store, tree, distributed, self.comm)


def history_last_before(history, t_n):
    """Reduced coordinates of the last history entry at time <= t_n."""
    a = history[0][1]
    for t, x in history:
        if t <= t_n + 1e-12 * max(1.0, abs(t_n)):
            a = x
    return a
