"""Every section of tokenizer.json that llamatok reads is checked (rust/src/hf_json/): a malformed one is a
ModelFileError naming the section, never ignored or wrapped around. Where `tokenizers` refuses the same file,
so must llamatok; the few files llamatok refuses although `tokenizers` loads them are marked."""

from __future__ import annotations

import copy
import json

import pytest
import tokenizers

import llamatok
import llamatok.preprocess as pp


def _set(path, value):
    def edit(d):
        *parents, last = path
        for p in parents:
            d = d[p]
        d[last] = value
    return edit


def _pop(path):
    def edit(d):
        *parents, last = path
        for p in parents:
            d = d[p]
        del d[last]
    return edit


PP_IDS = ("post_processor", "special_tokens", "<s>", "ids")

# (edit, the message's start, tokenizers also refuses the file)
CASES = {
    "template id wraps around 2**32": (_set(PP_IDS, [2**32 + 2]), "post_processor.special_tokens", True),
    "template id negative": (_set(PP_IDS, [-1]), "post_processor.special_tokens", True),
    "template id past the vocabulary": (_set(PP_IDS, [40000]), "post_processor.special_tokens", False),
    "template names an undefined token": (_set(("post_processor", "special_tokens"), {}), "post_processor.single",
                                          True),
    "template is not an object": (_set(("post_processor",), 5), "post_processor", True),
    "template single is not a list": (_set(("post_processor", "single"), "$A"), "post_processor.single", True),
    "template item is neither": (lambda d: d["post_processor"]["single"].append({"Bogus": 1}), "post_processor.single",
                                 True),
    "template without pair": (_pop(("post_processor", "pair")), "post_processor.pair", True),
    "Bert post-processor": (_set(("post_processor",), {"type": "BertProcessing", "sep": ["</s>", 2],
                                                        "cls": ["<s>", 1]}), "post_processor: type", False),
    "added_tokens not a list": (_set(("added_tokens",), {"<unk>": 0}), "added_tokens: not a list", True),
    "added token not an object": (lambda d: d["added_tokens"].append(5), "added_tokens[", True),
    "added token special not a bool": (_set(("added_tokens", 0, "special"), "yes"), "added_tokens[0]", True),
    "added token id negative": (_set(("added_tokens", 0, "id"), -1), "added_tokens[0]", True),
    "added token id 2**32": (_set(("added_tokens", 1, "id"), 2**32 + 1), "added_tokens[1]", True),
    "decoder not an object": (_set(("decoder",), 5), "decoder", True),
    "decoder of an unknown type": (_set(("decoder",), {"type": "Bogus"}), "decoder", True),
    "decoder without a type": (_set(("decoder",), {}), "decoder", True),
    "decoder Sequence without a list": (_set(("decoder", "decoders"), 5), "decoder (Sequence)", True),
    "decoder step of an unknown type": (lambda d: d["decoder"]["decoders"].append({"type": "Nope"}),
                                        "decoder.decoders[4]", True),
    "decoder Strip with a bad field": (_set(("decoder", "decoders", 3, "start"), "x"), "decoder.decoders[3] (Strip)",
                                       True),
    "normalizer not an object": (_set(("normalizer",), 5), "normalizer", True),
    "model field of the wrong type": (_set(("model", "byte_fallback"), "yes"), "model:", True),
}


@pytest.fixture(scope="module")
def demo_json(demo_dir):
    return json.loads((demo_dir / "tokenizer.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", CASES)
def test_a_malformed_section_is_a_model_file_error_naming_it(tmp_path, demo_json, name):
    edit, message, tokenizers_refuses = CASES[name]
    data = copy.deepcopy(demo_json)
    edit(data)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(llamatok.ModelFileError) as e:
        llamatok.Tokenizer.from_file(str(path))
    assert str(path) in str(e.value) and f"tokenizer.json: {message}" in str(e.value), str(e.value)

    try:
        tokenizers.Tokenizer.from_file(str(path)).encode("def f")
        refused = False
    except BaseException:  # noqa: B036 - tokenizers panics (PanicException) on some of these files
        refused = True
    assert refused == tokenizers_refuses


def test_every_id_of_a_template_token_is_added(tmp_path, demo_json):
    data = copy.deepcopy(demo_json)
    data["post_processor"]["special_tokens"]["<s>"]["ids"] = [1, 2]
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    tok = llamatok.Tokenizer.from_file(str(path))
    assert tok.template == ([1, 2], [])
    assert tokenizers.Tokenizer.from_file(str(path)).encode("def f").ids[:2] == [1, 2]


def test_preprocess_refuses_a_template_id_that_would_wrap(tmp_path, demo_json):
    """The reported failure: [4294967298] wrapped to 2, and preprocess wrote </s> as BOS."""
    data = copy.deepcopy(demo_json)
    data["post_processor"]["special_tokens"]["<s>"]["ids"] = [2**32 + 2]
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="post_processor"):
        pp.run(texts=["def f(): pass"], output_prefix=str(tmp_path / "out"), tokenizer=str(path))
    assert not list(tmp_path.glob("out.bin"))
