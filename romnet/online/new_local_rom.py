"""A new local ROM for a sample that no cluster represents (issue 17; ``[learning]
new_local_rom``, ``new_local_rom_after``, ``max_local_roms``).

With local ROMs (``romnet cluster``) the classifier sends every new loading to the local
ROM of one cluster. A Monte Carlo sample that this local ROM c does not represent -- its
reduced Newton fails there (the sample falls back to the global ROM), or (with
``new_local_rom_after`` = m > 0) it needs at least m enrichments of c -- starts a new local
ROM (:func:`start_local_rom`), written as ONE new ROM version of the store:

* the new local ROM ``c' = n_clusters`` (``/rom/clusters/<k>/<c'>``, ``n_clusters`` + 1) is
  the ROM that served the sample as the sample left it: c with the sample's enrichments, or
  the global ROM (with its enrichments) after a fallback; its ``founder`` attribute (JSON)
  says which sample started it from which ROM;
* c goes back to what it was before the sample (the version ``parent``): the enrichments of
  a loading it does not represent move to the new local ROM instead of growing c;
* the classifier is refitted (:func:`romnet.offline.classifier.fit_classifier`, on rank 0,
  broadcast) on the training runs with their cluster labels plus every sample that started
  a local ROM (the classifier's ``added_inputs`` (n_added, n_nodes) hottest nodal
  temperature field and ``added_labels`` (n_added,)); when the model cross-validation
  chooses does not send each of those samples to its own local ROM, 1-nearest neighbour
  (which does) is used instead: a local ROM the classifier never chose would never learn.

Rolling back to an earlier version (``romnet rom --use``) removes the local ROM and restores
the classifier. The same on any number of ranks: every rank writes its rows of the bases,
read from the store (the sample's version for the new ROM, the parent version for c).
"""
from __future__ import annotations

import json

import numpy as np

from ..errors import StoreError
from ..offline.classifier import StoredClassifier, fit_classifier, hottest_field
from ..offline.rom_store import cluster_key, read_rom, rom_path, version_blocks, write_rom_version
from ..offline.training import read_training
from .enrichment import own_modes
from .settings import LearningSettings

__all__ = ["unrepresented", "start_local_rom", "member_trees"]

#: the classifier used when the cross-validated choice does not route the added samples to
#: their own local ROMs (module docstring)
NEAREST = ("knn(k=1)",)


def unrepresented(selection: dict, fallback: bool, enrichments: int, settings: dict) -> bool:
    """Whether a sample the classifier sent to a local ROM (``selection["how"] ==
    "classifier"``) starts a new one: its local ROM failed (``fallback``) and
    ``new_local_rom`` is on, or it needed at least ``new_local_rom_after`` (> 0) enrichments
    of its local ROM."""
    if selection.get("how") != "classifier" or selection.get("cluster") is None:
        return False
    if fallback:
        return bool(settings.get("new_local_rom", LearningSettings.new_local_rom))
    after = int(settings.get("new_local_rom_after") or LearningSettings.new_local_rom_after)
    return after > 0 and enrichments >= after


def member_trees(tree: dict):
    """(path inside /rom, member tree) of every ROM of a whole ``/rom`` tree: the global ROM
    ``""`` and each local ROM ``clusters/<k>/<ccc>``."""
    yield "", tree
    cl = tree.get("clusters") or {}
    for k, kg in cl.items():
        if not (isinstance(kg, dict) and str(k).isdigit()):
            continue
        for key, sub in kg.items():
            if isinstance(sub, dict) and "pod" in sub and "operators" in sub:
                yield f"clusters/{k}/{key}", sub


