"""Reading records from a :class:`~llamatok.preprocess.sources.Source`, from any position.

Every reader yields one tuple per record, in input order:

    (texts, reject, nbytes, pos, next_pos, next_line)

``texts`` is a tuple with one string per json key, or ``None`` when the record is rejected (then
``reject`` is the dict written to the rejects file) or is a blank JSONL line (both ``None``).
``pos`` identifies the record within its source (byte offset of a JSONL line in the decompressed
stream, row of a Parquet file or dataset, index of a file in a directory or of an item of an
iterable); it seeds FIM, so it never depends on how the work is split. ``next_pos``/``next_line``
are the cursor after the record: reading again from there continues exactly where this stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Optional, Protocol, cast

from llamatok._native import read_jsonl_block
from llamatok.preprocess import jsonl_blocks, storage
from llamatok.preprocess.compressed import corrupt, decompression_errors, open_decompressed
from llamatok.preprocess.errors import CorruptInputError
from llamatok.preprocess.jsonl_blocks import RawBlock
from llamatok.preprocess.options import OptionsError
from llamatok.preprocess.sources import Source

#: Whether JSONL lines are parsed by the core: where they are encoded (on every core, without the GIL)
#: when nothing needs their texts in Python first, else into Python strings for the stages that do (FIM,
#: --dedup). The same documents and rejects as Python's ``json`` gives (a line the core does not take
#: is read by Python), only faster. The reader then yields blocks of whole lines
#: (:class:`~llamatok.preprocess.jsonl_blocks.RawBlock`).
PARSE_JSONL_NATIVELY = True

Record = tuple[Optional[tuple[str, ...]], Optional[dict[str, Any]], int, int, int, int]


class Reader(Protocol):
    """What every reader below offers."""

    @property
    def done_bytes(self) -> int:
        """Bytes of the input on disk consumed so far (for progress)."""

    def read(self, pos: int = 0, line: int = 0) -> Iterator[Record]:
        """The records from ``pos`` on (``line``: the line number before ``pos``, for JSONL)."""

EXCERPT_BYTES = 160
ARROW_BATCH_ROWS = 4096


def excerpt(raw: bytes) -> str:
    text = raw[:EXCERPT_BYTES].decode("utf-8", "backslashreplace").rstrip("\r\n")
    return text + ("…" if len(raw) > EXCERPT_BYTES else "")


def reject(source: str, reason: str, detail: str, raw: bytes = b"", line: int | None = None,
           row: int | None = None) -> dict[str, Any]:
    """One line of the rejects file: where the record is, why it was rejected, how it began."""
    out: dict[str, Any] = {"source": source}
    if line is not None:
        out["line"] = line
    if row is not None:
        out["row"] = row
    out["reason"] = reason
    out["detail"] = detail
    out["excerpt"] = excerpt(raw)
    return out


def _lone_surrogate(texts: Sequence[str], keys: Sequence[str]) -> str | None:
    """The first field holding a lone surrogate (``"\\ud800"`` in JSON), which is not Unicode text."""
    for key, text in zip(keys, texts):
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as e:
                return (f"field {key!r} holds a lone surrogate U+{ord(text[e.start]):04X} at character {e.start}, "
                        "which UTF-8 cannot encode")
    return None


def fields(obj: Any, keys: Sequence[str]) -> tuple[tuple[str, ...] | None, tuple[str, str] | None]:
    """The key fields of a decoded JSON value, or (None, (reason, detail))."""
    if type(obj) is not dict:
        return None, ("not_an_object",
                      f"a JSON {type(obj).__name__}, not an object with the field(s) {', '.join(keys)}")
    texts = []
    for key in keys:
        value = obj.get(key)
        if value is None:
            what = "is null" if key in obj else "is missing"
            return None, ("missing_field", f"field {key!r} {what}")
        if type(value) is not str:
            return None, ("not_a_string", f"field {key!r} is a JSON {type(value).__name__}, not a string")
        texts.append(value)
    return tuple(texts), None


# -- JSONL ---------------------------------------------------------------------------------------

def parse_line(raw: bytes, name: str, keys: Sequence[str], line: int) -> tuple[tuple[str, ...] | None,
                                                                             dict[str, Any] | None]:
    """The texts of one JSONL line, or its reject."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        detail = f"byte 0x{raw[e.start]:02X} at column {e.start + 1} is not UTF-8"
        return None, reject(name, "invalid_utf8", detail, raw, line=line)
    except ValueError as e:
        return None, reject(name, "invalid_json", str(e), raw, line=line)
    texts, bad = fields(obj, keys)
    if bad is None and b"\\u" in raw:
        # fields() gives the texts whenever it gives no reason.
        surrogate = _lone_surrogate(cast("tuple[str, ...]", texts), keys)
        if surrogate:
            bad = ("invalid_utf8", surrogate)
    if bad is not None:
        return None, reject(name, bad[0], bad[1], raw, line=line)
    return texts, None


