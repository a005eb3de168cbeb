"""llamatok: the fastest exact tokenizer for Code Llama."""

from llamatok._native import ModelFileError, TokenIdError, Tokenizer, __version__

__all__ = ["ModelFileError", "TokenIdError", "Tokenizer", "__version__"]
