"""Word and character alignment: which word, sequence and characters every token of a ``BatchEncoding``
row comes from, and transformers' methods that read it (``word_ids()``, ``char_to_token()``, ...).

What a word is, as ``tokenizers`` defines it for Code Llama's ``tokenizer.json`` (which has no
pre-tokenizer):
- for a text, the pieces the added tokens matched in it (special or not) cut it into: the text before a
  match is one word, the match another, the text after it the next (``"a <s>b"`` → words 0, 1, 2); with
  no match (``split_special_tokens=True``) the whole text is word 0;
- for pre-tokenized input (``is_split_into_words=True``), each given word, encoded on its own (with its
  own ``▁`` prefix, as ``tokenizers`` normalizes each word apart), and its offsets count in that word.

A token's text (``tokens()``) is its piece, except for an added token that took in whitespace
(``lstrip``/``rstrip``) or was matched in the normalized text: that is the text it matched, as in
``tokenize()``.

Tokens the template adds (``<s>``, the infill tokens) and padding have no word and no sequence (None).
The methods follow ``tokenizers``' ``Encoding`` (sequence ranges, the scan ``word_to_tokens`` does),
which transformers' ``BatchEncoding`` calls; ``tests/api/test_alignment.py`` compares them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, Optional

if TYPE_CHECKING:
    from llamatok._native import Tokenizer

Offset = tuple[int, int]
WordIds = list[Optional[int]]


class CharSpan(NamedTuple):
    """Characters ``start`` (included) to ``end`` (excluded) of the input text (transformers' class)."""

    start: int
    end: int


class TokenSpan(NamedTuple):
    """Tokens ``start`` (included) to ``end`` (excluded) of a row (transformers' class)."""

    start: int
    end: int


class RowAlignment(NamedTuple):
    """Per token of one row: its piece, its characters, its word and its sequence."""

    tokens: list[str]
    offsets: list[Offset]
    words: WordIds
    sequences: WordIds


def fill_dummy_spans(offsets: list[Offset], length: int) -> list[Offset]:
    """A ``▁`` that llamatok added (the space before an infill prefix, once offsets are shifted back to
    the caller's prefix) and that stays a token of its own covers no character; like ``tokenizers`` does
    for the dummy prefix, give it the span of the character it was put in front of. (A no-op where the
    core already aligns them, as it does for the dummy prefix.)"""
    return [(a, a + 1) if a == b and a < length else (a, b) for a, b in offsets]


def aligned(core: Tokenizer, text: str, mode: str,
            dummy_prefix: bool) -> tuple[list[int], list[Offset], WordIds, list[str | None]]:
    """The ids of one text with their offsets, words (the core numbers them: see the module's docstring)
    and token texts (None where the token is its piece; the text an added token matched otherwise)."""
    ids, offsets, words, matched = core.encode_aligned(text, mode, dummy_prefix)
    texts: list[str | None] = [None] * len(ids)
    for index, token in matched:
        texts[index] = token
    return ids, offsets, list(words), texts


def encode_words(core: Tokenizer, words: Sequence[str],
                 mode: str) -> tuple[list[int], list[Offset], WordIds, list[str | None]]:
    """Pre-tokenized input: every word encoded as a text of its own (dummy prefix included); offsets count
    in each word, and every token carries its word's index."""
    ids: list[int] = []
    offsets: list[Offset] = []
    word_ids: WordIds = []
    texts: list[str | None] = []
    for index, word in enumerate(words):
        if not isinstance(word, str):
            raise TypeError(f"with is_split_into_words=True every word must be a str, not {type(word).__name__}")
        got, spans, _, matched = aligned(core, word, mode, True)
        ids.extend(got)
        offsets.extend(fill_dummy_spans(spans, len(word)))
        word_ids.extend([index] * len(got))
        texts.extend(matched)
    return ids, offsets, word_ids, texts


def encode_each_word(core: Tokenizer, words: Sequence[str], mode: str) -> list[list[int]]:
    """Just the ids of each word of pre-tokenized input (one native batch call for all of them: every
    word of every row of a call)."""
    for word in words:
        if not isinstance(word, str):
            raise TypeError(f"with is_split_into_words=True every word must be a str, not {type(word).__name__}")
    if not words:
        return []
    return core.encode_batch(list(words), mode, True)


def _sequence_range(row: RowAlignment, sequence: int) -> range:
    """The tokens of ``sequence`` (contiguous in every layout), or the whole row when it has none, as
    ``tokenizers`` falls back."""
    where = [n for n, s in enumerate(row.sequences) if s == sequence]
    if not where:
        return range(len(row.tokens))
    return range(where[0], where[-1] + 1)


def _index(value: int, length: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value + length if value < 0 else value


def _natural(value: int, what: str) -> None:
    _index(value, 0, what)
    if value < 0:
        raise ValueError(f"{what} must not be negative, not {value}")


class AlignmentMethods:
    """transformers' alignment methods of ``BatchEncoding``; the class provides ``_alignment_rows()``."""

    _alignment_rows: Callable[[], list[RowAlignment]]

    def _row(self, batch_index: int) -> RowAlignment:
        rows = self._alignment_rows()
        index = _index(batch_index, len(rows), "batch_index")
        if not 0 <= index < len(rows):
            raise IndexError(f"batch index {batch_index} is out of range: this encoding has {len(rows)} rows")
        return rows[index]

    def _split(self, first: int, second: int | None) -> tuple[RowAlignment, int]:
        """transformers' ``(batch_or_x_index, x_index)`` convention: one argument is an index in row 0."""
        if second is None:
            return self._row(0), first
        return self._row(first), second

    def tokens(self, batch_index: int = 0) -> list[str]:
        """The pieces of row ``batch_index`` (special and padding tokens included)."""
        return list(self._row(batch_index).tokens)

    def word_ids(self, batch_index: int = 0) -> WordIds:
        """The word of every token (None for tokens the template or padding adds)."""
        return list(self._row(batch_index).words)

    def words(self, batch_index: int = 0) -> WordIds:
        """``word_ids()``, deprecated in transformers with the same warning."""
        warnings.warn(
            "`BatchEncoding.words()` property is deprecated and should be replaced with the identical, "
            "but more self-explanatory `BatchEncoding.word_ids()` property.",
            FutureWarning,
            stacklevel=2,
        )
        return self.word_ids(batch_index)

    def sequence_ids(self, batch_index: int = 0) -> WordIds:
        """The sequence of every token: 0 for the text or infill prefix, 1 for the infill suffix, None for
        added and padding tokens."""
        return list(self._row(batch_index).sequences)

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        row, token = self._split(batch_or_token_index, token_index)
        token = _index(token, len(row.tokens), "token_index")
        return row.sequences[token] if 0 <= token < len(row.tokens) else None

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        row, token = self._split(batch_or_token_index, token_index)
        token = _index(token, len(row.tokens), "token_index")
        if not 0 <= token < len(row.tokens) or row.sequences[token] is None:
            return None
        return row.words[token]

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> CharSpan | None:
        """The characters of a token in its own sequence's text (None for added and padding tokens)."""
        row, token = self._split(batch_or_token_index, token_index)
        token = _index(token, len(row.tokens), "token_index")
        if not 0 <= token < len(row.tokens) or row.sequences[token] is None:
            return None
        return CharSpan(*row.offsets[token])

    def char_to_token(self, batch_or_char_index: int, char_index: int | None = None,
                      sequence_index: int = 0) -> int | None:
        """The first token of sequence ``sequence_index`` whose characters include ``char_index``."""
        row, char = self._split(batch_or_char_index, char_index)
        _natural(char, "char_index")
        for n in _sequence_range(row, sequence_index):
            start, end = row.offsets[n]
            if start <= char < end:
                return n
        return None

    def char_to_word(self, batch_or_char_index: int, char_index: int | None = None,
                     sequence_index: int = 0) -> int | None:
        row_index, char = (0, batch_or_char_index) if char_index is None else (batch_or_char_index, char_index)
        token = self.char_to_token(row_index, char, sequence_index)
        return None if token is None else self.token_to_word(row_index, token)

    def word_to_tokens(self, batch_or_word_index: int, word_index: int | None = None,
                       sequence_index: int = 0) -> TokenSpan | None:
        """The tokens of a word, scanned as ``tokenizers`` does: over the sequence's tokens, stopping at the
        first token of a later word."""
        row, word = self._split(batch_or_word_index, word_index)
        _natural(word, "word_index")
        span = _sequence_range(row, sequence_index)
        start = end = None
        for n in span:
            w = row.words[n]
            if w is not None and w > word:
                break
            if w == word:
                start = n if start is None else start
                end = n + 1
        return None if start is None or end is None else TokenSpan(start, end)

    def word_to_chars(self, batch_or_word_index: int, word_index: int | None = None,
                      sequence_index: int = 0) -> CharSpan | None:
        """From the first character of the word's first token to the end of its last token."""
        batch, word = (0, batch_or_word_index) if word_index is None else (batch_or_word_index, word_index)
        span = self.word_to_tokens(batch, word, sequence_index)
        if span is None:
            return None
        row = self._row(batch)
        return CharSpan(row.offsets[span.start][0], row.offsets[span.end - 1][1])
