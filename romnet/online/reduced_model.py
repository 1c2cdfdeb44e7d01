"""What the online stage reads from a store's ``/rom`` group (``docs/rom-schema.md``).

:class:`ReducedModel` holds only the small, replicated operators (sizes independent of the
mesh): strains of the displacement modes at the reduced points, ECM weights, material and
temperature interpolation per point, the dual bases at the points (Gappy-POD), the reduced
load vectors and the POD metadata. The full POD modes (mesh-sized) are read on demand by
:meth:`ReducedModel.modes` (reconstruction, enrichment) -- never by the reduced solver.

Local ROMs (``/rom/clusters``, written by ``romnet cluster``): :func:`load_models` returns
the global model first, then one model per cluster of the selected number of clusters k
(``cluster`` = c, ``k`` = k, modes read from ``/rom/clusters/<k>/<c>/pod``);
:meth:`romnet.online.api.OnlineROM.select` picks one with the stored classifier
(``docs/online.md``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..offline.lifting import Lifting
from ..offline.operators import LOAD_KINDS
from ..offline.rom_store import cluster_key, read_modes, read_rom, rom_path, series_list

__all__ = ["ReducedModel", "load_models"]


@dataclass
class ReducedModel:
    store: Path
    strain_modes: np.ndarray          # (n_p, 6, k) Mandel strain of each U mode at each point
    weights: np.ndarray               # (n_p,) ECM weights (0 for QDEIM-only points)
    ip: np.ndarray                    # (n_p,) global integration-point indices
    material: np.ndarray              # (n_p,) index into problem.materials
    nodes: np.ndarray                 # (n_p, n_en) element nodes (-1 padded)
    shape: np.ndarray                 # (n_p, n_en) shape functions at the point (0 padded)
    dual: dict                        # name -> (n_p, n_comp, m) dual basis at the points
    dual_info: dict                   # name -> POD attributes (n_comp, convention, components, ...)
    loads: dict                       # {kind: [...]} (phi_f, magnitude, table, ...), kinds of operators.LOAD_KINDS
    pod_info: dict                    # field -> POD attributes (no modes)
    displacement: str = "U"
    stress_field: str = "stress"
    settings: dict = field(default_factory=dict)
    tree: dict = field(default_factory=dict)   # whole /rom tree without the modes (enrichment)
    label: str = "global"
    cluster: int | None = None        # local ROM: cluster index c (None: the global ROM)
    k: int | None = None              # local ROM: number of clusters of its clustering
    series: list = field(default_factory=list)  # training series (one or several)
    lifting: dict | None = None       # inhomogeneous constraints (offline.lifting): strain_at_points
                                      # (n_p, 6, n_l), dofs, values, sources
    plane_stress: np.ndarray | None = None  # (n_p,) int8: point on a plane-stress element
    hourglass: dict | None = None     # {"matrices": (n_mat, k, k), "modulus": (n_mat,)} or None

    @property
    def is_local(self) -> bool:
        return self.cluster is not None

    @property
    def at(self) -> str:
        """Path of this ROM inside ``/rom`` (:func:`romnet.offline.rom_store.rom_path`)."""
        return rom_path(self.k, self.cluster) if self.is_local else ""

    # ---------------------------------------------------------------- sizes
    n_modes = property(lambda self: self.strain_modes.shape[2], doc="k: displacement modes (reduced coordinates)")
    n_points = property(lambda self: self.strain_modes.shape[0], doc="n_p: reduced points (ECM + QDEIM)")
    dim = property(lambda self: int(self.pod_info[self.displacement]["n_comp"]), doc="components of U (mesh dim)")
    n_nodes = property(lambda self: int(self.pod_info[self.displacement]["n_points"]), doc="nodes of the mesh")

    @property
    def n_ip_total(self) -> int:
        for info in self.pod_info.values():
            if info.get("kind") == "integ":
                return int(info["n_points"])
        raise InputError("the ROM has no integration-point basis")

    def needed_nodes(self) -> np.ndarray:
        """Sorted nodes whose values the points' temperature interpolation needs."""
        return np.unique(self.nodes[self.nodes >= 0])

    def modes(self, field=None, points=None) -> np.ndarray:
        """(n_rows, n_modes) POD modes of ``field`` (default U) for a contiguous slice of
        nodes / ips (mesh-sized: reconstruction and enrichment only)."""
        return read_modes(self.store, field or self.displacement, points, at=self.at)

    def gappy(self) -> dict:
        """{dual field: :class:`romnet.online.reconstruction.Gappy`} of this model (the
        pseudo-inverses are computed once per model, not per run)."""
        cache = self.__dict__.get("_gappy")
        if cache is None:
            from .reconstruction import Gappy
            cache = self.__dict__["_gappy"] = {n: Gappy(P) for n, P in self.dual.items()}
        return cache

    def summary(self) -> str:
        d = ", ".join(f"{n} {self.dual[n].shape[2]}" for n in self.dual)
        return (f"ROM '{self.label}': {self.n_modes} {self.displacement} modes, {self.n_points} reduced "
                f"points ({int(np.count_nonzero(self.weights))} with ECM weight), dual bases: {d}")

    # ---------------------------------------------------------------- reading
    @classmethod
    def from_tree(cls, store, rom: dict, label="global", cluster=None, k=None):
        pts = rom["points"]
        op = rom["operators"]
        ecm = rom.get("ecm", {})
        disp = ecm.get("displacement_field", "U")
        dual, dual_info = {}, {}
        for n, d in op.get("dual", {}).items():
            dual[n] = np.asarray(d["modes_at_points"], dtype=float)
            dual_info[n] = dict(rom["pod"][n])
        loads = {kind: [] for kind in LOAD_KINDS}
        for kind, grp in op.get("loads", {}).items():
            if kind not in loads:
                raise InputError(f"{store}: unknown load kind '{kind}' in /rom/operators/loads")
            for key in sorted(grp):
                loads[kind].append(dict(grp[key]))
        lifting = None
        if "lifting" in op:
            lift = Lifting.from_tree(op["lifting"])
            lifting = dict(strain_at_points=np.asarray(op["lifting"]["strain_at_points"], dtype=float),
                           dofs=lift.dofs, values=lift.values, sources=lift.sources)
        pod_info = {n: {k: v for k, v in g.items() if k != "modes"} for n, g in rom["pod"].items()}
        return cls(Path(store), np.asarray(op["strain_modes"], dtype=float),
                   np.asarray(pts["weight"], dtype=float), np.asarray(pts["ip"], dtype=np.int64),
                   np.asarray(pts["material"], dtype=np.int64), np.asarray(pts["nodes"], dtype=np.int64),
                   np.asarray(pts["shape"], dtype=float), dual, dual_info, loads, pod_info,
                   displacement=disp, stress_field=ecm.get("stress_field", "stress"),
                   settings=rom.get("settings", {}) if isinstance(rom.get("settings"), dict) else {},
                   tree=rom, label=label, cluster=None if cluster is None else int(cluster),
                   k=None if k is None else int(k), series=series_list(rom.get("series")), lifting=lifting,
                   plane_stress=np.asarray(pts.get("plane_stress", np.zeros(np.size(pts["weight"]))),
                                           dtype=np.int8),
                   hourglass=({k_: np.asarray(v, dtype=float) for k_, v in op["hourglass"].items()}
                              if "hourglass" in op else None))

    @classmethod
    def load(cls, store):
        """Read the (small) ROM operators of ``store`` (no mesh-sized modes)."""
        return cls.from_tree(store, read_rom(store, modes=False))


