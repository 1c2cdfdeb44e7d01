"""Greedy training: the next HF training run is the candidate the current ROM does worst on.

``[training] strategy = "greedy"`` (:class:`romnet.offline.training.TrainingSettings`;
``romnet train --strategy greedy``, the step ``train`` of ``romnet run``). Random sampling
runs the fields ``(seed, i)``, i = 0 .. samples-1, of the case's temperature sampler; the
greedy strategy spends the same HF budget (``samples`` runs) on a better-chosen subset of a
larger pool of the same family:

* **candidates**: the sampler's fields with seed sequences ``(seed, i)``, i in
  ``range(pool)`` (default ``POOL_FACTOR x samples``); run ``i`` is written as
  ``train_{i:03d}`` by :func:`romnet.offline.training.run_training` (``n_samples=pool,
  runs=[i]``), so the family index is that of one family of ``pool`` samples of which some
  runs are complete (``romnet train-merge``, clustering and the Monte Carlo's other seeds
  work unchanged);
* **initial runs**: runs 0 .. ``initial``-1 (the first runs of random sampling);
* **greedy runs**, until ``samples`` runs are complete: the ROM is rebuilt offline on the
  complete runs (:func:`romnet.offline.pipeline.run_offline` with the case's ``[offline]``
  settings and ``series`` = the complete ``train_NNN`` by the index's completion flags,
  :func:`romnet.offline.training.training_series` -- not the ``train_*`` pattern, which
  also matches a series whose run was interrupted before its index row was written); every
  remaining candidate runs on it without enrichment (reduced Newton at the training
  stepping); its **score** is the largest relative Gappy residual of the ``score`` field
  (``"stress"`` default, or ``"p"``: :class:`romnet.online.indicator.PIndicator`) over
  the outputs of its run; a candidate whose reduced Newton fails (or whose indicator is not
  finite) scores +inf. The highest score runs next (ties: the smallest index).

One line per chosen run: ``[k/samples] train_NNN: greedy, score S (stress indicator max);
next best S2 (run j) of M candidates; ROM of m runs (U modes, points); offline, scoring and
HF seconds``. Resumable like ``romnet train``: the complete runs of the store are kept and
count towards ``samples``. Collective over ``comm``: the scores are broadcast from rank 0,
so every rank chooses the same run (the reduced solve is replicated; 1 and 2 ranks agree to
round-off: ``tests/test_greedy_training.py``). With ``final_rom`` the store's ``/rom`` is
the ROM of all the chosen runs at the end; otherwise it is the last scoring ROM (the
``samples``-1 first runs), which the step ``offline`` / ``cluster`` replaces.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import mpi
from ..errors import ConfigError, ConvergenceError, RomnetError
from ..offline.training import (DEFAULT_FIELDS, POOL_FACTOR, SCORES, STRATEGIES, TrainingSettings,
                                completed_runs, family_case, run_training, series_name, training_series,
                                with_increments)
from ..sampling import HotSpotSampler, sampled_problem
from ..settings import check_table, defaults

__all__ = ["run_greedy_training", "train_family", "score_candidates", "greedy_sizes"]


def greedy_sizes(samples, pool=None, initial=TrainingSettings.initial) -> tuple:
    """(samples, pool, initial) of a greedy family, checked: ``pool`` (default
    ``POOL_FACTOR x samples``) >= samples, 1 <= initial <= samples; ConfigError naming
    the ``[training]`` key otherwise."""
    samples = int(samples)
    pool = POOL_FACTOR * samples if pool is None else int(pool)
    if pool < samples:
        raise ConfigError(f"[training] pool = {pool}: the greedy strategy chooses samples = {samples} runs "
                          f"among pool candidates; pool must be >= samples")
    if not 1 <= int(initial) <= samples:
        raise ConfigError(f"[training] initial = {initial}: expected 1 .. samples ({samples}) random runs "
                          "before the greedy ones")
    return samples, pool, int(initial)


def score_candidates(rom, problem, coordinates, seed, sampler, candidates, score="stress", options=None,
                     comm=None) -> np.ndarray:
    """Scores (len(candidates),) of the family's candidate runs on ``rom`` (an
    :class:`~romnet.online.api.OnlineROM`): candidate i is ``problem`` with the sampled
    field ``(seed, i)``, run on the global ROM without enrichment; its score is the largest
    ``score`` indicator over its outputs, +inf when the reduced Newton fails or the
    indicator is not finite. Collective; rank 0's scores on every rank."""
    comm = comm or mpi.comm()
    out = np.empty(len(candidates))
    for k, i in enumerate(candidates):
        pb, _, _ = sampled_problem(problem, coordinates, [int(seed), int(i)], sampler)
        try:
            res = rom.run(pb, enrich=False, learn=False, cluster="global", options=options)
            v = float(np.max(res.indicators[score]))
        except ConvergenceError:
            v = math.inf
        out[k] = v if math.isfinite(v) else math.inf
    return comm.bcast(out, root=0) if comm.Get_size() > 1 else out


