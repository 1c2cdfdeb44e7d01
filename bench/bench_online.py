"""Online time per increment vs mesh size (same ROM size), and speed-up vs the HF solver.

Issue 6 acceptance: the same ROM size (displacement modes and reduced points) on two box
meshes of ~20k and ~200k DOF; online time per increment on each (goal: ratio <= 1.2) and the
speed-up vs romnet's HF solver on the larger one (goal >= 500x at <= 1e-3 U error).

Case (both meshes): unit cube, c3d8, x0 face fixed in x (plus two points for rigid
motions); gen_evp (Norton flow, linear kinematic and constant isotropic hardening, every
coefficient temperature dependent, 20..1000 degrees); loads ramped over t in [0, 10]:

* temperature: two Gaussian hot spots (``romnet.sampling.temperature_field``, fixed
  centres and widths), amplitudes A1, A2 in [200, 300] degrees above 20;
* pressure P in [80, 120] on face x1 (table ``load``);
* centrifugal load about the z axis (fixed).

Training: 9 HF runs (romnet.hifi, 2 increments each, Newton ratio 1e-5) at the 8 corners
and the centre of the (A1, A2, P) box (``--runs 5``: 4 alternate corners, a tetrahedron
containing the validation point, and the centre), concatenated into one series ``train`` of a case store. Offline
(run_offline): POD of U capped at ``--modes``, dual basis of p only, ECM with a tolerance
too small to be reached so it stops at ``--points`` (no QDEIM extras): both meshes get
exactly the same ROM size. Validation: a NEW loading inside the training box
(A1 = 270, A2 = 230, P = 107.5), written to its own case store; HF reference run of it (same
increments, same HF settings as training); ROM run ``load_rom(store).run(test_store)``.

Timings (one process, ``OMP_NUM_THREADS=1`` advised):

* ROM per increment: median over increments (and over ``--repeat`` runs after one warm-up)
  of ``OnlineResult.seconds``, i.e. ``ReducedSolver.step``: the temperature of the loading
  at the reduced points at time t (time interpolation of the key fields at the points),
  external forces, law at the points, reduced Newton; not included: reading the loading
  (only the nodes the points need) and the solver setup (interpolation of the nodal key
  fields to the points), which are reported separately (``setup``: wall time of
  ``rom.run`` minus the increments);
* HF per increment: median over the same increments of ``HFSolver.step`` on the
  validation loading (Newton with assembly and linear solves; PETSc CG+GAMG above 20k DOF);
  setup and output gathering excluded;
* speed-up = HF median / ROM median (per increment); also given: HF steps total / ROM
  ``rom.run`` wall time (loading read and setup included).

usage: OMP_NUM_THREADS=1 python bench/bench_online.py [--sizes 20k,200k] [--quick]
       [--runs 9] [--modes 18] [--points 170] [--repeat 3] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from romnet.case import Case
from romnet.hifi import HFSolver, SolverOptions
from romnet.meshing import box
from romnet.offline.pipeline import run_offline
from romnet.offline.training import write_run_series
from romnet.online import load_rom
from romnet.problem import (Centrifugal, Dirichlet, MaterialAssignment, Pressure, Problem, Temperature,
                            TimeStepping, TimeTable)
from romnet.sampling import temperature_field
from romnet.store import open_h5, write_case

T_REF = 20.0
T_END = 10.0


def C(a, b):
    return {"temperature": [T_REF, 1000.0], "value": [a, b]}


SPEC = {"law": "gen_evp", "density": 7.8e-9, "elasticity": {"young": C(2e5, 1.5e5), "poisson": 0.3},
        "thermal_strain": {"alpha": C(1.2e-5, 1.6e-5), "ref_temperature": T_REF},
        "flow": {"type": "norton", "K": C(150.0, 80.0), "n": C(8.0, 6.0)},
        "kinematic": {"type": "linear", "C": C(2e4, 1e4)},
        "isotropic": {"type": "constant", "R0": C(200.0, 60.0)}}

# hot spots (romnet.sampling parameters; coordinates normalised to the bounding box)
SPOTS = [dict(center=[0.75, 0.3, 0.5], width=0.12), dict(center=[0.35, 0.7, 0.5], width=0.15)]
# (A1, A2, P): training at 4 alternate corners of the box (a tetrahedron containing the
# validation point) and its centre; validation inside (barycentric coordinates all > 0.1)
# (--runs 9 adds the 4 other corners)
TRAIN = [(200.0, 200.0, 80.0), (300.0, 200.0, 120.0), (200.0, 300.0, 120.0), (300.0, 300.0, 80.0),
         (250.0, 250.0, 100.0), (300.0, 200.0, 80.0), (200.0, 300.0, 80.0), (200.0, 200.0, 120.0),
         (300.0, 300.0, 120.0)]
TEST = (270.0, 230.0, 107.5)
SIZES = {"20k": 18, "200k": 40}   # cells per direction: 19^3 * 3 = 20577, 41^3 * 3 = 206763 DOF
QUICK_SIZES = {"20k": 10, "200k": 20}


def temperature(x, a1, a2):
    T = np.full(x.shape[0], T_REF)
    for spot, amp in zip(SPOTS, (a1, a2)):
        par = dict(t_ref=0.0, center=spot["center"], amplitude=amp, width=spot["width"], smooth=0.0,
                   waves=[[1, 0, 0]], coefficients=[0.0])
        T += temperature_field(x, par)
    return T


def problem(mesh, a1, a2, pressure, n_inc):
    T = temperature(mesh.coordinates, a1, a2)
    return Problem(materials=[MaterialAssignment("ALL", SPEC)],
                   dirichlet=[Dirichlet("x0", 0, 0.0), Dirichlet("x0y0", 1, 0.0),
                              Dirichlet("x0y0z0", 2, 0.0)],
                   pressure=[Pressure("x1", float(pressure), "load")],
                   centrifugal=[Centrifugal("ALL", [0.0, -0.5, 0.0], [0.0, 0.0, 1.0], 1e8, "load")],
                   temperature=Temperature(np.array([0.0, T_END]), np.stack([np.full_like(T, T_REF), T])),
                   tables={"load": TimeTable("load", [0.0, T_END], [0.0, 1.0])},
                   stepping=TimeStepping(np.linspace(0.0, T_END, n_inc + 1), ratio=1e-5))


def hf_run(mesh, pb, fields=("U", "stress", "p")):
    """HF run: (outputs per time, seconds per increment, Newton iterations per increment,
    law state names)."""
    solver = HFSolver(mesh, pb, options=SolverOptions(verbose=False))
    outs, secs, its = [], [], []
    t0 = time.perf_counter()
    for state, info in solver.outputs():
        if info is not None:
            secs.append(time.perf_counter() - t0)
            its.append(info.iterations)
        outs.append(solver.output_fields(state, fields))
        t0 = time.perf_counter()
    return outs, secs, its, solver.model.state_names


def one_size(label, n, args, out: Path, say):
    mesh = box("c3d8", n)
    dof = mesh.n_nodes * 3
    n_inc = args.increments
    train = TRAIN[:args.runs]
    say(f"[{label}] mesh {n}^3 c3d8: {mesh.n_nodes} nodes, {dof} DOF; {len(train)} training runs "
        f"x {n_inc} increments")
    store = write_case(out / f"rom{label}.h5", Case(mesh, problem(mesh, *TEST, n_inc), {}, {"code": "bench"}))
    test = write_case(out / f"test{label}.h5", Case(mesh, problem(mesh, *TEST, n_inc), {}, {"code": "bench"}))
    # ---------------------------------------------------------------- training
    t0 = time.perf_counter()
    snaps, model = [], None
    for r, (a1, a2, p) in enumerate(train):
        outs, secs, its, model = hf_run(mesh, problem(mesh, a1, a2, p, n_inc))
        snaps.extend(outs if r == 0 else outs[1:])   # one zero snapshot is enough
        say(f"  training run {r + 1}/{len(train)} (A1 {a1:g}, A2 {a2:g}, P {p:g}): {sum(its)} Newton "
            f"iterations, {sum(secs):.1f} s")
    t_train = time.perf_counter() - t0
    with open_h5(store) as f:
        write_run_series(f, "train", 0, np.arange(len(snaps), dtype=float),
                         {k: np.stack([o[k] for o in snaps]) for k in ("U", "stress", "p")}, mesh.dim, model)
    del snaps
    # ---------------------------------------------------------------- HF reference
    outs, hf_secs, hf_its, _ = hf_run(mesh, problem(mesh, *TEST, n_inc), fields=("U",))
    Uh = np.stack([o["U"] for o in outs])
    del outs
    np.save(out / f"Uhf_{label}.npy", Uh)
    say(f"  HF reference: {sum(hf_its)} Newton iterations, {sum(hf_secs):.1f} s "
        f"({', '.join(f'{s:.2f}' for s in hf_secs)} s per increment)")
    # ---------------------------------------------------------------- offline
    t0 = time.perf_counter()
    rep = run_offline(store, {"series": "train", "pod_tol": 1e-10, "pod_max_modes": args.modes,
                              "dual_fields": ["p"], "dual_max_modes": 8, "ecm_tol": 1e-9,
                              "ecm_max_points": args.points, "qdeim_fields": []}, progress=None)
    t_off = time.perf_counter() - t0
    say(f"  offline: {rep['modes']['U']} U modes (POD error {rep['pod_relative_error']['U']:.1e}), "
        f"{rep['n_points']} points (ECM error {rep['ecm_error']:.1e}), {t_off:.1f} s")
    # ---------------------------------------------------------------- online
    rom = load_rom(store)
    rom.run(test)  # warm-up (imports, caches)
    steps, walls = [], []
    for _ in range(args.repeat):
        res = rom.run(test)
        steps.extend(res.seconds)
        walls.append(res.wall_time)
    U = res.U()
    err = max(np.linalg.norm(U[i] - Uh[i]) / np.linalg.norm(Uh[i]) for i in range(1, len(U)))
    per_inc = float(np.median(steps))
    hf_per_inc = float(np.median(hf_secs))
    wall = float(np.median(walls))
    return dict(label=label, n=n, dof=dof, modes=res.model.n_modes, points=res.model.n_points,
                per_inc=per_inc, iters=float(np.mean(res.iterations)),
                setup=wall - sum(res.seconds), wall=wall, n_inc=n_inc,
                hf_per_inc=hf_per_inc, hf_total=float(sum(hf_secs)), hf_iters=float(np.mean(hf_its)),
                speedup=hf_per_inc / per_inc, speedup_wall=float(sum(hf_secs)) / wall, err=err,
                t_train=t_train, t_offline=t_off, pod_err=rep["pod_relative_error"]["U"],
                ecm_err=rep["ecm_error"])


def interleaved(out: Path, labels, repeat, say):
    """Time the stored ROMs of every size again, runs interleaved (same machine load for
    all sizes): {label: median seconds per increment}."""
    roms = {lab: (load_rom(out / f"rom{lab}.h5"), out / f"test{lab}.h5") for lab in labels}
    for rom, test in roms.values():
        rom.run(test)  # warm-up
    secs = {lab: [] for lab in roms}
    for _ in range(max(3, 2 * repeat)):
        for lab, (rom, test) in roms.items():
            secs[lab].extend(rom.run(test).seconds)
    med = {lab: float(np.median(v)) for lab, v in secs.items()}
    for lab, (rom, _) in roms.items():
        say(f"interleaved: {lab}: {rom.model.n_modes} modes, {rom.model.n_points} points: median "
            f"{1e3 * med[lab]:.2f} ms/increment over {len(secs[lab])} increments (min "
            f"{1e3 * min(secs[lab]):.2f}, max {1e3 * max(secs[lab]):.2f})")
    return med


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20k,200k", help="comma-separated among 20k, 200k")
    ap.add_argument("--quick", action="store_true", help="smaller meshes (~4k, ~28k DOF)")
    ap.add_argument("--modes", type=int, default=18, help="displacement POD modes (cap)")
    ap.add_argument("--points", type=int, default=170, help="reduced integration points (ECM cap)")
    ap.add_argument("--runs", type=int, default=None, help="training runs (default 9, max 9; 5: tetrahedron + centre)")
    ap.add_argument("--increments", type=int, default=None, help="increments per run")
    ap.add_argument("--repeat", type=int, default=3, help="timed online runs (after one warm-up)")
    ap.add_argument("--out", default="bench_online_out")
    ap.add_argument("--timing-only", action="store_true",
                    help="only the interleaved online timing of the ROMs already in --out")
    args = ap.parse_args()
    args.runs = args.runs or 9
    args.increments = args.increments or 2
    sizes = QUICK_SIZES if args.quick else SIZES
    labels = [s.strip() for s in args.sizes.split(",") if s.strip()]
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    say = lambda *a: print(*a, flush=True)  # noqa: E731
    if args.timing_only:
        rows = json.loads((out / "bench_online.json").read_text())
        med = interleaved(out, labels, args.repeat, say)
        a, b = rows[0], rows[-1]
        say(f"interleaved ratio {b['label']}/{a['label']} = {med[b['label']] / med[a['label']]:.2f} (goal <= 1.2); "
            f"speed-up vs HF on {b['label']}: {b['hf_per_inc'] / med[b['label']]:.0f}x per increment")
        return
    rows = [one_size(lab, sizes[lab], args, out, say) for lab in labels]
    say("")
    say(f"{'mesh':>6} {'DOF':>8} {'modes':>5} {'points':>6} {'ROM ms/inc':>10} {'ROM it/inc':>10} "
        f"{'ROM setup s':>11} {'HF s/inc':>9} {'HF it/inc':>9} {'speed-up':>9} {'(wall)':>8} {'U error':>9}")
    for r in rows:
        say(f"{r['label']:>6} {r['dof']:>8} {r['modes']:>5} {r['points']:>6} {1e3 * r['per_inc']:>10.2f} "
            f"{r['iters']:>10.1f} {r['setup']:>11.3f} {r['hf_per_inc']:>9.2f} {r['hf_iters']:>9.1f} "
            f"{r['speedup']:>8.0f}x {r['speedup_wall']:>7.0f}x {r['err']:>9.2e}")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        same = (a["modes"], a["points"]) == (b["modes"], b["points"])
        say(f"ROM size {'identical' if same else 'DIFFERENT'} on both meshes; online time per increment "
            f"ratio {b['label']}/{a['label']} = {b['per_inc'] / a['per_inc']:.2f} (goal <= 1.2)")
    big = rows[-1]
    say(f"speed-up vs HF on {big['label']} ({big['dof']} DOF): {big['speedup']:.0f}x per increment "
        f"(goal >= 500x) at U error {big['err']:.2e} (goal <= 1e-3)")
    (out / "bench_online.json").write_text(json.dumps(rows, indent=1))
    if len(rows) >= 2:  # the sizes were timed minutes apart: time them again, interleaved
        med = interleaved(out, labels, args.repeat, say)
        say(f"interleaved ratio {b['label']}/{a['label']} = {med[b['label']] / med[a['label']]:.2f} "
            f"(goal <= 1.2); speed-up vs HF on {b['label']}: {b['hf_per_inc'] / med[b['label']]:.0f}x")


if __name__ == "__main__":
    main()
