"""The interface every training-format writer has (docs/shards.md, "Formats for every trainer").

A writer receives one json key's documents in order, as runs of ``(ids, lengths)`` (every
document's ids concatenated, and each one's length), and writes them under a base name: the output
prefix in the single-file layout, ``PREFIX-TTTTT-PPP`` for a shard. Every file it writes goes
through :class:`storage.AtomicWriter`, so it appears whole or not at all and its size and SHA-256
are known for the manifest. Writers never see text, only ids, so they cannot change what the
tokenizer produced.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional

import numpy as np

from llamatok.preprocess import storage

#: A function that gives a temporary location for a file's final name (None: beside the target).
TmpNamer = Callable[[str], Optional[str]]


@dataclass(frozen=True)
class WriterSpec:
    """What a writer needs to know besides the ids."""

    dtype: str  # "uint16" or "int32": the run's id dtype (Megatron's rule for the vocabulary size)
    eos_id: int | None
    tokenizer_name: str = ""
    #: With FIM (``--fim-rate``): the formats that can carry one write a loss mask beside the ids, one bool
    #: per id that ``add`` is given (encode.py makes it).
    loss_masks: bool = False

    @property
    def unsigned(self) -> np.dtype:
        """The unsigned dtype of the same width (ids are never negative): what the numpy-based
        trainers name their token files with."""
        return np.dtype(np.uint16 if self.dtype == "uint16" else np.uint32)


class FormatWriter:
    """One key's documents in one format. Subclasses set ``name`` and implement :meth:`add` and
    :meth:`_finish` (which commits its files and returns them)."""

    name: ClassVar[str] = ""
    #: Whether one of the format's files holds every id and nothing else (the Megatron ``.bin``'s
    #: bytes): written by :meth:`_ids_file`.
    stores_ids_flat: ClassVar[bool] = False

    def __init__(self, base: str, spec: WriterSpec, tmp: TmpNamer, *, source: str | None = None,
                 checksum: bool = True, link_source: bool = False) -> None:
        """``source``: a local file that holds, in the spec's dtype, exactly the ids :meth:`add` will
        be given, in order (the single-file run's work folder has one): the ids a format stores flat
        are copied from it (``storage.AtomicWriter.copy_from``) instead of written from memory.
        ``link_source``: a format whose ids file is nothing but the ids may take ``source`` itself,
        by a hard link (when no other output shares its bytes). ``checksum``: whether each file's
        SHA-256 is kept (the shard manifest lists them; the single-file outputs have no manifest)."""
        self.base = base
        self.spec = spec
        self._tmp = tmp
        self.source = source
        self.checksum = checksum
        self._link_source = link_source and source is not None
        self._open: list[storage.AtomicWriter] = []
        self.documents = 0
        self.tokens = 0

    @classmethod
    def outputs(cls, base: str, loss_masks: bool = False) -> dict[str, str]:
        """The main files (or folder) this format writes under ``base``, for the summary."""
        raise NotImplementedError

    def _file(self, location: str, link: str | None = None) -> storage.AtomicWriter:
        """A new output file, aborted with the writer (``link``: see ``storage.AtomicWriter``)."""
        out = storage.AtomicWriter(location, self._tmp(storage.basename(location)), checksum=self.checksum, link=link)
        self._open.append(out)
        return out

    def _ids_file(self, location: str) -> storage.AtomicWriter:
        """The output file of a format that ``stores_ids_flat``: the source itself where it may be
        linked (see ``__init__``)."""
        return self._file(location, self.source if self._link_source else None)

    def _write_ids(self, out: storage.AtomicWriter, ids: np.ndarray, first: int) -> None:
        """Appends ``ids`` (the run's ids from number ``first`` on) to ``out`` in the unsigned dtype
        (a linked file has them all already)."""
        if out.linked:
            if (first + len(ids)) * self.spec.unsigned.itemsize > out.size:
                raise ValueError(f"{self.source} holds fewer ids than the documents given to the {self.name} writer")
        elif self.source is None:
            out.write(as_unsigned(ids, self.spec))
        else:
            size = self.spec.unsigned.itemsize
            out.copy_from(self.source, first * size, len(ids) * size)

    def add(self, ids: np.ndarray, lengths: np.ndarray, learned: np.ndarray | None = None) -> None:
        """Writes documents: their ids, lengths and, with ``spec.loss_masks``, one bool per id."""
        raise NotImplementedError

    def _learned(self, ids: np.ndarray, learned: np.ndarray | None) -> np.ndarray:
        """The loss mask given with ``ids``, checked."""
        if learned is None or len(learned) != len(ids):
            raise ValueError(f"the {self.name} writer keeps FIM loss masks: give one bool per id")
        return np.ascontiguousarray(learned, bool)

    def _finish(self) -> list[tuple[storage.AtomicWriter, str]]:
        """Writes what is left, commits every file; returns (file, kind) in commit order."""
        raise NotImplementedError

    def close(self) -> list[dict[str, Any]]:
        """Commits the files; returns their manifest entries (path relative to the base's folder)."""
        if any(out.linked and out.size != self.tokens * self.spec.unsigned.itemsize for out in self._open):
            raise ValueError(f"{self.source} holds other ids than the documents given to the {self.name} writer")
        done = self._finish()
        self._open = []
        return [file_entry(self.base, out, kind) for out, kind in done]

    def abort(self) -> None:
        for out in self._open:
            if not out.closed:
                out.abort()
        self._open = []


@dataclass(frozen=True)
class PendingIds:
    """Ids waiting in a chunk: the run's ids from number ``first`` on (written by ``_write_ids``)."""

    ids: np.ndarray
    first: int


class ChunkedWriter(FormatWriter):
    """A writer whose documents go into chunk files of bounded size (mds, litdata): ``_pending`` holds
    what the chunk being filled has so far (``_sizes``: the byte size of each of its items), ``_bytes``
    its size, ``_flush`` writes it and starts anew. Both formats' chunk files are: u32 item count; u32
    offset of every item and of the end, from the file's start; ``header``; the items."""

    _pending: list[Any]  # each written by _write_block
    _sizes: list[np.ndarray]
    _bytes: int
    _done: list[tuple[storage.AtomicWriter, str]]

    def _flush(self) -> None:
        raise NotImplementedError

    def _write_chunk(self, path: str, kind: str, header: bytes = b"") -> tuple[storage.AtomicWriter, np.ndarray]:
        """Writes the chunk being filled to ``path`` and starts an empty one; returns the file and the
        sizes of its items."""
        sizes = np.concatenate(self._sizes) if self._sizes else np.zeros(0, np.int64)
        offsets = np.zeros(len(sizes) + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        offsets += 4 + 4 * (len(sizes) + 1) + len(header)
        out = self._file(path)
        out.write(np.array([len(sizes)], "<u4"))
        out.write(offsets.astype("<u4"))
        out.write(header)
        for block in self._pending:
            self._write_block(out, block)
        out.commit()
        self._done.append((out, kind))
        self._pending, self._sizes = [], []
        self._bytes = 4 + 4 + len(header)
        return out, sizes

    def _write_block(self, out: storage.AtomicWriter, block: Any) -> None:
        """Writes one item of ``_pending`` (ids or encoded items) to ``out``."""
        if isinstance(block, PendingIds):
            self._write_ids(out, block.ids, block.first)
        else:
            out.write(np.ascontiguousarray(block))

    def _runs(self, cost: np.ndarray, limit: int) -> Iterator[tuple[int, int]]:
        """Runs ``(i, j)`` of consecutive documents that fit in what is left of the chunk being filled
        (``cost``: each document's bytes, cumulated from 0); the chunk is flushed when the next document
        does not fit, and a document larger than a whole chunk gets one of its own. The caller adds the
        run to ``_pending`` before asking for the next one."""
        i = 0
        while i < len(cost) - 1:
            take = int(np.searchsorted(cost[i + 1:] - cost[i], limit - self._bytes, side="right"))
            if take == 0 and self._pending:
                self._flush()
                continue
            j = i + max(take, 1)
            yield i, j
            self._bytes += int(cost[j] - cost[i])
            i = j


def file_entry(base: str, out: storage.AtomicWriter, kind: str) -> dict[str, Any]:
    folder = storage.parent(base)
    location = out.location
    relative = location[len(folder):].lstrip("/") if location.startswith(folder) else storage.basename(location)
    entry = {"path": relative, "kind": kind, "bytes": out.size}
    if out.digest is not None:
        entry["sha256"] = out.sha256
    return entry


def as_unsigned(ids: np.ndarray, spec: WriterSpec) -> np.ndarray:
    """The ids in the unsigned dtype of their width (the same bytes: ids are below 2**31)."""
    ids = np.ascontiguousarray(ids)
    return ids.view(spec.unsigned) if ids.dtype.itemsize == spec.unsigned.itemsize else ids.astype(spec.unsigned)
