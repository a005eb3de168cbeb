"""Records grouped into batches (the unit of encoding and of checkpointing), and their results.

A batch ends when its documents reach ``batch_bytes`` of input; it may span sources. It carries
the cursor after its last record, which is what a checkpoint records. Reading may stop at an end
position (a sharded task's range: the records of source ``s`` that start before ``pos``).
"""

from __future__ import annotations

import io
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

from llamatok._native import jsonl_texts
from llamatok.preprocess.encode import EncodeSpec, encode_batch, encode_jsonl
from llamatok.preprocess.jsonl_blocks import RawBlock, documents_at
from llamatok.preprocess.readers import JsonlReader, jsonl_records

if TYPE_CHECKING:
    from llamatok._native import Tokenizer
    from llamatok.preprocess.readers import Reader

Cursor = tuple[int, int, int]  # (source index, position in the source, lines read before it)
End = tuple[int, int]  # (source index, position): reading stops at the first record at or after it
# A reader's record (readers.Record), or a block of a raw JSONL reader in the texts' place.
Item = tuple[Union[tuple[str, ...], RawBlock, None], Optional[dict[str, Any]], int, int, int, int]


@dataclass
class Batch:
    texts: list[list[str]]  # per json key, per document
    sources: list[int] = field(default_factory=list)  # per document: its source's index
    positions: list[int] = field(default_factory=list)  # per document: its position in the source
    rejects: list[dict[str, Any]] = field(default_factory=list)
    reject_sources: list[int] = field(default_factory=list)  # per reject: its source's index
    input_bytes: int = 0
    blank_lines: int = 0
    cursor: Cursor = (0, 0, 0)
    done_bytes: int = 0  # progress: bytes of the inputs on disk consumed up to the cursor
    lines: dict[int, int] = field(default_factory=dict)  # per source read: lines read in it so far
    # JSONL lines not parsed yet, and each block's source: the documents, blank lines and rejects they
    # hold are counted when the batch is tokenized.
    blocks: list[RawBlock] = field(default_factory=list)
    block_sources: list[int] = field(default_factory=list)

    @property
    def docs(self) -> int:
        return len(self.positions)


@dataclass
class BatchResult:
    ids: list[np.ndarray]  # per json key: the documents' ids, concatenated
    lengths: list[np.ndarray]  # per json key: int32 length of each document
    rejects: list[dict[str, Any]]
    docs: int
    input_bytes: int
    blank_lines: int
    cursor: Cursor
    done_bytes: int = 0
    sources: np.ndarray | None = None  # per document: its source's index
    positions: np.ndarray | None = None  # per document: its position in the source
    reject_sources: list[int] = field(default_factory=list)
    lines: dict[int, int] = field(default_factory=dict)
    learned: list[np.ndarray] | None = None  # per json key, with FIM loss masks: one bool per id (encode.py)


def make_batches(readers: list[Reader] | dict[int, Reader], sizes: Sequence[int], start: Cursor, num_keys: int,
                 batch_bytes: int, end: End | None = None) -> Generator[Batch, None, None]:
    """Batches of the records from ``start`` on (up to ``end``). ``readers`` are indexed by source
    (a list, or a dict holding the sources read); ``sizes`` are the sources' sizes on disk."""
    def empty() -> Batch:
        return Batch(texts=[[] for _ in range(num_keys)])

    last = max(readers) if isinstance(readers, dict) else len(readers) - 1
    if end is not None:
        last = end[0]
    batch = empty()
    texts = batch.texts
    for s in range(start[0], last + 1):
        pos, line = (start[1], start[2]) if s == start[0] else (0, 0)
        stop = end[1] if end is not None and s == end[0] else None
        reader = readers[s]
        before = sum(max(x, 0) for x in sizes[:s])
        batch.cursor = (s, pos, line)
        if isinstance(reader, JsonlReader) and reader.raw:
            # The batch is looked up when each block is read: the one being filled then.
            blocks = reader.blocks(pos, line, lambda: batch_bytes - batch.input_bytes, stop)  # noqa: B023
            records: Iterator[Item] = ((b, None, len(b.data), b.pos, b.end, b.end_line) for b in blocks)
        else:
            records = reader.read(pos, line)
        for record_texts, rejected, nbytes, at, next_pos, next_line in records:
            if stop is not None and at >= stop:
                break
            if type(record_texts) is RawBlock:
                batch.blocks.append(record_texts)
                batch.block_sources.append(s)
            elif record_texts is not None:
                for k in range(num_keys):
                    texts[k].append(record_texts[k])  # type: ignore[arg-type]
                batch.sources.append(s)
                batch.positions.append(at)
            elif rejected is not None:
                batch.rejects.append(rejected)
                batch.reject_sources.append(s)
            else:
                batch.blank_lines += 1
            batch.input_bytes += nbytes
            batch.cursor = (s, next_pos, next_line)
            if batch.input_bytes >= batch_bytes:
                batch.done_bytes = before + reader.done_bytes
                batch.lines[s] = next_line
                yield batch
                batch = empty()
                texts = batch.texts
                batch.cursor = (s, next_pos, next_line)
        batch.lines[s] = batch.cursor[2]
        batch.done_bytes = before + max(sizes[s], 0)
    if batch.docs or batch.rejects or batch.blank_lines or batch.blocks:
        yield batch


