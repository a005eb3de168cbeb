"""dolma's metadata file for ``--format npy``, made by the core (``NpyMetadata``): its lines are Python's
formatting, the file is gzip as Python's own reader reads it, its bytes do not depend on how the
documents were batched, and bad columns are refused."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llamatok._native import NpyMetadata

u64 = st.integers(min_value=0, max_value=2**64 - 1)


def _columns(rows):
    return [np.array([r[i] for r in rows], dtype=np.uint64).astype("<u8").tobytes() for i in range(3)]


def _file(batches) -> bytes:
    meta = NpyMetadata()
    return b"".join(meta.add(*_columns(rows)) for rows in batches) + meta.finish()


@given(st.lists(st.lists(st.tuples(u64, u64, u64), max_size=60), max_size=6))
def test_lines_are_python_s_formatting(batches):
    expected = "".join(f"{s},{e},{n},,\n" for rows in batches for s, e, n in rows)
    assert gzip.decompress(_file(batches)).decode("ascii") == expected


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=180_000), min_size=1, max_size=5))
def test_bytes_are_the_same_in_any_batching(cuts):
    # Enough lines for several of the core's 1 MiB gzip members, so that batches straddle them.
    rows = [(i * 13, i * 13 + 13, i) for i in range(180_000)]
    cuts = sorted(set(cuts))
    batches = [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)])]
    whole = _file([rows])
    assert _file(batches) == whole
    with gzip.open(io.BytesIO(whole), "rt") as f:
        assert [tuple(map(int, line.split(",")[:3])) for line in f] == rows


def test_a_file_without_lines_is_an_empty_gzip_file():
    assert gzip.decompress(_file([])) == b""
    assert gzip.decompress(_file([[]])) == b""


@pytest.mark.parametrize("sizes", [(8, 16, 8), (8, 8, 16), (7, 7, 7)])
def test_columns_of_other_lengths_are_refused(sizes):
    with pytest.raises(ValueError, match="three uint64 columns of one length"):
        NpyMetadata().add(*(bytes(n) for n in sizes))
