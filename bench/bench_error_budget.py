"""Error budget of a ROM on held-out samples: hyper-reduction vs Galerkin projection vs basis.

    python bench/bench_error_budget.py                       # out/blade/case.h5 (the main job's learned ROM)
    python bench/bench_error_budget.py --store out/bench_learning_small/case.h5 --samples 0,3
    OMP_NUM_THREADS=1 mpirun -n 2 python bench/bench_error_budget.py     # L2 only (strain norms: 1 rank)

For each held-out sample (temperature seeds ``(seed, i)``, as the Monte Carlo's held-out
samples) the relative U error per output (:func:`romnet.metrics.relative_errors`, floored at
1e-2 of the largest output) of three approximations of the HF solution, all in the ROM's
current U basis Phi:

* ``rom``: the hyper-reduced ROM (its ECM points and weights), frozen;
* ``full``: the same Galerkin ROM with the full quadrature of the mesh
  (:meth:`romnet.online.enrichment.Enricher.full_quadrature`: every integration point);
* ``proj``: the L2 projection of the HF displacement onto Phi (the best the basis can do
  in the norm of the error);
* on 1 rank also the same three in the strain norm (:class:`romnet.offline.pod.StrainL2`,
  the norm a Galerkin ROM is accurate in): the ROM's and the strain-norm projection's.

``rom`` - ``full`` is the error of the hyper-reduction, ``full`` / ``proj`` how far the
Galerkin projection of the nonlinear (plastic) problem is from the best approximation. With
the indicators' values per increment (``eta_p``, ``eta_stress``): which errors they see.
Prints one table per sample, then the loaded-output medians / maxima; last line
``key=value`` pairs. Mesh-sized (a diagnostic: the full-quadrature ROM integrates the law at
every point and its operators are replicated on every rank): the small blade takes about a
minute per sample; on the medium blade (51k DOF) building it exceeded the 24 GB of this
machine (2 ranks), so only small meshes.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=str(REPO / "out" / "blade" / "case.h5"), help="case store with a ROM")
    ap.add_argument("--case", default=str(REPO / "cases" / "blade"),
                    help="case directory whose generator script's SAMPLER samples the temperatures")
    ap.add_argument("--samples", default="0,1,2,3", help="held-out sample indices (comma-separated)")
    ap.add_argument("--seed", type=int, default=None, help="held-out seed (default: the case's online.holdout_seed)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from romnet import mpi
    from romnet.app.config import load_case_config
    from romnet.app.workflow.context import load_script
    from romnet.online.api import load_rom
    from romnet.online.montecarlo import hf_reference, loaded_outputs, relative_errors, rom_fields, solver_options
    from romnet.online.settings import OnlineSettings
    from romnet.sampling import sampled_problem
    from romnet.settings import defaults
    from romnet.store import CaseStore

    comm = mpi.comm()
    root = comm.Get_rank() == 0
    say = print if root else (lambda *a, **k: None)
    cfg = load_case_config(args.case)
    sampler = load_script(Path(args.case) / cfg["generate"]["script"]).SAMPLER
    on = {**{k: v for k, v in defaults(OnlineSettings).items() if v is not None}, **cfg.get("online", {})}
    seed = int(args.seed if args.seed is not None else on["holdout_seed"])
    with CaseStore(args.store) as st:
        mesh, problem = st.mesh(), st.problem()
    rom = load_rom(args.store, comm)
    model = rom.models[0]
    t0 = time.perf_counter()
    full = rom.enricher(None, None).full_quadrature(model, dual=False)    # U only: the indicators are the ROM's
    say(f"{model.summary()}\nfull quadrature: {full.n_points} points ({time.perf_counter() - t0:.1f} s to build)")
    Phi = model.modes() if root else None
    strain = S_phi = None
    if comm.Get_size() == 1:                         # strain norms: this rank's rows are the whole mesh
        from romnet.offline.pod import StrainL2
        meas = StrainL2(rom.enricher().layout)

        def strain(X):
            return np.concatenate(list(meas.row_blocks(X)), axis=0)
        S_phi = strain(Phi)
    opts = solver_options(on)
    kw = dict(enrich=False, learn=False, options=opts, stress_tol=on.get("stress_tolerance"))
    rows = {k: [] for k in ("rom", "full", "proj", "hr")}
    for i in (int(s) for s in args.samples.split(",")):
        pb, _, params = sampled_problem(problem, mesh.coordinates, [seed, i], sampler)
        rom.models[0] = model
        t0 = time.perf_counter()
        res = rom.run(pb, **kw)
        t_rom = time.perf_counter() - t0
        Ur, _ = rom_fields(res)
        rom.models[0] = full
        t0 = time.perf_counter()
        res_f = rom.run(pb, **kw)
        t_full = time.perf_counter() - t0
        Uf, _ = rom_fields(res_f)
        Uh, _, hf_wall, _ = hf_reference(mesh, pb, res.times, comm)
        if not root:
            continue
        n_t = Uh.shape[0]
        c = np.linalg.lstsq(Phi, Uh.reshape(n_t, -1).T, rcond=None)[0]
        Up = (Phi @ c).T.reshape(Uh.shape)
        err = dict(rom=relative_errors(Ur, Uh), full=relative_errors(Uf, Uh), proj=relative_errors(Up, Uh),
                   hr=relative_errors(Ur, Uf))
        if strain is not None:                       # the same in the strain norm (Galerkin's own)
            S_h = strain(Uh.reshape(n_t, -1).T)
            c_s = np.linalg.solve(S_phi.T @ S_phi, S_phi.T @ S_h)
            den = np.maximum(np.linalg.norm(S_h, axis=0), 1e-2 * np.linalg.norm(S_h, axis=0).max())
            for name, U in (("rom", Ur), ("full", Uf)):
                err[name + "_strain"] = np.linalg.norm(strain(U.reshape(n_t, -1).T) - S_h, axis=0) / den
            err["proj_strain"] = np.linalg.norm(S_phi @ c_s - S_h, axis=0) / den
        loaded = loaded_outputs(pb, res.times)
        say(f"\nsample {i}: hot spot {params['amplitude']:.0f} deg at "
            f"({', '.join(f'{v:.2f}' for v in params['center'])}), width {params['width']:.2f}; "
            f"ROM {t_rom:.2f} s, full-quadrature ROM {t_full:.2f} s, HF {hf_wall:.2f} s")
        say("  output  " + " ".join(f"{j:>7d}{'' if loaded[j] else 'u'}" for j in range(1, n_t)))
        for name, lab in (("rom", "rom"), ("full", "full"), ("proj", "proj"), ("hr", "rom-full"),
                          ("rom_strain", "rom  eps"), ("full_strain", "full eps"), ("proj_strain", "proj eps")):
            if name in err:
                say(f"  {lab:8s}" + " ".join(f"{v:8.1e}" for v in err[name][1:]))
        for n, v in res.indicators.items():
            say(f"  eta_{n[:4]:4s}" + " ".join(f"{x:8.1e}" for x in v[1:]))
        for name in err:
            rows.setdefault(name, []).append(err[name][1:][loaded[1:]])
    if not root:
        return
    cat = {k: np.concatenate(v) for k, v in rows.items()}
    say("\nloaded outputs (all samples):")
    for name, lab in (("rom", "ROM (ECM)"), ("full", "Galerkin, full quadrature"), ("proj", "L2 projection"),
                      ("hr", "ROM vs full quadrature"), ("rom_strain", "ROM, strain norm"),
                      ("full_strain", "full quadrature, strain norm"), ("proj_strain", "strain-norm projection")):
        if name not in cat:
            continue
        say(f"  {lab:28s} median {np.median(cat[name]):.2e}  max {cat[name].max():.2e}")
    def ratio(a, b):
        return float(np.median(cat[a] / np.maximum(cat[b], 1e-300)))
    keys = [f"rom_median={np.median(cat['rom']):.3e}", f"rom_max={cat['rom'].max():.3e}",
            f"full_median={np.median(cat['full']):.3e}", f"full_max={cat['full'].max():.3e}",
            f"proj_median={np.median(cat['proj']):.3e}", f"proj_max={cat['proj'].max():.3e}",
            f"hyper_reduction_median={np.median(cat['hr']):.3e}",
            f"galerkin_over_projection_median={ratio('full', 'proj'):.2f}"]
    if "rom_strain" in cat:
        keys += [f"rom_strain_median={np.median(cat['rom_strain']):.3e}",
                 f"proj_strain_median={np.median(cat['proj_strain']):.3e}",
                 f"rom_over_projection_strain_median={ratio('rom_strain', 'proj_strain'):.3f}"]
    say("key=value " + " ".join(keys))


if __name__ == "__main__":
    main()
