"""Normalization: what happens to the text before it is cut into symbols.

This is sentencepiece's ``Normalizer::Normalize`` for a model without a character map (Llama's is
``identity``), and it is also what the ``tokenizer.json`` normalizer ``Prepend("▁")`` +
``Replace(" " -> "▁")`` computes:

1. Empty text stays empty (so no dummy prefix either).
2. With ``remove_extra_whitespaces`` (off for Llama): drop leading spaces, squeeze runs of spaces
   to one, and at the end drop trailing whitespace symbols.
3. With ``add_dummy_prefix``: start the result with one whitespace symbol.
4. Every U+0020 becomes the whitespace symbol ``▁`` (U+2581) when ``escape_whitespaces`` is on.
   Nothing else changes: tabs, newlines, NUL, and a ``▁`` already in the text stay as they are.
"""

from __future__ import annotations

from .pieces import SPACE_SYMBOL


def normalize(
    text: str,
    *,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool = False,
    escape_whitespaces: bool = True,
) -> str:
    """Returns the normalized text that the BPE merge loop works on."""
    if remove_extra_whitespaces:
        text = text.lstrip(" ")
    if not text:
        return ""
    space = SPACE_SYMBOL if escape_whitespaces else " "
    out = [space] if add_dummy_prefix else []
    previous_was_space = remove_extra_whitespaces  # a space right after the start is dropped
    for char in text:
        if char == " ":
            if previous_was_space and remove_extra_whitespaces:
                continue
            out.append(space)
            previous_was_space = True
        else:
            out.append(char)
            previous_was_space = False
    if remove_extra_whitespaces:
        # sentencepiece strips trailing whitespace symbols, whatever put them there (even a "▁"
        # that was in the input text, or the dummy prefix itself).
        while out and out[-1] == space:
            out.pop()
    return "".join(out)
