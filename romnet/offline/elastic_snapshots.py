"""Thermo-elastic snapshots: cheap extra training snapshots for sampled temperature fields.

Why
---
With random temperature fields (a hot spot anywhere, a smooth perturbation) the thermal
part of the displacement varies much more than a few HF training runs can span: on the
small blade, the best approximation of new Monte Carlo samples by the POD basis of 3 HF
runs is 2-6e-2 relative at loaded outputs, and still 2.5e-3 with 40 runs
(``bench/blade_training_study.py``). The thermal part is (nearly) linear in the thermal
strain field, so it is spanned by **thermo-elastic** solutions: the same mesh, loads and
temperature-dependent elastic coefficients with plasticity switched off, one increment
from the start to the peak of the loading -- a linear problem (the temperature is
given), one or two Newton iterations of the HF solver: 48-56 s against 626 s for an HF
cycle on the 373k-DOF blade (2 ranks), 0.1 s against 0.9 s on the small one.

What
----
:func:`run_elastic_snapshots` (``[training] elastic = M``, after the HF runs) samples M
temperature fields with the training sampler (seed sequence ``(seed, i, 1)``: disjoint from
the HF runs' ``(seed, i)``), runs the HF solver once per field on the store's problem with
:func:`thermoelastic_material` instead of each material, from ``t0`` (the stepping's start)
to ``time`` (default :func:`peak_time`: the first key time of the temperature at which
its excess over ``t_ref`` is largest, i.e. the peak of the temperature cycle), and appends
series ``elastic_NNN`` (one output, fields U stress p plastic_strain: p and the plastic
strain are zero) to the store. ``/elastic_snapshots`` attributes record ``seed``,
``sampler``, ``time`` and ``n``; a series already complete with the same settings is
kept (resumable), different settings are refused.

The offline stage adds the ``elastic_*`` series to the snapshots of every ROM (global and
local; :func:`elastic_series`), not to the clustering criterion nor to the classifier
(they are not simulations of the cycle). Their stresses enter the ECM integrand like any
snapshot (the thermal stresses of new hot spots are then integrated by the ECM).
"""
from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .. import mpi
from ..errors import InputError
from ..problem import MaterialAssignment
from ..sampling import HotSpotSampler, key_scales, sample_parameters, temperature_field, with_temperature
from ..store import CaseStore, open_h5
from .training import TrainingSettings, canonical_attr, family_case, root_write, write_run_series

__all__ = ["PREFIX", "thermoelastic_material", "peak_time", "run_elastic_snapshots", "elastic_series"]

PREFIX = "elastic_"
FIELDS = ("U", "stress", "p", "plastic_strain")
#: yield threshold (MPa) that switches the viscoplastic flow off
NO_FLOW_R0 = 1e30


def series_name(i: int) -> str:
    return f"{PREFIX}{i:03d}"


def thermoelastic_material(spec: dict) -> dict:
    """Copy of a material description whose inelastic flow never starts: ``gen_evp`` keeps its
    elasticity, thermal strain and density, with a constant isotropic threshold R0 =
    :data:`NO_FLOW_R0` (so p and the plastic strain stay 0 and the law's outputs are the
    training runs' ones); ``elastic`` is returned unchanged."""
    law = spec.get("law")
    if law == "elastic":
        return copy.deepcopy(spec)
    if law != "gen_evp":
        raise InputError(f"thermo-elastic snapshots: material law {law!r} is not supported "
                         "(elastic, gen_evp)")
    out = copy.deepcopy(spec)
    out["isotropic"] = {"type": "constant", "R0": NO_FLOW_R0}
    out["name"] = f"{spec.get('name', 'material')} (thermo-elastic part)"
    return out


def peak_time(problem, t_ref: float) -> float:
    """First key time of the problem's temperature with the largest excess over ``t_ref``
    (the end of the stepping when the problem has no temperature)."""
    t = np.asarray(problem.stepping.times, dtype=float)
    base = problem.temperature
    if base is None or np.asarray(base.times).size < 2:
        return float(t[-1])
    s = key_scales(base, t_ref)
    return float(np.asarray(base.times, dtype=float)[int(np.argmax(s))])


