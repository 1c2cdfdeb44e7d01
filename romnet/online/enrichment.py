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
4. ECM warm-started from the current ECM points (:func:`.ecm_update.ecm_update`: the
   offline greedy with an incrementally factorized NNLS), on the reduced internal forces of
   the updated stress basis' principal snapshots ``s_j psi_j`` (those with
   ``s_j > ecm_tol s_0``) with the updated displacement modes; QDEIM points of the updated
   dual bases; operators recomputed at the new points (:mod:`romnet.offline.operators`,
   loads with the ROM store's own problem so magnitudes keep their meaning);
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

from ..errors import InputError
from ..offline import operators as ops
from ..offline.ecm import internal_force_integrand
from ..offline.pod import IntegL2, Layout, NodalL2, PODBasis, gram, pod_update
from ..offline.qdeim import qdeim_points
from ..offline.rom_store import _json, read_modes, write_rom
from ..mpi import pull_rows, push_rows
from ..store import CaseStore
from .ecm_update import ecm_update
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
        self.layout = Layout(self.mesh, self.comm)
        self.bases = None
        self.ecm_tol = None

    # ------------------------------------------------------------------ bases
    def _load_bases(self, model):
        if model.lifting is not None:
            raise InputError("enrichment of a ROM with imposed values (a lifting of inhomogeneous "
                             "constraints) is not supported")
        L = self.layout
        self.bases = {}
        for n, info in model.pod_info.items():
            c = int(info["n_comp"])
            if info["kind"] == "nodal":
                a, b = L.node_range
                inner = NodalL2(L, c)
            else:
                a, b = L.ip_range
                inner = IntegL2(L, c)
            modes = read_modes(self.store, n, slice(a, b))
            tol = float(info.get("tolerance", -1))
            mm = int(info.get("max_modes", -1))
            basis = PODBasis(modes, np.asarray(info["singular_values"], dtype=float),
                             float(info["total_energy"]), float(info["discarded_energy"]),
                             tol if tol >= 0 else None, mm if mm >= 0 else None,
                             int(info["n_snapshots"]), {"inner_product": info["inner_product"]})
            self.bases[n] = (basis, inner, info)
        s = model.tree.get("settings", {})
        self.ecm_tol = float(model.tree.get("ecm", {}).get("tolerance", s.get("ecm_tol", 1e-5)))
        self.qdeim_fields = s.get("qdeim_fields") or list(model.dual)

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
        st = HFState(t_n, U_n[:lay.n_owned_nodes].ravel().copy(), states)
        hf._complete(st)
        new, hf_info = hf.step(st, t1)
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
        res = ecm_update(G, L.local_dV(), comm, ip_offset=ia, tol=self.ecm_tol, groups=groups, warm_start=warm)
        del G
        qpts = {}
        for n in self.qdeim_fields:
            if n in self.bases:
                bb, _, info = self.bases[n]
                qpts[n] = qdeim_points(bb.modes, int(info["n_comp"]), comm, ia)
        extra = np.setdiff1d(np.unique(np.concatenate([np.zeros(0, np.int64)] + list(qpts.values()))),
                             res.points)
        points = np.concatenate([res.points, extra])
        weights = np.concatenate([res.weights, np.zeros(extra.size)])
        order = np.argsort(points)
        points, weights = points[order], weights[order]
        # -------------------------------------------------- operators
        pdat = ops.point_data(L, points, self.store_problem)
        strain_modes = ops.strains_at_points(L, Phi, points)
        dual = {}
        for n, (bb, _, info) in self.bases.items():
            if info["kind"] != "integ":
                continue
            c = int(info["n_comp"])
            rows = L.gather_ip_rows(bb.modes.reshape(L.n_ip_local, c * bb.n_modes), points)
            P = rows.reshape(points.size, c, bb.n_modes)
            sv = np.linalg.svd(P.reshape(-1, bb.n_modes), compute_uv=False)
            dual[n] = dict(modes_at_points=P, cond=float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf"),
                           rank=int(np.sum(sv > 1e-12 * sv[0])))
        loads = ops.reduced_loads(L, self.store_problem, Phi)
        tree = self._tree(model, points, weights, pdat, res, qpts, strain_modes, dual, loads)
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
    def _tree(self, model, points, weights, pdat, res, qpts, strain_modes, dual, loads):
        old = model.tree
        pod = {}
        for n, (b, _, info) in self.bases.items():
            d = {k: v for k, v in info.items() if k != "modes"}
            d.update(singular_values=np.asarray(b.singular_values), n_modes=int(b.n_modes),
                     n_snapshots=int(b.n_snapshots), total_energy=float(b.total_energy),
                     discarded_energy=float(b.discarded_energy), relative_error=b.relative_error())
            pod[n] = d
        ecm_old = old.get("ecm", {})
        tree = dict(
            series=old.get("series", ""), settings=old.get("settings", {}),
            snapshot_times=np.asarray(old.get("snapshot_times", np.zeros(0))),
            pod=pod,
            points=dict(ip=points, element=pdat["element"], block=pdat["block"], local_ip=pdat["local_ip"],
                        coordinates=pdat["coordinates"], material=pdat["material"], nodes=pdat["nodes"],
                        shape=pdat["shape"], weight=weights, ecm=np.isin(points, res.points).astype(np.int8)),
            ecm=dict(tolerance=float(self.ecm_tol), error=float(res.error), converged=bool(res.converged),
                     iterations=int(res.iterations), n_columns=int(res.n_columns),
                     n_ecm_points=int(res.points.size), stress_field=ecm_old.get("stress_field", "stress"),
                     displacement_field=ecm_old.get("displacement_field", model.displacement),
                     group_errors=np.asarray(res.group_errors, dtype=float),
                     history=np.asarray(res.history, dtype=float).reshape(-1, 2)),
            qdeim={n: dict(points=np.asarray(p, dtype=np.int64)) for n, p in qpts.items()},
            operators=dict(
                strain_modes=strain_modes, dual=dual,
                loads=ops.load_tree(loads)),
            dirichlet=old.get("dirichlet", {}),
            timings=old.get("timings", {}), report=old.get("report", {}),
            enrichment=dict(old.get("enrichment", {})),
        )
        if old.get("calibration"):
            tree["calibration"] = old["calibration"]   # kept: the mapping describes the indicator
        return tree

    def write(self, model, log):
        """Replace the store's /rom by the enriched ROM (atomic), appending ``log``."""
        tree = dict(model.tree)
        prev = tree.get("enrichment", {}).get("log", [])
        prev = prev if isinstance(prev, list) else []
        tree["enrichment"] = dict(log=_json(prev + list(log)), count=len(prev) + len(log))
        for k in ("settings", "timings", "report"):
            if isinstance(tree.get(k), (dict, list)):
                tree[k] = _json(tree[k])
        if tree.get("calibration"):
            from .calibration import encode_calibration
            tree["calibration"] = encode_calibration(tree["calibration"])
        for n, d in tree["pod"].items():
            d["components"] = list(d.get("components", []))
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
