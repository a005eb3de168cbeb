"""Infilling (docs/infill.md) through CodeLlamaTokenizerFast: the layouts, batch infilling, the offsets, and
the transformers 4.57 bugs that llamatok does not copy (each marked DIFFERENCE: the README lists them).
"""

from __future__ import annotations

import pytest
from api_fixtures import FILL_TEXTS, INFILLS, as_plain, folder_of, load_oracle, load_ours

SEED_PROMPT = FILL_TEXTS[0]


@pytest.fixture(scope="module")
def codellama():
    return load_ours(folder_of("codellama"))


@pytest.fixture(scope="module")
def demo():
    return load_ours(folder_of("demo"))


def test_spec_example(codellama):
    """docs/infill.md: transformers 4.57.6, Hub files, add_eos_token=True."""
    tok = load_ours(folder_of("codellama"), add_eos_token=True)
    assert (tok.encode("def f(x):", suffix="    return x")
            == [1, 32007, 822, 285, 29898, 29916, 1125, 32008, 1678, 736, 921, 32009, 2])


def test_layouts(codellama):
    tok = codellama
    prefix_ids = tok._core.encode(" def f(x):", "legacy", False)
    suffix_ids = tok._core.encode("    return x", "legacy", False)
    psm = tok.encode("def f(x):", suffix="    return x")
    spm = tok.encode("def f(x):", suffix="    return x", suffix_first=True)
    P, S, M = tok.prefix_id, tok.suffix_id, tok.middle_id
    assert psm == [1, P, *prefix_ids, S, *suffix_ids, M]
    assert spm == [1, P, S, *suffix_ids, M, *prefix_ids]
    assert tok.encode("def f(x):", suffix="    return x", add_special_tokens=False) == psm[1:]
    assert tok.eot_id == 32010 and tok.eot_id not in psm + spm  # ▁<EOT> is never added on encode


def test_fill_token_and_suffix_are_the_same_prompt(demo):
    prefix, suffix = INFILLS[0]
    text = prefix + demo.fill_token + suffix
    assert demo.encode(text) == demo.encode(prefix, suffix=suffix) == demo.encode(prefix, suffix)
    assert demo(text)["input_ids"] == demo(prefix, suffix=suffix)["input_ids"]
    assert demo.tokenize(text) == demo.tokenize(prefix, suffix=suffix)


def test_empty_suffix_is_plain_encoding(demo):
    assert demo.encode("x = 1<FILL_ME>") == demo.encode("x = 1")
    assert demo.encode("x = 1", suffix="") == demo.encode("x = 1")
    # An explicit suffix leaves a <FILL_ME> in the text alone (as in transformers).
    ids = demo.encode("a <FILL_ME> b", suffix="c")
    assert demo.decode(ids).count("<FILL_ME>") == 1


def test_two_fill_markers_is_a_clear_error(demo):
    """DIFFERENCE: transformers fails with "too many values to unpack (expected 2)"."""
    for call in (demo.encode, demo, demo.tokenize, lambda t: demo([t, "ok"])):
        with pytest.raises(ValueError, match="2 '<FILL_ME>' markers"):
            call("a <FILL_ME> b <FILL_ME> c")


def test_two_fill_markers_in_transformers():
    oracle = load_oracle(folder_of("demo"))
    with pytest.raises(ValueError, match="too many values to unpack"):
        oracle.encode("a <FILL_ME> b <FILL_ME> c")


def test_infill_does_not_leak_into_later_calls():
    """DIFFERENCE: transformers switches its shared backend into an infill mode for the call and back
    afterwards; a call that fails in between leaves it there, and later plain calls lose <s> and the
    dummy prefix. llamatok has no such mode."""
    folder = folder_of("demo")
    ours, oracle = load_ours(folder), load_oracle(folder)
    before = oracle.encode("Hello world")
    assert ours.encode("Hello world") == before
    for tok in (ours, oracle):
        with pytest.raises(Exception, match="(?i)too short|cannot fit"):
            tok("def f(x):", suffix="    return x", truncation="only_second", max_length=6)
    assert ours.encode("Hello world") == before
    assert oracle.encode("Hello world") != before  # the upstream bug, still there in 4.57


