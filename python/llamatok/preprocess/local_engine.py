"""The local engine: a three-stage pipeline on one machine.

    reader thread ──batches──▶ main thread: encode ──results──▶ writer thread: append + checkpoint

The core's ``encode_batch_flat`` runs on all cores with the GIL released, so reading and parsing
the next batch and writing the previous one overlap with encoding. Queues hold two items each, so
memory stays at a few batches. An error in any stage stops the others and is raised here.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, List, Sequence

from llamatok.preprocess.batches import Cursor, make_batches, tokenize
from llamatok.preprocess.committer import Committer
from llamatok.preprocess.encode import EncodeSpec

_END = object()


class _Pipeline:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.errors: List[BaseException] = []

    def fail(self, error: BaseException) -> None:
        self.errors.append(error)
        self.stop.set()

    def put(self, q: "queue.Queue[Any]", item: Any) -> bool:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def get(self, q: "queue.Queue[Any]") -> Any:
        while not self.stop.is_set():
            try:
                return q.get(timeout=0.05)
            except queue.Empty:
                continue
        return _END

    def thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        def body() -> None:
            try:
                target()
            except BaseException as e:  # handed to the main thread, which raises it
                self.fail(e)

        t = threading.Thread(target=body, name=name, daemon=True)
        t.start()
        return t


def run_local(core: Any, spec: EncodeSpec, readers: Sequence[Any], sizes: Sequence[int], start: Cursor,
              num_keys: int, batch_bytes: int, committer: Committer) -> None:
    p = _Pipeline()
    to_encode: "queue.Queue[Any]" = queue.Queue(maxsize=2)
    to_write: "queue.Queue[Any]" = queue.Queue(maxsize=2)

    def read() -> None:
        for batch in make_batches(readers, sizes, start, num_keys, batch_bytes):
            if not p.put(to_encode, batch):
                return
        p.put(to_encode, _END)

    def write() -> None:
        while True:
            result = p.get(to_write)
            if result is _END:
                return
            committer.commit(result)

    reader = p.thread(read, "llamatok-read")
    writer = p.thread(write, "llamatok-write")
    try:
        while True:
            batch = p.get(to_encode)
            if batch is _END:
                break
            if not p.put(to_write, tokenize(core, batch, spec)):
                break
        p.put(to_write, _END)
        writer.join()
    except BaseException as e:
        p.fail(e)
        raise
    finally:
        p.stop.set()
        reader.join(timeout=5)
        writer.join(timeout=30)
    if p.errors:
        raise p.errors[0]
