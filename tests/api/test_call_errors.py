"""Every error path of CodeLlamaTokenizerFast: the exception type (a subclass of the built-in one a
transformers user would catch) and a message that says what to do."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from api_fixtures import folder_of, load_oracle, load_ours

import llamatok


@pytest.fixture(scope="module")
def tok():
    return load_ours(folder_of("demo"))


@pytest.fixture(scope="module")
def padded():
    return load_ours(folder_of("demo"), pad_token="</s>")


# -- construction ------------------------------------------------------------------------------

def test_constructor_needs_a_file():
    with pytest.raises(ValueError, match="tokenizer_file"):
        llamatok.CodeLlamaTokenizerFast()


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        llamatok.CodeLlamaTokenizerFast(tokenizer_file=str(tmp_path / "nope.json"))
    with pytest.raises(FileNotFoundError, match="neither tokenizer.json nor tokenizer.model"):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="no tokenizer at"):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(str(tmp_path / "a" / ".." / "b"))
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"model": 1}')
    with pytest.raises(llamatok.ModelFileError):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(tmp_path)
    assert issubclass(llamatok.ModelFileError, ValueError)
    bad.unlink()
    (tmp_path / "tokenizer.model").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(tmp_path)


def test_broken_config(tmp_path):
    demo = folder_of("demo")
    (tmp_path / "tokenizer.json").symlink_to(demo / "tokenizer.json")
    (tmp_path / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text('{"bos_token": 5}')
    with pytest.raises(ValueError, match="AddedToken"):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(tmp_path)


@pytest.mark.parametrize("kwargs", [{"additional_special_tokens": ["<my_token>"]}, {"pad_token": "[PAD]"},
                                    {"added_tokens_decoder": {"5": {"content": "<s>"}}}])
def test_special_tokens_the_vocabulary_lacks_are_added(kwargs):
    """As in transformers (they were a ValueError before llamatok could add tokens)."""
    demo = folder_of("demo")
    ours, oracle = load_ours(demo, **kwargs), load_oracle(demo, **kwargs)
    assert len(ours) == len(oracle) and ours.get_added_vocab() == oracle.get_added_vocab()
    if "added_tokens_decoder" in kwargs:
        # DIFFERENCE: given an added_tokens_decoder, transformers' from_pretrained re-adds the config's
        # special tokens with the config's flags (here normalized=True for <unk> and </s>); llamatok keeps the
        # tokenizer.json's.
        return
    assert ours.added_tokens_flags == {i: t.__getstate__() for i, t in oracle.added_tokens_decoder.items()}
    assert ours.encode("a<my_token> [PAD]<s>") == oracle.encode("a<my_token> [PAD]<s>")


def test_settings_are_checked():
    demo = folder_of("demo")
    with pytest.raises(AttributeError, match="add_special_tokens conflicts with the method"):
        load_ours(demo, add_special_tokens=False)
    with pytest.raises(ValueError, match="padding_side"):
        load_ours(demo, padding_side="middle")
    with pytest.raises(ValueError, match="truncation_side"):
        load_ours(demo, truncation_side="both")
    with pytest.raises(TypeError, match="keyword"):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(demo, "positional")


def test_bos_eos_flags_need_their_tokens():
    demo = folder_of("demo")
    with pytest.raises(ValueError, match="add_bos_token = True but bos_token"):
        load_ours(demo, bos_token=None)
    with pytest.raises(ValueError, match="add_eos_token = True but eos_token"):
        load_ours(demo, eos_token=None, add_eos_token=True)
    tok = load_ours(demo, eos_token=None)
    with pytest.raises(ValueError, match="add_eos_token = True but eos_token"):
        tok.add_eos_token = True
    tok = load_ours(demo)
    tok.bos_token = None
    with pytest.raises(ValueError, match="add_bos_token = True but bos_token"):
        tok.encode("x")
    with pytest.raises(ValueError, match="add_bos_token = True"):
        tok.update_post_processor()
    tok.add_bos_token = False
    assert tok.encode("x") == load_ours(demo).encode("x", add_special_tokens=False)


def test_infill_tokens_unset():
    tok = load_ours(folder_of("demo"), prefix_token=None)
    assert tok.encode("no infill") == load_ours(folder_of("demo")).encode("no infill")
    with pytest.raises(ValueError, match="prefix_token=None"):
        tok.encode("a<FILL_ME>b")
    with pytest.raises(ValueError, match="needs prefix_token"):
        tok("a", suffix="b")


def test_pad_token_setters(tok):
    t = load_ours(folder_of("demo"))
    with pytest.raises(ValueError, match="not in the vocabulary"):
        t.pad_token = "[PAD]"
    with pytest.raises(ValueError, match="str or None"):
        t.pad_token = 3
    with pytest.raises(llamatok.TokenIdError):
        t.pad_token_id = 10**6
    assert issubclass(llamatok.TokenIdError, IndexError)
    t.pad_token_id = 2
    assert t.pad_token == "</s>"
    t.pad_token = None
    assert t.pad_token_id is None


# -- __call__ arguments ------------------------------------------------------------------------

def test_padding_without_pad_token(tok):
    for padding, max_length in ((True, None), ("longest", None), ("max_length", 4)):
        with pytest.raises(ValueError, match="does not have a padding token"):
            tok(["a", "b c"], padding=padding, max_length=max_length)


@pytest.mark.parametrize("kwargs,match", [
    ({"padding": "sideways"}, "padding must be"),
    ({"truncation": "only_middle", "max_length": 2}, "truncation must be"),
    ({"max_length": -1}, "max_length must be"),
    ({"max_length": 2.5}, "max_length must be"),
    ({"stride": -1}, "stride must be"),
    ({"padding": True, "pad_to_multiple_of": 0}, "pad_to_multiple_of"),
    ({"padding": True, "pad_to_multiple_of": -8}, "pad_to_multiple_of"),
    ({"padding": "max_length", "truncation": True, "max_length": 10, "pad_to_multiple_of": 8}, "not a multiple"),
    ({"padding": True, "padding_side": "up"}, "padding_side"),
    ({"return_tensors": "tf"}, "return_tensors"),
    ({"truncation": True, "max_length": 4, "stride": 4}, "stride=4"),
    ({"truncation": True, "max_length": 4, "stride": 3}, "stride=3"),
    ({"truncation": True, "max_length": 0}, "cannot hold"),
    ({"truncation": "only_second", "max_length": 3}, "only_second"),
    ({"text_target": "x"}, "text_target"),
])
def test_bad_call_arguments(padded, kwargs, match):
    with pytest.raises(ValueError, match=match):
        padded(["def f(x):\n    return x * 2", "b"], **kwargs)


def test_pad_errors(tok, padded):
    with pytest.raises(ValueError, match="does not have a padding token"):
        tok.pad([{"input_ids": [1, 2]}, {"input_ids": [1]}])
    with pytest.raises(ValueError, match="includes input_ids, but you provided"):
        padded.pad({"ids": [[1]]})
    with pytest.raises(TypeError, match="encoding"):
        padded.pad("text")
    with pytest.raises(ValueError, match="padding_side"):
        padded.pad({"input_ids": [[1], [1, 2]]}, padding_side="up")
    # As transformers: given back as it came, with an empty mask only when asked for.
    assert padded.pad({"input_ids": []}) == {"input_ids": []}
    assert padded.pad({"input_ids": []}, return_attention_mask=True) == {"input_ids": [], "attention_mask": []}


def test_stride_is_checked_where_a_sequence_is_cut(tok):
    """DIFFERENCE: transformers refuses a stride that is not smaller than max_length minus its template's
    special tokens as soon as truncation is set up, for any input (counting them even with
    add_special_tokens=False); llamatok checks it where a sequence is cut, so a short input passes."""
    with pytest.raises(ValueError, match="stride=4 must be smaller"):
        tok("def f(x):\n    return x * 2 + 1", truncation=True, max_length=4, stride=4, add_special_tokens=False,
            return_overflowing_tokens=True)
    assert tok("a", truncation=True, max_length=4, stride=4, add_special_tokens=False)["input_ids"] == tok.encode(
        "a", add_special_tokens=False)


def test_truncation_too_short_for_only_first(tok):
    with pytest.raises(ValueError, match="cannot fit"):
        tok("a", suffix="def f(x):\n    return x * 2 + 1", truncation="only_first", max_length=8)


def test_stride_too_large_for_infill_parts(tok):
    # transformers' backend panics here (PanicException); llamatok says what to change.
    with pytest.raises(ValueError, match="stride=3 must be smaller"):
        tok("def f(x):\n    y = x * 2", suffix="\n    return y\n", truncation=True, max_length=10, stride=3,
            return_overflowing_tokens=True)


def test_bad_texts(tok):
    with pytest.raises(ValueError, match="text is required"):
        tok()
    with pytest.raises(TypeError, match="str"):
        tok(5)
    with pytest.raises(TypeError, match="str"):
        tok.encode(["a", "b"])
    with pytest.raises(TypeError, match="str"):
        tok([1, 2])
    with pytest.raises(TypeError, match="suffix"):
        tok("a", suffix=3)
    with pytest.raises(TypeError, match="suffix of a single text"):
        tok("a", suffix=["b"])
    with pytest.raises(ValueError, match="same length"):
        tok(["a", "b"], suffix=["x"])
    with pytest.raises(ValueError, match="same length"):
        tok(["a", "b"], text_pair="x")
    with pytest.raises(ValueError, match="not both"):
        tok("a", "b", suffix="c")
    with pytest.raises(ValueError, match="not both"):
        tok.encode("a", "b", suffix="c")
    with pytest.raises(ValueError, match="pair"):
        tok([("a", "b", "c")])
    with pytest.raises(TypeError):
        tok("a", no_such_option=True)
    with pytest.raises(TypeError, match="batch_encode_plus"):
        tok.encode_plus(["a"])
    with pytest.raises(TypeError, match="list of texts"):
        tok.batch_encode_plus("abc")
    with pytest.raises(UnicodeEncodeError):
        tok("lone \ud800 surrogate")


def test_ragged_tensors_are_refused(tok):
    """DIFFERENCE: transformers gives numpy object arrays of arrays for ragged rows."""
    with pytest.raises(ValueError, match="different lengths"):
        tok(["a", "b c d e"], return_tensors="np")


def test_pt_without_torch(tok, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="pip install torch"):
        tok("a", return_tensors="pt")


def test_pt_with_torch(tok):
    torch = pytest.importorskip("torch")
    enc = tok(["a b", "c d"], return_tensors="pt")
    assert isinstance(enc.input_ids, torch.Tensor) and enc.input_ids.dtype == torch.int64


def test_batch_encoding_access(tok):
    enc = tok(["a", "b"])
    with pytest.raises(KeyError, match="field name"):
        enc[0]
    with pytest.raises(AttributeError, match="no field"):
        _ = enc.token_type_ids
    assert enc[:1] == {"input_ids": enc.input_ids[:1], "attention_mask": enc.attention_mask[:1]}
    assert enc.encodings is None and enc.is_fast


# -- decoding, helpers, saving -----------------------------------------------------------------

def test_batch_encode_plus_of_a_dict_is_refused(tok):
    """transformers refuses it too (a TypeError); iterating it would encode its keys."""
    with pytest.raises(TypeError, match="not a dict"):
        tok.batch_encode_plus({"x y": 1})


def test_decode_errors(tok):
    """DIFFERENCE: transformers silently drops out-of-range ids."""
    with pytest.raises(llamatok.TokenIdError, match="out of range"):
        tok.decode([1, tok.vocab_size])
    with pytest.raises(llamatok.TokenIdError):
        tok.batch_decode([[1], [10**6]])
    with pytest.raises(llamatok.TokenIdError, match="-100"):  # transformers: OverflowError
        tok.decode([-100])
    with pytest.raises(llamatok.TokenIdError, match="-1"):  # transformers: OverflowError
        tok.convert_ids_to_tokens([-1])
    with pytest.raises(llamatok.TokenIdError, match=str(2**32 + 2)):
        tok.decode([1, 2**32 + 2])
    with pytest.raises(ValueError, match="style"):
        tok.decode([1], style="gpt")
    with pytest.raises(TypeError, match="unexpected"):
        tok.decode([1], bogus=True)
    with pytest.raises(TypeError, match="unexpected"):
        tok.batch_decode([[1]], bogus=True)
    with pytest.raises(llamatok.TokenIdError):  # transformers: None
        tok.convert_ids_to_tokens(10**6)
    with pytest.raises(TypeError, match="list of str"):
        tok.convert_tokens_to_string(["\u2581x", 5])


@pytest.mark.parametrize("bad", [[1.9, 822.7], [1, "822"], "822", [None], np.array([1.0, 5.0]), b"\x01\x02"])
def test_ids_that_are_not_ints_are_type_errors(tok, bad):
    """As in transformers: floats are not truncated and strings not parsed."""
    with pytest.raises(TypeError):
        tok.decode(bad)
    with pytest.raises(TypeError):
        tok.batch_decode([bad])
    with pytest.raises(TypeError):
        tok.convert_ids_to_tokens(bad, skip_special_tokens=True)


def test_integer_ids_of_any_kind_decode(tok):
    expected = tok.decode([1, 822, 285])
    assert tok.decode(np.array([1, 822, 285], dtype=np.int32)) == expected
    assert tok.decode(np.array([1, 822, 285], dtype=">u2")) == expected
    assert tok.decode([np.int64(1), np.uint16(822), 285]) == expected
    assert tok.decode(np.int64(822)) == tok.decode([822])
    assert tok.batch_decode(np.array([[1, 822, 285]], dtype=np.int64)) == [expected]
    assert tok.convert_ids_to_tokens(np.array([1, 822])) == tok.convert_ids_to_tokens([1, 822])
    stream = tok.decode_stream()
    assert stream.extend([np.int64(1), np.uint16(822), 285]) + stream.finish() == expected


def test_torch_integer_tensors_decode(tok):
    torch = pytest.importorskip("torch")
    expected = tok.decode([1, 822, 285])
    assert tok.decode(torch.tensor([1, 822, 285])) == expected
    assert tok.decode(torch.tensor(822)) == tok.decode([822])
    assert tok.decode_stream().step(torch.tensor(822)) == tok.decode([822])
    with pytest.raises(TypeError):
        tok.decode(torch.tensor([1.0, 822.0]))


def test_stream_errors(tok):
    stream = tok.decode_stream()
    with pytest.raises(llamatok.TokenIdError):
        stream.step(tok.vocab_size)
    with pytest.raises(llamatok.TokenIdError):
        stream.step(-1)
    for bad in ("822", 822.0, 1.9, None, b"\x01"):
        with pytest.raises(TypeError, match="int"):
            stream.step(bad)
    assert stream.pending_ids == [] and stream.text == "", "a refused id leaves the stream as it was"
    with pytest.raises(TypeError, match="int"):
        tok.decode_stream().extend([5, "6"])
    with pytest.raises(ValueError, match="style"):
        tok.decode_stream(style="gpt")


def test_special_tokens_mask_errors(tok):
    with pytest.raises(ValueError, match="second sequence"):
        tok.get_special_tokens_mask([1, 5], [6], already_has_special_tokens=True)


def test_save_errors(tok, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(NotADirectoryError):
        tok.save_pretrained(target)
    with pytest.raises(ValueError, match="push_to_hub"):
        tok.save_pretrained(tmp_path / "out", push_to_hub=True)


def test_input_errors_and_corners_that_differ_from_transformers(tok):
    """DIFFERENCE (docs/transformers.md, "Differences"): the exception types of bad inputs, and a few
    corners transformers resolves silently."""
    for bad in (5, [None], b"x"):  # transformers: ValueError
        with pytest.raises(TypeError):
            tok(bad)
    for bad in ([["a", "b"], ["c"]],):  # transformers: TypeError
        with pytest.raises(ValueError):
            tok(bad)
    with pytest.raises(ValueError):  # transformers: TypeError
        tok(["a", "b"], "c")
    with pytest.raises(UnicodeEncodeError):  # transformers: TypeError
        tok("a\ud800b")
    with pytest.raises(ValueError, match="not both"):  # transformers: encodes text and suffix
        tok.encode("a", "b", suffix="c")
    with pytest.raises(TypeError):  # transformers: the pair a, b
        tok.encode_plus(["a", "b"])
    with pytest.raises(ValueError, match="needs text"):  # transformers: skipped
        tok.add_tokens([""])
    with pytest.raises(ValueError, match="max_length"):  # transformers: truncates to 1
        tok("a b c", truncation=True, max_length=True)
    enc = tok(["a b", "c"])
    assert enc[0:1]["input_ids"] == enc["input_ids"][0:1]  # transformers: a list of Encodings
    no_eos = load_ours(folder_of("demo"), eos_token=None)  # transformers: the folder's </s> comes back
    assert no_eos.eos_token is None and no_eos.eos_token_id is None
