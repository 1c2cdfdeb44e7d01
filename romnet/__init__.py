"""romnet: reduced-order models of nonlinear structural mechanics.

The objects a script needs, loaded on first use (PEP 562 ``__getattr__``: ``import
romnet`` loads neither PETSc, MPI nor h5py)::

    import romnet
    case = romnet.import_case("zset", "cube.ut")        # an external code's files (adapter registry)
    store = romnet.write_case("cube.h5", case)          # the case store (HDF5)
    romnet.run_hifi(store, "cube-hifi.h5")              # romnet's HF solver on the deck
    romnet.build_rom(store)                             # offline: POD + ECM -> /rom
    res = romnet.load_rom(store).run()                  # online: the ROM on a loading

=======================  ===========================================================
name                     what (module)
=======================  ===========================================================
``CaseStore``            read a case store: mesh, problem, series, slices (``store``)
``write_case``           write a :class:`Case` as a store, atomically (``store``)
``import_case``          ``(code, path) -> Case`` through the adapter registry
                         (``adapters``; ``list_adapters()`` names them)
``Case``, ``Mesh``,      the data model: a case, its mesh, its problem definition and
``Problem`` & friends    its parts (``MaterialAssignment``, ``Dirichlet``, ``Pressure``,
                         ``Centrifugal``, ``Temperature``, ``TimeStepping``,
                         ``TimeTable``; ``case``, ``mesh``, ``problem``)
``HFSolver``,            the HF solver (time loop ``HFSolver.outputs``), its options,
``SolverOptions``,       one run into a store, one run's outputs in memory, per-output
``run_hifi``,            relative errors of two stores (``hifi``)
``hf_outputs``,
``compare_stores``
``run_training``         an HF training family of sampled temperatures (``offline.training``)
``build_rom``            the offline stage: POD, ECM, QDEIM, operators -> ``/rom``
                         (``offline.pipeline.run_offline``)
``run_clustering``       local ROMs + classifier (``offline.local_bases``)
``load_rom``             the online ROM: ``load_rom(store).run(loading)`` (``online``)
``run_montecarlo``       ROM runs over sampled temperatures with HF references
                         (``online.montecarlo``)
``HotSpotSampler``       the temperature sampler (``sampling``)
``relative_errors``      the per-output relative error with a floor (``metrics``)
``store_summary``        the text of ``romnet info`` (``summary``)
=======================  ===========================================================

Layers and their rule: ``docs/architecture.md`` (data model and case store -> FE kernel and
laws -> HF solver -> offline -> online -> application, ``romnet.app``: command line and
``romnet run``). Importers of external codes live in the top-level ``adapters`` package and
are found through :mod:`romnet.adapters` (entry points).
"""
from importlib import import_module

__version__ = "0.1.0"

#: top-level name -> (module, attribute), imported on first access
_LAZY = {
    "CaseStore": ("romnet.store", "CaseStore"),
    "write_case": ("romnet.store", "write_case"),
    "import_case": ("romnet.adapters", "import_case"),
    "list_adapters": ("romnet.adapters", "list_adapters"),
    "Case": ("romnet.case", "Case"),
    "Mesh": ("romnet.mesh", "Mesh"),
    "Problem": ("romnet.problem", "Problem"),
    "MaterialAssignment": ("romnet.problem", "MaterialAssignment"),
    "Dirichlet": ("romnet.problem", "Dirichlet"),
    "Pressure": ("romnet.problem", "Pressure"),
    "Centrifugal": ("romnet.problem", "Centrifugal"),
    "Temperature": ("romnet.problem", "Temperature"),
    "TimeStepping": ("romnet.problem", "TimeStepping"),
    "TimeTable": ("romnet.problem", "TimeTable"),
    "HFSolver": ("romnet.hifi", "HFSolver"),
    "SolverOptions": ("romnet.hifi", "SolverOptions"),
    "run_hifi": ("romnet.hifi", "run_hifi"),
    "hf_outputs": ("romnet.hifi", "hf_outputs"),
    "compare_stores": ("romnet.hifi", "compare_stores"),
    "run_training": ("romnet.offline.training", "run_training"),
    "build_rom": ("romnet.offline.pipeline", "run_offline"),
    "run_clustering": ("romnet.offline.local_bases", "run_clustering"),
    "load_rom": ("romnet.online.api", "load_rom"),
    "run_montecarlo": ("romnet.online.montecarlo", "run_montecarlo"),
    "HotSpotSampler": ("romnet.sampling", "HotSpotSampler"),
    "relative_errors": ("romnet.metrics", "relative_errors"),
    "store_summary": ("romnet.summary", "store_summary"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'romnet' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
