"""The special tokens of ``CodeLlamaTokenizerFast``: their names and ids, the BOS/EOS flags and
the templates they make (docs/infill.md, "Templates"), as transformers 4.x exposes them.

A mixin of ``CodeLlamaTokenizerFast``, kept apart so that each file has one job: it reads the
tokenizer's core (``self._core``) and token attributes, and builds the frozen :class:`CallSettings`
the encoding helpers take.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, cast, overload

from llamatok.added_token import AddedToken, added_tokens_by_id
from llamatok.rows import simple_row
from llamatok.settings import CallSettings, token_text
from llamatok.template import pair, single

if TYPE_CHECKING:
    from llamatok._native import Tokenizer


def _added_token_copy(value: Any) -> AddedToken | None:
    """A ``tokenizers`` or llamatok ``AddedToken`` as a llamatok one; None for anything else."""
    if isinstance(value, str) or not isinstance(getattr(value, "content", None), str):
        return None
    return AddedToken(value.content, value.single_word, value.lstrip, value.rstrip, value.normalized, value.special)


class NamedToken:
    """A named special token of the tokenizer (``tok.pad_token``), kept in ``_<name>``: set from a string or
    an ``AddedToken``; one ``in_vocabulary`` must be a token of the vocabulary when set."""

    def __init__(self, in_vocabulary: bool) -> None:
        self.in_vocabulary = in_vocabulary

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.slot = name, "_" + name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> NamedToken: ...
    @overload
    def __get__(self, obj: SpecialTokensMixin, owner: type | None = None) -> str | None: ...
    def __get__(self, obj: SpecialTokensMixin | None, owner: type | None = None) -> NamedToken | str | None:
        return self if obj is None else cast("str | None", getattr(obj, self.slot))

    def __set__(self, obj: SpecialTokensMixin, value: Any) -> None:
        token = obj._checked(self.name, value) if self.in_vocabulary else token_text(value)
        setattr(obj, self.slot, token)
        obj._as_given(self.name, value)


class NamedTokenId:
    """The id of a named special token (``tok.pad_token_id``); setting it sets the token to that id's piece
    (ints only, as transformers: a ``TokenIdError`` past the vocabulary)."""

    def __init__(self, token: str) -> None:
        self.token = token

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> NamedTokenId: ...
    @overload
    def __get__(self, obj: SpecialTokensMixin, owner: type | None = None) -> int | None: ...
    def __get__(self, obj: SpecialTokensMixin | None, owner: type | None = None) -> NamedTokenId | int | None:
        return self if obj is None else obj._token_id(getattr(obj, self.token))

    def __set__(self, obj: SpecialTokensMixin, value: int | None) -> None:
        setattr(obj, self.token, obj._piece_of(value))


class SpecialTokensMixin:
    """Names, ids and templates of the special tokens."""

    _core: Tokenizer
    _unk_token: str | None
    _bos_token: str | None
    _eos_token: str | None
    _pad_token: str | None
    _sep_token: str | None
    _cls_token: str | None
    _mask_token: str | None
    _prefix_token: str | None
    _middle_token: str | None
    _suffix_token: str | None
    _eot_token: str | None
    _additional_special_tokens: list[str]
    _add_bos_token: bool
    _add_eos_token: bool
    model_max_length: int
    model_input_names: list[str]
    padding_side: str
    truncation_side: str
    _warn_if_too_long: Callable[[Sequence[Any]], None]

    def _token_id(self, token: str | None) -> int | None:
        return None if token is None else self._core.piece_to_id(token)

    # unk, bos and eos may name a token outside the vocabulary (as in transformers): that is an
    # error only when a call needs the token. pad, sep, cls and mask must be in the vocabulary.
    # Code Llama has no separator, classification or mask token: None, as in transformers.
    unk_token = NamedToken(in_vocabulary=False)
    bos_token = NamedToken(in_vocabulary=False)
    eos_token = NamedToken(in_vocabulary=False)
    pad_token = NamedToken(in_vocabulary=True)
    sep_token = NamedToken(in_vocabulary=True)
    cls_token = NamedToken(in_vocabulary=True)
    mask_token = NamedToken(in_vocabulary=True)
    unk_token_id = NamedTokenId("unk_token")
    bos_token_id = NamedTokenId("bos_token")
    eos_token_id = NamedTokenId("eos_token")
    pad_token_id = NamedTokenId("pad_token")
    sep_token_id = NamedTokenId("sep_token")
    cls_token_id = NamedTokenId("cls_token")
    mask_token_id = NamedTokenId("mask_token")

    def _piece_of(self, token_id: int | None) -> str | None:
        """The piece of an id given to an ``*_token_id`` setter: ints only, as transformers (a
        ``TokenIdError`` past the vocabulary)."""
        return None if token_id is None else self._core.id_to_piece(token_id)

    def _checked(self, name: str, value: Any) -> str | None:
        token = token_text(value)
        if token is not None and self._core.piece_to_id(token) is None:
            raise ValueError(
                f"{name} {token!r} is not in the vocabulary; add it with tokenizer.add_special_tokens("
                f"{{{name!r}: {token!r}}}), or use one of its tokens, e.g. tokenizer.{name} = tokenizer.eos_token"
            )
        return token

    @property
    def additional_special_tokens(self) -> list[str] | None:
        """The additional special tokens (a new list: changing it changes nothing, as in transformers); None
        after it was set to None, as in transformers."""
        if self.__dict__.get("_additional_unset"):
            return None
        return list(self._additional_special_tokens)

    @additional_special_tokens.setter
    def additional_special_tokens(self, value: Sequence[Any] | None) -> None:
        tokens = [token_text(t) for t in (value or ())]
        for token in tokens:
            self._checked("additional special token", token)
        self._additional_special_tokens = [t for t in tokens if t is not None]
        self.__dict__["_additional_unset"] = value is None
        given = [_added_token_copy(t) for t in value or ()]
        self._held()["additional"] = {t.content: t for t in given if t is not None}

    @property
    def prefix_token(self) -> str | None:
        return self._prefix_token

    @property
    def middle_token(self) -> str | None:
        return self._middle_token

    @property
    def suffix_token(self) -> str | None:
        return self._suffix_token

    @property
    def eot_token(self) -> str | None:
        return self._eot_token

    @property
    def prefix_id(self) -> int | None:
        return self._token_id(self._prefix_token)

    @property
    def middle_id(self) -> int | None:
        return self._token_id(self._middle_token)

    @property
    def suffix_id(self) -> int | None:
        return self._token_id(self._suffix_token)

    @property
    def eot_id(self) -> int | None:
        return self._token_id(self._eot_token)

    #: transformers' order of the named special tokens.
    NAMED_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")

    @property
    def special_tokens_map(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        for name in self.NAMED_TOKENS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.additional_special_tokens:
            out["additional_special_tokens"] = list(self.additional_special_tokens)
        return out

    @property
    def all_special_tokens(self) -> list[str]:
        """Special tokens in transformers' order: bos, eos, unk, pad, then the additional ones."""
        out: list[str] = []
        for name in self.NAMED_TOKENS:
            value = getattr(self, name)
            if value is not None and value not in out:
                out.append(value)
        out.extend(t for t in self._additional_special_tokens if t not in out)
        return out

    # Every special token is in the vocabulary (added when the tokenizer is built, checked by the
    # setters), so piece_to_id gives no None in the two lists below.

    @property
    def all_special_ids(self) -> list[int]:
        return cast("list[int]", [self._core.piece_to_id(t) for t in self.all_special_tokens])

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        return cast("list[int]", [self._core.piece_to_id(t) for t in self._additional_special_tokens])

    @additional_special_tokens_ids.setter
    def additional_special_tokens_ids(self, value: Sequence[int] | None) -> None:
        self.additional_special_tokens = [self._piece_of(i) for i in (value or ())]

    # -- the special tokens as transformers holds them: AddedToken objects or strings ----------------
    # transformers keeps a special token as it came: set from a str, a str; set from an AddedToken, that
    # object; loaded with the vocabulary or through add_special_tokens, the vocabulary's AddedToken
    # (docs/transformers.md, "Special tokens as AddedToken"). Only the two *_extended views show it.

    def _held(self) -> dict[str, Any]:
        """The named tokens held as AddedToken objects, by name, and the additional ones, by text."""
        return cast("dict[str, Any]", self.__dict__.setdefault("_held_as_added", {"named": {}, "additional": {}}))

    def _held_json(self) -> str:
        """What ``_held`` holds, as canonical JSON (for pickling)."""
        held = self._held()
        return json.dumps({part: {key: token.__getstate__() for key, token in held[part].items()}
                           for part in ("named", "additional")}, sort_keys=True, ensure_ascii=False)

    def _restore_held(self, held_json: str) -> None:
        self.__dict__["_held_as_added"] = {part: {key: AddedToken(**state) for key, state in tokens.items()}
                                           for part, tokens in json.loads(held_json).items()}

    def _as_given(self, name: str, value: Any) -> None:
        token = _added_token_copy(value)
        if token is None:
            self._held()["named"].pop(name, None)
        else:
            self._held()["named"][name] = token

    def _vocabulary_tokens(self) -> dict[str, AddedToken]:
        """The vocabulary's added tokens by text, as AddedToken objects."""
        return {token.content: token for token in added_tokens_by_id(self._core).values()}

    def _hold_as_in_vocabulary(self, name: str) -> None:
        """Holds the named token ``name`` as the vocabulary's AddedToken, if it is one of its added tokens."""
        token = self._vocabulary_tokens().get(getattr(self, name))
        if token is not None:
            self._held()["named"][name] = token

    def _hold_additional_as_in_vocabulary(self, texts: Sequence[str]) -> None:
        """Holds those of the additional tokens ``texts`` that are the vocabulary's added tokens as its
        AddedToken objects."""
        tokens = self._vocabulary_tokens()
        self._held()["additional"].update((t, tokens[t]) for t in texts if t in tokens)

    @property
    def special_tokens_map_extended(self) -> dict[str, Any]:
        """``special_tokens_map`` with each token as transformers holds it: an :class:`~llamatok.AddedToken`
        or a string (see above; their flags never change how llamatok matches special tokens)."""
        held = self._held()
        out: dict[str, Any] = {}
        for name, value in self.special_tokens_map.items():
            if isinstance(value, list):
                out[name] = [held["additional"].get(t, t) for t in value]
            else:
                out[name] = held["named"].get(name, value)
        return out

    @property
    def all_special_tokens_extended(self) -> list[Any]:
        """``all_special_tokens`` as held (see ``special_tokens_map_extended``)."""
        out: dict[str, Any] = {}
        for value in self.special_tokens_map_extended.values():
            for token in value if isinstance(value, list) else [value]:
                out.setdefault(str(token), token)
        return list(out.values())

    @property
    def max_len_single_sentence(self) -> int:
        """The most ids of one text that fit in ``model_max_length`` with its special tokens."""
        return self.model_max_length - self.num_special_tokens_to_add(pair=False)

    @property
    def max_len_sentences_pair(self) -> int:
        """The same for a pair of texts."""
        return self.model_max_length - self.num_special_tokens_to_add(pair=True)

    # -- BOS / EOS ---------------------------------------------------------------------------------

    @property
    def add_bos_token(self) -> bool:
        return self._add_bos_token

    @add_bos_token.setter
    def add_bos_token(self, value: bool) -> None:
        self._add_bos_token = bool(value)
        self.update_post_processor()

    @property
    def add_eos_token(self) -> bool:
        return self._add_eos_token

    @add_eos_token.setter
    def add_eos_token(self, value: bool) -> None:
        self._add_eos_token = bool(value)
        self.update_post_processor()

    def update_post_processor(self) -> None:
        """Checks the BOS/EOS template. llamatok derives the template from the flags and tokens on every
        call, so there is nothing to rebuild; a flag that is on while its token is unset (or not in the
        vocabulary) is a ``ValueError``, as in transformers."""
        self._bos()
        self._eos()

    def _bos(self) -> list[int]:
        if not self._add_bos_token:
            return []
        token_id = self.bos_token_id
        if token_id is None:
            raise ValueError(f"add_bos_token = True but bos_token = {self.bos_token!r} "
                             "(unset or not in the vocabulary)")
        return [token_id]

    def _eos(self) -> list[int]:
        if not self._add_eos_token:
            return []
        token_id = self.eos_token_id
        if token_id is None:
            raise ValueError(f"add_eos_token = True but eos_token = {self.eos_token!r} "
                             "(unset or not in the vocabulary)")
        return [token_id]

    def call_settings(self) -> CallSettings:
        """What a call reads of this tokenizer, frozen for the call."""
        try:
            bos: tuple[int, ...] | None = tuple(self._bos())
            eos: tuple[int, ...] | None = tuple(self._eos())
            special_error = ""
        except ValueError as e:
            bos = eos = None
            special_error = str(e)
        pre, mid, suf = self.prefix_id, self.middle_id, self.suffix_id
        infill_ids = None if pre is None or mid is None or suf is None else (pre, suf, mid)
        infill_error = (
            "infilling (a <FILL_ME> in the text, a suffix, or a text pair) needs prefix_token, middle_token "
            f"and suffix_token in the vocabulary; this tokenizer has prefix_token={self.prefix_token!r} "
            f"(id {pre}), middle_token={self.middle_token!r} (id {mid}), suffix_token={self.suffix_token!r} (id {suf})"
        )
        return CallSettings(self._core, bos, eos, infill_ids, infill_error, special_error, self.pad_token_id,
                            self.model_max_length, tuple(self.model_input_names), self.padding_side,
                            self.truncation_side, self._warn_if_too_long)

    # -- transformers' helpers for ids built by hand ------------------------------------------------

    def build_inputs_with_special_tokens(self, token_ids_0: list[int],
                                         token_ids_1: list[int] | None = None) -> list[int]:
        """``[<s>] A [</s>]`` or ``[<s>] A [</s>] [<s>] B [</s>]``, brackets per the flags."""
        if token_ids_1 is None:
            return simple_row(single(self._bos(), self._eos()), [list(token_ids_0)])
        return simple_row(pair(self._bos(), self._eos()), [list(token_ids_0), list(token_ids_1)])

    def get_special_tokens_mask(self, token_ids_0: list[int], token_ids_1: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        """1 for a special token, 0 for a sequence token: of ids that already have them
        (``already_has_special_tokens=True``) or of the ids ``build_inputs_with_special_tokens`` makes."""
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError(
                    "You should not supply a second sequence if the provided sequence of ids is already "
                    "formatted with special tokens for the model."
                )
            special = set(self.all_special_ids)
            return [1 if i in special else 0 for i in token_ids_0]
        bos, eos = [1] * len(self._bos()), [1] * len(self._eos())
        out = bos + [0] * len(token_ids_0) + eos
        if token_ids_1 is not None:
            out += bos + [0] * len(token_ids_1) + eos
        return out

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int],
                                             token_ids_1: list[int] | None = None) -> list[int]:
        """0 for every id of the first sequence (with its ``<s>``/``</s>``), 1 for the second's."""
        n_added = len(self._bos()) + len(self._eos())
        out = [0] * (n_added + len(token_ids_0))
        if token_ids_1 is not None:
            out += [1] * (n_added + len(token_ids_1))
        return out

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        n = len(self._bos()) + len(self._eos())
        return 2 * n if pair else n
