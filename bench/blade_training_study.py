"""How many HF training runs does the blade need? Best-approximation error of the POD basis.

For the small blade (cases/blade, 3 582 DOF) this script runs ``--max-train`` HF training
runs (sampled temperature fields, seeds (1, i), 8 equal increments as cases/blade/case.toml)
and ``--tests`` new Monte Carlo samples (seeds (1000, i), the problem's 16 increments, as
the blade's Monte Carlo), then for every family size n in ``--train`` and POD tolerance in
``--tol`` prints the relative error of the **orthogonal projection** of the test samples'
displacements on the POD basis of the first n runs:

* ``loaded``: outputs 1..12 (ramp-up and hold, t <= 110 s), max and median over the tests;
* ``unloaded``: the last output (t = 120 s: residual displacement after the cycle), max
  and median;
* ``space-time``: sqrt(sum_k ||e_k||^2 / sum_k ||U_k||^2) over all outputs, max over tests.

and the same for the cumulated plastic strain ``p`` (integration points) on the POD basis
of the training runs' ``p`` snapshots (same tolerance): max and median over every output of
every test, and at the last output (the p field left by the cycle).

Per-output errors are ``||e_k|| / max(||U_k||, 1e-2 max_j ||U_j||)`` (the definition of
``romnet compare`` and of the blade report; the same with p). The projection error is a lower bound of the
error of any Galerkin ROM in that basis (hyper-reduction and the reduced Newton solve add
to it): if it is above a target, no ROM built from that family can meet the target.

``--elastic M`` adds M one-increment thermo-elastic snapshots (the same loads at their
peak, t = 10 s, sampled temperatures of seeds (2, i), plasticity switched off by a huge
yield stress R0): cheap linear solves that span the thermal part of the displacement.

    python bench/blade_training_study.py [--train 3 10 20 40] [--tests 4] [--tol 1e-3 1e-4]
        [--elastic 0] [--center LO1 LO2 LO3 HI1 HI2 HI3] [--amplitude MIN MAX]

``--center`` / ``--amplitude`` narrow the case's sampler (hot-spot centres in a sub-box of the
normalised bounding box, amplitude range): how much a narrower uncertainty model helps.

Euclidean POD (SVD of the nodal displacement snapshots; the mesh is nearly uniform).
Run time on one core: ~1 s per training run, ~1.5 s per test sample.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LOADED = slice(0, 12)     # outputs 1..12 (t = 2.5 .. 110 s) of the 16-increment stepping, 0-based


def hf_displacements(mesh, problem, times, comm):
    """((n_out, n_dof) HF displacements, (n_out, n_ip) cumulated plastic strain p) at
    ``times[1:]`` (serial run)."""
    from romnet.hifi import HFSolver, SolverOptions
    solver = HFSolver(mesh, problem, comm=comm, options=SolverOptions(verbose=False))
    state = solver.initial_state()
    out, p = [], []
    for t in np.asarray(times, dtype=float)[1:]:
        state, _ = solver.step(state, float(t))
        fields = solver.output_fields(state)
        out.append(np.asarray(fields["U"], dtype=float)[:, :mesh.dim].ravel())
        p.append(np.asarray(fields["p"], dtype=float).ravel())
    solver.close()
    return np.asarray(out), np.asarray(p)


def pod_basis(snapshots, tol):
    """Orthonormal POD basis (n_dof, k): smallest k with relative RMS error <= tol."""
    X = np.vstack(snapshots).T
    u, s, _ = np.linalg.svd(X, full_matrices=False)
    energy = np.cumsum(s ** 2) / np.sum(s ** 2)
    err = np.sqrt(np.maximum(0.0, 1.0 - energy))
    return u[:, :int(np.argmax(err <= tol)) + 1]


def errors(Q, U):
    """(per-output relative errors (n_out,), space-time relative error) of the projection."""
    from romnet.online.montecarlo import relative_errors
    P = (Q @ (Q.T @ U.T)).T
    return relative_errors(P, U), float(np.linalg.norm(P - U) / np.linalg.norm(U))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", type=int, nargs="+", default=[3, 10, 20, 40])
    ap.add_argument("--tests", type=int, default=4)
    ap.add_argument("--tol", type=float, nargs="+", default=[1e-3, 1e-4])
    ap.add_argument("--elastic", type=int, default=0)
    ap.add_argument("--center", type=float, nargs=6, metavar=("LO1", "LO2", "LO3", "HI1", "HI2", "HI3"),
                    help="hot-spot centres in this sub-box of normalised coordinates (default: the whole box)")
    ap.add_argument("--amplitude", type=float, nargs=2, metavar=("MIN", "MAX"),
                    help="hot-spot amplitude range, degC (default: the case's)")
    a = ap.parse_args(argv)
    from mpi4py import MPI

    from romnet.problem import MaterialAssignment
    from romnet.sampling import sample_parameters, temperature_field, with_temperature
    from romnet.app.workflow.context import load_script
    comm = MPI.COMM_SELF
    blade = load_script(REPO / "cases" / "blade" / "problem.py")
    case = blade.build_case("small", 0)
    mesh, problem, sampler = case.mesh, case.problem, blade.SAMPLER
    if a.center:
        sampler = dataclasses.replace(sampler, center=(tuple(a.center[:3]), tuple(a.center[3:])))
    if a.amplitude:
        sampler = dataclasses.replace(sampler, amplitude=tuple(a.amplitude))
    print(f"sampler: {sampler}")

    def field(seed):
        return temperature_field(mesh.coordinates, sample_parameters(seed, sampler))
    t_train = np.linspace(blade.CYCLE[0], blade.CYCLE[-1], 9)
    t0 = time.perf_counter()
    train = []
    for i in range(max(a.train)):
        train.append(hf_displacements(mesh, with_temperature(problem, field([1, i]), sampler.t_ref), t_train, comm))
        print(f"  training run {i + 1}/{max(a.train)}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    elastic = []
    if a.elastic:
        el = copy.deepcopy(problem)
        mat = copy.deepcopy(blade.MATERIAL)
        mat["isotropic"]["R0"]["value"] = [1e7] * len(mat["isotropic"]["R0"]["value"])
        el.materials = [MaterialAssignment("ALL", mat, source="thermo-elastic snapshot")]
        for i in range(a.elastic):
            elastic.append(hf_displacements(mesh, with_temperature(el, field([2, i]), sampler.t_ref),
                                            [0.0, blade.CYCLE[1]], comm)[0])
        print(f"  {a.elastic} thermo-elastic snapshots ({time.perf_counter() - t0:.0f} s)", flush=True)
    tests = [hf_displacements(mesh, with_temperature(problem, field([1000, i]), sampler.t_ref),
                              blade.TIMES, comm) for i in range(a.tests)]
    print(f"  {a.tests} test samples ({time.perf_counter() - t0:.0f} s)\n")
    print(f"Projection error of {a.tests} new samples on the POD basis of n training runs"
          + (f" (+ {a.elastic} thermo-elastic snapshots)" if a.elastic else "") + f"; {mesh.n_nodes * 3} DOF\n")
    print("| runs n | POD tol | U modes | U loaded max | U loaded median | U unloaded max | U unloaded median "
          "| U space-time max | p modes | p max | p median | p last output max | p last output median |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    families = [(n, train[:n]) for n in a.train] + ([("elastic only", [])] if a.elastic else [])
    for n, fam in families:
        for tol in a.tol:
            Q = pod_basis([U for U, _ in fam] + elastic, tol)
            per, st = zip(*(errors(Q, U) for U, _ in tests))
            per = np.asarray(per)          # (tests, 16): outputs 1..16 (the zero initial state left out)
            loaded, final = per[:, LOADED], per[:, -1]
            p_cols = "| - | - | - | - | - |"
            if fam:
                P = pod_basis([p for _, p in fam], tol)
                pe = np.asarray([errors(P, p)[0] for _, p in tests])       # (tests, outputs)
                last = pe[:, -1]
                pe = pe[np.isfinite(pe)]
                p_cols = (f"| {P.shape[1]} | {pe.max():.1e} | {np.median(pe):.1e} | {np.nanmax(last):.1e} | "
                          f"{np.nanmedian(last):.1e} |")
            print(f"| {n} | {tol:g} | {Q.shape[1]} | {loaded.max():.1e} | {np.median(loaded):.1e} | "
                  f"{final.max():.1e} | {np.median(final):.1e} | {max(st):.1e} " + p_cols)
    print(f"\n{time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
