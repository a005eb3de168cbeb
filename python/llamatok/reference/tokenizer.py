"""The tokenizer object: a loaded model plus the encode and decode entry points."""

from __future__ import annotations

import operator
from pathlib import Path

from . import decode as decoding
from . import special
from .bpe import HuggingFaceBpe, SentencePieceBpe
from .hf_json import HuggingFaceModel, read_hf_json
from .model_proto import SentencePieceModel, read_model_proto
from .normalize import normalize
from .pieces import CONTROL, SPACE_SYMBOL, UNKNOWN

MODES = ("legacy", "non_legacy", "literal")
DECODE_STYLES = ("sentencepiece", "transformers")


def load(path: str | Path) -> ReferenceTokenizer:
    """Loads a ``tokenizer.model`` (SentencePiece) or a ``tokenizer.json`` (Hugging Face).

    The format is recognised from the content: text starting with ``{`` or ``[`` is read as JSON;
    anything else as a SentencePiece ``ModelProto``. Raises FileNotFoundError if there is no such file and
    ModelFileError if the file is malformed or of an unsupported kind.
    """
    head = Path(path).read_bytes()[:64]
    if head.lstrip().startswith((b"{", b"[")):
        return ReferenceTokenizer(read_hf_json(path))
    return ReferenceTokenizer(read_model_proto(path))