def elastic_series(store) -> list:
    """Names of the complete ``elastic_NNN`` series of ``store`` (sorted; [] if none)."""
    with CaseStore.opened(store) as st:
        return sorted(n for n in st.series_names() if n.startswith(PREFIX) and st.n_complete(n) > 0)


def _settings_check(f, attrs, store):
    g = f.require_group("elastic_snapshots")
    for key, val in attrs.items():
        if key in g.attrs and key != "n":
            old = g.attrs[key]
            old = old.item() if isinstance(old, np.generic) else old
            if canonical_attr(key, old) != canonical_attr(key, val):
                raise InputError(f"the store's thermo-elastic snapshots have {key} {old}, asked {val}; "
                                 "delete /elastic_snapshots and the elastic_* series to change it", store)
    for key, val in attrs.items():
        g.attrs[key] = val
    g.attrs["format"] = "romnet-elastic-snapshots"


def run_elastic_snapshots(store, n, seed=TrainingSettings.seed, sampler: HotSpotSampler | None = None, at_time=None,
                          fields=FIELDS, options=None, comm=None, progress=print) -> dict:
    """Append ``n`` thermo-elastic snapshots to ``store`` (module docstring). Collective.
    ``fields``: the stored fields (those of the training runs: the offline stage reads the
    same fields from every series).

    Returns {'series', 'ran', 'skipped', 'time', 'wall_time' (per run, s)}."""
    from ..hifi import SolverOptions, hf_outputs

    comm = comm or mpi.comm()
    root = comm.Get_rank() == 0
    say = progress if (root and progress) else (lambda *a, **k: None)
    store = Path(store)
    n = int(n)
    if n < 0:
        raise InputError(f"number of thermo-elastic snapshots must be >= 0 (got {n})", store)
    mesh, problem, have = family_case(store, comm, elastic_series)
    sampler = sampler or HotSpotSampler(dim=mesh.dim)
    t_start = float(np.asarray(problem.stepping.times, dtype=float)[0])
    t_snap = peak_time(problem, sampler.t_ref) if at_time is None else float(at_time)
    if not t_snap > t_start:
        raise InputError(f"thermo-elastic snapshot time {t_snap:g} s must be after the start "
                         f"{t_start:g} s of the stepping", store)
    problem.materials = [MaterialAssignment(m.element_set, thermoelastic_material(m.spec),
                                            source=f"{m.source} (thermo-elastic part)")
                         for m in problem.materials]
    problem.stepping.times = np.array([t_start, t_snap])
    problem.stepping.cycles = 1
    attrs = dict(seed=int(seed), sampler=json.dumps(asdict(sampler), sort_keys=True), time=t_snap)

    def check():
        with open_h5(store) as f:
            _settings_check(f, attrs, store)
    root_write(comm, check, f"{store}: /elastic_snapshots", InputError)
    opts = options or SolverOptions(verbose=False)
    report = dict(series=[series_name(i) for i in range(n)], ran=[], skipped=[], time=t_snap, wall_time=[])
    if n:
        say(f"romnet train: {n} thermo-elastic snapshot(s) at t = {t_snap:g} s (plasticity off, "
            f"one increment each, seeds ({seed}, i, 1))")
    for i in range(n):
        name = series_name(i)
        if name in have:
            report["skipped"].append(name)
            continue
        params = sample_parameters([int(seed), i, 1], sampler)
        T = temperature_field(mesh.coordinates, params)
        pb = with_temperature(problem, T, sampler.t_ref)
        run = hf_outputs(mesh, pb, [t_start, t_snap], list(fields), comm, opts)

        def write():
            with open_h5(store) as f:
                write_run_series(f, name, i, [t_snap], {k: v[1:] for k, v in run.fields.items()}, mesh.dim,
                                 run.state_names)
                f[f"results/{name}"].attrs["source"] = "romnet train (thermo-elastic snapshot)"
                f["elastic_snapshots"].attrs["n"] = max(n, int(f["elastic_snapshots"].attrs.get("n", 0)))
        root_write(comm, write, f"{store}: writing {name}")
        report["ran"].append(name)
        report["wall_time"].append(run.wall_time)
        say(f"  [{i + 1}/{n}] {name}: T {T.min():.0f}..{T.max():.0f}, {run.iterations} Newton "
            f"iteration(s), {run.wall_time:.2f} s")
    return report
