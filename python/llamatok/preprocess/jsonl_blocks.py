"""JSONL read in blocks of whole lines, left for the core to split, parse and encode
(``Tokenizer.encode_jsonl_flat``), so that Python does a few steps per block rather than per line.

A line ends after each ``\\n``, as iterating a Python binary file cuts it; the input's last line may lack
one. A batch still ends after the line that brings it to ``batch_bytes``, and a sharded task's range
still takes the lines that start before its end: the batcher asks the reader (``JsonlReader.blocks``) for the
bytes that the batch or the range still wants, and the block goes on to the end of the line they stop in,
which is where the reader of single lines would have stopped. The batches, cursors and outputs are the same.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from llamatok._native import JsonlBlock

#: The most bytes read at a time (then on to the end of the line they stop in).
BLOCK_BYTES = 1 << 20


class RawBlock(NamedTuple):
    """Whole JSONL lines of one source, read but not parsed."""

    data: JsonlBlock  # its bytes, read into a buffer the core reuses once the block is dropped
    pos: int  # its first byte's position in the source (decompressed)
    line: int  # the lines of the source before it
    name: str  # the source's path, for a reject
    keys: tuple[str, ...]

    @property
    def end(self) -> int:
        """The position after it."""
        return self.pos + len(self.data)

    @property
    def end_line(self) -> int:
        """The lines of the source up to its end (the block's lines were counted when it was read)."""
        return self.line + self.data.lines


def documents_at(blocks: list[RawBlock], block_sources: list[int],
                 starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each document's source and position, from its line's start in the blocks taken one after
    another (what the core gives)."""
    sizes = np.fromiter((len(b.data) for b in blocks), np.uint64, len(blocks))
    bases = np.zeros(len(blocks), np.uint64)
    np.cumsum(sizes[:-1], out=bases[1:])
    which = np.searchsorted(bases, starts, side="right") - 1
    first = np.fromiter((b.pos for b in blocks), np.uint64, len(blocks))
    positions = first[which] + (starts - bases[which])
    return np.asarray(block_sources, np.uint64)[which], positions
