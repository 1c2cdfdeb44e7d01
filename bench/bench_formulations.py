"""Cost of the element formulations: plane-stress law wrapper, hourglass matrices, reduced
and B-bar kernels.

Run: ``.venv/bin/python bench/bench_formulations.py [--points 100000] [--cells 30] [--repeat 3]``

Prints best wall times over ``--repeat`` runs:
* gen_evp (rate-independent, linear hardening) on ``--points`` points, 3D law vs the
  plane-stress wrapper (sigma33 = 0 Newton), in the plastic regime, with the wrapper's
  number of law calls;
* ElementKernel construction + element stiffness of c3d8 / c3d8r (+ hourglass matrices) /
  c3d8_bbar / c3d20 / c3d20r on a cube of ``--cells``^3 hexahedra (c3d20: cells / 2).
"""
from __future__ import annotations

import argparse
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from bench_fe_kernel import best  # noqa: E402  (best wall time over repeats)
from romnet.fe import ElementKernel, hourglass_matrices  # noqa: E402
from romnet.fe.plane_stress import PlaneStressLaw  # noqa: E402
from romnet.materials import build_law  # noqa: E402
from romnet.meshing import box_mesh  # noqa: E402

SPEC = {"law": "gen_evp", "elasticity": {"young": 2e5, "poisson": 0.3}, "flow": {"type": "plasticity"},
        "isotropic": {"type": "linear", "R0": 100.0, "H": 2000.0}}


class Counting:
    """Law proxy counting integrate calls (the wrapper's Newton iterations)."""

    def __init__(self, law):
        self.law, self.calls = law, 0

    def __getattr__(self, k):
        return getattr(self.law, k)

    def integrate(self, *a, **k):
        self.calls += 1
        return self.law.integrate(*a, **k)


def law_bench(n, repeat):
    rng = np.random.default_rng(0)
    law = build_law(SPEC)
    eps = np.zeros((n, 6))
    eps[:, [0, 1, 3]] = rng.normal(size=(n, 3)) * 2e-3
    T = np.zeros(n)
    st3 = law.initial_state(n)
    t3, _ = best(lambda: law.integrate(eps, T, 1.0, st3, tangent=True), repeat)
    cnt = Counting(law)
    ps = PlaneStressLaw(cnt)
    st = ps.initial_state(n)
    tps, r = best(lambda: ps.integrate(eps, T, 1.0, st, tangent=True), repeat)
    print(f"gen_evp, {n} points (plastic fraction "
          f"{np.mean(law.cumulated_plastic_strain(r.state[:, :-1]) > 0):.2f}): 3D law {t3:.3f} s "
          f"({n / t3:.3g} pts/s); plane stress {tps:.3f} s ({n / tps:.3g} pts/s, "
          f"{cnt.calls / repeat:.0f} law calls per integration, all converged: {bool(r.converged.all())})")


def kernel_bench(cells, repeat):
    D = build_law(SPEC).integrate(np.zeros((1, 6)), 0.0, 1.0, None).tangent[0]
    for name, n in (("c3d8", cells), ("c3d8r", cells), ("c3d8_bbar", cells), ("c3d20", cells // 2),
                    ("c3d20r", cells // 2)):
        X, conn = box_mesh(name, n, (1.0, 1.0, 1.0))
        tk, k = best(lambda: ElementKernel(name, X, conn), repeat)
        Dq = np.broadcast_to(D, (k.n_elements, k.n_ip, 6, 6))
        ts, _ = best(lambda: k.element_stiffness(Dq), repeat)
        extra = ""
        if k.etype.hourglass:
            th, _ = best(lambda: hourglass_matrices(k), repeat)
            extra = f", hourglass matrices {th:.3f} s"
        print(f"{name:10s} {k.n_elements:7d} elements x {k.n_ip:2d} points: kernel {tk:.3f} s, "
              f"element stiffness {ts:.3f} s{extra}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--cells", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    law_bench(a.points, a.repeat)
    kernel_bench(a.cells, a.repeat)


if __name__ == "__main__":
    main()
