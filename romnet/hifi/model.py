"""Discrete model of one rank: element kernels of its elements, material per integration
point, law evaluation and assembly data.

Local integration points (this rank's "ips") are ordered block by block, inside a block
element by element in increasing global element index, inside an element in the element's
own ip order. ``ip_global`` maps them to the global store order (element by element in
global element order). Laws are grouped by material assignment (``problem.materials``;
a later assignment overrides an earlier one on shared elements, like
:func:`romnet.verify_law.material_of_points`). Law states are kept per material as
(n_points_of_material_here, n_state) arrays; the "state" output field packs them into
(n_ip, n_state_max) rows (zero padded).

Element formulations (``docs/conventions.md``): plane (strain/stress) kernels get the
``thickness`` of their material assignment (default 1); the law of a material on
plane-stress elements is wrapped in :class:`romnet.fe.plane_stress.PlaneStressLaw`
(sigma33 = 0 solved at each point; its e33 is the last state variable, and
:meth:`Model.integrate` writes it into the strain it is given); uniform-strain elements
(c3d8r, ...) add the hourglass forces ``c_e K_hg,e u_e`` (:mod:`romnet.fe.hourglass`, ``c_e``
the law's modulus at the element's temperature) to :meth:`internal_forces` and
:meth:`matrix_values`.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..fe import ElementKernel, get_element_type, hourglass_matrices, hourglass_modulus
from ..fe.plane_stress import PlaneStressLaw, wrap_law
from ..materials import build_law
from ..sections import element_materials, element_thickness
from .initial import strain_stress_offsets, temperature_matrices

__all__ = ["Model"]


class Model:
    def __init__(self, mesh, problem, layout, temperature_at_ips=None):
        if temperature_at_ips not in (None, "interpolate", "element_mean"):
            raise InputError(f"temperature_at_ips {temperature_at_ips!r} unknown (interpolate, element_mean)")
        self.temperature_at_ips = temperature_at_ips
        self.mesh, self.problem, self.layout = mesh, problem, layout
        self.dim = mesh.dim
        X = mesh.coordinates[layout.local_nodes]
        offsets = mesh.block_offsets()
        # materials (and section thickness of plane elements) per element
        elem_mat = element_materials(mesh, problem)
        thick = element_thickness(mesh, problem)
        # global ip offsets per block
        ipo = [0]
        self.kernels, self.ip_slices, ip_global = [], [], []
        start = 0
        for bi, b in enumerate(mesh.blocks):
            els = layout.block_elements[bi]
            plane = get_element_type(b.etype).kinematics in ("plane_strain", "plane_stress")
            k = ElementKernel(b.etype, X, layout.g2l[b.connectivity[els - offsets[bi]]],
                              thickness=thick[els] if plane else None)
            n = els.size * k.n_ip
            self.kernels.append((bi, k, els))
            self.ip_slices.append(slice(start, start + n))
            ip_global.append(ipo[-1] + ((els - offsets[bi])[:, None] * k.n_ip + np.arange(k.n_ip)).ravel())
            start += n
            ipo.append(ipo[-1] + b.n_elements * k.n_ip)
        self.n_ip = start
        self.n_ip_total = ipo[-1]
        self.ip_global = np.concatenate(ip_global) if ip_global else np.zeros(0, np.int64)
        # materials
        mine = np.concatenate([els for _, _, els in self.kernels])
        if np.any(elem_mat[mine] < 0):
            first = int(mine[np.flatnonzero(elem_mat[mine] < 0)[0]])
            ids = np.concatenate([b.element_ids for b in mesh.blocks])
            raise InputError(f"element index {first} (source id {int(ids[first])}) has no material assignment")
        self.elem_mat = elem_mat
        self.point_mat = np.concatenate([np.repeat(elem_mat[els], k.n_ip) for _, k, els in self.kernels]) \
            if self.kernels else np.zeros(0, np.int64)
        plane_stress = np.concatenate([np.full(els.size * k.n_ip, k.kinematics == "plane_stress")
                                       for _, k, els in self.kernels]) if self.kernels else np.zeros(0, bool)
        self.laws = [wrap_law(build_law(m.spec), plane_stress[self.point_mat == i], m.element_set)
                     for i, m in enumerate(problem.materials)]
        self.mat_points = [np.flatnonzero(self.point_mat == i) for i in range(len(self.laws))]
        # hourglass stiffness per unit modulus of the uniform-strain blocks
        self.hourglass = [hourglass_matrices(k) if k.etype.hourglass else None for _, k, _ in self.kernels]
        self.n_state_max = max([law.n_state for law in self.laws] + [0])
        names = []
        for law in self.laws:
            for j, nm in enumerate(law.state_names):
                if j >= len(names):
                    names.append(nm)
                elif names[j] != nm:
                    names[j] = f"{names[j]}|{nm}"
        self.state_names = names or ["none"]
        self.symmetric = all(self._law_symmetric(law) for law in self.laws)
        # element-matrix COO pattern in global (new) DOFs
        rows, cols = [], []
        for _, k, _ in self.kernels:
            gd = layout.local_dofs[k.element_dofs()]                  # (e, nd)
            nd = gd.shape[1]
            rows.append(np.repeat(gd, nd, axis=1).ravel())
            cols.append(np.tile(gd, (1, nd)).ravel())
        self.coo_rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        self.coo_cols = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        self.ip_coordinates = (np.concatenate([k.ip_coordinates().reshape(-1, self.dim) for _, k, _ in self.kernels])
                               if self.kernels else np.zeros((0, self.dim)))
        self.ref_temperature = np.zeros(self.n_ip)
        for i, law in enumerate(self.laws):
            if law.thermal is not None:
                self.ref_temperature[self.mat_points[i]] = law.thermal.ref_temperature
        # temperature at the ips and the initial state: the conventions of the code that
        # wrote the deck (romnet.hifi.initial)
        rules = problem.temperature_at_ips if temperature_at_ips is None else \
            [temperature_at_ips] * len(mesh.blocks)
        self.temperature_ops = temperature_matrices(self.kernels, rules)
        self.strain_offset, self.stress_offset = strain_stress_offsets(self, problem)

    @staticmethod
    def _law_symmetric(law):
        """True when the law's consistent tangent is symmetric (``law.symmetric_tangent``;
        the plane-stress wrapper forwards it: the condensation keeps the symmetry)."""
        return bool(getattr(law, "symmetric_tangent", False))

    # ------------------------------------------------------------------ states
    def initial_states(self):
        return [law.initial_state(p.size) for law, p in zip(self.laws, self.mat_points)]

    def pack_states(self, states):
        """(n_ip, n_state_max) packed law states (zero padded)."""
        out = np.zeros((self.n_ip, max(self.n_state_max, 1)))
        for law, p, s in zip(self.laws, self.mat_points, states):
            out[p, :law.n_state] = s
        return out

    def unpack_states(self, packed):
        packed = np.asarray(packed, dtype=float).reshape(self.n_ip, -1)
        return [packed[p, :law.n_state].copy() for law, p in zip(self.laws, self.mat_points)]

    # ------------------------------------------------------------------ fields
    def temperature(self, t):
        """(n_ip,) temperature at the local ips at time t (reference temperature of each
        law when the problem has no temperature, i.e. no thermal strain). Interpolated with
        the problem's rule per block (``problem.temperature_at_ips``: shape functions by
        default, CalculiX's element mean / trilinear projection), or the rule the model was
        built with (:func:`romnet.hifi.initial.ip_temperature_matrix`)."""
        if self.problem.temperature is None:
            return self.ref_temperature.copy()
        tn = self.problem.temperature.at(t)[self.layout.local_nodes]
        out = np.empty(self.n_ip)
        for (_, k, _), sl, A in zip(self.kernels, self.ip_slices, self.temperature_ops):
            out[sl] = (tn[k.connectivity] @ A.T).ravel()
        return out

    def strain(self, U_local, states=None):
        """(n_ip, 6) Mandel strains of the local displacement; with ``states`` (list per
        material) the e33 of plane-stress points is taken from their law states."""
        U = U_local.reshape(-1, self.dim)
        out = np.empty((self.n_ip, 6))
        for (_, k, _), sl in zip(self.kernels, self.ip_slices):
            out[sl] = k.strain(U).reshape(-1, 6)
        if states is not None:
            for law, p, st in zip(self.laws, self.mat_points, states):
                if isinstance(law, PlaneStressLaw) and p.size:
                    out[p, 2] = law.thickness_strain(st)
        return out

    def integrate(self, strain, temperature, dt, states, tangent=True):
        """Law integration at every local ip. Returns stress (n_ip, 6), tangent
        (n_ip, 6, 6) or None, new states (list), converged (n_ip,) bool, max iterations.
        The law sees ``strain + strain_offset`` and its stress gets ``stress_offset``
        (initial temperature, plastic strain and stress: :mod:`romnet.hifi.initial`). At
        plane-stress points, ``strain[:, 2]`` is overwritten with the solved e33 (less the
        offset)."""
        off = self.strain_offset
        stress = np.empty((self.n_ip, 6))
        D = np.empty((self.n_ip, 6, 6)) if tangent else None
        ok = np.ones(self.n_ip, dtype=bool)
        new, it = [], 0
        for law, p, s in zip(self.laws, self.mat_points, states):
            if p.size == 0:
                new.append(s)
                continue
            with np.errstate(all="ignore"):
                r = law.integrate(strain[p] if off is None else strain[p] + off[p], temperature[p], dt, s,
                                  tangent=tangent)
            stress[p] = r.stress
            if tangent:
                D[p] = r.tangent
            if isinstance(law, PlaneStressLaw):
                strain[p, 2] = law.thickness_strain(r.state) - (0.0 if off is None else off[p, 2])
            ok[p] = r.converged & np.all(np.isfinite(r.stress), axis=1)
            new.append(r.state)
            it = max(it, int(r.iterations))
        if self.stress_offset is not None:
            stress += self.stress_offset
        return stress, D, new, ok, it

    @property
    def has_hourglass(self) -> bool:
        return any(h is not None for h in self.hourglass)

    def hourglass_coefficients(self, temperature):
        """Per block with hourglass control: (n_el,) modulus c_e at the element's (single)
        integration point temperature (``temperature`` (n_ip,) local ips); None elsewhere."""
        out = []
        for (_, k, els), sl, H in zip(self.kernels, self.ip_slices, self.hourglass):
            if H is None:
                out.append(None)
                continue
            T = np.asarray(temperature, dtype=float)[sl]
            mat = self.elem_mat[els]
            c = np.zeros(els.size)
            for i in np.unique(mat):
                m = mat == i
                c[m] = hourglass_modulus(self.laws[i], T[m])
            out.append(c)
        return out

    def _hourglass_args(self, U_local, temperature, need_u=True):
        if not self.has_hourglass:
            return None
        if temperature is None or (need_u and U_local is None):
            raise InputError("elements with hourglass control (c3d8r, cpe4r, ...) need the displacement "
                             "and the temperature for their internal forces and stiffness")
        return self.hourglass_coefficients(temperature)

    def internal_forces(self, stress, U_local=None, temperature=None):
        """Local-form (n_local,) vector sum B^T sigma dV of this rank's elements, plus the
        hourglass forces c_e K_hg u_e (``U_local`` (n_local,), ``temperature`` (n_ip,) at
        the local ips: needed only when the mesh has hourglass-controlled elements)."""
        coef = self._hourglass_args(U_local, temperature)
        f = np.zeros(self.layout.n_local)
        for j, ((_, k, _), sl) in enumerate(zip(self.kernels, self.ip_slices)):
            f += k.internal_forces(stress[sl].reshape(k.n_elements, k.n_ip, 6), n_dofs=self.layout.n_local)
            if coef is not None and coef[j] is not None:
                ue = np.asarray(U_local)[k.element_dofs()]                     # (e, nd)
                fe = coef[j][:, None] * np.einsum("eij,ej->ei", self.hourglass[j], ue)
                f += np.bincount(k.element_dofs().ravel(), weights=fe.ravel(), minlength=self.layout.n_local)
        return f

    def matrix_values(self, D, temperature=None):
        """COO values (matching coo_rows / coo_cols) of the tangent stiffness (with the
        hourglass stiffness c_e K_hg when the mesh has such elements: ``temperature``)."""
        coef = self._hourglass_args(None, temperature, need_u=False)
        vals = []
        for j, ((_, k, _), sl) in enumerate(zip(self.kernels, self.ip_slices)):
            Ke = k.element_stiffness(D[sl].reshape(k.n_elements, k.n_ip, 6, 6))
            if coef is not None and coef[j] is not None:
                Ke += coef[j][:, None, None] * self.hourglass[j]
            vals.append(Ke.ravel())
        return np.concatenate(vals) if vals else np.zeros(0)

    def plastic_fields(self, states):
        """(p (n_ip,), plastic_strain Mandel (n_ip, 6)) from the law states."""
        p = np.zeros(self.n_ip)
        ep = np.zeros((self.n_ip, 6))
        for law, pts, s in zip(self.laws, self.mat_points, states):
            if pts.size:
                p[pts] = law.cumulated_plastic_strain(s)
                ep[pts] = law.plastic_strain(s)
        return p, ep

