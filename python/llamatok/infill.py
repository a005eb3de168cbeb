"""Infilling prompts (docs/infill.md): where a prompt splits into prefix and suffix, how each part is
encoded, and the order of the parts. The one definition of the layout: the API's templates
(``template.infill``) and the fill-in-the-middle training documents (``preprocess/encode.py``) are
both built from :func:`layout` and :func:`part_text`.

Pure functions of their arguments: nothing here (or anywhere in llamatok) switches a tokenizer into an
"infill mode", so one tokenizer can build plain and infill inputs from many threads at once.
"""

from __future__ import annotations

#: The parts of an infill prompt, and of a fill-in-the-middle training document after it.
PREFIX, SUFFIX, MIDDLE = "prefix", "suffix", "middle"
#: The special tokens between them.
PRE, SUF, MID, EOT = "<PRE>", "<SUF>", "<MID>", "<EOT>"

#: The fill-in-the-middle layouts: Code Llama's (PSM or SPM, ``layout``) and Codestral's (``codestral_layout``).
CODELLAMA, CODESTRAL = "codellama", "codestral"
FIM_LAYOUTS = (CODELLAMA, CODESTRAL)
#: Codestral's pieces (Mistral's v3 and later SentencePiece vocabularies), by the part they stand before.
CODESTRAL_TOKENS = {PRE: "[PREFIX]", SUF: "[SUFFIX]"}


def split_prompt(text: str, suffix: str | None, fill_token: str | None) -> tuple[str, str | None]:
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


def layout(suffix_first: bool) -> tuple[str, ...]:
    """The order of an infill prompt: PSM ``<PRE> prefix <SUF> suffix <MID>`` or, suffix first, SPM
    ``<PRE> <SUF> suffix <MID> prefix``. A model then writes the middle and ``<EOT>``; a training
    document has them after the prompt."""
    if suffix_first:
        return (PRE, SUF, SUFFIX, MID, PREFIX)
    return (PRE, PREFIX, SUF, SUFFIX, MID)


def codestral_layout() -> tuple[str, ...]:
    """Codestral's order, as ``mistral-common``'s ``encode_fim``: ``[SUFFIX] suffix [PREFIX] prefix``, always
    suffix first and without a middle token (the model writes the middle right after the prefix, then
    ``</s>``)."""
    return (SUF, SUFFIX, PRE, PREFIX)


def codestral_part(part: str, text: str) -> tuple[str, bool]:
    """``(text, dummy_prefix)`` the core encodes (literal mode) for a part of a Codestral prompt:
    the prefix as sentencepiece encodes a text (with its dummy ``▁``, so an empty prefix gives no id),
    the suffix and the middle without a dummy ``▁`` (``mistral-common`` encodes ``"☺" + suffix`` and
    drops the ``▁`` and ``☺`` ids, which gives the same ids: no piece holds ``☺``)."""
    return text, part == PREFIX


def part_text(part: str, text: str) -> str:
    """The text the core encodes for a part, always without its dummy prefix: the prefix with one
    space in front (so it starts with exactly one ``▁``, an empty prefix included), the suffix and
    the middle as they are (no implicit leading ``▁``: they continue text)."""
    return prefix_text(text) if part == PREFIX else text


def prefix_text(prefix: str) -> str:
    """The text encoded (without a dummy prefix) for an infill prefix: it starts with exactly one ``▁``."""
    return " " + prefix
