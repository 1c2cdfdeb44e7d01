"""Mesh data model.

Conventions
-----------
* Nodes: ``coordinates`` (n_nodes, dim) float64, ``node_ids`` (n_nodes,) the ids of the
  source file. Everything else refers to nodes by **0-based index** into these arrays.
* Elements are grouped in blocks of one element type (names of :mod:`romnet.fe.elements`:
  ``romnet.fe.SOLID_TYPES``: ``c3d4 ... c3d20``, their reduced variants, ``cpe* cps* cax*``). Local node order is romnet's
  (Abaqus/CalculiX order, see ``docs/conventions.md``); adapters permute into it.
* Elements are numbered 0..n_elements-1 across blocks in block order; element sets hold
  these indices. ``element_ids`` keeps the source ids.
* Face sets: for each face type (``t3 t6 q4 q8 l2 l3``) an array (n_faces, n_face_nodes)
  of node indices, ordered so the right-hand normal points out of the solid.
* ``partition`` (optional): (n_elements,) owning rank of every element.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError


@dataclass
class ElementBlock:
    """Elements of one type: ``connectivity`` (n_el, n_el_nodes) 0-based node indices."""

    etype: str
    connectivity: np.ndarray
    element_ids: np.ndarray

    def __post_init__(self):
        self.connectivity = np.asarray(self.connectivity, dtype=np.int64)
        self.element_ids = np.asarray(self.element_ids, dtype=np.int64)

    n_elements = property(lambda self: self.connectivity.shape[0], doc="elements of the block")


@dataclass
class Mesh:
    coordinates: np.ndarray
    node_ids: np.ndarray
    blocks: list = field(default_factory=list)
    node_sets: dict = field(default_factory=dict)
    element_sets: dict = field(default_factory=dict)
    face_sets: dict = field(default_factory=dict)  # name -> {face_type: (n_f, n_fn)}
    partition: np.ndarray | None = None

    def __post_init__(self):
        self.coordinates = np.asarray(self.coordinates, dtype=np.float64)
        self.node_ids = np.asarray(self.node_ids, dtype=np.int64)

    @property
    def dim(self) -> int:
        return self.coordinates.shape[1]

    @property
    def n_nodes(self) -> int:
        return self.coordinates.shape[0]

    @property
    def n_elements(self) -> int:
        return sum(b.n_elements for b in self.blocks)

    @property
    def element_types(self) -> list:
        return [b.etype for b in self.blocks]

    def block_offsets(self) -> np.ndarray:
        """(n_blocks+1,) first global element index of each block."""
        return np.concatenate([[0], np.cumsum([b.n_elements for b in self.blocks])]).astype(np.int64)

    def element_set(self, name: str) -> np.ndarray:
        """Global element indices of a set; ``ALL_ELEMENT`` is every element."""
        return _named_set(self.element_sets, name, ("ALL_ELEMENT", "ALL"), self.n_elements, "element")

    def node_set(self, name: str) -> np.ndarray:
        """Node indices of a set; ``ALL_NODE`` is every node."""
        return _named_set(self.node_sets, name, ("ALL_NODE", "ALL"), self.n_nodes, "node")

    def face_set(self, name: str) -> dict:
        if name in self.face_sets:
            return self.face_sets[name]
        raise InputError(f"unknown face set '{name}' (known: {sorted(self.face_sets)})")

    def validate(self, source=None):
        """Check indices are in range; raise InputError naming ``source`` otherwise."""
        n = self.n_nodes
        for b in self.blocks:
            c = b.connectivity
            if c.size and (c.min() < 0 or c.max() >= n):
                raise InputError(f"block {b.etype}: node index out of range", source)
        for kind, sets, bound in (("node set", self.node_sets, n),
                                  ("element set", self.element_sets, self.n_elements)):
            for name, idx in sets.items():
                idx = np.asarray(idx)
                if idx.size and (idx.min() < 0 or idx.max() >= bound):
                    raise InputError(f"{kind} '{name}': index out of range", source)
        for name, faces in self.face_sets.items():
            for ftype, conn in faces.items():
                if conn.size and (conn.min() < 0 or conn.max() >= n):
                    raise InputError(f"face set '{name}' ({ftype}): node index out of range", source)
        return self

    def summary(self) -> str:
        from collections import Counter
        counts = Counter()
        for b in self.blocks:
            counts[b.etype] += b.n_elements
        lines = [f"mesh: {self.n_nodes} nodes, {self.n_elements} elements, dim {self.dim}",
                 "  element types: " + ", ".join(f"{k} x{v}" for k, v in counts.items()),
                 f"  node sets ({len(self.node_sets)}): " + " ".join(sorted(self.node_sets)),
                 f"  element sets ({len(self.element_sets)}): " + " ".join(sorted(self.element_sets)),
                 f"  face sets ({len(self.face_sets)}): " + " ".join(sorted(self.face_sets))]
        return "\n".join(lines)


def _named_set(sets: dict, name: str, all_names, n: int, what: str) -> np.ndarray:
    """``sets[name]``, or every index 0..n-1 for the names meaning all (case-insensitive)."""
    if name in sets:
        return sets[name]
    if name.upper() in all_names:
        return np.arange(n)
    raise InputError(f"unknown {what} set '{name}' (known: {sorted(sets)})")
