"""Word and character alignment (``is_split_into_words``, ``BatchEncoding.word_ids()``, ``char_to_token()``...)
against transformers 4.57's CodeLlamaTokenizerFast on the same folder: every row of every call, every method
at every index (tokens, characters and words, in range and past the end), on fixed and generated texts and
word lists, with padding, truncation and overflow.

Where llamatok deliberately differs (infill offsets index the caller's text; pre-tokenized pairs are infill
prompts like text pairs) the tests marked DIFFERENCE pin what it does instead.
"""

from __future__ import annotations

import pickle

import pytest
from api_fixtures import TEXTS, folder, oracle, ours, vocab
from hypothesis import given, settings
from hypothesis import strategies as st

import llamatok

__all__ = ["folder", "oracle", "ours", "vocab"]  # fixtures used by name

#: Characters that exercise the Code Llama specifics: the dummy ▁, byte fallback (emoji, rare CJK),
#: special-token text matched inside the input, whitespace runs.
ALPHABET = st.sampled_from(list("ab xyz_(){}\n\t.") + ["  ", "😀", "日", "\u2581", "<s>", "</s>", "<unk>",
                                                        "\u2581<PRE>", "é", "\U0001f9d1\u200d\U0001f4bb"])
TEXT = st.lists(ALPHABET, max_size=12).map("".join)
WORDS = st.lists(TEXT, max_size=6)


def alignment_of(enc, row: int) -> dict:
    """Everything the alignment methods say about one row, asked at every index and a little past the end."""
    n = len(enc.tokens(row))
    chars = 1 + max([end for span in (enc.token_to_chars(row, t) for t in range(n)) if span for end in span[1:]],
                    default=0)
    words = 2 + max([w for w in enc.word_ids(row) if w is not None], default=0)
    out = {
        "tokens": enc.tokens(row),
        "word_ids": enc.word_ids(row),
        "sequence_ids": enc.sequence_ids(row),
        "token_to_sequence": [enc.token_to_sequence(row, t) for t in range(n + 1)],
        "token_to_word": [enc.token_to_word(row, t) for t in range(n + 1)],
        "token_to_chars": [tuple(s) if s else s for s in (enc.token_to_chars(row, t) for t in range(n))],
    }
    for seq in (0, 1):
        out[f"char_to_token{seq}"] = [enc.char_to_token(row, c, seq) for c in range(chars)]
        out[f"char_to_word{seq}"] = [enc.char_to_word(row, c, seq) for c in range(chars)]
        out[f"word_to_tokens{seq}"] = [tuple(s) if s else s for s in (enc.word_to_tokens(row, w, seq)
                                                                       for w in range(words))]
        out[f"word_to_chars{seq}"] = [tuple(enc.word_to_chars(row, w, seq)) for w in range(words)
                                      if enc.word_to_tokens(row, w, seq) is not None]  # transformers: TypeError
    return out


def compare(ours_tok, oracle_tok, *args, **kwargs) -> None:
    a, b = ours_tok(*args, **kwargs), oracle_tok(*args, **kwargs)
    ids_a, ids_b = (getattr(x, "tolist", lambda x=x: x)() for x in (a["input_ids"], b["input_ids"]))
    assert ids_a == ids_b
    rows = len(ids_a) if ids_a and isinstance(ids_a[0], list) else 1
    assert a.n_sequences == b.n_sequences
    assert a.is_fast and b.is_fast
    for row in range(rows):
        assert alignment_of(a, row) == alignment_of(b, row), (args, kwargs, row)


@pytest.fixture(scope="module")
def padded(folder):
    from api_fixtures import load_oracle, load_ours

    mine, theirs = load_ours(folder), load_oracle(folder)
    mine.pad_token = theirs.pad_token = "</s>"
    return mine, theirs


def test_fixed_texts(ours, oracle):
    for text in TEXTS:
        compare(ours, oracle, text)
    compare(ours, oracle, TEXTS)
    compare(ours, oracle, TEXTS, return_offsets_mapping=True)  # the alignment made with the call's own rows


