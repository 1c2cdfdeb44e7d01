"""Merge training families run in parts (job arrays) into one store.

A large training family is embarrassingly parallel: run ``i`` needs only the case store
and its seed ``(seed, i)``. On a cluster each task of a job array runs a slice of the
family (``romnet train PART.h5 --samples N --runs A:B``) into its own copy of the case
store (HDF5 files are not written by several jobs at once), and

    romnet train-merge TARGET.h5 PART_0.h5 PART_1.h5 ...

copies the complete runs of the parts into ``TARGET`` (the case store, or any of the
parts): the series ``/results/train_NNN`` and their rows of the ``/training`` index
(``romnet/offline/training.py``). The result is the store that one ``romnet train
--samples N`` would have written (same series, same index; the per-run wall times are
those of the parts).

Checks (``InputError`` naming the part): every part has a training family with the same
seed, sampler, stored fields and stepping as the target's (or the first part's when the
target has none yet), and the same mesh coordinates and problem definition as the target.

Writes are in place and per run, like ``romnet train``: a run's completion flag is set
after its series and index rows are written, so an interrupted merge leaves the runs it
finished complete and the others incomplete (the next merge or ``romnet train`` redoes
them). A run already complete in the target is kept (not overwritten); a run complete in
several parts is taken from the first.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..store import CaseStore, open_h5
from .training import INDEX_ROWS, canonical_attr, grow_index, series_name, write_index_row

__all__ = ["merge_training"]

_FAMILY_KEYS = ("seed", "sampler", "fields", "stepping_times")


def _json_attr(v):
    v = v.item() if isinstance(v, np.generic) else v
    if isinstance(v, bytes):
        v = v.decode()
    try:
        return json.loads(v) if isinstance(v, str) else v
    except json.JSONDecodeError:
        return v


def _same(key, a, b) -> bool:
    return canonical_attr(key, _json_attr(a)) == canonical_attr(key, _json_attr(b))


def _family(path):
    """Family attributes, completion flags and mesh/problem fingerprint of one store."""
    with CaseStore(path) as st:
        if not st.has("training"):
            raise InputError("no training family (/training): run `romnet train` on it first", path)
        a = st.attrs("training")
        missing = [k for k in _FAMILY_KEYS + ("n_samples",) if k not in a]
        if missing or not st.has("training/complete"):
            raise InputError(f"/training is not a romnet training index (missing {missing or ['complete']})",
                             path)
        names = set(st.series_names())
        complete = [int(i) for i in np.flatnonzero(st.read("training/complete").astype(bool))
                    if series_name(int(i)) in names]
        return dict(attrs={k: a[k] for k in _FAMILY_KEYS}, complete=complete,
                    n_samples=int(a["n_samples"]), n_keys=int(st.shape("training/temperature_fields")[1]),
                    fingerprint=_fingerprint(st, path))


def _fingerprint(st, path):
    if not st.has("mesh") or not st.has_problem():
        raise InputError("not a case store with a mesh and a problem", path)
    return st.read("mesh/coordinates"), st.read("problem/definition")


def _check_same_case(fp, ref, part, target):
    (x, d), (x0, d0) = fp, ref
    if x.shape != x0.shape or not np.array_equal(x, x0):
        raise InputError(f"its mesh differs from the target's ({target}): the parts must be copies of "
                         "the same case store", part)
    if d != d0:
        raise InputError(f"its problem definition differs from the target's ({target})", part)


def merge_training(target, parts, progress=print) -> dict:
    """Copy the complete training runs of ``parts`` into ``target`` (module docstring).

    target : case store (mesh + problem), written in place; parts : stores with a training
    family of the same case. Serial (rank 0 / one process). Returns {'copied': [names],
    'kept': [names already complete in the target], 'duplicates': [names complete in
    several parts], 'n_samples': int, 'stale_rom': bool (the target's /rom predates the
    copied runs)}."""
    say = progress or (lambda *a, **k: None)
    target = Path(target)
    parts = [Path(p) for p in parts]
    if not parts:
        raise InputError("no part store to merge")
    for p in parts:
        if p.resolve() == target.resolve():
            raise InputError("a part is the target itself", p)
    with CaseStore(target) as st:
        ref_fp = _fingerprint(st, target)
        has_family = st.has("training")
    fams = []
    for p in parts:
        fam = _family(p)
        _check_same_case(fam["fingerprint"], ref_fp, p, target)
        fams.append(fam)
    ref = (_family(target) if has_family else fams[0])["attrs"]
    for p, fam in zip(parts, fams):
        for k in _FAMILY_KEYS:
            if not _same(k, fam["attrs"][k], ref[k]):
                raise InputError(f"its training family has {k} {_json_attr(fam['attrs'][k])!r}, the "
                                 f"{'target' if has_family else 'first part'} {_json_attr(ref[k])!r}: "
                                 "runs of different families cannot be merged", p)
    n_total = max(f["n_samples"] for f in fams)
    n_keys = fams[0]["n_keys"]
    n_nodes = ref_fp[0].shape[0]
    attrs = {k: (_json_attr(v) if k == "seed" else v) for k, v in ref.items()}
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
    report = dict(copied=[], kept=[], duplicates=[], n_samples=0)
    t0 = time.perf_counter()
    taken = set()
    with open_h5(target) as f:
        g = grow_index(f, n_total, n_keys, n_nodes, attrs)
        res = f.require_group("results")
        have = {int(i) for i in np.flatnonzero(g["complete"][()]) if series_name(int(i)) in res}
        for p, fam in zip(parts, fams):
            with open_h5(p, "r") as src:
                sg = src["training"]
                if "temperature_times" not in g and "temperature_times" in sg:
                    g.create_dataset("temperature_times", data=sg["temperature_times"][()])
                spar = json.loads(sg.attrs["parameters"])
                for i in fam["complete"]:
                    name = series_name(i)
                    if i in have:
                        report["kept"].append(name)
                        continue
                    if i in taken:
                        report["duplicates"].append(name)
                        continue
                    if name in res:                  # an incomplete leftover: replaced
                        del res[name]
                    src.copy(src["results"][name], res, name=name)
                    write_index_row(f, i, {k: sg[k][i] for k in INDEX_ROWS}, spar[i] if i < len(spar) else None)
                    taken.add(i)
                    report["copied"].append(name)
            say(f"  {p}: {len(fam['complete'])} complete run(s)")
        report["n_samples"] = int(g.attrs["n_samples"])
        n_done = int(np.count_nonzero(g["complete"][()]))
        stale_rom = "rom" in f and bool(report["copied"])
    say(f"romnet train-merge: {target}: {len(report['copied'])} run(s) copied, {len(report['kept'])} already "
        f"there, {len(report['duplicates'])} duplicate(s) skipped; {n_done}/{report['n_samples']} runs "
        f"complete ({time.perf_counter() - t0:.1f} s)")
    if stale_rom:
        say(f"  note: {target} holds a ROM (/rom) built before these runs: run the offline or cluster "
            "step again to use them")
    report["stale_rom"] = stale_rom
    return report
