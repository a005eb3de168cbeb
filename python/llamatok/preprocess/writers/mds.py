"""``--format mds``: MosaicML Streaming's MDS shards (llm-foundry's ``StreamingTextDataset`` and
``streaming.StreamingDataset`` read them), written from the format's description, without the
``mosaicml-streaming`` package (docs/shards.md, "mds").

``BASE.mds/`` holds ``index.json`` (``{"version": 2, "shards": [...]}``, each shard with its
sample count, its file's basename and size, and the writer's configuration) and the shard files
``shard.NNNNN.mds``. One sample per document with one column, ``tokens``, encoded ``bytes``: the
document's ids as little-endian ``uint16``/``uint32`` (``np.frombuffer(sample["tokens"],
np.uint16)``; llm-foundry: ``token_encoding_type``). A shard file is: u32 sample count; u32 offset
of every sample and of the end, from the file's start; the configuration as JSON; the samples, each
a u32 size of its ``tokens`` then the bytes. Shards are cut before ``SIZE_LIMIT`` bytes, as
Streaming's writer cuts them (a larger sample has a shard of its own).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from llamatok._native import mds_samples_into
from llamatok.preprocess import storage
from llamatok.preprocess.writers.base import ChunkedWriter, TmpNamer, WriterSpec, as_unsigned

#: Streaming's default shard size limit.
SIZE_LIMIT = 1 << 26
COLUMN = "tokens"


def shard_config() -> dict[str, Any]:
    return {"column_encodings": ["bytes"], "column_names": [COLUMN], "column_sizes": [None], "compression": None,
            "format": "mds", "hashes": [], "size_limit": SIZE_LIMIT, "version": 2}


#: Samples are framed in pieces of at most this many bytes, in one buffer the writer keeps: fresh memory
#: for a whole shard's samples cost more in page faults than the framing itself.
FRAME_PIECE_BYTES = 4 << 20


def encode_samples(data: np.ndarray, nbytes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The samples of documents whose ids' bytes are ``data`` (concatenated) and ``nbytes`` each: per
    sample its u32 size, then the bytes; written at the start of ``out`` (uint8, large enough) when
    given. Framed by the core: numpy's scatter of every byte past the size fields was the writer's
    largest cost on short documents."""
    if out is None:
        out = np.empty(int(np.sum(nbytes)) + 4 * len(nbytes), np.uint8)
    sizes = np.asarray(nbytes).astype("<u4").tobytes()
    written = mds_samples_into(np.ascontiguousarray(data, np.uint8).data, sizes, out.data)
    return out[:written]


@dataclass(frozen=True)
class PendingSamples:
    """Documents waiting in a shard, not yet framed: their ids' bytes (a view of the caller's ids) and
    each one's byte size."""

    data: np.ndarray
    nbytes: np.ndarray


class MdsWriter(ChunkedWriter):
    name = "mds"

    def __init__(self, base: str, spec: WriterSpec, tmp: TmpNamer, **options: Any) -> None:
        super().__init__(base, spec, tmp, **options)
        self.folder = base + ".mds"
        self._config = json.dumps(shard_config(), sort_keys=True).encode("utf-8")
        self._shards: list[dict[str, Any]] = []
        self._done: list[tuple[storage.AtomicWriter, str]] = []
        self._pending: list[PendingSamples] = []  # documents of the shard being filled
        self._sizes: list[np.ndarray] = []  # their samples' sizes
        self._bytes = 4 + 4 + len(self._config)  # what the shard being filled takes so far
        self._frames: np.ndarray | None = None  # the buffer samples are framed in (FRAME_PIECE_BYTES)

    @classmethod
    def outputs(cls, base: str, loss_masks: bool = False) -> dict[str, str]:
        return {"folder": base + ".mds", "index": base + ".mds/index.json"}

    def add(self, ids: np.ndarray, lengths: np.ndarray, learned: np.ndarray | None = None) -> None:
        data = as_unsigned(ids, self.spec).view(np.uint8)
        nbytes = np.asarray(lengths, dtype=np.int64) * self.spec.unsigned.itemsize
        starts = np.zeros(len(nbytes) + 1, np.int64)
        np.cumsum(nbytes, out=starts[1:])
        # Each sample costs its bytes, its u32 size and its u32 offset (Streaming's accounting).
        cost = np.zeros(len(nbytes) + 1, np.int64)
        np.cumsum(nbytes + 8, out=cost[1:])
        for i, j in self._runs(cost, SIZE_LIMIT):
            self._pending.append(PendingSamples(data[starts[i]:starts[j]], nbytes[i:j]))
            self._sizes.append(nbytes[i:j] + 4)
        self.documents += len(nbytes)
        self.tokens += int(len(ids))

    def _write_block(self, out: storage.AtomicWriter, block: PendingSamples) -> None:
        framed = np.zeros(len(block.nbytes) + 1, np.int64)  # each sample's end, framed, from the block's start
        np.cumsum(block.nbytes + 4, out=framed[1:])
        i = 0
        while i < len(block.nbytes):
            j = int(np.searchsorted(framed, framed[i] + FRAME_PIECE_BYTES, side="right")) - 1
            start = int(framed[i] - 4 * i)  # the first document's first byte in ``data``
            if j <= i + 1:  # one sample of a piece or more: its size, then its bytes where they are
                out.write(block.nbytes[i:i + 1].astype("<u4"))
                out.write(block.data[start:start + int(block.nbytes[i])])
                i += 1
                continue
            if self._frames is None:
                self._frames = np.empty(FRAME_PIECE_BYTES, np.uint8)
            end = int(framed[j] - 4 * j)
            out.write(encode_samples(block.data[start:end], block.nbytes[i:j], self._frames))
            i = j

    def _flush(self) -> None:
        basename = f"shard.{len(self._shards):05d}.mds"
        out, sizes = self._write_chunk(f"{self.folder}/{basename}", "mds-shard", self._config)
        self._shards.append({"samples": len(sizes), "raw_data": {"basename": basename, "bytes": out.size,
                                                                 "hashes": {}},
                             "zip_data": None, **shard_config()})

    def _finish(self) -> list[tuple[storage.AtomicWriter, str]]:
        if self._pending or not self._shards:
            self._flush()
        index = self._file(f"{self.folder}/index.json")
        index.write(json.dumps({"shards": self._shards, "version": 2}, sort_keys=True).encode("utf-8"))
        index.commit()
        return [*self._done, (index, "mds-index")]
