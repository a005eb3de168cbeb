"""The core's repetition and definition levels of a Parquet page of ``list`` columns
(``parquet_list_levels``) against a numpy reference written from the format: Parquet's RLE/bit-packed
hybrid with run-length runs only, after a u32 length."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llamatok._native import parquet_list_levels


def runs(counts: np.ndarray, values: np.ndarray) -> bytes:
    """Levels given as runs (``counts[i]`` times ``values[i]``), adjacent runs of one value joined, each
    written as its count shifted left by one (a ULEB128 varint) and the value's byte."""
    keep = counts > 0
    counts, values = counts[keep], values[keep]
    out = bytearray()
    i = 0
    while i < len(counts):
        j, total = i, 0
        while j < len(counts) and values[j] == values[i]:
            total += int(counts[j])
            j += 1
        header = total << 1
        while header >= 0x80:
            out.append(header & 0x7F | 0x80)
            header >>= 7
        out += bytes([header, int(values[i])])
        i = j
    return struct.pack("<I", len(out)) + bytes(out)


def reference(lengths: np.ndarray) -> tuple[bytes, bytes]:
    # Per document, repetition 0 once then 1 for each further value; definition 3 for each value, or 1
    # once for an empty list.
    rep = runs(np.column_stack([np.ones_like(lengths), np.maximum(lengths - 1, 0)]).ravel(),
               np.tile(np.array([0, 1]), len(lengths)))
    empty = lengths == 0
    return rep, runs(np.where(empty, 1, lengths), np.where(empty, 1, 3))


@given(st.lists(st.one_of(st.integers(0, 3), st.integers(0, 70_000)), max_size=300))
def test_levels_are_the_reference_s(lengths):
    lengths = np.array(lengths, dtype=np.int64)
    assert parquet_list_levels(lengths.astype("<u8").tobytes()) == reference(lengths)


def test_lengths_must_be_uint64s():
    with pytest.raises(ValueError, match="uint64 lengths"):
        parquet_list_levels(bytes(12))
