"""Rank 1 raises an uncaught exception while rank 0 waits in a collective call
(tests/test_mpi_abort.py). With romnet.mpi.abort_on_uncaught the job ends at once;
``--no-hook``: without it (the job then hangs: the test's control, bounded by its timeout)."""
import sys

from romnet import mpi

if "--no-hook" not in sys.argv:
    assert mpi.abort_on_uncaught(), "the launcher's rank count was not seen"
c = mpi.comm()
if c.Get_rank() == 1:
    raise RuntimeError("boom on rank 1")
c.Barrier()
print("rank 0 passed the barrier: unreachable")