UTF8_BOM = b"\xef\xbb\xbf"


class JsonlReader:
    """Lines of a JSONL file (plain, gzip or zstandard), each a JSON object holding the keys. A ``raw``
    reader is read with :meth:`blocks` instead, which gives them in blocks (:class:`RawBlock`), parsed
    later, blank ones too."""

    def __init__(self, source: Source, keys: Sequence[str], raw: bool = False) -> None:
        self.source = source
        self.keys = tuple(keys)
        self.raw = raw
        self._raw: Any | None = None
        self._line = 0

    @property
    def done_bytes(self) -> int:
        """Bytes of the file on disk read so far (compressed bytes for .gz/.zst)."""
        try:
            return self._raw.tell() if self._raw is not None and not self._raw.closed else 0
        except (OSError, ValueError):
            return 0

    def _open(self) -> Any:
        self._raw = storage.open_input(self.source.path or "")
        return open_decompressed(self._raw, self.source.compression, self.source.path or "")

    def read(self, pos: int = 0, line: int = 0) -> Iterator[Record]:
        return self._reading(pos, line, lambda stream, at: self._records(stream, at, line))

    def blocks(self, pos: int, line: int, wanted: Callable[[], int], stop: int | None = None) -> Iterator[RawBlock]:
        """The lines from ``pos`` on in blocks (the reader must be ``raw``): each of the bytes ``wanted()``
        says when it is read (at most :data:`~llamatok.preprocess.jsonl_blocks.BLOCK_BYTES`, none at or
        after ``stop``), on to the end of the line they stop in."""
        return self._reading(pos, line, lambda stream, at: self._blocks(stream, at, line, wanted, stop))

    def _reading(self, pos: int, line: int, what: Callable[[Any, int], Iterator[Any]]) -> Iterator[Any]:
        """``what`` of the opened input from ``pos`` on (past a UTF-8 byte order mark that starts the
        file, as editors on Windows write one): a failing .gz/.zst is a :class:`CorruptInputError`."""
        stream = self._open()
        try:
            self._line = line
            self._seek(stream, pos)
            if pos == 0 and stream.peek(len(UTF8_BOM))[:len(UTF8_BOM)] == UTF8_BOM:
                pos = len(stream.read(len(UTF8_BOM)))
            yield from what(stream, pos)
        except decompression_errors() as e:
            # A cut or damaged .gz/.zst: the lines before were yielded, but the run must not end as if
            # the file had ended there.
            raise corrupt(self.source.path or "", self.source.compression, e, self._line) from e
        finally:
            stream.close()
            if self._raw is not None:
                self._raw.close()

    def _seek(self, stream: Any, pos: int) -> None:
        if not pos:
            return
        if self.source.compression is None:
            stream.seek(pos)
            return
        left = pos  # no index into a compressed stream: decompress and drop
        while left:
            chunk = stream.read(min(left, 1 << 22))
            if not chunk:
                raise OSError(f"{self.source.path} is shorter than when the interrupted run read it")
            left -= len(chunk)

    def _blocks(self, stream: Any, pos: int, line: int, wanted: Callable[[], int],
                stop: int | None) -> Iterator[RawBlock]:
        # A JSONL source always has a path (sources.discover gives it one).
        name = cast(str, self.source.path)
        while stop is None or pos < stop:
            size = wanted() if stop is None else min(wanted(), stop - pos)
            data = read_jsonl_block(stream, min(size, jsonl_blocks.BLOCK_BYTES))
            if data is None:
                return
            block = RawBlock(data, pos, line, name, self.keys)
            pos, line = block.end, block.end_line
            self._line = line  # complete lines so far, for the error if the stream then fails
            yield block

    def _records(self, stream: Any, pos: int, line: int) -> Iterator[Record]:
        for record in jsonl_records(stream, cast(str, self.source.path), self.keys, pos, line):
            self._line = record[5]  # complete lines so far, for the error if the stream then fails
            yield record


