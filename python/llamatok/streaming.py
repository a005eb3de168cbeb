"""Streaming decoding for generation loops: feed ids one at a time, get each piece of text as soon as
no later id can change it.

Decoding one id at a time loses the spaces and splits characters that byte fallback spreads over several
ids. ``StreamingDecoder`` holds back exactly what is not final yet:

- a run of byte pieces (``<0xF0>`` ``<0x9F>`` ...) until a non-byte id ends it (a special token skipped
  with ``skip_special_tokens`` does not end it: it is dropped before decoding); in the transformers style
  one invalid byte turns the whole run into U+FFFD characters, so no byte of a run is final before the run
  ends; in the sentencepiece style each complete character, and each byte that cannot begin one (one
  U+FFFD), is emitted at once, so at most the three bytes of an unfinished character are held back;
- the leading-space rule (the first text-producing piece loses one leading space), decided by the first
  id that produces text.

Everything else is emitted immediately, and the concatenation of what ``step`` and ``finish`` return is
exactly ``decode(all ids)`` with the same options (``clean_up_tokenization_spaces`` aside, which is not
applied: it looks across pieces).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llamatok._native import Tokenizer

from llamatok.token_ids import one_id


class StreamingDecoder:
    """Incremental decoder; get one from ``CodeLlamaTokenizerFast.decode_stream()``. Not thread-safe:
    use one per generation (they are cheap)."""

    def __init__(self, core: Tokenizer, byte_values: dict[int, int], anchor: int, style: str = "transformers",
                 skip_special_tokens: bool = False) -> None:
        if style not in ("transformers", "sentencepiece"):
            raise ValueError(f"style must be 'transformers' or 'sentencepiece', not {style!r}")
        self._core = core
        self._bytes = byte_values
        self._anchor = anchor
        self._anchor_text = core.decode([anchor], style, False)
        self._style = style
        self._skip = skip_special_tokens
        self._vocab_size = len(core)
        # Skipped special tokens vanish before decoding, so they do not end a byte run.
        self._skipped = (frozenset(i for i, _, special, *_ in core.added_vocab if special) if skip_special_tokens
                         else frozenset())
        self._pending: list[int] = []
        self._started = False
        self._parts: list[str] = []

    @property
    def text(self) -> str:
        """All text emitted so far."""
        return "".join(self._parts)

    @property
    def pending_ids(self) -> list[int]:
        """Ids received whose text is not final yet (an unfinished byte run)."""
        return list(self._pending)

    def step(self, token_id: int) -> str:
        """Adds one id; returns the text that became final ("" if none)."""
        token_id = one_id(token_id)
        if not 0 <= token_id < self._vocab_size:
            from llamatok._native import TokenIdError

            raise TokenIdError(f"id {token_id} is out of range: the vocabulary has {self._vocab_size} ids")
        self._pending.append(token_id)
        if token_id not in self._bytes and token_id not in self._skipped:
            return self._commit(len(self._pending))
        if self._style == "sentencepiece":
            return self._commit(self._final_ids())
        if len(self._pending) == 1 and token_id in self._skipped:
            return self._commit(1)  # a skipped special outside a byte run: final, and nothing piles up
        return ""

    def extend(self, token_ids: Iterable[int]) -> str:
        """Adds several ids; returns the text that became final."""
        return "".join(self.step(i) for i in token_ids)

    def finish(self) -> str:
        """Ends the stream: returns the held-back text (an unfinished byte run decodes as decode would)."""
        return self._commit(len(self._pending))

    def _final_ids(self) -> int:
        """How many pending ids (bytes and skipped specials: anything else was committed) have final text.
        Bytes are read as sentencepiece decodes them, left to right: a complete valid character, or one
        U+FFFD for a byte that does not begin one, is final; a character still missing bytes stops the
        scan. So the work per id is bounded and nothing piles up (a run of invalid bytes was quadratic)."""
        positions = [n for n, i in enumerate(self._pending) if i in self._bytes]
        data = bytes(self._bytes[self._pending[n]] for n in positions)
        at = 0
        while at < len(data):
            need = _char_length(data[at])
            if need == 0:
                at += 1  # not a lead byte: one U+FFFD
            elif at + need > len(data):
                break  # may still become a character
            else:
                try:
                    data[at:at + need].decode("utf-8")
                    at += need
                except UnicodeDecodeError:
                    at += 1  # a bad sequence: its first byte is one U+FFFD, the scan goes on after it
        if at == len(data):
            return len(self._pending)  # nothing held: trailing skipped specials are final too
        return positions[at - 1] + 1 if at else 0

    def _commit(self, n: int) -> str:
        if n == 0:
            return ""
        chunk, self._pending = self._pending[:n], self._pending[n:]
        # The anchor (a plain piece) in front makes the chunk decode as it does inside a longer text.
        raw = self._core.decode([self._anchor, *chunk], self._style, self._skip)[len(self._anchor_text):]
        if not self._started:
            if not raw:
                return ""
            self._started = True
            raw = self._core.decode(chunk, self._style, self._skip)  # with the leading-space rule
        self._parts.append(raw)
        return raw


def _char_length(lead: int) -> int:
    """The length of the UTF-8 character a byte begins, as sentencepiece's decoder reads it (0: none)."""
    if lead < 0x80:
        return 1
    if 0xC0 <= lead < 0xE0:
        return 2
    if 0xE0 <= lead < 0xF0:
        return 3
    if 0xF0 <= lead < 0xF8:
        return 4
    return 0


def byte_values(pieces: Iterable[tuple[str, float, str]]) -> dict[int, int]:
    """``{id: byte}`` for the byte-fallback pieces ``<0x00>``..``<0xFF>``."""
    return {i: int(text[3:5], 16) for i, (text, _, kind) in enumerate(pieces) if kind == "byte"}


def anchor_id(pieces: list[tuple[str, float, str]]) -> int | None:
    """A plain piece without ``▁`` to decode in front of a chunk (None if the vocabulary has none)."""
    for i, (text, _, kind) in enumerate(pieces):
        if kind == "normal" and text and "\u2581" not in text and text.isascii() and text.isalnum():
            return i
    return None
