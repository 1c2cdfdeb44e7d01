"""Classifier from a run's input loading (nodal temperature) to the cluster of local ROMs.

Model: PCA of the nodal temperature fields of the training runs (centred, at most
``max_components`` = 10 components, fewer than the number of runs), then a classifier on
the PCA coordinates chosen by cross-validation among

* logistic regression (multinomial, L2, ``C`` in 0.1, 1, 10, 100),
* k-nearest neighbours (``n_neighbors`` in 1, 3, 5, Euclidean, uniform weights).

Cross-validation: stratified k-fold (at most 5 folds, as many as the smallest cluster
allows, at least 2; plain shuffled k-fold when a cluster has a single run), with the PCA
fitted inside each fold (scikit-learn ``Pipeline``), seeded. The reported accuracy is the
mean accuracy over the folds of the chosen model; ``chance`` is the frequency of the
largest cluster (what always answering that cluster achieves). The chosen model is refitted
on all runs.

Storage (``/rom/clusters/<k>/classifier``, no pickles): attributes ``model``
(``logistic`` / ``knn`` / ``constant``), ``cv_accuracy``, ``chance``, ``n_components``,
``params`` (JSON), ``candidates`` (JSON: CV accuracy of each candidate); datasets
``pca_mean`` (n_nodes,), ``pca_components`` (n_c, n_nodes), ``classes`` (n_classes,),
and ``coef`` (n_coef_rows, n_c) + ``intercept`` (n_coef_rows,) for logistic regression
(scikit-learn's ``coef_``/``intercept_``: one row in the binary case, decision > 0 ->
``classes[1]``), or ``train_points`` (n_runs, n_c) + ``train_labels`` (n_runs,) for k-NN
(majority vote of the ``n_neighbors`` nearest, ties -> smallest label); a classifier
retrained online for a new local ROM (:mod:`romnet.online.new_local_rom`) also keeps the
inputs it added to the training runs, ``added_inputs`` (n_added, n_nodes) and
``added_labels`` (n_added,). Prediction is
re-implemented in numpy (:class:`StoredClassifier`), so loading needs no scikit-learn.
"""
from __future__ import annotations

import json

import numpy as np

from ..errors import InputError, StoreError
from ..store import CaseStore

__all__ = ["fit_classifier", "StoredClassifier", "load_classifier", "predict_cluster", "hottest_field"]

LOGISTIC_C = (0.1, 1.0, 10.0, 100.0)
KNN_K = (1, 3, 5)


