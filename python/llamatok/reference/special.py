"""Special-token text inside the input: the three modes.

``literal`` (what sentencepiece does; the safe choice for training data)
    Special-token text is ordinary text: ``"<s>"`` gives ``▁<``, ``s``, ``>``. The dummy ``▁`` is
    prepended once, to the whole text.

``legacy`` (transformers 4.x ``CodeLlamaTokenizerFast`` with the Hub's ``tokenizer.json``)
    The special-token strings are found in the raw text, leftmost first and, among those starting at
    the same place, longest first (``tokenizers``' added vocabulary uses Aho-Corasick LeftmostLongest).
    Each one gives its id. Every text segment between them is encoded on its own, with its own dummy
    ``▁``; an empty segment gives nothing. ``"Hello <s>."`` -> ``▁Hello ▁ <s> ▁.`` =
    ``[15043, 29871, 1, 869]``; ``"<s>Hello"`` -> ``[1, 15043]``.

``non_legacy`` (transformers 4.57 ``LlamaTokenizer(legacy=False)``, the slow sentencepiece-backed
tokenizer; ``CodeLlamaTokenizer`` does the same)
    1. Empty text gives nothing.
    2. Every ``▁`` in the text becomes a space (``LlamaTokenizer.tokenize``), so a special token that
       contains ``▁`` (Code Llama's ``▁<PRE>``) is never found where the user wrote it with ``▁``.
    3. Unless ``dummy_prefix`` is off (``add_prefix_space=False``), one ``▁`` is put in front of the
       text. It takes part in the search of step 4: ``"<PRE> x"`` is found as ``▁<PRE>``.
    4. The special tokens are found as in ``legacy`` (transformers' ``Trie.split``; with the Llama
       tokens, which cannot overlap one another, it finds the same matches).
    5. Each text segment is encoded with NO dummy prefix. A segment starting with a space or ``▁`` is
       encoded as ``"<unk>" + segment`` and the ids of ``"<unk>"`` are dropped again (transformers'
       trick to keep sentencepiece from touching leading whitespace; for Llama, whose normalizer keeps
       whitespace, it gives the same ids as encoding the segment alone).
    6. If the result has more than one token, its first token is the piece ``▁`` and its second is a
       special token, the ``▁`` is dropped: a text that starts with a special token gets no dummy
       prefix.
    So the only dummy ``▁`` is the one at the very start, and text right after a special token gets
    none: ``"Hello <s>."`` -> ``▁Hello ▁ <s> .`` = ``[15043, 29871, 1, 29889]``;
    ``"<s>Hello"`` -> ``<s> Hello`` = ``[1, 10994]``; ``"<s> Hello"`` -> ``[1, 15043]``;
    ``"a </s> b"`` -> ``▁a ▁ </s> ▁b``; ``"\\n<s>"`` -> ``▁ <0x0A> <s>`` (the ``▁`` stays: the first
    token after it is not special).
"""

from __future__ import annotations

from collections.abc import Callable

from .pieces import SPACE_SYMBOL

# encode_text(text, add_dummy_prefix) -> ids: the plain-text encoder of the tokenizer.
EncodeText = Callable[[str, bool], list[int]]


def split_on_special_tokens(text: str, special_tokens: dict[str, int]) -> list[str | int]:
    """Cuts ``text`` at special-token strings: non-empty text segments (str) and special ids (int).

    Leftmost match first; among matches starting at the same character, the longest.
    """
    first_chars = {token[0] for token in special_tokens}
    parts: list[str | int] = []
    segment_start = 0
    i = 0
    while i < len(text):
        match = None
        if text[i] in first_chars:
            for token in special_tokens:
                if text.startswith(token, i) and (match is None or len(token) > len(match)):
                    match = token
        if match is None:
            i += 1
            continue
        if segment_start < i:
            parts.append(text[segment_start:i])
        parts.append(special_tokens[match])
        i += len(match)
        segment_start = i
    if segment_start < len(text):
        parts.append(text[segment_start:])
    return parts


def encode_literal(text: str, dummy_prefix: bool, encode_text: EncodeText) -> list[int]:
    return encode_text(text, dummy_prefix)


def encode_legacy(
    text: str, dummy_prefix: bool, special_tokens: dict[str, int], encode_text: EncodeText
) -> list[int]:
    ids: list[int] = []
    for part in split_on_special_tokens(text, special_tokens):
        if isinstance(part, int):
            ids.append(part)
        else:
            ids.extend(encode_text(part, dummy_prefix))
    return ids


def encode_non_legacy(
    text: str,
    dummy_prefix: bool,
    special_tokens: dict[str, int],
    encode_text: EncodeText,
    unk_piece: str | None,
    space_piece_id: int | None,
) -> list[int]:
    """transformers' ``LlamaTokenizer.tokenize`` with ``legacy=False``; see the module docstring."""
    if not text:
        return []
    text = text.replace(SPACE_SYMBOL, " ")
    if dummy_prefix:
        text = SPACE_SYMBOL + text
    tokens: list[tuple[int, bool]] = []  # (id, is a special token)
    for part in split_on_special_tokens(text, special_tokens):
        if isinstance(part, int):
            tokens.append((part, True))
        else:
            tokens.extend((i, False) for i in _encode_segment_without_prefix(part, encode_text, unk_piece))
    if len(tokens) > 1 and tokens[0] == (space_piece_id, False) and tokens[1][1]:
        tokens = tokens[1:]
    return [i for i, _special in tokens]


def _encode_segment_without_prefix(segment: str, encode_text: EncodeText, unk_piece: str | None) -> list[int]:
    """``LlamaTokenizer._tokenize`` with ``legacy=False``."""
    if unk_piece is None or not segment.startswith((SPACE_SYMBOL, " ")):
        return encode_text(segment, False)
    unk_length = len(encode_text(unk_piece, False))
    ids = encode_text(unk_piece + segment, False)
    return ids[unk_length:] if len(ids) >= unk_length else ids
