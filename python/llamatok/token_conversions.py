"""Tokens (piece strings) to ids and text and back, as transformers' fast class converts them. A mixin
of ``CodeLlamaTokenizerFast``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from llamatok.reference.decode import decode_transformers_tokens
from llamatok.token_ids import ids_arg

if TYPE_CHECKING:
    from llamatok._native import Tokenizer


class TokenConversionsMixin:
    """``convert_tokens_to_ids``, ``convert_ids_to_tokens``, ``convert_tokens_to_string``."""

    _core: Tokenizer
    unk_token_id: int | None

    @property
    def all_special_ids(self) -> list[int]:
        raise NotImplementedError  # the tokenizer's (SpecialTokensMixin comes first)

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | None | list[int | None]:
        """Ids of pieces; a piece not in the vocabulary gives the ``<unk>`` id, as in transformers."""
        if isinstance(tokens, str):
            token_id = self._core.piece_to_id(tokens)
            return self.unk_token_id if token_id is None else token_id
        return [self.convert_tokens_to_ids(t) for t in tokens]  # type: ignore[misc]

    def convert_ids_to_tokens(self, ids: int | Iterable[int], skip_special_tokens: bool = False) -> str | list[str]:
        if isinstance(ids, int):
            return self._core.id_to_piece(ids)
        special = set(self.all_special_ids) if skip_special_tokens else set()
        given = ids_arg(ids)
        if isinstance(given, (str, bytes, bytearray)):
            raise TypeError(f"token ids must be ints or a sequence of ints, not {type(given).__name__}")
        id_list = list(given)
        pieces = [self._core.id_to_piece(i) for i in id_list]  # checks every id, the skipped ones too
        return [p for i, p in zip(id_list, pieces) if i not in special]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """The text of a list of tokens, as transformers' decoder makes it from the strings (``▁`` a space,
        runs of ``<0xXX>`` as UTF-8, one leading space removed): any string may be a token, as
        ``tokenize`` gives some that are not pieces (an added token matched after a space)."""
        if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
            raise TypeError("convert_tokens_to_string takes a list of str")
        return decode_transformers_tokens(list(tokens))
