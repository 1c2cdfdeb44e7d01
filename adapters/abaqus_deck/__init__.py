"""Abaqus-style keyword decks (``.inp``), shared by the CalculiX and Abaqus adapters.

* :mod:`.keywords` splits a deck into keyword blocks (``*NODE, NSET=ALL`` + data lines),
  follows ``*INCLUDE``, remembers file and line of everything;
* :mod:`.numeric` converts big blocks of comma-separated numbers at numpy speed, naming
  ``file:line`` of the first bad token;
* :mod:`.mesh` builds a :class:`romnet.mesh.Mesh` (``*NODE``, ``*ELEMENT``, ``*NSET``,
  ``*ELSET`` with ``GENERATE``, element-face ``*SURFACE``);
* :mod:`.problem` reads the problem definition (materials, sections, boundary conditions,
  pressures, centrifugal loads, temperatures, steps) into a :class:`romnet.problem.Problem`.
"""
from .keywords import Deck, Keyword, parse_deck
from .mesh import DeckMesh, build_mesh

__all__ = ["Deck", "DeckMesh", "Keyword", "build_mesh", "parse_deck"]