def _rebuild(store, offline, comm):
    """The ROM of the complete training runs (``run_offline`` on the store, quiet);
    returns (its report, the loaded :class:`OnlineROM`)."""
    from ..offline.pipeline import run_offline
    from .api import load_rom
    cfg = dict(offline or {})
    cfg["series"] = training_series(store)
    rep = run_offline(store, cfg, comm=comm, progress=None)
    return rep, load_rom(store, comm)


def run_greedy_training(store, samples, seed=TrainingSettings.seed, sampler: HotSpotSampler | None = None,
                        pool=None, initial=TrainingSettings.initial, score=TrainingSettings.score, offline=None,
                        fields=DEFAULT_FIELDS, options=None, n_increments=None, online_options=None,
                        final_rom=True, comm=None, progress=print) -> dict:
    """The greedy training family of the module docstring, appended to ``store``.

    samples : HF budget (complete runs at the end); pool, initial, score : the greedy
    settings (:class:`romnet.offline.training.TrainingSettings`); offline : the
    ``[offline]`` settings of the scoring ROMs (``series`` is set here; clustering keys
    must be left out); fields, options (:class:`romnet.hifi.SolverOptions`), n_increments :
    as :func:`romnet.offline.training.run_training`; online_options : the reduced solver's
    :class:`romnet.online.solver.OnlineOptions`; final_rom : rebuild ``/rom`` on all the
    chosen runs at the end. Collective.

    Returns ``run_training``'s report ({'series', 'ran', 'skipped', 'wall_time'}) with
    ``choices``: one dict per complete run in the order they were made or found
    ({'index', 'series', 'how' ("kept" | "initial" | "greedy"), 'score', 'next_best',
    'next_index', 'candidates', 'rom_runs', 'modes', 'points', 'offline_s', 'scoring_s',
    'hf_s'}; score fields None but for greedy runs), ``scores``: per greedy choice
    {'candidates': [...], 'scores': [...]}, ``timings`` {'hf', 'offline', 'scoring'} (s)
    and ``final_rom`` (the final offline report or None)."""
    if score not in SCORES:
        raise ConfigError(f"[training] score: expected one of {', '.join(SCORES)}, got {score!r}")
    samples, pool, initial = greedy_sizes(samples, pool, initial)
    comm = comm or mpi.comm()
    say = progress if (comm.Get_rank() == 0 and progress) else (lambda *a, **k: None)
    train = dict(seed=seed, sampler=sampler, fields=fields, options=options, n_increments=n_increments,
                 comm=comm, progress=None)
    # the index sized for the pool, the family (seed, sampler) checked against the store's
    run_training(store, pool, runs=[], **train)
    mesh, problem, _ = family_case(store, comm, completed_runs)
    problem = with_increments(problem, n_increments)
    sampler = sampler or HotSpotSampler(dim=mesh.dim)
    done = completed_runs(store)
    report = dict(series=[series_name(i) for i in range(pool)], ran=[], skipped=[series_name(i) for i in done],
                  wall_time=[], choices=[], scores=[], timings=dict(hf=0.0, offline=0.0, scoring=0.0),
                  final_rom=None)
    for i in done:
        report["choices"].append(_choice(i, "kept"))
    say(f"romnet train (greedy): {store}: {samples} HF runs chosen among runs 0..{pool - 1} of the family "
        f"(seed {seed}), {initial} initial, score: max {score} indicator; {len(done)} run(s) already complete, "
        f"{comm.Get_size()} rank(s)")
    t_all = time.perf_counter()
    while len(done) < samples:
        first = [i for i in range(initial) if i not in done]
        rec = dict(how="initial" if first else "greedy")
        if first:
            i = first[0]
        else:
            candidates = [i for i in range(pool) if i not in done]
            if not candidates:
                raise ConfigError(f"[training] pool = {pool}: every candidate is already a training run "
                                  f"({len(done)} complete, samples = {samples})")
            t0 = time.perf_counter()
            rep, rom = _rebuild(store, offline, comm)
            rec.update(offline_s=time.perf_counter() - t0, rom_runs=len(done), modes=rep["modes"].get("U"),
                       points=rep["n_points"])
            if score not in rom.model.dual:
                raise ConfigError(f"[training] score = \"{score}\": the ROM has no '{score}' basis (dual fields "
                                  f"{sorted(rom.model.dual)}); store it ([training] fields) and reduce it "
                                  "([offline] dual_fields)")
            t0 = time.perf_counter()
            s = score_candidates(rom, problem, mesh.coordinates, seed, sampler, candidates, score,
                                 online_options, comm)
            rec["scoring_s"] = time.perf_counter() - t0
            j = int(np.argmax(s))                # first maximum: the smallest index on a tie
            i = candidates[j]
            rest = np.delete(np.arange(len(candidates)), j)
            k = int(rest[np.argmax(s[rest])]) if rest.size else None
            rec.update(score=float(s[j]), candidates=len(candidates),
                       next_best=None if k is None else float(s[k]), next_index=None if k is None else candidates[k])
            report["scores"].append(dict(index=i, candidates=candidates, scores=s.tolist()))
        t0 = time.perf_counter()
        hf = run_training(store, pool, runs=[i], **train)
        rec["hf_s"] = time.perf_counter() - t0
        report["ran"] += hf["ran"]
        report["wall_time"] += hf["wall_time"]
        done = completed_runs(store)
        if i not in done:                        # run_training raises on a failed run; keep the loop finite
            raise RomnetError(f"{store}: training run {i} is not complete after it ran")
        report["choices"].append(_choice(i, **rec))
        for key in ("hf", "offline", "scoring"):
            report["timings"][key] += rec.get(f"{key}_s") or 0.0
        say(_line(len(done), samples, i, score, rec))
    if final_rom and report["ran"]:
        t0 = time.perf_counter()
        report["final_rom"], _ = _rebuild(store, offline, comm)
        report["timings"]["offline"] += time.perf_counter() - t0
        f = report["final_rom"]
        say(f"  /rom: ROM of the {len(done)} runs: {f['modes'].get('U')} U modes, {f['n_points']} points "
            f"({time.perf_counter() - t0:.1f} s)")
    tm = report["timings"]
    say(f"romnet train (greedy): {len(report['ran'])} run(s), {len(report['skipped'])} kept; HF {tm['hf']:.1f} s, "
        f"offline rebuilds {tm['offline']:.1f} s, candidate ROM runs {tm['scoring']:.1f} s "
        f"({time.perf_counter() - t_all:.1f} s in all)")
    return report


