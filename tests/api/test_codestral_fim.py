"""Codestral-style fill-in-the-middle prompts (llamatok.codestral, docs/infill.md "Codestral") against
mistral-common 1.13.1's ``encode_fim`` on Mistral's v3 and v7 models, and the errors elsewhere."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llamatok
from conftest import MISTRAL_FAMILY, require
from llamatok.codestral import fim_prompt

TAGS = ["[INST]", "[/INST]", "[PREFIX]", "[SUFFIX]", "[MIDDLE]", "[REF]", "[/REF]", "[REFERENCE_DOC_1]",
        "[REFERENCE_DOC_10]", "[REF", "<s>", "</s>", "\u263a", "\u2581"]
parts = st.lists(
    st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), st.sampled_from(TAGS),
              st.sampled_from(["def ", "\n", "    ", "return x", " ", "  "])),
    max_size=8,
).map("".join)


@cache
def models(version: str):
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    path = require(MISTRAL_FAMILY[version], "run python tests/fetch_mistral.py (tests/run does)")
    return llamatok.Tokenizer.from_file(str(path)), MistralTokenizer.from_file(str(path))


def oracle(mistral, prompt: str, suffix: str) -> list[int]:
    from mistral_common.protocol.fim.request import FIMRequest

    return list(mistral.encode_fim(FIMRequest(prompt=prompt, suffix=suffix)).tokens)


@pytest.mark.parametrize("version", ["v3", "v7"])
@settings(max_examples=300)
@given(prompt=parts, suffix=parts)
def test_ids_equal_mistral_common(version, prompt, suffix):
    tok, mistral = models(version)
    assert fim_prompt(tok, prompt, suffix) == oracle(mistral, prompt, suffix)


@pytest.mark.parametrize("version", ["v3", "v7"])
def test_layout(version):
    tok, mistral = models(version)
    ids = fim_prompt(tok, "def f(x):", "    return x")
    pre, suf = tok.piece_to_id("[PREFIX]"), tok.piece_to_id("[SUFFIX]")
    assert (pre, suf) == (11, 13)
    suffix = tok.encode("    return x", "literal", False)
    prefix = tok.encode("def f(x):", "literal")
    assert ids == [tok.bos_id, suf, *suffix, pre, *prefix] == oracle(mistral, "def f(x):", "    return x")
    assert fim_prompt(tok, "a", "b", add_bos=False) == ids_without_bos(fim_prompt(tok, "a", "b"))
    # An empty prompt and suffix give no text ids, as in mistral-common.
    assert fim_prompt(tok, "", "") == [tok.bos_id, suf, pre] == oracle(mistral, "", "")
    # No multi-character piece holds ☺, so mistral-common's "☺" + suffix trick equals no dummy prefix.
    assert not [p for p, _, _ in tok.pieces() if "\u263a" in p and p != "\u263a"]


def ids_without_bos(ids: list[int]) -> list[int]:
    assert ids[0] == 1
    return ids[1:]


def test_vocabularies_without_the_pieces_are_refused(demo_dir):
    tok, mistral = models("v2")
    with pytest.raises(ValueError, match=r"no \[PREFIX\] or \[SUFFIX\] piece"):
        fim_prompt(tok, "a", "b")
    # mistral-common gives <unk> (0) where the markers should be.
    assert oracle(mistral, "a", "b")[1] == tok.unk_id == 0
    demo = llamatok.Tokenizer.from_file(str(demo_dir / "tokenizer.model"))
    with pytest.raises(ValueError, match="Mistral's v3 or later"):
        fim_prompt(demo, "a", "b")


def test_argument_types():
    tok, _ = models("v7")
    with pytest.raises(TypeError, match="prompt must be a str"):
        fim_prompt(tok, b"x", "y")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="suffix must be a str"):
        fim_prompt(tok, "x", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="llamatok.Tokenizer"):
        fim_prompt("tokenizer.model", "x", "y")  # type: ignore[arg-type]