def _parse_blocks(batch: Batch) -> Batch:
    """The batch with its JSONL blocks read by Python (what the reader does when not raw): texts, or
    rejects in line order (a raw batch has no other rejects), blank lines counted."""
    keys = batch.blocks[0].keys
    texts: list[list[str]] = [[] for _ in keys]
    sources, positions = [], []
    for block, s in zip(batch.blocks, batch.block_sources):
        for got, rejected, _, at, _, _ in jsonl_records(io.BytesIO(block.data), block.name, keys, block.pos,
                                                        block.line):
            if got is not None:
                for k, t in enumerate(got):
                    texts[k].append(t)
                sources.append(s)
                positions.append(at)
            elif rejected is not None:
                batch.rejects.append(rejected)
                batch.reject_sources.append(s)
            else:
                batch.blank_lines += 1
    batch.texts, batch.sources, batch.positions, batch.blocks = texts, sources, positions, []
    return batch


def _read_by_core(batch: Batch, starts: np.ndarray, blank: int) -> tuple[np.ndarray, np.ndarray]:
    """Each document's source and position, from where the core found its line in the batch's blocks
    (which are then done with); the blank lines it skipped are counted."""
    found = documents_at(batch.blocks, batch.block_sources, starts)
    batch.blank_lines += blank
    batch.blocks = []
    return found


def with_texts(batch: Batch) -> Batch:
    """The batch with its JSONL blocks read into texts, for the stages that need them in Python (FIM,
    ``--dedup``): parsed by the core when every line is a plain object, else by Python."""
    if not batch.blocks:
        return batch
    got = jsonl_texts([block.data for block in batch.blocks], list(batch.blocks[0].keys))
    if got is None:
        return _parse_blocks(batch)
    texts, starts_buf, blank = got
    starts: Any = starts_buf  # an IdBuffer: numpy's stubs take no other buffer type (see encode._arrays)
    sources, positions = _read_by_core(batch, np.frombuffer(starts, np.uint64), blank)
    batch.texts, batch.sources, batch.positions = texts, sources.tolist(), positions.tolist()
    return batch


def tokenize(core: Tokenizer, batch: Batch, spec: EncodeSpec) -> BatchResult:
    """Encodes every json key's texts of ``batch`` (a raw batch's lines parsed first: by the core on its
    threads when every line is a plain object, else by Python)."""
    native = None
    if batch.blocks and spec.fim is not None and spec.fim.rate > 0:
        batch = with_texts(batch)
    if batch.blocks:
        got = encode_jsonl(core, [block.data for block in batch.blocks], batch.blocks[0].keys, spec)
        if got is None:
            batch = _parse_blocks(batch)
        else:
            native, starts, blank = got
            sources, positions = _read_by_core(batch, starts, blank)
    if native is None:
        sources = np.asarray(batch.sources, dtype=np.uint64)
        positions = np.asarray(batch.positions, dtype=np.uint64)
        native = [encode_batch(core, texts, spec, k, sources, positions) for k, texts in enumerate(batch.texts)]
    ids = [k_ids for k_ids, _, _ in native]
    lengths = [k_lengths.astype(np.int32) for _, k_lengths, _ in native]
    learned = [k_learned for _, _, k_learned in native if k_learned is not None]
    return BatchResult(ids, lengths, batch.rejects, len(positions), batch.input_bytes, batch.blank_lines,
                       batch.cursor, batch.done_bytes, sources, positions, batch.reject_sources, batch.lines,
                       learned if len(learned) == len(ids) else None)
