"""``CodeLlamaTokenizerFast``: the transformers 4.x API over llamatok's Rust core.

A transformers user replaces ``transformers.CodeLlamaTokenizerFast.from_pretrained(path)`` with
``llamatok.CodeLlamaTokenizerFast.from_pretrained(path)`` and gets the same ids. Unlike transformers,
the object never changes state while encoding (infilling is a function of the call's arguments),
so one instance can be shared by many threads.
"""

from __future__ import annotations

import os
from typing import Iterable, List, Optional, Sequence, Union

from llamatok import _native
from llamatok.files import TokenizerFiles, locate

SPIECE_UNDERLINE = "\u2581"

#: The mode names of the Rust core, by (legacy, split_special_tokens).
def _mode(legacy: Optional[bool], split_special_tokens: bool) -> str:
    if split_special_tokens:
        return "literal"
    return "non_legacy" if legacy is False else "legacy"


class CodeLlamaTokenizerFast:
    """Code Llama's tokenizer: SentencePiece BPE with byte fallback, special tokens and infilling.

    Args mirror ``transformers.CodeLlamaTokenizerFast``. ``legacy`` and ``split_special_tokens``
    choose how special-token text inside the input is treated (README, "Behaviour modes").
    """

    vocab_files_names = {"vocab_file": "tokenizer.model", "tokenizer_file": "tokenizer.json"}
    padding_side = "left"

    def __init__(
        self,
        vocab_file: Optional[str] = None,
        tokenizer_file: Optional[str] = None,
        clean_up_tokenization_spaces: bool = False,
        unk_token: Optional[str] = "<unk>",
        bos_token: Optional[str] = "<s>",
        eos_token: Optional[str] = "</s>",
        prefix_token: Optional[str] = "\u2581<PRE>",
        middle_token: Optional[str] = "\u2581<MID>",
        suffix_token: Optional[str] = "\u2581<SUF>",
        eot_token: Optional[str] = "\u2581<EOT>",
        fill_token: Optional[str] = "<FILL_ME>",
        additional_special_tokens: Optional[Sequence[str]] = None,
        add_bos_token: bool = True,
        add_eos_token: bool = False,
        use_default_system_prompt: bool = False,
        legacy: Optional[bool] = None,
        split_special_tokens: bool = False,
        pad_token: Optional[str] = None,
        suffix_first: bool = False,
        **kwargs: object,
    ) -> None:
        path = tokenizer_file or vocab_file
        if path is None:
            raise ValueError(
                "CodeLlamaTokenizerFast needs a tokenizer_file (tokenizer.json) or a vocab_file "
                "(tokenizer.model); or use CodeLlamaTokenizerFast.from_pretrained(folder)"
            )
        core = _native.Tokenizer.from_file(os.fspath(path))
        self._files = TokenizerFiles(tokenizer_file=tokenizer_file, vocab_file=vocab_file)
        self.legacy = legacy
        self.split_special_tokens = bool(split_special_tokens)
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        self.use_default_system_prompt = use_default_system_prompt
        self.suffix_first = suffix_first
        self.unk_token = unk_token
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.pad_token = pad_token
        self._prefix_token = prefix_token
        self._middle_token = middle_token
        self._suffix_token = suffix_token
        self._eot_token = eot_token
        self.fill_token = fill_token
        self.init_kwargs = dict(kwargs)
        extra = list(additional_special_tokens or [])
        for token in (prefix_token, middle_token, suffix_token, eot_token):
            if token is not None and token not in extra:
                extra.append(token)
        self.additional_special_tokens = extra
        self._add_bos_token = add_bos_token
        self._add_eos_token = add_eos_token
        self._core = self._with_specials(core)

    # -- construction -------------------------------------------------------------------------

    def _with_specials(self, core: "_native.Tokenizer") -> "_native.Tokenizer":
        """The core matching every special token a transformers user would see matched."""
        names = [self.unk_token, self.bos_token, self.eos_token, self.pad_token, *self.additional_special_tokens]
        specials = {content: token_id for content, token_id, _ in core.added_tokens}
        for name in names:
            if name is None or name in specials:
                continue
            token_id = core.piece_to_id(name)
            if token_id is None:
                # transformers would append it to the vocabulary; llamatok does not grow vocabularies.
                raise ValueError(
                    f"special token {name!r} is not in the vocabulary; pass only tokens the "
                    "model has (or None to disable it)"
                )
            specials[name] = token_id
        return core.with_special_tokens(sorted(specials.items()))

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Union[str, os.PathLike], **kwargs: object) -> "CodeLlamaTokenizerFast":
        """Loads from a folder (tokenizer.json preferred, else tokenizer.model, plus the config
        files), a ``tokenizer.json``, or a ``tokenizer.model``. Keyword arguments override the
        folder's ``tokenizer_config.json``."""
        files = locate(pretrained_model_name_or_path)
        init = files.init_kwargs()
        init.update(kwargs)
        return cls(**init)

    # -- vocabulary ---------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return self._core.vocab_size

    def __len__(self) -> int:
        return self._core.vocab_size

    def get_vocab(self) -> dict:
        return self._core.get_vocab()

    def _token_id(self, token: Optional[str]) -> Optional[int]:
        return None if token is None else self._core.piece_to_id(token)

    @property
    def unk_token_id(self) -> Optional[int]:
        return self._token_id(self.unk_token)

    @property
    def bos_token_id(self) -> Optional[int]:
        return self._token_id(self.bos_token)

    @property
    def eos_token_id(self) -> Optional[int]:
        return self._token_id(self.eos_token)

    @property
    def pad_token_id(self) -> Optional[int]:
        return self._token_id(self.pad_token)

    @property
    def prefix_token(self) -> Optional[str]:
        return self._prefix_token

    @property
    def middle_token(self) -> Optional[str]:
        return self._middle_token

    @property
    def suffix_token(self) -> Optional[str]:
        return self._suffix_token

    @property
    def eot_token(self) -> Optional[str]:
        return self._eot_token

    @property
    def prefix_id(self) -> Optional[int]:
        return self._token_id(self._prefix_token)

    @property
    def middle_id(self) -> Optional[int]:
        return self._token_id(self._middle_token)

    @property
    def suffix_id(self) -> Optional[int]:
        return self._token_id(self._suffix_token)

    @property
    def eot_id(self) -> Optional[int]:
        return self._token_id(self._eot_token)

    @property
    def all_special_tokens(self) -> List[str]:
        return [t for t, _ in self._core.special_tokens]

    @property
    def all_special_ids(self) -> List[int]:
        return [i for _, i in self._core.special_tokens]

    @property
    def mode(self) -> str:
        """How special-token text in the input is treated: legacy, non_legacy or literal."""
        return _mode(self.legacy, self.split_special_tokens)

    # -- BOS / EOS template -------------------------------------------------------------------

    @property
    def add_bos_token(self) -> bool:
        return self._add_bos_token

    @add_bos_token.setter
    def add_bos_token(self, value: bool) -> None:
        self._add_bos_token = value
        self.update_post_processor()

    @property
    def add_eos_token(self) -> bool:
        return self._add_eos_token

    @add_eos_token.setter
    def add_eos_token(self, value: bool) -> None:
        self._add_eos_token = value
        self.update_post_processor()

    def update_post_processor(self) -> None:
        """Checks the BOS/EOS template (SPEC §4). The template is derived from the flags on every
        call, so there is nothing to rebuild; a flag that is on with its token unset is an error."""
        if self._add_bos_token and self.bos_token_id is None:
            raise ValueError("add_bos_token = True but bos_token = None")
        if self._add_eos_token and self.eos_token_id is None:
            raise ValueError("add_eos_token = True but eos_token = None")

    def _bos(self) -> List[int]:
        return [self.bos_token_id] if self._add_bos_token and self.bos_token_id is not None else []

    def _eos(self) -> List[int]:
        return [self.eos_token_id] if self._add_eos_token and self.eos_token_id is not None else []

    def build_inputs_with_special_tokens(self, token_ids_0: List[int], token_ids_1: Optional[List[int]] = None) -> List[int]:
        """``[<s>] A [</s>]`` or ``[<s>] A [</s>] [<s>] B [</s>]``, brackets per the flags."""
        out = self._bos() + list(token_ids_0) + self._eos()
        if token_ids_1 is not None:
            out += self._bos() + list(token_ids_1) + self._eos()
        return out

    # -- encoding -----------------------------------------------------------------------------

    def _encode_text(self, text: str, dummy_prefix: bool = True) -> List[int]:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        return self._core.encode(text, self.mode, dummy_prefix)

    def _split_fill(self, text: str, suffix: Optional[str]) -> "tuple[str, Optional[str]]":
        if suffix is None and self.fill_token is not None and self.fill_token in text:
            parts = text.split(self.fill_token)
            if len(parts) != 2:
                raise ValueError(
                    f"the text holds {len(parts) - 1} {self.fill_token!r} markers; infilling takes "
                    "exactly one (split the prompt yourself and pass suffix=...)"
                )
            return parts[0], parts[1]
        return text, suffix

    def _encode_infill(self, prefix: str, suffix: str, suffix_first: bool, add_special_tokens: bool) -> List[int]:
        ids = (self.prefix_id, self.middle_id, self.suffix_id)
        if None in ids:
            raise ValueError(
                "infilling needs prefix_token, middle_token and suffix_token, and this tokenizer "
                f"has {self.prefix_token!r}, {self.middle_token!r}, {self.suffix_token!r}"
            )
        pre, mid, suf = ids
        # The prefix is " " + prefix without a dummy prefix; the suffix has none at all (SPEC §5).
        prefix_ids = self._core.encode(" " + prefix, self.mode, False)
        suffix_ids = self._core.encode(suffix, self.mode, False)
        if suffix_first:
            body = [pre, suf, *suffix_ids, mid, *prefix_ids]
        else:
            body = [pre, *prefix_ids, suf, *suffix_ids, mid]
        if not add_special_tokens:
            return body
        return self._bos() + body + self._eos()

    def encode(
        self,
        text: str,
        text_pair: Optional[str] = None,
        add_special_tokens: bool = True,
        suffix: Optional[str] = None,
        suffix_first: Optional[bool] = None,
    ) -> List[int]:
        """Token ids of ``text`` (with ``<s>``/``</s>`` per the flags when add_special_tokens).

        A ``<FILL_ME>`` in the text, or ``suffix=``, builds an infilling prompt (SPEC §5)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        # As in transformers' CodeLlamaTokenizerFast, the second text is the infill suffix.
        prefix, suffix = self._split_fill(text, suffix if suffix is not None else text_pair)
        if suffix:
            first = self.suffix_first if suffix_first is None else suffix_first
            return self._encode_infill(prefix, suffix, first, add_special_tokens)
        ids = self._encode_text(prefix)
        return self.build_inputs_with_special_tokens(ids) if add_special_tokens else ids

    def tokenize(self, text: str, suffix: Optional[str] = None, add_special_tokens: bool = False) -> List[str]:
        """The pieces of ``text`` (no ``<s>`` unless add_special_tokens)."""
        return self.convert_ids_to_tokens(self.encode(text, add_special_tokens=add_special_tokens, suffix=suffix))

    def convert_tokens_to_ids(self, tokens: Union[str, Iterable[str]]) -> Union[Optional[int], List[Optional[int]]]:
        """Ids of pieces; a piece not in the vocabulary gives the ``<unk>`` id, as in transformers."""
        if isinstance(tokens, str):
            token_id = self._core.piece_to_id(tokens)
            return self.unk_token_id if token_id is None else token_id
        return [self.convert_tokens_to_ids(t) for t in tokens]  # type: ignore[misc]

    def convert_ids_to_tokens(self, ids: Union[int, Iterable[int]], skip_special_tokens: bool = False) -> Union[str, List[str]]:
        if isinstance(ids, int):
            return self._core.id_to_piece(ids)
        special = set(self.all_special_ids) if skip_special_tokens else set()
        return [self._core.id_to_piece(int(i)) for i in ids if int(i) not in special]

    # -- decoding -----------------------------------------------------------------------------

    def decode(
        self,
        token_ids: Union[int, Iterable[int]],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: Optional[bool] = None,
        style: str = "transformers",
    ) -> str:
        """Text of ``token_ids``. ``style="sentencepiece"`` decodes as sentencepiece does instead
        of as transformers 4.x (README, "Behaviour modes")."""
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        text = self._core.decode(list(token_ids), style, skip_special_tokens)
        clean = self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None else clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean else text

    def batch_decode(self, sequences: Iterable[Iterable[int]], skip_special_tokens: bool = False, clean_up_tokenization_spaces: Optional[bool] = None, style: str = "transformers") -> List[str]:
        return [self.decode(s, skip_special_tokens, clean_up_tokenization_spaces, style) for s in sequences]

    def __repr__(self) -> str:
        return (
            f"llamatok.CodeLlamaTokenizerFast(vocab_size={self.vocab_size}, mode={self.mode!r}, "
            f"add_bos_token={self._add_bos_token}, add_eos_token={self._add_eos_token})"
        )


def clean_up_tokenization(text: str) -> str:
    """transformers' ``clean_up_tokenization``: removes spaces before punctuation and contractions."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(before, after)
    return text
