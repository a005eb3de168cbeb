"""The Megatron indexed dataset (SPEC §8): ``PREFIX.bin`` holds the ids, ``PREFIX.idx`` the index.

``.idx``, little-endian: ``MMIDIDX\\x00\\x00``; u64 version 1; u8 dtype code; u64 number of
sequences; u64 number of document boundaries; int32 length of each sequence; int64 byte offset of
each sequence in ``.bin``; int64 document boundaries (0, then one past each document's last
sequence). Each document is one sequence, as ``preprocess_data.py`` writes without
``--split-sentences``; a document with no ids (empty text, no BOS) has no sequence, only a boundary.

The ``.bin`` is the work folder's token file itself, so only the index is written at the end,
streamed in chunks from the per-document lengths (memory stays small for any corpus size).
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
#: Megatron-Core's ``DType`` codes.
DTYPE_CODES = {np.dtype(np.uint8): 1, np.dtype(np.int8): 2, np.dtype(np.int16): 3, np.dtype(np.int32): 4,
               np.dtype(np.int64): 5, np.dtype(np.float64): 6, np.dtype(np.float32): 7, np.dtype(np.uint16): 8}
CHUNK = 1 << 22


def dtype_for_vocab(vocab_size: int) -> str:
    """``uint16`` when the vocabulary has fewer than 65500 ids (Megatron's rule), else ``int32``."""
    return "uint16" if vocab_size < 65500 else "int32"


def _chunks(lengths: np.ndarray):
    for start in range(0, len(lengths), CHUNK):
        yield np.asarray(lengths[start:start + CHUNK], dtype=np.int64)


def write_index(out: BinaryIO, lengths_path: str, dtype: np.dtype) -> int:
    """Writes the ``.idx`` of documents whose lengths (int32) are in ``lengths_path``; returns the
    number of sequences."""
    dtype = np.dtype(dtype)
    size = os.path.getsize(lengths_path)
    lengths = np.memmap(lengths_path, dtype=np.int32, mode="r") if size else np.zeros(0, np.int32)
    num_docs = len(lengths)
    num_seqs = int(sum(int(np.count_nonzero(c)) for c in _chunks(lengths)))
    out.write(MAGIC)
    out.write(struct.pack("<Q", VERSION))
    out.write(struct.pack("<B", DTYPE_CODES[dtype]))
    out.write(struct.pack("<Q", num_seqs))
    out.write(struct.pack("<Q", num_docs + 1))
    for c in _chunks(lengths):
        out.write(c[c > 0].astype("<i4").tobytes())
    offset = 0
    for c in _chunks(lengths):
        seq = c[c > 0]
        pointers = np.empty(len(seq), np.int64)
        if len(seq):
            pointers[0] = 0
            np.cumsum(seq[:-1] * dtype.itemsize, out=pointers[1:])
            pointers += offset
            offset = int(pointers[-1] + seq[-1] * dtype.itemsize)
        out.write(pointers.astype("<i8").tobytes())
    out.write(struct.pack("<q", 0))
    seen = 0
    for c in _chunks(lengths):
        bounds = np.cumsum(c > 0, dtype=np.int64) + seen
        if len(bounds):
            seen = int(bounds[-1])
        out.write(bounds.astype("<i8").tobytes())
    del lengths
    return num_seqs
