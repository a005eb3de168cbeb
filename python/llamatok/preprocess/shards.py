"""The sharded output: where each file of a sharded run goes, and the writer of one task's shards.

A sharded run (``--shard-tokens``, and always on Ray) cuts the input into tasks (``plan.py``); task
``T`` writes its documents, in input order, into shards ``PREFIX-TTTTT-PPP`` of at most
``shard_tokens`` tokens each (a document is never split: one longer than that has a shard of its
own). Each shard is, per json key, a Megatron ``.bin``/``.idx`` pair (``PREFIX_KEY-TTTTT-PPP`` with
several keys) with ``--format megatron`` and the files of each trainer format asked for
(``writers/``), and, with ``--format parquet``, a ``.parquet`` file. Every file appears whole or not
at all (``storage.AtomicWriter``), ``.bin`` before ``.idx`` before ``.parquet``.

The work folder ``PREFIX.partial/`` holds the plan, one record per finished task
(``tasks/TTTTT.json``: its shards with the SHA-256 of every file, its counters) and its rejects,
the attempt markers that count retries, and the temporary names of files being written.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llamatok.preprocess import storage
from llamatok.preprocess.batches import BatchResult
from llamatok.preprocess.megatron import write_index
from llamatok.preprocess.parquet_out import ParquetDocuments
from llamatok.preprocess.writers import FormatWriter, WriterSpec, make_writer, trainer_formats


@dataclass(frozen=True)
class ShardLayout:
    """The names of a sharded run's files, from its output prefix (a local path or a URI)."""

    prefix: str
    keys: tuple[str, ...]
    formats: tuple[str, ...]
    dtype: str
    shard_tokens: int
    eos_id: int | None = None
    tokenizer_name: str = ""
    loss_masks: bool = False  # with FIM: the formats that can carry one write a loss mask (encode.py)
    parquet_codec: str = "zstd"
    #: Beside each Megatron shard, its FIM loss mask as one bool per id (``.learned``): the work shards of
    #: a reordered run, whose masks the output shards are gathered from (reorder.py).
    learned_files: bool = False

    @property
    def writer_spec(self) -> WriterSpec:
        return WriterSpec(self.dtype, self.eos_id, self.tokenizer_name, self.loss_masks)

    @property
    def work(self) -> str:
        return self.prefix + ".partial"

    @property
    def manifest(self) -> str:
        return self.prefix + ".manifest.json"

    @property
    def plan(self) -> str:
        return storage.join(self.work, "plan.json")

    def shard_name(self, task: int, part: int) -> str:
        return f"{storage.basename(self.prefix)}-{task:05d}-{part:03d}"

    def dataset_prefix(self, key: str, task: int, part: int) -> str:
        """The Megatron prefix of one key's dataset in a shard (what ``--data-path`` names)."""
        base = self.prefix if len(self.keys) == 1 else f"{self.prefix}_{key}"
        return f"{base}-{task:05d}-{part:03d}"

    def parquet(self, task: int, part: int) -> str:
        return f"{self.prefix}-{task:05d}-{part:03d}.parquet"

    def record(self, task: int) -> str:
        return storage.join(self.work, f"tasks/{task:05d}.json")

    def task_rejects(self, task: int) -> str:
        return storage.join(self.work, f"tasks/{task:05d}.rejects.jsonl")

    def attempts(self, task: int) -> str:
        return storage.join(self.work, f"attempts/{task:05d}")

    def tmp(self, name: str) -> str:
        """A unique temporary name in the work folder (so cleaning it up removes every leftover)."""
        return storage.join(self.work, f"tmp/{name}.{uuid.uuid4().hex[:12]}")


@dataclass
class _Part:
    """The shard being written."""

    name: str
    part: int
    bins: list[storage.AtomicWriter]
    learned: list[storage.AtomicWriter]  # per key, with ``learned_files``
    parquet: tuple[storage.AtomicWriter, ParquetDocuments] | None
    lengths: list[list[np.ndarray]]
    tokens: list[int]
    extras: list[list[FormatWriter]]  # per key: the trainer formats' writers (writers/)
    documents: int = 0
    first: tuple[int, int] | None = None
    last: tuple[int, int] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)