def test_words_methods_examples(ours, oracle, vocab):
    """A few values written out (they hold for both vocabularies: the words around special tokens)."""
    enc = ours("ab <s>x")
    assert enc.word_ids() == oracle("ab <s>x").word_ids()
    assert enc.word_ids()[0] is None  # the <s> the template adds
    assert enc.word_ids()[-2:] == [1, 2]  # the <s> typed in the text is a word, and so is what follows it
    assert enc.token_to_chars(0) is None
    assert enc.char_to_token(0) == 1
    assert isinstance(enc.word_to_chars(0), llamatok.alignment.CharSpan)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(TEXT, min_size=1, max_size=4), bos=st.booleans())
def test_generated_texts(ours, oracle, texts, bos):
    compare(ours, oracle, texts[0], add_special_tokens=bos)
    compare(ours, oracle, texts, add_special_tokens=bos)


@settings(max_examples=60, deadline=None)
@given(words=st.lists(WORDS, min_size=1, max_size=4))
def test_generated_word_lists(ours, oracle, words):
    compare(ours, oracle, words[0], is_split_into_words=True)
    compare(ours, oracle, words, is_split_into_words=True)
    compare(ours, oracle, words, is_split_into_words=True, return_offsets_mapping=True)
    assert ours.encode(words[0], is_split_into_words=True) == oracle.encode(words[0], is_split_into_words=True)


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(TEXT, min_size=1, max_size=3), max_length=st.integers(3, 9), stride=st.integers(0, 1),
       side=st.sampled_from(["left", "right"]), words=st.booleans())
def test_padding_truncation_overflow(padded, texts, max_length, stride, side, words):
    mine, theirs = padded
    inputs = [t.split(" ") for t in texts] if words else texts
    compare(mine, theirs, inputs, is_split_into_words=words, padding=True, truncation=True, max_length=max_length,
            stride=stride, return_overflowing_tokens=True, padding_side=side)
    compare(mine, theirs, inputs, is_split_into_words=words, padding="max_length", max_length=12,
            padding_side=side)


@pytest.fixture(scope="module")
def with_added(folder):
    """Both classes with added tokens of every kind of flag: their tokens are the text they matched, and
    each match is a word."""
    from api_fixtures import load_oracle, load_ours
    from transformers import AddedToken

    pair = load_ours(folder), load_oracle(folder)
    for tok in pair:
        tok.add_tokens([AddedToken("<foo>", lstrip=True, normalized=True), AddedToken("bar", single_word=True,
                                                                                      rstrip=True),
                        AddedToken("<raw>", normalized=False, rstrip=True)])
        tok.add_special_tokens({"additional_special_tokens": [AddedToken("<sp>", lstrip=True, rstrip=True,
                                                                         normalized=False)],
                                "pad_token": "</s>"})
    return pair


ADDED_TEXT = st.lists(st.sampled_from(["hello", " ", "  ", "<foo>", "bar", "<sp>", "<raw>", "<s>", "x", "\n", "é",
                                       "\u2581", "😀"]), max_size=10).map("".join)


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(ADDED_TEXT, min_size=1, max_size=3), split=st.booleans(), max_length=st.integers(3, 9))
def test_added_tokens_are_words_and_their_tokens_are_what_they_matched(with_added, texts, split, max_length):
    mine, theirs = with_added
    compare(mine, theirs, texts[0], return_offsets_mapping=True, split_special_tokens=split)
    compare(mine, theirs, texts, padding=True, split_special_tokens=split)
    compare(mine, theirs, texts, padding=True, truncation=True, max_length=max_length, stride=1,
            return_overflowing_tokens=True, padding_side="left")
    compare(mine, theirs, [t.split("b") for t in texts], is_split_into_words=True, return_offsets_mapping=True)
    assert mine(texts[0]).tokens()[1:] == mine.tokenize(texts[0]) == theirs.tokenize(texts[0])


def test_tensors_keep_alignment(padded):
    mine, theirs = padded
    compare(mine, theirs, ["a b", "x <s> 😀"], padding=True, return_tensors="np")


