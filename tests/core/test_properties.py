"""Property tests: the Rust core gives exactly the reference's ids, in every special-token mode,
with and without the dummy prefix, with the chunk cache on and off, alone and in batches; and
decoding gives the text back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import llamatok
from conftest import INFILL_TOKENS
from llamatok.reference import load as load_reference

SPECIAL_TEXT = ["<s>", "</s>", "<unk>", "\u2581<PRE>", "\u2581<SUF>", "\u2581<MID>", "\u2581<EOT>", "<FILL_ME>",
                "<0x41>"]
CODE_BITS = ["def ", "return", "\n", "\t", "    ", "self.", "(", ")", "==", "__init__", "#", "'", '"', "<E1", "<M"]

any_char = st.characters(blacklist_categories=("Cs",))
fragments = st.one_of(
    st.text(any_char, max_size=12),
    st.sampled_from(SPECIAL_TEXT + CODE_BITS),
    st.integers(1, 40).map(lambda n: " " * n),
    st.integers(1, 5).map(lambda n: "\u2581" * n),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=5),
    st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), min_size=1, max_size=3),
    st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789+/="), min_size=10, max_size=120),
)
texts = st.lists(fragments, max_size=10).map("".join)

VOCABS = ["demo-model", "demo-json", "llama2-model", "codellama-json", "mistral-model"]


def vocab_path(name: str, request) -> str:
    if name.startswith("demo"):
        folder = llamatok.demo_path()
        return str(folder / ("tokenizer.model" if name.endswith("model") else "tokenizer.json"))
    fixture = {"llama2-model": "llama2_model", "codellama-json": "codellama_json",
               "mistral-model": "mistral_model"}[name]
    return str(request.getfixturevalue(fixture))


@pytest.fixture(scope="module", params=VOCABS)
def pair(request):
    """(fast, reference, special tokens) on one vocabulary; the infill pieces are special when present."""
    path = vocab_path(request.param, request)
    fast = llamatok.Tokenizer.from_file(path)
    specials = {t: i for t, i, _ in fast.added_tokens}
    for infill in ("\u2581<PRE>", "\u2581<SUF>", "\u2581<MID>", "\u2581<EOT>"):
        if fast.piece_to_id(infill) is not None:
            specials[infill] = fast.piece_to_id(infill)
    return fast.with_special_tokens(sorted(specials.items())), load_reference(path), specials


@pytest.mark.parametrize("mode", ["legacy", "non_legacy", "literal"])
@pytest.mark.parametrize("dummy_prefix", [True, False])
@given(text=texts)
def test_fast_equals_reference(pair, mode, dummy_prefix, text):
    fast, ref, specials = pair
    expected = ref.encode(text, mode=mode, dummy_prefix=dummy_prefix, special_tokens=specials)
    assert fast.encode(text, mode, dummy_prefix) == expected
    assert fast.with_cache(False).encode(text, mode, dummy_prefix) == expected


@given(batch=st.lists(texts, max_size=8))
def test_batch_equals_single_calls(pair, batch):
    fast, _, _ = pair
    single = [fast.encode(t) for t in batch]
    assert fast.encode_batch(batch, num_threads=1) == single
    assert fast.encode_batch(batch, num_threads=2) == single
    ids, offsets = fast.encode_batch_flat(batch, num_threads=2)
    flat = list(memoryview(ids))
    bounds = list(memoryview(offsets))
    assert [flat[a:b] for a, b in zip(bounds, bounds[1:])] == single


@given(text=texts)
def test_literal_round_trip(pair, text):
    """decode(encode(x)) == x up to `▁`, which SentencePiece reads as a space (docs/decoding.md)."""
    fast, ref, _ = pair
    ids = fast.encode(text, "literal")
    for style in ("transformers", "sentencepiece"):
        assert fast.decode(ids, style) == text.replace("\u2581", " ")


@given(ids=st.lists(st.integers(0, 300), max_size=30) | st.lists(st.integers(0, 7999), max_size=30))
def test_decode_equals_reference(pair, ids):
    fast, ref, _ = pair
    for style in ("transformers", "sentencepiece"):
        for skip in (False, True):
            assert fast.decode(ids, style, skip) == ref.decode(ids, style=style, skip_special_tokens=skip)


@pytest.mark.parametrize("mode", ["legacy", "non_legacy", "literal"])
@given(text=texts)
def test_offsets_cover_the_same_ids(pair, mode, text):
    fast, _, _ = pair
    ids, offsets = fast.encode_with_offsets(text, mode)
    assert ids == fast.encode(text, mode)
    assert all(0 <= a <= b <= len(text) for a, b in offsets)
    assert [a for a, _ in offsets] == sorted(a for a, _ in offsets)


@given(text=texts)
def test_offsets_equal_tokenizers(codellama_json, text):

    hf = _hf_with_infill(str(codellama_json))
    tok = llamatok.Tokenizer.from_file(str(codellama_json))
    tok = tok.with_special_tokens([(t, i) for t, i, _ in tok.added_tokens] + list(INFILL_TOKENS.items()))
    expected = hf.encode(text, add_special_tokens=False)
    assert tok.encode_with_offsets(text) == (expected.ids, [tuple(o) for o in expected.offsets])


_HF = {}


def _hf_with_infill(path: str):
    import tokenizers

    if path not in _HF:
        hf = tokenizers.Tokenizer.from_file(path)
        hf.add_special_tokens(list(INFILL_TOKENS))
        _HF[path] = hf
    return _HF[path]