def jsonl_records(lines: Iterable[bytes], name: str, keys: Sequence[str], pos: int, line: int) -> Iterator[Record]:
    """The records of JSONL ``lines`` (a binary file, or a block of lines in a ``BytesIO``) that start at
    position ``pos`` after ``line`` lines: a blank line gives neither texts nor a reject."""
    for raw in lines:
        line += 1
        start = pos
        pos += len(raw)
        if raw.isspace() or not raw:
            yield None, None, len(raw), start, pos, line
        else:
            texts, rejected = parse_line(raw, name, keys, line)
            yield texts, rejected, len(raw), start, pos, line


# -- directories of files ------------------------------------------------------------------------

class FilesReader:
    """The files of a directory, one document each."""

    def __init__(self, source: Source, keys: Sequence[str]) -> None:
        self.source = source
        self._done = 0

    @property
    def done_bytes(self) -> int:
        return self._done

    def read(self, pos: int = 0, line: int = 0) -> Iterator[Record]:
        files, sizes, first = self.source.files, self.source.sizes, self.source.first_file
        self._done = sum(sizes[:pos - first])
        for index in range(pos, first + len(files)):
            path = files[index - first]
            self._done += sizes[index - first]
            try:
                data = storage.read_bytes(path)
            except OSError as e:
                yield None, reject(path, "unreadable", f"{type(e).__name__}: {e.strerror or e}"), 0, index, index + 1, 0
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as e:
                at = data.count(b"\n", 0, e.start) + 1
                detail = f"byte 0x{data[e.start]:02X} at offset {e.start} (line {at}) is not UTF-8"
                around = data[max(0, e.start - 60):e.start + 60]
                yield None, reject(path, "invalid_utf8", detail, around, line=at), len(data), index, index + 1, 0
                continue
            yield (text,), None, len(data), index, index + 1, 0


# -- Arrow: Parquet files and datasets.Dataset ---------------------------------------------------

def check_arrow_columns(schema: Any, keys: Sequence[str], name: str) -> None:
    """Every key must be a string or binary column of ``schema``, or a dictionary of strings or binaries
    (pandas' categoricals; an ``OptionsError`` otherwise)."""
    import pyarrow as pa

    for key in keys:
        if key not in schema.names:
            raise OptionsError(f"{name} has no column {key!r} (its columns: {', '.join(schema.names)}); "
                               "use --json-keys")
        kind = schema.field(key).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
            raise OptionsError(f"{name}: column {key!r} holds {kind}, not text (string or binary)")