def _choice(i, how, **rec) -> dict:
    keys = ("score", "next_best", "next_index", "candidates", "rom_runs", "modes", "points", "offline_s",
            "scoring_s", "hf_s")
    return dict(index=int(i), series=series_name(i), how=how, **{k: rec.get(k) for k in keys})


def _line(n_done, samples, i, score, rec) -> str:
    head = f"  [{n_done}/{samples}] {series_name(i)}: "
    tail = f"HF {rec['hf_s']:.1f} s"
    if rec["how"] == "initial":
        return head + f"initial (random sampling); {tail}"
    nxt = ("no other candidate" if rec["next_best"] is None
           else f"next best {rec['next_best']:.3e} (run {rec['next_index']})")
    return (head + f"greedy, score {rec['score']:.3e} (max {score} indicator); {nxt} of {rec['candidates']} "
            f"candidates; ROM of {rec['rom_runs']} runs ({rec['modes']} U modes, {rec['points']} points): offline "
            f"{rec['offline_s']:.1f} s, scoring {rec['scoring_s']:.1f} s, {tail}")


def train_family(store, settings: dict, sampler=None, offline=None, options=None, online_options=None,
                 final_rom=True, runs=None, comm=None, progress=print) -> dict:
    """The training family of a ``[training]`` table (:class:`TrainingSettings` keys,
    checked, defaults filled): :func:`romnet.offline.training.run_training` for
    ``strategy = "random"`` (``runs``: a slice of the family), :func:`run_greedy_training`
    for ``"greedy"`` (``offline``: the ``[offline]`` settings of its ROMs; ``runs`` refused:
    a greedy family chooses its own runs). The thermo-elastic snapshots (``elastic``) are
    left to the caller."""
    tr = check_table({k: v for k, v in settings.items() if v is not None}, TrainingSettings, None, "training")
    tr = {**{k: v for k, v in defaults(TrainingSettings).items() if v is not None}, **tr}
    if "samples" not in tr:
        raise ConfigError("[training] samples: missing required key (number of HF training runs)")
    common = dict(seed=tr["seed"], sampler=sampler, fields=tr["fields"], options=options,
                  n_increments=tr.get("increments"), comm=comm, progress=progress)
    if tr["strategy"] == STRATEGIES[0]:
        return run_training(store, tr["samples"], runs=runs, **common)
    if runs is not None:
        raise ConfigError("[training] strategy = \"greedy\" chooses its runs: --runs (a slice of the family) "
                          "is for random sampling")
    return run_greedy_training(store, tr["samples"], pool=tr.get("pool"), initial=tr["initial"], score=tr["score"],
                               offline=offline, online_options=online_options, final_rom=final_rom, **common)
