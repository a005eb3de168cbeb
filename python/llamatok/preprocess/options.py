"""The options of a preprocessing job, checked once, before any work starts.

Every check that fails raises :class:`OptionsError` (a ``ValueError``) with a message that names the
option; the command line turns it into exit status 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llamatok.infill import CODESTRAL, FIM_LAYOUTS
from llamatok.preprocess import storage
from llamatok.preprocess.errors import OptionsError, RejectLimitError

__all__ = ["Options", "OptionsError", "RejectLimitError", "parse_count", "parse_size"]

#: The outputs ``--format`` may name, any combination (docs/shards.md, "Formats for every trainer").
FORMATS = ("megatron", "parquet", "npy", "datatrove", "mds", "litdata")
#: The formats that carry a FIM loss mask beside the ids (docs/shards.md, "Loss masks for FIM documents").
LOSS_MASK_FORMATS = ("npy", "datatrove", "parquet")
#: The longest --pack: a sequence's length is an int32 in Megatron's index.
MAX_PACK = 2**31 - 1
MODES = ("literal", "legacy", "non_legacy")
ENGINES = ("local", "ray")
#: ``--parquet-compression``: pyarrow's codecs; zstd (the default) makes the smallest files, none the
#: cheapest to write (docs/shards.md, "Parquet").
PARQUET_COMPRESSIONS = ("zstd", "snappy", "lz4", "gzip", "none")


def parse_count(text: str) -> int:
    """``"500M"``, ``"2k"``, ``"1G"``, ``"65536"`` → a count (powers of 1000)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*", str(text))
    if not m:
        raise OptionsError(f"not a count: {text!r} (write e.g. 500M, 20k or 1000000)")
    scale = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def parse_size(text: str) -> int:
    """``"4MB"``, ``"512k"``, ``"1GiB"``, ``"65536"`` → bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(i?[bB])?\s*", str(text))
    if not m:
        raise OptionsError(f"not a size: {text!r} (write e.g. 4MB, 512KB or 1048576)")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


@dataclass
class Options:
    """What to read, how to tokenize it and where to write it (see ``llamatok preprocess --help``).

    ``inputs`` are paths (JSONL files, plain, ``.gz`` or ``.zst``; Parquet files; directories of
    source files) or, from Python, one iterable of strings (or of dicts) or a ``datasets.Dataset``.
    """

    inputs: Sequence[Any]
    output_prefix: str
    formats: tuple[str, ...] = ("megatron",)
    json_keys: tuple[str, ...] = ("text",)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    tokenizer: Any = None
    bos: bool | None = None
    append_eod: bool = False
    mode: str = "literal"
    fim_rate: float = 0.0
    fim_spm_rate: float | None = None  # None: 0.5 with Code Llama's layout; Codestral's is all suffix first (1)
    fim_layout: str = "codellama"
    seed: int = 0
    workers: int | None = None
    batch_bytes: int = 4 << 20
    checkpoint_seconds: float | None = None  # None: 1 second (the single-file output only)
    max_rejects: int | None = None
    resume: bool = False
    shard_tokens: int | None = None
    engine: str = "local"
    ray_address: str | None = None
    quiet: bool = False
    progress: bool | None = None
    pack: int | None = None
    pack_strategy: str = "concat"
    shuffle_seed: int | None = None
    dedup: str | None = None
    parquet_compression: str | None = None  # None: zstd

    def validate_encoding(self) -> Options:
        """The checks of the options that say how text becomes ids."""
        if self.mode not in MODES:
            raise OptionsError(f"--mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.fim_layout == CODESTRAL:
            # Codestral's layout has one order only: an SPM rate given with it would be dropped silently.
            if self.fim_spm_rate not in (None, 1, 1.0):
                raise OptionsError("--fim-spm-rate does not apply to --fim-layout codestral (its documents are "
                                   "all [SUFFIX] suffix [PREFIX] prefix middle): leave it out")
            self.fim_spm_rate = 1.0
        elif self.fim_spm_rate is None:
            self.fim_spm_rate = 0.5
        for name in ("fim_rate", "fim_spm_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise OptionsError(f"--{name.replace('_', '-')} must be a probability between 0 and 1, not {value!r}")
        if self.fim_layout not in FIM_LAYOUTS:
            raise OptionsError(f"--fim-layout must be one of {', '.join(FIM_LAYOUTS)}, not {self.fim_layout!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 1 << 64:
            raise OptionsError(f"--seed must be an integer from 0 to 2**64 - 1, not {self.seed!r}")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise OptionsError(f"--workers must be at least 1, not {self.workers!r}")
        if self.workers is not None and self.engine != "ray":
            from llamatok._native import MAX_THREADS, default_threads

            # Locally --workers is a thread count: a huge one would take minutes to start (docs/preprocess.md).
            if self.workers > MAX_THREADS:
                raise OptionsError(f"--workers {self.workers} is more than the limit of {MAX_THREADS} threads "
                                   f"(this machine has {default_threads()} cores; leave --workers out to use them all)")
        return self

    def validate(self) -> Options:
        self.validate_encoding()
        if isinstance(self.inputs, (str, bytes, os.PathLike)):
            self.inputs = [self.inputs]
        self.inputs = list(self.inputs)
        if not self.inputs:
            raise OptionsError("no input given: name JSONL or Parquet files, or directories of source files")
        if not self.output_prefix or str(self.output_prefix).endswith((os.sep, "/")):
            raise OptionsError("--output-prefix must name files, e.g. out/stdlib (gives out/stdlib.bin, .idx)")
        self.output_prefix = os.fspath(self.output_prefix)
        if storage.is_local(self.output_prefix):
            self.output_prefix = storage.local_path(self.output_prefix)
            parent = os.path.dirname(os.path.abspath(self.output_prefix))
            if not os.path.isdir(parent):
                raise OptionsError(f"--output-prefix: the folder {parent} does not exist")
        if isinstance(self.formats, str):
            self.formats = tuple(f.strip() for f in self.formats.split(",") if f.strip())
        self.formats = tuple(dict.fromkeys(self.formats))
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise OptionsError(f"--format takes one or more of {', '.join(FORMATS)} separated by commas "
                               f"(e.g. megatron,npy), not {','.join(self.formats)!r}")
        if isinstance(self.json_keys, str):
            self.json_keys = (self.json_keys,)
        self.json_keys = tuple(self.json_keys)
        if not self.json_keys or any(not isinstance(k, str) or not k for k in self.json_keys):
            raise OptionsError("--json-keys needs one or more non-empty field names")
        if len(set(self.json_keys)) != len(self.json_keys):
            raise OptionsError(f"--json-keys names a field twice: {' '.join(self.json_keys)}")
        unnamable = [k for k in self.json_keys if "/" in k or "\\" in k or "\0" in k or k in (".", "..")]
        if len(self.json_keys) > 1 and unnamable:
            # Each key of several names its own files (PREFIX_KEY.bin).
            raise OptionsError(f"--json-keys {unnamable[0]!r} cannot be part of a file name (PREFIX_KEY.bin): "
                               "tokenize that field in a run of its own")
        if not isinstance(self.batch_bytes, int) or self.batch_bytes < 1:
            raise OptionsError(f"--batch-size must be a positive number of bytes, not {self.batch_bytes!r}")
        if self.checkpoint_seconds is not None:
            if (isinstance(self.checkpoint_seconds, bool) or not isinstance(self.checkpoint_seconds, (int, float))
                    or not 0 <= self.checkpoint_seconds < float("inf")):
                raise OptionsError(f"--checkpoint-seconds must be 0 or more seconds, not {self.checkpoint_seconds!r}")
            if self.sharded:
                raise OptionsError("--checkpoint-seconds applies to the single-file output only (shards are made "
                                   "durable one by one as each is finished): leave it out")
        if self.max_rejects is not None and (not isinstance(self.max_rejects, int) or self.max_rejects < 0):
            raise OptionsError(f"--max-rejects must be 0 or more, not {self.max_rejects!r}")
        if self.shard_tokens is not None and (isinstance(self.shard_tokens, bool)
                                              or not isinstance(self.shard_tokens, int)
                                              or self.shard_tokens < 1):
            raise OptionsError(f"--shard-tokens must be a positive number of tokens, not {self.shard_tokens!r}")
        if self.engine not in ENGINES:
            raise OptionsError(f"--engine must be local or ray, not {self.engine!r}")
        if self.ray_address is not None and self.engine != "ray":
            raise OptionsError("--ray-address needs --engine ray")
        if self.parquet_compression is not None:
            if self.parquet_compression not in PARQUET_COMPRESSIONS:
                raise OptionsError(f"--parquet-compression must be one of {', '.join(PARQUET_COMPRESSIONS)}, "
                                   f"not {self.parquet_compression!r}")
            if "parquet" not in self.formats:
                raise OptionsError("--parquet-compression applies to --format parquet only: add parquet to "
                                   "--format or leave the option out")
        self.include = tuple(self.include or ())
        self.exclude = tuple(self.exclude or ())
        self._validate_sequences()
        return self

    def _validate_sequences(self) -> None:
        """--pack, --pack-strategy, --shuffle-seed, --dedup (docs/preprocess.md, "Sequences for training")."""
        if self.pack is not None and (isinstance(self.pack, bool) or not isinstance(self.pack, int)
                                      or not 2 <= self.pack <= MAX_PACK):
            raise OptionsError(f"--pack must be a sequence length of 2 to {MAX_PACK} tokens (what Megatron's index "
                               f"holds), not {self.pack!r}")
        if self.pack_strategy not in ("concat", "bfd"):
            raise OptionsError(f"--pack-strategy must be concat or bfd, not {self.pack_strategy!r}")
        seed = self.shuffle_seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 1 << 64):
            raise OptionsError(f"--shuffle-seed must be an integer from 0 to 2**64 - 1, not {self.shuffle_seed!r}")
        if self.dedup not in (None, "exact"):
            raise OptionsError(f"--dedup takes exact (a 128-bit hash of each document's text), not {self.dedup!r}")
        if self.pack is not None and len(self.json_keys) > 1:
            raise OptionsError("--pack packs one text field: give one --json-keys (run once per key)")

    @property
    def loss_masks(self) -> bool:
        """Whether the run keeps FIM loss masks: FIM on, and a format that carries them asked for."""
        return self.fim_rate > 0 and any(f in LOSS_MASK_FORMATS for f in self.formats)

    @property
    def sharded(self) -> bool:
        """Whether the output is shards with a manifest (always on Ray) or one file per format."""
        return self.engine == "ray" or self.shard_tokens is not None

    # -- output names ------------------------------------------------------------------------

    def megatron_prefix(self, key: str) -> str:
        """``PREFIX`` for one text field, ``PREFIX_KEY`` for each of several (as Megatron names them)."""
        return self.output_prefix if len(self.json_keys) == 1 else f"{self.output_prefix}_{key}"

    @property
    def checkpoint_interval(self) -> float:
        """Seconds between the single-file output's checkpoints (``--checkpoint-seconds``, 1 when not given)."""
        return 1.0 if self.checkpoint_seconds is None else float(self.checkpoint_seconds)

    @property
    def parquet_codec(self) -> str:
        """The Parquet output's compression codec (``--parquet-compression``, zstd when not given)."""
        return self.parquet_compression or "zstd"

    @property
    def parquet_path(self) -> str:
        return self.output_prefix + ".parquet"

    @property
    def rejects_path(self) -> str:
        return self.output_prefix + ".rejects.jsonl"

    @property
    def summary_path(self) -> str:
        return self.output_prefix + ".summary.json"

    @property
    def manifest_path(self) -> str:
        return self.output_prefix + ".manifest.json"

    @property
    def work_dir(self) -> str:
        """The single-file run's work folder: beside the outputs, or for an output on an object
        store (which has no append), in this machine's temporary folder."""
        if storage.is_local(self.output_prefix):
            return self.output_prefix + ".partial"
        import hashlib
        import tempfile

        tag = hashlib.sha256(self.output_prefix.encode("utf-8")).hexdigest()[:16]
        return os.path.join(tempfile.gettempdir(), f"llamatok-{tag}.partial")
