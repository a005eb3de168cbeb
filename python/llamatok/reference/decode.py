"""Decoding ids back to text, in sentencepiece's style and in transformers' style.

``sentencepiece`` (``SentencePieceProcessor::Decode``)
    - A control piece (``<s>``, ``</s>``) gives nothing.
    - ``<unk>`` gives the model's ``unk_surface``, ``" ⁇ "`` by default.
    - Any other piece gives its text with every ``▁`` turned into a space, except that the first piece
      of this kind loses one leading ``▁`` if nothing has been output before it (this undoes the dummy
      prefix; only when the model adds one or removes extra whitespace). Once a piece has lost its
      ``▁`` or any text has been output, no later piece loses one: ``[▁, ▁Hello]`` -> ``" Hello"``.
      (With ``remove_extra_whitespaces``, every piece loses one leading ``▁`` until some text is out.)
    - A run of byte pieces is decoded as UTF-8 one character at a time: a well-formed character is
      kept, and each byte that does not start a well-formed character gives one U+FFFD.
      ``F0 9F 98 80 E2`` -> ``"😀\\ufffd"``. Bytes never lose a leading space: ``<0x20>`` -> ``" "``.

``transformers`` (4.x ``CodeLlamaTokenizerFast``: the ``tokenizer.json`` decoder chain
``Replace(▁ -> " ")``, ``ByteFallback``, ``Fuse``, ``Strip(" ", 1, 0)``)
    - Every token gives its text with ``▁`` turned into a space, special tokens included:
      ``<s>`` stays ``"<s>"``, ``<unk>`` stays ``"<unk>"``, ``▁<PRE>`` gives ``" <PRE>"``.
    - A run of ``<0xXX>`` tokens is decoded as UTF-8 as a whole; if any byte of the run is invalid,
      every byte of the run gives one U+FFFD: ``F0 9F 98 80 E2`` -> five U+FFFD.
    - Everything is joined, then ONE leading space is removed from the whole string, whichever token
      produced it: ``[<0x20>]`` -> ``""``; ``[<s>, ▁Hello]`` -> ``"<s> Hello"``.

``skip_special_tokens`` removes the special tokens' ids before decoding, in both styles (so a byte run
on both sides of a removed token is one run, as in ``tokenizers``).
"""

from __future__ import annotations

from typing import cast

from .pieces import BYTE, CONTROL, SPACE_SYMBOL, UNKNOWN, hf_byte_value, sentencepiece_byte_value


def decode_sentencepiece(
    pieces: list[tuple[str, float, str]],
    ids: list[int],
    *,
    unk_surface: str,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
) -> str:
    out: list[str] = []
    pending_bytes = bytearray()
    may_strip = add_dummy_prefix or remove_extra_whitespaces  # may the next piece lose a leading "▁"?
    previous_stripped = False
    for i in ids:
        text, _score, kind = pieces[i]
        if kind == BYTE:
            # The readers check that every BYTE piece is named <0xXX>, so this is never None.
            pending_bytes.append(cast(int, sentencepiece_byte_value(text)))
            continue
        out.append(_decode_utf8_per_character(pending_bytes))
        pending_bytes.clear()
        if previous_stripped or any(out):
            may_strip = False
        previous_stripped = False
        if kind == CONTROL:
            continue
        if kind == UNKNOWN:
            out.append(unk_surface)
            continue
        if may_strip and text.startswith(SPACE_SYMBOL):
            text = text[1:]
            # Without extra whitespace removal only one "▁" is taken off; with it, sentencepiece
            # goes on taking one off each following piece until some text has been output.
            previous_stripped = not remove_extra_whitespaces
        out.append(text.replace(SPACE_SYMBOL, " "))
    out.append(_decode_utf8_per_character(pending_bytes))
    return "".join(out)


def decode_transformers(pieces: list[tuple[str, float, str]], ids: list[int]) -> str:
    return decode_transformers_tokens([pieces[i][0] for i in ids])


def decode_transformers_tokens(tokens: list[str]) -> str:
    """The decoder's chain on token strings, which it reads without looking them up: also what
    transformers' ``convert_tokens_to_string`` gives for strings that are no piece."""
    out: list[str] = []
    pending_bytes = bytearray()
    for text in tokens:
        byte = hf_byte_value(text)
        if byte is not None:
            pending_bytes.append(byte)
            continue
        out.append(_decode_utf8_whole_run(pending_bytes))
        pending_bytes.clear()
        out.append(text.replace(SPACE_SYMBOL, " "))
    out.append(_decode_utf8_whole_run(pending_bytes))
    joined = "".join(out)
    return joined[1:] if joined.startswith(" ") else joined


def _decode_utf8_per_character(data: bytes | bytearray) -> str:
    """sentencepiece: one well-formed character at a time; a byte that starts none gives one U+FFFD."""
    out = []
    i = 0
    while i < len(data):
        char = _character_at(data, i)
        if char is None:
            out.append("\ufffd")
            i += 1
        else:
            out.append(char)
            i += len(char.encode("utf-8"))
    return "".join(out)


def _character_at(data: bytes | bytearray, i: int) -> str | None:
    """The well-formed UTF-8 character starting at ``data[i]``, or None."""
    length = _utf8_length_from_lead_byte(data[i])
    if length == 0 or i + length > len(data):
        return None
    try:
        return bytes(data[i : i + length]).decode("utf-8")  # strict: rejects overlong forms and surrogates
    except UnicodeDecodeError:
        return None


def _utf8_length_from_lead_byte(byte: int) -> int:
    """How long a UTF-8 sequence starting with ``byte`` would be (0: it cannot start one)."""
    if byte < 0x80:
        return 1
    if 0xC0 <= byte < 0xE0:
        return 2
    if 0xE0 <= byte < 0xF0:
        return 3
    if 0xF0 <= byte < 0xF8:
        return 4
    return 0


def _decode_utf8_whole_run(data: bytes | bytearray) -> str:
    """``tokenizers``' ByteFallback: the run as UTF-8, or one U+FFFD per byte if it is not valid."""
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return "\ufffd" * len(data)
