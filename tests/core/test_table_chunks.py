"""Chunks answered from tables, a run at a time (rust/src/tiny_chunks.rs). Chunks of one ASCII byte (digits,
punctuation, line ends: a third of the chunks of code, two thirds of minified JavaScript's) come from a table of
each ASCII byte's id built at load; a byte that is not a piece (a line end, a tab, a control character in Llama's
vocabularies) is its byte fallback there, or `<unk>` without one, fused or not. Chunks of one character that is
not ASCII (most of CJK text and emoji) are taken while each does not join the next. Held to `tokenizers` on Code
Llama's vocabulary and on copies of it without byte fallback, memo on and off."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import llamatok

# Characters that make chunks of one byte next to each other, some that join them into longer chunks,
# control characters (not pieces), and characters that are not ASCII (the chunker's general path).
ALPHABET = "0123456789\n\t\r\x0b\x0c\x01\x1f\x7f ,.;:()[]{}'\"+-=<>!|&aebx_\u00e9\u4e2d\U0001f600"
texts = st.text(alphabet=ALPHABET, max_size=200)
# Characters that are not ASCII, many of which join their neighbours inside some piece (Cyrillic, kana,
# common CJK pairs, accented Latin, a literal `▁`), next to emoji (byte fallback) and ASCII.
WIDE = ("абвгдежиклмнопрст\u3067\u3059\u307e\u3057\u305f\u4e2d\u56fd\u4eba\u7684\u5927\u5b66"
        "\u00e9\u00fc\u00df\u2581\U0001f600\U0001f680 a1.\n")
wide_texts = st.text(alphabet=WIDE, max_size=200)


def _variant(codellama_json, tmp_path_factory, byte_fallback: bool, fuse_unk: bool):
    import tokenizers

    document = json.loads(codellama_json.read_text(encoding="utf-8"))
    document["model"]["byte_fallback"] = byte_fallback
    document["model"]["fuse_unk"] = fuse_unk
    path = tmp_path_factory.mktemp("vocab") / "tokenizer.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    ours = llamatok.Tokenizer.from_file(str(path))
    return [ours, ours.with_cache(False)], tokenizers.Tokenizer.from_file(str(path))


@pytest.fixture(scope="module", params=[(True, True), (False, True), (False, False)],
                ids=["byte-fallback", "unk-fused", "unk-each"])
def variant(request, codellama_json, tmp_path_factory):
    return _variant(codellama_json, tmp_path_factory, *request.param)


@given(text=texts, lead=st.integers(0, 70))
def test_runs_of_single_byte_chunks_equal_tokenizers(variant, text, lead):
    ours, oracle = variant
    # A lead of letters moves the run to every offset of the chunker's 64-byte blocks.
    text = "x" * lead + text
    expected = oracle.encode(text, add_special_tokens=False).ids
    for tok in ours:
        assert tok.encode(text, mode="literal") == expected, repr(text)


def test_long_runs_cross_blocks(variant):
    ours, oracle = variant
    for text in ["1" * 200, "\n" * 130, "(),;" * 50 + "\t" * 70, "a" + "7\n" * 100, "x\u00e9" + "9" * 65 + "\u4e2d"]:
        expected = oracle.encode(text, add_special_tokens=False).ids
        for tok in ours:
            assert tok.encode(text, mode="literal") == expected, repr(text)


@given(text=wide_texts, lead=st.sampled_from(["", "x", "\u4e2d", " "]))
def test_runs_of_single_character_chunks_equal_tokenizers(variant, text, lead):
    ours, oracle = variant
    text = lead + text
    expected = oracle.encode(text, add_special_tokens=False).ids
    for tok in ours:
        assert tok.encode(text, mode="literal") == expected, repr(text)
