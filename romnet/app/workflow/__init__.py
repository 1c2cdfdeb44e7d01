"""The steps of ``romnet run CASE_DIR`` (:mod:`romnet.app.runner`), one function per step.

=============  ==============  ==========================================================
step           table           does (output folder ``out/<name>/``, case store ``case.h5``)
=============  ==============  ==========================================================
import         [import]        an adapter reads ``path`` -> ``case.h5``
generate       [generate]      ``script``'s ``build_case(variant, seed)`` -> ``case.h5``;
                               its ``SAMPLER`` samples the training / Monte Carlo fields
info                           ``romnet info case.h5`` (:func:`romnet.summary.store_summary`)
verify-law                     the law re-integrated along the imported strains
hifi                           romnet's HF solver on the store's problem -> ``hifi.h5``
train          [training]      HF training family (:func:`romnet.offline.training.run_training`)
cluster        [offline]       global ROM + local ROMs + classifier
                               (:func:`romnet.offline.local_bases.run_clustering`)
offline        [offline]       global ROM (POD + ECM, :func:`romnet.offline.pipeline.run_offline`)
online         [online]        one ROM run on the store's loading (or ``loading``), or with
                               ``samples`` the Monte Carlo of
                               :func:`romnet.online.montecarlo.run_montecarlo` -> ``montecarlo.json``
cycles         [cycles]        :func:`romnet.app.cycles.run_cycle_extrapolation` -> ``cycles/``
report         [report]        ``report.md`` + PNG plots (:mod:`.report`)
=============  ==============  ==========================================================

Every MPI rank runs every step (the HF, offline and online functions are collective);
rank 0 prints and writes the JSON files and the report.
"""
from .context import Context
from .steps import STEPS

__all__ = ["Context", "STEPS"]
