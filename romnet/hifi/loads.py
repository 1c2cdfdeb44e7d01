"""External loading at time t, distributed.

* Pressure (:class:`romnet.problem.Pressure`): nodal forces ``-int p n N dA``
  (:class:`romnet.fe.FaceKernel`; positive pressure pushes against the outward normal;
  ``dA`` over the full circumference for axisymmetric meshes, times the section thickness
  of the bounded element for plane meshes),
  ``p = value * table(t)``; ``per="uniform"`` scalar, ``"face"`` one value per face of the
  set (face types in the set's dict order, faces in set order), ``"node"`` one value per
  mesh node (or per node of the face set, sorted node indices), interpolated on the face.
  A face is integrated by the rank that owns its first node; its forces are added with
  global DOF indices.
* Centrifugal (:class:`romnet.problem.Centrifugal`): body force
  ``rho * omega2 * table(t) * r_perp`` on the elements of the set, ``r_perp`` the vector
  from the axis (through ``center``, direction ``axis``) to the point, perpendicular to the
  axis, ``rho`` the ``density`` of the element's material. The Z-set adapter stores
  ``omega2 = value**2`` and the squared table (Z-set's value is an angular rate); this was
  confirmed against Z-set's displacements (docs/hifi.md).
* Gravity (:class:`romnet.problem.Gravity`): body force ``rho * value * table(t) *
  direction`` on the elements of the set.
* Nodal forces (:class:`romnet.problem.NodalForce`): ``value * table(t) * forces[i]`` on
  node ``nodes[i]``, added by the rank that owns the node.
* Dirichlet conditions and multi-point constraints: :mod:`romnet.hifi.constraints`.
* Temperature: :meth:`romnet.hifi.model.Model.temperature`.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..fe import FaceKernel, face_thickness, is_axisymmetric
from ..sections import element_thickness

__all__ = ["Loads", "table_value"]


def table_value(problem, name, t):
    """Value of table ``name`` (None: 1) at time t (periodic tables: see TimeTable)."""
    return float(problem.table(name)(t))


class Loads:
    def __init__(self, mesh, problem, layout, model):
        self.mesh, self.problem, self.layout, self.model = mesh, problem, layout, model
        lay, d = layout, mesh.dim
        # ---------------- pressure: (global new dof indices, unit values, table) per load
        self.pressure = []
        axi = is_axisymmetric(mesh.element_types)  # faces over the full circumference
        thick = element_thickness(mesh, problem) if mesh.dim == 2 and not axi else None
        blocks = [(b.etype, b.connectivity) for b in mesh.blocks]
        for pr in problem.pressure:
            faces = mesh.face_set(pr.face_set)
            idx_all, val_all = [], []
            offset = 0
            value = np.asarray(pr.value, dtype=float)
            set_nodes = np.unique(np.concatenate([f.ravel() for f in faces.values()])) if faces else np.zeros(0, int)
            for ft, conn in faces.items():
                conn = np.asarray(conn, dtype=np.int64)
                nf = conn.shape[0]
                mine = lay.node_owner[conn[:, 0]] == lay.rank
                if pr.per == "uniform":
                    v = float(value)
                elif pr.per == "face":
                    if value.shape[0] < offset + nf:
                        raise InputError(f"pressure on {pr.face_set}: {value.shape[0]} face values for "
                                         f"more faces")
                    v = value[offset:offset + nf][mine]
                elif pr.per == "node":
                    if value.shape[0] == mesh.n_nodes:
                        v = value[conn[mine]]
                    elif value.shape[0] == set_nodes.size:
                        v = value[np.searchsorted(set_nodes, conn[mine])]
                    else:
                        raise InputError(f"pressure on {pr.face_set}: {value.shape[0]} nodal values, expected "
                                         f"{mesh.n_nodes} (mesh nodes) or {set_nodes.size} (set nodes)")
                else:
                    raise InputError(f"pressure on {pr.face_set}: per={pr.per!r} unknown (uniform, face, node)")
                offset += nf
                if not mine.any():
                    continue
                t_f = face_thickness(blocks, conn[mine], thick) if thick is not None and np.any(thick != 1) else None
                fk = FaceKernel(ft, mesh.coordinates, conn[mine], axisymmetric=axi, thickness=t_f)
                p = fk.pressure_at_ips(v)
                t = -(p * fk.dA)[..., None] * fk.normals
                fe = np.matmul(fk.N.T, t)                                  # (f, fn, dim)
                idx = lay.new_of_node[conn[mine]][:, :, None] * d + np.arange(d)
                idx_all.append(idx.ravel())
                val_all.append(fe.ravel())
            idx = np.concatenate(idx_all) if idx_all else np.zeros(0, np.int64)
            val = np.concatenate(val_all) if val_all else np.zeros(0)
            self.pressure.append((idx, val, pr.table))
        # ---------------- centrifugal and gravity: local-form unit force vectors
        self.centrifugal = []
        for cf in problem.centrifugal:
            axis = np.asarray(cf.axis, dtype=float)
            axis = axis / np.linalg.norm(axis)
            center = np.asarray(cf.center, dtype=float)

            def radial(x, axis=axis, center=center):
                x = x - center
                return x - np.einsum("eqd,d->eq", x, axis)[..., None] * axis
            f = self._body_force(cf.element_set, radial, "centrifugal load")
            self.centrifugal.append((f, float(cf.omega2), cf.table))
        for gv in problem.gravity:
            g = np.asarray(gv.direction, dtype=float)[:d]
            f = self._body_force(gv.element_set, lambda x, g=g: np.broadcast_to(g, x.shape), "gravity")
            self.centrifugal.append((f, float(gv.value), gv.table))
        # ---------------- nodal forces: owned positions, unit values
        self.nodal = []
        for nf in problem.nodal_forces:
            nodes = np.asarray(nf.nodes, dtype=np.int64)
            F = np.asarray(nf.forces, dtype=float).reshape(nodes.size, -1)
            if F.shape[1] != d:
                raise InputError(f"nodal forces {nf.name}: {F.shape[1]} components, the mesh is {d}D")
            own = lay.node_owner[nodes] == lay.rank
            pos = ((lay.new_of_node[nodes[own]] - lay.owned_range[0])[:, None] * d + np.arange(d)).ravel()
            self.nodal.append((pos, F[own].ravel(), float(nf.value), nf.table))

    def _body_force(self, element_set, vector, what):
        """Local-form vector int N^T rho v(x) dV over the set's elements of this rank."""
        mesh, problem, model = self.mesh, self.problem, self.model
        in_set = np.zeros(mesh.n_elements, dtype=bool)
        in_set[mesh.element_set(element_set)] = True
        f = np.zeros(self.layout.n_local)
        for (_, k, els), sl in zip(model.kernels, model.ip_slices):
            rho = np.zeros(els.size)
            for i, law in enumerate(model.laws):
                sel = model.elem_mat[els] == i
                if not sel.any():
                    continue
                dens = law.density if law.density is not None else problem.materials[i].spec.get("density")
                if dens is None and np.any(in_set[els[sel]]):
                    raise InputError(f"{what} on {element_set}: material on "
                                     f"{problem.materials[i].element_set} has no density")
                rho[sel] = float(dens or 0.0)
            rho = rho * in_set[els]
            f += k.body_forces(rho[:, None, None] * vector(k.ip_coordinates()), n_dofs=self.layout.n_local)
        return f

    def external_forces(self, t, backend):
        """Owned block of the external force vector at time t."""
        loc = np.zeros(self.layout.n_local)
        for f, w2, tab in self.centrifugal:
            loc += (w2 * table_value(self.problem, tab, t)) * f
        out = backend.reverse_add(loc) if self.centrifugal else np.zeros(self.layout.n_owned)
        for pos, val, w, tab in self.nodal:
            out[pos] += (w * table_value(self.problem, tab, t)) * val
        if self.pressure:
            idx = np.concatenate([p[0] for p in self.pressure])
            val = np.concatenate([p[1] * table_value(self.problem, p[2], t) for p in self.pressure])
            out = out + backend.add_global(idx, val)
        return out
