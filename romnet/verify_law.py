"""``romnet verify-law``: re-integrate a store's material law along imported histories.

For every integration point, romnet's law is integrated from a virgin state along the
imported total strain (``strain`` field) and the temperature of the problem definition
(nodal temperature at each output time, interpolated to the integration points with the
element shape functions), with one increment per stored output. The resulting stress,
cumulated plastic strain and inelastic strain tensor are compared with the imported
``stress``, ``p`` and ``plastic_strain`` (each where the series has it: Z-set stores p for a
von Mises potential, ``<pot>cum``, and the inelastic strain tensor ``<pot>i..``; the
inelastic strain tensor is what verify-law compares where p is not stored).

Error measure per output k: ``||a_k - b_k||_2 / max(||b_k||_2, 1e-2 max_j ||b_j||_2)`` over
all integration points (all components for the stress), the convention of ``romnet
compare``: the floor keeps outputs where the reference (nearly) vanishes from dividing by
zero or by round-off, e.g. p before any plastic flow, and still measures spurious flow. It
matters on MecaSequentialBiMat, whose first output holds Norton creep of p = 1e-7 (3e-6 of
the peak): romnet's value there is converged (identical for local tolerances 1e-6 .. 1e-12)
and differs from Z-set's by 1.0e-2 relative, 1.9e-9 absolute, the size of Z-set's own local
Newton tolerance (1e-9, absolute); against the floor it is 3e-6. The report gives the
maximum over outputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError, RomnetError
from .metrics import relative_errors
from .store import CaseStore
from .tensors import mandel_to_storage, storage_to_mandel


@dataclass
class LawCheckReport:
    times: np.ndarray
    sigma_err: np.ndarray  # (n_t,) nan where the reference is zero
    p_err: np.ndarray
    max_local_iterations: int = 0
    eps_p_err: np.ndarray | None = None   # (n_t,) inelastic strain tensor, None if not stored
    notes: list = field(default_factory=list)

    @property
    def sigma_rel_err(self) -> float:
        return float(np.nanmax(self.sigma_err)) if np.any(np.isfinite(self.sigma_err)) else 0.0

    @property
    def p_rel_err(self) -> float:
        return float(np.nanmax(self.p_err)) if np.any(np.isfinite(self.p_err)) else 0.0

    @property
    def eps_p_rel_err(self):
        """Max over outputs of the inelastic strain tensor error, None if not stored."""
        if self.eps_p_err is None:
            return None
        return float(np.nanmax(self.eps_p_err)) if np.any(np.isfinite(self.eps_p_err)) else 0.0

    def summary(self) -> str:
        """The closing lines of ``romnet verify-law``: ``eps_p_rel_err=<z>`` (when the series
        stores the inelastic strain tensor), then ``sigma_rel_err=<x> p_rel_err=<y>`` last."""
        out = f"sigma_rel_err={self.sigma_rel_err:.3e} p_rel_err={self.p_rel_err:.3e}"
        if self.eps_p_err is not None:
            out = f"eps_p_rel_err={self.eps_p_rel_err:.3e}\n" + out
        return out

    def table(self) -> str:
        ep = self.eps_p_err is not None
        lines = ["output      time   sigma_rel_err   p_rel_err" + ("   eps_p_rel_err" if ep else "")]
        for k, t in enumerate(self.times):
            def f(x):
                return "      -" if not np.isfinite(x) else f"{x:9.2e}"
            row = f"{k:6d} {t:9.4g}     {f(self.sigma_err[k])}   {f(self.p_err[k])}"
            if ep:
                row += f"     {f(self.eps_p_err[k])}"
            lines.append(row)
        lines += self.notes
        return "\n".join(lines)


def _rel_errors(a, b):
    """(n_t,) relative errors of a vs reference b (:func:`romnet.metrics.relative_errors`,
    see the module docstring); nan where the reference vanishes altogether."""
    e = relative_errors(a, b)
    e[~np.isfinite(e)] = np.nan
    return e


def ip_kernels(mesh):
    """ElementKernel per block and the (start, stop) of its points in the global ip order."""
    from .fe import ElementKernel
    kernels, offset = [], 0
    for b in mesh.blocks:
        k = ElementKernel(b.etype, mesh.coordinates, b.connectivity)
        n = k.n_elements * k.n_ip
        kernels.append((k, offset, offset + n))
        offset += n
    return kernels, offset


def _element_id(mesh, index):
    ids = np.concatenate([b.element_ids for b in mesh.blocks])
    return int(ids[index])


def material_of_points(mesh, problem, kernels, n_ip_total):
    """(n_ip_total,) index into problem.materials of every integration point."""
    elem_mat = np.full(mesh.n_elements, -1, dtype=np.int64)
    for i, m in enumerate(problem.materials):
        elem_mat[mesh.element_set(m.element_set)] = i  # later assignments override
    if np.any(elem_mat < 0):
        first = int(np.flatnonzero(elem_mat < 0)[0])
        raise InputError(f"element index {first} (source id {_element_id(mesh, first)}) has no material assignment")
    point_mat = np.empty(n_ip_total, dtype=np.int64)
    offsets = mesh.block_offsets()
    for bi, (k, a, b) in enumerate(kernels):
        point_mat[a:b] = np.repeat(elem_mat[offsets[bi]:offsets[bi + 1]], k.n_ip)
    return point_mat


def verify_law(store_path, series="imported", progress=None) -> LawCheckReport:
    from .materials import build_law
    say = progress or (lambda m: None)
    with CaseStore(store_path) as st:
        if not st.has_problem():
            raise RomnetError(f"{store_path}: the store has no problem definition (materials, "
                              "temperature); import the case with its deck")
        mesh, problem = st.mesh(), st.problem()
        times = st.times(series)
        names = st.field_names(series, "integ")
        for need in ("strain", "stress"):
            if need not in names:
                raise RomnetError(f"{store_path}: series '{series}' has no integration-point field '{need}'")
        strain = st.read_field(series, "strain")
        stress = st.read_field(series, "stress")
        p_ref = st.read_field(series, "p")[..., 0] if "p" in names else None
        ep_ref = st.read_field(series, "plastic_strain") if "plastic_strain" in names else None

    kernels, n_ip_total = ip_kernels(mesh)
    if strain.shape[1] != n_ip_total:
        raise RomnetError(f"{store_path}: strain has {strain.shape[1]} integration points, the mesh "
                          f"gives {n_ip_total}")
    point_mat = material_of_points(mesh, problem, kernels, n_ip_total)
    from .fe.plane_stress import wrap_law
    plane_stress = np.concatenate([np.full(b - a, k.kinematics == "plane_stress") for k, a, b in kernels])
    # plane-stress elements: sigma33 = 0 solved by the wrapper (the imported e33 is not used)
    laws = [wrap_law(build_law(m.spec), plane_stress[point_mat == i], m.element_set)
            for i, m in enumerate(problem.materials)]

    def ip_temperature(t):
        if problem.temperature is None:
            return np.zeros(n_ip_total)
        tn = problem.temperature.at(t)
        out = np.empty(n_ip_total)
        for k, a, b in kernels:
            out[a:b] = k.interpolate(tn).ravel()
        return out

    n_t = len(times)
    sig = np.zeros_like(stress)
    p = np.zeros((n_t, n_ip_total))
    ep = np.zeros((n_t, n_ip_total, 6))
    states = {i: laws[i].initial_state(int(np.sum(point_mat == i))) for i in range(len(laws))}
    masks = {i: point_mat == i for i in range(len(laws))}
    max_it = 0
    eps_m = storage_to_mandel(strain)
    for k in range(n_t):
        dt = times[k] - times[k - 1] if k > 0 else 1.0
        if k > 0 and dt <= 0:
            raise RomnetError(f"{store_path}: output times not increasing at output {k}")
        if k == 0 and not np.any(strain[0]):
            continue  # virgin, stress-free initial output
        temp = ip_temperature(times[k])
        for i, law in enumerate(laws):
            m = masks[i]
            res = law.integrate(eps_m[k][m], temp[m], dt, states[i], tangent=False)
            if not np.all(res.converged):
                bad = int(np.sum(~res.converged))
                raise RomnetError(f"law integration did not converge at {bad} integration points "
                                  f"(output {k}, t={times[k]:g})")
            states[i] = res.state
            max_it = max(max_it, int(res.iterations))
            sig[k][m] = mandel_to_storage(res.stress)
            p[k][m] = law.cumulated_plastic_strain(res.state)
            ep[k][m] = mandel_to_storage(law.plastic_strain(res.state))
        say(f"   output {k}/{n_t - 1} t={times[k]:g}: integrated {n_ip_total} points")
    sig_err = _rel_errors(sig, stress)
    p_err = _rel_errors(p, p_ref) if p_ref is not None else np.full(n_t, np.nan)
    ep_err = _rel_errors(ep, ep_ref) if ep_ref is not None else None
    rep = LawCheckReport(times, sig_err, p_err, max_it, eps_p_err=ep_err)
    if p_ref is None:
        rep.notes.append("no imported 'p' field: p_rel_err not checked (reported 0)"
                         + ("; the inelastic strain tensor is compared instead" if ep_ref is not None else ""))
    return rep
