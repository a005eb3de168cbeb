"""``add_tokens`` and ``add_special_tokens`` against transformers 4.57's ``CodeLlamaTokenizerFast`` on the
same files: ids, lengths and vocabularies, the matching rules of each flag (``normalized``, ``lstrip``,
``rstrip``, ``single_word``, ``special``) on generated texts, decoding, batches, infilling, saving and
reloading (by both libraries), pickling, and the core's immutable ``with_added_tokens``."""

from __future__ import annotations

import itertools
import json
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest
from api_fixtures import as_plain, folder, load_oracle, load_ours, vocab  # noqa: F401
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llamatok

tokenizers = pytest.importorskip("tokenizers")
AddedToken = tokenizers.AddedToken

#: Flag sets: every combination of the four matching flags, each tried as special and not.
FLAG_SETS = [dict(zip(("normalized", "lstrip", "rstrip", "single_word"), bits))
             for bits in itertools.product([False, True], repeat=4)]

#: The texts added: new ones (markers, words, one with a space) and one the vocabulary has.
NEW_TOKENS = ["<x>", "foo", "ab cd", "[REF]"]

#: Text is made of these: the tokens, parts of them, words, spaces of every kind, non-ASCII.
FRAGMENTS = NEW_TOKENS + ["<", "x>", "fo", "o", "ab", "cd", " ", "  ", "\n", "\t", "a", "b_", "_", "é", "日本",
                          "\u2581", "<s>", "</s>", "3", "\u3000", "😀", "x"]

texts = st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join)


def pair(folder: Path, **kwargs: Any) -> tuple[llamatok.CodeLlamaTokenizerFast, Any]:  # noqa: F811
    return load_ours(folder, **kwargs), load_oracle(folder, **kwargs)


def texts_by_id(tok: Any) -> dict[int, str]:
    return {i: str(t) for i, t in tok.added_tokens_decoder.items()}


def flags_by_id(tok: Any) -> dict[int, dict[str, Any]]:
    """Each added token's flags: its ``AddedToken``'s state (``llamatok.AddedToken``, or transformers'), which
    llamatok's ``added_tokens_flags`` gives too."""
    flags = {i: t.__getstate__() for i, t in tok.added_tokens_decoder.items()}
    if isinstance(tok, llamatok.CodeLlamaTokenizerFast):
        assert tok.added_tokens_flags == flags
        assert all(isinstance(t, llamatok.AddedToken) for t in tok.added_tokens_decoder.values())
    return flags


def assert_same_vocab(ours: Any, oracle: Any) -> None:
    assert len(ours) == len(oracle)
    assert ours.vocab_size == oracle.vocab_size
    assert ours.get_vocab() == oracle.get_vocab()
    assert ours.get_added_vocab() == oracle.get_added_vocab()
    assert ours.added_tokens_encoder == oracle.added_tokens_encoder
    assert texts_by_id(ours) == texts_by_id(oracle)
    assert flags_by_id(ours) == flags_by_id(oracle)
    assert ours.added_tokens_decoder == oracle.added_tokens_decoder  # llamatok's AddedToken equals tokenizers'
    assert {i: repr(t) for i, t in ours.added_tokens_decoder.items()} == {
        i: repr(t) for i, t in oracle.added_tokens_decoder.items()}
    assert ours.all_special_tokens == oracle.all_special_tokens
    assert ours.all_special_ids == oracle.all_special_ids


def assert_same_on(ours: Any, oracle: Any, text: str) -> None:
    ids = oracle.encode(text)
    assert ours.encode(text) == ids, text
    assert ours.tokenize(text) == oracle.tokenize(text), text
    for skip in (False, True):
        assert ours.decode(ids, skip_special_tokens=skip) == oracle.decode(ids, skip_special_tokens=skip), (text, skip)
    assert ours.convert_ids_to_tokens(ids, skip_special_tokens=True) == oracle.convert_ids_to_tokens(
        ids, skip_special_tokens=True)


