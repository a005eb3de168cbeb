"""Codestral-style fill-in-the-middle prompts on Mistral's SentencePiece models (v3 and later, which have
``[PREFIX]`` and ``[SUFFIX]``): ``<s> [SUFFIX] suffix [PREFIX] prefix``, the ids ``mistral-common``'s
``encode_fim`` gives (docs/infill.md, "Codestral"). The layout and how each part is encoded are
``infill.codestral_layout`` and ``infill.codestral_part``, which the training documents of
``llamatok preprocess --fim-layout codestral`` use too.
"""

from __future__ import annotations

from llamatok._native import Tokenizer
from llamatok.infill import CODESTRAL_TOKENS, PREFIX, SUFFIX, codestral_layout, codestral_part


def codestral_ids(tokenizer: Tokenizer) -> dict[str, int]:
    """The ids of ``[PREFIX]`` and ``[SUFFIX]`` by ``infill.PRE``/``infill.SUF``; a ``ValueError`` naming what
    is missing when the vocabulary lacks them (Mistral's v1 and v2 models, Code Llama's)."""
    ids = {part: tokenizer.piece_to_id(token) for part, token in CODESTRAL_TOKENS.items()}
    missing = [CODESTRAL_TOKENS[part] for part, i in ids.items() if i is None]
    if missing:
        raise ValueError(
            f"this vocabulary has no {' or '.join(missing)} piece: Codestral-style fill-in-the-middle needs one of "
            "Mistral's v3 or later SentencePiece models (mistral-common's v1 and v2 files give <unk> ids there)"
        )
    return {part: i for part, i in ids.items() if i is not None}


def fim_prompt(tokenizer: Tokenizer, prompt: str, suffix: str = "", *, add_bos: bool = True) -> list[int]:
    """The ids of a Codestral FIM prompt: ``<s> [SUFFIX] suffix [PREFIX] prompt`` (``<s>`` when ``add_bos``),
    every text part in literal mode (``[INST]`` typed in the code is text; user-defined pieces are matched as
    sentencepiece matches them). The model writes the middle next, then ``</s>``."""
    if not isinstance(tokenizer, Tokenizer):
        raise TypeError(f"tokenizer must be a llamatok.Tokenizer, not {type(tokenizer).__name__}")
    for name, value in (("prompt", prompt), ("suffix", suffix)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    specials = codestral_ids(tokenizer)
    parts = {PREFIX: prompt, SUFFIX: suffix}
    ids: list[int] = []
    if add_bos:
        if tokenizer.bos_id is None:
            raise ValueError("add_bos=True but this vocabulary has no BOS piece: pass add_bos=False")
        ids.append(tokenizer.bos_id)
    for item in codestral_layout():
        if item in specials:
            ids.append(specials[item])
        else:
            text, dummy_prefix = codestral_part(item, parts[item])
            ids.extend(tokenizer.encode(text, "literal", dummy_prefix))
    return ids
