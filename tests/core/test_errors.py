"""Bad input to the core: a precise exception with a message that says what is wrong, never a panic
crossing into Python, and nothing silently dropped."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llamatok


def model_proto(path):
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    m.ParseFromString(path.read_bytes())
    return m


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        llamatok.Tokenizer.from_file(str(tmp_path / "nowhere" / "tokenizer.model"))


@pytest.mark.parametrize("cut", [10, 1000, 250_000, -1])
def test_truncated_model_file(tmp_path, llama2_model, cut):
    bad = tmp_path / "tokenizer.model"
    bad.write_bytes(llama2_model.read_bytes()[:cut])
    with pytest.raises(llamatok.ModelFileError, match=str(bad)) as e:
        llamatok.Tokenizer.from_file(str(bad))
    assert isinstance(e.value, ValueError)
    assert "SentencePiece" in str(e.value)


def test_unigram_model_is_refused(tmp_path, llama2_model):
    m = model_proto(llama2_model)
    m.trainer_spec.model_type = 1  # UNIGRAM
    bad = tmp_path / "unigram.model"
    bad.write_bytes(m.SerializeToString())
    with pytest.raises(llamatok.ModelFileError, match="unigram"):
        llamatok.Tokenizer.from_file(str(bad))


def test_nfkc_charsmap_is_refused(tmp_path, llama2_model):
    m = model_proto(llama2_model)
    m.normalizer_spec.name = "nmt_nfkc"
    m.normalizer_spec.precompiled_charsmap = b"\x01\x02\x03\x04"
    bad = tmp_path / "nfkc.model"
    bad.write_bytes(m.SerializeToString())
    with pytest.raises(llamatok.ModelFileError, match="charsmap"):
        llamatok.Tokenizer.from_file(str(bad))


def test_special_id_out_of_range_in_model(tmp_path, llama2_model):
    m = model_proto(llama2_model)
    m.trainer_spec.eos_id = 99999
    bad = tmp_path / "eos.model"
    bad.write_bytes(m.SerializeToString())
    with pytest.raises(llamatok.ModelFileError, match="eos_id 99999"):
        llamatok.Tokenizer.from_file(str(bad))


def test_broken_json(tmp_path, codellama_json):
    bad = tmp_path / "tokenizer.json"
    bad.write_bytes(codellama_json.read_bytes()[:100_000])
    with pytest.raises(llamatok.ModelFileError, match="JSON"):
        llamatok.Tokenizer.from_file(str(bad))


def _edited_json(tmp_path, codellama_json, edit):
    data = json.loads(codellama_json.read_text(encoding="utf-8"))
    edit(data)
    out = tmp_path / "tokenizer.json"
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["model"]["vocab"].__setitem__("▁the", 10**6), "out of range"),
        (lambda d: d["model"].__setitem__("type", "Unigram"), "only BPE"),
        (lambda d: d["model"]["merges"].append("▁ nosuchpiece"), "not in the vocabulary"),
        (lambda d: d.__setitem__("normalizer", {"type": "NFKC"}), "NFKC"),
        (lambda d: d["model"].__setitem__("dropout", 0.1), "dropout"),
        (lambda d: d["added_tokens"].append({"id": 5, "content": "<x>", "special": True}), "gives to"),
        (lambda d: d["added_tokens"].append({"id": 40_000, "content": "<x>", "special": True}),
         "leaves a gap: the next free id is 32016"),
        # An empty vocabulary: the next free id is 0 (the message once said "after the last id" 2**64 - 1).
        (lambda d: (d["model"].update(vocab={}, merges=[]), d.__setitem__("added_tokens", [
            {"id": 5, "content": "<x>", "special": True}])), "leaves a gap: the next free id is 0"),
    ],
)
def test_unsupported_or_inconsistent_json(tmp_path, codellama_json, edit, message):
    bad = _edited_json(tmp_path, codellama_json, edit)
    with pytest.raises(llamatok.ModelFileError, match=message) as e:
        llamatok.Tokenizer.from_file(str(bad))
    assert str(bad) in str(e.value)


@settings(max_examples=200)
@given(data=st.binary(max_size=2000))
def test_garbage_bytes_never_panic(data):
    try:
        llamatok.Tokenizer.from_bytes(data, "garbage")
    except llamatok.ModelFileError as e:
        assert "garbage" in str(e)


@settings(max_examples=100)
@given(cut=st.integers(0, 118_000), flip=st.integers(0, 255))
def test_corrupted_demo_model_never_panics(demo_dir, cut, flip):
    data = bytearray((demo_dir / "tokenizer.model").read_bytes())
    data[cut % len(data)] ^= flip
    try:
        tok = llamatok.Tokenizer.from_bytes(bytes(data), "corrupted")
    except llamatok.ModelFileError:
        return
    # Whatever still loads must encode and decode without crashing.
    ids = tok.encode("def f(x):\n    return x  # ünïcode 😀", "literal")
    tok.decode(ids)


def test_text_and_id_errors(demo_dir):
    tok = llamatok.Tokenizer.from_file(str(demo_dir / "tokenizer.json"))
    with pytest.raises(TypeError):
        tok.encode(b"bytes are not text")
    with pytest.raises(TypeError):
        tok.encode(None)
    with pytest.raises(UnicodeEncodeError):
        tok.encode("lone \ud800 surrogate")
    with pytest.raises(llamatok.TokenIdError, match="out of range") as e:
        tok.decode([1, 2, len(tok)])
    assert isinstance(e.value, IndexError)
    with pytest.raises(ValueError, match="mode"):
        tok.encode("x", mode="strict")
    with pytest.raises(ValueError, match="style"):
        tok.decode([1], style="bytes")
    with pytest.raises(ValueError, match="past the vocabulary"):
        tok.with_special_tokens([("<x>", 10**6)])
