"""Precomputed reduced operators for the online stage.

All functions take a :class:`romnet.offline.pod.RowLayout` (distributed rows) and return
replicated (small) arrays, identical on every rank.

* :func:`mode_strains` — Mandel strains of the displacement modes at every own
  integration point (n_ip_local, 6, n_modes) (used by ECM), with the element's own
  formulation (:meth:`romnet.fe.ElementKernel.element_strain`: hoop strain, B-bar).
* :func:`point_data` — for reduced points given by global integration-point indices:
  block, element, local ip, coordinates, material index, the element's nodes and the
  weights of the point's temperature (``T_point = sum_a shape_a T[nodes_a]``: the shape
  functions, or the problem's rule, :func:`romnet.hifi.initial.ip_temperature_matrix`).
* :func:`strains_at_points` — (n_points, 6, n_modes) Mandel strains of the modes at the
  reduced points.
* :func:`reduced_loads` — ``Phi^T f`` for each pressure, centrifugal, gravity and nodal
  load of the problem (unit-magnitude vectors, see the function); :func:`load_tree` their
  layout in ``/rom/operators/loads`` (``docs/rom-schema.md``), :data:`LOAD_KINDS` how a
  loading's loads are matched with them online.
* :func:`reduced_hourglass` — ``Phi^T K_hg Phi`` per material of the hourglass-controlled
  elements (c3d8r, ...), exact for a constant modulus.
* Constraints (homogeneous in the modes, inhomogeneous as a lifting): :mod:`.lifting`.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError, UnsupportedError
from ..fe import (FaceKernel, face_thickness, get_element_type, hourglass_matrices, hourglass_modulus,
                  is_axisymmetric)
from ..hifi.initial import ip_temperature_matrix
from ..materials import build_law
from ..sections import element_materials, element_thickness

__all__ = ["mode_strains", "point_data", "strains_at_points", "reduced_loads", "load_tree",
           "element_materials", "LOAD_KINDS", "reduced_hourglass", "hourglass_modulus_constant"]

def mode_strains(layout, modes, chunk_values=1 << 22):
    """Mandel strains (n_ip_local, 6, k) at own integration points of the nodal modes
    ``modes`` (n_own * dim, k) (own rows, node-major)."""
    L = layout
    d = L.dim
    k = modes.shape[1]
    Xe = L.gather_ext(np.asarray(modes).reshape(L.n_own, d * k)).reshape(-1, d, k)
    out = np.empty((L.n_ip_local, 6, k))
    for i, blk in enumerate(L.blocks):
        ker = L.kernel(i)
        conn = blk["conn_ext"]
        n_el, n_q = ker.dV.shape
        step = max(1, chunk_values // max(1, n_q * ker.n_en * d * d * k))
        for s in range(0, n_el, step):
            sl = slice(s, min(s + step, n_el))
            eps = ker.element_strain(Xe[conn[sl]], sl)                     # (e, q, 6, k)
            r0 = blk["row0"] + s * n_q
            out[r0:r0 + eps.shape[0] * n_q] = eps.reshape(-1, 6, k)
    return out


def point_data(layout, points, problem=None) -> dict:
    """Replicated description of reduced points (global ip indices)."""
    mesh = layout.mesh
    points = np.asarray(points, dtype=np.int64)
    blk, el, lip = layout.ip_location(points)
    n_en_max = max(get_element_type(b.etype).n_nodes for b in mesh.blocks)
    nodes = np.full((points.size, n_en_max), -1, dtype=np.int64)
    shape = np.zeros((points.size, n_en_max))
    interp = np.zeros((points.size, n_en_max))
    offs = mesh.block_offsets()
    rules = getattr(problem, "temperature_at_ips", None)
    for b in np.unique(blk):
        m = blk == b
        et = get_element_type(mesh.blocks[b].etype)
        conn = mesh.blocks[b].connectivity[el[m] - offs[b]]
        nodes[m, :et.n_nodes] = conn
        # temperature at the point from the nodes: the problem's rule (CalculiX conventions)
        A = ip_temperature_matrix(et, rules[b] if rules else "interpolate", et.quadrature[0])
        shape[m, :et.n_nodes] = A[lip[m]]
        interp[m, :et.n_nodes] = et.shape(et.quadrature[0])[lip[m]]
    X = mesh.coordinates
    coords = np.einsum("pa,pad->pd", interp, X[np.where(nodes >= 0, nodes, 0)])
    plane_stress = np.array([get_element_type(mesh.blocks[b].etype).kinematics == "plane_stress"
                             for b in blk], dtype=np.int8).reshape(-1)
    return dict(ip=points, block=blk, element=el, local_ip=lip, coordinates=coords,
                material=element_materials(mesh, problem)[el], nodes=nodes, shape=shape,
                plane_stress=plane_stress)


def strains_at_points(layout, modes, points):
    """(n_points, 6, k) Mandel strains of the modes (own rows) at reduced points.

    Nodal values of the points' elements are gathered from their owners (allreduce of a
    small array), the strain is computed on every rank identically."""
    mesh = layout.mesh
    d = layout.dim
    k = modes.shape[1]
    pdat = point_data(layout, points)
    out = np.zeros((len(points), 6, k))
    offs = mesh.block_offsets()
    for b in np.unique(pdat["block"]):
        m = np.flatnonzero(pdat["block"] == b)
        et = get_element_type(mesh.blocks[b].etype)
        conn = mesh.blocks[b].connectivity[pdat["element"][m] - offs[b]]
        vals = layout.gather_node_rows(np.asarray(modes).reshape(layout.n_own, d * k), conn.ravel())
        ue = vals.reshape(len(m), et.n_nodes, d, k)
        # strains at the point's own ip (element kernel on these elements only)
        from ..fe import ElementKernel
        ker = ElementKernel(et, mesh.coordinates, conn)
        out[m] = ker.element_strain(ue)[np.arange(len(m)), pdat["local_ip"][m]]
    return out


def reduced_loads(layout, problem, modes) -> dict:
    """Projections ``Phi^T f`` (k,) of the problem's external loads on the modes.

    * pressure load i: ``f`` = :meth:`FaceKernel.pressure_forces` of the load's face set
      with pressure 1 when the load's value is a scalar (``magnitude`` = value), or with
      the load's own per-face / per-node values when it is an array (``magnitude`` = 1).
    * centrifugal load i: ``f = int N^T rho r dV`` over its element set, ``r`` the vector
      from the axis to the point, ``rho`` the element's material density, ``omega2 = 1``
      (``magnitude`` = omega2).
    * gravity i: ``f = int N^T rho g dV`` over its element set, ``g`` the unit direction
      (``magnitude`` = the acceleration).
    * nodal forces i: ``f`` the forces of the load's nodes (``magnitude`` = its value).
    Online: ``F_red(t) = magnitude * table(t) * phi_f``.

    Faces: each rank computes the faces that touch its own nodes and keeps the
    contributions to its own nodes; bodies: each rank its own elements (ext numbering)."""
    mesh = layout.mesh
    d = layout.dim
    k = modes.shape[1]
    comm = layout.comm
    a, b = layout.node_range
    Phi_own = np.asarray(modes).reshape(layout.n_own, d, k)
    out = {kind: [] for kind in LOAD_KINDS}
    if problem is None:
        return out
    axi = is_axisymmetric(mesh.element_types)
    thick = element_thickness(mesh, problem) if mesh.dim == 2 and not axi else None
    if thick is not None and np.all(thick == 1.0):
        thick = None
    blocks = [(b.etype, b.connectivity) for b in mesh.blocks]
    for ld in problem.pressure:
        faces = mesh.face_set(ld.face_set)
        val = ld.value
        scalar = np.ndim(val) == 0
        proj = np.zeros(k)
        offset = 0
        for ftype, conn in faces.items():
            conn = np.asarray(conn, dtype=np.int64)
            n_f = conn.shape[0]
            if scalar:
                p = 1.0
            else:
                v = np.asarray(val, dtype=float)
                if ld.per == "face":
                    p = v[offset:offset + n_f]
                elif ld.per == "node":  # per mesh node, or per node of the set (sorted)
                    set_nodes = np.unique(np.concatenate([np.ravel(f) for f in faces.values()]))
                    if v.shape[0] == mesh.n_nodes:
                        p = v[conn]
                    elif v.shape[0] == set_nodes.size:
                        p = v[np.searchsorted(set_nodes, conn)]
                    else:
                        raise InputError(f"pressure on {ld.face_set}: {v.shape[0]} nodal values, expected "
                                         f"{mesh.n_nodes} or {set_nodes.size}")
                else:
                    p = v
            offset += n_f
            touch = np.any((conn >= a) & (conn < b), axis=1)
            if not touch.any():
                continue
            c = conn[touch]
            if np.ndim(p) >= 1 and np.shape(p)[0] == n_f:
                p = np.asarray(p)[touch]
            used, inv = np.unique(c, return_inverse=True)
            fk = FaceKernel(ftype, mesh.coordinates[used], inv.reshape(c.shape), axisymmetric=axi,
                            thickness=None if thick is None else face_thickness(blocks, c, thick))
            f = fk.pressure_forces(p).reshape(-1, d)
            own = (used >= a) & (used < b)
            proj += np.einsum("ni,nik->k", f[own], Phi_own[used[own] - a])
        if comm.Get_size() > 1:
            proj = comm.allreduce(proj)
        out["pressure"].append(dict(phi_f=proj, magnitude=float(val) if scalar else 1.0,
                                    face_set=ld.face_set, table=ld.table or ""))
    if problem.centrifugal or problem.gravity:
        mats = element_materials(mesh, problem)
        dens = np.array([float(m.spec.get("density") or 0.0) for m in problem.materials] + [0.0])
        rho_el = dens[mats]  # -1 -> last (0)
        Phi_ext = layout.gather_ext(Phi_own.reshape(layout.n_own, d * k)).reshape(-1, d, k)

    def body(element_set, vector, what):
        """Phi^T int N^T rho v(x) dV over the set (v: (e, q, d) coordinates -> (e, q, d))."""
        in_set = np.zeros(mesh.n_elements, dtype=bool)
        in_set[mesh.element_set(element_set)] = True
        proj = np.zeros(k)
        for i, blk in enumerate(layout.blocks):
            sel = in_set[blk["elements"]]
            if not sel.any():
                continue
            rho = rho_el[blk["elements"]][sel]
            if np.any(rho <= 0):
                raise InputError(f"{what} on '{element_set}': an element has no material density")
            ker = layout.kernel(i)
            fq = rho[:, None, None] * vector(ker.ip_coordinates()[sel]) * ker.dV[sel][..., None]   # (e, q, d)
            fe = np.matmul(ker.N.T, fq)                                     # (e, a, d)
            ph = Phi_ext[blk["conn_ext"][sel]]                              # (e, a, d, k)
            proj += np.einsum("ead,eadk->k", fe, ph, optimize=True)
        return comm.allreduce(proj) if comm.Get_size() > 1 else proj

    for ld in problem.centrifugal:
        axis = np.asarray(ld.axis, dtype=float)[:d]
        axis = axis / np.linalg.norm(axis)
        center = np.asarray(ld.center, dtype=float)[:d]

        def radial(x, axis=axis, center=center):
            xq = x - center
            return xq - np.einsum("eqd,d->eq", xq, axis)[..., None] * axis
        out["centrifugal"].append(dict(phi_f=body(ld.element_set, radial, "centrifugal load"),
                                       magnitude=float(ld.omega2), element_set=ld.element_set,
                                       table=ld.table or "", center=list(map(float, ld.center)),
                                       axis=list(map(float, ld.axis))))
    for ld in problem.gravity:
        g = np.asarray(ld.direction, dtype=float)[:d]
        out["gravity"].append(dict(phi_f=body(ld.element_set, lambda x, g=g: np.broadcast_to(g, x.shape), "gravity"),
                                   magnitude=float(ld.value), element_set=ld.element_set, table=ld.table or "",
                                   direction=list(map(float, ld.direction))))
    for ld in problem.nodal_forces:
        nodes = np.asarray(ld.nodes, dtype=np.int64)
        F = np.asarray(ld.forces, dtype=float).reshape(nodes.size, -1)
        own = (nodes >= a) & (nodes < b)
        proj = np.einsum("ni,nik->k", F[own], Phi_own[nodes[own] - a])
        if comm.Get_size() > 1:
            proj = comm.allreduce(proj)
        out["nodal"].append(dict(phi_f=proj, magnitude=float(ld.value), name=ld.name, table=ld.table or "",
                                 n_nodes=int(nodes.size), resultant=F.sum(axis=0).tolist()))
    return out


def hourglass_modulus_constant(law, problem, material_name="") -> float:
    """The hourglass modulus c (:func:`romnet.fe.hourglass_modulus`) of ``law`` under the
    temperatures of ``problem``: the law's value at its reference temperature without a
    temperature field, else its value over the field's range, which must be constant (the
    reduced hourglass operator ``c Phi^T K_hg Phi`` is then exact); raises UnsupportedError
    otherwise."""
    th = getattr(law, "thermal", None)
    t_ref = th.ref_temperature if th is not None else 0.0
    if problem is None or problem.temperature is None:
        return float(hourglass_modulus(law, [t_ref])[0])
    f = np.asarray(problem.temperature.fields, dtype=float)
    T = np.linspace(float(f.min()), float(f.max()), 65)
    c = hourglass_modulus(law, T)
    if np.ptp(c) > 1e-12 * np.abs(c).max():
        raise UnsupportedError(
            f"material on '{material_name}': hourglass-controlled elements (c3d8r, cpe4r, cps4r, cax4r) "
            f"with a temperature-dependent modulus ({c.min():.6g} .. {c.max():.6g} over "
            f"{T[0]:g} .. {T[-1]:g}): the reduced hourglass forces would not be exact; use a constant "
            "modulus or full-integration elements for the ROM")
    return float(c[0])


def reduced_hourglass(layout, problem, modes):
    """Reduced hourglass stiffness per material, or None when the mesh has no
    hourglass-controlled element: ``{"matrices": (n_mat, k, k) sum_e Phi_e^T K_hg,e Phi_e``
    per unit modulus (:func:`romnet.fe.hourglass_matrices`), ``"modulus": (n_mat,)`` the
    training problem's constant modulus of each material (NaN where unused)}. Online:
    ``f_hg = sum_m c_m matrices[m] a`` (exact for a constant modulus). Each rank sums its own
    elements; one allreduce."""
    mesh = layout.mesh
    if not any(get_element_type(b.etype).hourglass for b in mesh.blocks):
        return None
    d = layout.dim
    k = modes.shape[1]
    n_mat = len(problem.materials) if problem is not None else 0
    mats = element_materials(mesh, problem)
    Phi_ext = layout.gather_ext(np.asarray(modes).reshape(layout.n_own, d * k)).reshape(-1, d, k)
    out = np.zeros((max(n_mat, 1), k, k))
    used = np.zeros(max(n_mat, 1))
    for i, blk in enumerate(layout.blocks):
        if not get_element_type(blk["etype"]).hourglass:
            continue
        H = hourglass_matrices(layout.kernel(i))                           # (e, nd, nd)
        ph = Phi_ext[blk["conn_ext"]].reshape(H.shape[0], -1, k)           # (e, nd, k)
        m = mats[blk["elements"]]
        if np.any(m < 0):
            raise InputError("an hourglass-controlled element has no material")
        HP = np.matmul(H, ph)
        for j in np.unique(m):
            sel = m == j
            out[j] += np.einsum("eak,eal->kl", ph[sel], HP[sel], optimize=True)
            used[j] = 1.0
    if layout.comm.Get_size() > 1:
        buf = layout.comm.allreduce(np.concatenate([out.ravel(), used]))
        out, used = buf[:out.size].reshape(out.shape), buf[out.size:]
    modulus = np.full(max(n_mat, 1), np.nan)
    for j in np.flatnonzero(used):
        law = build_law(problem.materials[j].spec)
        modulus[j] = hourglass_modulus_constant(law, problem, problem.materials[j].element_set)
    return dict(matrices=out, modulus=modulus)


def _same_direction(u, v):
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    return np.allclose(u / np.linalg.norm(u), v / np.linalg.norm(v))


#: load kinds of /rom/operators/loads: the problem's list of such loads, what a loading's load
#: must share with the ROM's (only the magnitude and the table may change), its magnitude
LOAD_KINDS = {
    "pressure": (lambda pb: pb.pressure,
                 lambda ld, r: ld.face_set == r["face_set"],
                 lambda ld: float(ld.value) if np.ndim(ld.value) == 0 else 1.0),
    "centrifugal": (lambda pb: pb.centrifugal,
                    lambda ld, r: (ld.element_set == r["element_set"] and np.allclose(ld.center, r["center"])
                                   and _same_direction(ld.axis, r["axis"])),
                    lambda ld: float(ld.omega2)),
    "gravity": (lambda pb: pb.gravity,
                lambda ld, r: ld.element_set == r["element_set"] and _same_direction(ld.direction, r["direction"]),
                lambda ld: float(ld.value)),
    "nodal": (lambda pb: pb.nodal_forces,
              lambda ld, r: (len(ld.nodes) == int(r["n_nodes"]) and np.allclose(
                  np.asarray(ld.forces, dtype=float).reshape(len(ld.nodes), -1).sum(axis=0), r["resultant"],
                  rtol=1e-12, atol=1e-300)),
              lambda ld: float(ld.value)),
}


def load_tree(loads) -> dict:
    """``/rom/operators/loads`` subtree of :func:`reduced_loads`' output:
    ``{kind: {"000": {phi_f, magnitude, table, ...}, ...}}``."""
    return {kind: {f"{i:03d}": {key: (np.asarray(v) if key == "phi_f" else v) for key, v in d.items()}
                   for i, d in enumerate(items)} for kind, items in loads.items()}

