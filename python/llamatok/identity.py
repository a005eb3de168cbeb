"""What a ``CodeLlamaTokenizerFast`` is: a snapshot of its settings, and the equality and hashing
that follow from it (two tokenizers are equal when every call gives the same ids). A mixin of the
class; pickling (``code_llama.py``) stores the same snapshot."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from llamatok.settings import Settings

if TYPE_CHECKING:
    from llamatok._native import Tokenizer


class IdentityMixin:
    """Settings snapshot, equality, hashing."""

    _core: Tokenizer
    _digest: str | None
    vocab_file: str | None
    name_or_path: str
    clean_up_tokenization_spaces: bool
    unk_token: str | None
    bos_token: str | None
    eos_token: str | None
    pad_token: str | None
    sep_token: str | None
    cls_token: str | None
    mask_token: str | None
    _prefix_token: str | None
    _middle_token: str | None
    _suffix_token: str | None
    _eot_token: str | None
    fill_token: str | None
    _additional_special_tokens: list[str]
    _add_bos_token: bool
    _add_eos_token: bool
    use_default_system_prompt: bool
    legacy: bool | None
    split_special_tokens: bool
    suffix_first: bool
    model_max_length: int
    padding_side: str
    truncation_side: str
    model_input_names: list[str]
    init_kwargs: dict[str, Any]

    @property
    def settings(self) -> Settings:
        """A snapshot of everything besides the model file that makes this tokenizer what it is."""
        return Settings(
            vocab_file=self.vocab_file, name_or_path=self.name_or_path,
            clean_up_tokenization_spaces=self.clean_up_tokenization_spaces, unk_token=self.unk_token,
            bos_token=self.bos_token, eos_token=self.eos_token, pad_token=self.pad_token,
            sep_token=self.sep_token, cls_token=self.cls_token, mask_token=self.mask_token,
            prefix_token=self._prefix_token, middle_token=self._middle_token, suffix_token=self._suffix_token,
            eot_token=self._eot_token, fill_token=self.fill_token,
            additional_special_tokens=tuple(self._additional_special_tokens), add_bos_token=self._add_bos_token,
            add_eos_token=self._add_eos_token, use_default_system_prompt=self.use_default_system_prompt,
            legacy=self.legacy, split_special_tokens=self.split_special_tokens, suffix_first=self.suffix_first,
            model_max_length=self.model_max_length, padding_side=self.padding_side,
            truncation_side=self.truncation_side, model_input_names=tuple(self.model_input_names),
            init_kwargs=dict(self.init_kwargs),
        )

    def _settings(self) -> dict[str, Any]:
        """The settings (as constructor arguments) and the core's added vocabulary."""
        out = self.settings.as_dict()
        out["added_vocab"] = [list(t) for t in self._core.added_vocab]
        return out

    def _settings_json(self) -> str:
        return json.dumps(self._settings(), sort_keys=True, ensure_ascii=False, default=repr)

    def _source_digest(self) -> str:
        if self._digest is None:
            self._digest = hashlib.sha256(self._core.to_bytes()).hexdigest()
        return self._digest

    def _behaviour_key(self) -> tuple[str, str]:
        """What equality and hashing compare: the model file and the settings, not where they came from."""
        settings = self._settings()
        del settings["vocab_file"], settings["name_or_path"]
        return self._source_digest(), json.dumps(settings, sort_keys=True, ensure_ascii=False, default=repr)

    def __eq__(self, other: object) -> bool:
        """Equal when the model files and all settings are equal (so the ids of every call are)."""
        if not isinstance(other, IdentityMixin):
            return NotImplemented
        return self._behaviour_key() == other._behaviour_key()

    def __hash__(self) -> int:
        return hash(self._behaviour_key())
