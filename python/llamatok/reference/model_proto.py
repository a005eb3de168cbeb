"""Read a SentencePiece ``tokenizer.model`` (a protobuf ``ModelProto``) by hand, without protobuf.

Protobuf wire format, as much of it as this file needs:

- A message is a sequence of fields. Each field starts with a varint key ``(number << 3) | wire_type``.
- Wire types: 0 varint, 1 fixed 8 bytes, 2 length-delimited (a varint length, then that many bytes),
  5 fixed 4 bytes. Types 3 and 4 (groups) are obsolete and refused.
- A varint is little-endian base-128: 7 bits per byte, high bit set on every byte but the last, at most
  10 bytes. A negative int32 (``pad_id = -1``) is written as the 10-byte varint of its 64-bit two's
  complement.
- Unknown fields are skipped. A singular field written several times keeps its last value, except a
  message field, whose occurrences are merged (which is the same as parsing their bytes concatenated).

The fields read (see ``sentencepiece_model.proto``):

- ``ModelProto``: pieces 1 (repeated ``SentencePiece``), trainer_spec 2, normalizer_spec 3,
  denormalizer_spec 5.
- ``SentencePiece``: piece 1 (string), score 2 (float), type 3 (enum, absent = NORMAL 1).
  Types: NORMAL 1, UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5, BYTE 6.
- ``TrainerSpec``: model_type 3 (UNIGRAM 1 by default; only BPE 2 is accepted),
  treat_whitespace_as_suffix 24, byte_fallback 35, unk_surface 44 (default ``" ⁇ "``).
- ``NormalizerSpec``: precompiled_charsmap 2, add_dummy_prefix 3, remove_extra_whitespaces 4,
  escape_whitespaces 5 (the three booleans default to true).

Then the vocabulary is checked the way sentencepiece checks it when it loads a model
(``ModelInterface::InitializePieces``): no empty piece, no duplicate, exactly one UNKNOWN piece, byte
pieces only with byte fallback, and all 256 of them when byte fallback is on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelFileError
from .pieces import (
    BYTE,
    CONTROL,
    MERGEABLE_KINDS,
    NORMAL,
    UNKNOWN,
    UNUSED,
    USER_DEFINED,
    sentencepiece_byte_value,
)

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LENGTH_DELIMITED = 2
WIRE_FIXED32 = 5

PIECE_TYPES = {1: NORMAL, 2: UNKNOWN, 3: CONTROL, 4: USER_DEFINED, 5: UNUSED, 6: BYTE}
MODEL_TYPES = {1: "UNIGRAM", 2: "BPE", 3: "WORD", 4: "CHAR"}
MODEL_TYPE_BPE = 2
DEFAULT_UNK_SURFACE = " \u2047 "  # " ⁇ "
MAX_PIECE_BYTES = 8000  # sentencepiece refuses longer pieces


@dataclass(frozen=True)
class SentencePieceModel:
    """What the reference needs from a ``tokenizer.model``."""

    path: str
    pieces: list[tuple[str, float, str]]  # (text, score, kind); the id is the index
    byte_fallback: bool
    unk_surface: str
    add_dummy_prefix: bool
    remove_extra_whitespaces: bool
    escape_whitespaces: bool


class _Fields:
    """The fields of one message: field number -> list of (wire type, raw value) in file order."""

    def __init__(self, path: str, message_name: str, data: bytes) -> None:
        self.path = path
        self.message_name = message_name
        self.by_number: dict[int, list[tuple[int, int | bytes]]] = {}
        pos = 0
        while pos < len(data):
            key, pos = self._varint(data, pos)
            number, wire_type = key >> 3, key & 7
            if number == 0:
                raise self._error(f"field number 0 at byte {pos}")
            value: int | bytes
            if wire_type == WIRE_VARINT:
                value, pos = self._varint(data, pos)
            elif wire_type == WIRE_FIXED64:
                value, pos = self._fixed(data, pos, 8)
            elif wire_type == WIRE_FIXED32:
                value, pos = self._fixed(data, pos, 4)
            elif wire_type == WIRE_LENGTH_DELIMITED:
                length, pos = self._varint(data, pos)
                if pos + length > len(data):
                    raise self._error(
                        f"field {number} claims {length} bytes but only {len(data) - pos} remain (truncated?)"
                    )
                value, pos = data[pos : pos + length], pos + length
            else:
                raise self._error(
                    f"field {number} uses wire type {wire_type}, which protobuf no longer allows"
                )
            self.by_number.setdefault(number, []).append((wire_type, value))

    def _error(self, problem: str) -> ModelFileError:
        return ModelFileError(self.path, f"not a valid SentencePiece model: {self.message_name}: {problem}")

    def _varint(self, data: bytes, pos: int) -> tuple[int, int]:
        value = 0
        for i in range(10):
            if pos >= len(data):
                raise self._error("a varint runs past the end of the data (truncated?)")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << (7 * i)
            if byte < 0x80:
                return value, pos
        raise self._error("a varint is longer than 10 bytes")

    def _fixed(self, data: bytes, pos: int, size: int) -> tuple[int, int]:
        if pos + size > len(data):
            raise self._error("a fixed-size field runs past the end of the data (truncated?)")
        return int.from_bytes(data[pos : pos + size], "little"), pos + size

    def _values(self, number: int, name: str, wire_type: int) -> list[int | bytes]:
        values = []
        for found_type, value in self.by_number.get(number, []):
            if found_type != wire_type:
                raise self._error(f"field {name} ({number}) has wire type {found_type}, expected {wire_type}")
            values.append(value)
        return values

    def has(self, number: int) -> bool:
        return number in self.by_number

    def messages(self, number: int, name: str) -> list[bytes]:
        """Every occurrence of a repeated message field."""
        return [bytes(v) for v in self._values(number, name, WIRE_LENGTH_DELIMITED)]

    def message(self, number: int, name: str) -> bytes:
        """A singular message field: its occurrences merged (empty if absent)."""
        return b"".join(self.messages(number, name))

    def bytes_(self, number: int, name: str, default: bytes = b"") -> bytes:
        values = self._values(number, name, WIRE_LENGTH_DELIMITED)
        return bytes(values[-1]) if values else default

    def string(self, number: int, name: str, default: str = "") -> str:
        raw = self.bytes_(number, name, default.encode("utf-8"))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._error(f"field {name} ({number}) is not valid UTF-8: {raw!r}") from None

    def uint(self, number: int, name: str, default: int) -> int:
        values = self._values(number, name, WIRE_VARINT)
        return int(values[-1]) if values else default

    def bool_(self, number: int, name: str, default: bool) -> bool:
        return self.uint(number, name, int(default)) != 0

    def float32(self, number: int, name: str, default: float) -> float:
        values = self._values(number, name, WIRE_FIXED32)
        if not values:
            return default
        value: float
        (value,) = struct.unpack("<f", int(values[-1]).to_bytes(4, "little"))
        return value


def read_model_proto(path: str | Path) -> SentencePieceModel:
    """Parse and check a SentencePiece BPE model file. Raises FileNotFoundError or ModelFileError."""
    path_str = str(path)
    data = Path(path).read_bytes()
    if not data:
        raise ModelFileError(path_str, "the file is empty")
    model = _Fields(path_str, "ModelProto", data)
    trainer = _Fields(path_str, "TrainerSpec", model.message(2, "trainer_spec"))
    normalizer = _Fields(path_str, "NormalizerSpec", model.message(3, "normalizer_spec"))
    denormalizer = _Fields(path_str, "denormalizer_spec", model.message(5, "denormalizer_spec"))

    model_type = trainer.uint(3, "model_type", 1)
    if model_type != MODEL_TYPE_BPE:
        name = MODEL_TYPES.get(model_type, f"unknown type {model_type}")
        raise ModelFileError(path_str, f"model_type is {name}; only BPE models are supported")
    if trainer.bool_(24, "treat_whitespace_as_suffix", False):
        raise ModelFileError(path_str, "treat_whitespace_as_suffix is set; it is not supported")
    if normalizer.bytes_(2, "precompiled_charsmap"):
        raise ModelFileError(
            path_str,
            "the normalizer has a precompiled_charsmap (e.g. NFKC); only identity normalization is supported",
        )
    if denormalizer.bytes_(2, "precompiled_charsmap"):
        raise ModelFileError(path_str, "the denormalizer has a precompiled_charsmap; it is not supported")

    byte_fallback = trainer.bool_(35, "byte_fallback", False)
    pieces = [_read_piece(path_str, index, raw) for index, raw in enumerate(model.messages(1, "pieces"))]
    _check_pieces(path_str, pieces, byte_fallback)

    return SentencePieceModel(
        path=path_str,
        pieces=pieces,
        byte_fallback=byte_fallback,
        unk_surface=trainer.string(44, "unk_surface", DEFAULT_UNK_SURFACE),
        add_dummy_prefix=normalizer.bool_(3, "add_dummy_prefix", True),
        remove_extra_whitespaces=normalizer.bool_(4, "remove_extra_whitespaces", True),
        escape_whitespaces=normalizer.bool_(5, "escape_whitespaces", True),
    )


def _read_piece(path: str, index: int, raw: bytes) -> tuple[str, float, str]:
    fields = _Fields(path, f"SentencePiece #{index}", raw)
    text = fields.string(1, "piece")
    score = fields.float32(2, "score", 0.0)
    type_number = fields.uint(3, "type", 1)
    if type_number not in PIECE_TYPES:
        raise ModelFileError(path, f"piece #{index} {text!r} has unknown type {type_number}")
    return text, score, PIECE_TYPES[type_number]


def _check_pieces(path: str, pieces: list[tuple[str, float, str]], byte_fallback: bool) -> None:
    if not pieces:
        raise ModelFileError(path, "the model has no pieces")
    # sentencepiece keeps mergeable pieces and reserved ones (control, unknown, byte) in two maps, so
    # the same text may appear once in each; a duplicate inside one map is an error.
    seen: dict[tuple[bool, str], int] = {}
    unknown_ids = []
    bytes_found = set()
    for i, (text, _score, kind) in enumerate(pieces):
        if not text:
            raise ModelFileError(path, f"piece #{i} is empty")
        if "\0" in text:
            raise ModelFileError(path, f"piece #{i} {text!r} contains a NUL character")
        if len(text.encode("utf-8")) >= MAX_PIECE_BYTES:
            raise ModelFileError(
                path, f"piece #{i} is {len(text.encode('utf-8'))} bytes long; the limit is 7999"
            )
        key = (kind in MERGEABLE_KINDS, text)
        if key in seen:
            raise ModelFileError(path, f"piece {text!r} is defined twice (ids {seen[key]} and {i})")
        seen[key] = i
        if kind == UNKNOWN:
            unknown_ids.append(i)
        if kind == BYTE:
            if not byte_fallback:
                raise ModelFileError(
                    path, f"byte piece {text!r} (id {i}) is present but byte_fallback is off"
                )
            value = sentencepiece_byte_value(text)
            if value is None:
                raise ModelFileError(path, f"piece #{i} {text!r} has type BYTE but is not named <0xXX>")
            bytes_found.add(value)
    if len(unknown_ids) != 1:
        raise ModelFileError(
            path, f"the model must have exactly one UNKNOWN piece, it has {len(unknown_ids)}"
        )
    if byte_fallback and len(bytes_found) != 256:
        raise ModelFileError(
            path, f"byte_fallback is on but only {len(bytes_found)} of the 256 byte pieces exist"
        )
