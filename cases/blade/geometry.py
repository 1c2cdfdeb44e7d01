"""Turbine-blade-like geometry meshed with structured c3d8 hexahedra.

Runnable as a script (``python cases/blade/geometry.py --variant small [-o mesh.xdmf]``)
or importable by path (``importlib`` / ``runpy``; it imports only numpy and romnet).

Geometry (units: mm). Radial (span) axis = +z, engine (rotation) axis = +x.

* **Airfoil**: NACA 4-digit-like section (camber ``m`` at ``p``, thickness ``t``) of chord
  ``c(s)`` tapering linearly from ``chord_root`` to ``chord_tip`` along the span fraction
  ``s``, turned by the stagger angle ``stagger(s)`` (linear from ``stagger_root`` to
  ``stagger_tip``: the twist), stacked at ``stack`` x chord on the chord line, extruded from
  z = 0 to z = ``span``. The leading and trailing edges are cut at chord fractions
  ``xi_le`` / ``xi_te`` (slightly blunt edges: a flat edge face).
* **Root**: a rectangular block (the platform and root) of height ``root_height`` below
  z = 0, around the root section with ``margin`` mm of clearance; its sides are aligned
  with the root chord (the block is turned by ``stagger_root`` about z: the mapped grid
  of its top face is much better shaped in the chord frame than in the axis frame).

Mesh: the airfoil volume is one structured block (chord i x thickness j x span k): the
node (i, j) of a section is ``P(xi_i) + (j / nt) (S(xi_i) - P(xi_i))`` between the pressure
point P and the suction point S at chord fraction xi_i (partly cosine-clustered towards both
edges). The root block's top (z = 0) is a 2D structured grid (:func:`embedded_grid`) of
3 x 3 sub-blocks whose centre sub-block IS the root airfoil section (same nodes: the blocks
are conforming) and whose 8 outer sub-blocks are Coons patches (transfinite interpolation)
between the section and the rectangle, smoothed by a few Laplace sweeps; the grid is
extruded downwards in ``nz_root`` layers.

Sets of the returned :class:`romnet.mesh.Mesh`:

* node sets: ``root_bottom`` (z = -root_height, the clamp), ``tip`` (z = span),
  ``platform_top`` (z = 0), ``leading_edge`` / ``trailing_edge`` (airfoil nodes on the edge
  faces), ``pressure_side`` / ``suction_side`` (airfoil surface nodes), ``airfoil``
  / ``root`` (nodes of the element sets);
* element sets: ``airfoil``, ``root``, ``ALL``;
* face sets (q4, outward normals, from :func:`romnet.fe.boundary_faces`): ``pressure_side``,
  ``suction_side``, ``tip``, ``root_bottom``, ``platform_top`` (free part of z = 0),
  ``leading_edge``, ``trailing_edge``.

Variants (:data:`VARIANTS`): ``small`` (~4k DOF, tests), ``medium`` (~51k DOF, the learning
benchmark) and ``large`` (~400k DOF).
"""

import argparse
import sys
from dataclasses import asdict, dataclass, replace

import numpy as np

__all__ = ["BladeParameters", "VARIANTS", "naca_section", "structured_hexes", "embedded_grid",
           "blade_mesh", "check_mesh", "n_dofs"]


@dataclass(frozen=True)
class BladeParameters:
    # airfoil (mm, degrees)
    chord_root: float = 32.0
    chord_tip: float = 22.0
    span: float = 60.0
    camber: float = 0.08          # NACA m (max camber / chord)
    camber_pos: float = 0.4       # NACA p (its chord position)
    thickness: float = 0.18       # NACA t (max thickness / chord)
    stagger_root: float = 30.0    # chord angle to the engine axis x at the root
    stagger_tip: float = 50.0     # ... at the tip (twist = tip - root)
    stack: float = 0.4            # stacking point: chord fraction on the chord line
    xi_le: float = 0.01           # chord fraction where the leading edge is cut (blunt)
    xi_te: float = 0.97           # ... trailing edge
    # root block (mm)
    root_height: float = 12.0
    margin: float = 6.0
    # mesh resolution
    n_chord: int = 12
    n_thick: int = 3
    n_span: int = 12
    n_ring_x: int = 3             # root grid cells between the section and the x sides
    n_ring_y: int = 3             # ... and the y sides
    n_root_z: int = 2
    smooth_sweeps: int = 30
    clustering: float = 0.6       # 0 uniform .. 1 cosine spacing along the chord