def _candidates(seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    out = [(f"logistic(C={c:g})", "logistic", dict(C=c),
            LogisticRegression(C=c, max_iter=5000, random_state=seed)) for c in LOGISTIC_C]
    out += [(f"knn(k={k})", "knn", dict(n_neighbors=k), KNeighborsClassifier(n_neighbors=k))
            for k in KNN_K]
    return out


def fit_classifier(X, labels, seed=0, max_components=10, only=None):
    """Fit PCA + classifier (module docstring). ``only``: names of the candidates to try
    (e.g. ``("knn(k=1)",)``; default all). Returns (tree for the store, report)."""
    from sklearn.decomposition import PCA
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    X = np.asarray(X, dtype=float)
    y = np.asarray(labels, dtype=np.int64)
    n = X.shape[0]
    if n != y.size:
        raise InputError(f"{n} input fields for {y.size} labels")
    classes, counts = np.unique(y, return_counts=True)
    chance = float(counts.max() / n)
    n_c = int(max(1, min(max_components, n - 1, X.shape[1])))
    pca = PCA(n_components=n_c, random_state=seed).fit(X)
    tree = dict(pca_mean=pca.mean_.astype(float), pca_components=pca.components_.astype(float),
                classes=classes.astype(np.int64), n_components=n_c, chance=chance)
    if classes.size == 1:
        tree.update(model="constant", cv_accuracy=1.0, params="{}", candidates="{}")
        return tree, dict(model="constant", n_components=n_c, cv_accuracy=1.0, chance=chance,
                          candidates={})
    min_count = int(counts.min())
    if min_count >= 2:
        cv = StratifiedKFold(n_splits=min(5, min_count), shuffle=True, random_state=seed)
    else:
        cv = KFold(n_splits=min(5, n), shuffle=True, random_state=seed)
    scores = {}
    best = None
    for name, kind, params, est in _candidates(seed):
        if only is not None and name not in only:
            continue
        if kind == "knn" and params["n_neighbors"] > n - int(np.ceil(n / cv.get_n_splits())):
            continue
        pipe = make_pipeline(PCA(n_components=n_c, random_state=seed), est)
        # PCA inside the fold may get fewer samples than n_c: cap it for the folds
        n_train = n - int(np.ceil(n / cv.get_n_splits()))
        pipe.steps[0][1].n_components = int(max(1, min(n_c, n_train - 1)))
        # a fold whose training part holds one class only cannot fit some models: such a
        # fold scores 0 (counts against the model) instead of making the mean nan
        sc = float(np.mean(cross_val_score(pipe, X, y, cv=cv, error_score=0.0)))
        scores[name] = sc
        if best is None or sc > best[0] + 1e-12:
            best = (sc, name, kind, params, est)
    if best is None:
        raise InputError(f"no classifier candidate among {list(only)} fits {n} runs")
    sc, name, kind, params, est = best
    Z = pca.transform(X)
    est.fit(Z, y)
    if kind == "logistic":
        tree.update(coef=np.asarray(est.coef_, dtype=float), intercept=np.asarray(est.intercept_, dtype=float))
    else:
        tree.update(train_points=Z.astype(float), train_labels=y.copy())
    tree.update(model=kind, cv_accuracy=sc, params=json.dumps(params), candidates=json.dumps(scores))
    rep = dict(model=name, n_components=n_c, cv_accuracy=sc, chance=chance, candidates=scores)
    return tree, rep


def hottest_field(temperature) -> np.ndarray:
    """(n_nodes,) the classifier's input of a run from its nodal temperature (n_nodes,) or
    key fields (n_keys, n_nodes): the hottest key field (the training descriptor of
    :mod:`romnet.offline.training`)."""
    T = np.asarray(temperature, dtype=float)
    return T[int(np.argmax(T.max(axis=1)))] if T.ndim == 2 else T


class StoredClassifier:
    """PCA + classifier re-created from stored arrays (no scikit-learn needed)."""

    def __init__(self, tree: dict):
        self.model = str(tree["model"])
        self.mean = np.asarray(tree["pca_mean"], dtype=float)
        self.components = np.asarray(tree["pca_components"], dtype=float)
        self.classes = np.asarray(tree["classes"], dtype=np.int64)
        p = tree.get("params", {})
        self.params = json.loads(p) if isinstance(p, str) else dict(p or {})
        self.cv_accuracy = float(tree.get("cv_accuracy", np.nan))
        if self.model == "logistic":
            self.coef = np.asarray(tree["coef"], dtype=float)
            self.intercept = np.asarray(tree["intercept"], dtype=float)
        elif self.model == "knn":
            self.points = np.asarray(tree["train_points"], dtype=float)
            self.labels = np.asarray(tree["train_labels"], dtype=np.int64)

    def transform(self, X):
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.shape[1] != self.mean.size:
            raise InputError(f"input has {X.shape[1]} values per run, the classifier expects "
                             f"{self.mean.size} (nodal temperature)")
        return (X - self.mean) @ self.components.T

    def predict_temperature(self, temperature_nodal) -> int:
        """Cluster of one run from its nodal temperature (n_nodes,) or key fields (n_keys,
        n_nodes): the hottest key field, the training descriptor of
        :mod:`romnet.offline.training`."""
        return int(self.predict(hottest_field(temperature_nodal)[None])[0])

    def predict(self, X) -> np.ndarray:
        Z = self.transform(X)
        if self.model == "constant":
            return np.full(Z.shape[0], self.classes[0])
        if self.model == "logistic":
            d = Z @ self.coef.T + self.intercept
            if d.shape[1] == 1:
                return self.classes[(d[:, 0] > 0).astype(int)]
            return self.classes[np.argmax(d, axis=1)]
        k = int(self.params.get("n_neighbors", 1))
        d2 = np.sum((Z[:, None, :] - self.points[None]) ** 2, axis=2)
        nn = np.argsort(d2, axis=1, kind="stable")[:, :k]
        votes = self.labels[nn]
        out = np.empty(Z.shape[0], dtype=np.int64)
        for i, v in enumerate(votes):
            cnt = np.bincount(v, minlength=int(self.classes.max()) + 1)
            out[i] = int(np.argmax(cnt))
        return out


def load_classifier(rom_store, k=None) -> StoredClassifier:
    """The classifier of ``k`` clusters (default: the selected k) of a store's ROM (a
    path or an open :class:`romnet.store.CaseStore`)."""
    from .rom_store import read_rom, selected_k
    with CaseStore.opened(rom_store) as st:
        k = selected_k(st) if k is None else int(k)
        if k is None:
            raise StoreError(f"{st.path}: the ROM has no clusters (run `romnet cluster`)")
        if not st.has(f"rom/clusters/{k}/classifier"):
            raise StoreError(f"{st.path}: no classifier for k={k}")
        return StoredClassifier(read_rom(st, at=f"clusters/{k}/classifier"))


def predict_cluster(rom_store, temperature_nodal, k=None) -> int:
    """Cluster (local ROM index) for a new run's nodal temperature (n_nodes,). A
    (n_keys, n_nodes) array of key fields is reduced to its hottest key field (the
    training descriptor of :mod:`romnet.offline.training`)."""
    return load_classifier(rom_store, k).predict_temperature(temperature_nodal)
