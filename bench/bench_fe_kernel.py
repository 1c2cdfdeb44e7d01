"""Timing of romnet.fe.ElementKernel on structured c3d8 and c3d10 boxes of ~200k DOF.

Run: ``.venv/bin/python bench/bench_fe_kernel.py [--cells-c3d8 40] [--cells-c3d10 20] [--repeat 3]``

Prints, per operation, the best wall time over ``--repeat`` runs and the throughput in
integration points per second (element-ip pairs processed per second).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from romnet.fe import ElementKernel
from romnet.meshing import box_mesh as _box_mesh


def box_mesh(name, n):
    """Unit cube, n cells per direction (romnet.meshing: c3d8 hexes, c3d10 Kuhn-split tets)."""
    return _box_mesh(name, n=n, box=(1.0, 1.0, 1.0))


def best(fn, repeat):
    t = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t.append(time.perf_counter() - t0)
    return min(t), out


def run(name, n, repeat):
    X, conn = box_mesh(name, n)
    n_dofs = X.size
    print(f"\n{name}: {conn.shape[0]} elements, {X.shape[0]} nodes, {n_dofs} DOF")
    t, k = best(lambda: ElementKernel(name, X, conn), repeat)
    n_pts = k.n_elements * k.n_ip
    rows = [("ElementKernel()", t)]
    U = np.random.default_rng(1).normal(size=X.shape) * 1e-3
    t, eps = best(lambda: k.strain(U), repeat)
    rows.append(("strain()", t))
    sig = eps * 100.0
    t, _ = best(lambda: k.internal_forces(sig, n_dofs), repeat)
    rows.append(("internal_forces()", t))
    D = np.broadcast_to(np.diag([3.0, 3.0, 3.0, 1.0, 1.0, 1.0]), (k.n_elements, k.n_ip, 6, 6))
    t0 = time.perf_counter()
    K = k.stiffness(D, n_dofs)
    rows.append(("stiffness() first call", time.perf_counter() - t0))
    t, K = best(lambda: k.stiffness(D, n_dofs), repeat)
    rows.append(("stiffness()", t))
    t, _ = best(lambda: k.element_stiffness(D), repeat)
    rows.append(("  element_stiffness()", t))
    t, _ = best(lambda: k.mass_matrix(), repeat)
    rows.append(("mass_matrix()", t))
    print(f"  {n_pts} integration points, K nnz = {K.nnz}")
    print(f"  {'operation':26s} {'time [s]':>9s} {'ip/s':>12s} {'calls/s':>9s}")
    for label, t in rows:
        print(f"  {label:26s} {t:9.4f} {n_pts / t:12.3e} {1 / t:9.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells-c3d8", type=int, default=40)
    ap.add_argument("--cells-c3d10", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(f"numpy {np.__version__}")
    run("c3d8", a.cells_c3d8, a.repeat)
    run("c3d10", a.cells_c3d10, a.repeat)


if __name__ == "__main__":
    main()
