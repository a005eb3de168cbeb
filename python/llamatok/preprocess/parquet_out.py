"""Parquet output: one row per document, an ``input_ids`` column (list<int32>) for Arrow-based
users (``datasets.load_dataset("parquet", ...)``, pandas, polars). With several json keys the
columns are ``KEY_input_ids``. With FIM, a ``loss_mask`` column (``KEY_loss_mask``; list<bool>,
one bool per id from encode.py) says which ids a model learns.

Row groups are cut by token count only (a group ends before the first key's tokens pass
``ROW_GROUP_TOKENS``, or at ``ROW_GROUP_ROWS`` rows), so the bytes do not depend on how documents
arrive: in batches (a shard) or from the work folder's files at the end (the single-file output).
The bytes of each row group are made by ``parquet_format`` (pyarrow only compresses the pages).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from llamatok.preprocess.megatron import lengths_file, memmap_or_empty
from llamatok.preprocess.parquet_format import BOOLEAN, CODECS, INT32, MAGIC, ColumnChunk, footer

ROW_GROUP_TOKENS = 1 << 23
ROW_GROUP_ROWS = 1 << 16
#: Documents fed at a time when writing from the work folder's files.
FEED_DOCS = 1 << 16


def column_names(keys: Sequence[str], suffix: str = "input_ids") -> list[str]:
    return [suffix] if len(keys) == 1 else [f"{k}_{suffix}" for k in keys]


class ParquetDocuments:
    """Writes documents to ``where`` (a path or a binary file-like object) in row groups."""

    def __init__(self, where: Any, keys: Sequence[str], loss_masks: bool = False, compression: str = "zstd") -> None:
        if compression not in CODECS:
            raise ValueError(f"compression must be one of {', '.join(CODECS)}, not {compression!r}")
        self.loss_masks = loss_masks
        self.compression = compression
        self.names = column_names(keys)
        self.types = [INT32] * len(self.names)
        if loss_masks:
            self.names += column_names(keys, "loss_mask")
            self.types += [BOOLEAN] * len(keys)
        self._own = isinstance(where, (str, os.PathLike))
        self._out = open(where, "wb") if self._own else where  # noqa: SIM115 (closed in close())
        self._out.write(MAGIC)
        self._at = len(MAGIC)
        # Pages are made and compressed on a few threads (numpy's copies and pyarrow's codecs release the GIL).
        self._pool = ThreadPoolExecutor(min(4, os.cpu_count() or 1))
        self._group_rows: list[int] = []
        self._group_columns: list[list[Any]] = []
        self._group_bytes: list[int] = []
        self.rows = 0
        self._ids: list[list[np.ndarray]] = [[] for _ in keys]
        self._lengths: list[list[np.ndarray]] = [[] for _ in keys]
        self._learned: list[list[np.ndarray]] = [[] for _ in keys]
        self._pending_rows = 0
        self._pending_tokens = 0  # of the first key

    def add(self, ids: Sequence[np.ndarray], lengths: Sequence[np.ndarray],
            learned: Sequence[np.ndarray] | None = None) -> None:
        """A run of documents: per key, their ids concatenated, each one's length and, with loss masks,
        one bool per id (encode.py)."""
        if self.loss_masks and (learned is None or any(len(m) != len(i) for m, i in zip(learned, ids))):
            raise ValueError("this Parquet output keeps FIM loss masks: give one bool per id")
        for k, (i, n) in enumerate(zip(ids, lengths)):
            self._ids[k].append(np.asarray(i))
            self._lengths[k].append(np.asarray(n, dtype=np.int64))
            if self.loss_masks and learned is not None:
                self._learned[k].append(np.asarray(learned[k], dtype=bool))
        self._pending_rows += len(lengths[0])
        self._pending_tokens += int(np.sum(lengths[0], dtype=np.int64))
        while self._pending_rows >= ROW_GROUP_ROWS or self._pending_tokens > ROW_GROUP_TOKENS:
            self._write_group()

    def _write_group(self) -> None:
        # The waiting ids stay in the pieces they came in (views of the callers' arrays): the pages are
        # copied from them, so ids are not joined into one array first, nor copied once per row group.
        lengths = [_joined(x) for x in self._lengths]
        ends = np.cumsum(lengths[0], dtype=np.int64)
        stop = int(np.searchsorted(ends, ROW_GROUP_TOKENS, side="right"))
        stop = min(max(stop, 1), ROW_GROUP_ROWS, len(lengths[0]))
        columns, masks = [], []
        for k in range(len(lengths)):
            group_lengths = lengths[k][:stop]
            group_ids, self._ids[k] = _split(self._ids[k], int(group_lengths.sum()))
            columns.append((group_ids, group_lengths))
            if self.loss_masks:
                group_learned, self._learned[k] = _split(self._learned[k], int(group_lengths.sum()))
                masks.append((group_learned, group_lengths))
            self._lengths[k] = [lengths[k][stop:]]
        chunks, group_bytes = [], 0
        for (values, lens), name, ptype in zip(columns + masks, self.names, self.types):
            chunk = ColumnChunk(values, lens, ptype, self.compression, self._pool)
            chunks.append(chunk.meta([name, "list", "element"], self._at))
            for part in chunk.parts:
                self._out.write(part)
            self._at += chunk.compressed
            group_bytes += chunk.uncompressed
        self._group_rows.append(stop)
        self._group_columns.append(chunks)
        self._group_bytes.append(group_bytes)
        self.rows += stop
        self._pending_rows -= stop
        self._pending_tokens = int(np.sum(self._lengths[0][0], dtype=np.int64))

    def close(self) -> None:
        while self._pending_rows:
            self._write_group()
        self._out.write(footer(self.names, self.types, self._group_rows, self._group_columns, self._group_bytes))
        self._pool.shutdown()
        if self._own:
            self._out.close()


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    """The pieces as one array: the only piece as it is (no copy), else joined."""
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def _split(pieces: list[np.ndarray], n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The first ``n`` values of the pieces, and the rest, both as pieces (views, no copy)."""
    head: list[np.ndarray] = []
    for i, piece in enumerate(pieces):
        if n <= len(piece):
            return head + [piece[:n]], [piece[n:], *pieces[i + 1:]]
        head.append(piece)
        n -= len(piece)
    raise ValueError("fewer values waiting than the row group's documents hold")


def write_parquet(path: str, keys: Sequence[str], token_paths: Sequence[str], length_paths: Sequence[str],
                  dtype: np.dtype, learned_paths: Sequence[str] = (), compression: str = "zstd") -> None:
    """The single-file Parquet output, from the work folder's token and length files (and with FIM loss
    masks, its files of one bool per id)."""
    tokens = [memmap_or_empty(p, np.dtype(dtype)) for p in token_paths]
    learned = [memmap_or_empty(p, np.dtype(bool)) for p in learned_paths]
    lengths = [lengths_file(p) for p in length_paths]
    out = ParquetDocuments(path, keys, bool(learned), compression)
    done = [0] * len(keys)
    for row in range(0, len(lengths[0]), FEED_DOCS):
        ids, lens, masks = [], [], []
        for k in range(len(keys)):
            n = np.asarray(lengths[k][row:row + FEED_DOCS], dtype=np.int64)
            total = int(n.sum())
            ids.append(tokens[k][done[k]:done[k] + total])
            if learned:
                masks.append(learned[k][done[k]:done[k] + total])
            lens.append(n)
            done[k] += total
        out.add(ids, lens, masks or None)
    out.close()
    del tokens, lengths, learned

