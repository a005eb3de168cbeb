"""``--shuffle-seed`` and ``--pack``: the training order of a finished run's documents. In the
single-file layout the work folder's ids and lengths (in input order) are rewritten in that order
before the outputs are written from them; the sharded layout does the same across its shards
(``reorder.py``) (docs/preprocess.md, "Sequences for training").

Both depend only on the documents in input order, the seed and the options, never on batches,
threads or where a run was resumed, so the outputs are the same bytes however the run went.

- Shuffle: a permutation of the documents drawn from numpy's PCG64 seeded with the seed; with
  ``--pack``, the documents are shuffled before packing and the packed sequences after (BFD orders
  by length, so the sequences need their own shuffle).
- Pack (``packing.py``): the pieces of the plan, in order, each written as a document of the output,
  padding pieces filled with the pad id (EOS, or 0 without one).
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np

from llamatok.preprocess.megatron import lengths_file, memmap_or_empty
from llamatok.preprocess.packing import PackPlan, plan

#: Pieces gathered at a time.
GATHER_PIECES = 1 << 16


@dataclass(frozen=True)
class SequenceSpec:
    shuffle_seed: int | None
    pack: int | None
    strategy: str
    pad_id: int

    @property
    def active(self) -> bool:
        return self.shuffle_seed is not None or self.pack is not None


def _permutation(seed: int, n: int, stream: int) -> np.ndarray:
    return np.random.Generator(np.random.PCG64([seed, stream])).permutation(n)


def training_order(lengths: np.ndarray, spec: SequenceSpec) -> PackPlan:
    """The pieces to write, in order (whole documents when not packing)."""
    n = len(lengths)
    order = np.arange(n) if spec.shuffle_seed is None else _permutation(spec.shuffle_seed, n, 0)
    if spec.pack is None:
        return PackPlan(order.astype(np.int64), np.zeros(n, np.int64), lengths[order].astype(np.int64), n, 0, 0)
    packed = plan(lengths[order], spec.pack, spec.strategy)
    doc = np.where(packed.doc >= 0, order[np.maximum(packed.doc, 0)], -1)
    packed = PackPlan(doc, packed.start, packed.length, packed.sequences, packed.pad_tokens, packed.cut_documents)
    if spec.shuffle_seed is not None and packed.sequences > 1:
        packed = _shuffle_sequences(packed, spec.pack, _permutation(spec.shuffle_seed, packed.sequences, 1))
    return packed


def _shuffle_sequences(packed: PackPlan, seq_len: int, perm: np.ndarray) -> PackPlan:
    ends = np.cumsum(packed.length)
    seq_of_piece = (ends - packed.length) // seq_len
    rank = np.empty_like(perm)
    rank[perm] = np.arange(len(perm))
    order = np.lexsort((np.arange(len(seq_of_piece)), rank[seq_of_piece]))
    return PackPlan(packed.doc[order], packed.start[order], packed.length[order], packed.sequences, packed.pad_tokens,
                    packed.cut_documents)


def rewrite(tokens_path: str, lengths_path: str, out_tokens: str, out_lengths: str, dtype: np.dtype,
            spec: SequenceSpec, learned_path: str | None = None, out_learned: str | None = None) -> dict[str, Any]:
    """Writes the pieces' ids and lengths (and with FIM loss masks, their bools per id: padding is not
    learned); returns the summary's ``sequences`` section."""
    dtype = np.dtype(dtype)
    tokens = memmap_or_empty(tokens_path, dtype)
    learned = memmap_or_empty(learned_path, np.dtype(bool)) if learned_path is not None else None
    lengths = np.asarray(lengths_file(lengths_path), dtype=np.int64)
    doc_start = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=doc_start[1:])
    pieces = training_order(lengths, spec)
    outs = [out_tokens, out_lengths, *([out_learned] if learned is not None and out_learned else [])]
    with ExitStack() as stack:
        ids_out, lengths_out, *learned_out = [stack.enter_context(open(p, "wb")) for p in outs]
        for at in range(0, len(pieces.doc), GATHER_PIECES):
            doc = pieces.doc[at:at + GATHER_PIECES]
            lens = pieces.length[at:at + GATHER_PIECES]
            src = np.where(doc >= 0, doc_start[np.maximum(doc, 0)] + pieces.start[at:at + GATHER_PIECES], -1)
            out_start = np.zeros(len(lens), np.int64)
            np.cumsum(lens[:-1], out=out_start[1:])
            total = int(lens.sum())
            index = np.repeat(src - out_start, lens) + np.arange(total, dtype=np.int64)
            is_pad = np.repeat(doc < 0, lens)
            block = np.full(total, spec.pad_id, dtype)
            block[~is_pad] = tokens[index[~is_pad]]
            ids_out.write(block.tobytes())
            if learned is not None and learned_out:
                learned_block = np.zeros(total, bool)
                learned_block[~is_pad] = learned[index[~is_pad]]
                learned_out[0].write(learned_block.tobytes())
            lengths_out.write(lens.astype("<i4").tobytes())
            ids_out.flush()
        for f in (ids_out, lengths_out, *learned_out):
            f.flush()
            os.fsync(f.fileno())
    del tokens, learned
    return summary_section(spec, pieces, int(lengths.sum()))


def summary_section(spec: SequenceSpec, pieces: PackPlan, real_tokens: int) -> dict[str, Any]:
    """The summary's ``sequences`` section of ``pieces`` made from documents of ``real_tokens`` ids."""
    section: dict[str, Any] = {"shuffle_seed": spec.shuffle_seed, "pieces": int(len(pieces.doc))}
    if spec.pack is not None:
        real = real_tokens
        section.update({
            "pack": spec.pack,
            "strategy": spec.strategy,
            "sequences": pieces.sequences,
            "pad_tokens": pieces.pad_tokens,
            "pad_id": spec.pad_id,
            "efficiency": round(real / max(pieces.sequences * spec.pack, 1), 6),
            "cut_documents": pieces.cut_documents,
        })
    return section
