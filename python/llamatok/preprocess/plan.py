"""Cutting the input of a sharded run into tasks: contiguous ranges of records, in input order.

The finest cuts ("pieces") are a file of a directory, a line-aligned byte range of a plain JSONL
file, a row group of a Parquet file, and a whole compressed JSONL file or Python object (a stream
that cannot be entered in the middle). Consecutive pieces are grouped into tasks of about
``target_bytes`` of input, which the driver derives from ``--shard-tokens`` and the bytes per
token of a sample of the input, so that a task makes about one shard. A task may span sources.

The plan is saved in the work folder: ``--resume`` reuses it, so a resumed run has the same tasks
and shard names whatever the sample says on the second try.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llamatok.preprocess import storage
from llamatok.preprocess.batches import Cursor, End, make_batches, tokenize
from llamatok.preprocess.readers import open_parquet, reader_for
from llamatok.preprocess.sources import Source

if TYPE_CHECKING:
    from llamatok._native import Tokenizer
    from llamatok.preprocess.encode import EncodeSpec

#: A position after every record of a source.
END = 1 << 62
#: Compressed JSONL is counted at this many bytes of text per byte on disk (code compresses 3-5x).
COMPRESSION_GUESS = 4
#: Tasks are planned a little under the shard size, so that most tasks make exactly one shard.
FILL = 0.9
SAMPLE_BYTES = 1 << 20
#: Sources looked at at once while planning (requests in flight to an object store).
PLANNING_THREADS = 32
DEFAULT_BYTES_PER_TOKEN = 3.0


@dataclass(frozen=True)
class Task:
    """Records from ``start`` (source, position, line; line -1 when the task starts inside a JSONL
    file and its line number is known only once the tasks before it are done) up to ``end``."""

    index: int
    start: Cursor
    end: End
    input_bytes: int

    def to_json(self) -> list[int]:
        return [self.index, *self.start, *self.end, self.input_bytes]

    @classmethod
    def from_json(cls, row: Sequence[int]) -> Task:
        i, s0, p0, l0, s1, p1, n = (int(x) for x in row)
        return cls(i, (s0, p0, l0), (s1, p1), n)

    def sources(self, all_sources: Sequence[Source]) -> dict[int, Source]:
        """The sources this task reads, each cut down to what the task needs."""
        out = {}
        for s in range(self.start[0], self.end[0] + 1):
            first = self.start[1] if s == self.start[0] else 0
            stop = self.end[1] if s == self.end[0] else END
            out[s] = all_sources[s].window(first, stop)
        return out


Piece = tuple[int, int, int, int]  # (source, start position, stop position, bytes)


def _jsonl_cuts(location: str, size: int, step: int) -> list[int]:
    """Line starts about ``step`` bytes apart."""
    cuts = []
    with storage.open_input(location, buffer=1 << 16) as f:  # each cut reads one line
        target = step
        while target < size:
            f.seek(target - 1)
            f.readline()  # to the end of the line holding byte target - 1
            at = f.tell()
            if at >= size:
                break
            cuts.append(at)
            target = at + step
    return cuts


def _source_pieces(s: int, src: Source, step: int) -> list[Piece]:
    if src.kind == "dir":
        return [(s, src.first_file + i, src.first_file + i + 1, size) for i, size in enumerate(src.sizes)]
    if src.kind == "jsonl" and src.compression is None:
        cuts = [0, *_jsonl_cuts(src.path or "", src.size, step), src.size]
        return [(s, a, b if b < src.size else END, b - a) for a, b in zip(cuts, cuts[1:])]
    if src.kind == "jsonl":
        return [(s, 0, END, max(src.size, 0) * COMPRESSION_GUESS)]
    if src.kind == "parquet":
        meta = open_parquet(src.path or "").metadata
        out: list[Piece] = []
        row = 0
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            last = g == meta.num_row_groups - 1
            out.append((s, row, END if last else row + group.num_rows, group.total_byte_size))
            row += group.num_rows
        return out or [(s, 0, END, 0)]
    return [(s, 0, END, max(src.size, 0))]  # a Python iterable or dataset: read in one go


def pieces(sources: Sequence[Source], step: int) -> list[Piece]:
    """Every source's pieces, in order. Sources are looked at in parallel threads: on an object
    store each Parquet footer or JSONL cut is a request, and a corpus may have many files."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=PLANNING_THREADS) as pool:
        per_source = list(pool.map(lambda item: _source_pieces(item[0], item[1], step), enumerate(sources)))
    return [piece for found in per_source for piece in found]


def plan(sources: Sequence[Source], target_bytes: int) -> list[Task]:
    """Tasks of about ``target_bytes`` each, covering every record once, in input order."""
    tasks: list[Task] = []
    group: list[Piece] = []
    got = 0

    def flush() -> None:
        nonlocal got
        first, last = group[0], group[-1]
        line = 0 if first[1] == 0 or sources[first[0]].kind != "jsonl" else -1
        tasks.append(Task(len(tasks), (first[0], first[1], line), (last[0], last[2]), got))
        group.clear()
        got = 0

    for piece in pieces(sources, max(1, target_bytes)):
        group.append(piece)
        got += piece[3]
        if got >= target_bytes:
            flush()
    if group:
        flush()
    return tasks


def bytes_per_token(core: Tokenizer, spec: EncodeSpec, sources: Sequence[Source], keys: Sequence[str]) -> float:
    """Input bytes per token of the first megabyte of documents (first key), to size tasks. A
    Python iterable is not sampled: it can be read only once."""
    if sources[0].kind == "iterable":
        return DEFAULT_BYTES_PER_TOKEN
    readers = {0: reader_for(sources[0], keys)}
    batches = make_batches(readers, [0], (0, 0, 0), len(keys), SAMPLE_BYTES, (0, END))
    try:
        batch = next(batches, None)
    finally:
        batches.close()
    if batch is not None:
        result = tokenize(core, batch, spec)
        tokens = int(len(result.ids[0]))
        if tokens and result.input_bytes:
            return result.input_bytes / tokens
    return DEFAULT_BYTES_PER_TOKEN
