"""Time series of result fields (snapshots).

A :class:`SnapshotSeries` holds, for ``n_times`` outputs:

* ``times`` (n_times,) float64, and per output ``cycle``/``increment`` when known;
* ``nodal[name]`` : :class:`Field` with values (n_times, n_nodes, n_comp);
* ``integ[name]`` : :class:`Field` with values (n_times, n_ip_total, n_comp), integration
  points ordered element by element (global element order of the mesh), inside an element
  in the element's own integration-point order (:mod:`romnet.fe.elements`).

Tensor fields use the storage convention of :mod:`romnet.tensors` (order 11 22 33 12 23 31,
tensorial shear). Canonical names: ``U`` displacement, ``strain`` total strain, ``stress``,
``p`` cumulated plastic/viscoplastic strain, ``plastic_strain`` (visco)plastic strain
tensor; other variables keep the name the source code gave them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Field:
    name: str
    components: list
    values: np.ndarray  # (n_times, n_points, n_comp)
    source_names: list | None = None  # names in the source file, per component

    @property
    def n_comp(self) -> int:
        return len(self.components)


@dataclass
class SnapshotSeries:
    times: np.ndarray
    nodal: dict = field(default_factory=dict)
    integ: dict = field(default_factory=dict)
    increments: np.ndarray | None = None
    cycles: np.ndarray | None = None
    source: str = ""

    def __post_init__(self):
        self.times = np.asarray(self.times, dtype=np.float64)

    @property
    def n_times(self) -> int:
        return self.times.shape[0]

    def summary(self) -> str:
        lines = [f"results: {self.n_times} outputs, t = {self.times.min() if self.n_times else 0:g} "
                 f"... {self.times.max() if self.n_times else 0:g}"]
        for kind, fields in (("nodal", self.nodal), ("integration-point", self.integ)):
            for f in fields.values():
                lines.append(f"  {kind} {f.name} [{' '.join(f.components)}] "
                             f"shape {tuple(f.values.shape)}")
        return "\n".join(lines)
