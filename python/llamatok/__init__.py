"""llamatok: the fastest exact tokenizer for Code Llama.

``CodeLlamaTokenizerFast`` is the transformers-style API; ``Tokenizer`` is the Rust core itself.

The names below are imported when first used (PEP 562), so that ``llamatok.reference`` (the
pure-Python executable specification) and ``llamatok.constants`` import without the compiled
extension.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llamatok._native import ModelFileError, TokenIdError, Tokenizer, __version__
    from llamatok.added_token import AddedToken
    from llamatok.batch_encoding import BatchEncoding
    from llamatok.code_llama import CodeLlamaTokenizerFast
    from llamatok.decode_stream import DecodeStream
    from llamatok.demo import demo_path
    from llamatok.streaming import StreamingDecoder

#: Where each public name lives.
_EXPORTS = {
    "AddedToken": "llamatok.added_token",
    "BatchEncoding": "llamatok.batch_encoding",
    "CodeLlamaTokenizerFast": "llamatok.code_llama",
    "DecodeStream": "llamatok.decode_stream",
    "ModelFileError": "llamatok._native",
    "StreamingDecoder": "llamatok.streaming",
    "TokenIdError": "llamatok._native",
    "Tokenizer": "llamatok._native",
    "__version__": "llamatok._native",
    "demo_path": "llamatok.demo",
}

#: The keys of ``_EXPORTS``, sorted; spelled out so that linters and type checkers see the exports.
__all__ = [
    "AddedToken",
    "BatchEncoding",
    "CodeLlamaTokenizerFast",
    "DecodeStream",
    "ModelFileError",
    "StreamingDecoder",
    "TokenIdError",
    "Tokenizer",
    "__version__",
    "demo_path",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'llamatok' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
