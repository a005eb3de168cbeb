"""One task of a sharded run: read a range of the input where the task runs, encode it, write its
shards and its rejects straight to the output location, then its record. The same code runs in
the driver's process (local engine) and in Ray workers.

What a task returns (to the driver) is its record: counters, and per shard its name, counts, input
range and the size and SHA-256 of each file; never token ids. The record is also written to the
work folder last, so a task whose record exists finished; on ``--resume`` a task whose record's
files all still match their checksums is kept without being read again.

A task's output depends only on its range of the input and the options, so a retried task (its
worker died) rewrites the same bytes under the same names.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llamatok.preprocess import storage
from llamatok.preprocess.batches import Batch, BatchResult, make_batches, tokenize, with_texts
from llamatok.preprocess.checkpoint import crash_point
from llamatok.preprocess.encode import EncodeSpec
from llamatok.preprocess.pipeline import run_pipeline
from llamatok.preprocess.plan import Task
from llamatok.preprocess.readers import raw_jsonl_wanted, reader_for
from llamatok.preprocess.shards import ShardLayout, ShardWriter
from llamatok.preprocess.sources import Source

if TYPE_CHECKING:
    from llamatok._native import Tokenizer


@dataclass(frozen=True)
class TaskContext:
    """What every task of a run shares (small: it is sent with each task)."""

    layout: ShardLayout
    spec: EncodeSpec
    batch_bytes: int
    fingerprint: str


def shard_file(layout: ShardLayout, path: str) -> str:
    """The location of a file a record names (names are relative to the output prefix's folder)."""
    return storage.join(storage.parent(layout.prefix), path)


def kept_record(layout: ShardLayout, fingerprint: str, index: int) -> dict[str, Any] | None:
    """The record of task ``index`` when the task finished in an earlier attempt of this run and every
    file it names is still there with its recorded size and SHA-256; else None."""
    try:
        record: dict[str, Any] = json.loads(storage.read_bytes(layout.record(index)))
    except FileNotFoundError:
        return None
    except ValueError:
        return None
    if record.get("fingerprint") != fingerprint or record.get("task") != index:
        return None
    files = [(shard_file(layout, f["path"]), f) for shard in record["shards"] for f in shard["files"]]
    if "rejects_file" in record:
        files.append((layout.task_rejects(index), record["rejects_file"]))
    for location, expected in files:
        try:
            size, digest = storage.sha256_of(location)
        except FileNotFoundError:
            return None
        if size != expected["bytes"] or digest != expected["sha256"]:
            return None
    record["kept"] = True
    return record


def task_batches(ctx: TaskContext, task: Task, sources: dict[int, Source], raw_jsonl: bool = False) -> Iterator[Batch]:
    """The batches of ``task``'s range of the input, read where the task runs."""
    readers = {s: reader_for(src, ctx.layout.keys, raw_jsonl) for s, src in sources.items()}
    start = (task.start[0], task.start[1], max(task.start[2], 0))
    return make_batches(readers, [0] * (task.end[0] + 1), start, len(ctx.layout.keys), ctx.batch_bytes, task.end)


def run_task(core: Tokenizer, ctx: TaskContext, task: Task, sources: dict[int, Source], resume: bool = False,
             where: str = "local", duplicates: np.ndarray | None = None) -> dict[str, Any]:
    """Runs ``task`` (or keeps its earlier result on ``resume``) and returns its record. ``where``
    names the worker (a Ray node id): it goes into the attempt markers and the record.
    ``duplicates``: with --dedup, the indexes of the task's documents to skip (dedup_pass.py)."""
    if resume:
        kept = kept_record(ctx.layout, ctx.fingerprint, task.index)
        if kept is not None:
            return kept
    started = time.monotonic()
    lay = ctx.layout
    storage.write_atomic(storage.join(lay.attempts(task.index), f"{where}-{uuid.uuid4().hex[:12]}"), b"")
    attempt = len(storage.list_names(lay.attempts(task.index)))
    keys = lay.keys
    batches = task_batches(ctx, task, sources, raw_jsonl_wanted(sources.values()))
    shards = ShardWriter(lay, task.index)
    rejects = storage.AtomicWriter(lay.task_rejects(task.index), lay.tmp(f"{task.index:05d}.rejects.jsonl"))
    counts: dict[str, Any] = {"documents": 0, "tokens": [0] * len(keys), "input_bytes": 0, "blank_lines": 0,
                              "rejected": {}, "lines": {}}

    def write(result: BatchResult) -> None:
        shards.add(result)
        if result.rejects:
            lines = "".join(json.dumps(dict(r, _source=s), ensure_ascii=False) + "\n"
                            for r, s in zip(result.rejects, result.reject_sources))
            rejects.write(lines.encode("utf-8", "backslashreplace"))
            for r in result.rejects:
                counts["rejected"][r["reason"]] = counts["rejected"].get(r["reason"], 0) + 1
        counts["documents"] += result.docs
        counts["input_bytes"] += result.input_bytes
        counts["blank_lines"] += result.blank_lines
        for k, ids in enumerate(result.ids):
            counts["tokens"][k] += int(len(ids))
        for s, n in result.lines.items():
            counts["lines"][str(s)] = n

    try:
        if duplicates is not None:
            from llamatok.preprocess.dedup_pass import TaskDuplicates

            skip = TaskDuplicates(duplicates, {s: src.name for s, src in sources.items()})
            run_pipeline(batches, lambda b: tokenize(core, skip.filter(with_texts(b)), ctx.spec), write)
        else:
            run_pipeline(batches, lambda b: tokenize(core, b, ctx.spec), write)
        entries = shards.close()
        rejects.commit()
    except BaseException:
        shards.abort()
        rejects.abort()
        raise
    record = {
        "task": task.index,
        "fingerprint": ctx.fingerprint,
        "range": task.to_json(),
        "shards": entries,
        **counts,
        "rejects_file": {"bytes": rejects.size, "sha256": rejects.sha256},
        "attempt": attempt,
        "host": socket.gethostname(),
        "worker": where,
        "pid": os.getpid(),
        "seconds": round(time.monotonic() - started, 3),
    }
    storage.write_atomic(lay.record(task.index), json.dumps(record).encode("utf-8"),
                         lay.tmp(f"{task.index:05d}.json"))
    crash_point("task-recorded")
    return record


def encoded(record: dict[str, Any]) -> bytes:
    """A record as the bytes a Ray task returns to the driver."""
    return json.dumps(record, separators=(",", ":")).encode("utf-8")


def decoded(payload: bytes) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(payload)
    return record
