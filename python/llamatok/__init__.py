"""llamatok: the fastest exact tokenizer for Code Llama.

``CodeLlamaTokenizerFast`` is the transformers-style API; ``Tokenizer`` is the Rust core itself.
"""

from llamatok._native import ModelFileError, TokenIdError, Tokenizer, __version__
from llamatok.code_llama import CodeLlamaTokenizerFast
from llamatok.demo import demo_path

__all__ = [
    "CodeLlamaTokenizerFast",
    "ModelFileError",
    "TokenIdError",
    "Tokenizer",
    "__version__",
    "demo_path",
]