VARIANTS = {
    "small": BladeParameters(),
    # ~51k DOF (14 216 elements): the learning benchmark (bench/bench_learning.py)
    "medium": BladeParameters(n_chord=36, n_thick=8, n_span=32, n_ring_x=7, n_ring_y=6,
                              n_root_z=5, smooth_sweeps=100),
    "large": BladeParameters(n_chord=80, n_thick=14, n_span=64, n_ring_x=14, n_ring_y=12,
                             n_root_z=10, smooth_sweeps=200),
}


# ----------------------------------------------------------------------------- airfoil
def naca_section(xi, chord, m, p, t):
    """Pressure and suction points (n, 2) of a NACA 4-digit-like section at chord fractions
    ``xi`` (leading edge at the origin, chord along +x, camber towards +y): the suction
    side is the convex upper surface, the pressure side the lower (concave) one."""
    xi = np.asarray(xi, dtype=float)
    yt = 5 * t * (0.2969 * np.sqrt(xi) - 0.1260 * xi - 0.3516 * xi ** 2 + 0.2843 * xi ** 3
                  - 0.1015 * xi ** 4)
    front = xi < p
    yc = np.where(front, m / p ** 2 * (2 * p * xi - xi ** 2), m / (1 - p) ** 2 * ((1 - 2 * p) + 2 * p * xi - xi ** 2))
    dyc = np.where(front, 2 * m / p ** 2 * (p - xi), 2 * m / (1 - p) ** 2 * (p - xi))
    th = np.arctan(dyc)
    suction = np.c_[xi - yt * np.sin(th), yc + yt * np.cos(th)] * chord
    pressure = np.c_[xi + yt * np.sin(th), yc - yt * np.cos(th)] * chord
    return pressure, suction


def _section_grid(par: BladeParameters, s, frame=0.0):
    """(n_chord+1, n_thick+1, 2) section nodes at span fraction s (stacked, turned by the
    stagger minus ``frame`` degrees)."""
    u = np.linspace(0.0, 1.0, par.n_chord + 1)
    u = (1 - par.clustering) * u + par.clustering * 0.5 * (1 - np.cos(np.pi * u))
    xi = par.xi_le + (par.xi_te - par.xi_le) * u
    chord = par.chord_root + s * (par.chord_tip - par.chord_root)
    P, S = naca_section(xi, chord, par.camber, par.camber_pos, par.thickness)
    w = np.linspace(0.0, 1.0, par.n_thick + 1)
    sec = P[:, None, :] + w[None, :, None] * (S - P)[:, None, :]
    sec = sec - np.array([par.stack * chord, 0.0])
    a = np.deg2rad(par.stagger_root + s * (par.stagger_tip - par.stagger_root) - frame)
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return sec @ R.T


# ------------------------------------------------------------------- structured meshing
def structured_hexes(index):
    """c3d8 connectivity of a structured block: ``index`` (ni+1, nj+1, nk+1) node indices
    -> (ni*nj*nk, 8), node order of c3d8 with (xi, eta, zeta) = (i, j, k) (positive
    Jacobian when (i, j, k) -> (x, y, z) is orientation-preserving)."""
    c = index
    n = [c[:-1, :-1, :-1], c[1:, :-1, :-1], c[1:, 1:, :-1], c[:-1, 1:, :-1],
         c[:-1, :-1, 1:], c[1:, :-1, 1:], c[1:, 1:, 1:], c[:-1, 1:, 1:]]
    return np.stack([a.reshape(-1, order="F") for a in n], axis=1)


def _line(a, b, n):
    w = np.linspace(0.0, 1.0, n + 1)[:, None]
    return (1 - w) * np.asarray(a, float) + w * np.asarray(b, float)


def _coons(bottom, top, left, right):
    """Transfinite interpolation: edges bottom/top (ni+1, 2) along i, left/right (nj+1, 2)
    along j (corners shared) -> (ni+1, nj+1, 2)."""
    ni, nj = bottom.shape[0] - 1, left.shape[0] - 1
    u = np.linspace(0, 1, ni + 1)[:, None, None]
    v = np.linspace(0, 1, nj + 1)[None, :, None]
    B, T, L, R = bottom[:, None], top[:, None], left[None], right[None]
    c00, c10, c01, c11 = bottom[0], bottom[-1], top[0], top[-1]
    return ((1 - v) * B + v * T + (1 - u) * L + u * R
            - ((1 - u) * (1 - v) * c00 + u * (1 - v) * c10 + (1 - u) * v * c01 + u * v * c11))


