"""Templates: where ``<s>``, ``</s>`` and the infill tokens go around the encoded sequences (SPEC §4, §5).

A template is a tuple of pieces, each either a token the template adds or one of the call's sequences
(0 = the text or infill prefix, 1 = the pair text or infill suffix), with the token type id it carries.
This is transformers' post-processor, built from the call's arguments instead of stored on the tokenizer.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Tuple


class Piece(NamedTuple):
    token: Optional[int]  # an id the template adds, or None for a sequence
    sequence: Optional[int]  # 0 or 1 for a sequence, None for an added token
    type_id: int = 0


Template = Tuple[Piece, ...]


def _tokens(ids: Sequence[int], type_id: int = 0) -> Tuple[Piece, ...]:
    return tuple(Piece(i, None, type_id) for i in ids)


def _seq(index: int, type_id: int = 0) -> Tuple[Piece, ...]:
    return (Piece(None, index, type_id),)


def single(bos: Sequence[int], eos: Sequence[int]) -> Template:
    """``[<s>] A [</s>]`` (``bos``/``eos`` are empty when their flag is off)."""
    return _tokens(bos) + _seq(0) + _tokens(eos)


def pair(bos: Sequence[int], eos: Sequence[int]) -> Template:
    """``[<s>] A [</s>] [<s>] B [</s>]``, the second half with token type 1."""
    return single(bos, eos) + _tokens(bos, 1) + _seq(1, 1) + _tokens(eos, 1)


def infill(bos: Sequence[int], eos: Sequence[int], pre: int, suf: int, mid: int, suffix_first: bool) -> Template:
    """PSM ``[<s>] ▁<PRE> A ▁<SUF> B ▁<MID> [</s>]`` or SPM ``[<s>] ▁<PRE> ▁<SUF> B ▁<MID> A [</s>]``,
    where A is the prefix and B the suffix; every token has type 0."""
    if suffix_first:
        body = _tokens([pre, suf]) + _seq(1) + _tokens([mid]) + _seq(0)
    else:
        body = _tokens([pre]) + _seq(0) + _tokens([suf]) + _seq(1) + _tokens([mid])
    return _tokens(bos) + body + _tokens(eos)


def added_count(template: Template) -> int:
    """How many tokens the template adds around the sequences."""
    return sum(1 for p in template if p.token is not None)


def sequence_count(template: Template) -> int:
    return len({p.sequence for p in template if p.sequence is not None})
