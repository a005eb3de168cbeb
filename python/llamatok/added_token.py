"""``llamatok.AddedToken``: an added token with its matching rules, as ``tokenizers.AddedToken`` has them, so
that ``added_tokens_decoder`` gives what transformers gives without llamatok needing ``tokenizers``.

Two tokens are equal when their content and every rule are (a ``tokenizers.AddedToken`` too), and the
hash goes by the content, as in ``tokenizers``; ``str()`` is the content;
``__getstate__`` is the dict transformers writes to ``tokenizer_config.json``. The constructor takes
transformers' arguments; ``normalized`` left unset is the opposite of ``special``, as in ``tokenizers``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llamatok._native import Tokenizer


class AddedToken:
    """A token added to a vocabulary, matched in text before BPE with these rules (docs/transformers.md,
    "Adding tokens")."""

    __slots__ = ("content", "single_word", "lstrip", "rstrip", "normalized", "special")

    def __init__(self, content: str, single_word: bool = False, lstrip: bool = False, rstrip: bool = False,
                 normalized: bool | None = None, special: bool = False) -> None:
        if not isinstance(content, str):
            raise TypeError(f"an AddedToken's content must be a str, not {type(content).__name__}")
        self.content = content
        self.single_word = bool(single_word)
        self.lstrip = bool(lstrip)
        self.rstrip = bool(rstrip)
        self.special = bool(special)
        self.normalized = (not self.special) if normalized is None else bool(normalized)

    def __getstate__(self) -> dict[str, Any]:
        return {"content": self.content, "single_word": self.single_word, "lstrip": self.lstrip,
                "rstrip": self.rstrip, "normalized": self.normalized, "special": self.special}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, state[name])

    def __eq__(self, other: object) -> bool:
        if not isinstance(getattr(other, "content", None), str):
            return NotImplemented
        return all(getattr(other, name, None) == getattr(self, name) for name in self.__slots__)

    def __hash__(self) -> int:
        return hash(self.content)

    def __str__(self) -> str:
        return self.content

    def __repr__(self) -> str:
        return (f'AddedToken("{self.content}", rstrip={self.rstrip}, lstrip={self.lstrip}, '
                f"single_word={self.single_word}, normalized={self.normalized}, special={self.special})")


def added_tokens_by_id(core: Tokenizer) -> dict[int, AddedToken]:
    """The core's added tokens by id, each with its rules."""
    return {token_id: AddedToken(content, single_word, lstrip, rstrip, normalized, special)
            for token_id, content, special, normalized, lstrip, rstrip, single_word in core.added_vocab}
