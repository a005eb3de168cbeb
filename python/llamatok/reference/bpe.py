"""The BPE merge loops: sentencepiece's (by piece score) and Hugging Face's (by merge rank).

Both take normalized text and return ids. Both are the same simple loop: start from one symbol per
character, then repeatedly merge the best adjacent pair until no pair can be merged. They differ in
what "can be merged" and "best" mean:

sentencepiece (``bpe::Model::SampleEncode`` without dropout)
  Two adjacent symbols can be merged when their concatenation is a *mergeable* piece (normal,
  user-defined or unused). The best pair is the one whose piece has the HIGHEST score; among equal
  scores, the LEFTMOST. (sentencepiece keeps a heap ordered by (score, -position) and skips stale
  entries; scanning every pair each time picks the same pair.) User-defined pieces are cut out whole
  before merging (longest match first) and never merged further. An unused piece that comes out of the
  loop is split back into the two symbols it was last seen formed from, recursively.
  Then each final symbol gives its id (sentencepiece looks reserved pieces up first). A symbol that is
  no piece is unknown, and so is an unused piece that could not be split back (a single character):
  with byte fallback it becomes one ``<0xXX>`` id per UTF-8 byte, otherwise ``<unk>``, and
  consecutive unknown symbols give a single ``<unk>``.

Hugging Face (``tokenizers`` ``BPE``, ``Word::merge_all`` without dropout)
  Each character is looked up in the vocabulary; one that is missing becomes its byte pieces (byte
  fallback) or ``<unk>`` (with ``fuse_unk``, consecutive unknown characters give one ``<unk>``).
  Two adjacent symbols can be merged when the merge list has exactly that pair; the best pair is the
  one with the LOWEST rank (earliest in the list); equal ranks mean the same pair, and the LEFTMOST goes
  first.

Cutting the text into chunks (exact only under a condition, checked when the model is loaded)
  Merging is quadratic in the length of what is merged, so the text is first cut before every run of
  ``▁`` that follows another character (``"▁▁a▁b"`` -> ``"▁▁a"``, ``"▁b"``), and each chunk is merged
  alone. This changes nothing when no piece that a merge can produce contains a ``▁`` right after
  another character: then no merge can ever join the two sides of a cut, and the choices made on one
  side never depend on the other (ties are broken by position, and positions keep their order).
  It must not be cut before EVERY ``▁``: ``"▁▁▁x"`` has to give ``▁▁`` ``▁x``, which needs the whole
  run. sentencepiece also needs the model to have no unused piece (the record of how an unused piece
  was formed is shared by the whole text) and the whitespace symbol to be ``▁``; Hugging Face needs
  ``▁`` to be in the vocabulary (so it is never part of a run of unknown characters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

from .pieces import MERGEABLE_KINDS, SPACE_SYMBOL, UNKNOWN, UNUSED, USER_DEFINED, byte_piece


def split_before_space_runs(normalized: str) -> list[str]:
    """Cuts before each run of ``▁`` that follows a non-``▁`` character: chunks look like ``▁*[^▁]*``."""
    chunks = []
    start = 0
    for i in range(1, len(normalized)):
        if normalized[i] == SPACE_SYMBOL and normalized[i - 1] != SPACE_SYMBOL:
            chunks.append(normalized[start:i])
            start = i
    chunks.append(normalized[start:])
    return chunks


def has_space_after_other_char(pieces: Iterable[str]) -> bool:
    """Whether some piece has a ``▁`` right after a character that is not ``▁``."""
    return any(
        text[i] == SPACE_SYMBOL and text[i - 1] != SPACE_SYMBOL
        for text in pieces
        for i in range(1, len(text))
    )


class SentencePieceBpe:
    """sentencepiece's BPE encoding of normalized text."""

    def __init__(
        self,
        pieces: list[tuple[str, float, str]],
        *,
        byte_fallback: bool,
        whitespace_is_escaped: bool,
    ) -> None:
        self.pieces = pieces
        self.byte_fallback = byte_fallback
        # sentencepiece keeps two maps; a lookup by text tries the reserved one first.
        self.mergeable: dict[str, int] = {}
        self.reserved: dict[str, int] = {}
        for i, (text, _score, kind) in enumerate(pieces):
            (self.mergeable if kind in MERGEABLE_KINDS else self.reserved)[text] = i
        self.unk_id = next(i for i, (_t, _s, kind) in enumerate(pieces) if kind == UNKNOWN)
        self.user_defined = {text for text, _s, kind in pieces if kind == USER_DEFINED}
        self.longest_user_defined = max((len(t) for t in self.user_defined), default=0)
        has_unused = any(kind == UNUSED for _t, _s, kind in pieces)
        self.cut_before_space_runs = (
            whitespace_is_escaped and not has_unused and not has_space_after_other_char(self.mergeable)
        )

    def piece_to_id(self, text: str) -> int:
        """sentencepiece's ``PieceToId``: reserved pieces first, then mergeable ones, else ``<unk>``."""
        if text in self.reserved:
            return self.reserved[text]
        return self.mergeable.get(text, self.unk_id)

    def encode(self, normalized: str) -> list[int]:
        chunks = split_before_space_runs(normalized) if self.cut_before_space_runs else [normalized]
        final_symbols: list[str] = []
        for chunk in chunks:
            final_symbols.extend(self.merge(chunk))
        return self.symbols_to_ids(final_symbols)

    def initial_symbols(self, text: str) -> list[tuple[str, bool]]:
        """One symbol per character, except that user-defined pieces are cut out whole and frozen."""
        symbols = []
        i = 0
        while i < len(text):
            length = 1
            for candidate in range(min(self.longest_user_defined, len(text) - i), 1, -1):
                if text[i : i + candidate] in self.user_defined:
                    length = candidate
                    break
            frozen = length > 1 or text[i] in self.user_defined
            symbols.append((text[i : i + length], frozen))
            i += length
        return symbols

    def merge(self, text: str) -> list[str]:
        """The merge loop on one chunk; returns the final symbols, unused pieces split back."""
        initial = self.initial_symbols(text)
        symbols = [s for s, _ in initial]
        frozen = [f for _, f in initial]
        # For each unused piece: the two symbols it was most recently seen formed from. sentencepiece
        # records this whenever a pair becomes adjacent, merged or not, and uses the last record.
        halves_of_unused: dict[str, tuple[str, str]] = {}

        def score_of_pair(i: int) -> float | None:
            if frozen[i] or frozen[i + 1]:
                return None
            merged = symbols[i] + symbols[i + 1]
            piece_id = self.mergeable.get(merged)
            if piece_id is None:
                return None
            if self.pieces[piece_id][2] == UNUSED:
                halves_of_unused[merged] = (symbols[i], symbols[i + 1])
            return self.pieces[piece_id][1]

        # scores[i] belongs to the pair (symbols[i], symbols[i + 1]); None = cannot merge.
        scores = [score_of_pair(i) for i in range(len(symbols) - 1)]
        while True:
            best: int | None = None
            best_score = 0.0
            for i, score in enumerate(scores):
                if score is not None and (best is None or score > best_score):
                    best, best_score = i, score  # strictly greater: on a tie the leftmost pair stays the best
            if best is None:
                break
            symbols[best : best + 2] = [symbols[best] + symbols[best + 1]]
            frozen[best : best + 2] = [False]
            del scores[best]
            # The merged symbol has new neighbours: re-rate its pair with the left one, then the right.
            if best > 0:
                scores[best - 1] = score_of_pair(best - 1)
            if best < len(scores):
                scores[best] = score_of_pair(best)

        def split_unused(symbol: str) -> list[str]:
            piece_id = self.piece_to_id(symbol)
            if self.pieces[piece_id][2] != UNUSED or symbol not in halves_of_unused:
                return [symbol]
            left, right = halves_of_unused[symbol]
            return split_unused(left) + split_unused(right)

        return [piece for symbol in symbols for piece in split_unused(symbol)]

    def symbols_to_ids(self, symbols: list[str]) -> list[int]:
        ids: list[int] = []
        previous_was_unknown = False
        for symbol in symbols:
            piece_id = self.piece_to_id(symbol)
            # An unused piece still here could not be split back (a single character): sentencepiece
            # 0.2.3 treats it as unknown.
            is_unknown = self.pieces[piece_id][2] in (UNKNOWN, UNUSED)
            if is_unknown and self.byte_fallback:
                ids.extend(self.piece_to_id(byte_piece(b)) for b in symbol.encode("utf-8"))
            elif not (is_unknown and previous_was_unknown):
                ids.append(piece_id)
            previous_was_unknown = is_unknown
        return ids


