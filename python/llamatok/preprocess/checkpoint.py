"""Crash safety: a work folder beside the outputs, appended to batch by batch and checkpointed.

``PREFIX.partial/`` holds, per json key, ``tokens-K.bin`` (the ids, exactly the future ``.bin``)
and ``lengths-K.i32`` (one int32 per document), plus ``rejects.jsonl`` and ``checkpoint.json``.
Batches are appended; a checkpoint (:meth:`WorkDir.commit`, taken when ``committer.py`` says) fsyncs
those files, then atomically replaces ``checkpoint.json`` (written to a temporary file, fsynced, renamed,
folder fsynced) with the input cursor after the last batch appended, the counters and the size of every file.

A run killed at any moment leaves a checkpoint that describes a prefix of the work exactly; bytes
appended after it are garbage. ``--resume`` truncates every file to the checkpoint's sizes and reads
on from its cursor. Because every document's ids depend only on the document, its place in the
input and the options (never on batch boundaries or timing), the finished outputs are byte-identical
to an uninterrupted run's. Finishing (``finish.py``) is checkpointed the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any, BinaryIO

import numpy as np

from llamatok.preprocess.storage import fsync_dir, start_writeback

STATE = "checkpoint.json"
VERSION = 3  # 2: --dedup's hashes put each text's length before it; 3: FIM loss masks kept per id


def write_atomic(path: str, data: bytes) -> None:
    """``data`` under ``path``, all or nothing: temporary file, fsync, rename, folder fsync."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    crash_point("state-written")
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


_crash_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    """For the kill-and-resume tests: ``LLAMATOK_PREPROCESS_CRASH_AT=name[:n]`` kills the process
    (as SIGKILL would: no cleanup, no flush) the n-th time it reaches ``name``."""
    target = os.environ.get("LLAMATOK_PREPROCESS_CRASH_AT")
    if not target:
        return
    want, _, count = target.partition(":")
    if want != name:
        return
    _crash_counts[name] = _crash_counts.get(name, 0) + 1
    if _crash_counts[name] >= int(count or 1):
        sys.stderr.flush()
        os._exit(86)


class WorkDir:
    """The partial outputs of one job and its checkpoint."""

    def __init__(self, path: str, num_keys: int, learned: bool = False) -> None:
        self.path = path
        self.tokens = [os.path.join(path, f"tokens-{k}.bin") for k in range(num_keys)]
        self.lengths = [os.path.join(path, f"lengths-{k}.i32") for k in range(num_keys)]
        # With FIM loss masks: one bool per id, whether a model learns it (encode.py).
        self.learned = [os.path.join(path, f"learned-{k}.bool") for k in range(num_keys)] if learned else []
        self.rejects = os.path.join(path, "rejects.jsonl")
        self.state_path = os.path.join(path, STATE)
        self._files: list[BinaryIO] = []
        self._written_back: list[int] = []  # per file, the bytes the kernel was asked to start writing

    @property
    def data_files(self) -> list[str]:
        return [*self.tokens, *self.lengths, *self.learned, self.rejects]

    def load_state(self) -> dict[str, Any] | None:
        try:
            with open(self.state_path, encoding="utf-8") as f:
                state: dict[str, Any] = json.load(f)
        except FileNotFoundError:
            return None
        if state.get("version") != VERSION:
            return None
        return state

    def create(self) -> None:
        """A fresh, empty work folder (any previous one is removed)."""
        if os.path.isdir(self.path):
            shutil.rmtree(self.path)
        os.makedirs(self.path)
        for p in self.data_files:
            open(p, "wb").close()
        fsync_dir(self.path)
        fsync_dir(os.path.dirname(os.path.abspath(self.path)))

    def rewind(self, state: dict[str, Any]) -> None:
        """Cuts every data file back to the size the checkpoint recorded."""
        sizes = state["sizes"]
        for p in self.data_files:
            name = os.path.basename(p)
            size = int(sizes.get(name, 0))
            if not os.path.exists(p):
                if size:
                    raise OSError(f"{p} is missing: the partial run in {self.path} cannot be resumed; "
                                  "rerun without --resume")
                open(p, "wb").close()
                continue
            if os.path.getsize(p) < size:
                raise OSError(f"{p} is shorter than its checkpoint says: rerun without --resume")
            os.truncate(p, size)

    def open(self) -> None:
        self._files = [open(p, "ab") for p in self.data_files]  # noqa: SIM115 (closed by close)
        self._written_back = [f.tell() for f in self._files]

    def append(self, key_index: int, ids: Any, lengths: Any, learned: Any = None) -> None:
        n = len(self.tokens)
        self._files[key_index].write(memoryview(ids).cast("B"))
        self._files[n + key_index].write(memoryview(lengths).cast("B"))
        if self.learned:
            if learned is None or len(learned) != len(ids):
                raise ValueError("this work folder keeps the FIM loss masks: every batch needs one per id")
            self._files[2 * n + key_index].write(np.ascontiguousarray(learned, bool).tobytes())

    def append_rejects(self, data: bytes) -> None:
        self._files[-1].write(data)

    def start_writeback(self) -> None:
        """:func:`storage.start_writeback` of what was appended since the last call, so that the next
        checkpoint's fsyncs find little left to write: between checkpoints the disk works while the batches
        are encoded, as it did when every batch was fsynced."""
        self._written_back = [start_writeback(f, since) for f, since in zip(self._files, self._written_back)]

    def sizes(self) -> dict[str, int]:
        return {os.path.basename(p): f.tell() for p, f in zip(self.data_files, self._files)}

    def commit(self, state: dict[str, Any]) -> None:
        """Makes the appended data durable, then records ``state`` (with the file sizes)."""
        for f in self._files:
            f.flush()
            os.fsync(f.fileno())
        crash_point("data-written")
        state = dict(state, version=VERSION, sizes=self.sizes())
        write_atomic(self.state_path, json.dumps(state, indent=1).encode("utf-8"))
        crash_point("committed")

    def save_state(self, state: dict[str, Any]) -> None:
        write_atomic(self.state_path, json.dumps(dict(state, version=VERSION), indent=1).encode("utf-8"))

    def close(self) -> None:
        for f in self._files:
            f.close()
        self._files = []

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
        fsync_dir(os.path.dirname(os.path.abspath(self.path)))
