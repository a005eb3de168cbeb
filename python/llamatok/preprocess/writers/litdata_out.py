"""``--format litdata``: litdata's optimized chunks, as ``litdata.optimize(...,
item_loader=TokensLoader())`` writes them for litgpt's pretraining data, and
``litdata.StreamingDataset(item_loader=TokensLoader(block_size))`` reads them; written from the
format's description, without the ``litdata`` package (docs/shards.md, "litdata").

``BASE.litdata/`` holds ``index.json`` (the chunks, each with its file name, item count, bytes
and token count ``dim``, and the writer's configuration) and the chunk files ``chunk-0-N.bin``.
One item per document: its ids as a 1-D ``uint16``/``uint32`` array. A chunk file is: u32 item
count; u32 offset of every item and of the end, from the file's start; the items' ids. Chunks are
cut before ``CHUNK_BYTES`` (a larger document has a chunk of its own). A document without ids is
not written: a token stream has nothing to show for it, and litdata counts a chunk's tokens from
its first item's.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from llamatok.preprocess import storage
from llamatok.preprocess.writers.base import ChunkedWriter, PendingIds, TmpNamer, WriterSpec, as_unsigned

CHUNK_BYTES = 1 << 26
#: litdata's numbering of numpy dtypes (``_NUMPY_DTYPES_MAPPING``) for the ``no_header_numpy`` format.
NUMPY_DTYPE_CODES = {"uint16": 5, "uint32": 6}
#: The tree of one leaf, as litdata's ``treespec_dumps`` writes it.
LEAF_SPEC = json.dumps([1, {"type": None, "context": None, "children_spec": []}])


class LitdataWriter(ChunkedWriter):
    name = "litdata"

    def __init__(self, base: str, spec: WriterSpec, tmp: TmpNamer, **options: Any) -> None:
        super().__init__(base, spec, tmp, **options)
        self.folder = base + ".litdata"
        self._chunks: list[dict[str, Any]] = []
        self._done: list[tuple[storage.AtomicWriter, str]] = []
        self._pending: list[np.ndarray | PendingIds] = []  # ids of the chunk being filled
        self._sizes: list[np.ndarray] = []  # their documents' byte sizes
        self._bytes = 4 + 4

    @classmethod
    def outputs(cls, base: str, loss_masks: bool = False) -> dict[str, str]:
        return {"folder": base + ".litdata", "index": base + ".litdata/index.json"}

    def config(self) -> dict[str, Any]:
        return {"chunk_bytes": CHUNK_BYTES, "chunk_size": None, "compression": None,
                "data_format": [f"no_header_numpy:{NUMPY_DTYPE_CODES[self.spec.unsigned.name]}"],
                "data_spec": LEAF_SPEC, "encryption": None, "item_loader": "TokensLoader"}

    def add(self, ids: np.ndarray, lengths: np.ndarray, learned: np.ndarray | None = None) -> None:
        ids = as_unsigned(ids, self.spec)
        lengths = np.asarray(lengths, dtype=np.int64)
        nbytes = lengths[lengths > 0] * ids.itemsize
        starts = np.zeros(len(nbytes) + 1, np.int64)
        np.cumsum(nbytes // ids.itemsize, out=starts[1:])
        cost = np.zeros(len(nbytes) + 1, np.int64)
        np.cumsum(nbytes + 4, out=cost[1:])
        for i, j in self._runs(cost, CHUNK_BYTES):
            self._pending.append(PendingIds(ids[starts[i]:starts[j]], self.tokens + int(starts[i])))
            self._sizes.append(nbytes[i:j])
        self.documents += len(lengths)
        self.tokens += int(len(ids))

    def _flush(self) -> None:
        filename = f"chunk-0-{len(self._chunks)}.bin"
        out, sizes = self._write_chunk(f"{self.folder}/{filename}", "litdata-chunk")
        dim = int(sizes.sum()) // self.spec.unsigned.itemsize
        self._chunks.append({"chunk_bytes": out.size, "chunk_size": len(sizes), "dim": dim, "filename": filename})

    def _finish(self) -> list[tuple[storage.AtomicWriter, str]]:
        if self._pending:
            self._flush()
        index = self._file(f"{self.folder}/index.json")
        # litdata's writer stamps the time here; a fixed stamp keeps the bytes reproducible.
        body = {"chunks": self._chunks, "config": self.config(), "updated_at": "0"}
        index.write(json.dumps(body, sort_keys=True).encode("utf-8"))
        index.commit()
        return [*self._done, (index, "litdata-index")]
