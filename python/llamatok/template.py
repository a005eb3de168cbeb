"""Templates: where ``<s>``, ``</s>`` and the infill tokens go around the encoded sequences
(docs/infill.md).

A template is a tuple of pieces, each either a token the template adds or one of the call's sequences
(0 = the text or infill prefix, 1 = the pair text or infill suffix), with the token type id it carries.
This is transformers' post-processor, built from the call's arguments instead of stored on the tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from llamatok.infill import MID, PRE, PREFIX, SUF, SUFFIX, layout


class Piece(NamedTuple):
    token: int | None  # an id the template adds, or None for a sequence
    sequence: int | None  # 0 or 1 for a sequence, None for an added token
    type_id: int = 0


Template = tuple[Piece, ...]


def _tokens(ids: Sequence[int], type_id: int = 0) -> tuple[Piece, ...]:
    return tuple(Piece(i, None, type_id) for i in ids)


def _seq(index: int, type_id: int = 0) -> tuple[Piece, ...]:
    return (Piece(None, index, type_id),)


def single(bos: Sequence[int], eos: Sequence[int]) -> Template:
    """``[<s>] A [</s>]`` (``bos``/``eos`` are empty when their flag is off)."""
    return _tokens(bos) + _seq(0) + _tokens(eos)


def pair(bos: Sequence[int], eos: Sequence[int]) -> Template:
    """``[<s>] A [</s>] [<s>] B [</s>]``, the second half with token type 1."""
    return single(bos, eos) + _tokens(bos, 1) + _seq(1, 1) + _tokens(eos, 1)


def infill(bos: Sequence[int], eos: Sequence[int], pre: int, suf: int, mid: int, suffix_first: bool) -> Template:
    """``[<s>]`` + the infill layout (``infill.layout``) + ``[</s>]``: PSM ``▁<PRE> A ▁<SUF> B ▁<MID>``
    or SPM ``▁<PRE> ▁<SUF> B ▁<MID> A``, where A (sequence 0) is the prefix and B (sequence 1) the
    suffix; every token has type 0."""
    parts = {PRE: _tokens([pre]), SUF: _tokens([suf]), MID: _tokens([mid]), PREFIX: _seq(0), SUFFIX: _seq(1)}
    body = sum((parts[p] for p in layout(suffix_first)), ())
    return _tokens(bos) + body + _tokens(eos)


def added_count(template: Template) -> int:
    """How many tokens the template adds around the sequences."""
    return sum(1 for p in template if p.token is not None)
