"""Parquet output: one row per document, an ``input_ids`` column (list<int32>) for Arrow-based
users (``datasets.load_dataset("parquet", ...)``, pandas, polars). With several json keys the
columns are ``KEY_input_ids``.

Written at the end from the work folder's token and length files, in row groups cut by token count
only, so the bytes do not depend on batches or on an interruption.
"""

from __future__ import annotations

import os
from typing import List, Sequence

import numpy as np

ROW_GROUP_TOKENS = 1 << 23
ROW_GROUP_ROWS = 1 << 16


def column_names(keys: Sequence[str]) -> List[str]:
    return ["input_ids"] if len(keys) == 1 else [f"{k}_input_ids" for k in keys]


def _memmap(path: str, dtype: np.dtype) -> np.ndarray:
    return np.memmap(path, dtype=dtype, mode="r") if os.path.getsize(path) else np.zeros(0, dtype)


def write_parquet(path: str, keys: Sequence[str], token_paths: Sequence[str], length_paths: Sequence[str], dtype: np.dtype) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = column_names(keys)
    schema = pa.schema([pa.field(n, pa.list_(pa.int32())) for n in names])
    tokens = [_memmap(p, np.dtype(dtype)) for p in token_paths]
    lengths = [_memmap(p, np.dtype(np.int32)) for p in length_paths]
    ends = [np.cumsum(l, dtype=np.int64) for l in lengths]
    num_docs = len(lengths[0])
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        row = 0
        while row < num_docs or (row == 0 and num_docs == 0):
            if num_docs == 0:
                writer.write_table(pa.table({n: pa.array([], pa.list_(pa.int32())) for n in names}, schema=schema))
                break
            # The rows until the first key's token count passes the group size.
            base = int(ends[0][row - 1]) if row else 0
            stop = int(np.searchsorted(ends[0], base + ROW_GROUP_TOKENS, side="right"))
            stop = min(max(stop, row + 1), row + ROW_GROUP_ROWS, num_docs)
            columns = []
            for tok, l, e in zip(tokens, lengths, ends):
                start_tok = int(e[row - 1]) if row else 0
                stop_tok = int(e[stop - 1])
                offsets = np.zeros(stop - row + 1, np.int32)
                np.cumsum(l[row:stop], out=offsets[1:])
                values = pa.array(np.asarray(tok[start_tok:stop_tok], dtype=np.int32))
                columns.append(pa.ListArray.from_arrays(pa.array(offsets), values))
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            row = stop
    del tokens, lengths
