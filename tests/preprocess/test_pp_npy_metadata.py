"""The core's formatting of dolma's metadata lines for ``--format npy`` (``npy_metadata_rows``) is
Python's, and bad columns are refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llamatok._native import npy_metadata_rows

u64 = st.integers(min_value=0, max_value=2**64 - 1)


@given(st.lists(st.tuples(u64, u64, u64), max_size=200))
def test_rows_are_python_s_formatting(rows):
    columns = [np.array([r[i] for r in rows], dtype=np.uint64).astype("<u8").tobytes() for i in range(3)]
    assert npy_metadata_rows(*columns) == "".join(f"{s},{e},{n},,\n" for s, e, n in rows).encode("ascii")


@pytest.mark.parametrize("sizes", [(8, 16, 8), (8, 8, 16), (7, 7, 7)])
def test_columns_of_other_lengths_are_refused(sizes):
    with pytest.raises(ValueError, match="three uint64 columns of one length"):
        npy_metadata_rows(*(bytes(n) for n in sizes))