def test_a_pad_token_for_fine_tuning(folder):  # noqa: F811
    ours, oracle = pair(folder)
    assert ours.add_special_tokens({"pad_token": "<pad>"}) == oracle.add_special_tokens({"pad_token": "<pad>"}) == 1
    assert ours.pad_token == oracle.pad_token == "<pad>"
    assert ours.pad_token_id == oracle.pad_token_id == oracle.vocab_size
    assert_same_vocab(ours, oracle)
    batch = ["def f(x):", "x = 1 <pad> y"]
    assert as_plain(ours(batch, padding=True)) == as_plain(oracle(batch, padding=True))
    ids = ours(batch, padding=True)["input_ids"]
    assert ours.batch_decode(ids, skip_special_tokens=True) == oracle.batch_decode(ids, skip_special_tokens=True)
    assert ours.batch_decode(ids) == oracle.batch_decode(ids)
    # The same token again adds nothing.
    assert ours.add_special_tokens({"pad_token": "<pad>"}) == oracle.add_special_tokens({"pad_token": "<pad>"}) == 0
    assert len(ours) == len(oracle)


def test_add_tokens_counts_and_ids(folder):  # noqa: F811
    ours, oracle = pair(folder)
    for batch in (["<x>", "foo"], ["<x>"], [AddedToken("<x>", lstrip=True)], "[REF]", ["\u2581the", "a"], [],
                  [AddedToken("<y>", special=True), "<y>"]):
        assert ours.add_tokens(batch) == oracle.add_tokens(batch), batch
        assert_same_vocab(ours, oracle)
    assert ours.add_tokens(["<z>", "<s>"], special_tokens=True) == oracle.add_tokens(["<z>", "<s>"],
                                                                                    special_tokens=True)
    assert_same_vocab(ours, oracle)
    for text in ["a <x> foo [REF]<y><z> the", " <x>  <x>", "foo", "<s><x></s>"]:
        assert_same_on(ours, oracle, text)


def test_add_special_tokens_by_name(folder):  # noqa: F811
    ours, oracle = pair(folder)
    tokens = {"pad_token": "<pad>", "sep_token": "<sep>", "mask_token": AddedToken("<mask>", lstrip=True),
              "additional_special_tokens": ["<a>", "<b>"]}
    assert ours.add_special_tokens(dict(tokens)) == oracle.add_special_tokens(dict(tokens))
    assert_same_vocab(ours, oracle)
    for name in ("pad_token", "sep_token", "mask_token", "sep_token_id", "mask_token_id", "cls_token"):
        assert getattr(ours, name) == getattr(oracle, name), name
    assert ours.additional_special_tokens == oracle.additional_special_tokens == ["<a>", "<b>"]
    more = {"additional_special_tokens": ["<c>", "<a>"]}
    assert ours.add_special_tokens(more, replace_additional_special_tokens=False) == oracle.add_special_tokens(
        more, replace_additional_special_tokens=False)
    assert ours.additional_special_tokens == oracle.additional_special_tokens
    assert_same_vocab(ours, oracle)
    for text in ["x <mask>  y<sep><a><b><c> z", "<pad><pad>"]:
        assert_same_on(ours, oracle, text)
    with pytest.raises(ValueError, match="not a special token"):
        ours.add_special_tokens({"pad": "<p>"})


def test_special_tokens_given_to_the_constructor_are_added(folder):  # noqa: F811
    kwargs = {"pad_token": "[PAD]", "additional_special_tokens": ["<tool>"]}
    ours, oracle = pair(folder, **kwargs)
    assert_same_vocab(ours, oracle)
    assert ours.pad_token_id == oracle.pad_token_id
    assert_same_on(ours, oracle, "a[PAD] <tool>b")


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("flags", FLAG_SETS, ids=lambda f: "-".join(k for k, v in f.items() if v) or "none")
def test_matching_rules_on_generated_text(folder, flags, special):  # noqa: F811
    ours, oracle = pair(folder)
    new = [AddedToken(t, special=special, **flags) for t in NEW_TOKENS]
    assert ours.add_tokens(new) == oracle.add_tokens([AddedToken(t, special=special, **flags) for t in NEW_TOKENS])
    assert_same_vocab(ours, oracle)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(texts)
    def check(text):
        assert_same_on(ours, oracle, text)
        assert ours.encode(text, add_special_tokens=False) == oracle.encode(text, add_special_tokens=False)

    check()


