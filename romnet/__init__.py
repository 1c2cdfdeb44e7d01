"""romnet: reduced-order models of nonlinear structural mechanics.

Layers: data model (:mod:`romnet.mesh`, :mod:`romnet.problem`, :mod:`romnet.snapshots`,
:mod:`romnet.case`), case store (:mod:`romnet.store`), FE kernel (:mod:`romnet.fe`),
constitutive laws (:mod:`romnet.materials`), offline stage (:mod:`romnet.offline`),
online stage (:mod:`romnet.online`). Importers of external codes live in the top-level
``adapters`` package and are found through :mod:`romnet.adapters` (entry points).
"""

__version__ = "0.1.0"