def embedded_grid(inner, box, na, nb, sweeps=30):
    """2D structured grid of the rectangle ``box`` = (x0, x1, y0, y1) with the structured
    quadrilateral patch ``inner`` (ni+1, nj+1, 2) embedded as its centre sub-block.

    Returns (grid (ni+2na+1, nj+2nb+1, 2), (ia, ja)) where ``grid[ia:ia+ni+1, ja:ja+nj+1]
    == inner`` exactly. The 8 outer sub-blocks are Coons patches between straight lines
    from the patch corners to the rectangle, then ``sweeps`` Laplace (Jacobi) sweeps move
    the free outer nodes (patch and rectangle boundary fixed). Cells keep the orientation
    of ``inner`` when it is counter-clockwise in (i, j)."""
    x0, x1, y0, y1 = box
    ni, nj = inner.shape[0] - 1, inner.shape[1] - 1
    NI, NJ = ni + 2 * na, nj + 2 * nb
    G = np.full((NI + 1, NJ + 1, 2), np.nan)
    I = [0, na, na + ni, NI]
    J = [0, nb, nb + nj, NJ]
    G[na:na + ni + 1, nb:nb + nj + 1] = inner
    # rectangle edges: the centre segments follow the patch edges' coordinates (affinely
    # squeezed into the rectangle), the corner segments are uniform
    def _squeeze(v, lo, hi, pad):
        a, b = v.min(), v.max()
        return lo + pad + (v - a) / (b - a) * (hi - lo - 2 * pad) if b > a else np.full_like(v, 0.5 * (lo + hi))
    padx = (x1 - x0) * na / NI * 0.8
    pady = (y1 - y0) * nb / NJ * 0.8
    bx = _squeeze(0.5 * (inner[:, 0, 0] + inner[:, -1, 0]), x0, x1, padx)
    ly = _squeeze(0.5 * (inner[0, :, 1] + inner[-1, :, 1]), y0, y1, pady)
    xs = np.concatenate([np.linspace(x0, bx[0], na + 1)[:-1], bx, np.linspace(bx[-1], x1, na + 1)[1:]])
    ys = np.concatenate([np.linspace(y0, ly[0], nb + 1)[:-1], ly, np.linspace(ly[-1], y1, nb + 1)[1:]])
    G[:, 0] = np.c_[xs, np.full_like(xs, y0)]
    G[:, NJ] = np.c_[xs, np.full_like(xs, y1)]
    G[0, :] = np.c_[np.full_like(ys, x0), ys]
    G[NI, :] = np.c_[np.full_like(ys, x1), ys]
    # straight lines from the patch corners to the rectangle (the block boundaries)
    for ci, cj in ((I[1], J[1]), (I[2], J[1]), (I[1], J[2]), (I[2], J[2])):
        i0, i1 = sorted((ci, 0 if ci == I[1] else NI))
        j0, j1 = sorted((cj, 0 if cj == J[1] else NJ))
        G[i0:i1 + 1, cj] = _line(G[i0, cj], G[i1, cj], i1 - i0)
        G[ci, j0:j1 + 1] = _line(G[ci, j0], G[ci, j1], j1 - j0)
    for a in range(3):
        for b in range(3):
            if a == 1 and b == 1:
                continue
            sl = G[I[a]:I[a + 1] + 1, J[b]:J[b + 1] + 1]
            G[I[a]:I[a + 1] + 1, J[b]:J[b + 1] + 1] = _coons(sl[:, 0], sl[:, -1], sl[0], sl[-1])
    free = np.zeros((NI + 1, NJ + 1), bool)
    free[1:-1, 1:-1] = True
    free[na:na + ni + 1, nb:nb + nj + 1] = False
    for _ in range(int(sweeps)):
        avg = 0.25 * (G[:-2, 1:-1] + G[2:, 1:-1] + G[1:-1, :-2] + G[1:-1, 2:])
        inner_free = free[1:-1, 1:-1]
        G[1:-1, 1:-1][inner_free] = avg[inner_free]
    return G, (na, nb)


