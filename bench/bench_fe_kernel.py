"""Timing of romnet.fe.ElementKernel on structured c3d8 and c3d10 boxes of ~200k DOF.

Run: ``.venv/bin/python bench/bench_fe_kernel.py [--cells-c3d8 40] [--cells-c3d10 20] [--repeat 3]``

Prints, per operation, the best wall time over ``--repeat`` runs and the throughput in
integration points per second (element-ip pairs processed per second).
"""
from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from romnet.fe import ElementKernel, get_element_type


def box_mesh(name, n):
    """Unit cube, n cells per direction; c3d8 hexes or c3d10 tets (6 per cube, Kuhn split)."""
    et = get_element_type(name)
    p = 2 if et.n_nodes > et.n_corners else 1
    m = n * p + 1
    if et.family == "hex":
        maps = [lambda x: (x + 1.0) / 2.0]
    else:
        maps = []
        for perm in itertools.permutations(range(3)):
            v = [np.zeros(3)]
            for k in perm:
                v.append(v[-1].copy())
                v[-1][k] = 1.0
            v = np.array(v)
            if np.linalg.det(v[1:] - v[0]) < 0:
                v[[1, 2]] = v[[2, 1]]
            maps.append(lambda x, v=v: v[0] + x @ (v[1:] - v[0]))
    origins = np.array(list(itertools.product(range(n), repeat=3)))[:, ::-1] * p
    conn = []
    for f in maps:
        loc = np.rint(p * f(et.reference_nodes)).astype(int)
        lat = origins[:, None, :] + loc[None]
        conn.append(np.ravel_multi_index(tuple(np.moveaxis(lat, -1, 0)), (m,) * 3, order="F"))
    conn = np.concatenate(conn)
    grid = np.stack(np.meshgrid(*([np.arange(m)] * 3), indexing="ij"), -1).reshape(-1, 3, order="F")
    X = grid / (m - 1)
    used, conn = np.unique(conn, return_inverse=True)
    X = X[used]
    rng = np.random.default_rng(0)
    X = X + rng.uniform(-0.05, 0.05, X.shape) / (m - 1)  # mild distortion
    return X, conn.reshape(-1, et.n_nodes)


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
