"""A family of HF training simulations, one per sampled temperature field, in ONE store.

:func:`run_training` reads the mesh and problem of a case store, samples ``n`` temperature
fields (:mod:`romnet.sampling`, seed sequence ``(seed, i)`` for run ``i``), runs romnet's HF
solver once per field (distributed like ``romnet hifi``: every rank calls it) and appends
the results to the same store (in place, rank 0 writes):

``/results/train_NNN``  an ordinary result series (``docs/store-schema.md``) with the fields
    ``fields`` (default ``U stress p plastic_strain``; ``strain``, ``RU`` and ``state`` are
    left out to keep the store small). Attribute ``sample`` = NNN. The series group gets
    ``n_complete`` = 0 while it is written and the number of outputs when the run is
    complete, so an interrupted run is seen as incomplete (and redone by the next
    ``romnet train``, which keeps the complete ones: the runs are resumable per run).

``/training``  the index (input descriptors for the clustering and the classifier):

    =====================  =====================  ===========================================
    path                   shape                  meaning
    =====================  =====================  ===========================================
    ``temperature``        (n, n_nodes) f8        the sampled field of run i (the hottest key
                                                  field of its loading): classifier input
    ``temperature_fields`` (n, n_keys, n_nodes)   every key field of run i's temperature
    ``temperature_times``  (n_keys,) f8           their times
    ``complete``           (n,) i1                1 once run i's series is complete
    ``wall_time``          (n,) f8                seconds of run i
    ``iterations``         (n,) i8                Newton iterations of run i (all increments)
    =====================  =====================  ===========================================

    Attributes: ``format`` = "romnet-training", ``seed``, ``n_samples``, ``series``
    (JSON list of the series names, index i -> ``train_{i:03d}``), ``parameters`` (JSON
    list: the sampled parameters of each run, see :func:`romnet.sampling.sample_parameters`),
    ``sampler`` (JSON), ``fields`` (JSON), ``stepping_times`` (JSON).

Running ``romnet train`` again with the same seed and a larger ``--samples`` adds runs; a
different seed (or sampler) than the stored one is refused (the family would be mixed).
``[training] strategy`` says which runs of the family are made: ``"random"`` (default) runs
0 .. samples-1 (the fields are random samples); ``"greedy"`` runs ``initial`` of them, then
each time the candidate among runs 0 .. pool-1 that the ROM of the runs made so far scores
worst (:mod:`romnet.online.greedy_training`, in the online layer since it runs ROMs); its
runs are written by :func:`run_training` (``runs=[i]``), so the family index stays that of
one family of ``pool`` samples with some runs made.
``--runs A:B`` runs a slice of the family only (one task of a job array, each task on its
own copy of the case store); ``romnet train-merge`` gathers the parts into one store
(:mod:`romnet.offline.training_merge`).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import mpi
from ..errors import InputError, RomnetError
from ..sampling import HotSpotSampler, sampled_problem
from ..settings import REQUIRED, Const, Int, ListOf, Str, setting
from ..store import CHUNK_VALUES, CaseStore, open_h5

__all__ = ["DEFAULT_FIELDS", "SERIES_PREFIX", "run_training", "training_series", "read_training",
           "training_family", "TrainingSettings", "series_name", "write_run_series", "write_index_row", "grow_index",
           "canonical_attr", "root_write", "family_case", "completed_runs", "INDEX_ROWS", "with_increments",
           "STRATEGIES", "SCORES", "POOL_FACTOR"]

DEFAULT_FIELDS = ("U", "stress", "p", "plastic_strain")
#: fields a training run can store (:meth:`romnet.hifi.HFSolver.output_fields`)
RUN_FIELDS = ("U", "RU", "strain", "stress", "p", "plastic_strain", "state")
SERIES_PREFIX = "train_"
#: ``[training] strategy``: random sampling (runs 0 .. samples-1) or greedy (romnet.online.greedy_training)
STRATEGIES = ("random", "greedy")
#: ``[training] score`` of the greedy strategy: the indicator fields (romnet.online.indicator)
SCORES = ("stress", "p")
#: default ``[training] pool`` = POOL_FACTOR x samples
POOL_FACTOR = 4
_T6 = ["11", "22", "33", "12", "23", "31"]


@dataclass
class TrainingSettings:
    """``[training]`` of a case.toml (``romnet train --case``, the step ``train``)."""
    samples: int = setting(REQUIRED, Int(ge=1, le=10**6), "number of HF training runs (required by the step train)")
    seed: int = setting(0, Int(ge=0, le=2**63 - 1), "run i uses the seed sequence (seed, i) of the temperature sampler")
    increments: int = setting(None, Int(ge=1, le=10**7), "replace the stepping by this many equal increments")
    fields: list = setting(list(DEFAULT_FIELDS), ListOf(Str(RUN_FIELDS)), "fields stored per run (U needed)")
    elastic: int = setting(0, Int(ge=0, le=10**6), "thermo-elastic snapshots run after the HF runs "
                           "(romnet.offline.elastic_snapshots)")
    strategy: str = setting(STRATEGIES[0], Const(*STRATEGIES), "which fields are run: \"random\" runs 0 .. "
                            "samples-1 of the family; \"greedy\" runs `initial` of them, then each time the "
                            "candidate of the pool the current ROM scores worst (romnet.online.greedy_training)")
    pool: int = setting(None, Int(ge=1), f"greedy: the candidates are runs 0 .. pool-1 of the family (default "
                        f"{POOL_FACTOR} x samples; at least samples)")
    initial: int = setting(2, Int(ge=1), "greedy: runs 0 .. initial-1 are run first (random sampling), the "
                           "others are chosen greedily (at most samples)")
    score: str = setting(SCORES[0], Const(*SCORES), "greedy: a candidate's score, the largest relative Gappy "
                         "residual of this field (stress or p indicator) over its run on the current ROM")


def series_name(i: int) -> str:
    return f"{SERIES_PREFIX}{i:03d}"


def _components(name, dim, state_names):
    if name in ("U", "RU"):
        return [f"{name}{i + 1}" for i in range(dim)], "nodal"
    if name == "p":
        return ["p"], "integ"
    if name == "state":
        return list(state_names), "integ"
    return _T6, "integ"


def write_run_series(f, name, sample, times, fields: dict, dim, state_names=()):
    """Write one complete series of a training run (rank 0, ``f`` the open store):
    ``fields`` {name: (n_t, ...) output arrays of :func:`romnet.hifi.hf_outputs`};
    ``n_complete`` 0 first, the number of outputs last."""
    res = f.require_group("results")
    if name in res:
        del res[name]
    g = res.create_group(name)
    g.attrs["source"] = "romnet train"
    g.attrs["sample"] = int(sample)
    g.attrs["n_complete"] = 0
    n_t = len(times)
    g.create_dataset("times", data=np.asarray(times, dtype=float))
    g.create_dataset("increments", data=np.arange(n_t, dtype=np.int64))
    g.create_dataset("cycles", data=np.ones(n_t, dtype=np.int64))
    kg = {"nodal": g.create_group("nodal"), "integ": g.create_group("integ")}
    for fld, values in fields.items():
        comps, kind = _components(fld, dim, state_names)
        data = np.asarray(values, dtype=float).reshape(n_t, -1)
        ds = kg[kind].create_dataset(fld, data=data,
                                     chunks=(1, max(1, min(data.shape[1], CHUNK_VALUES))))
        ds.attrs["n_points"] = data.shape[1] // len(comps)
        ds.attrs["components"] = json.dumps(comps)
        ds.attrs["source_names"] = json.dumps([])
    f.flush()
    g.attrs["n_complete"] = n_t
    f.flush()


def root_write(comm, write, what, error=RomnetError):
    """Call ``write()`` (an HDF5 write) on rank 0 only; a failure is raised on every rank
    as ``error`` (default :class:`RomnetError`) ``"<what> failed: <message>"``; a
    RomnetError raised by ``write`` is re-raised as it is (collective)."""
    err = None
    if comm.Get_rank() == 0:
        try:
            write()
        except RomnetError as exc:
            err = exc
        except Exception as exc:  # noqa: BLE001 (re-raised on every rank)
            err = error(f"{what} failed: {str(exc) or type(exc).__name__}")
    err = comm.bcast(err, root=0) if comm.Get_size() > 1 else err
    if err:
        raise err


#: per-run datasets of /training written by :func:`write_index_row`
INDEX_ROWS = ("temperature", "temperature_fields", "wall_time", "iterations")


def write_index_row(f, i, rows, params):
    """Run ``i``'s rows of ``/training`` (``rows``: {dataset of :data:`INDEX_ROWS`: value}),
    its series name and sampled ``params``, then its completion flag, last: a run counts
    as complete only once its series and index are written."""
    g = f["training"]
    for k, v in rows.items():
        g[k][i] = v
    ser, par = json.loads(g.attrs["series"]), json.loads(g.attrs["parameters"])
    while len(ser) <= i:
        ser.append(series_name(len(ser)))
    while len(par) <= i:
        par.append(None)
    par[i] = params
    g.attrs["series"] = json.dumps(ser)
    g.attrs["parameters"] = json.dumps(par)
    f.flush()
    g["complete"][i] = 1
    f.flush()


def canonical_attr(key, value) -> str:
    """Comparable JSON of a family attribute; a sampler gets the defaults of fields added
    since it was stored (a family stored before ``center`` existed is the same family)."""
    v = json.loads(value) if isinstance(value, str) else value
    if key == "sampler" and isinstance(v, dict):
        try:
            v = asdict(HotSpotSampler(**v))
        except TypeError:
            pass
    return json.dumps(v, sort_keys=True)


def grow_index(f, n, n_keys, n_nodes, attrs):
    """Create or grow the /training index of the open store ``f`` to n runs; check the
    family settings (``attrs``: seed, sampler, ...) match the stored ones."""
    if "training" in f:
        g = f["training"]
        for key in ("seed", "sampler"):
            old = g.attrs[key]
            old = old.item() if isinstance(old, np.generic) else old
            if canonical_attr(key, old) != canonical_attr(key, attrs[key]):
                raise InputError(f"the store's training family has {key} {old}, asked {attrs[key]}; "
                                 "use another store (or delete /training and the train_* series)", f.filename)
        m = g["complete"].shape[0]
        if n > m:
            for k in ("temperature", "temperature_fields", "complete", "wall_time", "iterations"):
                g[k].resize(n, axis=0)
            g["complete"][m:] = 0
        g.attrs["n_samples"] = max(n, m)
        return g
    g = f.create_group("training")
    g.create_dataset("temperature", shape=(n, n_nodes), maxshape=(None, n_nodes), dtype="f8",
                     chunks=(1, max(1, min(n_nodes, CHUNK_VALUES))))
    g.create_dataset("temperature_fields", shape=(n, n_keys, n_nodes), maxshape=(None, n_keys, n_nodes),
                     dtype="f8", chunks=(1, n_keys, max(1, min(n_nodes, CHUNK_VALUES))))
    for k, dt in (("complete", "i1"), ("wall_time", "f8"), ("iterations", "i8")):
        g.create_dataset(k, shape=(n,), maxshape=(None,), dtype=dt, chunks=(1024,), fillvalue=0)
    g.attrs["format"] = "romnet-training"
    g.attrs["n_samples"] = n
    g.attrs["series"] = json.dumps([])
    g.attrs["parameters"] = json.dumps([])
    for k, v in attrs.items():
        g.attrs[k] = v
    return g


def run_training(store, n_samples, seed=TrainingSettings.seed, sampler: HotSpotSampler | None = None,
                 fields=DEFAULT_FIELDS, options=None, n_increments=None, comm=None,
                 progress=print, runs=None) -> dict:
    """Run ``n_samples`` HF simulations of the store's problem with sampled temperatures
    and append them to ``store`` (module docstring). Collective over ``comm``.

    options : :class:`romnet.hifi.SolverOptions` (default: ``verbose=False``).
    n_increments : replace the problem's stepping by that many equal increments over the
        same time interval (quick families); None keeps the stepping.
    runs : run only these indices of the family (a ``range`` or a list within
        0..n_samples-1; one task of a job array, see :mod:`romnet.offline.training_merge`);
        None runs them all. The index is sized for ``n_samples`` either way.
    Returns {'series': [...], 'ran': [...], 'skipped': [...], 'wall_time': [...]}.
    """
    from ..hifi import SolverOptions, hf_outputs

    comm = comm or mpi.comm()
    root = comm.Get_rank() == 0
    say = progress if (root and progress) else (lambda *a, **k: None)
    store = Path(store)
    if runs is not None:
        runs = sorted({int(i) for i in runs})
        out = [i for i in runs if not 0 <= i < int(n_samples)]
        if out:
            raise InputError(f"runs {out} are outside the family 0..{int(n_samples) - 1} (--samples {n_samples})",
                             store)
    selected = range(int(n_samples)) if runs is None else runs
    mesh, problem, done = family_case(store, comm, completed_runs)
    problem = with_increments(problem, n_increments)
    sampler = sampler or HotSpotSampler(dim=mesh.dim)
    fields = list(fields)
    bad = [f for f in fields if f not in RUN_FIELDS]
    if bad or "U" not in fields:
        raise InputError(f"training fields must include U and be among U RU strain stress p "
                         f"plastic_strain state (got {fields})")
    opts = options or SolverOptions(verbose=False)
    base_T = problem.temperature
    n_keys = 1 if base_T is None else np.asarray(base_T.fields).shape[0]
    key_times = np.zeros(1) if base_T is None else np.asarray(base_T.times, dtype=float)
    attrs = dict(seed=int(seed), sampler=json.dumps(asdict(sampler)), fields=json.dumps(fields),
                 stepping_times=json.dumps(np.asarray(problem.stepping.times).tolist()))

    def create_index():
        with open_h5(store) as f:
            g = grow_index(f, int(n_samples), n_keys, mesh.n_nodes, attrs)
            if "temperature_times" not in g:
                g.create_dataset("temperature_times", data=key_times)
    root_write(comm, create_index, f"{store}: the training index", InputError)
    report = dict(series=[series_name(i) for i in range(int(n_samples))], ran=[], skipped=[],
                  wall_time=[])
    part = "" if runs is None else f", {len(runs)} of them in this task"
    say(f"romnet train: {store}: {n_samples} samples (seed {seed}){part}, {mesh.n_nodes} nodes, "
        f"{len(problem.stepping.times) - 1} increments, {comm.Get_size()} rank(s)")
    t_all = time.perf_counter()
    for i in selected:
        name = series_name(i)
        if i in done:
            report["skipped"].append(name)
            say(f"  [{i + 1}/{n_samples}] {name}: already complete, kept")
            continue
        pb, T, params = sampled_problem(problem, mesh.coordinates, [int(seed), i], sampler)
        run = hf_outputs(mesh, pb, fields=fields, comm=comm, options=opts)

        def write():
            with open_h5(store) as f:
                write_run_series(f, name, i, run.times, run.fields, mesh.dim, run.state_names)
                write_index_row(f, i, dict(temperature=T, temperature_fields=pb.temperature.fields,
                                           wall_time=run.wall_time, iterations=run.iterations), params)
        root_write(comm, write, f"{store}: writing {name}")
        report["ran"].append(name)
        report["wall_time"].append(run.wall_time)
        say(f"  [{i + 1}/{n_samples}] {name}: hot spot {params['amplitude']:.0f} deg at "
            f"({', '.join(f'{c:.2f}' for c in params['center'])}), width {params['width']:.2f}; "
            f"T {T.min():.0f}..{T.max():.0f}; {run.iterations} Newton iterations, {run.wall_time:.2f} s")
    say(f"romnet train: {len(report['ran'])} run(s), {len(report['skipped'])} kept, "
        f"{time.perf_counter() - t_all:.1f} s")
    return report


def with_increments(problem, n_increments):
    """``problem`` with its stepping replaced by ``n_increments`` equal increments over the
    same time interval (in place; returned); None keeps the stepping."""
    if n_increments is not None:
        t = np.asarray(problem.stepping.times, dtype=float)
        problem.stepping.times = np.linspace(t[0], t[-1], int(n_increments) + 1)
    return problem


def family_case(store, comm, done_runs):
    """(mesh, problem, ``done_runs(open store)``) of the store a family of runs is added to
    (training runs, thermo-elastic snapshots): its problem must have a time stepping. On
    return every rank has closed the store (rank 0 writes to it next). Collective."""
    with CaseStore(store) as st:
        if not st.has_problem():
            raise InputError("the store has no problem definition (import the case with its deck)", store)
        mesh, problem = st.mesh(), st.problem()
        done = set(done_runs(st))
    comm.Barrier()
    if problem.stepping is None:
        raise InputError("the problem has no time stepping", store)
    return mesh, problem, done


def completed_runs(store) -> list:
    """Indices of the complete runs of the store's training family (flag set and series
    present with at least one output), [] without a family."""
    with CaseStore.opened(store) as st:
        if not st.has("training"):
            return []
        names = st.series_names()
        return [int(i) for i in np.flatnonzero(st.read("training/complete"))
                if series_name(int(i)) in names and st.n_complete(series_name(int(i))) > 0]


def _family_group(st):
    if not st.has("training"):
        raise InputError("the store has no training family (run `romnet train` first)", st.path)


def training_series(store) -> list:
    """Names of the complete training series of ``store`` (index order)."""
    with CaseStore.opened(store) as st:
        _family_group(st)
        names = st.series_names()
        return [series_name(int(i)) for i in np.flatnonzero(st.read("training/complete"))
                if series_name(int(i)) in names]


def training_family(store) -> dict | None:
    """The family settings of the store's ``/training`` index: {'seed', 'sampler'
    (:class:`romnet.sampling.HotSpotSampler`), 'fields', 'stepping_times' (or None),
    'n_samples'}; None when the store has no training family."""
    with CaseStore.opened(store) as st:
        if not st.has("training"):
            return None
        a = st.attrs("training")
    return dict(seed=int(a["seed"]), sampler=HotSpotSampler(**json.loads(a["sampler"])),
                fields=json.loads(a["fields"]) if "fields" in a else None,
                stepping_times=json.loads(a["stepping_times"]) if "stepping_times" in a else None,
                n_samples=int(a.get("n_samples", 0)))


def read_training(store) -> dict:
    """The /training index: {'series', 'index' (run numbers), 'temperature' (n, n_nodes),
    'temperature_fields', 'temperature_times', 'parameters', 'seed'} of the complete runs."""
    with CaseStore.opened(store) as st:
        _family_group(st)
        comp = st.read("training/complete").astype(bool)
        names = st.series_names()
        idx = np.asarray([i for i in np.flatnonzero(comp) if series_name(int(i)) in names], dtype=np.int64)
        a = st.attrs("training")
        par = json.loads(a["parameters"])
        T = st.read("training/temperature")
        return dict(series=[series_name(int(i)) for i in idx], index=idx,
                    temperature=T[idx] if idx.size else np.zeros((0, T.shape[1])),
                    temperature_fields=st.read("training/temperature_fields")[idx] if idx.size else None,
                    temperature_times=st.read("training/temperature_times"),
                    parameters=[par[int(i)] if int(i) < len(par) else None for i in idx],
                    seed=int(a["seed"]))
