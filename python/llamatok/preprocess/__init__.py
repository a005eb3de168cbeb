"""Corpora to training shards: ``llamatok preprocess`` and the same from Python.

    import llamatok.preprocess as pp
    summary = pp.run("data/*.jsonl", "out/corpus", tokenizer="CodeLlama-7b-hf", append_eod=True)
    summary = pp.run(texts=["def f(): pass", ...], output_prefix="out/small")
    summary = pp.run("s3://corpus/*.parquet", "s3://datasets/code", engine="ray", json_keys=["content"])
    pp.merge("s3://datasets/code.manifest.json", "out/code")

Inputs: JSONL (plain, .gz, .zst), Parquet, directories of source files, each a local path or a URI
(``s3://``, ``gs://``, ``hf://datasets/...``; globs too); from Python also an iterable of strings
(``texts=``), a ``datasets.Dataset`` or a streaming ``datasets.IterableDataset``. Outputs: a
Megatron indexed dataset (``PREFIX.bin`` + ``PREFIX.idx``), Parquet (``PREFIX.parquet``) and the
trainers' formats (``formats=``, docs/shards.md), or
with ``shard_tokens`` (always on Ray) shards listed in ``PREFIX.manifest.json``; and
``PREFIX.rejects.jsonl`` and ``PREFIX.summary.json``. The files, one job each:

- ``options.py`` the options and their checks; ``errors.py`` the errors; ``cli.py`` the commands
- ``storage.py`` local paths and URIs; ``lock.py`` one job per output prefix
- ``sources.py`` what the inputs are; ``readers.py`` records from each kind of input;
  ``compressed.py`` strict .gz/.zst decompression
- ``batches.py`` records to batches; ``encode.py`` batches to ids; ``fim.py`` fill-in-the-middle
- ``pipeline.py`` read, encode and write overlapped; ``job.py`` one job from start to finish
- single file: ``committer.py`` ordered writing and checkpoints; ``checkpoint.py`` the work
  folder and resume; ``finish.py`` atomic renames
- sharded: ``plan.py`` tasks; ``tasks.py`` one task; ``shards.py`` shard files; ``sharded.py``
  the driver; ``ray_engine.py`` tasks on Ray; ``manifest.py`` the manifest; ``merging.py`` merging
- ``megatron.py`` the ``.idx`` format; ``parquet_out.py`` Parquet; ``writers/`` the trainers' formats
  (``npy``, ``datatrove``, ``mds``, ``litdata``), one module each behind ``writers/base.py``
- ``sequences.py`` ``--shuffle-seed`` and ``--pack`` at the end of a run; ``reorder.py`` the same for
  shards; ``packing.py`` the packing
  plans; ``dedup.py`` ``--dedup exact``; ``dedup_pass.py`` the same for shards
- ``progress.py`` the progress bar; ``summary.py`` the summary; ``hf.py`` ``datasets.map`` helper
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from llamatok.preprocess.errors import CorruptInputError, OptionsError, PrefixBusyError, RejectLimitError
from llamatok.preprocess.options import Options
from llamatok.preprocess.sources import Texts

__all__ = ["CorruptInputError", "Options", "OptionsError", "PrefixBusyError", "RejectLimitError", "merge", "run"]


def _expand(inputs: Any) -> list[Any]:
    if inputs is None:
        return []
    if isinstance(inputs, (str, os.PathLike)) or type(inputs).__module__.startswith("datasets"):
        return [inputs]
    return list(inputs)


def run(inputs: str | os.PathLike[str] | Sequence[Any] | None = None, output_prefix: str | None = None, *,
        texts: Iterable[Any] | None = None, **options: Any) -> dict[str, Any]:
    """Tokenizes ``inputs`` (paths, URIs, globs, a ``datasets.Dataset`` or ``IterableDataset``)
    and/or ``texts`` (an iterable of strings, or of dicts holding ``json_keys``) into training
    shards; returns the summary.

    Keyword options are the fields of :class:`Options` (``tokenizer``, ``formats``, ``json_keys``,
    ``bos``, ``append_eod``, ``mode``, ``fim_rate``, ``fim_spm_rate``, ``fim_layout``, ``seed``, ``max_rejects``,
    ``resume``, ``shard_tokens``, ``engine``, ``ray_address``, ``workers``, ``batch_bytes``,
    ``checkpoint_seconds``, ``quiet``, ``progress``, ``include``, ``exclude``, ``pack``, ``pack_strategy``,
    ``shuffle_seed``, ``dedup``, ``parquet_compression``). Bad options raise :class:`OptionsError`;
    more rejects than ``max_rejects`` raise :class:`RejectLimitError`; a truncated or corrupt input
    file (a cut ``.gz``/``.zst``, a damaged Parquet file) raises :class:`CorruptInputError`; a prefix
    another live run is writing raises :class:`PrefixBusyError`."""
    if output_prefix is None:
        raise OptionsError("output_prefix is required (e.g. 'out/corpus' gives out/corpus.bin and .idx)")
    items = _expand(inputs)
    if texts is not None:
        items.append(Texts(texts))
    known = set(Options.__dataclass_fields__) - {"inputs", "output_prefix"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise OptionsError(f"unknown option(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    from llamatok.preprocess.job import run as run_job

    return run_job(Options(inputs=items, output_prefix=output_prefix, **options))


def merge(manifest: str, output_prefix: str) -> dict[str, Any]:
    """Joins the shards of ``manifest`` (``PREFIX.manifest.json``) into ``output_prefix.bin`` and
    ``.idx``, byte-identical to the local engine's single file (see ``llamatok merge --help``)."""
    from llamatok.preprocess.merging import merge as merge_shards

    return merge_shards(os.fspath(manifest), os.fspath(output_prefix))
