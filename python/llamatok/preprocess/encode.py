"""One batch of documents to token ids: the core's flat batch encode (which puts BOS/EOS around each
document's ids itself), FIM documents assembled with numpy, so no Python list is ever built per token.

The result of a batch is ``(ids, lengths, learned)``: every document's ids concatenated in the output
dtype, each document's length, and with FIM one bool per id, whether a model learns to produce it (the
loss mask: the middle, EOT and EOS of a FIM document, every id of a plain one), made where the
segments are laid out, so that text which itself encodes to ``▁<MID>`` cannot move it; ``learned`` is
None without FIM. Megatron's ``preprocess_data.py`` rule is kept: ``--append-eod`` adds the EOS id to
every document that has at least one id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llamatok.infill import (
    CODESTRAL,
    EOT,
    MID,
    MIDDLE,
    PRE,
    PREFIX,
    SUF,
    SUFFIX,
    codestral_layout,
    layout,
    part_text,
)
from llamatok.preprocess import fim as fim_mod

if TYPE_CHECKING:
    from llamatok._native import JsonlBlock, Tokenizer


@dataclass(frozen=True)
class EncodeSpec:
    """How every document is turned into ids (the same on every worker)."""

    mode: str
    bos_id: int | None
    eos_id: int | None
    dtype: str  # "uint16" or "int32" (Megatron's choice for the vocabulary size)
    fim: fim_mod.FimSpec | None = None
    num_threads: int | None = None

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(np.uint16 if self.dtype == "uint16" else np.int32)


def _flat(core: Tokenizer, texts: Sequence[str], spec: EncodeSpec, dummy_prefix: bool,
          framed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The texts' ids and offsets; ``framed``: each text's ids with the spec's BOS and EOS around them."""
    if not texts:
        return np.empty(0, spec.numpy_dtype), np.zeros(1, np.uint64)
    core_dtype = _core_dtype(spec)
    bos, eos = (spec.bos_id, spec.eos_id) if framed else (None, None)
    got = core.encode_batch_flat(list(texts), spec.mode, dummy_prefix, spec.num_threads, core_dtype, bos_id=bos,
                                 eos_id=eos)
    return _arrays(*got, core_dtype)


def _core_dtype(spec: EncodeSpec) -> str:
    return "uint16" if spec.dtype == "uint16" else "uint32"


def _arrays(ids_buf: Any, off_buf: Any, core_dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The core's flat buffers as numpy arrays, without a copy: ids in the output dtype, offsets."""
    # Typed Any: numpy's stubs take a buffer only as bytes, memoryview, ... before Python 3.12 (PEP 688),
    # and an IdBuffer implements the buffer protocol without being one of those.
    ids = np.frombuffer(ids_buf, dtype=np.uint16 if core_dtype == "uint16" else np.uint32)
    if core_dtype == "uint32":
        ids = ids.view(np.int32)  # ids are < 2**31: the same bytes
    return ids, np.frombuffer(off_buf, dtype=np.uint64)


#: A batch's ids, lengths and (with FIM only) learned ids (the module's docstring).
Encoded = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]


def encode_jsonl(core: Tokenizer, blocks: Sequence[bytes | JsonlBlock], keys: Sequence[str],
                 spec: EncodeSpec) -> tuple[list[Encoded], np.ndarray, int] | None:
    """The documents of blocks of whole JSONL lines, split and parsed by the core on its threads (never
    with FIM): per key, what :func:`encode_plain` gives for that field of every line that is not blank;
    each such line's start in the blocks taken one after another; the number of blank lines. None when
    some line is not a JSON object whose fields are all strings."""
    core_dtype = _core_dtype(spec)
    got = core.encode_jsonl_flat(list(blocks), list(keys), spec.mode, True, spec.num_threads, core_dtype,
                                 bos_id=spec.bos_id, eos_id=spec.eos_id)
    if got is None:
        return None
    per_key, starts, blank = got
    out: list[Encoded] = []
    for ids_buf, off_buf in per_key:
        ids, offsets = _arrays(ids_buf, off_buf, core_dtype)
        out.append((ids, np.diff(offsets).astype(np.int64), None))
    starts_buf: Any = starts  # an IdBuffer: numpy's stubs take no other buffer type (see _arrays)
    return out, np.frombuffer(starts_buf, dtype=np.uint64), blank


def encode_plain(core: Tokenizer, texts: Sequence[str], spec: EncodeSpec) -> tuple[np.ndarray, np.ndarray]:
    ids, offsets = _flat(core, texts, spec, True, framed=True)
    return ids, np.diff(offsets).astype(np.int64)


def _fim_items(f: fim_mod.FimSpec, suffix_first: bool) -> tuple[str, ...]:
    """A FIM document's parts and special tokens in order: the inference prompt, then the middle and EOT."""
    return (*(codestral_layout() if f.layout == CODESTRAL else layout(suffix_first)), MIDDLE, EOT)