@pytest.mark.parametrize("special", [False, True])
def test_split_special_tokens_still_matches_the_others(folder, special):  # noqa: F811
    ours, oracle = pair(folder, split_special_tokens=True)
    for tok in (ours, oracle):
        tok.add_tokens([AddedToken("<x>", special=special, normalized=False), AddedToken("foo", special=special)])
    for text in ["a <x> foo <s> b", "<x>foo</s>", "x foo"]:
        assert ours.encode(text) == oracle.encode(text), text


def test_batches_and_infilling(folder):  # noqa: F811
    ours, oracle = pair(folder)
    for tok in (ours, oracle):
        tok.add_tokens(["foo", AddedToken("<x>", rstrip=True, normalized=False)])
    batch = ["a foo <x>  b", "<x>", "foo foo"]
    assert as_plain(ours(batch)) == as_plain(oracle(batch))
    assert ours.batch_decode(ours(batch)["input_ids"]) == oracle.batch_decode(oracle(batch)["input_ids"])
    # transformers builds an infill prompt from a single text pair.
    assert ours.encode("x = <x> foo", "  <x> y") == oracle.encode("x = <x> foo", "  <x> y")


def test_saved_files_reload_with_the_same_ids(folder, tmp_path):  # noqa: F811
    ours, oracle = pair(folder)
    for tok in (ours, oracle):
        tok.add_special_tokens({"pad_token": "<pad>", "additional_special_tokens": [AddedToken("<t>", rstrip=True)]})
        tok.add_tokens([AddedToken("foo", single_word=True), "<x>"])
    files = ours.save_pretrained(tmp_path / "ours")
    theirs = oracle.save_pretrained(tmp_path / "theirs")
    assert [Path(f).name for f in files] == [Path(f).name for f in theirs]
    assert ({f.name for f in (tmp_path / "ours").iterdir()} == {f.name for f in (tmp_path / "theirs").iterdir()})
    ours_json = json.loads((tmp_path / "ours" / "tokenizer.json").read_text(encoding="utf-8"))
    theirs_json = json.loads((tmp_path / "theirs" / "tokenizer.json").read_text(encoding="utf-8"))
    assert ours_json["added_tokens"] == theirs_json["added_tokens"]
    # transformers' reload of its own files is the reference (its constructor appends the infill tokens to
    # additional_special_tokens again, so a reload is not the tokenizer that was saved in that respect).
    reference = load_oracle(tmp_path / "theirs")
    reloaded = [load_oracle(tmp_path / "ours"), load_ours(tmp_path / "ours"), load_ours(tmp_path / "theirs")]
    text = "foo <x> a<t>  b <pad> foo_"
    for tok in reloaded:
        assert_same_vocab(tok, reference)
        assert tok.encode(text) == reference.encode(text) == oracle.encode(text)
        assert tok.pad_token_id == reference.pad_token_id == oracle.pad_token_id


def test_pickling_keeps_the_added_tokens(folder):  # noqa: F811
    ours = load_ours(folder)
    ours.add_special_tokens({"pad_token": "<pad>"})
    ours.add_tokens([AddedToken("foo", lstrip=True)])
    copy = pickle.loads(pickle.dumps(ours))
    assert copy == ours and len(copy) == len(ours) and copy.get_added_vocab() == ours.get_added_vocab()
    assert pickle.dumps(copy) == pickle.dumps(ours)
    assert copy.encode("a  foo<pad>") == ours.encode("a  foo<pad>")
    assert copy != load_ours(folder)


