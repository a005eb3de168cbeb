"""Facts the Python layer needs in several places, stated once.

Pure Python with no imports of the package, so that any module (and the reference) can use it.
"""

from __future__ import annotations

#: The SentencePiece space: what a leading space of a word becomes in a piece.
SPIECE_UNDERLINE = "\u2581"

#: Code Llama's infilling pieces and the marker that splits a prompt (docs/infill.md).
PREFIX_TOKEN = "\u2581<PRE>"
MIDDLE_TOKEN = "\u2581<MID>"
SUFFIX_TOKEN = "\u2581<SUF>"
EOT_TOKEN = "\u2581<EOT>"
FILL_TOKEN = "<FILL_ME>"

#: transformers' ``model_max_length`` for a tokenizer without a limit.
VERY_LARGE_INTEGER = int(1e30)
#: transformers' threshold: a ``model_max_length`` above it means "no limit" (no truncation to it,
#: no padding to it, no warning about longer inputs).
LARGE_INTEGER = int(1e20)


def unlimited(model_max_length: int) -> bool:
    """Whether ``model_max_length`` means "no limit", as transformers reads it."""
    return model_max_length > LARGE_INTEGER
