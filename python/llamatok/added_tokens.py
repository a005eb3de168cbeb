"""``add_tokens`` and ``add_special_tokens``: growing the vocabulary as transformers 4.x does.

The core keeps the added vocabulary exactly as ``tokenizers`` keeps it (rust/src/added.rs): new texts get
ids from ``len(tokenizer)`` on, and each token is matched in text before BPE with its ``normalized``,
``lstrip``, ``rstrip`` and ``single_word`` rules. The core is immutable: adding tokens makes a new core,
which the tokenizer swaps in, so a call running on another thread finishes with the vocabulary it
started with. A mixin of ``CodeLlamaTokenizerFast``; this module turns transformers' arguments (strings,
``AddedToken`` objects of ``tokenizers`` or transformers) into the core's tuples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable

from llamatok import loggers
from llamatok.added_token import AddedToken, added_tokens_by_id

if TYPE_CHECKING:
    from llamatok._native import Tokenizer

#: transformers' names of the special tokens ``add_special_tokens`` accepts.
SPECIAL_TOKENS_ATTRIBUTES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                             "mask_token", "additional_special_tokens")

class SpecialTokensError(ValueError, AssertionError):
    """A bad argument to ``add_special_tokens``: a ``ValueError``, and an ``AssertionError`` as transformers
    raises (it checks these with ``assert``)."""


#: ``(content, special, normalized, lstrip, rstrip, single_word)``, as the core takes a token.
TokenTuple = tuple[str, bool, bool, bool, bool, bool]


def token_tuple(token: Any, special: bool | None = None) -> TokenTuple:
    """A token as ``tokenizers`` reads it: a ``str`` is special when ``special`` says so and then not
    normalized (else normalized); an ``AddedToken`` keeps its flags, and ``special=True`` marks it special
    (``tokenizers`` then resolves an unset ``normalized`` to False, which setting ``special`` on the object
    does too, as ``tokenizers`` does to the caller's object)."""
    if isinstance(token, str):
        is_special = bool(special)
        return (token, is_special, not is_special, False, False, False)
    content = getattr(token, "content", None)
    if not isinstance(content, str):
        raise TypeError(f"an added token must be a str or an AddedToken, not {type(token).__name__}")
    if special:
        token.special = True
    return (content, bool(getattr(token, "special", False)), bool(getattr(token, "normalized", True)),
            bool(getattr(token, "lstrip", False)), bool(getattr(token, "rstrip", False)),
            bool(getattr(token, "single_word", False)))


def special_added_token(value: Any) -> Any:
    """What transformers makes of a special token given as a ``str`` to ``add_special_tokens``: a token
    that is special and not normalized; an ``AddedToken`` is used as given."""
    if isinstance(value, str):
        return AddedToken(value, normalized=False, special=True)
    if isinstance(getattr(value, "content", None), str):
        return value
    raise ValueError(f"Token {value} should be a str or an AddedToken instance")


class AddedTokensMixin:
    """``add_tokens``, ``add_special_tokens`` and the views of the added vocabulary."""

    _core: Tokenizer
    _additional_special_tokens: list[str]
    _held: Callable[[], dict[str, Any]]
    _hold_as_in_vocabulary: Callable[[str], None]
    _hold_additional_as_in_vocabulary: Callable[[Sequence[str]], None]

    def add_tokens(self, new_tokens: Any, special_tokens: bool = False) -> int:
        """Adds tokens (``str`` or ``AddedToken``; one or a list) as transformers' fast tokenizers do: a text
        the tokenizer does not have gets the next id, ``len(tokenizer)``; every added token is matched in
        text before BPE. Returns how many were added (a token equal in every flag to one already added is
        not); ``special_tokens=True`` adds them as special (skipped by ``skip_special_tokens``)."""
        if not new_tokens:
            return 0
        if not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]
        tuples = [token_tuple(t, True if special_tokens else None) for t in new_tokens]
        self._core, count = self._core.with_added_tokens(tuples)
        return count

    def add_special_tokens(self, special_tokens_dict: dict[str, Any],
                           replace_additional_special_tokens: bool = True) -> int:
        """Sets special tokens by name (``{"pad_token": "<pad>"}``, ``additional_special_tokens``), adding
        to the vocabulary the ones it does not have, as transformers does. Returns how many tokens were
        added (see ``add_tokens``)."""
        if not special_tokens_dict:
            return 0
        named: dict[str, Any] = {}
        extra: list[Any] | None = None
        added: list[Any] = []
        for key, value in special_tokens_dict.items():
            if key not in SPECIAL_TOKENS_ATTRIBUTES:
                raise SpecialTokensError(f"Key {key} is not a special token; the keys are "
                                         f"{', '.join(SPECIAL_TOKENS_ATTRIBUTES)}")
            if key == "additional_special_tokens":
                if not isinstance(value, (list, tuple)):
                    raise SpecialTokensError(f"Tokens {value} for key {key} should be a list of str or AddedToken "
                                             "instances")
                to_add = [special_added_token(t) for t in value]
                if not replace_additional_special_tokens:
                    to_add = [t for t in to_add if str(t.content) not in self._additional_special_tokens]
                extra = to_add
                added += to_add
            else:
                token = special_added_token(value)
                named[key] = token
                if token not in added:
                    added.append(token)
        count = self.add_tokens(added, special_tokens=True)
        for key, token in named.items():
            setattr(self, key, token.content)
            self._hold_as_in_vocabulary(key)
        if extra is not None:
            texts = [t.content for t in extra]
            if replace_additional_special_tokens and texts:
                self._additional_special_tokens = texts
                self._held()["additional"] = {}
            else:
                self._additional_special_tokens = self._additional_special_tokens + texts
            self._hold_additional_as_in_vocabulary(texts)
            self.__dict__["_additional_unset"] = False
        return count

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        """The added tokens (matched as wholes in text) and their ids, in id order."""
        return {content: token_id for token_id, content, *_ in self._core.added_vocab}

    def get_added_vocab(self) -> dict[str, int]:
        """The added tokens and their ids, as transformers gives them."""
        return self.added_tokens_encoder

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        """The added tokens by id, each an :class:`~llamatok.AddedToken` with its rules (as transformers
        gives ``tokenizers.AddedToken`` objects)."""
        return added_tokens_by_id(self._core)

    @property
    def added_tokens_flags(self) -> dict[int, dict[str, Any]]:
        """Each added token's ``content`` and flags (``special``, ``normalized``, ``lstrip``, ``rstrip``,
        ``single_word``), by id: what transformers writes as ``added_tokens_decoder``."""
        return {token_id: {"content": content, "lstrip": lstrip, "normalized": normalized, "rstrip": rstrip,
                           "single_word": single_word, "special": special}
                for token_id, content, special, normalized, lstrip, rstrip, single_word in self._core.added_vocab}