def encode_fim(core: Tokenizer, texts: Sequence[str], spec: EncodeSpec, key_index: int, sources: np.ndarray,
               positions: np.ndarray) -> Encoded:
    """Documents, each plain or FIM-formatted per :func:`fim.plan`. Each document is a row of segments
    (BOS, its parts and special tokens in layout order, EOS), each a run of a pool of ids; the rows are
    filled with numpy per kind of document, and the runs gathered in row order."""
    f = spec.fim
    if f is None:
        raise ValueError("encode_fim needs spec.fim")
    kind, lo, hi = fim_mod.plan(f, key_index, sources, positions, [len(t) for t in texts])
    plain = np.flatnonzero(kind == fim_mod.PLAIN)
    fim = np.flatnonzero(kind != fim_mod.PLAIN)
    cuts = [(texts[i], low, high) for i, low, high in zip(fim.tolist(), lo[fim].tolist(), hi[fim].tolist())]
    parts = {PREFIX: [t[:low] for t, low, _ in cuts], MIDDLE: [t[low:high] for t, low, high in cuts],
             SUFFIX: [t[high:] for t, _, high in cuts]}
    # Pool A: texts encoded with the dummy prefix (plain documents; Codestral's prefix, encoded as
    # sentencepiece encodes a text). Pool B: the other parts, each as the inference prompt encodes it.
    codestral = f.layout == CODESTRAL
    a_texts = [texts[i] for i in plain.tolist()] + (parts[PREFIX] if codestral else [])
    b_parts = [SUFFIX, MIDDLE] if codestral else [PREFIX, SUFFIX, MIDDLE]
    b_texts = [part_text(p, text) for p in b_parts for text in parts[p]]
    a_ids, a_off = _flat(core, a_texts, spec, True)
    b_ids, b_off = _flat(core, b_texts, spec, False)
    # Codestral's layout has no middle token (middle_id -1) and ends with </s> (eot_id is the EOS id).
    special_ids = sorted({x for x in (spec.bos_id, spec.eos_id, f.prefix_id, f.suffix_id, f.middle_id, f.eot_id)
                          if x is not None and x >= 0})
    pool = np.concatenate([a_ids, b_ids, np.array(special_ids, dtype=a_ids.dtype)])
    special_at = {tok: len(a_ids) + len(b_ids) + i for i, tok in enumerate(special_ids)}
    specials = {PRE: f.prefix_id, SUF: f.suffix_id, MID: f.middle_id, EOT: f.eot_id}
    a_off = a_off.astype(np.int64)
    b_off = b_off.astype(np.int64) + len(a_ids)

    def runs(off: np.ndarray, first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        return off[first:first + count], np.diff(off[first:first + count + 1])

    # Per document: BOS, then up to 7 segments (a FIM document's parts and tokens), then EOS; empty
    # segments are runs of length 0, which the gather skips.
    width = 9
    seg_start = np.zeros((len(texts), width), np.int64)
    seg_len = np.zeros((len(texts), width), np.int64)
    # Which segments a model learns to produce: all of a plain document, a FIM one's middle, EOT and EOS.
    seg_learned = np.zeros((len(texts), width), bool)
    seg_learned[plain, :] = True
    seg_learned[fim, width - 1] = True
    seg_start[plain, 1], seg_len[plain, 1] = runs(a_off, 0, len(plain))
    part_runs = {p: runs(b_off, k * len(fim), len(fim)) for k, p in enumerate(b_parts)}
    if codestral:
        part_runs[PREFIX] = runs(a_off, len(plain), len(fim))
    for suffix_first in (False, True):
        chosen = (kind[fim] == fim_mod.SPM) == suffix_first
        rows = fim[chosen]
        for col, item in enumerate(_fim_items(f, suffix_first), start=1):
            seg_learned[rows, col] = item in (MIDDLE, EOT)
            if item in specials:
                seg_start[rows, col], seg_len[rows, col] = special_at[specials[item]], 1
            else:
                seg_start[rows, col], seg_len[rows, col] = (run[chosen] for run in part_runs[item])
    if spec.bos_id is not None:
        seg_start[:, 0], seg_len[:, 0] = special_at[spec.bos_id], 1
    if spec.eos_id is not None:
        # --append-eod: EOS after every document with an id, unless it already ends with one (a Codestral
        # document ends with its </s>, the end of the middle).
        ends_with_eos = np.zeros(len(texts), bool)
        ends_with_eos[fim] = f.eot_id == spec.eos_id
        eos = (seg_len.sum(axis=1) > 0) & ~ends_with_eos
        seg_start[eos, width - 1], seg_len[eos, width - 1] = special_at[spec.eos_id], 1
    lengths = seg_len.sum(axis=1)
    kept = seg_len.ravel() > 0
    starts, lens = seg_start.ravel()[kept], seg_len.ravel()[kept]
    out_starts = np.zeros(len(lens), np.int64)
    np.cumsum(lens[:-1], out=out_starts[1:])
    index = np.repeat(starts - out_starts, lens) + np.arange(int(lens.sum()), dtype=np.int64)
    return pool[index], lengths, np.repeat(seg_learned.ravel()[kept], lens)


def encode_batch(core: Tokenizer, texts: Sequence[str], spec: EncodeSpec, key_index: int = 0,
                 sources: np.ndarray | None = None, positions: np.ndarray | None = None) -> Encoded:
    """``(ids, lengths, learned)`` of a batch of documents; ``sources``/``positions`` (where each
    document is in the input) are needed for FIM only."""
    if spec.fim is None or spec.fim.rate == 0.0:
        return (*encode_plain(core, texts, spec), None)
    if sources is None or positions is None:
        raise ValueError("FIM needs the sources and positions of the documents")
    return encode_fim(core, texts, spec, key_index, sources, positions)