def test_suffix_first_from_the_constructor():
    """DIFFERENCE: transformers 4.57 takes suffix_first only per call and ignores the constructor's."""
    folder = folder_of("demo")
    ours, oracle = load_ours(folder, suffix_first=True), load_oracle(folder, suffix_first=True)
    spm = load_ours(folder).encode("a", suffix="b", suffix_first=True)
    assert ours.encode("a", suffix="b") == spm
    assert oracle.encode("a", suffix="b") != spm  # upstream: PSM
    assert ours.encode("a", suffix="b", suffix_first=False) == oracle.encode("a", suffix="b")


def test_spm_is_not_swapped(demo):
    """Some transformers releases swapped prefix and suffix under suffix_first; SPM is
    [<s>] ▁<PRE> ▁<SUF> suffix ▁<MID> prefix."""
    ids = demo.encode("PREFIX", suffix="SUFFIX", suffix_first=True)
    text = demo.decode(ids)
    assert text.index("SUFFIX") < text.index("<MID>") < text.index("PREFIX")


def test_batch_infilling(demo):
    """DIFFERENCE: transformers' batch path ignores <FILL_ME> (encodes it as text) and encodes text pairs
    as [<s>] A [<s>] B; llamatok infills every item, so a batch equals its single calls."""
    texts = FILL_TEXTS + ["plain text", ""]
    batch = demo(texts)
    assert batch["input_ids"] == [demo(t)["input_ids"] for t in texts]
    pairs = demo([p for p, _ in INFILLS], [s for _, s in INFILLS], suffix_first=True)
    assert pairs["input_ids"] == [demo.encode(p, suffix=s, suffix_first=True) for p, s in INFILLS]
    assert (demo([p for p, _ in INFILLS], suffix=[s for _, s in INFILLS], suffix_first=True)["input_ids"]
            == pairs["input_ids"])
    assert demo(list(INFILLS))["input_ids"] == [demo.encode(p, suffix=s) for p, s in INFILLS]
    assert demo.batch_encode_plus(list(INFILLS))["input_ids"] == [demo.encode(p, suffix=s) for p, s in INFILLS]
    mixed = demo(["x = <FILL_ME>1", "y = 2"], return_special_tokens_mask=True)
    specials = {demo.bos_token_id, demo.prefix_id, demo.suffix_id, demo.middle_id}
    for ids, mask in zip(mixed["input_ids"], mixed["special_tokens_mask"]):
        assert mask == [1 if i in specials else 0 for i in ids]
    assert mixed.n_sequences is None and demo(["a"]).n_sequences == 1 and demo(["a<FILL_ME>b"]).n_sequences == 2


def test_batch_infilling_in_transformers_is_not_infilling():
    oracle = load_oracle(folder_of("demo"))
    assert oracle([FILL_TEXTS[0]])["input_ids"][0] != oracle(FILL_TEXTS[0])["input_ids"]
    assert oracle(["a"], ["b"])["input_ids"][0] != oracle("a", "b")["input_ids"]


def test_infill_special_tokens_mask_and_padding(demo):
    tok = load_ours(folder_of("demo"), pad_token="</s>", add_eos_token=True)
    enc = tok(["def f(x):<FILL_ME>  return x", "y"], padding=True, return_special_tokens_mask=True)
    row = enc["input_ids"][0]
    mask = enc["special_tokens_mask"][0]
    specials = {tok.bos_token_id, tok.eos_token_id, tok.prefix_id, tok.suffix_id, tok.middle_id}
    assert [1 if i in specials else 0 for i in row] == mask
    assert enc["input_ids"][1][0] == tok.pad_token_id  # left padding
    assert enc["attention_mask"][1].count(0) == len(row) - 3


