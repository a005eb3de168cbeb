"""A three-stage pipeline, for the local engine and for each sharded task:

    reader thread ──batches──▶ calling thread: encode ──results──▶ writer thread: write

The core's ``encode_batch_flat`` runs on all cores with the GIL released, so reading and parsing
the next batch and writing the previous one overlap with encoding. Queues hold two items each, so
memory stays at a few batches. An error in any stage stops the others and is raised here.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from typing import Any, Callable

from llamatok.preprocess.batches import Batch, BatchResult

_END = object()


class _Pipeline:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def fail(self, error: BaseException) -> None:
        self.errors.append(error)
        self.stop.set()

    def put(self, q: queue.Queue[Any], item: Any) -> bool:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def get(self, q: queue.Queue[Any]) -> Any:
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


def run_pipeline(batches: Iterable[Batch], encode: Callable[[Batch], BatchResult],
                 write: Callable[[BatchResult], None]) -> None:
    """Reads ``batches``, encodes each with ``encode`` and hands the results to ``write``, in order."""
    p = _Pipeline()
    to_encode: queue.Queue[Any] = queue.Queue(maxsize=2)
    to_write: queue.Queue[Any] = queue.Queue(maxsize=2)

    def read() -> None:
        for batch in batches:
            if not p.put(to_encode, batch):
                return
        p.put(to_encode, _END)

    def write_all() -> None:
        while True:
            result = p.get(to_write)
            if result is _END:
                return
            write(result)

    reader = p.thread(read, "llamatok-read")
    writer = p.thread(write_all, "llamatok-write")
    try:
        while True:
            batch = p.get(to_encode)
            if batch is _END:
                break
            if not p.put(to_write, encode(batch)):
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
