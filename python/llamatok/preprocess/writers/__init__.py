"""The trainers' formats beyond Megatron and Parquet, one writer per format behind one interface
(``base.FormatWriter``): ``npy`` (OLMo-core), ``datatrove`` (nanotron), ``mds`` (MosaicML
Streaming, llm-foundry), ``litdata`` (litgpt). Each writes one json key's documents under a base
name; ``shards.py`` gives each shard its writers, ``finish.py`` feeds them the single-file run's
documents. docs/shards.md describes every file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from llamatok.preprocess.megatron import lengths_file, memmap_or_empty
from llamatok.preprocess.writers.base import FormatWriter, TmpNamer, WriterSpec
from llamatok.preprocess.writers.datatrove_out import DatatroveWriter
from llamatok.preprocess.writers.litdata_out import LitdataWriter
from llamatok.preprocess.writers.mds import MdsWriter
from llamatok.preprocess.writers.npy import NpyWriter

__all__ = ["FormatWriter", "WriterSpec", "make_writer", "trainer_formats", "write_from_files"]

WRITERS: dict[str, type[FormatWriter]] = {w.name: w for w in (NpyWriter, DatatroveWriter, MdsWriter, LitdataWriter)}
#: Documents fed at a time when writing from the work folder's files.
FEED_DOCS = 1 << 16


def trainer_formats(formats: Sequence[str]) -> list[str]:
    """The formats among ``formats`` that a writer of this package writes, in a fixed order."""
    return [f for f in WRITERS if f in formats]


def make_writer(fmt: str, base: str, spec: WriterSpec, tmp: TmpNamer, **options: Any) -> FormatWriter:
    """``options``: ``source``, ``checksum`` and ``link_source`` (``base.FormatWriter``)."""
    return WRITERS[fmt](base, spec, tmp, **options)


def write_from_files(fmt: str, base: str, spec: WriterSpec, tmp: TmpNamer, tokens_path: str,
                     lengths_path: str, learned_path: str | None = None, link: bool = False) -> list[dict[str, Any]]:
    """The single-file output of one key in one format, from the work folder's ids and lengths: the
    ids a format stores flat are copied from the ids file (the same bytes in the unsigned dtype of
    the same width), or with ``link`` a format whose ids file is only the ids takes a hard link of
    it; ``learned_path``: with FIM loss masks, the file of one bool per id. No checksums are kept (no
    manifest lists these files)."""
    dtype = np.dtype(np.uint16 if spec.dtype == "uint16" else np.int32)
    tokens = memmap_or_empty(tokens_path, dtype)
    learned = memmap_or_empty(learned_path, np.dtype(bool)) if learned_path is not None else None
    lengths = lengths_file(lengths_path)
    writer = make_writer(fmt, base, spec, tmp, source=tokens_path, checksum=False, link_source=link)
    try:
        done = 0
        for row in range(0, len(lengths), FEED_DOCS):
            n = np.asarray(lengths[row:row + FEED_DOCS], dtype=np.int64)
            total = int(n.sum())
            writer.add(tokens[done:done + total], n, learned[done:done + total] if learned is not None else None)
            done += total
        return writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        del tokens, lengths, learned
