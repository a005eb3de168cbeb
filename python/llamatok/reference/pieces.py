"""What both model readers produce: the vocabulary as a list of pieces, and the byte-piece names.

A piece is a ``(text, score, kind)`` tuple; its id is its index in the list. The kinds are SentencePiece's
piece types, spelled in lower case:

- ``normal``: an ordinary piece, produced by merging.
- ``unknown``: ``<unk>``, emitted for a character that has no piece when there is no byte fallback.
- ``control``: ``<s>``, ``</s>``; never produced by merging, invisible when decoded by sentencepiece.
- ``user_defined``: a piece the trainer was told to keep whole; sentencepiece never splits it.
- ``unused``: a piece that may be formed while merging but is then split back into its two halves.
- ``byte``: ``<0x00>`` .. ``<0xFF>``, one UTF-8 byte each (byte fallback).
"""

from __future__ import annotations

NORMAL = "normal"
UNKNOWN = "unknown"
CONTROL = "control"
USER_DEFINED = "user_defined"
UNUSED = "unused"
BYTE = "byte"

# Kinds whose text can be the result of a merge (sentencepiece's `pieces_` map; everything else is
# "reserved" and is only ever produced directly, by id).
MERGEABLE_KINDS = frozenset({NORMAL, USER_DEFINED, UNUSED})

# SentencePiece writes U+2581 LOWER ONE EIGHTH BLOCK where the text had a space.
SPACE_SYMBOL = "\u2581"


def byte_piece(byte: int) -> str:
    """The name of the byte piece for ``byte``: ``<0x0A>`` (two upper-case hex digits)."""
    return f"<0x{byte:02X}>"


def sentencepiece_byte_value(text: str) -> int | None:
    """The byte a piece named exactly like ``byte_piece`` stands for, else None (sentencepiece's rule)."""
    if len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
        digits = text[3:5]
        if all(c in "0123456789ABCDEF" for c in digits):
            return int(digits, 16)
    return None


def hf_byte_value(text: str) -> int | None:
    """The byte value HF's ``ByteFallback`` decoder sees in a token, else None.

    Its test is looser than sentencepiece's: six characters, ``<0x`` ... ``>``, and two hex digits in
    either case, or a ``+`` and one (Rust's ``u8::from_str_radix`` takes a leading ``+``: no vocabulary
    has such a piece, but ``convert_tokens_to_string`` takes any string).
    """
    if len(text) != 6 or not text.startswith("<0x") or not text.endswith(">"):
        return None
    digits = text[3:5].removeprefix("+")
    if digits and all(c in "0123456789abcdefABCDEF" for c in digits):
        return int(digits, 16)
    return None