class HuggingFaceBpe:
    """``tokenizers``' BPE encoding of one normalized word (Llama has no pre-tokenizer)."""

    def __init__(
        self,
        vocab: dict[str, int],
        merges: dict[tuple[int, int], tuple[int, int]],
        *,
        unk_id: int | None,
        byte_fallback: bool,
        fuse_unk: bool,
        id_to_text: Callable[[int], str],
    ) -> None:
        self.vocab = vocab
        self.merges = merges
        self.unk_id = unk_id
        self.byte_fallback = byte_fallback
        self.fuse_unk = fuse_unk
        merged_pieces = (id_to_text(merged) for _rank, merged in merges.values())
        self.cut_before_space_runs = SPACE_SYMBOL in vocab and not has_space_after_other_char(merged_pieces)

    def encode(self, normalized: str) -> list[int]:
        chunks = split_before_space_runs(normalized) if self.cut_before_space_runs else [normalized]
        ids: list[int] = []
        for chunk in chunks:
            ids.extend(self.merge(self.initial_symbols(chunk)))
        return ids

    def initial_symbols(self, text: str) -> list[int]:
        """``BPE::merge_word`` before merging: a vocabulary id per character, else bytes, else ``<unk>``."""
        symbols: list[int] = []
        previous_was_unknown = False
        for char in text:
            if char in self.vocab:
                symbols.append(self.vocab[char])
                previous_was_unknown = False
            elif self.byte_fallback:  # the reader made sure all 256 byte pieces exist
                symbols.extend(self.vocab[byte_piece(b)] for b in char.encode("utf-8"))
                previous_was_unknown = False
            else:  # the reader made sure there is an unk token when there is no byte fallback
                if not (self.fuse_unk and previous_was_unknown):
                    symbols.append(cast(int, self.unk_id))
                previous_was_unknown = True
        return symbols

    def merge(self, symbols: list[int]) -> list[int]:
        """The merge loop: lowest rank first, leftmost on a tie."""
        symbols = list(symbols)

        def rank_of_pair(i: int) -> int | None:
            found = self.merges.get((symbols[i], symbols[i + 1]))
            return None if found is None else found[0]

        ranks = [rank_of_pair(i) for i in range(len(symbols) - 1)]
        while True:
            best: int | None = None
            best_rank = 0
            for i, rank in enumerate(ranks):
                if rank is not None and (best is None or rank < best_rank):
                    best, best_rank = i, rank
            if best is None:
                return symbols
            symbols[best : best + 2] = [self.merges[(symbols[best], symbols[best + 1])][1]]
            del ranks[best]
            if best > 0:
                ranks[best - 1] = rank_of_pair(best - 1)
            if best < len(ranks):
                ranks[best] = rank_of_pair(best)
