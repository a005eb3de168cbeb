"""save_pretrained writes files that transformers 4.57, `tokenizers` and llamatok load back with
identical ids; pickling round-trips, is cheap, and equal tokenizers pickle to equal bytes and hash alike
(what `datasets` caching needs)."""

from __future__ import annotations

import json
import pickle
import time

import pytest
from api_fixtures import FILL_TEXTS, INFILLS, TEXTS, as_plain, folder_of, load_oracle, load_ours

import llamatok

SETTINGS = [
    {},
    {"add_eos_token": True, "pad_token": "</s>"},
    {"add_bos_token": False, "add_eos_token": True, "padding_side": "right", "clean_up_tokenization_spaces": True},
    {"split_special_tokens": True, "pad_token": "<unk>", "model_max_length": 64},
]


def same_behaviour(ours, theirs, infill: bool = True) -> None:
    """ours (llamatok) and theirs (llamatok or transformers) give the same results."""
    for text in TEXTS + FILL_TEXTS:
        assert ours.encode(text) == theirs.encode(text), text
        assert ours.decode(ours.encode(text)) == theirs.decode(ours.encode(text)), text
    if infill:
        for prefix, suffix in INFILLS:
            assert ours.encode(prefix, suffix=suffix) == theirs.encode(prefix, suffix=suffix)
            assert (ours.encode(prefix, suffix=suffix, suffix_first=True)
                    == theirs.encode(prefix, suffix=suffix, suffix_first=True))
    if ours.pad_token is not None:
        assert as_plain(ours(TEXTS, padding=True)) == as_plain(theirs(TEXTS, padding=True))
    assert ours.all_special_tokens == theirs.all_special_tokens
    assert ours.padding_side == theirs.padding_side


@pytest.mark.parametrize("vocab", ["codellama", "demo"])
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(s) or "defaults")
def test_saved_folder_loads_everywhere(tmp_path, vocab, settings):
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    ours = load_ours(folder_of(vocab), **settings)
    written = ours.save_pretrained(tmp_path)
    # transformers' list, in its order (tokenizer.model and added_tokens.json when it can save the
    # sentencepiece file: added_tokens.json is listed even when no token needed writing).
    names = [p.split("/")[-1] for p in written]
    theirs_written = load_oracle(folder_of(vocab), **settings).save_pretrained(tmp_path / "theirs")
    assert names == [p.split("/")[-1] for p in theirs_written]
    expected = ["tokenizer_config.json", "special_tokens_map.json"]
    slow = ["tokenizer.model", "added_tokens.json"] if vocab == "demo" else []
    assert names == expected + slow + ["tokenizer.json"]

    again = llamatok.CodeLlamaTokenizerFast.from_pretrained(tmp_path)
    assert again._behaviour_key()[1] == ours._behaviour_key()[1]  # every setting survives the round trip
    same_behaviour(ours, again)

    theirs = load_oracle(tmp_path)
    assert type(transformers.AutoTokenizer.from_pretrained(str(tmp_path))).__name__ == "CodeLlamaTokenizerFast"
    same_behaviour(ours, theirs)
    assert as_plain(ours(TEXTS, return_offsets_mapping=True)) == as_plain(theirs(TEXTS, return_offsets_mapping=True))

    backend = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    backend.encode_special_tokens = ours.split_special_tokens
    for text in TEXTS:
        assert backend.encode(text).ids == ours.encode(text), text
        assert backend.encode(text, add_special_tokens=False).ids == ours.encode(text, add_special_tokens=False)


@pytest.mark.parametrize("legacy_format", [None, True, False])
def test_legacy_format_chooses_the_files(tmp_path, legacy_format):
    ours, oracle = load_ours(folder_of("demo")), load_oracle(folder_of("demo"))
    for tok in (ours, oracle):
        tok.add_tokens(["<new>"])
    a = ours.save_pretrained(tmp_path / "ours", legacy_format=legacy_format)
    b = oracle.save_pretrained(tmp_path / "theirs", legacy_format=legacy_format)
    assert [p.split("/")[-1] for p in a] == [p.split("/")[-1] for p in b]
    files = {side: sorted(f.name for f in (tmp_path / side).iterdir()) for side in ("ours", "theirs")}
    assert files["ours"] == files["theirs"]
    if legacy_format is not False:
        added = json.loads((tmp_path / "ours" / "added_tokens.json").read_text(encoding="utf-8"))
        assert added == json.loads((tmp_path / "theirs" / "added_tokens.json").read_text(encoding="utf-8"))
        assert added == {"<new>": ours.vocab_size}


def test_saving_is_deterministic_and_idempotent(tmp_path):
    ours = load_ours(folder_of("demo"), add_eos_token=True)
    ours.save_pretrained(tmp_path / "a")
    llamatok.CodeLlamaTokenizerFast.from_pretrained(tmp_path / "a").save_pretrained(tmp_path / "b")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_save_from_tokenizer_model_builds_the_json(tmp_path):
    """Loaded from a SentencePiece file alone, the saved tokenizer.json is built from its pieces, with
    the score-ranked merges of the Hub's files (the demo's tokenizer.json was made the same way)."""
    tokenizers = pytest.importorskip("tokenizers")
    demo = folder_of("demo")
    ours = load_ours(demo / "tokenizer.model")
    ours.save_pretrained(tmp_path)
    assert (tmp_path / "tokenizer.model").read_bytes() == (demo / "tokenizer.model").read_bytes()
    built = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    shipped = json.loads((demo / "tokenizer.json").read_text(encoding="utf-8"))
    assert built["model"]["vocab"] == shipped["model"]["vocab"]
    assert built["model"]["merges"] == shipped["model"]["merges"]
    assert built["normalizer"] == shipped["normalizer"] and built["decoder"] == shipped["decoder"]
    backend = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    from_json = llamatok.CodeLlamaTokenizerFast(tokenizer_file=str(tmp_path / "tokenizer.json"))
    for text in TEXTS:
        assert backend.encode(text).ids == ours.encode(text) == from_json.encode(text), text


