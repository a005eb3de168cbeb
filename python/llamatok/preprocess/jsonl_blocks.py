"""JSONL read in blocks of whole lines, left for the core to split, parse and encode
(``Tokenizer.encode_jsonl_flat``), so that Python does a few steps per block rather than per line.

A line ends after each ``\\n``, as iterating a Python binary file cuts it; the input's last line may lack
one. A batch still ends after the line that brings it to ``batch_bytes``, and a sharded task's range
still takes the lines that start before its end: :func:`split_block` cuts a block where the reader of
single lines would have stopped, so the batches, cursors and outputs are the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

#: Bytes read at a time (then up to the end of the line they stop in).
BLOCK_BYTES = 1 << 20


class RawBlock(NamedTuple):
    """Whole JSONL lines of one source, read but not parsed."""

    data: bytes
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
        """The lines of the source up to its end."""
        data = self.data
        return self.line + data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def read_blocks(stream: Any, pos: int, line: int, name: str, keys: tuple[str, ...]) -> Iterator[RawBlock]:
    """The blocks of ``stream`` (a binary file at position ``pos``, after ``line`` lines)."""
    while True:
        data = stream.read(BLOCK_BYTES)
        if not data:
            return
        if not data.endswith(b"\n"):
            data += stream.readline()
        block = RawBlock(data, pos, line, name, keys)
        yield block
        pos, line = block.end, block.end_line


def _line_end(data: bytes, at: int) -> int:
    """The index after the line that holds byte ``at``."""
    newline = data.find(b"\n", at)
    return len(data) if newline < 0 else newline + 1


def split_block(block: RawBlock, need: int, stop: int | None) -> tuple[RawBlock, RawBlock | None]:
    """``block`` cut after the line that holds its byte ``need - 1`` (the batch is full there): ``(head,
    rest)``, ``rest`` None when nothing is left. The lines that start at position ``stop`` or after are
    left out of both (the next block starts there, which ends the range). The block starts before
    ``stop`` and ``need`` is at least 1, so the head holds a line at least."""
    data = block.data
    limit = len(data)
    if stop is not None and block.end > stop:
        limit = _line_end(data, stop - block.pos - 1)
    end = limit if need >= limit else _line_end(data, need - 1)
    head = block if end == len(data) else block._replace(data=data[:end])
    rest = RawBlock(data[end:limit], head.end, head.end_line, block.name, block.keys) if end < limit else None
    return head, rest


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
