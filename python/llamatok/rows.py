"""Rows of model input: one encoded sequence (or infill prompt) with its per-token fields, built by
putting a template's tokens around slices of the encoded sequences.

With truncation, every sequence may have overflowing slices; the rows then come out in the order the
``tokenizers`` library merges them (each overflow of the first sequence with the kept second sequence,
then with each overflow of the second, and finally the kept first sequence with each overflow of the
second), so that ``return_overflowing_tokens`` gives the rows transformers gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from llamatok.template import Template
from llamatok.truncation import Window

Offset = tuple[int, int]
T = TypeVar("T")


class Encoded:
    """One sequence as the core encoded it: ids and, when asked for, character offsets, word ids and
    matched token texts (alignment.py)."""

    __slots__ = ("ids", "offsets", "words", "texts")

    def __init__(self, ids: list[int], offsets: list[Offset] | None = None,
                 words: list[int | None] | None = None, texts: list[str | None] | None = None) -> None:
        self.ids = ids
        self.offsets = offsets
        self.words = words
        self.texts = texts

    def __len__(self) -> int:
        return len(self.ids)


class Row:
    """One row of model input. ``offsets``, ``words``, ``sequences`` (the word and the sequence of every
    token, None for added tokens) and ``texts`` (a token's text where it is not its piece: what an added
    token matched) are None unless offsets were asked for."""

    __slots__ = ("ids", "type_ids", "special", "offsets", "attention", "words", "sequences", "texts")

    def __init__(self, ids: list[int], type_ids: list[int], special: list[int], offsets: list[Offset] | None,
                 words: list[int | None] | None = None, sequences: list[int | None] | None = None,
                 texts: list[str | None] | None = None) -> None:
        self.ids = ids
        self.type_ids = type_ids
        self.special = special
        self.offsets = offsets
        self.attention = [1] * len(ids)
        self.words = words
        self.sequences = sequences
        self.texts = texts

    def __add__(self, other: Row) -> Row:
        if self.offsets is None or other.offsets is None:
            return Row(self.ids + other.ids, self.type_ids + other.type_ids, self.special + other.special, None)
        return Row(self.ids + other.ids, self.type_ids + other.type_ids, self.special + other.special,
                   self.offsets + other.offsets, _joined(self.words, other.words),
                   _joined(self.sequences, other.sequences), _joined(self.texts, other.texts))

    def __len__(self) -> int:
        return len(self.ids)


def _joined(a: list[T] | None, b: list[T] | None) -> list[T] | None:
    return None if a is None or b is None else a + b


def _token_row(token: int, type_id: int, with_offsets: bool) -> Row:
    if not with_offsets:
        return Row([token], [type_id], [1], None)
    return Row([token], [type_id], [1], [(0, 0)], [None], [None], [None])


def _slice_row(seq: Encoded, window: Window, type_id: int, sequence: int) -> Row:
    start, stop = window
    ids = seq.ids[start:stop]
    if seq.offsets is None:
        return Row(ids, [type_id] * len(ids), [0] * len(ids), None)
    words: list[int | None] = seq.words[start:stop] if seq.words is not None else [None] * len(ids)
    texts: list[str | None] = seq.texts[start:stop] if seq.texts is not None else [None] * len(ids)
    return Row(ids, [type_id] * len(ids), [0] * len(ids), seq.offsets[start:stop], words, [sequence] * len(ids),
               texts)


def build_rows(template: Template, seqs: Sequence[Encoded], plans: Sequence[Sequence[Window]],
               with_offsets: bool) -> list[Row]:
    """The kept row, then the overflowing rows, of one input (``plans[i]`` slices ``seqs[i]``)."""
    main = Row([], [], [], [], [], [], []) if with_offsets else Row([], [], [], None)
    overflow: list[Row] = []
    for piece in template:
        if piece.token is not None:
            parts = [_token_row(piece.token, piece.type_id, with_offsets)]
        else:
            index: int = piece.sequence  # type: ignore[assignment]
            parts = [_slice_row(seqs[index], w, piece.type_id, index) for w in plans[index]]
        kept, extra = parts[0], parts[1:]
        merged: list[Row] = []
        for row in overflow:
            merged.append(row + kept)
            merged.extend(row + e for e in extra)
        merged.extend(main + e for e in extra)
        main, overflow = main + kept, merged
    return [main, *overflow]


def simple_row(template: Template, seqs: Sequence[list[int]]) -> list[int]:
    """Just the ids of ``template`` around untruncated sequences (the fast path of ``encode``)."""
    out: list[int] = []
    for piece in template:
        if piece.token is not None:
            out.append(piece.token)
        else:
            out.extend(seqs[piece.sequence])  # type: ignore[index]
    return out
