"""``--shuffle-seed`` and ``--pack`` in the sharded layout (every Ray run, ``--shard-tokens``).

    tasks write their documents, in input order, as Megatron shards in the work folder
    (``PREFIX.partial/docs/``) ─▶ the driver reads their lengths (never their ids) and draws the
    training order with the single-file layout's code (sequences.py) ─▶ reorder tasks, run where
    the tasks ran, each gather one output shard's pieces from the work shards (ranged reads) and
    write it in every format asked for ─▶ manifest, summary; work folder removed

The pieces depend only on the documents in input order, the seed and the options, so the output
shards, merged, are the bytes the local engine writes in one file, for any number of workers, on
either engine, and across ``--resume`` (a reorder task whose files still match its record is kept).
Output shard ``PREFIX-SSSSS-000`` holds at most ``--shard-tokens`` ids and, with ``--pack``, whole
sequences only (at least one), so that each shard can be read on its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from llamatok.preprocess import storage
from llamatok.preprocess.batches import BatchResult
from llamatok.preprocess.checkpoint import crash_point
from llamatok.preprocess.megatron import document_lengths
from llamatok.preprocess.packing import PackPlan
from llamatok.preprocess.sequences import SequenceSpec, training_order
from llamatok.preprocess.shards import ShardLayout, ShardWriter
from llamatok.preprocess.tasks import kept_record, shard_file

#: Bytes read from a work shard per request, when pieces lie close together.
READ_BUFFER = 1 << 20


def work_layout(layout: ShardLayout) -> ShardLayout:
    """Where the tasks of a reordered run write their documents: Megatron shards (and the tasks'
    records) under ``PREFIX.partial/docs/``, removed with the work folder."""
    prefix = storage.join(layout.work, "docs/" + storage.basename(layout.prefix))
    return replace(layout, prefix=prefix, formats=("megatron",), loss_masks=False, learned_files=layout.loss_masks)


@dataclass(frozen=True)
class Source:
    """The work shards of one key, in input order: their ``.bin`` files and first document."""

    bins: tuple[str, ...]
    learned: tuple[str, ...]  # beside each, with FIM loss masks: one bool per id (else empty)
    first_doc: np.ndarray  # int64, one more entry than bins: the documents before each shard
    doc_start: np.ndarray  # int64, per document and one more: its first token in the key's documents


@dataclass(frozen=True)
class ReorderTask:
    """One output shard: per key, its pieces as (work shard, first token in it, length); shard -1
    is padding."""

    index: int
    shard: list[np.ndarray]
    offset: list[np.ndarray]
    length: list[np.ndarray]
    fingerprint: str

    @property
    def tokens(self) -> int:
        return int(self.length[0].sum())


def sources_of(work: ShardLayout, records: Sequence[dict[str, Any]]) -> tuple[list[Source], list[np.ndarray]]:
    """Per key: the work shards and the lengths of every document, in input order."""
    sources, all_lengths = [], []
    for key in work.keys:
        bins: list[str] = []
        learned: list[str] = []
        lengths: list[np.ndarray] = []
        for record in records:
            for entry in record["shards"]:
                files = {f["kind"]: f for f in entry["files"] if f.get("key") == key}
                index = storage.read_bytes(shard_file(work, files["idx"]["path"]))
                lengths.append(document_lengths(index, files["idx"]["path"])[1].astype(np.int64))
                bins.append(shard_file(work, files["bin"]["path"]))
                if work.learned_files:
                    learned.append(shard_file(work, files["learned"]["path"]))
        first_doc = np.zeros(len(bins) + 1, np.int64)
        np.cumsum([len(n) for n in lengths], out=first_doc[1:])
        joined = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
        doc_start = np.zeros(len(joined) + 1, np.int64)
        np.cumsum(joined, out=doc_start[1:])
        sources.append(Source(tuple(bins), tuple(learned), first_doc, doc_start))
        all_lengths.append(joined)
    return sources, all_lengths


def plan_tasks(sources: Sequence[Source], lengths: Sequence[np.ndarray], spec: SequenceSpec, shard_tokens: int,
               fingerprint: str) -> tuple[list[ReorderTask], PackPlan]:
    """The output shards' tasks, and the training order they write (the first key's)."""
    orders = [training_order(n, spec) for n in lengths]
    first = orders[0]
    ends = np.cumsum(first.length)
    if spec.pack is not None:
        per_shard = max(1, shard_tokens // spec.pack) * spec.pack
        boundaries = np.arange(per_shard, int(ends[-1]) if len(ends) else 0, per_shard)
        cuts = np.searchsorted(ends, boundaries, side="right").tolist()
    else:
        cuts = _greedy_cuts(first.length, shard_tokens)
    bounds = [0, *cuts, len(first.length)]
    tasks: list[ReorderTask] = []
    for a, b in zip(bounds, bounds[1:]):
        if a == b:
            continue
        shard, offset, length = [], [], []
        for src, order in zip(sources, orders):
            doc = order.doc[a:b]
            where = np.searchsorted(src.first_doc, np.maximum(doc, 0), side="right") - 1
            start = src.doc_start[np.maximum(doc, 0)] - src.doc_start[src.first_doc[where]] + order.start[a:b]
            shard.append(np.where(doc >= 0, where, -1).astype(np.int32))
            offset.append(start.astype(np.int64))
            length.append(order.length[a:b].astype(np.int64))
        tasks.append(ReorderTask(len(tasks), shard, offset, length, fingerprint))
    return tasks, first


def _greedy_cuts(lengths: np.ndarray, limit: int) -> list[int]:
    """Where the output shards start: at most ``limit`` ids each, a longer piece alone."""
    cuts, tokens = [], 0
    for i, n in enumerate(lengths.tolist()):
        if tokens and tokens + n > limit:
            cuts.append(i)
            tokens = 0
        tokens += n
    return cuts


def _gather(files: Sequence[str], shard: np.ndarray, offset: np.ndarray, length: np.ndarray, dtype: np.dtype,
            pad_id: int) -> np.ndarray:
    """The pieces' values (ids, or learned bools), read from the work shards' ``files`` (padding
    pieces: ``pad_id``)."""
    out = np.full(int(length.sum()), pad_id, dtype)
    out_start = np.zeros(len(length) + 1, np.int64)
    np.cumsum(length, out=out_start[1:])
    size = dtype.itemsize
    for s in np.unique(shard[shard >= 0]).tolist():
        picked = np.flatnonzero(shard == s)
        picked = picked[np.argsort(offset[picked], kind="stable")]
        with storage.open_input(files[s], READ_BUFFER) as f:
            for i in picked.tolist():
                f.seek(int(offset[i]) * size)
                data = f.read(int(length[i]) * size)
                out[out_start[i]:out_start[i + 1]] = np.frombuffer(data, dtype)
    return out


def run_reorder_task(layout: ShardLayout, sources: Sequence[Source], task: ReorderTask, pad_id: int,
                     resume: bool = False, where: str = "local") -> dict[str, Any]:
    """Writes output shard ``task.index`` (or keeps it on ``resume``); returns its record."""
    if resume:
        kept = kept_record(layout, task.fingerprint, task.index)
        if kept is not None:
            return kept
    started = time.monotonic()
    dtype = np.dtype(layout.dtype)
    ids = [_gather(src.bins, s, o, n, dtype, pad_id) for src, s, o, n in zip(sources, task.shard, task.offset,
                                                                              task.length)]
    learned = [_gather(src.learned, s, o, n, np.dtype(bool), 0)
               for src, s, o, n in zip(sources, task.shard, task.offset, task.length)] if layout.loss_masks else None
    lengths = [n.astype(np.int32) for n in task.length]
    # Never cut inside the task: it was planned to fit (a piece longer than the shard size alone).
    writer = ShardWriter(replace(layout, shard_tokens=max(layout.shard_tokens, task.tokens)), task.index)
    try:
        writer.add(BatchResult(ids=ids, lengths=lengths, rejects=[], docs=len(lengths[0]), input_bytes=0,
                               blank_lines=0, cursor=(0, 0, 0), learned=learned))
        entries = writer.close()
    except BaseException:
        writer.abort()
        raise
    for entry in entries:
        entry["input"] = None
    record = {"task": task.index, "fingerprint": task.fingerprint, "shards": entries, "worker": where,
              "seconds": round(time.monotonic() - started, 3)}
    storage.write_atomic(layout.record(task.index), json.dumps(record).encode("utf-8"),
                         layout.tmp(f"{task.index:05d}.json"))
    crash_point("reordered")
    return record