def test_infill_words_and_sequences(ours, oracle):
    """Infill prompts: the prefix is sequence 0, the suffix 1, each with its own words; the template's
    infill tokens have none."""
    a, b = ours("def f(<s>", suffix="ret </s>"), oracle("def f(<s>", suffix="ret </s>")
    assert a["input_ids"] == b["input_ids"]
    for name in ("tokens", "word_ids", "sequence_ids"):
        assert getattr(a, name)() == getattr(b, name)(), name
    n = len(a.tokens())
    assert [a.token_to_word(t) for t in range(n)] == [b.token_to_word(t) for t in range(n)]
    assert [a.token_to_sequence(t) for t in range(n)] == [b.token_to_sequence(t) for t in range(n)]
    assert a.n_sequences == b.n_sequences == 2


def test_infill_offsets_index_the_callers_text(ours, oracle):
    """DIFFERENCE: transformers' infill offsets count in " " + prefix (one too many); llamatok's in the
    prefix as given, so char_to_token(i) finds the token of prefix[i]."""
    prefix = "def f("
    a, b = ours(prefix, suffix="ret"), oracle(prefix, suffix="ret")
    assert a.token_to_chars(2) == (0, 3) and b.token_to_chars(2) == (0, 4)
    for i, ch in enumerate(prefix):
        token = a.char_to_token(i)
        start, end = a.token_to_chars(token)
        assert start <= i < end and ch in a.tokens()[token].replace("\u2581", " ") + prefix[start:end]
    assert a.char_to_token(0, sequence_index=1) == a.tokens().index("ret")


def test_word_pairs_are_infill_prompts(ours):
    """DIFFERENCE: a pre-tokenized pair is an infill prompt, as text pairs are (transformers 4.57: a single
    pair is a TypeError, a batch of pairs `<s> A <s> B`). Each word is encoded as a text of its own."""
    prefix, suffix = ["def", "f("], ["return", "x"]
    enc = ours(prefix, suffix, is_split_into_words=True)
    word = {w: ours.encode(w, add_special_tokens=False) for w in prefix + suffix}
    assert enc["input_ids"] == [ours.bos_token_id, ours.prefix_id, *word["def"], *word["f("], ours.suffix_id,
                                *word["return"], *word["x"], ours.middle_id]
    assert enc.sequence_ids() == [None, None] + [0] * (len(word["def"]) + len(word["f("])) + [None] + \
        [1] * (len(word["return"]) + len(word["x"])) + [None]
    assert enc.word_to_tokens(1, sequence_index=1) == (len(enc.tokens()) - 1 - len(word["x"]), len(enc.tokens()) - 1)
    batch = ours([prefix], suffix=[suffix], is_split_into_words=True)
    assert batch["input_ids"] == [enc["input_ids"]]
    assert ours.tokenize(prefix, is_split_into_words=True) == [p for w in prefix for p in ours.tokenize(w)]


def test_words_is_deprecated_like_transformers(ours, oracle):
    with pytest.warns(FutureWarning, match="word_ids"):
        mine = ours("a b").words()
    with pytest.warns(FutureWarning, match="word_ids"):
        theirs = oracle("a b").words()
    assert mine == theirs


def test_bad_arguments(ours):
    enc = ours(["a", "b"])
    with pytest.raises(IndexError, match="batch index 5"):
        enc.word_ids(5)
    with pytest.raises(ValueError, match="negative"):
        enc.char_to_token(0, -1)
    with pytest.raises(TypeError, match="list of words"):
        ours("not words", is_split_into_words=True)
    with pytest.raises(TypeError, match="every word must be a str"):
        ours(["a", 3], is_split_into_words=True)


def test_pickling_and_pad_results(ours, oracle):
    made = ours(["a b", "c"])
    made.word_ids()  # made before pickling: kept
    assert pickle.loads(pickle.dumps(made)).word_ids(1) == made.word_ids(1)
    unmade = pickle.loads(pickle.dumps(ours(["a b", "c"])))
    with pytest.raises(ValueError, match="before pickling"):
        unmade.word_ids()
    ours_padded = ours.pad({"input_ids": [[1, 2], [3]]}, padding=False)
    assert ours_padded.is_fast is oracle.pad({"input_ids": [[1, 2], [3]]}, padding=False).is_fast is False
