"""Parquet output: one row per document, an ``input_ids`` column (list<int32>) for Arrow-based
users (``datasets.load_dataset("parquet", ...)``, pandas, polars). With several json keys the
columns are ``KEY_input_ids``. With FIM, a ``loss_mask`` column (``KEY_loss_mask``; list<bool>,
``writers.base.loss_mask``) says which ids a model learns.

Row groups are cut by token count only (a group ends before the first key's tokens pass
``ROW_GROUP_TOKENS``, or at ``ROW_GROUP_ROWS`` rows), so the bytes do not depend on how documents
arrive: in batches (a shard) or from the work folder's files at the end (the single-file output).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from llamatok.preprocess.megatron import lengths_file
from llamatok.preprocess.writers.base import loss_mask

ROW_GROUP_TOKENS = 1 << 23
ROW_GROUP_ROWS = 1 << 16
#: Documents fed at a time when writing from the work folder's files.
FEED_DOCS = 1 << 16


def column_names(keys: Sequence[str], suffix: str = "input_ids") -> list[str]:
    return [suffix] if len(keys) == 1 else [f"{k}_{suffix}" for k in keys]


class ParquetDocuments:
    """Writes documents to ``where`` (a path or a binary file-like object) in row groups."""

    def __init__(self, where: Any, keys: Sequence[str], middle_id: int | None = None,
                 compression: str = "zstd") -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self.middle_id = middle_id
        self.names = column_names(keys)
        fields = [pa.field(n, pa.list_(pa.int32())) for n in self.names]
        if middle_id is not None:
            fields += [pa.field(n, pa.list_(pa.bool_())) for n in column_names(keys, "loss_mask")]
        self.schema = pa.schema(fields)
        # Token ids compress well without a dictionary page (tens of thousands of distinct values), and
        # min/max statistics of ids help no reader: both off make writing cheaper and the file smaller.
        self.writer = pq.ParquetWriter(where, self.schema, compression=compression, use_dictionary=False,
                                       write_statistics=False)
        self.rows = 0
        self._ids: list[list[np.ndarray]] = [[] for _ in keys]
        self._lengths: list[list[np.ndarray]] = [[] for _ in keys]
        self._pending_rows = 0
        self._pending_tokens = 0  # of the first key

    def add(self, ids: Sequence[np.ndarray], lengths: Sequence[np.ndarray]) -> None:
        """A run of documents: per key, their ids concatenated and each one's length."""
        for k, (i, n) in enumerate(zip(ids, lengths)):
            self._ids[k].append(np.asarray(i))
            self._lengths[k].append(np.asarray(n, dtype=np.int64))
        self._pending_rows += len(lengths[0])
        self._pending_tokens += int(np.sum(lengths[0], dtype=np.int64))
        while self._pending_rows >= ROW_GROUP_ROWS or self._pending_tokens > ROW_GROUP_TOKENS:
            self._write_group()

    def _write_group(self) -> None:
        pa = self._pa
        ids = [np.concatenate(x) if x else np.zeros(0, np.int32) for x in self._ids]
        lengths = [np.concatenate(x) if x else np.zeros(0, np.int64) for x in self._lengths]
        ends = np.cumsum(lengths[0], dtype=np.int64)
        stop = int(np.searchsorted(ends, ROW_GROUP_TOKENS, side="right"))
        stop = min(max(stop, 1), ROW_GROUP_ROWS, len(lengths[0]))
        columns, masks = [], []
        for k in range(len(ids)):
            offsets = np.zeros(stop + 1, np.int32)
            np.cumsum(lengths[k][:stop], out=offsets[1:])
            group_ids = np.asarray(ids[k][:offsets[-1]])
            columns.append(pa.ListArray.from_arrays(pa.array(offsets), pa.array(group_ids.astype(np.int32))))
            if self.middle_id is not None:
                mask = loss_mask(group_ids, lengths[k][:stop], self.middle_id)
                masks.append(pa.ListArray.from_arrays(pa.array(offsets), pa.array(mask)))
            self._ids[k] = [ids[k][offsets[-1]:]]
            self._lengths[k] = [lengths[k][stop:]]
        columns += masks
        self.writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))
        self.rows += stop
        self._pending_rows -= stop
        self._pending_tokens = int(np.sum(self._lengths[0][0], dtype=np.int64))

    def close(self) -> None:
        while self._pending_rows:
            self._write_group()
        if self.rows == 0:
            pa = self._pa
            empty = {f.name: pa.array([], f.type) for f in self.schema}
            self.writer.write_table(pa.table(empty, schema=self.schema))
        self.writer.close()


def write_parquet(path: str, keys: Sequence[str], token_paths: Sequence[str], length_paths: Sequence[str],
                  dtype: np.dtype, middle_id: int | None = None, compression: str = "zstd") -> None:
    """The single-file Parquet output, from the work folder's token and length files."""
    tokens = [np.memmap(p, dtype=np.dtype(dtype), mode="r") if os.path.getsize(p) else np.zeros(0, dtype)
              for p in token_paths]
    lengths = [lengths_file(p) for p in length_paths]
    out = ParquetDocuments(path, keys, middle_id, compression)
    done = [0] * len(keys)
    for row in range(0, len(lengths[0]), FEED_DOCS):
        ids, lens = [], []
        for k in range(len(keys)):
            n = np.asarray(lengths[k][row:row + FEED_DOCS], dtype=np.int64)
            total = int(n.sum())
            ids.append(tokens[k][done[k]:done[k] + total])
            lens.append(n)
            done[k] += total
        out.add(ids, lens)
    out.close()
    del tokens, lengths
