"""llamatok: the fastest exact tokenizer for Code Llama.

``CodeLlamaTokenizerFast`` is the transformers-style API; ``Tokenizer`` is the Rust core itself.
"""

from llamatok._native import ModelFileError, TokenIdError, Tokenizer, __version__
from llamatok.batch_encoding import BatchEncoding
from llamatok.code_llama import CodeLlamaTokenizerFast
from llamatok.demo import demo_path
from llamatok.streaming import StreamingDecoder

__all__ = [
    "BatchEncoding",
    "CodeLlamaTokenizerFast",
    "ModelFileError",
    "StreamingDecoder",
    "TokenIdError",
    "Tokenizer",
    "__version__",
    "demo_path",
]
