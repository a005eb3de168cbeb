"""Records grouped into batches (the unit of encoding and of checkpointing), and their results.

A batch ends when its documents reach ``batch_bytes`` of input; it may span sources. It carries
the cursor after its last record, which is what a checkpoint records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, List, Sequence, Tuple

import numpy as np

from llamatok.preprocess.encode import EncodeSpec, encode_batch

Cursor = Tuple[int, int, int]  # (source index, position in the source, lines read before it)


@dataclass
class Batch:
    texts: List[List[str]]  # per json key, per document
    sources: List[int] = field(default_factory=list)  # per document: its source's index
    positions: List[int] = field(default_factory=list)  # per document: its position in the source
    rejects: List[dict] = field(default_factory=list)
    input_bytes: int = 0
    blank_lines: int = 0
    cursor: Cursor = (0, 0, 0)
    done_bytes: int = 0  # progress: bytes of the inputs on disk consumed up to the cursor

    @property
    def docs(self) -> int:
        return len(self.positions)


@dataclass
class BatchResult:
    ids: List[np.ndarray]  # per json key: the documents' ids, concatenated
    lengths: List[np.ndarray]  # per json key: int32 length of each document
    rejects: List[dict]
    docs: int
    input_bytes: int
    blank_lines: int
    cursor: Cursor
    done_bytes: int = 0


def make_batches(readers: Sequence[Any], sizes: Sequence[int], start: Cursor, num_keys: int, batch_bytes: int) -> Iterator[Batch]:
    """Batches of the records from ``start`` on. ``sizes`` are the sources' sizes on disk."""
    def empty() -> Batch:
        return Batch(texts=[[] for _ in range(num_keys)])

    batch = empty()
    texts = batch.texts
    for s in range(start[0], len(readers)):
        pos, line = (start[1], start[2]) if s == start[0] else (0, 0)
        reader = readers[s]
        before = sum(max(x, 0) for x in sizes[:s])
        batch.cursor = (s, pos, line)
        for record_texts, rejected, nbytes, at, next_pos, next_line in reader.read(pos, line):
            if record_texts is not None:
                for k in range(num_keys):
                    texts[k].append(record_texts[k])
                batch.sources.append(s)
                batch.positions.append(at)
            elif rejected is not None:
                batch.rejects.append(rejected)
            else:
                batch.blank_lines += 1
            batch.input_bytes += nbytes
            batch.cursor = (s, next_pos, next_line)
            if batch.input_bytes >= batch_bytes:
                batch.done_bytes = before + reader.done_bytes
                yield batch
                batch = empty()
                texts = batch.texts
                batch.cursor = (s, next_pos, next_line)
        batch.done_bytes = before + max(sizes[s], 0)
    if batch.docs or batch.rejects or batch.blank_lines:
        yield batch


def read_range(reader: Any, source_index: int, pos: int, line: int, end: int, num_keys: int) -> Batch:
    """One batch of the records of a source from ``pos`` to ``end`` (a Ray shard)."""
    batch = Batch(texts=[[] for _ in range(num_keys)], cursor=(source_index, pos, line))
    for record_texts, rejected, nbytes, at, next_pos, next_line in reader.read(pos, line):
        if at >= end:
            break
        if record_texts is not None:
            for k in range(num_keys):
                batch.texts[k].append(record_texts[k])
            batch.sources.append(source_index)
            batch.positions.append(at)
        elif rejected is not None:
            batch.rejects.append(rejected)
        else:
            batch.blank_lines += 1
        batch.input_bytes += nbytes
        batch.cursor = (source_index, next_pos, next_line)
    return batch


def tokenize(core: Any, batch: Batch, spec: EncodeSpec) -> BatchResult:
    """Encodes every json key's texts of ``batch``."""
    ids, lengths = [], []
    sources = np.asarray(batch.sources, dtype=np.uint64)
    positions = np.asarray(batch.positions, dtype=np.uint64)
    for k, texts in enumerate(batch.texts):
        k_ids, k_lengths = encode_batch(core, texts, spec, k, sources, positions)
        ids.append(k_ids)
        lengths.append(k_lengths.astype(np.int32))
    return BatchResult(ids, lengths, batch.rejects, batch.docs, batch.input_bytes, batch.blank_lines, batch.cursor, batch.done_bytes)
