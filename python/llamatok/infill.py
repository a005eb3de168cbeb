"""Infilling prompts (SPEC §5): where a prompt splits into prefix and suffix.

Pure functions of their arguments: nothing here (or anywhere in llamatok) switches a tokenizer into an
"infill mode", so one tokenizer can build plain and infill inputs from many threads at once.
"""

from __future__ import annotations

from typing import Optional, Tuple


def split_prompt(text: str, suffix: Optional[str], fill_token: Optional[str]) -> Tuple[str, Optional[str]]:
    """``(prefix, suffix)`` of a prompt; ``suffix`` is None for plain (non-infill) encoding.

    An explicit ``suffix`` wins and leaves ``text`` untouched, as in transformers. Otherwise the one
    ``fill_token`` in ``text`` splits it. An empty suffix means plain encoding of the prefix."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if suffix is not None:
        if not isinstance(suffix, str):
            raise TypeError(f"suffix must be a str, not {type(suffix).__name__}")
        return text, (suffix or None)
    if fill_token and fill_token in text:
        parts = text.split(fill_token)
        if len(parts) != 2:
            raise ValueError(
                f"the prompt holds {len(parts) - 1} {fill_token!r} markers; infilling takes exactly one "
                f"(split the prompt yourself and pass suffix=..., or remove the extra markers)"
            )
        return parts[0], (parts[1] or None)
    return text, None


def prefix_text(prefix: str) -> str:
    """The text encoded (without a dummy prefix) for an infill prefix: it starts with exactly one ``▁``."""
    return " " + prefix
