"""``datasets.Dataset.map`` with llamatok: a picklable batch function.

    from llamatok.preprocess.hf import MapTokenizer
    tokenized = dataset.map(MapTokenizer("CodeLlama-7b-hf"), batched=True, num_proc=8,
                            remove_columns=dataset.column_names)

It encodes a whole batch with the core's flat batch encode (all cores, GIL released) and returns
an ``input_ids`` column, with the same BOS/EOS/mode/FIM options as ``llamatok preprocess`` (FIM
needs ``with_indices=True``: a row's index seeds its randomness). It pickles as the tokenizer's
bytes plus the options, so ``num_proc`` workers get the same tokenizer and ``datasets`` computes
the same fingerprint every time: a second identical ``map`` is loaded from its cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from llamatok.preprocess.encode import EncodeSpec, encode_batch
from llamatok.preprocess.options import Options, OptionsError


class MapTokenizer:
    def __init__(self, tokenizer: Any = None, column: str = "text", output: str = "input_ids", *,
                 bos: bool | None = None, append_eod: bool = False, mode: str = "literal", fim_rate: float = 0.0,
                 fim_spm_rate: float | None = None, seed: int = 0, num_threads: int | None = None,
                 fim_layout: str = "codellama") -> None:
        from llamatok.preprocess.job import encode_spec, load_tokenizer

        options = Options(inputs=["-"], output_prefix="-", bos=bos, append_eod=append_eod, mode=mode, fim_rate=fim_rate,
                          fim_spm_rate=fim_spm_rate, fim_layout=fim_layout, seed=seed, workers=num_threads)
        options.validate_encoding()
        info = load_tokenizer(tokenizer)
        self.core = info.core
        self.spec: EncodeSpec = encode_spec(options, info)
        self.column = column
        self.output = output

    def __call__(self, batch: dict[str, Sequence[Any]],
                 indices: Sequence[int] | None = None) -> dict[str, list[list[int]]]:
        texts = batch[self.column]
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"row {i if indices is None else indices[i]}: column {self.column!r} holds "
                                f"{type(t).__name__}, not str")
        if self.spec.fim is not None and indices is None:
            raise OptionsError("FIM needs the row indices: call dataset.map(..., with_indices=True)")
        positions = np.asarray(indices if indices is not None else range(len(texts)), dtype=np.uint64)
        ids, lengths, _ = encode_batch(self.core, list(texts), self.spec, 0, np.zeros(len(texts), np.uint64),
                                       positions)
        ends = np.cumsum(lengths)
        return {self.output: [a.tolist() for a in np.split(ids.astype(np.int64), ends[:-1])] if len(texts) else []}