# ---------------------------------------------------------------------------- the mesh
def blade_mesh(variant="small", **overrides):
    """:class:`romnet.mesh.Mesh` of the blade (module docstring). ``variant`` is a key of
    :data:`VARIANTS` or a :class:`BladeParameters`; ``overrides`` replace its fields."""
    from romnet.fe import boundary_faces
    from romnet.mesh import ElementBlock, Mesh

    par = VARIANTS[variant] if isinstance(variant, str) else variant
    par = replace(par, **overrides)
    nc, nt, ns, nz = par.n_chord, par.n_thick, par.n_span, par.n_root_z
    s = np.linspace(0.0, 1.0, ns + 1)
    # built in the frame of the root chord (turned by stagger_root at the end)
    sections = np.stack([_section_grid(par, sk, par.stagger_root) for sk in s], axis=2)
    root_sec = sections[:, :, 0]
    lo, hi = root_sec.reshape(-1, 2).min(0) - par.margin, root_sec.reshape(-1, 2).max(0) + par.margin
    G, (ia, ja) = embedded_grid(root_sec, (lo[0], hi[0], lo[1], hi[1]), par.n_ring_x, par.n_ring_y,
                                par.smooth_sweeps)
    NI, NJ = G.shape[0] - 1, G.shape[1] - 1
    # root nodes: layers k = 0 (z = -root_height) .. nz (z = 0)
    zr = np.linspace(-par.root_height, 0.0, nz + 1)
    n_root = (NI + 1) * (NJ + 1) * (nz + 1)
    root_idx = np.arange(n_root).reshape(NI + 1, NJ + 1, nz + 1, order="F")
    Xr = np.empty((NI + 1, NJ + 1, nz + 1, 3))
    Xr[..., :2] = G[:, :, None, :]
    Xr[..., 2] = zr[None, None, :]
    # airfoil nodes: layer 0 is the root grid's top centre sub-block (shared nodes)
    n_air = (nc + 1) * (nt + 1) * ns
    air_idx = np.empty((nc + 1, nt + 1, ns + 1), dtype=np.int64)
    air_idx[:, :, 0] = root_idx[ia:ia + nc + 1, ja:ja + nt + 1, nz]
    air_idx[:, :, 1:] = n_root + np.arange(n_air).reshape(nc + 1, nt + 1, ns, order="F")
    Xa = np.empty((nc + 1, nt + 1, ns, 3))
    Xa[..., :2] = sections[:, :, 1:]
    Xa[..., 2] = (s[1:] * par.span)[None, None, :]
    X = np.concatenate([Xr.reshape(-1, 3, order="F"), Xa.reshape(-1, 3, order="F")])
    a = np.deg2rad(par.stagger_root)
    X[:, :2] = X[:, :2] @ np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]).T
    conn_root = structured_hexes(root_idx)
    conn_air = structured_hexes(air_idx)
    conn = np.concatenate([conn_root, conn_air])
    n_r = conn_root.shape[0]
    elsets = {"root": np.arange(n_r), "airfoil": np.arange(n_r, conn.shape[0]), "ALL": np.arange(conn.shape[0])}

    nsets = {
        "root_bottom": root_idx[:, :, 0].ravel(),
        "platform_top": root_idx[:, :, nz].ravel(),
        "tip": air_idx[:, :, ns].ravel(),
        "pressure_side": air_idx[:, 0, :].ravel(),
        "suction_side": air_idx[:, nt, :].ravel(),
        "leading_edge": air_idx[0, :, :].ravel(),
        "trailing_edge": air_idx[nc, :, :].ravel(),
        "root": np.unique(conn_root),
        "airfoil": np.unique(conn_air),
    }
    nsets = {k: np.unique(v).astype(np.int64) for k, v in nsets.items()}

    bf = boundary_faces([("c3d8", conn)])["q4"]
    fnodes, fel = bf["nodes"], bf["element"]
    n = X.shape[0]

    def faces_on(node_set, elements=None):
        mask = np.zeros(n, bool)
        mask[nsets[node_set]] = True
        sel = np.all(mask[fnodes], axis=1)
        if elements is not None:
            sel &= np.isin(fel, elements)
        return {"q4": fnodes[sel]}

    air = elsets["airfoil"]
    fsets = {
        "pressure_side": faces_on("pressure_side", air),
        "suction_side": faces_on("suction_side", air),
        "leading_edge": faces_on("leading_edge", air),
        "trailing_edge": faces_on("trailing_edge", air),
        "tip": faces_on("tip", air),
        "root_bottom": faces_on("root_bottom"),
        "platform_top": faces_on("platform_top", elsets["root"]),
    }
    mesh = Mesh(X, np.arange(1, n + 1), [ElementBlock("c3d8", conn, np.arange(1, conn.shape[0] + 1))],
                node_sets=nsets, element_sets=elsets, face_sets=fsets)
    mesh.validate("blade geometry")
    mesh.parameters = asdict(par)  # informative (not stored by write_case)
    return mesh


