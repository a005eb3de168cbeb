"""Type stubs of the Rust extension ``llamatok._native`` (rust/src/python/).

Checked against the built extension by ``python -m mypy.stubtest llamatok._native`` (.ci/lint-python).
"""

from collections.abc import Callable, Iterable, Sequence
from os import PathLike
from typing import Any, final

from typing_extensions import Buffer, TypeAlias

__all__ = ["MAX_THREADS", "IdBuffer", "JsonlBlock", "ModelFileError", "NpyMetadata", "TokenIdError", "Tokenizer",
           "__version__", "default_threads", "jsonl_texts", "mds_samples_into", "parquet_list_levels",
           "read_jsonl_block"]

__version__: str

# Token ids: a list, tuple or other iterable of ints, or a one-dimensional buffer of integers (a numpy
# array of any integer dtype, an IdBuffer, a memoryview).
_Ids: TypeAlias = Iterable[int] | Buffer
_Mode: TypeAlias = str  # "legacy" | "non_legacy" | "literal"
_Style: TypeAlias = str  # "transformers" | "sentencepiece"
# An added token: (content, special, normalized, lstrip, rstrip, single_word).
_TokenTuple: TypeAlias = tuple[str, bool, bool, bool, bool, bool]
# What pickling a Tokenizer stores: the source file's bytes, the special tokens it was given (None: the
# file's), the tokens of each with_added_tokens call, the chunk memo setting, the document cache capacity.
_Reduced: TypeAlias = tuple[bytes, list[tuple[str, int]] | None, list[list[_TokenTuple]], bool, int]
_Restore: TypeAlias = Callable[[bytes, list[tuple[str, int]] | None, list[list[_TokenTuple]], bool, int], "Tokenizer"]

class ModelFileError(ValueError):
    """A tokenizer file is malformed, truncated, or of a kind llamatok does not support."""

class TokenIdError(IndexError):
    """A token id is outside the vocabulary (negative and >= 2**32 ids included)."""

#: The most threads a batch call accepts (``num_threads`` above it is a ValueError).
MAX_THREADS: int

def default_threads() -> int: ...
def jsonl_texts(
    blocks: Sequence[bytes | JsonlBlock], keys: Sequence[str]
) -> tuple[list[list[str]], IdBuffer, int] | None: ...
def read_jsonl_block(stream: Any, size: int) -> JsonlBlock | None:
    """Up to ``size`` bytes of a binary stream (``readinto``, ``readline``), then on to the end of their
    last line; None at the end of the stream."""
def mds_samples_into(data: Buffer, sizes: bytes, out: Buffer) -> int: ...
def parquet_list_levels(lengths: bytes) -> tuple[bytes, bytes]: ...
@final
class NpyMetadata:
    """dolma's gzipped metadata file beside an ``npy`` token file, a line per document that has ids;
    lengths are the bytes of a little-endian ``uint64`` array."""

    def __init__(self) -> None: ...
    def add(self, lengths: bytes, first_token: int, first_number: int) -> bytes: ...
    def finish(self) -> bytes: ...

@final
class IdBuffer:
    """Read-only ids (or offsets) owned by Rust, exposed through the buffer protocol."""

    @property
    def dtype(self) -> str: ...
    @property
    def address(self) -> int:
        """The address of the first item: the memory every buffer view of this object reads."""
    def __len__(self) -> int: ...
    # The buffer protocol (PEP 688): a C slot, seen from Python as these methods from 3.12 on.
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __release_buffer__(self, buffer: memoryview, /) -> None: ...

@final
class JsonlBlock:
    """Whole JSONL lines read by :func:`read_jsonl_block`, owned by Rust; read-only bytes through the
    buffer protocol."""

    @property
    def lines(self) -> int: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __release_buffer__(self, buffer: memoryview, /) -> None: ...