def _refit(store, cl, kg, founder_T, c_new, comm):
    """The classifier tree refitted with the new founder (module docstring); rank 0 fits,
    every rank gets the tree and the report."""
    out = None
    if comm.Get_rank() == 0:
        try:
            tr = read_training(store)
            pos = {s: i for i, s in enumerate(tr["series"])}
            names = [str(s) for s in np.atleast_1d(cl.get("series", []))]
            missing = [s for s in names if s not in pos]
            if missing:
                raise StoreError(f"{store}: the clustering's training runs {missing[:3]} are not in /training: "
                                 "cannot refit the classifier for a new local ROM")
            X = tr["temperature"][[pos[s] for s in names]]
            y = np.asarray(kg["labels"], dtype=np.int64)
            old = kg.get("classifier", {})
            A = np.asarray(old.get("added_inputs", np.zeros((0, X.shape[1]))), dtype=float).reshape(-1, X.shape[1])
            L = np.asarray(old.get("added_labels", np.zeros(0)), dtype=np.int64).reshape(-1)
            A, L = np.vstack([A, founder_T[None]]), np.append(L, c_new)
            seed = int(cl.get("seed", 0))
            X, y = np.vstack([X, A]), np.concatenate([y, L])
            tree, rep = fit_classifier(X, y, seed=seed)
            rep["routes_added"] = bool(np.all(StoredClassifier(tree).predict(A) == L))
            if not rep["routes_added"]:
                chosen = rep["model"]
                tree, rep = fit_classifier(X, y, seed=seed, only=NEAREST)
                rep["routes_added"] = bool(np.all(StoredClassifier(tree).predict(A) == L))
                rep["instead_of"] = chosen
            tree.update(added_inputs=A, added_labels=L)
            out = (None, tree, rep)
        except Exception as exc:  # noqa: BLE001 (re-raised on every rank)
            out = (exc if isinstance(exc, StoreError) else StoreError(f"{store}: refitting the classifier: {exc}"),
                   None, None)
    if comm.Get_size() > 1:
        out = comm.bcast(out, root=0)
    if out[0] is not None:
        raise out[0]
    return out[1], out[2]


def start_local_rom(rom, temperature, served, cluster: int, parent: int, log: dict) -> dict:
    """Start a new local ROM from a sample that local ROM ``cluster`` does not represent
    (module docstring). Collective.

    rom : the :class:`romnet.online.api.OnlineROM` (reloaded from the new version on return).
    temperature : the sample's nodal temperature key fields (n_keys, n_nodes) or (n_nodes,).
    served : the :class:`ReducedModel` that served the sample at its end (``res.model``).
    cluster : the local ROM the classifier chose; parent : the ROM version before the sample.
    log : JSON-able facts of the sample (recorded in the version's log).
    Returns {"cluster": c', "version", "classifier" (the fit report)}."""
    comm, store = rom.comm, rom.store
    enr = rom.enricher()
    tree = read_rom(store, modes=False)
    current = int(tree.pop("version", 0))
    k = rom.local[0].k
    cl = tree["clusters"]
    kg = cl[str(k)]
    c_new = int(kg.get("n_clusters", k))
    key_c, key_new = rom_path(k, cluster), rom_path(k, c_new)
    key_src = rom_path(served.k, served.cluster) if served.is_local else ""
    src = dict(dict(member_trees(tree))[key_src])
    src = {n: v for n, v in src.items() if n not in ("clusters", "calibration", "version", "timings")}
    src["members"] = np.zeros(0, dtype=np.int64)
    src["founder"] = json.dumps(dict(log, started_from=served.label, cluster_chosen=int(cluster)), default=str)
    old_c = read_rom(store, modes=False, at=key_c, version=parent)
    old_c.pop("version", None)
    kg[cluster_key(cluster)] = old_c
    kg[cluster_key(c_new)] = src
    kg["n_clusters"] = c_new + 1
    kg["classifier"], rep = _refit(store, cl, kg, hottest_field(temperature), c_new, comm)
    L = enr.layout
    blocks = {}
    for key, sub in member_trees(tree):
        if key == key_new:
            cols = own_modes(store, L, sub["pod"], key_src)
        elif key == key_c:
            cols = own_modes(store, L, sub["pod"], key_c, version=parent)
        else:
            cols = {}
        blocks.update(version_blocks(L, key, sub["pod"], {n: (m, 0) for n, m in cols.items()}))
    entry = dict(log, new_local_rom=int(c_new), started_from=served.label, reverted_cluster=int(cluster),
                 classifier=rep["model"], classifier_routes_added=rep["routes_added"])
    v = write_rom_version(store, tree, blocks, current, entry, comm)
    enr.version = v
    for key in (key_c, key_new):                 # re-read from the store when next enriched
        enr.members.pop(key, None)
    rom.reload()
    return dict(cluster=c_new, version=v, classifier=rep)