def matched_pieces(core: Tokenizer, text: str, mode: str) -> list[str] | None:
    """What ``tokenizers`` gives as the tokens of ``text``: the pieces, except that an added token that takes
    in whitespace (``lstrip``/``rstrip``) or is matched in the normalized text is the text it matched. None
    when no added token can differ from its piece (then the pieces are the tokens)."""
    if not any(normalized or lstrip or rstrip for _, _, _, normalized, lstrip, rstrip, _ in core.added_vocab):
        return None
    return [token for _, token in core.encode_tokens(text, mode, True)]


def warn_about_moved_ids(core: Tokenizer, added_tokens_decoder: dict[Any, Any] | None) -> None:
    """Like transformers, a config's ``added_tokens_decoder`` entry gets the next free id, whatever id the
    config names; when the two differ the model's embeddings will not match, so say which."""
    moved = []
    for key, entry in (added_tokens_decoder or {}).items():
        content = entry.get("content") if isinstance(entry, dict) else getattr(entry, "content", entry)
        got = core.piece_to_id(str(content))
        if got is not None and got != int(key):
            moved.append(f"{content!r} {key} -> {got}")
    if moved:
        loggers.OWN.warning(
            "added_tokens_decoder names ids the tokenizer does not give its tokens (they take the next free "
            "ids, as in transformers): %s; check that the config belongs to this tokenizer file", ", ".join(moved))


def config_tokens_to_add(core: Tokenizer, added_tokens_decoder: dict[Any, Any] | None,
                         special_tokens: Sequence[Any]) -> list[TokenTuple]:
    """The tokens transformers' constructor adds: the config's ``added_tokens_decoder`` entries that the
    tokenizer does not already have with the same flags (in id order), then the special tokens it has not
    added (as special, not normalized, unless given as an ``AddedToken``)."""
    current = {(content, special, normalized, lstrip, rstrip, single_word)
               for _, content, special, normalized, lstrip, rstrip, single_word in core.added_vocab}
    out: list[TokenTuple] = []
    for _, entry in sorted((added_tokens_decoder or {}).items(), key=lambda kv: int(kv[0])):
        if isinstance(entry, dict):
            special = bool(entry.get("special", False))
            t: TokenTuple = (str(entry["content"]), special, bool(entry.get("normalized", not special)),
                             bool(entry.get("lstrip", False)), bool(entry.get("rstrip", False)),
                             bool(entry.get("single_word", False)))
        else:
            t = token_tuple(entry)
        if t not in current and t not in out:
            out.append(t)
    known = {content for _, content, *_ in core.added_vocab} | {t[0] for t in out}
    for token in special_tokens:
        content = token if isinstance(token, str) else getattr(token, "content", None)
        if content is None or content in known:
            continue
        if isinstance(token, str):
            out.append((token, True, False, False, False, False))
        else:
            token.special = True
            out.append(token_tuple(token))
        known.add(content)
    return out
