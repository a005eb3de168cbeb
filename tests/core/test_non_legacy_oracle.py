"""non_legacy mode against its oracle directly, not through the reference: transformers' slow tokenizers
with ``legacy=False`` against the Rust core (``mode="non_legacy"``) and ``CodeLlamaTokenizerFast(legacy=False)``,
on the pinned code corpus and on generated text.

The slow tokenizers read only a ``tokenizer.model`` and the Code Llama fixture has only ``tokenizer.json``, so they
run on Llama 2's model, whose ids 0..31999 are Code Llama's. On Llama 2's model ids are compared as they are. Code
Llama's file has 16 more pieces: the infill tokens (which slow ``CodeLlamaTokenizer`` adds to Llama 2's model as
ids 32000..) and pieces its extra merges build from text holding a ``<`` (``▁<E``, ``▁<SU``, ...). So against it
pieces are compared, on text with no ``<`` outside the special tokens.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import llamatok

SPECIAL_TEXT = ["<s>", "</s>", "<unk>"]
INFILL_TEXT = ["<PRE>", "<SUF>", "<MID>", "<EOT>"]  # after the dummy `▁`, they are Code Llama's infill tokens
CODE_BITS = ["def ", "return", "\n", "\t", "    ", "self.", "(x)", "==", "#", "'", "é", "中文", "\U0001f600", "\x00"]

any_char = st.characters(blacklist_categories=("Cs",))
fragments = st.one_of(
    st.text(any_char, max_size=10),
    st.sampled_from(SPECIAL_TEXT + CODE_BITS + ["<", ">", "<0x41>", "<E1", "\u2581<PRE>", "<M"]),
    st.integers(1, 20).map(lambda n: " " * n),
    st.integers(1, 4).map(lambda n: "\u2581" * n),
)
texts = st.lists(fragments, max_size=12).map("".join)
# Text whose only `<` belong to special tokens: Code Llama's extra merges cannot act on it.
plain_fragments = st.one_of(
    st.text(any_char.filter(lambda c: c != "<"), max_size=10),
    st.sampled_from(SPECIAL_TEXT + CODE_BITS),
    st.integers(1, 20).map(lambda n: " " * n),
    st.integers(1, 4).map(lambda n: "\u2581" * n),
)
plain_texts = st.lists(plain_fragments, max_size=12).map("".join)


def only_special_angle_brackets(text: str) -> bool:
    for token in SPECIAL_TEXT:
        text = text.replace(token, "")
    return "<" not in text


@pytest.fixture(scope="module")
def slow_llama(llama2_model):
    import transformers

    return transformers.LlamaTokenizer(vocab_file=str(llama2_model), legacy=False)


@pytest.fixture(scope="module")
def slow_llama_no_prefix(llama2_model):
    import transformers

    return transformers.LlamaTokenizer(vocab_file=str(llama2_model), legacy=False, add_prefix_space=False)


@pytest.fixture(scope="module")
def slow_code_llama(llama2_model):
    import transformers

    return transformers.CodeLlamaTokenizer(vocab_file=str(llama2_model), legacy=False)


@pytest.fixture(scope="module")
def core(llama2_model):
    return llamatok.Tokenizer.from_file(str(llama2_model))


@pytest.fixture(scope="module")
def fast_llama(llama2_model):
    return llamatok.CodeLlamaTokenizerFast(vocab_file=str(llama2_model), legacy=False)


@pytest.fixture(scope="module")
def fast_code_llama(codellama_dir):
    return llamatok.CodeLlamaTokenizerFast.from_pretrained(codellama_dir, legacy=False)


@given(text=texts)
def test_core_equals_slow_llama_tokenizer(core, slow_llama, slow_llama_no_prefix, text):
    assert core.encode(text, "non_legacy") == slow_llama.encode(text, add_special_tokens=False)
    assert core.encode(text, "non_legacy", False) == slow_llama_no_prefix.encode(text, add_special_tokens=False)
    assert core.with_cache(False).encode(text, "non_legacy") == slow_llama.encode(text, add_special_tokens=False)


@given(text=texts)
def test_class_equals_slow_llama_tokenizer(fast_llama, slow_llama, text):
    # The class splits a text at its fill token, as CodeLlamaTokenizerFast does; LlamaTokenizer has none
    # (Hypothesis draws the literal from the package's source). That case is the test below.
    assume(fast_llama.fill_token not in text)
    assert fast_llama.mode == "non_legacy"
    assert fast_llama.encode(text) == slow_llama.encode(text)
    assert fast_llama.encode(text, add_special_tokens=False) == slow_llama.encode(text, add_special_tokens=False)
    assert fast_llama(text)["input_ids"] == slow_llama(text)["input_ids"]


def test_the_fill_token_without_infill_tokens_is_what_code_llama_fast_does(fast_llama, slow_llama):
    # transformers' CodeLlamaTokenizerFast: an empty suffix encodes the prefix alone; any other raises,
    # as Llama 2's vocabulary has no prefix, middle and suffix tokens.
    assert fast_llama.encode("x = 1<FILL_ME>") == slow_llama.encode("x = 1")
    assert fast_llama.encode("<FILL_ME>") == slow_llama.encode("")
    with pytest.raises(ValueError, match="needs prefix_token, middle_token and suffix_token"):
        fast_llama.encode("<FILL_ME>0")


@given(start=st.sampled_from(["", *INFILL_TEXT, *SPECIAL_TEXT]), rest=plain_texts)
def test_code_llama_class_equals_slow_code_llama_in_pieces(fast_code_llama, slow_code_llama, start, rest):
    """A text starting with "<PRE>" gives ▁<PRE> (the dummy ▁ takes part in the matching)."""
    text = start + rest
    expected = slow_code_llama.convert_ids_to_tokens(slow_code_llama.encode(text))
    assert fast_code_llama.convert_ids_to_tokens(fast_code_llama.encode(text)) == expected


@pytest.mark.slow
def test_llama2_non_legacy_equals_slow_on_corpus(core, fast_llama, slow_llama, code_corpus):
    names, texts = zip(*code_corpus)
    expected = [slow_llama.encode(t, add_special_tokens=False) for t in texts]
    got = {
        "core": [core.encode(t, "non_legacy") for t in texts],
        "core batch": core.encode_batch(list(texts), "non_legacy", num_threads=2),
        "class": [ids[1:] for ids in fast_llama(list(texts))["input_ids"]],  # without the <s> it adds
    }
    for path, ids in got.items():
        bad = [n for n, a, b in zip(names, ids, expected) if a != b]
        assert not bad, f"{path}: {len(bad)} of {len(names)} files differ, first {bad[:3]}"


@pytest.mark.slow
def test_code_llama_non_legacy_equals_slow_on_corpus(fast_code_llama, slow_code_llama, code_corpus):
    files = [(n, t) for n, t in code_corpus if only_special_angle_brackets(t)]
    assert len(files) >= len(code_corpus) // 4, "most of the corpus was left out"
    for name, text in files:
        expected = slow_code_llama.convert_ids_to_tokens(slow_code_llama.encode(text))
        assert fast_code_llama.convert_ids_to_tokens(fast_code_llama.encode(text)) == expected, name