@final
class Tokenizer:
    """An immutable tokenizer; safe to share between threads."""

    @staticmethod
    def from_file(path: str | PathLike[str]) -> Tokenizer: ...
    @staticmethod
    def from_bytes(data: bytes, name: str = "<bytes>") -> Tokenizer: ...
    def to_bytes(self) -> bytes: ...
    def __reduce__(self) -> tuple[_Restore, _Reduced]: ...
    @staticmethod
    def _restore(
        data: bytes,
        special_tokens: Sequence[tuple[str, int]] | None,
        added: Sequence[Sequence[_TokenTuple]],
        use_cache: bool,
        document_cache_bytes: int = 0,
    ) -> Tokenizer: ...
    def with_special_tokens(self, tokens: Sequence[tuple[str, int]]) -> Tokenizer: ...
    def with_added_tokens(self, tokens: Sequence[_TokenTuple]) -> tuple[Tokenizer, int]: ...
    @property
    def added_vocab(self) -> list[tuple[int, str, bool, bool, bool, bool, bool]]: ...
    def with_cache(self, enabled: bool) -> Tokenizer: ...
    def with_document_cache(self, max_bytes: int = 67108864) -> Tokenizer: ...
    @property
    def document_cache_bytes(self) -> int: ...
    def encode(self, text: str, mode: _Mode = "legacy", dummy_prefix: bool = True) -> list[int]: ...
    def encode_with_offsets(
        self, text: str, mode: _Mode = "legacy", dummy_prefix: bool = True
    ) -> tuple[list[int], list[tuple[int, int]]]: ...
    def encode_aligned(
        self, text: str, mode: _Mode = "legacy", dummy_prefix: bool = True
    ) -> tuple[list[int], list[tuple[int, int]], list[int], list[tuple[int, str]]]: ...
    def encode_tokens(self, text: str, mode: _Mode = "legacy", dummy_prefix: bool = True) -> list[tuple[int, str]]: ...
    def count(self, text: str, mode: _Mode = "legacy", dummy_prefix: bool = True) -> int: ...
    def encode_batch(
        self, texts: Sequence[str], mode: _Mode = "legacy", dummy_prefix: bool = True, num_threads: int | None = None
    ) -> list[list[int]]: ...
    def encode_batch_flat(
        self,
        texts: Sequence[str],
        mode: _Mode = "legacy",
        dummy_prefix: bool = True,
        num_threads: int | None = None,
        dtype: str = "uint32",
        *,
        bos_id: int | None = None,
        eos_id: int | None = None,
    ) -> tuple[IdBuffer, IdBuffer]: ...
    def encode_jsonl_flat(
        self,
        blocks: Sequence[bytes | JsonlBlock],
        keys: Sequence[str],
        mode: _Mode = "legacy",
        dummy_prefix: bool = True,
        num_threads: int | None = None,
        dtype: str = "uint32",
        *,
        bos_id: int | None = None,
        eos_id: int | None = None,
    ) -> tuple[list[tuple[IdBuffer, IdBuffer]], IdBuffer, int] | None: ...
    def decode(self, ids: _Ids, style: _Style = "transformers", skip_special_tokens: bool = False) -> str: ...
    def decode_batch(
        self,
        batch: Iterable[_Ids],
        style: _Style = "transformers",
        skip_special_tokens: bool = False,
        num_threads: int | None = None,
    ) -> list[str]: ...
    @property
    def vocab_size(self) -> int: ...
    def __len__(self) -> int: ...
    def id_to_piece(self, id: int) -> str: ...
    def piece_to_id(self, piece: str) -> int | None: ...
    def pieces(self) -> list[tuple[str, float, str]]: ...
    def get_vocab(self) -> dict[str, int]: ...
    @property
    def added_tokens(self) -> list[tuple[str, int, bool]]: ...
    @property
    def special_tokens(self) -> list[tuple[str, int]]: ...
    @property
    def bos_id(self) -> int | None: ...
    @property
    def eos_id(self) -> int | None: ...
    @property
    def unk_id(self) -> int | None: ...
    @property
    def pad_id(self) -> int | None: ...
    @property
    def template(self) -> tuple[list[int], list[int]]: ...
    @property
    def pre_tokenizer(self) -> None: ...
    @property
    def add_dummy_prefix(self) -> bool: ...
    @property
    def byte_fallback(self) -> bool: ...