def _arrow_records(columns: list[Any], keys: Sequence[str], name: str, first_row: int) -> Iterator[Record]:
    """Records of one batch of Arrow columns (one per key), the first being row ``first_row``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths: Any = None  # numpy: the bytes of each row, summed over the columns
    values = []
    for col in columns:
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        n = pc.binary_length(col).fill_null(0).to_numpy(zero_copy_only=False)
        lengths = n if lengths is None else lengths + n
        values.append(col.to_pylist())
    for i, row in enumerate(zip(*values)):
        at = first_row + i
        nbytes = int(lengths[i])
        bad = None
        texts = []
        for key, value in zip(keys, row):
            if value is None:
                bad = ("missing_field", f"field {key!r} is null")
                break
            if type(value) is bytes:
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError as e:
                    bad = ("invalid_utf8",
                           f"field {key!r}: byte 0x{value[e.start]:02X} at offset {e.start} is not UTF-8")
                    break
            texts.append(value)
        if bad is not None:
            raw = (next((v for v in row if isinstance(v, bytes)), None)
                   or "".join(v for v in row if isinstance(v, str)).encode())
            yield None, reject(name, bad[0], bad[1], raw, row=at), nbytes, at, at + 1, 0
        else:
            yield tuple(texts), None, nbytes, at, at + 1, 0


def open_parquet(path: str) -> Any:
    """The ``pyarrow.parquet.ParquetFile`` of ``path``; a file that is not Parquet, or is cut short, is a
    :class:`CorruptInputError` naming it (pyarrow's own message does not)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(storage.open_arrow(path))
    except pa.ArrowInvalid as e:
        raise CorruptInputError(f"{path} is not a readable Parquet file ({e}); re-download or repair it, or leave "
                                "it out of the inputs") from e


def _parquet_failure(path: str, row: int, error: Exception) -> Exception:
    """The error for rows of ``path`` that do not decode. A local file is corrupt; on an object store an
    OSError may be passing, so it stays an OSError (which Ray retries), with the file named."""
    what = f"{path}: the rows from {row} on cannot be read ({error})"
    if isinstance(error, OSError) and not storage.is_local(path):
        return OSError(what)
    return CorruptInputError(f"{what}; re-download or repair the file, or leave it out of the inputs")


class ParquetReader:
    """Rows of a Parquet file; the keys name string (or binary) columns."""

    def __init__(self, source: Source, keys: Sequence[str]) -> None:
        self.source = source
        self.keys = tuple(keys)
        self.file = open_parquet(source.path or "")
        # A Parquet source always has a path (sources.discover gives it one), here and in read().
        check_arrow_columns(self.file.schema_arrow, self.keys, cast(str, source.path))
        self.rows: int = self.file.metadata.num_rows
        self._row = 0

    @property
    def done_bytes(self) -> int:
        return self.source.size * self._row // max(self.rows, 1)

    def read(self, pos: int = 0, line: int = 0) -> Iterator[Record]:
        meta = self.file.metadata
        start = 0
        group = 0
        while group < meta.num_row_groups and start + meta.row_group(group).num_rows <= pos:
            start += meta.row_group(group).num_rows
            group += 1
        groups = list(range(group, meta.num_row_groups))
        if not groups:
            return
        import pyarrow as pa

        row = start
        batches = self.file.iter_batches(batch_size=ARROW_BATCH_ROWS, row_groups=groups, columns=list(self.keys))
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowInvalid, OSError) as e:
                raise _parquet_failure(self.source.path or "", row, e) from e
            if batch is None:
                return
            skip = max(0, pos - row)
            if skip >= batch.num_rows:
                row += batch.num_rows
                continue
            batch = batch.slice(skip)
            row += skip
            cols = [batch.column(k) for k in self.keys]
            yield from _arrow_records(cols, self.keys, cast(str, self.source.path), row)
            row += batch.num_rows
            self._row = row


