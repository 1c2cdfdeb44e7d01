"""MPI helpers.

romnet runs unchanged without ``mpirun`` (one rank). ``comm()`` gives ``MPI.COMM_WORLD``
when mpi4py is importable, else :class:`SerialComm`, which implements the few collective
calls romnet uses with one-rank semantics.
"""
from __future__ import annotations

import os
import sys

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


#: environment variables in which MPI launchers give the number of ranks (MPICH / Hydra,
#: Open MPI, PMIx, Slurm's srun)
LAUNCHER_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_NTASKS")


def launched_ranks() -> int:
    """Number of ranks the launcher started this process with (1 when no launcher variable
    says more), read from the environment without initialising MPI."""
    for k in LAUNCHER_SIZE_VARS:
        try:
            n = int(os.environ.get(k, "1"))
        except ValueError:
            continue
        if n > 1:
            return n
    return 1


def abort_on_uncaught(communicator=None) -> bool:
    """Under several ranks, make an uncaught exception end the whole job: the traceback is
    printed (rank-tagged) and ``Abort`` stops every rank. Without it the failing rank waits
    in ``MPI_Finalize`` while the others wait in their next collective call: a batch job
    that hangs until its wall-time limit. Installed by ``romnet`` (the command line) and the
    MPI benchmarks when a launcher started several ranks (:func:`launched_ranks`); errors
    romnet reports itself (:class:`romnet.errors.RomnetError`: bad input, the same on every
    rank) keep their message and exit code. Returns True when installed."""
    if communicator is None and launched_ranks() < 2:
        return False
    c = communicator or comm()
    if c.Get_size() < 2:
        return False
    previous = sys.excepthook

    def hook(kind, value, tb):
        sys.stderr.write(f"[rank {c.Get_rank()} of {c.Get_size()}] uncaught exception: aborting every rank\n")
        previous(kind, value, tb)
        sys.stderr.flush()
        c.Abort(1)
    sys.excepthook = hook
    return True


def local_range(n: int, communicator=None) -> tuple[int, int]:
    """Contiguous block [start, stop) of ``n`` items owned by this rank (balanced)."""
    c = communicator or comm()
    size, rank = c.Get_size(), c.Get_rank()
    counts = np.full(size, n // size)
    counts[: n % size] += 1
    start = int(counts[:rank].sum())
    return start, start + int(counts[rank])


def allreduce_array(x, communicator=None, op="sum"):
    """Allreduce (``op``: "sum", "max" or "min") of a float64 array through the buffer
    interface; on one rank the array itself (as contiguous float64)."""
    c = communicator or comm()
    x = np.ascontiguousarray(x, dtype=np.float64)
    if c.Get_size() == 1:
        return x
    from mpi4py import MPI
    out = np.empty_like(x)
    c.Allreduce(x, out, op={"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op])
    return out


def is_root(communicator=None) -> bool:
    return (communicator or comm()).Get_rank() == 0


def rprint(*args, communicator=None, **kw):
    """print on rank 0 only (flushes)."""
    if is_root(communicator):
        print(*args, **kw, flush=True)


def _block_owner(lo, hi, idx, communicator):
    """Rank owning each global row of ``idx`` when every rank holds the contiguous block
    [lo, hi) (blocks in rank order, possibly empty)."""
    bounds = communicator.allgather((int(lo), int(hi)))
    starts = np.asarray([b[0] for b in bounds], dtype=np.int64)
    return np.searchsorted(starts, np.asarray(idx, dtype=np.int64), side="right") - 1


def push_rows(idx, rows, lo, hi, communicator=None):
    """Redistribute rows held anywhere to contiguous blocks: every rank holds some rows of a
    global array (global row indices ``idx`` (m,), values ``rows`` (m, ...); each row on
    exactly one rank) and gets back the rows [lo, hi) of its own block, (hi - lo, ...).
    Collective (one all-to-all); nothing is gathered on one rank. Raises RomnetError if the
    block is not covered exactly."""
    from .errors import RomnetError
    c = communicator or comm()
    idx = np.asarray(idx, dtype=np.int64)
    rows = np.asarray(rows, dtype=float).reshape((idx.size,) + np.shape(rows)[1:])
    if c.Get_size() == 1:
        got_idx, got = [idx], [rows]
    else:
        dest = _block_owner(lo, hi, idx, c)
        recv = c.alltoall([(idx[dest == r], rows[dest == r]) for r in range(c.Get_size())])
        got_idx, got = [i for i, _ in recv], [v for _, v in recv]
    out = np.empty((hi - lo,) + rows.shape[1:])
    seen = np.zeros(hi - lo, dtype=bool)
    for i, v in zip(got_idx, got):
        if i.size and (i.min() < lo or i.max() >= hi):
            raise RomnetError(f"push_rows: rows {i.min()}..{i.max()} outside the block [{lo}, {hi})")
        out[i - lo] = v
        seen[i - lo] = True
    if not seen.all():
        raise RomnetError(f"push_rows: {int((~seen).sum())} rows of the block [{lo}, {hi}) were not held by any rank")
    return out


def pull_rows(block, lo, idx, communicator=None):
    """Rows at global indices ``idx`` (any order, repeats allowed) of a global array held as
    contiguous blocks (this rank: ``block`` = rows [lo, lo + len(block))). Returns
    (len(idx), ...). Collective (two all-to-alls: requests, replies)."""
    c = communicator or comm()
    block = np.asarray(block, dtype=float)
    idx = np.asarray(idx, dtype=np.int64)
    if c.Get_size() == 1:
        return block[idx - lo]
    src = _block_owner(lo, lo + len(block), idx, c)
    asked = c.alltoall([idx[src == r] for r in range(c.Get_size())])
    got = c.alltoall([block[np.asarray(a, dtype=np.int64) - lo] for a in asked])
    out = np.empty((idx.size,) + block.shape[1:])
    for r in range(c.Get_size()):
        out[src == r] = got[r]
    return out
