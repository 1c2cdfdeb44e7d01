"""MPI helpers.

romnet runs unchanged without ``mpirun`` (one rank). ``comm()`` gives ``MPI.COMM_WORLD``
when mpi4py is importable, else :class:`SerialComm`, which implements the few collective
calls romnet uses with one-rank semantics.
"""
from __future__ import annotations

import numpy as np


class SerialComm:
    """Stand-in for a one-rank communicator (mpi4py missing)."""

    rank = 0
    size = 1

    def Get_rank(self):
        return 0

    def Get_size(self):
        return 1

    def allreduce(self, value, op=None):
        return value

    def Allreduce(self, send, recv, op=None):
        recv[...] = send

    def allgather(self, value):
        return [value]

    def bcast(self, value, root=0):
        return value

    def Barrier(self):
        pass

    barrier = Barrier


_COMM = None


def comm():
    """The world communicator (cached)."""
    global _COMM
    if _COMM is None:
        try:
            from mpi4py import MPI
            _COMM = MPI.COMM_WORLD
        except ImportError:  # pragma: no cover - mpi4py is a dependency
            _COMM = SerialComm()
    return _COMM


def local_range(n: int, communicator=None) -> tuple[int, int]:
    """Contiguous block [start, stop) of ``n`` items owned by this rank (balanced)."""
    c = communicator or comm()
    size, rank = c.Get_size(), c.Get_rank()
    counts = np.full(size, n // size)
    counts[: n % size] += 1
    start = int(counts[:rank].sum())
    return start, start + int(counts[rank])


def is_root(communicator=None) -> bool:
    return (communicator or comm()).Get_rank() == 0


def rprint(*args, communicator=None, **kw):
    """print on rank 0 only (flushes)."""
    if is_root(communicator):
        print(*args, **kw, flush=True)