class ShardWriter:
    """Writes the documents of task ``task`` into its shards; :meth:`close` returns their entries
    (name, documents, tokens, the input range, and every file with its size and SHA-256)."""

    def __init__(self, layout: ShardLayout, task: int) -> None:
        self.layout = layout
        self.task = task
        self.entries: list[dict[str, Any]] = []
        self._part: _Part | None = None
        self._next = 0

    def _open(self) -> _Part:
        lay, t, p = self.layout, self.task, self._next
        self._next += 1
        name = lay.shard_name(t, p)
        bins, learned = [], []
        extras: list[list[FormatWriter]] = [[] for _ in lay.keys]
        try:
            for k, key in enumerate(lay.keys):
                base = lay.dataset_prefix(key, t, p)
                if "megatron" in lay.formats:
                    bins.append(storage.AtomicWriter(base + ".bin", lay.tmp(storage.basename(base) + ".bin")))
                if lay.learned_files:
                    learned.append(storage.AtomicWriter(base + ".learned",
                                                        lay.tmp(storage.basename(base) + ".learned")))
                for fmt in trainer_formats(lay.formats):
                    extras[k].append(make_writer(fmt, base, lay.writer_spec, lay.tmp))
            parquet = None
            if "parquet" in lay.formats:
                target = lay.parquet(t, p)
                sink = storage.AtomicWriter(target, lay.tmp(storage.basename(target)))
                try:
                    parquet = (sink, ParquetDocuments(sink, lay.keys, lay.loss_masks, lay.parquet_codec))
                except BaseException:
                    sink.abort()
                    raise
        except BaseException:
            for b in bins + learned:
                b.abort()
            for writers in extras:
                for w in writers:
                    w.abort()
            raise
        return _Part(name, p, bins, learned, parquet, [[] for _ in lay.keys], [0] * len(lay.keys), extras)

    def add(self, result: BatchResult) -> None:
        """The documents of one batch, cut into shards by the first key's token count."""
        if result.docs == 0:
            return
        limit = self.layout.shard_tokens
        lengths = [np.asarray(n, dtype=np.int64) for n in result.lengths]
        starts = [np.concatenate([[0], np.cumsum(n)]) for n in lengths]
        sources = result.sources if result.sources is not None else np.zeros(result.docs, np.uint64)
        positions = result.positions if result.positions is not None else np.zeros(result.docs, np.uint64)
        i = 0
        while i < result.docs:
            part = self._part or self._open()
            self._part = part
            room = limit - part.tokens[0]
            # The documents that still fit (a shard with room takes at least one).
            take = int(np.searchsorted(starts[0][i + 1:] - starts[0][i], room, side="right"))
            if take == 0 and part.documents == 0:
                take = 1
            if take == 0:
                self._close_part()
                continue
            j = i + take
            learned: list[np.ndarray | None] = [None] * len(lengths) if result.learned is None else [
                m[starts[k][i]:starts[k][j]] for k, m in enumerate(result.learned)]
            for k, key_lengths in enumerate(lengths):
                ids = result.ids[k][starts[k][i]:starts[k][j]]
                if part.bins:
                    part.bins[k].write(np.ascontiguousarray(ids))
                if part.learned:
                    mask = learned[k]
                    if mask is None:
                        raise ValueError("these shards keep FIM loss masks: every batch needs one per id")
                    part.learned[k].write(np.ascontiguousarray(mask, bool).tobytes())
                for w in part.extras[k]:
                    w.add(ids, key_lengths[i:j], learned[k])
                part.lengths[k].append(key_lengths[i:j].astype(np.int32))
                part.tokens[k] += int(starts[k][j] - starts[k][i])
            if part.parquet is not None:
                part.parquet[1].add([result.ids[k][starts[k][i]:starts[k][j]] for k in range(len(lengths))],
                                    [n[i:j] for n in lengths], [m for m in learned if m is not None] or None)
            if part.first is None:
                part.first = (int(sources[i]), int(positions[i]))
            part.last = (int(sources[j - 1]), int(positions[j - 1]))
            part.documents += take
            i = j
            if part.tokens[0] >= limit:
                self._close_part()

    def _close_part(self) -> None:
        part, self._part = self._part, None
        if part is None:
            return
        lay = self.layout
        for k, key in enumerate(lay.keys):
            for w in part.extras[k]:
                part.files += [dict(f, key=key) for f in w.close()]
            if not part.bins:
                continue
            part.bins[k].commit()
            prefix = lay.dataset_prefix(key, self.task, part.part)
            part.files.append(_file_entry(prefix + ".bin", "bin", key, part.bins[k]))
            lengths = np.concatenate(part.lengths[k]) if part.lengths[k] else np.zeros(0, np.int32)
            buf = io.BytesIO()
            write_index(buf, lengths, np.dtype(lay.dtype))
            idx = storage.AtomicWriter(prefix + ".idx", lay.tmp(storage.basename(prefix) + ".idx"))
            with idx:
                idx.write(buf.getbuffer())
            part.files.append(_file_entry(prefix + ".idx", "idx", key, idx))
            if part.learned:
                part.learned[k].commit()
                part.files.append(_file_entry(prefix + ".learned", "learned", key, part.learned[k]))
        if part.parquet is not None:
            sink, writer = part.parquet
            writer.close()
            sink.commit()
            part.files.append(_file_entry(lay.parquet(self.task, part.part), "parquet", None, sink))
        self.entries.append({
            "name": part.name,
            "task": self.task,
            "part": part.part,
            "documents": part.documents,
            "tokens": dict(zip(lay.keys, part.tokens)),
            "input": {"first": list(part.first or (0, 0)), "last": list(part.last or (0, 0))},
            "files": part.files,
        })

    def close(self) -> list[dict[str, Any]]:
        self._close_part()
        return self.entries

    def abort(self) -> None:
        """Deletes the temporary files of the shard being written (committed shards stay: a retry
        rewrites them with the same bytes)."""
        part, self._part = self._part, None
        if part is None:
            return
        for b in part.bins + part.learned:
            b.abort()
        for writers in part.extras:
            for w in writers:
                w.abort()
        if part.parquet is not None:
            part.parquet[0].abort()


def _file_entry(location: str, kind: str, key: str | None, writer: storage.AtomicWriter) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": storage.basename(location), "kind": kind}
    if key is not None:
        entry["key"] = key
    entry["bytes"] = writer.size
    entry["sha256"] = writer.sha256
    return entry
