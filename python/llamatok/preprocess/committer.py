"""Writes batch results, in input order, to the work folder and checkpoints them; keeps the counters
of the summary and enforces ``--max-rejects``, for the single-file layout (``job.py``; shards have their own
records, ``tasks.py``).

A checkpoint (``WorkDir.commit``: the data fsynced, then ``checkpoint.json`` replaced) is taken once
``checkpoint_seconds`` have passed since the last one, not after every batch: five fsyncs a batch would
bound the run's speed by the file system's (a network file system takes milliseconds for each, and many
cores encode a batch in less), and a killed run redoes at most that much work. A run that hits
``--max-rejects``, and the end of the input (:meth:`Committer.checkpoint`), are always checkpointed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from llamatok.preprocess.batches import BatchResult
from llamatok.preprocess.checkpoint import WorkDir
from llamatok.preprocess.options import RejectLimitError
from llamatok.preprocess.progress import Progress


def new_state(fingerprint: str, num_keys: int) -> dict[str, Any]:
    return {
        "fingerprint": fingerprint,
        "phase": "running",
        "cursor": [0, 0, 0],
        "documents": 0,
        "tokens": [0] * num_keys,
        "input_bytes": 0,
        "rejected": {},
        "blank_lines": 0,
        "batches": 0,
        "seconds": 0.0,
        "runs": 0,
    }


def rejected_total(state: dict[str, Any]) -> int:
    return sum(state["rejected"].values())


class Committer:
    def __init__(self, work: WorkDir, state: dict[str, Any], progress: Progress, max_rejects: int | None,
                 rejects_path: str, checkpoint_seconds: float,
                 before_checkpoint: Callable[[], None] | None = None) -> None:
        """``before_checkpoint``: makes durable what else a checkpoint vouches for (``--dedup``'s hashes)."""
        self.work = work
        self.state = state
        self.progress = progress
        self.max_rejects = max_rejects
        self.rejects_path = rejects_path
        self.started = time.monotonic()
        self.seconds_before = float(state["seconds"])
        self.done_bytes = 0
        self.checkpoint_seconds = checkpoint_seconds
        self.before_checkpoint = before_checkpoint
        self._last_checkpoint = time.monotonic()
        self._uncheckpointed = False

    def elapsed(self) -> float:
        return self.seconds_before + time.monotonic() - self.started

    def commit(self, result: BatchResult) -> None:
        st = self.state
        for k, (ids, lengths) in enumerate(zip(result.ids, result.lengths)):
            self.work.append(k, ids, lengths, result.learned[k] if result.learned is not None else None)
            st["tokens"][k] += int(len(ids))
        if result.rejects:
            lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.rejects)
            self.work.append_rejects(lines.encode("utf-8", "backslashreplace"))
            for r in result.rejects:
                st["rejected"][r["reason"]] = st["rejected"].get(r["reason"], 0) + 1
        st["documents"] += result.docs
        st["input_bytes"] += result.input_bytes
        st["blank_lines"] += result.blank_lines
        st["cursor"] = list(result.cursor)
        st["batches"] += 1
        self._uncheckpointed = True
        total = rejected_total(st)
        too_many = self.max_rejects is not None and total > self.max_rejects
        if too_many or time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds:
            self.checkpoint()
        else:
            self.work.start_writeback()
        self.done_bytes = max(self.done_bytes, result.done_bytes)
        self.progress.update(st["documents"], st["input_bytes"], sum(st["tokens"]), self.done_bytes)
        if too_many:
            raise RejectLimitError(
                f"{total} records rejected, more than --max-rejects {self.max_rejects}; they are listed in "
                f"{self.rejects_path} (raise the limit and add --resume to go on from here)"
            )

    def checkpoint(self) -> None:
        """Makes every batch committed so far durable, and the point ``--resume`` goes on from."""
        if not self._uncheckpointed:
            return
        if self.before_checkpoint is not None:
            self.before_checkpoint()
        self.state["seconds"] = self.elapsed()
        self.work.commit(self.state)
        self._last_checkpoint = time.monotonic()
        self._uncheckpointed = False