class DatasetReader:
    """Rows of a Hugging Face ``datasets.Dataset`` (read as Arrow, without Python dicts)."""

    def __init__(self, source: Source, keys: Sequence[str]) -> None:
        self.source = source
        self.keys = tuple(keys)
        self.dataset = source.obj
        missing = [k for k in self.keys if k not in self.dataset.column_names]
        if missing:
            raise OptionsError(f"the dataset has no column {missing[0]!r} "
                               f"(its columns: {', '.join(self.dataset.column_names)})")
        self.done_bytes = 0

    def read(self, pos: int = 0, line: int = 0) -> Iterator[Record]:
        table_view = self.dataset.with_format("arrow")
        n = len(self.dataset)
        for start in range(pos, n, ARROW_BATCH_ROWS):
            table = table_view[start:min(n, start + ARROW_BATCH_ROWS)]
            if start == pos:
                check_arrow_columns(table.schema, self.keys, "the dataset")
            yield from _arrow_records([table.column(k) for k in self.keys], self.keys, self.source.name, start)


# -- Python iterables ----------------------------------------------------------------------------

class IterableReader:
    """Items of a Python iterable: strings (one key), dicts holding the keys, or UTF-8 bytes."""

    def __init__(self, source: Source, keys: Sequence[str]) -> None:
        self.source = source
        self.keys = tuple(keys)
        self.done_bytes = 0

    def read(self, pos: int = 0, line: int = 0) -> Iterator[Record]:
        name, keys = self.source.name, self.keys
        for index, item in enumerate(self.source.obj):
            if index < pos:
                continue
            bad = None
            texts: tuple[str, ...] | None = None
            raw = b""
            if isinstance(item, bytes):
                raw = item
                try:
                    item = item.decode("utf-8")
                except UnicodeDecodeError as e:
                    bad = ("invalid_utf8", f"byte 0x{raw[e.start]:02X} at offset {e.start} is not UTF-8")
            if bad is None:
                if isinstance(item, str):
                    if len(keys) == 1:
                        texts = (item,)
                    else:
                        bad = ("not_an_object", f"a string, but {len(keys)} fields were asked for ({', '.join(keys)})")
                elif isinstance(item, dict):
                    texts, bad = fields(item, keys)
                else:
                    bad = ("not_a_string", f"a value of type {type(item).__name__}, not a string")
            if bad is None and texts is not None:
                surrogate = _lone_surrogate(texts, keys)
                if surrogate:
                    bad = ("invalid_utf8", surrogate)
            if bad is not None or texts is None:
                if not raw:
                    raw = repr(item).encode("utf-8", "backslashreplace")
                reason, detail = cast("tuple[str, str]", bad)  # texts is None only with a reason
                yield None, reject(name, reason, detail, raw, row=index), len(raw), index, index + 1, 0
                continue
            nbytes = sum(len(t) if t.isascii() else len(t.encode("utf-8")) for t in texts)
            yield texts, None, nbytes, index, index + 1, 0


READERS: dict[str, Callable[[Source, Sequence[str]], Reader]] = {
    "jsonl": JsonlReader, "dir": FilesReader, "parquet": ParquetReader, "dataset": DatasetReader,
    "iterable": IterableReader,
}


def reader_for(source: Source, keys: Sequence[str], raw_jsonl: bool = False) -> Reader:
    """The reader of ``source``; checks what can be checked before reading (Parquet columns).
    ``raw_jsonl``: JSONL lines come unparsed (:class:`RawBlock`; see :func:`raw_jsonl_wanted`)."""
    if source.kind == "dir" and len(keys) != 1:
        raise OptionsError(f"{source.name} is a directory (one file = one document): it has no fields for "
                           f"--json-keys {' '.join(keys)}")
    if source.kind == "jsonl" and storage.info(source.path or "").kind != "file":
        raise OptionsError(f"no such input: {source.path}")
    if source.kind == "jsonl":
        return JsonlReader(source, keys, raw=raw_jsonl)
    return READERS[source.kind](source, keys)


def raw_jsonl_wanted(sources: Iterable[Source]) -> bool:
    """Whether JSONL lines are read in blocks for the core to split and parse: only when every input is
    JSONL, so that a batch never mixes parsed and unparsed records."""
    return PARSE_JSONL_NATIVELY and all(s.kind == "jsonl" for s in sources)
