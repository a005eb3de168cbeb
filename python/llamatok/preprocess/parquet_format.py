"""The bytes of a Parquet file of ``list`` columns, written from the format's description (Apache
Parquet's ``parquet.thrift``) with numpy, for :mod:`parquet_out`: pyarrow's writer spent more time
on the ids than the core spent making them (``benches/results/writers.md``).

What is written, and nothing else: each column is a ``LIST`` of ``INT32`` (ids) or ``BOOLEAN`` (loss
masks), both nullable as Arrow writes ``list<element: int32>`` (none is ever null); one column chunk per
column and row group, of data pages v1 cut at document boundaries after about ``PAGE_VALUES``
values; levels in the RLE/bit-packed hybrid (run-length runs, a few per document); pages compressed
one by one with pyarrow's codecs, on several threads. Readers rebuild the Arrow schema from the Parquet
one. No statistics.

Values are ``PLAIN``, except in a column of ids large enough for a dictionary to pay (``dictionary``):
there the dictionary is every id from 0 to the column's largest, so that an id is its own index, and
the pages hold the ids as 16-bit indices (one bit-packed run of width 16 is the ids' little-endian
``uint16`` bytes). Half the bytes of ``PLAIN`` ``INT32`` are left to compress, and no id is looked up.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from llamatok._native import parquet_list_levels

MAGIC = b"PAR1"
#: A page ends at the first document boundary after this many values (1 MiB of ids).
PAGE_VALUES = 1 << 18
#: ``--parquet-compression`` → (Parquet's ``CompressionCodec``, pyarrow's codec name or None).
CODECS = {"none": (0, None), "snappy": (1, "snappy"), "gzip": (2, "gzip"), "zstd": (6, "zstd"),
          "lz4": (7, "lz4_raw")}
INT32, BOOLEAN = 1, 0  # Parquet's physical types
_PLAIN, _RLE, _RLE_DICTIONARY = 0, 3, 8  # encodings
_DATA_PAGE, _DICTIONARY_PAGE = 0, 2  # page types
#: A column of ids has a dictionary when it holds at least this many values per dictionary entry: the
#: identity dictionary of a 32k vocabulary is 128 KB before compression, and 16-bit indices save 2 bytes
#: a value before compression but far less after it (benches/results/notes.md, "Session 16").
DICTIONARY_VALUES_PER_ENTRY = 32
#: The width of the indices (16: each is written as a ``uint16``); a column's ids must all be below
#: ``1 << INDEX_BITS`` for it to have a dictionary.
INDEX_BITS = 16
_OPTIONAL, _REPEATED = 1, 2
_LIST_CONVERTED = 3

# Thrift compact protocol type codes.
_T_I32, _T_I64, _T_BINARY, _T_LIST, _T_STRUCT = 5, 6, 8, 9, 12


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def thrift(fields: Sequence[tuple[int, int, Any]]) -> bytes:
    """A struct in Thrift's compact protocol: ``(field id, type, value)`` in increasing id order; a
    struct's value is its own field list, a list's is ``(element type, values)``."""
    out = bytearray()
    last = 0
    for fid, ftype, value in fields:
        delta = fid - last
        if not 0 < delta <= 15:
            raise ValueError("fields must come in increasing order, at most 15 apart")
        out.append(delta << 4 | ftype)
        out += _value(ftype, value)
        last = fid
    out.append(0)
    return bytes(out)


def _value(ftype: int, value: Any) -> bytes:
    if ftype in (_T_I32, _T_I64):
        return _varint(_zigzag(value))
    if ftype == _T_BINARY:
        data: bytes = value.encode("utf-8")
        return _varint(len(data)) + data
    if ftype == _T_STRUCT:
        return thrift(value)
    if ftype == _T_LIST:
        etype, items = value
        head = bytes([len(items) << 4 | etype]) if len(items) < 15 else bytes([0xF0 | etype]) + _varint(len(items))
        return head + b"".join(_value(etype, v) for v in items)
    raise ValueError(f"no encoder for thrift type {ftype}")


def schema(names: Sequence[str], types: Sequence[int]) -> list[list[tuple[int, int, Any]]]:
    """The schema elements: the root, then per column its LIST group, the repeated group and the element."""
    elements = [[(4, _T_BINARY, "schema"), (5, _T_I32, len(names))]]
    for name, ptype in zip(names, types):
        elements.append([(3, _T_I32, _OPTIONAL), (4, _T_BINARY, name), (5, _T_I32, 1),
                         (6, _T_I32, _LIST_CONVERTED), (10, _T_STRUCT, [(3, _T_STRUCT, [])])])
        elements.append([(3, _T_I32, _REPEATED), (4, _T_BINARY, "list"), (5, _T_I32, 1)])
        elements.append([(1, _T_I32, ptype), (3, _T_I32, _OPTIONAL), (4, _T_BINARY, "element")])
    return elements


class ColumnChunk:
    """One column of one row group: its pages' bytes, and what the footer says of it."""

    def __init__(self, values: Sequence[np.ndarray], lengths: np.ndarray, ptype: int, codec: str,
                 pool: ThreadPoolExecutor) -> None:
        """``values``: the column's values in one or more pieces (the batches they came in, not joined)."""
        self.ptype = ptype
        self.codec_id, codec_name = CODECS[codec]
        pages = _page_cuts(lengths)
        self.dictionary = dictionary(values) if ptype == INT32 else 0
        starts = np.zeros(len(lengths) + 1, np.int64)  # each document's first value
        np.cumsum(lengths, out=starts[1:])
        piece_starts = np.zeros(len(values) + 1, np.int64)
        np.cumsum([len(v) for v in values], out=piece_starts[1:])

        def page(cut: tuple[int, int]) -> tuple[int, Any]:
            """A page's size before compression, and its bytes as written."""
            a, b = cut
            body = self._body(_span(values, piece_starts, int(starts[a]), int(starts[b])), lengths[a:b])
            if codec_name is None:
                return len(body), body
            return len(body), pa_codec(codec_name).compress(body)

        # Pages are made and compressed on the pool's threads (numpy's copies and pyarrow's codecs release the GIL).
        made = list(pool.map(page, pages)) if len(pages) > 1 else [page(c) for c in pages]
        self.parts: list[Any] = []
        self.uncompressed = self.compressed = 0
        self.levels = 0
        self.dictionary_bytes = 0  # of the dictionary page, header included, as written
        if self.dictionary:
            raw = np.arange(self.dictionary, dtype="<i4").tobytes()
            data = raw if codec_name is None else pa_codec(codec_name).compress(raw)
            self._add_page([(1, _T_I32, _DICTIONARY_PAGE), (2, _T_I32, len(raw)), (3, _T_I32, len(data)),
                            (7, _T_STRUCT, [(1, _T_I32, self.dictionary), (2, _T_I32, _PLAIN)])], len(raw), data)
            self.dictionary_bytes = self.compressed
        encoding = _RLE_DICTIONARY if self.dictionary else _PLAIN
        for (a, b), (size, data) in zip(pages, made):
            levels = int(np.maximum(lengths[a:b], 1).sum())
            self._add_page([(1, _T_I32, _DATA_PAGE), (2, _T_I32, size), (3, _T_I32, len(data)),
                            (5, _T_STRUCT, [(1, _T_I32, levels), (2, _T_I32, encoding), (3, _T_I32, _RLE),
                                            (4, _T_I32, _RLE)])], size, data)
            self.levels += levels

    def _add_page(self, header_fields: list[tuple[int, int, Any]], size: int, data: Any) -> None:
        header = thrift(header_fields)
        self.parts += [header, data]
        self.uncompressed += len(header) + size
        self.compressed += len(header) + len(data)

    def _body(self, own: np.ndarray, lens: np.ndarray) -> bytearray:
        """A page's data: the levels of documents of ``lens`` values, then their values ``own``."""
        # Per document, repetition: 0 once, then 1 for each further value. Definition: 3 for each value, or
        # 1 once for an empty document. Made by the core (`rust/src/parquet_levels.rs`).
        rep, defined = parquet_list_levels(np.asarray(lens).astype("<u8").tobytes())
        head = len(rep) + len(defined)
        if self.ptype == BOOLEAN:
            return bytearray(rep + defined + np.packbits(own.astype(bool), bitorder="little").tobytes())
        if self.dictionary:
            # The indices: the bit width, then one bit-packed run of len(own) values padded to groups of 8
            # (its header: the number of groups shifted left by one, and 1); a group of 8 values takes
            # INDEX_BITS bytes, and at 16 bits the values are little-endian uint16s.
            groups = -(-len(own) // 8)
            run = bytes([INDEX_BITS]) + _varint(groups << 1 | 1)
            body = bytearray(head + len(run) + INDEX_BITS * groups)
            body[:head] = rep + defined
            body[head:head + len(run)] = run
            np.frombuffer(body, "<u2", len(own), head + len(run))[:] = own
            return body
        # The values are cast straight into the page's buffer: one pass over them, no intermediate copies.
        body = bytearray(head + 4 * len(own))
        body[:head] = rep + defined
        np.frombuffer(body, "<i4", offset=head)[:] = own
        return body

    def meta(self, path: Sequence[str], offset: int) -> list[tuple[int, int, Any]]:
        """The ColumnChunk struct, its pages starting at ``offset`` in the file."""
        encodings = [_PLAIN, _RLE, _RLE_DICTIONARY] if self.dictionary else [_PLAIN, _RLE]
        meta = [(1, _T_I32, self.ptype), (2, _T_LIST, (_T_I32, encodings)), (3, _T_LIST, (_T_BINARY, list(path))),
                (4, _T_I32, self.codec_id), (5, _T_I64, self.levels), (6, _T_I64, self.uncompressed),
                (7, _T_I64, self.compressed), (9, _T_I64, offset + self.dictionary_bytes)]
        if self.dictionary:
            meta.append((11, _T_I64, offset))
        return [(2, _T_I64, offset), (3, _T_STRUCT, meta)]


def dictionary(ids: Sequence[np.ndarray]) -> int:
    """The size of the identity dictionary a column of ``ids`` (in pieces) gets (its largest id plus one),
    or 0 for none: without enough values for it to pay, or with a value too large (or negative) for an index."""
    count = sum(len(piece) for piece in ids)
    if not count or any(piece.dtype.kind == "i" and len(piece) and int(piece.min()) < 0 for piece in ids):
        return 0  # no ids, or a negative value, which no index can stand for
    size = max(int(piece.max()) for piece in ids if len(piece)) + 1
    return size if size <= 1 << INDEX_BITS and count >= DICTIONARY_VALUES_PER_ENTRY * size else 0


def _span(pieces: Sequence[np.ndarray], piece_starts: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Values ``[lo, hi)`` of the pieces joined (``piece_starts``: where each piece starts): a view when
    they lie in one piece, else a copy of just those values."""
    first = min(int(np.searchsorted(piece_starts, lo, side="right")), len(pieces)) - 1
    last = max(first, int(np.searchsorted(piece_starts, hi, side="left")) - 1)
    if first == last:
        base = int(piece_starts[first])
        return pieces[first][lo - base:hi - base]
    return np.concatenate([pieces[i][max(lo - int(piece_starts[i]), 0):hi - int(piece_starts[i])]
                           for i in range(first, last + 1)])


def pa_codec(name: str) -> Any:
    """A new pyarrow codec: one per page, since pyarrow's codec objects are not safe to share between
    threads (gzip's is not)."""
    import pyarrow as pa

    return pa.Codec(name)


def _page_cuts(lengths: np.ndarray) -> list[tuple[int, int]]:
    """Documents ``[a, b)`` of each page: a page ends at the first boundary after ``PAGE_VALUES`` values."""
    ends = np.cumsum(lengths)
    cuts, a, base = [], 0, 0
    while a < len(lengths):
        b = int(np.searchsorted(ends, base + PAGE_VALUES, side="left")) + 1
        b = min(max(b, a + 1), len(lengths))
        cuts.append((a, b))
        base, a = int(ends[b - 1]), b
    return cuts


def footer(names: Sequence[str], types: Sequence[int], group_rows: Sequence[int],
           columns: Sequence[list[list[tuple[int, int, Any]]]], total_bytes: Sequence[int]) -> bytes:
    """FileMetaData, its length and the closing magic: per row group its rows, each column's ColumnChunk
    struct (:meth:`ColumnChunk.meta`) and its bytes before compression."""
    groups = [[(1, _T_LIST, (_T_STRUCT, cols)), (2, _T_I64, size), (3, _T_I64, rows)]
              for rows, cols, size in zip(group_rows, columns, total_bytes)]
    meta = thrift([(1, _T_I32, 1), (2, _T_LIST, (_T_STRUCT, schema(names, types))),
                   (3, _T_I64, sum(group_rows)), (4, _T_LIST, (_T_STRUCT, groups)),
                   (6, _T_BINARY, "llamatok")])
    return meta + struct.pack("<I", len(meta)) + MAGIC