def test_infill_offsets_index_the_callers_text(codellama):
    """DIFFERENCE: transformers gives infill offsets into " " + prefix (shifted by one) and into the
    suffix alone; llamatok's index the text the caller passed (the prompt with <FILL_ME>, or the
    separately passed suffix)."""
    prompt = "def f(x):<FILL_ME>  return x"
    enc = codellama(prompt, return_offsets_mapping=True)
    pieces = codellama.convert_ids_to_tokens(enc["input_ids"])
    spans = dict(zip(pieces, enc["offset_mapping"]))
    assert prompt[slice(*spans["\u2581def"])] == "def"
    assert prompt[slice(*spans["\u2581return"])] == " return"
    assert prompt[slice(*spans["\u2581x"])] == " x"
    for piece in ("<s>", "\u2581<PRE>", "\u2581<SUF>", "\u2581<MID>"):
        assert spans[piece] == (0, 0)
    separate = codellama("def f(x):", suffix="  return x", return_offsets_mapping=True)["offset_mapping"]
    assert separate[-2] == (8, 10)  # "▁x" in "  return x"
    assert separate[2] == (0, 3)  # "▁def" in "def f(x):"
    # A prefix that starts with a newline keeps its own ▁ (from the added space) on the first character.
    lone = codellama("\nx", suffix="y", return_offsets_mapping=True)
    assert codellama.convert_ids_to_tokens(lone["input_ids"])[2] == "\u2581"
    assert lone["offset_mapping"][2] == (0, 1)


def test_infill_offsets_in_transformers_are_shifted():
    oracle = load_oracle(folder_of("codellama"))
    spans = oracle("def f(x):", suffix="  return x", return_offsets_mapping=True)["offset_mapping"]
    assert spans[2] == (0, 4)  # "▁def" given the span of " def" in " def f(x):"


def test_missing_infill_tokens_are_a_clear_error(llama2_model):
    """A vocabulary without the infill pieces (Llama 2) loads; infilling then says what is missing."""
    tok = load_ours(llama2_model)
    assert tok.prefix_id is None and "\u2581<PRE>" not in tok.additional_special_tokens
    assert tok.encode("plain") == [1, 8656]
    with pytest.raises(ValueError, match="prefix_token"):
        tok.encode("a<FILL_ME>b")
    with pytest.raises(ValueError, match="infilling"):
        tok(["ok", "a"], suffix=["x", "b"])


def test_infill_truncation_keeps_the_layout(codellama):
    enc = codellama("def f(x):\n    y = x * 2", suffix="\n    return y\n", truncation=True, max_length=12)
    ids = enc["input_ids"]
    assert len(ids) == 12 and ids[:2] == [1, 32007] and ids[-1] == 32009 and 32008 in ids


def test_seed_example_as_plain_dict(codellama):
    enc = codellama(SEED_PROMPT, return_tensors="np")
    assert as_plain(enc)["input_ids"][0][:2] == [1, codellama.prefix_id]
    assert enc.input_ids.shape == (1, len(codellama.encode(SEED_PROMPT)))


def test_token_type_ids_of_overflowing_infill_windows():
    """DIFFERENCE: transformers' infill template gives the suffix type id 0 (`$B` in its template), and so
    does the first window of an overflowing infill prompt; the windows whose suffix is a later piece of it
    get type id 1 there (from `tokenizers`' overflow of a pair). llamatok gives 0 in every window, as the
    template says; the ids, masks and windows are the same."""
    folder = folder_of("demo")
    ours, oracle = load_ours(folder), load_oracle(folder)
    options = {"max_length": 6, "truncation": "longest_first", "return_overflowing_tokens": True,
               "return_token_type_ids": True, "return_special_tokens_mask": True}
    got, expected = as_plain(ours("a b c", "d e", **options)), as_plain(oracle("a b c", "d e", **options))
    assert {k: v for k, v in got.items() if k != "token_type_ids"} == {
        k: v for k, v in expected.items() if k != "token_type_ids"}
    assert len(got["input_ids"]) > 2
    assert all(set(row) == {0} for row in got["token_type_ids"])
    assert any(1 in row for row in expected["token_type_ids"])  # the upstream quirk, still there in 4.57
    assert set(expected["token_type_ids"][0]) == {0}