class ReferenceTokenizer:
    """A Llama-family BPE tokenizer, computed the slow and obvious way. Immutable once built."""

    def __init__(self, model: SentencePieceModel | HuggingFaceModel) -> None:
        self._pieces = list(model.pieces)
        if isinstance(model, SentencePieceModel):
            self._bpe: SentencePieceBpe | HuggingFaceBpe = SentencePieceBpe(
                self._pieces,
                byte_fallback=model.byte_fallback,
                whitespace_is_escaped=model.escape_whitespaces,
            )
            self._normalizer_flags = {
                "remove_extra_whitespaces": model.remove_extra_whitespaces,
                "escape_whitespaces": model.escape_whitespaces,
            }
            self._file_adds_dummy_prefix = model.add_dummy_prefix
            self._unk_surface = model.unk_surface
            self._default_special_tokens = {
                text: i for i, (text, _s, kind) in enumerate(self._pieces) if kind in (CONTROL, UNKNOWN)
            }
            self._special_ids = frozenset(self._default_special_tokens.values())
            self._piece_to_id = self._bpe.piece_to_id
        else:
            self._bpe = HuggingFaceBpe(
                model.model_vocab,
                model.merges,
                unk_id=model.unk_id,
                byte_fallback=model.byte_fallback,
                fuse_unk=model.fuse_unk,
                id_to_text=lambda i: self._pieces[i][0],
            )
            self._normalizer_flags = {"remove_extra_whitespaces": False, "escape_whitespaces": True}
            self._file_adds_dummy_prefix = model.add_dummy_prefix
            self._unk_surface = " \u2047 "
            self._default_special_tokens = dict(model.added_tokens)
            self._special_ids = model.special_ids
            self._piece_to_id = _HuggingFacePieceIds(self._pieces, model.unk_id)
        unknown = [text for text, _s, kind in self._pieces if kind == UNKNOWN]
        self._unk_piece: str | None = unknown[0] if unknown else None
        self._space_piece_id = self._lookup_exact(SPACE_SYMBOL)

    # --- the vocabulary -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._pieces)

    @property
    def pieces(self) -> list[tuple[str, float, str]]:
        """Every piece as ``(text, score, kind)``; the id is the index. A copy."""
        return list(self._pieces)

    @property
    def default_special_tokens(self) -> dict[str, int]:
        """The special tokens split out by default: control and unknown pieces of a ``tokenizer.model``,
        the ``added_tokens`` of a ``tokenizer.json``. A copy."""
        return dict(self._default_special_tokens)

    def id_to_piece(self, i: int) -> str:
        return self._pieces[self._check_id(i)][0]

    def piece_to_id(self, piece: str) -> int:
        """The id of a piece; like sentencepiece, the ``<unk>`` id for a text that is no piece."""
        if not isinstance(piece, str):
            raise TypeError(f"piece_to_id expects a str, got {type(piece).__name__}")
        return self._piece_to_id(piece)

    # --- encoding -------------------------------------------------------------------------------

    def encode(
        self,
        text: str,
        mode: str = "legacy",
        dummy_prefix: bool = True,
        special_tokens: dict[str, int] | None = None,
    ) -> list[int]:
        """Token ids of ``text``; never adds BOS or EOS. Modes: see ``special.py``.

        ``dummy_prefix=False`` prepends no ``▁`` to any segment (transformers' infilling does this).
        ``special_tokens`` (string -> id) replaces the default special tokens in the legacy and
        non_legacy modes.
        """
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        if not isinstance(dummy_prefix, bool):
            raise TypeError(f"dummy_prefix must be a bool, got {type(dummy_prefix).__name__}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(f"text is not valid Unicode (lone surrogate at index {error.start})") from None
        specials = self._check_special_tokens(special_tokens)

        if mode == "literal":
            return special.encode_literal(text, dummy_prefix, self._encode_text)
        if mode == "legacy":
            return special.encode_legacy(text, dummy_prefix, specials, self._encode_text)
        return special.encode_non_legacy(
            text, dummy_prefix, specials, self._encode_text, self._unk_piece, self._space_piece_id
        )

    def _encode_text(self, text: str, add_dummy_prefix: bool) -> list[int]:
        """Plain text, no special tokens: normalize, then run the merge loop."""
        normalized = normalize(
            text, add_dummy_prefix=add_dummy_prefix and self._file_adds_dummy_prefix, **self._normalizer_flags
        )
        if not normalized:
            return []
        return self._bpe.encode(normalized)

    # --- decoding -------------------------------------------------------------------------------

    def decode(self, ids: list[int], style: str = "transformers", skip_special_tokens: bool = False) -> str:
        """Text of ``ids``; styles: see ``decode.py``."""
        if style not in DECODE_STYLES:
            raise ValueError(f"unknown decode style {style!r}; expected one of {', '.join(DECODE_STYLES)}")
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise TypeError(f"decode expects a list of ints, got {type(ids).__name__}")
        ids = [self._check_id(i) for i in ids]
        if skip_special_tokens:
            ids = [i for i in ids if i not in self._special_ids]
        if style == "sentencepiece":
            return decoding.decode_sentencepiece(
                self._pieces,
                ids,
                unk_surface=self._unk_surface,
                add_dummy_prefix=self._file_adds_dummy_prefix,
                remove_extra_whitespaces=self._normalizer_flags["remove_extra_whitespaces"],
            )
        return decoding.decode_transformers(self._pieces, ids)

    # --- argument checks ------------------------------------------------------------------------

    def _check_id(self, i: object) -> int:
        if isinstance(i, bool):
            raise TypeError("token ids must be ints, got bool")
        try:
            # int, or an integer type such as numpy.int64; anything else raises TypeError, reported below.
            i = operator.index(i)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(f"token ids must be ints, got {type(i).__name__}") from None
        if not 0 <= i < len(self._pieces):
            raise ValueError(
                f"token id {i} is out of range: the vocabulary has ids 0..{len(self._pieces) - 1}"
            )
        return i

    def _check_special_tokens(self, special_tokens: dict[str, int] | None) -> dict[str, int]:
        if special_tokens is None:
            return self._default_special_tokens
        if not isinstance(special_tokens, dict):
            raise TypeError(
                f"special_tokens must be a dict of str to int, got {type(special_tokens).__name__}"
            )
        checked = {}
        for text, i in special_tokens.items():
            if not isinstance(text, str) or not text:
                raise ValueError(f"special token strings must be non-empty str, got {text!r}")
            checked[text] = self._check_id(i)
        return checked

    def _lookup_exact(self, text: str) -> int | None:
        for i, (piece, _s, _k) in enumerate(self._pieces):
            if piece == text:
                return i
        return None


class _HuggingFacePieceIds:
    """Piece text -> id for a ``tokenizer.json``: the ``<unk>`` id for unknown text, KeyError if none."""

    def __init__(self, pieces: list[tuple[str, float, str]], unk_id: int | None) -> None:
        self.ids = {text: i for i, (text, _s, _k) in enumerate(pieces)}
        self.unk_id = unk_id

    def __call__(self, text: str) -> int:
        if text in self.ids:
            return self.ids[text]
        if self.unk_id is None:
            raise KeyError(f"{text!r} is not a piece and the model has no unk token")
        return self.unk_id
