"""``--dedup exact`` in the sharded layout (every Ray run, ``--shard-tokens``).

    hash tasks (one per task of the plan, run where the tasks run) read their range of the input
    and write the 128-bit hash of each document's text (``PREFIX.partial/hashes/TTTTT.b128``) ─▶
    the driver reads the hashes (16 bytes per document, never a text) and finds every document
    whose text came earlier in input order ─▶ each task skips its duplicates as the single-file
    layout does (dedup.py: a ``duplicate`` reject each, with where it is and how it begins)

The documents kept are the single-file run's (the first of each text in input order), so the shards
hold the same ids for any number of workers, on either engine and across ``--resume`` (a hash file
that still matches its record is kept). The input is read twice; the hash pass does not encode.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from llamatok.preprocess import storage
from llamatok.preprocess.batches import Batch
from llamatok.preprocess.dedup import HASH_BYTES, drop_duplicates, text_hash
from llamatok.preprocess.plan import Task
from llamatok.preprocess.shards import ShardLayout
from llamatok.preprocess.sources import Source
from llamatok.preprocess.tasks import TaskContext, task_batches


def hashes_file(layout: ShardLayout, task: int) -> str:
    return storage.join(layout.work, f"hashes/{task:05d}.b128")


def _kept(layout: ShardLayout, fingerprint: str, task: int) -> dict[str, Any] | None:
    """The record of a hash file written by an earlier attempt, when the file still matches it."""
    try:
        record: dict[str, Any] = json.loads(storage.read_bytes(hashes_file(layout, task) + ".json"))
        size, digest = storage.sha256_of(hashes_file(layout, task))
    except (FileNotFoundError, ValueError):
        return None
    if record.get("fingerprint") != fingerprint or (size, digest) != (record["bytes"], record["sha256"]):
        return None
    record["kept"] = True
    return record


def run_hash_task(ctx: TaskContext, task: Task, sources: dict[int, Source], resume: bool = False,
                  where: str = "local") -> dict[str, Any]:
    """Writes the hash of every document of ``task``'s range, in input order; returns its record."""
    lay = ctx.layout
    if resume:
        kept = _kept(lay, ctx.fingerprint, task.index)
        if kept is not None:
            return kept
    batches = task_batches(ctx, task, sources)
    target = hashes_file(lay, task.index)
    documents = 0
    with storage.AtomicWriter(target, lay.tmp(f"{task.index:05d}.b128")) as out:
        for batch in batches:
            out.write(b"".join(text_hash([texts[i] for texts in batch.texts]) for i in range(batch.docs)))
            documents += batch.docs
        out.commit()
    record = {"task": task.index, "fingerprint": ctx.fingerprint, "documents": documents, "bytes": out.size,
              "sha256": out.sha256, "worker": where}
    storage.write_atomic(target + ".json", json.dumps(record).encode("utf-8"), lay.tmp(f"{task.index:05d}.json"))
    return record


def duplicates(layout: ShardLayout, records: Sequence[dict[str, Any]]) -> list[np.ndarray]:
    """Per task (``records`` in task order), the indexes of its documents whose text an earlier
    document had."""
    words = HASH_BYTES // 8
    parts = [np.frombuffer(storage.read_bytes(hashes_file(layout, r["task"])), np.uint64).reshape(-1, words)
             for r in records]
    counts = [len(p) for p in parts]
    if any(c != r["documents"] for c, r in zip(counts, records)):
        raise OSError(f"a hash file in {layout.work} does not hold its record's documents: rerun without --resume")
    every = np.concatenate(parts) if parts else np.zeros((0, words), np.uint64)
    first = np.zeros(len(every), bool)
    if len(every):
        first[np.unique(every, axis=0, return_index=True)[1]] = True
    bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return [np.flatnonzero(~first[a:b]) for a, b in zip(bounds, bounds[1:])]


class TaskDuplicates:
    """Drops a task's duplicates (indexes among the task's documents) from its batches, in order."""

    def __init__(self, drop: np.ndarray, names: Mapping[int, str]) -> None:
        self.drop = np.asarray(drop, np.int64)
        self.names = names
        self.seen = 0

    def filter(self, batch: Batch) -> Batch:
        lo, hi = np.searchsorted(self.drop, [self.seen, self.seen + batch.docs])
        here = (self.drop[lo:hi] - self.seen).tolist()
        self.seen += batch.docs
        return drop_duplicates(batch, here, self.names)

