"""Small CalculiX decks written by the tests, and a runner for Debian's ``ccx``.

:func:`beam_deck` writes a clamped beam of hexahedra (c3d8 or c3d20) under a pressure on
its top face, a pull on its end face and a temperature rise, with one of the materials
below; :func:`run_ccx` runs ``ccx`` in the deck's folder (skipping the test when ``ccx``
is not installed: ``apt-get install calculix-ccx``).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

PLASTIC = """*MATERIAL, NAME=STEEL
*ELASTIC
200000., 0.3, 20.
180000., 0.3, 500.
*PLASTIC
180., 0., 20.
280., 0.1, 20.
140., 0., 500.
220., 0.1, 500.
*EXPANSION, ZERO=20.
1.2E-5, 20.
1.4E-5, 500.
"""

CREEP = """*MATERIAL, NAME=ALLOY
*ELASTIC
150000., 0.3
*CREEP, LAW=NORTON
1.E-15, 5., 0.
"""


def ccx_or_skip() -> str:
    exe = shutil.which("ccx")
    if exe is None:
        pytest.skip("CalculiX 'ccx' not found (Debian: apt-get install calculix-ccx)")
    return exe


def run_ccx(deck: Path, timeout: float = 120.0) -> Path:
    """Run ccx on ``deck`` (job = stem) in its folder; returns the .frd path."""
    exe = ccx_or_skip()
    res = subprocess.run([exe, deck.stem], cwd=deck.parent, capture_output=True, text=True,
                         timeout=timeout, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    out = res.stdout + res.stderr
    if res.returncode != 0 or "*ERROR" in out:
        raise AssertionError(f"ccx failed on {deck}:\n{out[-3000:]}")
    return deck.with_suffix(".frd")


def _hex_grid(nx, ny, nz, lx, ly, lz, quadratic):
    """Nodes (ids from 1) and hex connectivity (ids) in Abaqus order."""
    m = 2 if quadratic else 1
    gx, gy, gz = nx * m + 1, ny * m + 1, nz * m + 1
    nid = np.arange(1, gx * gy * gz + 1).reshape(gz, gy, gx)
    x = np.linspace(0, lx, gx)
    y = np.linspace(0, ly, gy)
    z = np.linspace(0, lz, gz)
    Z, Y, X = np.meshgrid(z, y, x, indexing="ij")
    # distort the mesh a little so that the Jacobians vary (not only affine elements)
    # (zero on the x = 0 and x = lx faces, which stay planes)
    X = X + 0.03 * lx / nx * np.sin(3.1 * Y / ly + 1.3 * Z / lz) * 4 * X * (lx - X) / lx**2
    coords = np.stack([X.ravel(), Y.ravel(), Z.ravel()], axis=1)
    used = np.zeros(nid.size + 1, bool)
    els = []
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                a, b, c = i * m, j * m, k * m
                n = lambda di, dj, dk: nid[c + dk, b + dj, a + di]
                corners = [n(0, 0, 0), n(m, 0, 0), n(m, m, 0), n(0, m, 0),
                           n(0, 0, m), n(m, 0, m), n(m, m, m), n(0, m, m)]
                if quadratic:
                    mids = [n(1, 0, 0), n(2, 1, 0), n(1, 2, 0), n(0, 1, 0),
                            n(1, 0, 2), n(2, 1, 2), n(1, 2, 2), n(0, 1, 2),
                            n(0, 0, 1), n(2, 0, 1), n(2, 2, 1), n(0, 2, 1)]
                    corners = corners + mids
                used[corners] = True
                els.append(corners)
    ids = np.flatnonzero(used[1:]) + 1
    return ids, coords[ids - 1], np.array(els)


def beam_deck(folder: Path, name: str = "beam", etype: str = "C3D8", material: str = PLASTIC,
              nx: int = 4, ny: int = 1, nz: int = 2, top_pressure: float = 2.0, pull: float = -100.0,
              temperature: float = 300.0, steps=((0.25, 1.0),), binary: bool = False,
              procedure: str = "STATIC", extra_model: str = "") -> Path:
    """Write ``folder/name.inp``: beam [0,4]x[0,1]x[0,1] clamped at x = 0 (all dofs),
    ``P2`` pressure on the top faces, ``P4`` pull (negative pressure) on the x = 4 faces,
    uniform temperature 20 -> ``temperature``. ``steps`` = ((initial increment, period),...):
    loads are applied in the first step and held in the others. Output: U, NT to the
    .frd (text, or binary with ``binary``), S, E, PEEQ and U to the .dat."""
    quadratic = etype.upper().startswith("C3D20")
    ids, xyz, conn = _hex_grid(nx, ny, nz, 4.0, 1.0, 1.0, quadratic)
    lines = ["*HEADING", f"romnet test beam {etype}", "*NODE, NSET=NALL"]
    lines += [f"{i}, {x:.15g}, {y:.15g}, {z:.15g}" for i, (x, y, z) in zip(ids, xyz)]
    lines.append(f"*ELEMENT, TYPE={etype}, ELSET=EALL")
    for e, c in enumerate(conn, start=1):
        vals = [str(e)] + [str(v) for v in c]
        if len(vals) > 16:
            lines.append(", ".join(vals[:16]) + ",")
            lines.append(", ".join(vals[16:]))
        else:
            lines.append(", ".join(vals))
    x0 = ids[np.isclose(xyz[:, 0], 0.0, atol=1e-9) | (xyz[:, 0] < 1e-9)]
    lines += ["*NSET, NSET=CLAMP"] + [", ".join(map(str, x0[i:i + 8])) for i in range(0, len(x0), 8)]
    n_el = len(conn)
    top = [e for e in range(1, n_el + 1) if (e - 1) // (nx * ny) == nz - 1]
    end = [e for e in range(1, n_el + 1) if (e - 1) % nx == nx - 1]
    lines += ["*ELSET, ELSET=TOP"] + [", ".join(map(str, top))]
    lines += ["*ELSET, ELSET=END"] + [", ".join(map(str, end))]
    lines += ["*SURFACE, NAME=SEND, TYPE=ELEMENT", "END, S4"]
    lines += [material.strip()]
    mat = material.split("NAME=")[1].split()[0]
    lines += [f"*SOLID SECTION, ELSET=EALL, MATERIAL={mat}"]
    if extra_model:
        lines.append(extra_model.strip())
    lines += ["*INITIAL CONDITIONS, TYPE=TEMPERATURE", "NALL, 20."]
    lines += ["*BOUNDARY", "CLAMP, 1, 3"]
    for k, (inc, period) in enumerate(steps):
        lines += ["*STEP, INC=1000", f"*{procedure}", f"{inc:g}, {period:g}"]
        if k == 0:
            lines += ["*DLOAD", f"TOP, P2, {top_pressure:g}", "*DLOAD", f"SEND, P, {pull:g}",
                      "*TEMPERATURE", f"NALL, {temperature:g}"]
        node_kw, el_kw = ("*NODE OUTPUT", "*ELEMENT OUTPUT") if binary else ("*NODE FILE", "*EL FILE")
        lines += [node_kw, "U, NT", el_kw, "S, E, PEEQ",
                  "*NODE PRINT, NSET=NALL", "U", "*EL PRINT, ELSET=EALL", "S, E, PEEQ", "*END STEP"]
    deck = Path(folder) / f"{name}.inp"
    deck.write_text("\n".join(lines) + "\n")
    return deck


def thermal_block(folder: Path, etype: str = "C3D20", seed: int = 1, t0: float = 20.0) -> Path:
    """``folder/block.inp``: a 2 x 1 x 1 block of two ``etype`` hexahedra supported 3-2-1
    (free thermal expansion), elastic with a temperature-dependent expansion (ZERO = 20),
    initial temperature ``t0``, then a random temperature at every node (quadratic trend +
    noise, so mid-side values are not the mean of their corners); U and NT to the .frd, S
    to the .dat."""
    ids, xyz, conn = _hex_grid(2, 1, 1, 2.0, 1.0, 1.0, etype.upper().startswith("C3D20"))
    lines = ["*NODE, NSET=NALL"] + [f"{i}, {x:.15g}, {y:.15g}, {z:.15g}" for i, (x, y, z) in zip(ids, xyz)]
    lines.append(f"*ELEMENT, TYPE={etype}, ELSET=EALL")
    for e, c in enumerate(conn, start=1):
        vals = [str(e)] + [str(v) for v in c]
        lines += [", ".join(vals[:16]) + ("," if len(vals) > 16 else "")] + ([", ".join(vals[16:])] if len(vals) > 16 else [])
    corner = lambda p: ids[int(np.argmin(np.linalg.norm(xyz - np.asarray(p), axis=1)))]  # noqa: E731
    lines += ["*BOUNDARY", f"{corner([0, 0, 0])}, 1, 3", f"{corner([2, 0, 0])}, 2, 3", f"{corner([0, 1, 0])}, 3, 3",
              "*MATERIAL, NAME=M", "*ELASTIC", "200000., 0.3", "*EXPANSION, ZERO=20.", "1.2E-5, 0.",
              "1.6E-5, 500.", "*SOLID SECTION, ELSET=EALL, MATERIAL=M", "*INITIAL CONDITIONS, TYPE=TEMPERATURE",
              f"NALL, {t0:g}",
              "*STEP", "*STATIC", "*TEMPERATURE"]
    rng = np.random.default_rng(seed)
    T = 20 + 300 * (xyz[:, 0] / 2) ** 2 + 100 * xyz[:, 1] * xyz[:, 2] + 50 * rng.random(len(ids))
    lines += [f"{i}, {t:.10g}" for i, t in zip(ids, T)]
    lines += ["*NODE FILE", "U, NT", "*EL PRINT, ELSET=EALL", "S", "*END STEP"]
    deck = Path(folder) / "block.inp"
    deck.write_text("\n".join(lines) + "\n")
    return deck
