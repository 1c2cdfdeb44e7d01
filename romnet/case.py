"""A case in memory: mesh, optional problem definition, result series."""
from __future__ import annotations

from dataclasses import dataclass, field

from .mesh import Mesh
from .problem import Problem


@dataclass
class Case:
    """What an adapter returns and what the case store holds.

    ``results`` maps a series name (``"imported"`` for results read from a code) to a
    :class:`romnet.snapshots.SnapshotSeries`. ``metadata`` holds JSON-able provenance
    (source code, source files, adapter version).
    """

    mesh: Mesh
    problem: Problem | None = None
    results: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    def summary(self) -> str:
        parts = [self.mesh.summary()]
        if self.problem is not None:
            parts.append(self.problem.summary())
        for name, s in self.results.items():
            parts.append(f"[{name}] " + s.summary())
        return "\n".join(parts)
