"""``*INITIAL CONDITIONS, TYPE=STRESS | PLASTIC STRAIN`` -> integration-point fields.

Data lines: CalculiX ``element, integration point, v11, v22, v33, v12, v13, v23`` (ip
1-based in the element's CalculiX order); Abaqus ``element_or_elset, v11, v22, v33, v12,
v13, v23`` (constant over the element). Components are permuted to romnet's storage order
``11 22 33 12 23 31`` (tensorial shear, as both codes store strains); points not listed
are 0. The values go to the element's integration points in romnet's order; where romnet
runs an element with another rule than the deck's (a reduced-integration type run fully
integrated), values constant over the element are carried over exactly, others are
refused. ``USER`` (the stresses of a user subroutine) is refused.
"""
from __future__ import annotations

import numpy as np

from romnet.errors import UnsupportedError
from romnet.fe.elements import get_element_type

from .numeric import to_float, to_int

#: deck order 11 22 33 12 13 23 -> romnet 11 22 33 12 23 31
PERM = [0, 1, 2, 3, 5, 4]


class InitialField:
    """Values (element, source ip or -1 for the whole element) of one initial field."""

    def __init__(self, what):
        self.what = what
        self.entries = {}           # (element index, ip) -> (values (6,), where)

    def read(self, kw, elements_of, dialect):
        if "USER" in kw.params:
            raise kw.error(f"TYPE={kw.param('TYPE')}, USER: the values come from a user subroutine "
                           "(SIGINI) compiled into the solver, which romnet cannot call; give them as data "
                           "lines", cls=UnsupportedError)
        per_ip = dialect == "calculix"
        n_key = 2 if per_ip else 1
        for ln, toks in kw.data:
            toks = [t for t in toks if t != ""]
            if len(toks) < n_key + 1 or len(toks) > n_key + 6:
                raise kw.error(f"expected '{'element, ip' if per_ip else 'element_or_set'}, v11, v22, v33, "
                               f"v12, v13, v23', got {len(toks)} values", ln)
            _, els = elements_of(toks[0], kw, ln)
            ip = to_int(toks[1], kw.path, ln, "integration point") - 1 if per_ip else -1
            if per_ip and ip < 0:
                raise kw.error(f"integration point numbers start at 1, got {ip + 1}", ln)
            v = np.zeros(6)
            vals = [to_float(t, kw.path, ln, self.what) for t in toks[n_key:]]
            v[:len(vals)] = vals
            v = v[PERM]
            for e in np.asarray(els).tolist():
                self.entries[(int(e), ip)] = (v, f"{kw.path}:{ln}")

    def __bool__(self):
        return bool(self.entries)

    def ip_values(self, dm) -> np.ndarray:
        """(n_ip_total, 6) in romnet's integration-point order."""
        mesh = dm.mesh
        offs = mesh.block_offsets()
        n_ip = np.array([get_element_type(b.etype).n_ip for b in mesh.blocks])
        el_block = np.searchsorted(offs, np.arange(mesh.n_elements), side="right") - 1
        ip0 = np.zeros(mesh.n_elements + 1, dtype=np.int64)
        ip0[1:] = np.cumsum(n_ip[el_block])
        out = np.zeros((int(ip0[-1]), 6))
        by_el = {}
        for (e, ip), (v, where) in self.entries.items():
            by_el.setdefault(e, []).append((ip, v, where))
        for e, items in by_el.items():
            b = int(el_block[e])
            n_rom, n_src = int(n_ip[b]), int(dm.source_n_ip[b])
            if items[0][0] == -1:                   # Abaqus: one value per element
                out[ip0[e]:ip0[e + 1]] = items[-1][1]
                continue
            for ip, v, where in items:
                if ip >= n_src:
                    raise _error(f"integration point {ip + 1} of element {int(dm.element_ids[e])}: its type "
                                 f"{dm.source_types[b]} has {n_src}", where)
            if n_src == n_rom:
                for ip, v, _ in items:
                    out[ip0[e] + ip] = v
                continue
            vals = {ip: v for ip, v, _ in items}
            first = items[0][1]
            if len(vals) != n_src or any(not np.array_equal(v, first) for v in vals.values()):
                raise _error(f"{self.what} varies over element {int(dm.element_ids[e])} ({dm.source_types[b]}, "
                             f"{n_src} points), which romnet integrates with {n_rom} points: the values cannot "
                             "be carried over", items[0][2], UnsupportedError)
            out[ip0[e]:ip0[e + 1]] = first
        return out


def _error(msg, where, cls=None):
    from romnet.errors import InputError
    path, _, line = where.rpartition(":")
    return (cls or InputError)(f"*INITIAL CONDITIONS: {msg}", path, line)
