"""Adaptive enrichment of a ROM by one HF increment, kept across runs (a ROM that learns).

Casenave et al. 2019 enrich a ROM with one HF increment where its error indicator exceeds a
tolerance. Here the enriched ROM is also *kept* (a new ROM version, :mod:`romnet.offline.rom_versions`),
for the global ROM and for every local ROM, so a sequence of queries (a Monte Carlo) makes
the ROM better; the growth is bounded by recompression. One :class:`Enricher` serves all
the runs of an :class:`romnet.online.api.OnlineROM` (its HF solver, layout and bases are
built once). When the enrichment criterion fires at the increment t_n -> t_{n+1}:

1. HF state at t_n: ``U_n = Phi a_n`` on the whole mesh; the law states at every
   integration point by Gappy-POD of the ``state`` basis from the ROM's states at its
   reduced points (``state = "gappy"``, O(mesh x modes)); without a ``state`` basis, or
   with ``state = "replay"``, by integrating the law along the reconstructed strain
   history of the run (exact for the ROM's trajectory, O(mesh x increments));
2. ONE HF increment t_n -> t_{n+1} (the HF solver of the first enrichment, given each
   new loading with :meth:`romnet.hifi.HFSolver.set_loading`: no new partition or
   preconditioner set-up), its Newton started from the ROM's own solution at t_{n+1}
   (``hf_start = "rom"``, default; ``"previous"``: from U_n);
3. greedy extension of U and of every dual basis (:func:`romnet.offline.pod.extend_basis`):
   the HF fields' residual against the basis becomes a new mode when larger than
   ``add_tolerance`` times the field -- the existing modes are unchanged, so the reduced
   coordinates of the run stay valid (padded with zeros). Where the HF increment shows the
   ROM's U error below ``dual_only_below`` (a p- or stress-driven enrichment of a ROM whose
   displacement was right), only the dual bases are extended: U basis and ECM points kept,
   step 4 reduced to the dual operators. When a basis passes its budget
   (``max_modes`` / ``max_dual_modes``) it is recompressed (:func:`romnet.offline.pod.recompress_basis`:
   truncated POD at the ROM's tolerance of every snapshot it represents, to at most
   ``RECOMPRESS_KEEP`` of the budget) and its coordinates rotated. With ``add_norm =
   "strain"`` (default) both the U extension test and the U recompression measure
   displacements by their strain (:class:`romnet.offline.pod.StrainL2`): a Galerkin ROM is
   accurate in that norm, not in L2;
4. the offline ECM (:func:`romnet.offline.ecm.ecm`) warm-started from the current ECM
   points (from scratch after a recompression of U; its greedy scores a candidate pool of
   ``ecm_pool`` points between full scorings), on the reduced internal forces of the
   stress basis' weighted modes ``w_j psi_j`` (``w_j > ecm_tol max w``) with the U modes,
   group norms floored at ``group_floor`` times the largest (the integrand is not formed:
   :class:`romnet.offline.ecm_integrand.FactoredIntegrand`, memory O(mesh x (stresses +
   modes)) instead of O(mesh x stresses x modes)); then the offline steps 5-6
   (:func:`romnet.offline.pipeline.hyper_reduce`: QDEIM points of the dual bases,
   operators at the points); the tree is assembled by the ``/rom`` owner;
5. returned: the new model, ``a_n`` and the states at its points at t_n, the transforms
   old -> new coordinates, the HF displacement at t_{n+1} (the caller redoes the increment
   and logs how close the redone reduced solution is to the HF one, ``redo_vs_hf``) and the
   ROM's error at t_{n+1} before the enrichment (``error_before``: the HF increment is a
   measurement of the ROM's error, used by the reports).

:meth:`Enricher.write_version` writes the enriched ROMs as a new version (only the new mode
columns are written; the log says which sample and increment added what).
Cost per enrichment: one HF increment + O(mesh x modes) (Gappy state, basis extension,
ECM passes, QDEIM, operators); the reduced solve stays mesh-independent.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import InputError, StoreError
from ..mpi import pull_rows, push_rows
from ..sections import element_thickness
from ..offline import operators as ops
from ..offline.ecm import ECMResult, cubature_error, ecm, internal_force_integrand, normalisation
from ..offline.ecm_integrand import factored_force_integrand
from ..offline.pipeline import hyper_reduce
from ..offline.pod import (IntegL2, NodalL2, PODBasis, RowLayout, StrainL2, extend_basis, gram,
                           recompress_basis)
from ..offline.qdeim import deim_extend, qdeim_points
from ..offline.rom_store import (ecm_entry, pod_entry, read_modes, read_rom, resolve_version, rom_path,
                                 rom_tree, version_blocks, write_rom_version)
from ..store import CaseStore
from .reconstruction import Gappy
from .reduced_model import ReducedModel
from .settings import LearningSettings

__all__ = ["Enricher", "member_of"]

#: a basis over its budget is recompressed to at most this fraction of it (room for the next
#: enrichments: at the budget itself every enrichment would recompress, and restart the ECM)
RECOMPRESS_KEEP = 0.75
#: the ECM integrand of an enrichment in factored form (:mod:`romnet.offline.ecm_integrand`:
#: never formed; same points and weights to round-off); False forms it
#: (:func:`romnet.offline.ecm.internal_force_integrand`: ``bench/bench_enrichment_ecm.py``
#: compares the two)
FACTORED_INTEGRAND = True
#: iterative-refinement steps of the warm NNLS at every greedy step of an enrichment's ECM
#: (:func:`romnet.offline.ecm.ecm` ``refine``; the final weights get the full refinement):
#: each step saves two passes over the points' rows (``bench/bench_enrichment_ecm.py
#: --compare refine``)
ECM_REFINE = 0


def own_modes(store, layout, pod_info, at="", version=None) -> dict:
    """{field: this rank's rows of its basis} (n_rows_local, n_modes) of the ROM at ``at``
    inside ``/rom`` (``pod_info``: its ``pod`` tree; ``version``: default the current one);
    ``store``: a path or an open :class:`romnet.store.CaseStore`."""
    return {n: read_modes(store, n, slice(*(layout.node_range if info["kind"] == "nodal" else layout.ip_range)),
                          at=at, version=version)
            for n, info in pod_info.items()}


def member_of(model) -> str:
    """Path inside ``/rom`` of a model: ``""`` the global ROM, ``clusters/<k>/<ccc>`` a local one."""
    return "" if model.cluster is None else rom_path(model.k, model.cluster)


class _Member:
    """The bases (this rank's rows) of one ROM being learned, and what to keep from its tree."""

    def __init__(self, bases, ecm_tol, qdeim_fields, n_stored, qdeim):
        self.bases = bases                  # {field: (PODBasis, inner, info)}
        self.ecm_tol = ecm_tol
        self.qdeim_fields = qdeim_fields
        self.qdeim = qdeim                  # {field: points interpolating its modes}
        self.n_stored = n_stored            # {field: modes in the last written version}
        self.recompressed = set()           # fields recompressed since the last version
        self.changed = False


class Enricher:
    """Enrichment machinery of one online ROM, kept across its runs: mesh, offline row
    layout, one HF solver (new loadings set on it), the bases of every ROM enriched so far.

    settings : the ``[learning]`` table (:class:`romnet.online.settings.LearningSettings`)."""

    def __init__(self, rom_store, comm=None, options=None, settings=None, progress=None):
        from .. import mpi
        self.store = Path(rom_store)
        self.say = progress or (lambda *a, **k: None)
        self.cfg = {**_defaults(), **(settings or {})}
        if self.cfg["state"] not in ("gappy", "replay"):
            raise InputError(f"[learning] state: {self.cfg['state']!r} unknown (gappy, replay)")
        self.comm = comm or mpi.comm()
        with CaseStore(self.store) as st:
            self.mesh = st.mesh()
            self.store_problem = st.problem() if st.has_problem() else None
        self.options = options
        self.hf = None
        self.problem = None
        self.layout = RowLayout(self.mesh, self.comm, element_thickness(self.mesh, self.store_problem))
        self.members = {}
        self.version = resolve_version(self.store)

    # ------------------------------------------------------------------ loading
    def set_loading(self, problem):
        """The loading of the next enrichments (a :class:`romnet.problem.Problem`, or a case
        store path): the HF solver is built at the first call, later loadings are set on it."""
        from ..hifi import HFSolver, SolverOptions
        if isinstance(problem, (str, Path)):
            with CaseStore(problem) as st:
                problem = st.problem()
        if self.hf is None or not self.hf.set_loading(problem):
            if self.hf is not None:
                self.hf.close()
            self.hf = HFSolver(self.mesh, problem, comm=self.comm,
                               options=self.options or SolverOptions(verbose=False))
        self.problem = problem
        self._shadow = None          # (t, law states at the HF ips) along the current run

    def snapshot(self):
        """State of the learned bases (for :meth:`restore`: a run that does not learn)."""
        return {k: (dict(m.bases), dict(m.n_stored), set(m.recompressed), m.changed, dict(m.qdeim))
                for k, m in self.members.items()}

    def restore(self, snap):
        """Back to a :meth:`snapshot` (members first read after it are dropped)."""
        for k in list(self.members):
            if snap is None or k not in snap:
                del self.members[k]
                continue
            m = self.members[k]
            m.bases, m.n_stored, m.recompressed, m.changed, m.qdeim = (dict(snap[k][0]), dict(snap[k][1]),
                                                                        set(snap[k][2]), snap[k][3], dict(snap[k][4]))

    def close(self):
        if self.hf is not None:
            self.hf.close()
            self.hf = None

    # ------------------------------------------------------------------ bases
    def member(self, model) -> _Member:
        """The bases of ``model``'s ROM (read once, this rank's rows; then kept in memory)."""
        key = member_of(model)
        if key in self.members:
            return self.members[key]
        if model.lifting is not None:
            raise InputError("enrichment of a ROM with imposed values (a lifting of inhomogeneous "
                             "constraints) is not supported")
        L = self.layout
        with CaseStore(self.store) as st:              # this rank's rows of every basis, one open
            modes = own_modes(st, L, model.pod_info, key)
        bases = {}
        for n, info in model.pod_info.items():
            c = int(info["n_comp"])
            inner = NodalL2(L, c) if info["kind"] == "nodal" else IntegL2(L, c)
            tol = float(info.get("tolerance", -1))
            mm = int(info.get("max_modes", -1))
            coef = info.get("coefficients")
            basis = PODBasis(modes[n], np.asarray(info["singular_values"], dtype=float),
                             float(info["total_energy"]), float(info["discarded_energy"]),
                             tol if tol >= 0 else None, mm if mm >= 0 else None, int(info["n_snapshots"]),
                             {"inner_product": info["inner_product"],
                              "reorthogonalized": bool(info.get("reorthogonalized", False)),
                              "principal": int(info.get("principal", modes[n].shape[1]))},
                             None if coef is None else np.asarray(coef, dtype=float))
            bases[n] = (basis, inner, info)
        if "tolerance" not in model.tree.get("ecm", {}):
            raise StoreError(f"{self.store}: /rom/ecm has no tolerance: not a ROM of this romnet (rerun "
                             "`romnet offline`)")
        ecm_tol = float(self.cfg["ecm_tolerance"] or model.tree["ecm"]["tolerance"])
        qdeim = model.settings.get("qdeim_fields") or [n for n in model.dual if n != "state"]
        qf = [n for n in qdeim if n in bases]
        stored_q = model.tree.get("qdeim", {})
        m = _Member(bases, ecm_tol, qf, {n: b.n_modes for n, (b, _, _) in bases.items()},
                    {n: np.asarray(stored_q[n]["points"], dtype=np.int64) for n in qf if n in stored_q})
        self.members[key] = m
        return m

    # ------------------------------------------------------------------ HF state
    def _gappy_states(self, model, mem, spts):
        """Packed law states (own ip rows of the offline layout, n_ip_local x n_state) by
        Gappy-POD of the ``state`` basis from their values ``spts`` (n_p, n_state) at the points."""
        basis = mem.bases["state"][0]
        c = Gappy(model.dual["state"]).coefficients(np.asarray(spts)[None])[0]
        return (basis.modes @ c).reshape(self.layout.n_ip_local, -1)

    def _replay_states(self, Phi_hf, history, t_n):
        """Law states at the HF solver's ips at t_n along the run's reconstructed strain
        history ``[(t_j, a_j)]`` (coordinates in the current basis). The states reached are
        kept (the run's *shadow*): a later enrichment of the same run continues from them, so
        a run with enrichments integrates the law over the mesh once per increment at most
        (:meth:`set_loading` starts a new run)."""
        mdl = self.hf.model
        if self._shadow is not None and self._shadow[0] <= t_n + 1e-12 * max(1.0, abs(t_n)):
            t_prev, states = self._shadow
        else:
            t_prev, states = history[0][0], mdl.initial_states()
        for t, a in history[1:]:
            if t <= t_prev + 1e-12 * max(1.0, abs(t_prev)):
                continue
            if t > t_n + 1e-12 * max(1.0, abs(t_n)):
                break
            _, _, states, _, _ = mdl.integrate(mdl.strain(Phi_hf @ a), mdl.temperature(t), t - t_prev, states,
                                               tangent=False)
            t_prev = t
        self._shadow = (t_prev, states)
        return states

    # ------------------------------------------------------------------ enrichment
    def enrich(self, model, history, state, t1, solver) -> dict:
        """One enrichment of ``model`` at t_n = state.t -> t1 (module docstring)."""
        from ..hifi import HFState
        t_start = time.perf_counter()
        if self.hf is None:
            raise InputError("Enricher.enrich: no loading (call set_loading first)")
        mem = self.member(model)
        hf, L, comm, dim = self.hf, self.layout, self.comm, self.mesh.dim
        lay, mdl = hf.layout, hf.model
        t_n = float(state.t)
        disp = model.displacement
        Phi_own = mem.bases[disp][0].modes
        k = Phi_own.shape[1]
        Phi = pull_rows(Phi_own.reshape(-1, dim, k), L.node_range[0], lay.local_nodes, comm).reshape(-1, k)
        how = self.cfg["state"] if "state" in mem.bases and "state" in model.dual else "replay"
        t_state = time.perf_counter()
        pf = solver.point_fields(state)
        if how == "gappy":
            S_own = self._gappy_states(model, mem, pf["state"])
            S_hf = pull_rows(S_own, L.ip_range[0], mdl.ip_global, comm)
            states = mdl.unpack_states(S_hf)
        else:
            states = self._replay_states(Phi, history, t_n)
            S_own = push_rows(mdl.ip_global, mdl.pack_states(states), *L.ip_range, comm)
        U_n = (Phi @ state.a).reshape(-1, dim)
        t_state = time.perf_counter() - t_state
        # the ROM's own step t_n -> t1 (its error before the enrichment; the HF Newton's first iterate)
        new_rom, _ = solver.step(state, t1)
        guess = None
        if self.cfg["hf_start"] == "rom":
            guess = (Phi @ new_rom.a).reshape(-1, dim)[:lay.n_owned_nodes]
        t_hf = time.perf_counter()
        new, hf_info = hf.step(HFState.from_local(hf, t_n, U_n[:lay.n_owned_nodes], states), t1, guess=guess)
        t_hf = time.perf_counter() - t_hf
        # HF results on the own rows of the offline layout (all-to-all, nothing gathered)
        U1 = push_rows(lay.local_nodes[:lay.n_owned_nodes], np.asarray(new.U).reshape(-1, dim),
                       *L.node_range, comm)                                    # (n_own, dim)
        p_loc, ep_loc = mdl.plastic_fields(new.states)
        fields = {"stress": new.stress, "strain": new.strain, "p": p_loc[:, None], "plastic_strain": ep_loc,
                  "state": mdl.pack_states(new.states)}
        mand = {n: push_rows(mdl.ip_global, v, *L.ip_range, comm) for n, v in fields.items() if n in mem.bases}
        # the ROM's errors at t1 before the enrichment: U, and p by Gappy-POD (relative, floored
        # at 1e-2 of the RMS training p)
        error_before = self.distance(mem, disp, new_rom.a, U1)
        p_error_before = self._p_error(model, mem, solver, new_rom, mand.get("p"))
        # the ROM's U was accurate at this state: only its dual fields learn (module docstring, 3)
        dual_only = error_before < float(self.cfg["dual_only_below"] or 0.0)
        # -------------------------------------------------- bases: greedy extension, budget
        t_basis = time.perf_counter()
        k_old = {n: b.n_modes for n, (b, _, _) in mem.bases.items()}
        transforms, added = {}, {}
        for n, (basis, inner, info) in list(mem.bases.items()):
            S = U1[:, :int(info["n_comp"])].reshape(-1, 1) if info["kind"] == "nodal" else \
                (mand[n].reshape(-1, 1) if n in mand else None)
            if S is None or (dual_only and n == disp):
                transforms[n] = np.eye(basis.n_modes)
                added[n] = 0
                continue
            measure = StrainL2(L) if n == disp and self.cfg["add_norm"] == "strain" else None
            nb, added[n] = extend_basis(basis, S, inner, comm, tol=self.cfg["add_tolerance"], measure=measure)
            T = np.eye(nb.n_modes, basis.n_modes)                              # padding: a_new = T a_old
            budget = self.cfg["max_modes"] if info["kind"] == "nodal" else self.cfg["max_dual_modes"]
            if budget and nb.n_modes > budget:
                tol = basis.tolerance if basis.tolerance is not None else None
                M = None if measure is None else gram(measure.row_blocks(nb.modes), None, comm)
                nb, R = recompress_basis(nb, tol, max(1, int(RECOMPRESS_KEEP * budget)), gram_measure=M)
                T = R.T @ T
                mem.recompressed.add(n)
                self.say(f"    {n} basis over its budget ({budget} modes): recompressed to {nb.n_modes}")
            mem.bases[n] = (nb, inner, info)
            transforms[n] = T
        mem.changed = True
        Phi_new = mem.bases[disp][0].modes
        t_basis = time.perf_counter() - t_basis
        # -------------------------------------------------- ECM (warm start) + QDEIM + operators
        t_ecm = time.perf_counter()
        ecm_p, ecm_w = model.ip[model.weights > 0], model.weights[model.weights > 0]
        if dual_only:                              # U basis unchanged: the cubature of its forces too
            res, reselected = _kept(ecm_p, ecm_w, float(model.tree.get("ecm", {}).get("error", np.nan)), 0, 0.0,
                                    f"kept: the ROM's U error before the enrichment {error_before:.2e} < "
                                    f"dual_only_below {self.cfg['dual_only_below']:g} (dual bases only)"), False
        else:
            res, reselected = self._ecm_update(model, mem, Phi_new, None if disp in mem.recompressed else ecm_p,
                                               ecm_w)
        for n in mem.qdeim_fields:                       # DEIM points of the new modes (earlier ones kept)
            bb, _, info = mem.bases[n]
            if n in mem.qdeim and n not in mem.recompressed:
                mem.qdeim[n] = deim_extend(bb.modes, int(info["n_comp"]), mem.qdeim[n], k_old[n], comm, L.ip_range[0])
            else:
                mem.qdeim[n] = qdeim_points(bb.modes, int(info["n_comp"]), comm, L.ip_range[0])
        new_model = self._rebuilt(model, mem, res, mem.qdeim_fields, mem.qdeim)
        t_ecm = time.perf_counter() - t_ecm
        points = new_model.ip
        log = dict(t_from=t_n, t_to=float(t1), hf_iterations=int(hf_info.iterations), hf_cuts=int(hf_info.cuts),
                   state=how, error_before=error_before, p_error_before=p_error_before,
                   added={n: int(v) for n, v in added.items()},
                   modes_before=int(k_old[disp]), modes_after=int(Phi_new.shape[1]),
                   dual_modes_after={n: int(b.n_modes) for n, (b, _, i) in mem.bases.items() if i["kind"] == "integ"},
                   points_before=int(model.n_points), points_after=int(points.size),
                   ecm_error=float(res.error), ecm_converged=bool(res.converged), ecm_seconds=float(res.seconds),
                   hf_seconds=t_hf, state_seconds=t_state, basis_seconds=t_basis, rebuild_seconds=t_ecm,
                   seconds=time.perf_counter() - t_start,
                   rom=model.label, recompressed=sorted(mem.recompressed), reselected=reselected,
                   dual_only=bool(dual_only))
        return dict(model=new_model, a_n=transforms[disp] @ state.a,
                    states_at_points=L.gather_ip_rows(S_own, points), transforms=transforms, log=log, U_hf=U1)

    def _ecm_update(self, model, mem, Phi, warm, warm_w):
        """ECM of the enriched bases (module docstring, step 4): the integrand of the stress
        basis' weighted modes with the U modes ``Phi`` (own rows); the current points
        ``warm`` (None: from scratch) kept when they still integrate it to the tolerance,
        else the warm-started greedy; re-selected from scratch past ``reselect_points``.
        Returns (ECMResult, reselected)."""
        L, comm = self.layout, self.comm
        sig, groups_floor = _ecm_stresses(mem.bases[model.stress_field][0], mem.ecm_tol, L.n_ip_local,
                                          self.cfg["group_floor"], self.cfg["snapshot_groups"])
        make = factored_force_integrand if FACTORED_INTEGRAND else internal_force_integrand
        G, groups = make(sig, ops.mode_strains(L, Phi))
        del sig
        floors = np.append(groups_floor, 0.0)                 # the volume column: its own group
        res, reselected = None, False
        nz = normalisation(G, L.local_dV(), comm, groups, group_floor=floors)     # one pass, used twice
        if warm is not None:                       # the cubature may still integrate the updated integrand
            t_c = time.perf_counter()
            err0 = cubature_error(G, L.local_dV(), warm, warm_w, comm, L.ip_range[0], groups, group_floor=floors,
                                  norm=nz)
            if err0 <= mem.ecm_tol:
                res = _kept(warm, warm_w, err0, G.shape[1], time.perf_counter() - t_c,
                            f"kept: the {len(warm)} points integrate the updated integrand to {err0:.3e} "
                            f"<= tol {mem.ecm_tol:g}")
        if res is None:
            res = ecm(G, L.local_dV(), comm, ip_offset=L.ip_range[0], tol=mem.ecm_tol, groups=groups,
                      warm_start=warm, group_floor=floors, max_points=self.cfg["max_points"], nnls_solver="warm",
                      warm_weights=None if warm is None else warm_w, pool=self.cfg["ecm_pool"] or None, norm=nz,
                      refine=ECM_REFINE)
        budget = self.cfg["reselect_points"]
        if budget and res.points.size > budget:             # bounded growth: fewer, re-selected points
            self.say(f"    {res.points.size} ECM points > {budget}: re-selected from scratch (group floor 1)")
            res = ecm(G, L.local_dV(), comm, ip_offset=L.ip_range[0], tol=mem.ecm_tol, groups=groups,
                      group_floor=np.ones_like(floors), max_points=self.cfg["max_points"], nnls_solver="warm",
                      pool=self.cfg["ecm_pool"] or None, refine=ECM_REFINE)
            reselected = True
        return res, reselected

    def _p_error(self, model, mem, solver, st, p_hf):
        """Relative error of the ROM's p (Gappy-POD at the state ``st``) against the HF p
        (own ip rows), floored at 1e-2 of the RMS norm of the p snapshots; NaN without p."""
        if p_hf is None or "p" not in mem.bases or "p" not in model.dual:
            return float("nan")
        basis = mem.bases["p"][0]
        pts = solver.point_fields(st)["p"].reshape(model.n_points, -1)
        c = model.gappy()["p"].coefficients(pts[None])[0]
        d = basis.modes @ c - np.asarray(p_hf).reshape(-1)
        sums = np.array([d @ d, float(np.sum(np.square(p_hf)))])
        if self.comm.Get_size() > 1:
            sums = self.comm.allreduce(sums)
        floor = 1e-2 * np.sqrt(basis.total_energy / max(1, basis.n_snapshots))
        den = max(np.sqrt(sums[1]), floor)
        return float(np.sqrt(sums[0]) / den) if den > 0 else float("nan")

    def distance(self, mem, disp, a, U_hf):
        """Relative distance ``||Phi a - U_hf|| / max(||U_hf||, floor)`` (Euclidean over the
        nodal DOF) of reduced coordinates ``a`` in the member's current U basis to an HF
        displacement given as this rank's rows of the offline layout (n_own, dim); the floor,
        1e-2 of the RMS norm of the snapshots the basis represents, keeps an unloaded state's
        small residual displacement from reading as a large error (as :func:`romnet.metrics.relative_errors`
        floors at 1e-2 of the largest output). Collective, replicated."""
        basis = mem.bases[disp][0]
        Phi = basis.modes
        U_hf = np.asarray(U_hf).reshape(-1)
        d = Phi @ np.asarray(a) - U_hf
        sums = np.array([d @ d, U_hf @ U_hf])
        if self.comm.Get_size() > 1:
            sums = self.comm.allreduce(sums)
        floor = 1e-2 * _rms_norm(basis, mem.bases[disp][1], self.comm)
        den = max(np.sqrt(sums[1]), floor)
        return float(np.sqrt(sums[0]) / den) if den > 0 else 0.0

    def distance_to_hf(self, model, a, U_hf):
        """:meth:`distance` for ``model``'s ROM (the redone increment vs the HF one)."""
        return self.distance(self.member(model), model.displacement, a, U_hf)

    def _rebuilt(self, model, mem, res, qdeim_fields, qdeim, dual=True) -> ReducedModel:
        """The model of ``mem``'s current bases with the cubature ``res`` (:class:`ECMResult`)
        and the QDEIM points of ``qdeim_fields`` (offline steps 5-6, :func:`hyper_reduce`);
        its full modes are the member's, in memory. ``dual=False``: U only (no dual
        operators at the points: no indicators, no Gappy reconstruction)."""
        red = hyper_reduce(self.layout, self.store_problem, {n: (bb.modes, info["kind"], int(info["n_comp"]))
                                                             for n, (bb, _, info) in mem.bases.items()
                                                             if dual or n == model.displacement},
                           model.displacement, res, qdeim_fields, self.comm, qdeim=qdeim)
        new = ReducedModel.from_tree(self.store, self._tree(model, mem, red, res), label=model.label,
                                     cluster=model.cluster, k=model.k)
        self._modes_override(new, mem)
        return new

    def full_quadrature(self, model, dual=True) -> ReducedModel:
        """``model`` with the full quadrature of the mesh instead of its ECM points (every
        integration point, weight dV; no QDEIM extras): the Galerkin ROM without
        hyper-reduction, the reference that separates the ECM's error from the basis' and
        the Galerkin projection's (``bench/bench_error_budget.py``). Mesh-sized and replicated
        on every rank: a diagnostic for small meshes, never an online model (on the 51k-DOF
        blade it passed the 24 GB of a 2-rank run); ``dual=False`` leaves out the dual bases
        at the points (U only: no indicators, less memory). Collective."""
        L, comm = self.layout, self.comm
        dV = np.asarray(L.local_dV(), dtype=float)
        dV = np.concatenate(comm.allgather(dV)) if comm.Get_size() > 1 else dV    # the points are replicated
        res = ECMResult(points=np.arange(dV.size, dtype=np.int64), weights=dV,
                        error=0.0, group_errors=np.zeros(0), iterations=0, converged=True,
                        message="full quadrature (every integration point)")
        full = self._rebuilt(model, self.member(model), res, [], {}, dual=dual)
        full.label = f"{model.label} (full quadrature)"
        return full

    def _modes_override(self, model, mem):
        """The enriched model's full modes live in memory (until written): ``model.modes(field,
        slice)`` returns them (every rank's rows, allgathered: reconstruction only)."""
        comm = self.comm

        def modes(field=None, points=None):
            field = field or model.displacement
            basis, _, info = mem.bases[field]
            c, n_pts = int(info["n_comp"]), int(info["n_points"])
            full = basis.modes if comm.Get_size() == 1 else np.concatenate(comm.allgather(basis.modes), axis=0)
            a, b, _ = (slice(None) if points is None else points).indices(n_pts)
            return full[a * c:b * c]
        model.modes = modes

    # ------------------------------------------------------------------ tree / write
    def _tree(self, model, mem, red, res):
        """The enriched ROM's tree (``/rom`` owner's :func:`rom_tree`); settings, training times,
        constraint check, timings, report, enrichment log and calibration kept."""
        old = model.tree
        pod = {}
        for n, (b, _, info) in mem.bases.items():
            pod[n] = pod_entry(b, info["kind"], info["n_points"], info["n_comp"], info.get("components", []),
                               info.get("convention", "storage"))
            pod[n]["coefficients"] = np.asarray(b.coef)
            pod[n]["principal"] = int(b.info.get("principal", b.coef.shape[1]))
        ecm_old = old.get("ecm", {})
        kept = {k: old[k] for k in ("settings", "dirichlet", "timings", "report", "calibration") if old.get(k)}
        return rom_tree(pod, red, ecm_entry(res, mem.ecm_tol, ecm_old.get("stress_field", "stress"),
                                            ecm_old.get("displacement_field", model.displacement)),
                        series=old.get("series", ""),
                        snapshot_times=np.asarray(old.get("snapshot_times", np.zeros(0))),
                        enrichment=dict(old.get("enrichment", {})), **kept)

    def write_version(self, models, log) -> int:
        """Write the enriched ROMs ``models`` (the current model of every member: global and
        local ROMs, enriched or not) as a new learned version; ``log`` (JSON-able) is
        recorded in the index and, per enriched ROM, appended to its ``enrichment`` log.
        Only the mode columns added since the last version are written (all of them after a
        recompression). Collective; returns the version number."""
        base_tree = read_rom(self.store, modes=False, version=self.version)
        for key in ("version",):
            base_tree.pop(key, None)
        blocks = {}
        L = self.layout
        for model in models:
            key = member_of(model)
            tree = dict(model.tree)
            mem = self.members.get(key)
            if mem is not None and mem.changed:
                prev = tree.get("enrichment", {}).get("log", [])
                entries = [e for e in log.get("enrichments", []) if e.get("rom") == model.label]
                tree["enrichment"] = dict(log=(prev if isinstance(prev, list) else []) + entries,
                                          count=len(prev if isinstance(prev, list) else []) + len(entries))
            model.tree = tree                          # the in-memory model now carries the written log
            _set_member(base_tree, key, {k: v for k, v in tree.items() if k != "version"})
            cols = {}
            for n, (b, _, _) in (mem.bases.items() if mem is not None else ()):
                first = 0 if n in mem.recompressed else mem.n_stored[n]
                cols[n] = (b.modes[:, first:], first)
            blocks.update(version_blocks(L, key, tree["pod"], cols))
        v = write_rom_version(self.store, base_tree, blocks, self.version, log, self.comm)
        for mem in self.members.values():
            mem.n_stored = {n: b.n_modes for n, (b, _, _) in mem.bases.items()}
            mem.recompressed = set()
            mem.changed = False
        self.version = v
        return v


def _kept(points, weights, error, n_col, seconds, message) -> ECMResult:
    """The current ECM points and weights as the result of an enrichment's ECM step."""
    return ECMResult(np.asarray(points, dtype=np.int64), np.asarray(weights, dtype=float).copy(), error, np.zeros(0),
                     0, True, [(len(points), error)], n_col, seconds, message)


def _ecm_stresses(basis, ecm_tol, n_ip_local, floor, snapshots=False):
    """Stresses of the ECM integrand of a learning ROM and the floor of each one's group:
    the basis' principal directions ``w_j psi_j`` (``w_j > ecm_tol max w``; floored at
    ``floor`` x the largest group: the training family's small components do not each need
    their own points) and every stress snapshot added since the last (re)compression, from
    the basis' coefficients (not floored: each enriched state's reduced forces are
    integrated to the ECM tolerance, so the enrichment fixes the hyper-reduction error at
    that state too, not only the basis) -- with ``snapshots``; without, the weights of all the
    basis' modes (the enriched ones: their residual norms) and every group floored.
    Returns ((n_ip_local, 6, n_s), (n_s,))."""
    C = basis.coef
    k_p = min(int(basis.info.get("principal", C.shape[1])), C.shape[1]) if snapshots else C.shape[1]
    w = np.sqrt(np.einsum("ij,ij->i", C[:, :k_p], C[:, :k_p])) if k_p else np.zeros(0)
    w = np.pad(w, (0, basis.n_modes - w.size))
    keep = np.flatnonzero(w > ecm_tol * w.max()) if w.size and w.max() > 0 else np.zeros(0, int)
    cols = [basis.modes[:, keep] * w[keep]]
    if C.shape[1] > k_p:
        cols.append(basis.modes @ C[:, k_p:])
    S = np.concatenate(cols, axis=1)
    floors = np.concatenate([np.full(keep.size, float(floor)), np.zeros(C.shape[1] - k_p)])
    return S.reshape(n_ip_local, 6, -1), floors


def _rms_norm(basis, inner, comm) -> float:
    """RMS Euclidean norm of the snapshots a basis represents (``modes @ coefficients``)."""
    X = basis.modes @ basis.coef
    e = np.array([float(np.sum(X * X)), float(X.shape[1])])
    if comm.Get_size() > 1:
        e[0] = comm.allreduce(e[0])
    return float(np.sqrt(e[0] / max(e[1], 1.0)))


def _set_member(tree, key, sub):
    """Put the member tree ``sub`` at path ``key`` ("" = the top) of the whole /rom tree."""
    if not key:
        clusters = tree.get("clusters")
        calibration = tree.get("calibration")
        tree.clear()
        tree.update({k: v for k, v in sub.items() if k not in ("clusters",)})
        if clusters is not None:
            tree["clusters"] = clusters
        if calibration is not None and "calibration" not in sub:
            tree["calibration"] = calibration
        return
    node = tree
    parts = key.split("/")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = sub


def _defaults() -> dict:
    from ..settings import defaults
    return defaults(LearningSettings)
