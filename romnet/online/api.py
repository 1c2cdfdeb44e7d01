"""Python API of the online stage.

>>> from romnet.online import load_rom
>>> rom = load_rom("case.h5")                      # reads /rom (small operators only)
>>> res = rom.run()                                # the store's own loading
>>> res = rom.run("hot.h5", enrich=True, tol=1e-3) # another loading (case store, same mesh)
>>> res.selection                                  # which ROM ran: global, or a local ROM
>>> rom.run("hot.h5", cluster=1)                   # force local ROM 1 (cluster="global": global)
>>> res.times, res.coords, res.indicator, res.enrichments
>>> U = res.U()                                    # (n_t, n_nodes, dim), Phi a (reads the modes)
>>> p = res.reconstruct("p")                       # (n_t, n_ip, 1), Gappy-POD
>>> res.point_values["p"][k]                       # p at the reduced points of output k
>>> res.save("out.h5", xdmf="out.xdmf")

A *loading* is the problem definition of a new run on the ROM's mesh: ``None`` (the ROM
store's own problem), a case store path (its ``/problem``), a :class:`romnet.problem.Problem`,
or a dict of :class:`Problem` attributes overriding the ROM store's problem (e.g.
``{"temperature": Temperature(...)}``). Only the nodal temperature of the nodes the reduced
points need is read from a store (:func:`read_loading`).

Local ROMs (``/rom/clusters``, ``romnet cluster``): ``rom.local`` holds one model per
cluster of the selected k; :meth:`OnlineROM.select` gives the local ROM the stored
classifier predicts from the loading's nodal temperature (the hottest key field, the input
descriptor of the training family: :func:`romnet.offline.classifier.predict_cluster`),
unless ``cluster=`` forces one (an index, or ``"global"`` for the global ROM).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import mpi
from ..errors import InputError
from ..problem import Problem, Temperature
from ..offline.calibration_store import fits_of
from ..offline.rom_store import read_rom
from ..store import CaseStore
from .indicator import PIndicator, estimate_error, learned_fits
from .reconstruction import Gappy, reconstruct_dual, reconstruct_U
from .reduced_model import models_from_tree
from .settings import CRITERIA, OnlineSettings
from .solver import OnlineOptions, ReducedSolver, schedule

__all__ = ["load_rom", "OnlineROM", "OnlineResult", "read_loading"]


class _PointTemperature(Temperature):
    """Temperature restricted to some nodes (``nodes`` sorted; fields (n_keys, len(nodes)))."""
    nodes: np.ndarray = None


def read_loading(path, nodes=None, full=False) -> Problem:
    """Problem definition of a case store. With ``nodes`` (sorted), the temperature key
    fields are read for those nodes only (one hyperslab read per key field: O(len(nodes))),
    giving a temperature with attribute ``nodes``; ``full=True`` reads everything."""
    with CaseStore.opened(path) as st:
        if not st.has_problem():
            raise InputError(f"{path}: the store has no problem definition (a loading needs one)")
        if full or nodes is None:
            return st.problem()
        pb = st.problem(with_temperature=False)
        temp = st.temperature_fields(nodes)
    if temp is not None:
        times, fields, period = temp
        t = _PointTemperature(times, fields, period)
        t.nodes = np.asarray(nodes, dtype=np.int64)
        pb.temperature = t
    return pb


@dataclass
class OnlineResult:
    """Arrays of one online run (replicated on every rank).

    times (n_t,), coords (n_t, k) reduced coordinates in the final basis, indicator (n_t,),
    iterations / cuts per increment, seconds per increment (reduced solve only),
    point_values {field: [ (n_p, n_comp) per output ]} at the points active then (Mandel
    tensors), gappy {field: (n_t, m)} Gappy coefficients in the final dual bases,
    enrichments (list of dicts), model (final ReducedModel), selection (which ROM ran:
    {'label', 'cluster' (None: global), 'k', 'how' ('global' | 'classifier' | 'forced'),
    'predicted' (the classifier's cluster, if it was asked)}).

    indicators {field: (n_t,)}: the relative Gappy residual of every indicator field at
    every output (``p`` = ``indicator``; ``stress``); estimated_error {kind: (n_t,)}: the
    stored calibration's estimate of the relative ``U`` / ``p`` error at every output
    (empty without ``/rom/calibration``); output 0 (the initial state) holds 0.
    cycles (n_t,): the loading cycle (1-based) of every output (all 1 when ``times`` were
    given instead of the loading's stepping)."""
    times: np.ndarray
    coords: np.ndarray
    indicator: np.ndarray
    model: object
    iterations: list = field(default_factory=list)
    cuts: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    point_values: dict = field(default_factory=dict)
    gappy: dict = field(default_factory=dict)
    enrichments: list = field(default_factory=list)
    hf_increments: int = 0
    wall_time: float = 0.0
    selection: dict = field(default_factory=dict)
    indicators: dict = field(default_factory=dict)
    estimated_error: dict = field(default_factory=dict)
    cycles: np.ndarray | None = None
    fired: np.ndarray | None = None
    version: int | None = None
    write_seconds: float = 0.0
    lift: np.ndarray | None = None    # (n_t, n_l) table values of the ROM's lifting (imposed values)

    @property
    def cluster(self):
        """Local ROM (cluster index) the run used; None for the global ROM."""
        return self.selection.get("cluster")

    def U(self, nodes=None):
        """(n_t, n_nodes_sel, dim) displacement ``Phi a`` (+ the lifting of imposed values)
        (nodes: a slice, e.g. a rank's rows)."""
        return reconstruct_U(self.model, self.coords, nodes, lift=self.lift)

    def dual_names(self):
        return list(self.gappy)

    def reconstruct(self, name, ips=None):
        """(n_t, n_ip_sel, n_comp) dual field by Gappy-POD (Mandel for tensors)."""
        return reconstruct_dual(self.model, name, self.gappy[name], ips)

    def save(self, out, source_store=None, xdmf=None, series="online"):
        """Write the run as series ``series`` of a copy of ``source_store`` (default the ROM
        store) at ``out``; optionally XDMF. Rank 0 writes; returns the path."""
        from .reconstruction import export_result, write_result_store
        src = source_store or self.model.store
        if mpi.is_root():
            write_result_store(self, out, src, series)
            if xdmf:
                export_result(out, xdmf, series)
        mpi.comm().Barrier()
        return Path(out)


class OnlineROM:
    """A ROM ready to run: the global model (``models[0]``) and, for a clustered ROM, the
    local models ``local[c]`` + the stored classifier (a
    :class:`romnet.offline.classifier.StoredClassifier`: nodal temperature -> c,
    :meth:`select`)."""

    def __init__(self, store, models, comm=None, classifier=None):
        self.store = Path(store)
        self.models = models
        self.comm = comm or mpi.comm()
        self.local = [m for m in models if getattr(m, "is_local", False)]
        #: /rom/calibration (indicator -> estimated error, :mod:`.calibration`); None without
        self.calibration = models[0].tree.get("calibration") if models else None
        self.classifier = classifier.predict_temperature if (self.local and classifier is not None) else None
        #: the ``[learning]`` settings of the enrichments (:class:`romnet.online.settings.LearningSettings`)
        self.learning = {}
        #: JSON-able facts recorded with the next learned version (e.g. the Monte Carlo sample)
        self.run_log = None
        self._enricher = None
        self._frozen = None

    @property
    def model(self):
        return self.models[0]

    def select(self, loading=None, cluster=None):
        """The model for a loading: ``cluster="global"`` the global ROM, an int that local
        ROM, None the classifier's choice from the loading's nodal temperature (the
        global ROM when the store has no local ROMs or no classifier)."""
        return self.selection(loading, cluster)[0]

    def selection(self, loading=None, cluster=None):
        """(model, {'label', 'cluster', 'k', 'how', 'predicted'}) (see :meth:`select`)."""
        predicted = None
        if isinstance(cluster, str) and cluster.lower() == "global":
            model, how = self.models[0], "forced" if self.local else "global"
        elif cluster is not None:
            try:
                c = int(cluster)
            except (TypeError, ValueError):
                raise InputError(f"cluster must be an index or 'global', got {cluster!r}") from None
            if not self.local:
                raise InputError(f"{self.store}: cluster={c}: the ROM has no local ROMs (run `romnet cluster`)")
            if not 0 <= c < len(self.local):
                raise InputError(f"cluster={c}: the ROM has {len(self.local)} local ROMs")
            model, how = self.local[c], "forced"
        elif self.local and self.classifier is not None:
            T = self.loading_temperature(loading)
            if T is None:
                raise InputError("the loading has no temperature: the classifier cannot choose a local "
                                 "ROM (give cluster= or cluster='global')")
            predicted = int(self.classifier(T))
            if not 0 <= predicted < len(self.local):
                raise InputError(f"the classifier chose cluster {predicted}, the ROM has "
                                 f"{len(self.local)} local ROMs")
            model, how = self.local[predicted], "classifier"
        else:
            model, how = self.models[0], "global"
        return model, dict(label=model.label, cluster=model.cluster, k=model.k, how=how,
                           predicted=predicted)

    def loading_temperature(self, loading=None):
        """Nodal temperature key fields (n_keys, n_nodes) of a loading (the classifier's
        input; :func:`predict_cluster` keeps the hottest key field), None without one."""
        if isinstance(loading, dict) and "temperature" not in loading:
            loading = None
        if loading is None or isinstance(loading, (str, Path)):
            return _store_temperature(self.store if loading is None else loading)
        temp = loading["temperature"] if isinstance(loading, dict) else getattr(loading, "temperature", None)
        if temp is None:
            return None
        if getattr(temp, "nodes", None) is not None:
            raise InputError("the loading's temperature is restricted to some nodes; the classifier "
                             "needs the whole nodal field")
        return np.atleast_2d(np.asarray(temp.fields, dtype=float))

    # ------------------------------------------------------------------ loading
    def loading(self, loading=None, nodes=None):
        """(Problem for the reduced solver, source of the full problem for enrichment)."""
        if loading is None:
            return read_loading(self.store, nodes), self.store
        if isinstance(loading, (str, Path)):
            return read_loading(loading, nodes), Path(loading)
        if isinstance(loading, Problem):
            return loading, loading
        if isinstance(loading, dict):
            with CaseStore(self.store) as st:
                pb = st.problem()
            pb = copy.copy(pb)
            for k, v in loading.items():
                if not hasattr(pb, k):
                    raise InputError(f"loading override: Problem has no attribute '{k}'")
                setattr(pb, k, v)
            return pb, pb
        raise InputError(f"loading must be None, a store path, a Problem or a dict, got {type(loading)}")

    # ------------------------------------------------------------------ run
    def run(self, loading=None, times=None, enrich=False, tol=OnlineSettings.tolerance, progress=None,
            options=None, indicator_field="p", learn=None, hf_options=None, cluster=None,
            criterion=OnlineSettings.criterion, error_kind="U", stress_tol=None, update_store=None,
            error_tol=OnlineSettings.error_tolerance, p_error_tol=OnlineSettings.p_error_tolerance) -> OnlineResult:
        """Solve the reduced problem on ``loading`` at output ``times`` (default: the
        loading's stepping).

        ``enrich``: when the enrichment criterion exceeds ``tol`` at an increment, one HF
        increment enriches the ROM that runs (global or local, :mod:`.enrichment`) and the
        increment is redone. ``criterion``: ``"indicator"`` (default) compares the raw
        indicator of ``indicator_field`` (relative Gappy residual of p) with ``tol`` -- and,
        with ``stress_tol``, the stress indicator with ``stress_tol`` (either fires);
        ``"estimate"`` compares the estimated ``error_kind`` error (``"U"`` or ``"p"``) of the
        stored calibration (``/rom/calibration``, :mod:`.calibration`) with ``tol``, i.e.
        ``tol`` is then a tolerance on the relative error itself; ``"learned"`` estimates the
        U error from the stress indicator and the p error from the p indicator by fits on the
        errors measured at the ROM's own earlier enrichments (:func:`.indicator.learned_fits`,
        refitted after each one) and fires where either exceeds ``error_tol`` / ``p_error_tol``
        (with too few enrichments yet, the raw thresholds ``tol`` and ``stress_tol`` instead).
        ``learn`` (default: the ``[learning] learn`` setting of :attr:`learning`, true): keep
        what the run's enrichments added -- a new ROM version of the store
        (:mod:`romnet.offline.rom_versions`), also used by this object's next runs; False:
        the next run starts from the ROM as it was (``update_store`` is the old spelling).
        ``cluster``: with local ROMs, None lets the classifier choose, an index forces that
        local ROM, ``"global"`` the global ROM (:meth:`select`); ``res.selection`` says
        which ROM ran."""
        t_all = time.perf_counter()
        comm = self.comm
        say = progress if (progress and comm.Get_rank() == 0) else (lambda *a, **k: None)
        if learn is None:
            learn = bool(self.learning.get("learn", True)) if update_store is None else bool(update_store)
        model, selection = self.selection(loading, cluster)
        if criterion not in CRITERIA:
            raise InputError(f"criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
        fits = fits_of(self.calibration)
        if criterion == "learned":
            fits = learned_fits(_events(model, []))
        if enrich and criterion == "estimate" and error_kind not in fits:
            raise InputError(f"{self.store}: criterion 'estimate' needs a calibration of the {error_kind} error "
                             "(/rom/calibration: run `romnet calibrate`)")
        if enrich and criterion == "estimate" and fits[error_kind].get("indicator", "p") not in model.dual:
            raise InputError(f"the calibration estimates the {error_kind} error from the "
                             f"'{fits[error_kind].get('indicator')}' indicator, which {model.label} ROM lacks")
        problem, source = self.loading(loading, model.needed_nodes())
        if problem.stepping is None and times is None:
            raise InputError("the loading has no time stepping; give times=")
        sched = schedule(problem.stepping, times)
        solver = ReducedSolver(model, problem, comm, options or OnlineOptions())
        names = _indicator_fields(model, indicator_field, fits)
        inds = {n: PIndicator(model, n) for n in names}
        if indicator_field not in inds and enrich:
            raise InputError(f"enrichment needs the '{indicator_field}' dual basis for the indicator")
        if enrich and stress_tol is not None and "stress" not in inds:
            raise InputError(f"{model.label} ROM has no stress basis for the stress indicator (stress_tol)")
        state = solver.initial_state(sched[0])
        res = OnlineResult(sched, np.zeros((len(sched), model.n_modes)), np.zeros(len(sched)), model,
                           selection=selection)
        res.cycles = (np.array([c for _, c, _ in problem.stepping.outputs()]) if times is None
                      else np.ones(len(sched), dtype=int))
        if model.lifting is not None:
            res.lift = np.array([solver.lifting_values(t) for t in sched])
        res.indicators = {n: np.zeros(len(sched)) for n in inds}
        res.estimated_error = {k: np.zeros(len(sched)) for k in fits}
        res.fired = np.zeros(len(sched), dtype=bool)
        coords = [state.a.copy()]
        pvals = {n: [] for n in model.dual}
        gap = {n: [] for n in model.dual}
        gappy = model.gappy()

        def record(st):
            pf = solver.point_fields(st)
            for n in model.dual:
                if n in pf:
                    pvals[n].append(pf[n].reshape(model.n_points, -1))
                    gap[n].append(gappy[n].coefficients(pvals[n][-1]))
            return pf

        def measure(pf):
            """({indicator field: eta}, {error kind: estimate}, fires)."""
            etas = {n: float(ind(pf[n].reshape(model.n_points, -1))) for n, ind in inds.items()}
            est = {k: float(estimate_error(f, etas[f.get("indicator", "p")])) for k, f in fits.items()
                   if f.get("indicator", "p") in etas}
            if criterion == "learned":
                fires = (est["U"] > error_tol if "U" in est else stress_tol is not None and etas.get("stress", 0.0) > stress_tol) \
                    or (est["p"] > p_error_tol if "p" in est else etas.get(indicator_field, 0.0) > tol)
                return etas, est, fires
            value = est.get(error_kind, np.inf) if criterion == "estimate" else etas.get(indicator_field, 0.0)
            fires = value > tol or (criterion == "indicator" and stress_tol is not None
                                    and etas.get("stress", 0.0) > stress_tol)
            return etas, est, fires

        def describe(etas, est):
            txt = f"indicator {etas.get(indicator_field, 0.0):.3e}"
            if stress_tol is not None and "stress" in etas:
                txt += f", stress {etas['stress']:.3e}"
            if est:
                txt += " (est. error " + ", ".join(f"{k} {v:.2e}" for k, v in est.items()) + ")"
            return txt

        record(state)
        history = [(float(sched[0]), state.a.copy())]
        enricher = None
        say(f"online: {model.label} ROM ({selection['how']}"
            + (f", classifier: cluster {selection['predicted']}" if selection["predicted"] is not None else "")
            + ")")
        what = f"estimated {error_kind} error" if criterion == "estimate" else "indicator"
        say(f"online: {model.summary()}; {len(sched) - 1} increments"
            + (f"; enrichment when the {what} > {tol:g}" if enrich else "")
            + (f" or the stress indicator > {stress_tol:g}" if enrich and stress_tol is not None else ""))
        for j in range(1, len(sched)):
            t1 = float(sched[j])
            ts = time.perf_counter()
            new, info = solver.step(state, t1)
            secs = time.perf_counter() - ts
            pf = solver.point_fields(new)
            etas, est, fires = measure(pf)
            res.fired[j] = fires
            if enrich and fires:
                if enricher is None:
                    enricher = self.enricher(hf_options, say)
                    enricher.set_loading(source)
                    if self._frozen is None:          # what to go back to if the run does not learn
                        self._frozen = (list(self.models), enricher.snapshot())
                say(f"  increment {j} t={t1:g}: {describe(etas, est)}: enriching {model.label} ROM")
                out = enricher.enrich(model, history, state, t1, solver)
                log = out["log"]
                log.update(increment=j, time=t1, indicator_before=etas.get(indicator_field, 0.0),
                           indicators_before=dict(etas), estimate_before=est.get(error_kind), criterion=criterion)
                model = out["model"]
                # express the recorded outputs in the new bases
                T = out["transforms"][model.displacement]
                coords = [T @ c for c in coords]
                history = [(t, T @ a) for t, a in history]
                for n in model.dual:
                    Tn = out["transforms"].get(n)
                    gap[n] = [Tn @ c for c in gap[n]] if Tn is not None else gap[n]
                gappy = model.gappy()
                problem = enricher.problem  # full loading in memory (the new points need other nodes)
                solver = ReducedSolver(model, problem, comm, options or OnlineOptions())
                inds = {n: PIndicator(model, n) for n in inds}
                state = solver.state_from(state.t, out["a_n"], out["states_at_points"])
                ts = time.perf_counter()
                new, info = solver.step(state, t1)
                secs = time.perf_counter() - ts
                pf = solver.point_fields(new)
                etas, est, _ = measure(pf)
                log["indicator_after"] = etas.get(indicator_field, 0.0)
                log["estimate_after"] = est.get(error_kind)
                log["redo_vs_hf"] = enricher.distance_to_hf(model, new.a, out["U_hf"])
                res.enrichments.append(log)
                res.hf_increments += 1
                self._replace(model)
                if criterion == "learned":                 # refit on every enrichment of this ROM
                    fits = learned_fits(_events(model, res.enrichments))
                    res.estimated_error.update({k: np.zeros(len(sched)) for k in fits if k not in res.estimated_error})
                say(f"    enriched: {log['modes_before']} -> {log['modes_after']} U modes, "
                    f"{log['points_before']} -> {log['points_after']} points, error before {log['error_before']:.1e}, "
                    f"{describe(etas, est)}, redone increment vs HF {log['redo_vs_hf']:.1e}, {log['seconds']:.2f} s")
            for n in model.dual:
                if n in pf:
                    v = pf[n].reshape(model.n_points, -1)
                    pvals[n].append(v)
                    gap[n].append(gappy[n].coefficients(v))
            history.extend(info.substeps)
            coords.append(new.a.copy())
            for n, v in etas.items():
                res.indicators[n][j] = v
            for k, v in est.items():
                res.estimated_error[k][j] = v
            res.indicator[j] = etas.get(indicator_field, 0.0)
            res.iterations.append(info.iterations)
            res.cuts.append(info.cuts)
            res.seconds.append(secs)
            state = new
            say(f"  increment {j} t={t1:g}: {info.iterations} iterations, {info.cuts} cut(s), "
                f"{describe(etas, est)}, {secs * 1e3:.2f} ms")
        res.model = model
        res.coords = np.asarray(coords)
        res.point_values = pvals
        res.gappy = {n: np.asarray(v) for n, v in gap.items()}
        res.wall_time = time.perf_counter() - t_all
        if res.enrichments:
            if learn:
                tw = time.perf_counter()
                res.version = enricher.write_version(self.models, dict(enrichments=res.enrichments,
                                                                       **(self.run_log or {})))
                res.write_seconds = time.perf_counter() - tw
                self._frozen = None
                say(f"  learned: ROM version {res.version} written ({len(res.enrichments)} enrichment(s), "
                    f"{res.write_seconds:.2f} s)")
            else:
                self._restore()
        return res

    # ------------------------------------------------------------------ learning
    def enricher(self, hf_options=None, say=None):
        """The :class:`.enrichment.Enricher` of this ROM (built at the first enrichment and
        kept: its HF solver and bases serve every later run)."""
        from .enrichment import Enricher
        if self._enricher is None:
            self._enricher = Enricher(self.store, comm=self.comm, options=hf_options, settings=self.learning,
                                      progress=say)
        self._enricher.say = say or self._enricher.say
        return self._enricher

    def reload(self):
        """Read the models and the classifier again from the store's current ROM version
        (after a version that changed the local ROMs, :mod:`.new_local_rom`); the learning
        settings and the enricher are kept."""
        fresh = load_rom(self.store, self.comm, self.local[0].k if self.local else None)
        self.models, self.local, self.classifier = fresh.models, fresh.local, fresh.classifier
        self.calibration = fresh.calibration
        self._frozen = None

    def start_local_rom(self, loading, res, parent, log=None, cluster=None) -> dict:
        """A new local ROM for a loading that the local ROM the classifier chose does not
        represent (:func:`.new_local_rom.start_local_rom`: the ROM that served ``res`` becomes
        local ROM ``n_clusters``, the chosen one (``cluster``, default the one ``res`` ran)
        goes back to version ``parent``, the classifier is refitted; one new version; after a
        fallback ``res`` is the global ROM's run and ``cluster`` the local ROM that failed).
        Collective; returns its report."""
        from .new_local_rom import start_local_rom
        c = res.cluster if cluster is None else cluster
        if not self.local or c is None:
            raise InputError("a new local ROM needs a ROM with local ROMs and the local ROM that was chosen")
        T = self.loading_temperature(loading)
        if T is None:
            raise InputError("the loading has no temperature: the classifier cannot learn it")
        return start_local_rom(self, T, res.model, int(c), int(parent), dict(log or {}))

    def _replace(self, model):
        """Make an enriched model the one this ROM runs from now on (kept in memory; written
        as a version by :meth:`run` when learning)."""
        for i, m in enumerate(self.models):
            if m.label == model.label:
                self.models[i] = model
        self.local = [m for m in self.models if getattr(m, "is_local", False)]

    def _restore(self):
        """Undo the enrichments of a run that does not learn."""
        if self._frozen is not None:
            self.models, snap = self._frozen
            self.local = [m for m in self.models if getattr(m, "is_local", False)]
            if self._enricher is not None:
                self._enricher.restore(snap)
        self._frozen = None


#: dual fields whose Gappy residual is computed at every increment when the ROM has them:
#: p (the indicator, Casenave et al. 2019) and stress (measured to follow the displacement
#: error closely: docs/online.md, "Calibration")
INDICATOR_FIELDS = ("p", "stress")


def _events(model, run_log) -> list:
    """The enrichments of ``model``'s ROM: its stored log and those of the current run."""
    stored = model.tree.get("enrichment", {}).get("log", [])
    stored = stored if isinstance(stored, list) else []
    return stored + [e for e in run_log if e.get("rom") == model.label]


def _indicator_fields(model, indicator_field, fits):
    names = [n for n in (indicator_field, *INDICATOR_FIELDS) if n in model.dual]
    names += [f.get("indicator") for f in fits.values() if f.get("indicator") in model.dual]
    return list(dict.fromkeys(names))


def _store_temperature(path):
    """Temperature key fields (n_keys, n_nodes) of a case store's problem, None without one
    (only the temperature is read)."""
    with CaseStore(path) as st:
        if not st.has_problem():
            raise InputError(f"{path}: the store has no problem definition (a loading needs one)")
        temp = st.temperature_fields()
    return None if temp is None else temp[1]


def load_rom(store, comm=None, k=None) -> OnlineROM:
    """Read the ROM of a case store (``/rom``; only the small operators). With local ROMs
    (``/rom/clusters``), those of ``k`` clusters (default: the selected k) and the stored
    classifier are loaded too."""
    from ..offline.classifier import StoredClassifier
    models, clusters = models_from_tree(store, read_rom(store, modes=False), k)
    classifier = StoredClassifier(clusters["classifier"]) if clusters and "classifier" in clusters else None
    return OnlineROM(store, models, comm, classifier)
