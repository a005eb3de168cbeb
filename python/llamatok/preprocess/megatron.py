"""The Megatron indexed dataset: ``PREFIX.bin`` holds the ids, ``PREFIX.idx`` the index
(docs/shards.md, "Megatron indexed dataset").

``.idx``, little-endian: ``MMIDIDX\\x00\\x00``; u64 version 1; u8 dtype code; u64 number of
sequences; u64 number of document boundaries; int32 length of each sequence; int64 byte offset of
each sequence in ``.bin``; int64 document boundaries (0, then one past each document's last
sequence). Each document is one sequence, as ``preprocess_data.py`` writes without
``--split-sentences``; a document with no ids (empty text, no BOS) has no sequence, only a boundary.

The index is streamed in chunks from the per-document lengths (a memory-mapped file for a whole
corpus), so memory stays small for any corpus size.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
HEADER_BYTES = len(MAGIC) + 8 + 1 + 8 + 8
#: Megatron-Core's ``DType`` codes.
DTYPE_CODES: dict[np.dtype[Any], int] = {
    np.dtype(np.uint8): 1, np.dtype(np.int8): 2, np.dtype(np.int16): 3, np.dtype(np.int32): 4,
    np.dtype(np.int64): 5, np.dtype(np.float64): 6, np.dtype(np.float32): 7, np.dtype(np.uint16): 8,
}
DTYPES_BY_CODE = {code: dtype for dtype, code in DTYPE_CODES.items()}
CHUNK = 1 << 22


class IndexFormatError(ValueError):
    """A ``.idx`` file that is not a Megatron index, or not one document per sequence."""


def dtype_for_vocab(vocab_size: int) -> str:
    """``uint16`` when the vocabulary has fewer than 65500 ids (Megatron's rule), else ``int32``."""
    return "uint16" if vocab_size < 65500 else "int32"


def lengths_file(path: str) -> np.ndarray:
    """The int32 document lengths in ``path``, memory-mapped."""
    return memmap_or_empty(path, np.dtype(np.int32))


def memmap_or_empty(path: str, dtype: np.dtype) -> np.ndarray:
    """A work file's values, memory-mapped (numpy cannot map an empty file)."""
    return np.memmap(path, dtype=dtype, mode="r") if os.path.getsize(path) else np.zeros(0, dtype)


def _chunks(lengths: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(lengths), CHUNK):
        yield np.asarray(lengths[start:start + CHUNK])


def write_index(out: BinaryIO, lengths: Any, dtype: Any) -> int:
    """Writes the ``.idx`` of documents with the given int32 ``lengths`` (an array, or the path of
    a file of them); returns the number of sequences."""
    if isinstance(lengths, (str, os.PathLike)):
        lengths = lengths_file(os.fspath(lengths))
    dtype = np.dtype(dtype)
    num_docs = len(lengths)
    num_seqs = sum(int(np.count_nonzero(c)) for c in _chunks(lengths))
    out.write(MAGIC + struct.pack("<QBQQ", VERSION, DTYPE_CODES[dtype], num_seqs, num_docs + 1))
    # Each section is written from the chunks in turn; arrays go to the file as views of their memory
    # (``.data``), without a copy into bytes.
    for c in _chunks(lengths):
        out.write(c[c > 0].astype("<i4", copy=False).data)
    offset = 0
    for c in _chunks(lengths):
        seq = c[c > 0]
        pointers = np.empty(len(seq), "<i8")
        if len(seq):
            pointers[0] = 0
            np.cumsum(seq[:-1], dtype=np.int64, out=pointers[1:])
            pointers *= dtype.itemsize
            pointers += offset
            offset = int(pointers[-1]) + int(seq[-1]) * dtype.itemsize
        out.write(pointers.data)
    out.write(struct.pack("<q", 0))
    seen = 0
    for c in _chunks(lengths):
        bounds = np.cumsum(c > 0, dtype="<i8")
        bounds += seen
        if len(bounds):
            seen = int(bounds[-1])
        out.write(bounds.data)
    return num_seqs


def document_lengths(index: bytes, name: str = ".idx") -> tuple[np.dtype, np.ndarray]:
    """(ids dtype, int32 length of each document) of an ``.idx`` in which every document is one
    sequence or none, as llamatok writes it; anything else is an :class:`IndexFormatError`."""
    if len(index) < HEADER_BYTES or index[:len(MAGIC)] != MAGIC:
        raise IndexFormatError(f"{name} is not a Megatron index (no MMIDIDX header)")
    version, code, num_seqs, num_bounds = struct.unpack_from("<QBQQ", index, len(MAGIC))
    if version != VERSION or code not in DTYPES_BY_CODE:
        raise IndexFormatError(f"{name}: unsupported index version {version} or dtype code {code}")
    expected = HEADER_BYTES + 4 * num_seqs + 8 * num_seqs + 8 * num_bounds
    if num_bounds < 1 or len(index) != expected:
        raise IndexFormatError(f"{name} is truncated or has trailing bytes ({len(index)} bytes, expected {expected})")
    seqs = np.frombuffer(index, "<i4", num_seqs, HEADER_BYTES)
    bounds = np.frombuffer(index, "<i8", num_bounds, HEADER_BYTES + 12 * num_seqs)
    steps = np.diff(bounds)
    if bounds[0] != 0 or bounds[-1] != num_seqs or np.any((steps < 0) | (steps > 1)) or np.any(seqs <= 0):
        raise IndexFormatError(f"{name}: documents are not one sequence each (not written by llamatok)")
    lengths = np.zeros(num_bounds - 1, np.int32)
    lengths[steps == 1] = seqs
    return DTYPES_BY_CODE[code], lengths
