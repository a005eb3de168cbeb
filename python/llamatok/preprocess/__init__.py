"""Corpora to training shards: ``llamatok preprocess`` and the same from Python.

    import llamatok.preprocess as pp
    summary = pp.run("data/*.jsonl", "out/corpus", tokenizer="CodeLlama-7b-hf", append_eod=True)
    summary = pp.run(texts=["def f(): pass", ...], output_prefix="out/small")

Inputs: JSONL (plain, .gz, .zst), Parquet, directories of source files; from Python also an
iterable of strings (``texts=``) or a ``datasets.Dataset``. Outputs: a Megatron indexed dataset
(``PREFIX.bin`` + ``PREFIX.idx``) and/or Parquet (``PREFIX.parquet``), ``PREFIX.rejects.jsonl``
and ``PREFIX.summary.json``. The files, one job each:

- ``options.py`` the options and their checks; ``cli.py`` the ``preprocess`` subcommand
- ``sources.py`` what the inputs are; ``readers.py`` records from each kind of input
- ``batches.py`` records to batches; ``encode.py`` batches to ids; ``fim.py`` fill-in-the-middle
- ``local_engine.py`` the pipeline on one machine; ``ray_engine.py`` the same job on Ray Data
- ``committer.py`` ordered writing and checkpoints; ``checkpoint.py`` the work folder and resume
- ``megatron.py`` the ``.idx`` format; ``parquet_out.py`` Parquet; ``finish.py`` atomic renames
- ``progress.py`` the progress bar; ``summary.py`` the summary; ``hf.py`` ``datasets.map`` helper
"""

from __future__ import annotations

import glob
import os
from typing import Any, Dict, Iterable, Optional, Sequence, Union

from llamatok.preprocess.options import Options, OptionsError, RejectLimitError
from llamatok.preprocess.sources import Texts

__all__ = ["Options", "OptionsError", "RejectLimitError", "run"]


def _expand(inputs: Any) -> list:
    if inputs is None:
        return []
    if isinstance(inputs, (str, os.PathLike)) or type(inputs).__module__.startswith("datasets"):
        inputs = [inputs]
    out = []
    for item in inputs:
        if isinstance(item, str) and glob.has_magic(item) and not os.path.exists(item):
            matches = sorted(glob.glob(item))
            if not matches:
                raise OptionsError(f"no input matches {item}")
            out.extend(matches)
        else:
            out.append(item)
    return out


def run(inputs: Union[str, "os.PathLike[str]", Sequence[Any], None] = None, output_prefix: Optional[str] = None, *,
        texts: Optional[Iterable[Any]] = None, **options: Any) -> Dict[str, Any]:
    """Tokenizes ``inputs`` (paths, globs, a ``datasets.Dataset``) and/or ``texts`` (an iterable
    of strings, or of dicts holding ``json_keys``) into training shards; returns the summary.

    Keyword options are the fields of :class:`Options` (``tokenizer``, ``formats``, ``json_keys``,
    ``bos``, ``append_eod``, ``mode``, ``fim_rate``, ``fim_spm_rate``, ``seed``, ``max_rejects``,
    ``resume``, ``engine``, ``ray_address``, ``workers``, ``batch_bytes``, ``quiet``, ``progress``,
    ``include``, ``exclude``). Bad options raise :class:`OptionsError`; more rejects than
    ``max_rejects`` raise :class:`RejectLimitError`."""
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