def test_the_core_tokenizer_is_never_changed(folder):  # noqa: F811
    core = llamatok.Tokenizer.from_file(folder / "tokenizer.json")
    before = core.encode("a <x> b")
    grown, count = core.with_added_tokens([("<x>", True, False, False, False, False)])
    assert count == 1 and len(grown) == len(core) + 1 and grown.vocab_size == core.vocab_size
    assert core.encode("a <x> b") == before and grown.encode("a <x> b") != before
    assert grown.id_to_piece(len(core)) == "<x>" and grown.piece_to_id("<x>") == len(core)
    assert grown.decode([len(core)]) == "<x>"
    with pytest.raises(llamatok.TokenIdError):
        core.decode([len(core)])
    with pytest.raises(ValueError, match="needs text"):
        core.with_added_tokens([("", False, True, False, False, False)])
    assert pickle.loads(pickle.dumps(grown)).encode("a <x> b") == grown.encode("a <x> b")


def test_threads_see_one_vocabulary_per_call(folder):  # noqa: F811
    tok = load_ours(folder)
    text = "x <w0> " * 200
    errors: list[str] = []

    def encode() -> None:
        # "<w0>" is the first token added (id vocab_size): a call sees it at all 200 places or at none.
        for _ in range(50):
            matched = tok.encode(text).count(tok.vocab_size)
            if matched not in (0, 200):
                errors.append(f"<w0> matched {matched} times of 200")

    threads = [threading.Thread(target=encode) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(20):
        tok.add_tokens([f"<w{i}>"])
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize("normalized", [False, True])
def test_offsets_of_added_tokens(folder, normalized):  # noqa: F811
    ours, oracle = pair(folder)
    for tok in (ours, oracle):
        tok.add_tokens([AddedToken("<x>", normalized=normalized, lstrip=True),
                        AddedToken("foo bar", normalized=normalized)])
    texts = ["a  <x> foo bar b", "foo bar", "<x>", "x foo bar<x>  y", "日本 <x>"]
    assert as_plain(ours(texts, return_offsets_mapping=True)) == as_plain(oracle(texts, return_offsets_mapping=True))


def test_config_ids_that_move_are_reported(caplog):
    # transformers gives a config's added token the next free id whatever id the config names; llamatok does
    # the same and says so, since the model's embeddings would then not match.
    base = llamatok.CodeLlamaTokenizerFast.from_pretrained(llamatok.demo_path())
    n = len(base)
    with caplog.at_level("WARNING", logger="llamatok"):
        tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(
            llamatok.demo_path(), added_tokens_decoder={"9000": {"content": "<x>", "special": True}})
    assert tok.convert_tokens_to_ids("<x>") == n
    assert f"'<x>' 9000 -> {n}" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="llamatok"):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(
            llamatok.demo_path(), added_tokens_decoder={str(n): {"content": "<x>", "special": True}})
    assert "added_tokens_decoder" not in caplog.text


def test_llamatoks_added_token_is_tokenizers():
    """``llamatok.AddedToken`` (what ``added_tokens_decoder`` gives) behaves as ``tokenizers.AddedToken``."""
    tokenizers = pytest.importorskip("tokenizers")
    for kwargs in ({}, {"special": True}, {"special": True, "normalized": True}, {"lstrip": True, "rstrip": True},
                   {"single_word": True, "normalized": False}):
        ours, theirs = llamatok.AddedToken("<x>", **kwargs), tokenizers.AddedToken("<x>", **kwargs)
        assert ours.__getstate__() == theirs.__getstate__(), kwargs
        assert repr(ours) == repr(theirs) and str(ours) == str(theirs) == "<x>"
        assert ours == theirs and ours == pickle.loads(pickle.dumps(ours))
        assert hash(ours) == hash(llamatok.AddedToken("<x>", lstrip=not ours.lstrip))
    assert llamatok.AddedToken("<x>") != llamatok.AddedToken("<x>", lstrip=True)
    assert llamatok.AddedToken("<x>") != "<x>"
    with pytest.raises(TypeError, match="content must be a str"):
        llamatok.AddedToken(5)  # type: ignore[arg-type]
