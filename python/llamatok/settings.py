"""What a ``CodeLlamaTokenizerFast`` is besides its model file, and what one call needs of it.

- :class:`Settings`: every constructor setting with transformers' default, stated once. The class
  is built from one, and gives a snapshot of its current state as one to pickling, equality and
  ``save_pretrained``.
- :class:`CallSettings`: what encoding, padding and truncating a call read (the core, the ids and
  templates of the special tokens, the limits), frozen for the call so that a setter running on
  another thread never changes it half way. The helper modules (``model_inputs``, ``padding``) take
  one of these, never the tokenizer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Callable

from llamatok.constants import (
    EOT_TOKEN,
    FILL_TOKEN,
    MIDDLE_TOKEN,
    PREFIX_TOKEN,
    SUFFIX_TOKEN,
    VERY_LARGE_INTEGER,
    unlimited,
)
from llamatok.template import Template, infill, single

if TYPE_CHECKING:
    from llamatok._native import Tokenizer

#: Keyword arguments transformers accepts and llamatok has no use for.
IGNORED_KWARGS = ("use_fast", "trust_remote_code", "force_download", "proxies", "resume_download", "sp_model_kwargs",
                  "_from_auto", "_commit_hash", "use_auth_token")
SIDES = ("left", "right")
#: Settings that name a special token: a str, or an ``AddedToken`` (tokenizers' or transformers').
TOKEN_FIELDS = ("unk_token", "bos_token", "eos_token", "pad_token", "sep_token", "cls_token", "mask_token",
                "prefix_token", "middle_token", "suffix_token", "eot_token", "fill_token")


def token_text(value: Any) -> str | None:
    """A special token's text: ``None``, a ``str``, or the ``content`` of an ``AddedToken`` or of its
    dict form in config files (``{"__type": "AddedToken", "content": "<s>", ...}``; llamatok matches every
    special token as a whole and never strips around it, so only the text matters)."""
    if value is None or isinstance(value, str):
        return value
    content = value.get("content") if isinstance(value, dict) else getattr(value, "content", None)
    if isinstance(content, str):
        return content
    # A ValueError, as transformers raises for a special token that is not a string.
    raise ValueError(f"a special token must be a str or None (or an AddedToken), not {type(value).__name__}")


def mode_of(legacy: bool | None, split_special_tokens: bool) -> str:
    """The core's special-token mode (docs/encoding.md) for transformers' ``legacy`` and
    ``split_special_tokens``."""
    if split_special_tokens:
        return "literal"
    return "non_legacy" if legacy is False else "legacy"


@dataclass(frozen=True)
class Settings:
    """A tokenizer's settings, with transformers 4.x's defaults. ``init_kwargs`` holds the config
    keys llamatok does not interpret; ``save_pretrained`` writes them back."""

    vocab_file: str | None = None
    name_or_path: str = ""
    clean_up_tokenization_spaces: bool = False
    unk_token: str | None = "<unk>"
    bos_token: str | None = "<s>"
    eos_token: str | None = "</s>"
    pad_token: str | None = None
    sep_token: str | None = None
    cls_token: str | None = None
    mask_token: str | None = None
    prefix_token: str | None = PREFIX_TOKEN
    middle_token: str | None = MIDDLE_TOKEN
    suffix_token: str | None = SUFFIX_TOKEN
    eot_token: str | None = EOT_TOKEN
    fill_token: str | None = FILL_TOKEN
    additional_special_tokens: tuple[str, ...] = ()
    add_bos_token: bool = True
    add_eos_token: bool = False
    use_default_system_prompt: bool = False
    legacy: bool | None = None
    split_special_tokens: bool = False
    suffix_first: bool = False
    model_max_length: int = VERY_LARGE_INTEGER
    padding_side: str = "left"
    truncation_side: str = "right"
    model_input_names: tuple[str, ...] = ("input_ids", "attention_mask")
    init_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> Settings:
        """Settings from constructor or config keyword arguments: known keys are checked and
        normalized (``None`` for ``model_max_length`` means no limit), unknown ones kept aside."""
        kwargs = {k: v for k, v in kwargs.items() if k not in IGNORED_KWARGS}
        known = {f.name for f in fields(cls)} - {"init_kwargs"}
        given = {k: kwargs.pop(k) for k in list(kwargs) if k in known}
        for name in TOKEN_FIELDS:
            if name in given:
                given[name] = token_text(given[name])
        if given.get("additional_special_tokens"):
            given["additional_special_tokens"] = [token_text(t) for t in given["additional_special_tokens"]]
        for side in ("padding_side", "truncation_side"):
            if side in given and given[side] not in SIDES:
                raise ValueError(f"{side} must be 'left' or 'right', not {given[side]!r}")
        if given.get("model_max_length") is None:
            given.pop("model_max_length", None)
        else:
            given["model_max_length"] = int(given["model_max_length"])
        for flag in ("clean_up_tokenization_spaces", "add_bos_token", "add_eos_token", "split_special_tokens",
                     "suffix_first"):
            if flag in given:
                given[flag] = bool(given[flag])
        for name in ("additional_special_tokens", "model_input_names"):
            if name in given:
                given[name] = tuple(given[name] or ())
        if given.get("model_input_names") == ():
            given.pop("model_input_names")
        return cls(**given, init_kwargs=dict(kwargs))

    def as_dict(self) -> dict[str, Any]:
        """One flat dict: the settings, then the uninterpreted config keys (constructor arguments)."""
        out = asdict(self)
        extra = out.pop("init_kwargs")
        out["additional_special_tokens"] = list(self.additional_special_tokens)
        out["model_input_names"] = list(self.model_input_names)
        out.update(extra)
        return out

    def to_json(self) -> str:
        """Canonical JSON: equal settings give equal strings (pickles, hashes)."""
        return json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False, default=repr)

    @property
    def mode(self) -> str:
        return mode_of(self.legacy, self.split_special_tokens)


@dataclass(frozen=True)
class CallSettings:
    """What one call reads of its tokenizer. ``bos``/``eos`` are the ids the flags add (empty when a
    flag is off; None when a flag is on but its token is not in the vocabulary, which is an error
    only for calls that add special tokens)."""

    core: Tokenizer
    bos: tuple[int, ...] | None
    eos: tuple[int, ...] | None
    infill_ids: tuple[int, int, int] | None  # (prefix, suffix, middle)
    infill_error: str
    special_error: str
    pad_token_id: int | None
    model_max_length: int
    model_input_names: tuple[str, ...]
    padding_side: str
    truncation_side: str
    warn_too_long: Callable[[Sequence[Any]], None]

    @property
    def unlimited(self) -> bool:
        return unlimited(self.model_max_length)

    def _special(self, add_special_tokens: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
        if not add_special_tokens:
            return (), ()
        if self.bos is None or self.eos is None:
            raise ValueError(self.special_error)
        return self.bos, self.eos

    def plain_template(self, add_special_tokens: bool) -> Template:
        bos, eos = self._special(add_special_tokens)
        return single(bos, eos)

    def infill_template(self, add_special_tokens: bool, suffix_first: bool) -> Template:
        if self.infill_ids is None:
            raise ValueError(self.infill_error)
        bos, eos = self._special(add_special_tokens)
        pre, suf, mid = self.infill_ids
        return infill(bos, eos, pre, suf, mid, suffix_first)
