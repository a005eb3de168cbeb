"""transformers' ``clean_up_tokenization``, applied by ``decode`` when ``clean_up_tokenization_spaces``
is on (off for Code Llama's files)."""

from __future__ import annotations

#: What transformers replaces, in order: spaces before punctuation and contractions.
REPLACEMENTS = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


def clean_up_tokenization(text: str) -> str:
    for before, after in REPLACEMENTS:
        text = text.replace(before, after)
    return text
