"""CalculiX side of ``bench/bench_hifi_vs_calculix.py``: the thermo-elastoplastic box
problem, its ``.inp`` deck, running ``ccx`` and reading its results.

The problem (identical in both codes):

* box ``[0, L] x [0, W] x [0, W]`` of c3d8 (CalculiX C3D8: full 2x2x2 integration, no
  B-bar / incompatible modes -- the same element as romnet's c3d8);
* x = 0 clamped (U1 = U2 = U3 = 0), U1 = ``strain * L`` imposed on x = L (ramped);
* temperature ``T0 -> T0 + (T1 - T0) x / L`` (ramped from the uniform initial T0);
* isotropic elasticity E, nu; thermal expansion alpha with reference temperature T0
  (``*EXPANSION, ZERO=T0`` and ``*INITIAL CONDITIONS`` T0: eps_th = alpha (T - T0));
* von Mises plasticity with linear isotropic hardening sigma_y = R0 + H eps_p
  (``*PLASTIC`` two-point table, romnet gen_evp ``plasticity`` + ``isotropic linear``);
* one ``*STATIC, DIRECT`` step of fixed increments ``dt`` (no NLGEOM: small strain).

Readers (minimal, for this deck only): displacements from the ``.frd`` text layout
(``*NODE FILE U``), the total reaction force of the loaded face from the ``.dat``
(``*NODE PRINT, TOTALS=ONLY``), Newton iterations per increment from the ``.sta``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class BoxCase:
    n: tuple                       # cells per direction (nx, ny, nz)
    length: float = 4.0
    width: float = 1.0
    strain: float = 0.01           # imposed mean strain U1(x=L) / L
    T0: float = 20.0
    T1: float = 400.0
    young: float = 200000.0
    poisson: float = 0.3
    alpha: float = 1.2e-5
    R0: float = 300.0
    H: float = 2000.0
    dt: float = 0.1

    @property
    def size(self):
        return (self.length, self.width, self.width)

    @property
    def n_increments(self):
        return int(round(1.0 / self.dt))

    def mesh(self):
        from romnet.meshing import box
        return box("c3d8", n=list(self.n), size=self.size)

    def material_spec(self):
        return {"law": "gen_evp", "density": None,
                "elasticity": {"young": self.young, "poisson": self.poisson},
                "thermal_strain": {"alpha": self.alpha, "ref_temperature": self.T0},
                "flow": {"type": "plasticity"},
                "kinematic": None,
                "isotropic": {"type": "linear", "R0": self.R0, "H": self.H}}

    def temperature_field(self, X):
        return self.T0 + (self.T1 - self.T0) * X[:, 0] / self.length

    def problem(self, ratio=1e-5):
        from romnet.problem import (Dirichlet, MaterialAssignment, Problem, Temperature, TimeStepping,
                                    TimeTable)
        mesh = self.mesh()
        T = self.temperature_field(mesh.coordinates)
        times = np.linspace(0.0, 1.0, self.n_increments + 1)
        pb = Problem(
            materials=[MaterialAssignment("ALL", self.material_spec())],
            dirichlet=[Dirichlet("x0", c, 0.0) for c in range(3)]
            + [Dirichlet("x1", 0, self.strain * self.length, "ramp")],
            temperature=Temperature(np.array([0.0, 1.0]), np.stack([np.full_like(T, self.T0), T])),
            tables={"ramp": TimeTable("ramp", [0.0, 1.0], [0.0, 1.0])},
            stepping=TimeStepping(times, ratio=ratio, max_iterations=20),
            source="bench_hifi_vs_calculix")
        return mesh, pb


def _lines(ids, rows, fmt):
    return "".join(fmt % ((i,) + tuple(r)) for i, r in zip(ids, rows))


def write_deck(case: BoxCase, path):
    """Write the CalculiX input deck ``path`` (``job.inp``)."""
    mesh = case.mesh()
    X = mesh.coordinates
    conn = mesh.blocks[0].connectivity + 1
    T = case.temperature_field(X)
    nid = np.arange(1, X.shape[0] + 1)
    fix = mesh.node_set("x0") + 1
    load = mesh.node_set("x1") + 1
    u = case.strain * case.length
    out = ["*HEADING", f"romnet bench: box {case.n} c3d8, thermo-elastoplastic"]
    out.append("*NODE, NSET=NALL")
    out.append(_lines(nid, X, "%d, %.15g, %.15g, %.15g\n").rstrip("\n"))
    out.append("*ELEMENT, TYPE=C3D8, ELSET=EALL")
    out.append(_lines(np.arange(1, conn.shape[0] + 1), conn, "%d, %d, %d, %d, %d, %d, %d, %d, %d\n").rstrip("\n"))
    for name, ids in (("FIX", fix), ("LOAD", load)):
        out.append(f"*NSET, NSET={name}")
        out += [", ".join(str(int(v)) for v in ids[k:k + 16]) for k in range(0, ids.size, 16)]
    out += ["*MATERIAL, NAME=STEEL", "*ELASTIC", f"{case.young:.15g}, {case.poisson:.15g}",
            "*PLASTIC", f"{case.R0:.15g}, 0.", f"{case.R0 + case.H * 1.0:.15g}, 1.",
            f"*EXPANSION, ZERO={case.T0:.15g}", f"{case.alpha:.15g}",
            "*SOLID SECTION, ELSET=EALL, MATERIAL=STEEL",
            "*INITIAL CONDITIONS, TYPE=TEMPERATURE", f"NALL, {case.T0:.15g}",
            "*STEP, INC=1000",                     # no NLGEOM: small strain
            "*STATIC, DIRECT", f"{case.dt:.15g}, 1.",
            "*BOUNDARY", "FIX, 1, 3, 0.", f"LOAD, 1, 1, {u:.15g}",
            "*TEMPERATURE"]
    out.append(_lines(nid, T[:, None], "%d, %.15g\n").rstrip("\n"))
    out += ["*NODE FILE", "U", "*NODE PRINT, NSET=LOAD, TOTALS=ONLY", "RF", "*END STEP", ""]
    Path(path).write_text("\n".join(out))
    return mesh


_WRAP = ("import resource, subprocess, sys, time\n"
         "t = time.perf_counter()\n"
         "r = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], 'w'), stderr=subprocess.STDOUT)\n"
         "w = time.perf_counter() - t\n"
         "print(r.returncode, w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def run_ccx(workdir, job="job", threads=2, ccx="ccx"):
    """Run ``ccx -i job`` in ``workdir`` (OMP_NUM_THREADS = CCX_NPROC_EQUATION_SOLVER =
    threads). Returns dict(wall, maxrss_mb, returncode) -- wall time and peak RSS of the ccx
    process measured by a small wrapper process (getrusage of its only child)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), CCX_NPROC_EQUATION_SOLVER=str(threads),
               CCX_NPROC_RESULTS=str(threads), CCX_NPROC_STIFFNESS=str(threads))
    r = subprocess.run([sys.executable, "-c", _WRAP, str(Path(workdir).resolve() / "ccx.log"), ccx, "-i", job],
                       cwd=workdir, env=env, capture_output=True, text=True, check=True)
    rc, wall, rss = r.stdout.split()
    out = {"returncode": int(rc), "wall": float(wall), "maxrss_mb": int(rss) / 1024.0}
    if out["returncode"] != 0:
        raise RuntimeError(f"ccx failed (rc {rc}), see {workdir}/ccx.log")
    return out


