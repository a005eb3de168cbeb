"""``CodeLlamaTokenizerFast``: the transformers 4.x API over llamatok's Rust core.

A transformers user replaces ``transformers.CodeLlamaTokenizerFast.from_pretrained(path)`` with
``llamatok.CodeLlamaTokenizerFast.from_pretrained(path)`` and gets the same results. Unlike transformers,
the object never changes state while encoding (infilling is a function of the call's arguments), so one
instance can be shared by many threads; where transformers 4.57 has a bug, this class does what its
documentation says (docs/transformers.md, "Differences").

The work is done in small modules: ``settings`` (the settings and what a call reads),
``special_tokens`` (names, ids, templates), ``model_inputs`` (``__call__``), ``infill``, ``template``,
``truncation``, ``padding``, ``batch_encoding``, ``streaming``, ``token_ids``, ``token_conversions``,
``saving``, ``hub`` and ``files``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from llamatok import _native, chat_files, hub, loggers, saving
from llamatok.added_tokens import (
    SPECIAL_TOKENS_ATTRIBUTES,
    AddedTokensMixin,
    config_tokens_to_add,
    matched_pieces,
    warn_about_moved_ids,
)
from llamatok.batch_encoding import BatchEncoding
from llamatok.chat_template import ChatTemplateMixin
from llamatok.constants import unlimited
from llamatok.document_cache import DocCacheMixin
from llamatok.files import locate
from llamatok.identity import IdentityMixin
from llamatok.infill import prefix_text
from llamatok.model_inputs import batch_prompts, encode_call, make_prompt
from llamatok.padding import pad_encoded
from llamatok.rows import simple_row
from llamatok.settings import Settings, mode_of, token_text
from llamatok.special_tokens import SpecialTokensMixin
from llamatok.streaming import StreamingDecoder, anchor_id, byte_values
from llamatok.text_cleanup import clean_up_tokenization
from llamatok.token_conversions import TokenConversionsMixin
from llamatok.token_ids import ids_arg
from llamatok.truncate_sequences import truncate_sequences

#: Keyword arguments of from_pretrained that choose files, not tokenizer settings.
HUB_KWARGS = ("revision", "cache_dir", "local_files_only", "token", "subfolder")

def check_shadowing(kwargs: dict[str, Any]) -> None:
    """A keyword argument named like a method (``add_special_tokens=False``) is an ``AttributeError``, as in
    transformers: it would otherwise be kept and written to the config."""
    for key in kwargs:
        if callable(getattr(CodeLlamaTokenizerFast, key, None)):
            raise AttributeError(f"{key} conflicts with the method {key} in CodeLlamaTokenizerFast")


class CodeLlamaTokenizerFast(AddedTokensMixin, SpecialTokensMixin, TokenConversionsMixin, ChatTemplateMixin,
                             IdentityMixin, DocCacheMixin):
    """Code Llama's tokenizer: SentencePiece BPE with byte fallback, special tokens and infilling.

    Arguments mirror ``transformers.CodeLlamaTokenizerFast``; ``legacy`` and ``split_special_tokens``
    choose how special-token text inside the input is treated (README, "Behaviour modes").
    """

    vocab_files_names = {"vocab_file": "tokenizer.model", "tokenizer_file": "tokenizer.json"}
    is_fast = True
    pad_token_type_id = 0

    def __init__(self, vocab_file: str | None = None, tokenizer_file: str | None = None, **kwargs: Any) -> None:
        """``tokenizer_file`` (a ``tokenizer.json``) or ``vocab_file`` (a ``tokenizer.model``), and
        transformers' settings as keywords (:class:`llamatok.settings.Settings` lists them with their
        defaults); other config keys are kept and written back by ``save_pretrained``."""
        path = tokenizer_file or vocab_file
        if path is None:
            raise ValueError(
                "CodeLlamaTokenizerFast needs a tokenizer_file (tokenizer.json) or a vocab_file "
                "(tokenizer.model); or use CodeLlamaTokenizerFast.from_pretrained(folder or Hub id)"
            )
        core = _native.Tokenizer.from_file(os.fspath(path))
        kwargs["vocab_file"] = os.fspath(vocab_file) if vocab_file is not None else None
        self._setup(core, kwargs)

    def _setup(self, core: _native.Tokenizer, kwargs: dict[str, Any], restored: bool = False) -> None:
        """``restored``: ``core`` already holds every added token (unpickling)."""
        added_tokens_decoder = kwargs.pop("added_tokens_decoder", None)
        check_shadowing(kwargs)
        # The special tokens as given (AddedToken objects keep their flags for the vocabulary).
        given_specials = [kwargs[name] for name in self.NAMED_TOKENS if kwargs.get(name) is not None]
        given_as_added = {name for name in self.NAMED_TOKENS if not isinstance(kwargs.get(name), (str, type(None)))}
        given_extra = list(kwargs.get("additional_special_tokens") or ())
        settings = Settings.from_kwargs(kwargs)
        self.vocab_file = settings.vocab_file
        self.name_or_path = settings.name_or_path
        self.legacy = settings.legacy
        self.split_special_tokens = settings.split_special_tokens
        self.clean_up_tokenization_spaces = settings.clean_up_tokenization_spaces
        self.use_default_system_prompt = settings.use_default_system_prompt
        self.suffix_first = settings.suffix_first
        self.model_max_length = settings.model_max_length
        self.padding_side = settings.padding_side
        self.truncation_side = settings.truncation_side
        self.model_input_names = list(settings.model_input_names)
        self.unk_token = settings.unk_token
        self.bos_token = settings.bos_token
        self.eos_token = settings.eos_token
        self._prefix_token = settings.prefix_token
        self._middle_token = settings.middle_token
        self._suffix_token = settings.suffix_token
        self._eot_token = settings.eot_token
        self.fill_token = settings.fill_token
        #: Config keys this class does not interpret; written back by save_pretrained.
        self.init_kwargs = dict(settings.init_kwargs)
        #: transformers' positional constructor arguments (llamatok takes none).
        self.init_inputs: tuple[Any, ...] = ()
        #: Kept and saved as transformers does; Code Llama has no pre-tokenizer, so it changes nothing.
        self.add_prefix_space = bool(self.init_kwargs.get("add_prefix_space", False))
        extra = list(settings.additional_special_tokens)
        # The constructor lists the infill tokens (as transformers' does); an unpickled tokenizer keeps the
        # list it had, which add_special_tokens may have replaced.
        for token in (settings.prefix_token, settings.middle_token, settings.suffix_token, settings.eot_token):
            if not restored and token is not None and token not in extra and core.piece_to_id(token) is not None:
                extra.append(token)
        self._additional_special_tokens = extra
        self._add_bos_token = settings.add_bos_token
        self._add_eos_token = settings.add_eos_token
        if restored:
            self._core = core
        else:
            infill = [t for t in extra if t not in settings.additional_special_tokens]
            specials = given_specials + given_extra + infill
            to_add = config_tokens_to_add(core, added_tokens_decoder, specials)
            self._core = core.with_added_tokens(to_add)[0] if to_add else core
            warn_about_moved_ids(self._core, added_tokens_decoder)
        self._pad_token = self._sep_token = self._cls_token = self._mask_token = None
        self.pad_token = settings.pad_token
        self.sep_token = settings.sep_token
        self.cls_token = settings.cls_token
        self.mask_token = settings.mask_token
        # As transformers holds them (special_tokens_map_extended): the vocabulary's AddedToken for a token
        # of the file's added tokens or one given as an AddedToken (or its config dict), else the string.
        in_file = {content for _, content, *_ in core.added_vocab}
        for name in self.NAMED_TOKENS:
            if getattr(self, name) in in_file or name in given_as_added:
                self._hold_as_in_vocabulary(name)
        self._hold_additional_as_in_vocabulary([str(token_text(t)) for t in given_extra if not isinstance(t, str)])
        self._digest: str | None = None
        self._stream_tables: tuple[dict[int, int], int] | None = None
        #: Warnings given once, by key; clearing it lets them be given again (as in transformers).
        self.deprecation_warnings: dict[str, bool] = {}
        self.update_post_processor()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike[str], *args: Any,
                        **kwargs: Any) -> CodeLlamaTokenizerFast:
        """Loads from a folder (tokenizer.json preferred, else tokenizer.model, plus the config files), a
        ``tokenizer.json`` or ``tokenizer.model`` file, or a Hub id found in the local Hugging Face cache
        (downloaded only if ``huggingface_hub`` is installed and the network answers). Keyword
        arguments override the folder's ``tokenizer_config.json``."""
        if args:
            raise TypeError("from_pretrained takes the path or Hub id, then keyword arguments only")
        where = {k: kwargs.pop(k) for k in HUB_KWARGS if k in kwargs}
        path = hub.resolve(pretrained_model_name_or_path, **where)
        files = locate(path)
        init = files.init_kwargs()
        init.update(kwargs)
        init.setdefault("name_or_path", os.fspath(pretrained_model_name_or_path))
        return cls(**init)

    # -- vocabulary and special tokens --------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """The ids of the model's vocabulary, without the added ones (``len(tokenizer)`` counts those)."""
        return self._core.vocab_size

    def __len__(self) -> int:
        return len(self._core)

    def get_vocab(self) -> dict[str, int]:
        return self._core.get_vocab()

    @property
    def vocab(self) -> dict[str, int]:
        """``get_vocab()``, as transformers' fast tokenizers also name it."""
        return self.get_vocab()

    #: transformers' names of the special-token attributes, and its text clean-up (a static method there).
    SPECIAL_TOKENS_ATTRIBUTES = list(SPECIAL_TOKENS_ATTRIBUTES)
    clean_up_tokenization = staticmethod(clean_up_tokenization)

    @property
    def backend_tokenizer(self) -> _native.Tokenizer:
        """The Rust core (immutable; safe to share between threads)."""
        return self._core

    @property
    def mode(self) -> str:
        """How special-token text in the input is treated: legacy, non_legacy or literal
        (docs/encoding.md, "Special-token modes")."""
        return mode_of(self.legacy, self.split_special_tokens)

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return (bool(self.vocab_file and os.path.isfile(self.vocab_file))
                or not saving.is_json_source(self._core.to_bytes()))

    # -- encoding -----------------------------------------------------------------------------

    def _call_mode(self, split_special_tokens: bool | None) -> str:
        split = self.split_special_tokens if split_special_tokens is None else bool(split_special_tokens)
        return mode_of(self.legacy, split)

    def __call__(
        self,
        text: Any = None,
        text_pair: Any = None,
        text_target: Any = None, text_pair_target: Any = None,
        add_special_tokens: bool = True,
        padding: Any = False,
        truncation: Any = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: Any = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        *,
        suffix: Any = None,
        suffix_first: bool | None = None,
        split_special_tokens: bool | None = None,
    ) -> BatchEncoding:
        """Model inputs for one text, one infill prompt, or a batch of them.

        A ``<FILL_ME>`` in a text, a ``suffix=`` (a str, or a list for a batch) or a ``text_pair`` makes
        an infill prompt (docs/infill.md); ``suffix_first=True`` gives the SPM layout. Padding, truncation and
        the ``return_*`` options behave as in transformers 4.x."""
        if text_target is not None or text_pair_target is not None:
            raise ValueError("text_target is for sequence-to-sequence models; Code Llama has no target texts")
        prompts, batched = batch_prompts(text, text_pair, suffix, self.fill_token, bool(is_split_into_words))
        return encode_call(
            self.call_settings(),
            prompts,
            batched,
            mode=self._call_mode(split_special_tokens),
            add_special_tokens=add_special_tokens,
            suffix_first=self.suffix_first if suffix_first is None else bool(suffix_first),
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            stride=stride,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_tensors=return_tensors,
            return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask,
            return_overflowing_tokens=return_overflowing_tokens,
            return_special_tokens_mask=return_special_tokens_mask,
            return_offsets_mapping=return_offsets_mapping,
            return_length=return_length,
            verbose=verbose,
        )

    def pad(
        self,
        encoded_inputs: Any,
        padding: Any = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: Any = None,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Pads inputs encoded earlier (an encoding, a batch, or a list of per-example dicts, as data
        collators pass them), as transformers' ``tokenizer.pad`` does."""
        data, tensor_type = pad_encoded(self.call_settings(), encoded_inputs, padding, max_length, pad_to_multiple_of,
                                        padding_side, return_attention_mask, return_tensors)
        return BatchEncoding(data, tensor_type=tensor_type)

    def encode_plus(self, text: str, text_pair: str | None = None, **kwargs: Any) -> BatchEncoding:
        if not isinstance(text, str) and not kwargs.get("is_split_into_words"):
            raise TypeError(f"encode_plus takes one text (a str), not {type(text).__name__}; use batch_encode_plus")
        return self(text, text_pair, **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs: Sequence[Any], **kwargs: Any) -> BatchEncoding:
        if isinstance(batch_text_or_text_pairs, (str, Mapping)):
            kind = type(batch_text_or_text_pairs).__name__
            raise TypeError(f"batch_encode_plus takes a list of texts (or of (prefix, suffix) pairs), not a {kind}")
        return self(list(batch_text_or_text_pairs), **kwargs)

    def encode(
        self,
        text: str,
        text_pair: str | None = None,
        add_special_tokens: bool = True,
        padding: Any = False,
        truncation: Any = None,
        max_length: int | None = None,
        stride: int = 0,
        padding_side: str | None = None,
        return_tensors: Any = None,
        *,
        suffix: str | None = None,
        suffix_first: bool | None = None,
        split_special_tokens: bool | None = None,
        is_split_into_words: bool = False,
    ) -> Any:
        """Token ids of ``text`` (with ``<s>``/``</s>`` per the flags when add_special_tokens).

        A ``<FILL_ME>`` in the text, ``suffix=`` or ``text_pair`` builds an infill prompt (docs/infill.md).
        With ``is_split_into_words=True``, ``text`` is a list of words (docs/transformers.md)."""
        if is_split_into_words:
            return self(text, text_pair, add_special_tokens=add_special_tokens, padding=padding, truncation=truncation,
                        max_length=max_length, stride=stride, padding_side=padding_side, return_tensors=return_tensors,
                        suffix=suffix, suffix_first=suffix_first, split_special_tokens=split_special_tokens,
                        is_split_into_words=True)["input_ids"]
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if padding is False and truncation is None and max_length is None and return_tensors is None:
            if suffix is not None and text_pair is not None:
                raise ValueError("pass the infill suffix as text_pair or as suffix=, not both")
            prompt = make_prompt(text, suffix if suffix is not None else text_pair, self.fill_token)
            return self._encode_prompt(prompt.prefix, prompt.suffix, add_special_tokens,
                                       self.suffix_first if suffix_first is None else bool(suffix_first),
                                       self._call_mode(split_special_tokens))
        enc = self(text, text_pair, add_special_tokens=add_special_tokens, padding=padding, truncation=truncation,
                   max_length=max_length, stride=stride, padding_side=padding_side, return_tensors=return_tensors,
                   suffix=suffix, suffix_first=suffix_first, split_special_tokens=split_special_tokens)
        return enc["input_ids"]

    def _encode_prompt(self, prefix: str, suffix: str | None, add_special_tokens: bool, suffix_first: bool,
                       mode: str) -> list[int]:
        settings = self.call_settings()  # its core: the vocabulary of this call, whatever add_tokens does meanwhile
        core = settings.core
        if suffix is None:
            return simple_row(settings.plain_template(add_special_tokens), [core.encode(prefix, mode, True)])
        template = settings.infill_template(add_special_tokens, suffix_first)
        pre = core.encode(prefix_text(prefix), mode, False)
        suf = core.encode(suffix, mode, False)
        return simple_row(template, [pre, suf])

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False,
                 **kwargs: Any) -> list[str]:
        """The pieces of ``text`` (no ``<s>`` unless add_special_tokens); ``suffix=`` or a ``<FILL_ME>``
        gives the pieces of the infill prompt."""
        ids = self.encode(text, pair, add_special_tokens=add_special_tokens, **kwargs)
        pieces = [self._core.id_to_piece(i) for i in ids]
        if pair is None and kwargs.get("suffix") is None and not (self.fill_token and self.fill_token in text):
            # Added tokens that take in whitespace or match normalized text are the text they matched.
            matched = matched_pieces(self._core, text, self._call_mode(kwargs.get("split_special_tokens")))
            first = len(self._bos()) if add_special_tokens else 0
            if matched is not None and len(matched) == len(pieces) - first - (len(self._eos()) if add_special_tokens
                                                                              else 0):
                pieces[first:first + len(matched)] = matched
        return pieces

    # -- decoding -----------------------------------------------------------------------------

    def decode(
        self,
        token_ids: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        style: str = "transformers",
        **kwargs: Any,
    ) -> str:
        """Text of ``token_ids`` (a list, an int, a numpy array or a torch tensor). ``style="sentencepiece"``
        decodes as sentencepiece does instead of as transformers 4.x (README, "Behaviour modes")."""
        kwargs.pop("spaces_between_special_tokens", None)
        if kwargs:
            raise TypeError(f"decode() got unexpected keyword arguments {sorted(kwargs)}")
        text = self._core.decode(ids_arg(token_ids), style, skip_special_tokens)
        return self._clean(text, clean_up_tokenization_spaces)

    def batch_decode(
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        style: str = "transformers",
        **kwargs: Any,
    ) -> list[str]:
        """``decode`` of every sequence, in one native call (GIL released, all cores)."""
        kwargs.pop("spaces_between_special_tokens", None)
        if kwargs:
            raise TypeError(f"batch_decode() got unexpected keyword arguments {sorted(kwargs)}")
        if hasattr(sequences, "tolist"):
            sequences = sequences.tolist()
        batch = [ids_arg(s) for s in sequences]
        texts = self._core.decode_batch(batch, style, skip_special_tokens)
        return [self._clean(t, clean_up_tokenization_spaces) for t in texts]

    def _clean(self, text: str, clean_up_tokenization_spaces: bool | None) -> str:
        clean = (self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None
                 else clean_up_tokenization_spaces)
        return clean_up_tokenization(text) if clean else text

    def decode_stream(self, skip_special_tokens: bool = False, style: str = "transformers") -> StreamingDecoder:
        """A decoder for generation loops: ``step(id)`` returns the text that became final, ``finish()``
        the rest; together exactly ``decode(ids, skip_special_tokens)`` (without clean-up)."""
        if self._stream_tables is None:
            pieces = self._core.pieces()
            anchor = anchor_id(pieces)
            if anchor is None:
                raise ValueError("this vocabulary has no plain alphanumeric piece to anchor streaming decoding")
            self._stream_tables = (byte_values(pieces), anchor)
        table, anchor = self._stream_tables
        return StreamingDecoder(self._core, table, anchor, style, skip_special_tokens)

    # -- saving, pickling, equality -----------------------------------------------------------

    def save_pretrained(self, save_directory: str | os.PathLike[str], legacy_format: bool | None = None,
                        filename_prefix: str | None = None, push_to_hub: bool = False,
                        **kwargs: Any) -> tuple[str, ...]:
        """Writes tokenizer_config.json, special_tokens_map.json, tokenizer.json (unless ``legacy_format=True``)
        and, when there is a tokenizer.model (unless ``legacy_format=False``), tokenizer.model and
        added_tokens.json, which transformers 4.x and ``tokenizers`` load with identical ids. Returns
        transformers' list of files (which names added_tokens.json even when no token needed it)."""
        if push_to_hub:
            raise ValueError("push_to_hub is not supported: save, then upload the folder with huggingface_hub")
        settings, template = self.settings, self.chat_template
        jinja = template is not None and kwargs.get("save_jinja_files", True)
        config = {k: v for k, v in settings.init_kwargs.items() if k != "chat_template"}
        if template is not None and not jinja:
            config["chat_template"] = chat_files.config_value(template)
        written = saving.save(self._core, replace(settings, init_kwargs=config), self.vocab_file, save_directory,
                              filename_prefix, legacy_format, self.added_tokens_flags)
        # The .jinja files after the two config files, where transformers lists them.
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        templates = chat_files.write(template, Path(save_directory), prefix) if jinja else []
        return (*written[:2], *templates, *written[2:])

    def truncate_sequences(self, ids: list[int], pair_ids: list[int] | None = None, num_tokens_to_remove: int = 0,
                           truncation_strategy: Any = "longest_first",
                           stride: int = 0) -> tuple[list[int], list[int] | None, list[int]]:
        """transformers' ``truncate_sequences`` for ids built by hand: ``(ids, pair_ids, overflowing_tokens)``
        (``truncation_side`` says which end is cut)."""
        return truncate_sequences(ids, pair_ids, num_tokens_to_remove, truncation_strategy, stride,
                                  self.truncation_side)

    def __reduce__(self) -> tuple[Any, tuple[_native.Tokenizer, str, str]]:
        # The core (the model file's bytes and the tokens added to it) and canonical JSON strings: equal
        # tokenizers pickle to equal bytes (datasets' caching hashes the pickle), and unpickling parses the
        # file once in Rust. The second string: which special tokens are held as AddedToken objects.
        return (_restore, (self._core, self._settings_json(), self._held_json()))

    def _warn_if_too_long(self, rows: Sequence[Any]) -> None:
        key = "sequence-length-is-longer-than-the-specified-maximum"
        if self.deprecation_warnings.get(key) or unlimited(self.model_max_length) or self.model_max_length == 0:
            return
        # transformers names the first row that is too long, not the longest.
        too_long = next((len(r) for r in rows if len(r) > self.model_max_length), None)
        if too_long is not None:
            self.deprecation_warnings[key] = True
            loggers.TOKENIZATION.warning(
                "Token indices sequence length is longer than the specified maximum sequence length for this "
                f"model ({too_long} > {self.model_max_length}). Running this sequence through the model will "
                "result in indexing errors"
            )

    def __repr__(self) -> str:
        return (
            f"llamatok.CodeLlamaTokenizerFast(name_or_path={self.name_or_path!r}, vocab_size={self.vocab_size}, "
            f"mode={self.mode!r}, add_bos_token={self._add_bos_token}, add_eos_token={self._add_eos_token}, "
            f"padding_side={self.padding_side!r}, suffix_first={self.suffix_first})"
        )


def _restore(core: _native.Tokenizer, settings_json: str, held_json: str = "") -> CodeLlamaTokenizerFast:
    """Unpickles a ``CodeLlamaTokenizerFast`` (see ``__reduce__``)."""
    settings = json.loads(settings_json)
    settings.pop("added_vocab", None)
    tok = CodeLlamaTokenizerFast.__new__(CodeLlamaTokenizerFast)
    tok._setup(core, settings, restored=True)
    if held_json:
        tok._restore_held(held_json)
    return tok
