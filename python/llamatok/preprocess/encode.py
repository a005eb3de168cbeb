"""One batch of documents to token ids: the core's flat batch encode (which puts BOS/EOS around each
document's ids itself), FIM documents assembled with numpy, so no Python list is ever built per token.

The result of a batch is ``(ids, lengths)``: every document's ids concatenated in the output dtype,
and each document's length. Megatron's ``preprocess_data.py`` rule is kept: ``--append-eod``
adds the EOS id to every document that has at least one id.
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
    codestral_part,
    layout,
    part_text,
)
from llamatok.preprocess import fim as fim_mod

if TYPE_CHECKING:
    from llamatok._native import Tokenizer


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


def encode_jsonl(core: Tokenizer, blocks: Sequence[bytes], keys: Sequence[str],
                 spec: EncodeSpec) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, int] | None:
    """The documents of blocks of whole JSONL lines, split and parsed by the core on its threads: per key,
    what :func:`encode_plain` gives for that field of every line that is not blank; each such line's
    start in the blocks taken one after another; the number of blank lines. None when some line is not
    a JSON object whose fields are all strings."""
    core_dtype = _core_dtype(spec)
    got = core.encode_jsonl_flat(list(blocks), list(keys), spec.mode, True, spec.num_threads, core_dtype,
                                 bos_id=spec.bos_id, eos_id=spec.eos_id)
    if got is None:
        return None
    per_key, starts, blank = got
    out = []
    for ids_buf, off_buf in per_key:
        ids, offsets = _arrays(ids_buf, off_buf, core_dtype)
        out.append((ids, np.diff(offsets).astype(np.int64)))
    starts_buf: Any = starts  # an IdBuffer: numpy's stubs take no other buffer type (see _arrays)
    return out, np.frombuffer(starts_buf, dtype=np.uint64), blank


def encode_plain(core: Tokenizer, texts: Sequence[str], spec: EncodeSpec) -> tuple[np.ndarray, np.ndarray]:
    ids, offsets = _flat(core, texts, spec, True, framed=True)
    return ids, np.diff(offsets).astype(np.int64)


def encode_fim(core: Tokenizer, texts: Sequence[str], spec: EncodeSpec, key_index: int, sources: np.ndarray,
               positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Documents, each plain or FIM-formatted per :func:`fim.plan`."""
    f = spec.fim
    if f is None:
        raise ValueError("encode_fim needs spec.fim")
    kind, lo, hi = fim_mod.plan(f, key_index, sources, positions, [len(t) for t in texts])
    specials = {PRE: f.prefix_id, SUF: f.suffix_id, MID: f.middle_id, EOT: f.eot_id}
    # Texts encoded with the dummy prefix (A: plain documents) and without (B: the parts of FIM
    # documents, each as the inference prompt encodes it).
    a_texts: list[str] = []
    b_texts: list[str] = []
    # Per document, its segments: (pool, index) for text parts, or ("s", a special id).
    plans: list[list[tuple[str, int]]] = []
    for text, k, low, high in zip(texts, kind.tolist(), lo.tolist(), hi.tolist()):
        if k == fim_mod.PLAIN:
            plans.append([("a", len(a_texts))])
            a_texts.append(text)
            continue
        prefix, middle, suffix = fim_mod.split(text, low, high)
        parts = {PREFIX: prefix, SUFFIX: suffix, MIDDLE: middle}
        segs: list[tuple[str, int]] = []
        items = codestral_layout() if f.layout == CODESTRAL else layout(k == fim_mod.SPM)
        for item in (*items, MIDDLE, EOT):
            if item in specials:
                segs.append(("s", specials[item]))
            elif f.layout == CODESTRAL and codestral_part(item, parts[item])[1]:
                # Codestral's prefix is encoded as sentencepiece encodes a text, dummy prefix and all.
                segs.append(("a", len(a_texts)))
                a_texts.append(parts[item])
            else:
                segs.append(("b", len(b_texts)))
                b_texts.append(part_text(item, parts[item]))
        plans.append(segs)
    a_ids, a_off = _flat(core, a_texts, spec, True)
    b_ids, b_off = _flat(core, b_texts, spec, False)
    # Codestral's layout has no middle token (middle_id -1) and ends with </s> (eot_id is the EOS id).
    special_ids = sorted({x for x in (spec.bos_id, spec.eos_id, f.prefix_id, f.suffix_id, f.middle_id, f.eot_id)
                          if x is not None and x >= 0})
    special_at = {tok: len(a_ids) + len(b_ids) + i for i, tok in enumerate(special_ids)}
    pool = np.concatenate([a_ids, b_ids, np.array(special_ids, dtype=a_ids.dtype)])
    a_off = a_off.astype(np.int64)
    b_off = b_off.astype(np.int64) + len(a_ids)
    seg_start: list[int] = []
    seg_len: list[int] = []
    lengths = np.empty(len(texts), np.int64)
    for d, segs in enumerate(plans):
        # A Codestral document already ends with its </s> (the end of the middle): --append-eod adds no second.
        ends_with_eos = segs[-1] == ("s", spec.eos_id)
        total = 0
        if spec.bos_id is not None:
            seg_start.append(special_at[spec.bos_id])
            seg_len.append(1)
            total += 1
        for pool_name, x in segs:
            if pool_name == "s":
                seg_start.append(special_at[x])
                seg_len.append(1)
                total += 1
            else:
                off = a_off if pool_name == "a" else b_off
                s, e = int(off[x]), int(off[x + 1])
                if e > s:
                    seg_start.append(s)
                    seg_len.append(e - s)
                    total += e - s
        if spec.eos_id is not None and total > 0 and not ends_with_eos:
            seg_start.append(special_at[spec.eos_id])
            seg_len.append(1)
            total += 1
        lengths[d] = total
    starts = np.asarray(seg_start, np.int64)
    lens = np.asarray(seg_len, np.int64)
    out_starts = np.zeros(len(lens), np.int64)
    np.cumsum(lens[:-1], out=out_starts[1:])
    index = np.repeat(starts - out_starts, lens) + np.arange(int(lens.sum()), dtype=np.int64)
    return pool[index], lengths


def encode_batch(core: Tokenizer, texts: Sequence[str], spec: EncodeSpec, key_index: int = 0,
                 sources: np.ndarray | None = None,
                 positions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, lengths)`` of a batch of documents; ``sources``/``positions`` (where each document
    is in the input) are needed for FIM only."""
    if spec.fim is None or spec.fim.rate == 0.0:
        return encode_plain(core, texts, spec)
    if sources is None or positions is None:
        raise ValueError("FIM needs the sources and positions of the documents")
    return encode_fim(core, texts, spec, key_index, sources, positions)
