"""romnet.mpi.push_rows / pull_rows: one rank here (the 2-rank path runs in
tests/test_online_enrichment.py::test_enrichment_same_on_1_and_2_ranks)."""
import numpy as np
import pytest

from romnet.errors import RomnetError
from romnet.mpi import SerialComm, pull_rows, push_rows


def test_push_rows_orders_rows_into_the_block():
    idx = np.array([3, 1, 2, 0])
    rows = np.arange(8.0).reshape(4, 2)
    out = push_rows(idx, rows, 0, 4, SerialComm())
    assert out.tolist() == [[6, 7], [2, 3], [4, 5], [0, 1]]


def test_push_rows_refuses_a_block_not_covered():
    with pytest.raises(RomnetError, match="1 rows of the block"):
        push_rows([0, 2], np.ones((2, 3)), 0, 3, SerialComm())
    with pytest.raises(RomnetError, match="outside the block"):
        push_rows([0, 5], np.ones((2, 3)), 0, 3, SerialComm())


def test_pull_rows_any_order_with_repeats():
    block = np.arange(10.0).reshape(5, 2)
    out = pull_rows(block, 10, [14, 10, 14], SerialComm())
    assert out.tolist() == [[8, 9], [0, 1], [8, 9]]