def n_dofs(mesh) -> int:
    return mesh.n_nodes * mesh.dim


# ------------------------------------------------------------------------------ checks
def check_mesh(mesh, tol=1e-9) -> dict:
    """Validity report; raises ValueError on a failure. Checks: every Jacobian positive
    (``ElementKernel`` raises otherwise), no two nodes coincide (conforming, no duplicated
    interface nodes), every node used, and the face sets point outward: per face, the
    normal points away from the centroid of the element owning the face, and the flux
    ``sum n.(x - c) dA`` over ``pressure_side`` + ``suction_side`` + edges + tip, with c
    the airfoil centroid, is positive."""
    from scipy.spatial import cKDTree
    from romnet.fe import ElementKernel, FaceKernel, boundary_faces

    X = mesh.coordinates
    conn = mesh.blocks[0].connectivity
    k = ElementKernel("c3d8", X, conn)
    rep = {"n_nodes": mesh.n_nodes, "n_elements": mesh.n_elements, "n_dofs": n_dofs(mesh),
           "min_detJ": float(k.detJ.min()), "volume": k.volume()}
    h = np.cbrt(k.dV.sum(axis=1).min())
    pairs = cKDTree(X).query_pairs(tol * max(h, 1.0) + 1e-3 * h)
    if pairs:
        raise ValueError(f"{len(pairs)} pairs of coincident nodes (non-conforming mesh)")
    unused = np.setdiff1d(np.arange(mesh.n_nodes), conn)
    if unused.size:
        raise ValueError(f"{unused.size} nodes belong to no element")
    bf = boundary_faces([("c3d8", conn)])["q4"]
    key = {tuple(sorted(f)): e for f, e in zip(bf["nodes"].tolist(), bf["element"].tolist())}
    el_c = X[conn].mean(axis=1)
    air = mesh.element_sets["airfoil"]
    c_air = (el_c[air] * k.dV[air].sum(1)[:, None]).sum(0) / k.dV[air].sum()
    flux = 0.0
    for name, fs in mesh.face_sets.items():
        for ft, fc in fs.items():
            if fc.shape[0] == 0:
                raise ValueError(f"face set {name} is empty")
            fk = FaceKernel(ft, X, fc)
            fcen = X[fc].mean(axis=1)
            try:
                owners = np.array([key[tuple(sorted(f))] for f in fc.tolist()])
            except KeyError:
                raise ValueError(f"face set {name}: a face is not a boundary face") from None
            nrm = fk.normals.mean(axis=1)
            out = np.einsum("fd,fd->f", nrm, fcen - el_c[owners])
            if not np.all(out > 0):
                raise ValueError(f"face set {name}: {int((out <= 0).sum())} inward faces")
            if name in ("pressure_side", "suction_side", "leading_edge", "trailing_edge", "tip"):
                flux += float(np.einsum("fqd,fqd,fq->", fk.normals,
                                        fk.ip_coordinates() - c_air, fk.dA))
            rep[f"area_{name}"] = fk.area()
    if not flux > 0:
        raise ValueError("airfoil face sets: inward on the whole (flux about the centroid <= 0)")
    rep["airfoil_flux"] = flux
    return rep


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate the turbine-blade mesh (c3d8) and print its size.")
    ap.add_argument("--variant", default="small", choices=sorted(VARIANTS))
    ap.add_argument("--check", action="store_true", help="check Jacobians, conformity, face orientation")
    ap.add_argument("-o", "--output", help="write the mesh with meshio (e.g. blade.vtu / .xdmf)")
    a = ap.parse_args(argv)
    mesh = blade_mesh(a.variant)
    print(mesh.summary())
    print(f"variant {a.variant}: {mesh.n_nodes} nodes, {mesh.n_elements} c3d8, {n_dofs(mesh)} DOF")
    if a.check:
        for kk, v in check_mesh(mesh).items():
            print(f"  {kk}: {v}")
    if a.output:
        import meshio
        m = meshio.Mesh(mesh.coordinates, [("hexahedron", mesh.blocks[0].connectivity)],
                        cell_data={"airfoil": [np.isin(np.arange(mesh.n_elements),
                                                       mesh.element_sets["airfoil"]).astype(np.int32)]})
        m.write(a.output)
        print(f"wrote {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