def read_frd_displacements(path, n_nodes):
    """[(time, U (n_nodes, 3))] of every DISP block of a text .frd (node ids 1..n_nodes)."""
    out = []
    with open(path) as f:
        lines = iter(f)
        t = None
        for line in lines:
            if line.startswith("    1PSTEP"):
                continue
            if line.startswith("  100C"):
                t = float(line[12:24])
                continue
            if line.startswith(" -4  DISP"):
                U = np.zeros((n_nodes, 3))
                for line in lines:
                    if line.startswith(" -3"):
                        break
                    if line.startswith(" -1"):
                        # " -1" + id (I5 short / I10 long) + 3 x E12.5
                        body = line[3:].rstrip("\n")
                        w = len(body) - 36
                        nid = int(body[:w])
                        U[nid - 1] = [float(body[w + 12 * k: w + 12 * (k + 1)]) for k in range(3)]
                out.append((t, U))
    return out


def read_dat_totals(path):
    """[(time, (fx, fy, fz))] of the ``total force`` tables of the .dat."""
    out = []
    hdr = re.compile(r"total force.*time\s+(\S+)")
    lines = Path(path).read_text().splitlines()
    for i, line in enumerate(lines):
        m = hdr.search(line)
        if m:
            j = i + 1
            while not lines[j].strip():
                j += 1
            out.append((float(m.group(1)), np.array([float(v) for v in lines[j].split()[:3]])))
    return out


def read_sta_iterations(path):
    """Newton iterations of every converged increment from the .sta (column ITRS)."""
    its = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 7 and parts[0].isdigit() and parts[1].isdigit():
            its.append(int(parts[3]))
    return its


def run_case(case: BoxCase, workdir, threads=2, reuse=False):
    """Write the deck, run ccx (or reuse a finished run of the same deck) and read it.
    Returns dict(wall, maxrss_mb, iterations, times, U (list), RF (list of 3-vectors))."""
    import json
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    inp = workdir / "job.inp"
    new = workdir / "job.inp.new"
    mesh = write_deck(case, new)
    meta = workdir / "run.json"
    if reuse and inp.exists() and meta.exists() and inp.read_bytes() == new.read_bytes():
        info = json.loads(meta.read_text())
        info["reused"] = True
        new.unlink()
    else:
        new.replace(inp)
        for suf in (".frd", ".dat", ".sta", ".cvg"):
            (workdir / ("job" + suf)).unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        t = time.perf_counter()
        info = run_ccx(workdir, threads=threads)
        info["reused"] = False
        info["started"] = t
        meta.write_text(json.dumps(info))
    disp = read_frd_displacements(workdir / "job.frd", mesh.n_nodes)
    info["times"] = [d[0] for d in disp]
    info["U"] = [d[1] for d in disp]
    info["RF"] = [r[1] for r in read_dat_totals(workdir / "job.dat")]
    info["iterations"] = read_sta_iterations(workdir / "job.sta")
    return info
