"""``--dedup exact``: a document whose text was already seen in the run is skipped before it is
encoded, counted, and listed in the rejects file (reason ``duplicate``) with where it is.

The key is a 128-bit BLAKE2b hash of the document's text (of every json key's text, each after its
length in UTF-8 bytes, so that no two different lists of texts hash the same bytes). Duplicates are
found in input order in the encoding stage (one thread, batches in order); the hashes of the
documents kept are appended to ``hashes.b128`` in the work folder by the writing stage before each
checkpoint, so ``--resume`` reloads exactly the hashes of the documents the checkpoint counts (the
file is cut back to that many) and skips the same documents again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from llamatok.preprocess.batches import Batch, BatchResult
from llamatok.preprocess.readers import reject

HASH_BYTES = 16
#: How the summary's ``dedup`` section names the method.
DEDUP_METHOD = "exact (128-bit BLAKE2b of the text)"


@dataclass
class DedupedResult(BatchResult):
    new_hashes: bytes = b""  # the kept documents' hashes, appended to the work folder on commit


def text_hash(texts: Sequence[str]) -> bytes:
    h = hashlib.blake2b(digest_size=HASH_BYTES)
    for t in texts:
        data = t.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


def drop_duplicates(batch: Batch, drop: Sequence[int], names: Mapping[int, str]) -> Batch:
    """``batch`` without its documents ``drop`` (indexes in the batch, ascending), each listed as a
    ``duplicate`` reject after the batch's other rejects."""
    if not drop:
        return batch
    for i in drop:
        s, pos = batch.sources[i], batch.positions[i]
        batch.rejects.append(reject(names[s], "duplicate",
                                    f"same text (128-bit BLAKE2b) as an earlier document; this one is at position "
                                    f"{pos} of its source (a JSONL file's byte offset, a Parquet row, a folder's "
                                    "file number in its sorted listing)",
                                    batch.texts[0][i][:200].encode("utf-8", "replace")))
        batch.reject_sources.append(s)
    dropped = set(drop)
    keep = [i for i in range(batch.docs) if i not in dropped]
    batch.texts = [[texts[i] for i in keep] for texts in batch.texts]
    batch.sources = [batch.sources[i] for i in keep]
    batch.positions = [batch.positions[i] for i in keep]
    return batch


class Deduper:
    def __init__(self, path: str, kept: int, source_names: Sequence[str]) -> None:
        """``kept``: the documents the checkpoint counts (their hashes are the file's first ones)."""
        self.path = path
        self.names = dict(enumerate(source_names))
        mode = "r+b" if os.path.exists(path) else "w+b"
        self._file = open(path, mode)  # noqa: SIM115 (closed by close)
        data = self._file.read(kept * HASH_BYTES)
        if len(data) != kept * HASH_BYTES:
            raise OSError(f"{path} holds fewer hashes than the checkpoint's {kept} documents: rerun without --resume")
        self._file.truncate(len(data))
        self._file.seek(len(data))
        self.seen = {data[i:i + HASH_BYTES] for i in range(0, len(data), HASH_BYTES)}
        self.duplicates = 0

    def filter(self, batch: Batch) -> tuple[Batch, bytes]:
        """The batch without the documents already seen (they become rejects); the new hashes."""
        drop: list[int] = []
        new: list[bytes] = []
        for i in range(batch.docs):
            h = text_hash([texts[i] for texts in batch.texts])
            if h in self.seen:
                drop.append(i)
                continue
            self.seen.add(h)
            new.append(h)
        self.duplicates += len(drop)
        return drop_duplicates(batch, drop, self.names), b"".join(new)

    @staticmethod
    def wrap(result: BatchResult, new: bytes) -> DedupedResult:
        return DedupedResult(**{f.name: getattr(result, f.name) for f in fields(result)}, new_hashes=new)

    def record(self, result: BatchResult) -> None:
        """Appends the kept documents' hashes (made durable by :meth:`sync`, before a checkpoint)."""
        new = result.new_hashes if isinstance(result, DedupedResult) else b""
        if new:
            self._file.write(new)

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()
