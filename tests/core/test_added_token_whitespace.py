"""Added tokens made of (or next to) whitespace, with lstrip, rstrip, single_word and normalized, against
tokenizers' own matching (`add_tokens` on Code Llama's tokenizer.json): the same ids wherever tokenizers
gives ids, and ids, not an exception, where it panics ("AddedVocabulary bad split": a token's rstrip took in
the next whitespace token, whose lstrip then starts after its end). A token taken in that way is left out."""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llamatok

CONTENTS = ["\n", " ", "\n\n", "\t", " \n", "<a>", "<b>", "x"]
PIECES = ["\n", " ", "  ", "\t", "<a>", "<b>", "x", "y", "a", "\u2581"]

# llamatok's order: (content, special, normalized, lstrip, rstrip, single_word); special tokens are not part
# of this: literal mode leaves them as text, where tokenizers matches them.
tokens_st = st.lists(
    st.tuples(st.sampled_from(CONTENTS), st.just(False), st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    min_size=1, max_size=3, unique_by=lambda t: t[0])
texts_st = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)


@pytest.fixture(scope="module")
def base(codellama_json):
    return llamatok.Tokenizer.from_file(str(codellama_json))


@functools.lru_cache(maxsize=64)
def oracle(path, tokens):
    import tokenizers

    hf = tokenizers.Tokenizer.from_file(str(path))
    hf.add_tokens([tokenizers.AddedToken(c, special=s, normalized=n, lstrip=ls, rstrip=rs, single_word=w)
                   for c, s, n, ls, rs, w in tokens])
    return hf


def oracle_ids(path, tokens, text):
    """tokenizers' ids, or None where it panics."""
    hf = oracle(str(path), tuple(tokens))
    try:
        return hf.encode(text, add_special_tokens=False).ids
    except BaseException:  # pyo3's PanicException derives from BaseException
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=tokens_st, text=texts_st)
def test_whitespace_added_tokens_equal_tokenizers(base, codellama_json, tokens, text):
    tok, _ = base.with_added_tokens(tokens)
    ids = tok.encode(text, mode="literal")
    expected = oracle_ids(codellama_json, tokens, text)
    if expected is not None:
        assert ids == expected
    for mode in ("legacy", "literal", "non_legacy"):
        got, spans, *_ = tok.encode_aligned(text, mode=mode)
        assert all(0 <= a <= b <= len(text.encode()) for a, b in spans), spans
        assert [i for i, _ in tok.encode_tokens(text, mode=mode)] == tok.encode(text, mode=mode) == got


def test_a_whitespace_token_taken_in_by_rstrip_is_left_out(base, codellama_json):
    """`<a>` with rstrip takes in the newlines, so the newline token (lstrip) matched inside them is not a token
    of its own: its span would be empty after `"<a>\n"` (tokenizers drops it) and run backwards after
    `"<a>\n\n"` (tokenizers 0.22 panics; the core once did too)."""
    tokens = [("<a>", False, False, False, True, False), ("\n", False, False, True, False, False)]
    tok, _ = base.with_added_tokens(tokens)
    a, newline = tok.piece_to_id("<a>"), tok.piece_to_id("\n")
    for text in ("<a>\nx", "<a>\n\nx"):
        expected = oracle_ids(codellama_json, tokens, text)
        if expected is not None:
            assert tok.encode(text, mode="literal") == expected
        for mode in ("legacy", "literal", "non_legacy"):
            ids = tok.encode(text, mode=mode)
            assert ids[0] == a and newline not in ids, (text, mode, ids)