def load_models(store, k=None) -> list:
    """Every reduced model of a store: the global model first; with ``/rom/clusters``, then
    one local model per cluster c = 0 .. k-1 of ``k`` clusters (default: the selected k).
    ``series`` of each model is a list (one name or several)."""
    return models_from_tree(store, read_rom(store, modes=False), k)[0]


def models_from_tree(store, rom: dict, k=None) -> tuple:
    """(models, clusters tree of k or None) of a ``/rom`` tree read without the modes
    (:func:`load_models`); the clusters tree holds the classifier."""
    rom = dict(rom)
    clusters = rom.pop("clusters", None)
    models = [ReducedModel.from_tree(store, rom)]
    if clusters is None:
        return models, None
    k = int(clusters["selected"]) if k is None else int(k)
    if str(k) not in clusters:
        raise InputError(f"{store}: no local ROMs for k={k} (stored: {clusters.get('stored')})")
    kg = clusters[str(k)]
    n = int(kg.get("n_clusters", k))              # > k: local ROMs started online (.new_local_rom)
    for c in range(n):
        key = cluster_key(c)
        if key not in kg:
            raise InputError(f"{store}: /rom/clusters/{k} has no local ROM {key}")
        models.append(ReducedModel.from_tree(store, kg[key], label=f"local {c} of {n}", cluster=c, k=k))
    return models, kg