def test_save_from_llama2_model(tmp_path, llama2_model):
    tokenizers = pytest.importorskip("tokenizers")
    ours = load_ours(llama2_model)
    ours.save_pretrained(tmp_path)
    backend = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    for text in TEXTS:
        assert backend.encode(text).ids == ours.encode(text), text


def test_filename_prefix(tmp_path):
    ours = load_ours(folder_of("demo"))
    written = ours.save_pretrained(tmp_path, filename_prefix="mine")
    assert all(p.split("/")[-1].startswith("mine-") for p in written)


def test_config_contents(tmp_path):
    ours = load_ours(folder_of("codellama"), add_eos_token=True, suffix_first=True)
    ours.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["add_eos_token"] is True and config["suffix_first"] is True
    assert config["tokenizer_class"] == "CodeLlamaTokenizer"
    assert config["added_tokens_decoder"]["32007"]["content"] == "\u2581<PRE>"
    assert config["model_max_length"] == ours.model_max_length
    tj = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    assert ([t["content"] for t in tj["added_tokens"]]
            == ["<unk>", "<s>", "</s>", "\u2581<PRE>", "\u2581<SUF>", "\u2581<MID>", "\u2581<EOT>"])
    assert [p for p in tj["post_processor"]["single"]] == [
        {"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
        {"SpecialToken": {"id": "</s>", "type_id": 0}}]


# -- pickling ----------------------------------------------------------------------------------

@pytest.mark.parametrize("vocab", ["codellama", "demo"])
def test_pickle_round_trip(vocab):
    ours = load_ours(folder_of(vocab), add_eos_token=True, pad_token="</s>", padding_side="right", suffix_first=True)
    ours.truncation_side = "left"
    copy = pickle.loads(pickle.dumps(ours))
    assert copy == ours and hash(copy) == hash(ours)
    for name in ("add_bos_token", "add_eos_token", "pad_token", "padding_side", "truncation_side", "suffix_first",
                 "name_or_path", "vocab_file", "model_max_length", "all_special_tokens"):
        assert getattr(copy, name) == getattr(ours, name), name
    same_behaviour(ours, copy)
    assert (as_plain(copy(TEXTS, padding=True, truncation=True, max_length=6))
            == as_plain(ours(TEXTS, padding=True, truncation=True, max_length=6)))


def test_pickle_keeps_the_matched_special_tokens():
    """A pad token set after loading is not matched in text; it stays so in the copy."""
    ours = load_ours(folder_of("demo"))
    ours.pad_token = "x"
    copy = pickle.loads(pickle.dumps(ours))
    assert copy.pad_token_id == ours.pad_token_id
    assert copy.encode("x = x") == ours.encode("x = x") == load_ours(folder_of("demo")).encode("x = x")


def test_pickle_is_cheap():
    ours = load_ours(folder_of("demo"))
    start = time.perf_counter()
    data = pickle.dumps(ours)
    elapsed = time.perf_counter() - start
    source = len(ours.backend_tokenizer.to_bytes())
    assert len(data) < source + 4096  # the model file and a short settings string, nothing else
    assert elapsed < 0.5


def test_equal_tokenizers_pickle_identically(tmp_path):
    folder = folder_of("demo")
    a, b = load_ours(folder), load_ours(folder)
    assert a is not b and a == b and hash(a) == hash(b)
    assert pickle.dumps(a) == pickle.dumps(b)
    assert pickle.dumps(pickle.loads(pickle.dumps(a))) == pickle.dumps(a)
    b.add_eos_token = True
    assert a != b and pickle.dumps(a) != pickle.dumps(b)
    b.add_eos_token = False
    assert a == b and pickle.dumps(a) == pickle.dumps(b)
    # Equality is by model file and settings; where the file was read from does not count.
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (tmp_path / name).symlink_to(folder / name)
    elsewhere = load_ours(tmp_path)
    assert elsewhere == a and hash(elsewhere) == hash(a) and elsewhere.name_or_path != a.name_or_path
    assert load_ours(folder, pad_token="</s>") != a
    assert len({a, b, load_ours(folder)}) == 1


def test_datasets_fingerprint():
    fingerprint = pytest.importorskip("datasets.fingerprint")
    folder = folder_of("demo")
    a, b = load_ours(folder), load_ours(folder)
    assert fingerprint.Hasher.hash(a) == fingerprint.Hasher.hash(b)
    assert fingerprint.Hasher.hash(a) != fingerprint.Hasher.hash(load_ours(folder, add_eos_token=True))


def test_batch_encoding_pickles():
    enc = load_ours(folder_of("demo"))(["a", "b c"])
    copy = pickle.loads(pickle.dumps(enc))
    assert copy == enc and copy.input_ids == enc.input_ids
