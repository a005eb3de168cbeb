"""dolma's metadata file for ``--format npy``, made by the core (``NpyMetadata``): its lines are what
Python's formatting of each document's offsets and number gives, the file is gzip as Python's own reader
reads it, its bytes do not depend on how the documents were batched, and bad input is refused."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llamatok._native import NpyMetadata


def _file(batches, first_token=0, first_number=0) -> bytes:
    meta = NpyMetadata()
    out = []
    for lengths in batches:
        out.append(meta.add(np.array(lengths, dtype="<u8").tobytes(), first_token, first_number))
        first_token += sum(lengths)
        first_number += len(lengths)
    return b"".join(out) + meta.finish()


def _expected(batches, first_token=0, first_number=0) -> str:
    lines = []
    for n in (n for lengths in batches for n in lengths):
        if n:  # OLMo-core refuses a document that starts at the end of the array: no line
            lines.append(f"{first_token},{first_token + n},{first_number},,\n")
        first_token += n
        first_number += 1
    return "".join(lines)


@given(st.lists(st.lists(st.integers(min_value=0, max_value=2**40), max_size=60), max_size=6),
       st.integers(min_value=0, max_value=2**62), st.integers(min_value=0, max_value=2**62))
def test_lines_are_python_s_formatting(batches, first_token, first_number):
    got = gzip.decompress(_file(batches, first_token, first_number)).decode("ascii")
    assert got == _expected(batches, first_token, first_number)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=180_000), min_size=1, max_size=5))
def test_bytes_are_the_same_in_any_batching(cuts):
    # Enough lines for several of the core's 1 MiB gzip members, so that batches straddle them.
    lengths = [13 + i % 5 for i in range(180_000)]
    cuts = sorted(set(cuts))
    whole = _file([lengths])
    assert _file([lengths[a:b] for a, b in zip([0, *cuts], [*cuts, len(lengths)])]) == whole
    with gzip.open(io.BytesIO(whole), "rt") as f:
        assert f.read() == _expected([lengths])


def test_a_file_without_lines_is_an_empty_gzip_file():
    assert gzip.decompress(_file([])) == b""
    assert gzip.decompress(_file([[0, 0]])) == b""


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="lengths as uint64s, not 7 bytes"):
        NpyMetadata().add(bytes(7), 0, 0)
    with pytest.raises(ValueError, match="pass 2\\*\\*64 - 1"):
        NpyMetadata().add(np.array([2**63, 2**63], dtype="<u8").tobytes(), 0, 0)
    with pytest.raises(OverflowError):
        NpyMetadata().add(b"", -1, 0)
