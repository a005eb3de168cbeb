"""The Rust core against the real libraries on real text: every file of the pinned code corpus
(tests/conftest.py) and generated stress text, on Llama 2's tokenizer.model, Mistral's, and Code Llama's
tokenizer.json, through every fast path (chunk cache on and off, single calls and batches on 1 and 2 threads)."""

from __future__ import annotations

import random

import pytest

import llamatok
from conftest import INFILL_TOKENS


def stress_texts() -> list:
    """Inputs that are hard for BPE: long runs without spaces, CJK and emoji, many spaces, `▁`."""
    rng = random.Random(1234)
    b64 = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                  for _ in range(200_000))
    js = "".join(rng.choice(["function(a,b){return a+b}", "var x=1;", "if(x<y){", "}", "[0,1,2]", "'str'", ";", "==="])
                 for _ in range(20_000))
    cjk = "".join(chr(rng.choice([rng.randint(0x4E00, 0x9FFF), rng.randint(0x1F300, 0x1FAFF),
                                  rng.randint(0x3040, 0x30FF)]))
                  for _ in range(50_000))
    spaces = "".join(" " * rng.randint(1, 70) + rng.choice("ab\n\t") for _ in range(5_000))
    marks = "".join(rng.choice(["\u2581", " ", "\u2581\u2581", "x", "\n", "\u2581x"]) for _ in range(20_000))
    controls = "".join(chr(rng.randint(0, 0x20)) for _ in range(10_000))
    mixed = "".join(rng.choice([b64[:40], js[:40], cjk[:10], " " * 17, "\u2581", "\x00", "é", "\U0010FFFF"])
                    for _ in range(3_000))
    return [b64, js, cjk, spaces, marks, controls, mixed, "", " ", "  ", "\u2581", "\n", "a" * 100_000, " " * 1000]


def fast_paths(tok: llamatok.Tokenizer, texts: list, mode: str) -> dict:
    """The ids of every text through every fast path, by path name (the document cache's: on a second
    pass, when every text of 1 KiB or more is answered from it)."""
    documents = tok.with_document_cache()
    for t in texts:
        documents.encode(t, mode)
    return {
        "cached": [tok.encode(t, mode) for t in texts],
        "uncached": [tok.with_cache(False).encode(t, mode) for t in texts],
        "document-cache": [documents.encode(t, mode) for t in texts],
        "batch-1": tok.encode_batch(texts, mode, num_threads=1),
        "batch-2": tok.encode_batch(texts, mode, num_threads=2),
    }


def assert_all_equal(expected: list, paths: dict, names: list) -> None:
    for path, got in paths.items():
        bad = [n for n, a, b in zip(names, got, expected) if a != b]
        assert not bad, f"{path}: {len(bad)} of {len(names)} inputs differ, first {bad[:3]}"


@pytest.mark.slow
def test_llama2_model_matches_sentencepiece_on_corpus(llama2_model, code_corpus):
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(llama2_model))
    tok = llamatok.Tokenizer.from_file(str(llama2_model))
    names, texts = zip(*code_corpus)
    assert_all_equal(sp.encode(list(texts)), fast_paths(tok, list(texts), "literal"), names)


@pytest.mark.slow
def test_mistral_model_matches_sentencepiece_on_corpus(mistral_model, code_corpus):
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(mistral_model))
    tok = llamatok.Tokenizer.from_file(str(mistral_model))
    names, texts = zip(*code_corpus)
    expected = sp.encode(list(texts))
    got = tok.encode_batch(list(texts), "literal")
    assert_all_equal(expected, {"batch": got}, names)


@pytest.mark.slow
def test_codellama_json_matches_tokenizers_on_corpus(codellama_json, code_corpus):
    import tokenizers

    hf = tokenizers.Tokenizer.from_file(str(codellama_json))
    tok = llamatok.Tokenizer.from_file(str(codellama_json))
    names, texts = zip(*code_corpus)
    expected = [e.ids for e in hf.encode_batch(list(texts), add_special_tokens=False)]
    assert_all_equal(expected, fast_paths(tok, list(texts), "legacy"), names)


@pytest.mark.parametrize("model", ["llama2", "mistral"])
def test_model_files_match_sentencepiece_on_stress_text(model, llama2_model, request):
    import sentencepiece

    path = llama2_model if model == "llama2" else request.getfixturevalue("mistral_model")
    sp = sentencepiece.SentencePieceProcessor(model_file=str(path))
    tok = llamatok.Tokenizer.from_file(str(path))
    texts = stress_texts()
    assert_all_equal(sp.encode(texts), fast_paths(tok, texts, "literal"), [t[:20] for t in texts])


def test_codellama_json_matches_tokenizers_on_stress_text(codellama_json):
    import tokenizers

    hf = tokenizers.Tokenizer.from_file(str(codellama_json))
    hf.add_special_tokens(list(INFILL_TOKENS))  # as transformers registers them
    tok = llamatok.Tokenizer.from_file(str(codellama_json))
    tok = tok.with_special_tokens([(t, i) for t, i, _ in tok.added_tokens] + list(INFILL_TOKENS.items()))
    texts = stress_texts() + ["<s>x</s> <unk>", "\u2581<PRE> a \u2581<SUF>b\u2581<MID>", "<s><s>", " <s> ", "a<s"]
    expected = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    assert_all_equal(expected, fast_paths(tok, texts, "legacy"), [t[:20] for t in texts])


def test_same_ids_from_either_file(llama2_model, codellama_json, code_corpus):
    """Llama 2's tokenizer.model and Code Llama's tokenizer.json share ids 0..31999; on text that
    cannot reach Code Llama's extra pieces or special tokens they give the same ids."""
    model = llamatok.Tokenizer.from_file(str(llama2_model))
    js = llamatok.Tokenizer.from_file(str(codellama_json))
    texts = [t for _, t in code_corpus[::7] if "<" not in t] + stress_texts()[:5]
    assert len(texts) > 100
    for t in texts:
        assert model.encode(t, "literal") == js.encode(t, "literal")


def read_llamacpp_vectors(inp, out):
    inputs = inp.read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")
    outputs = out.read_text(encoding="utf-8").splitlines()
    # The input file ends with a separator line; drop the empty tail it leaves.
    if inputs and inputs[-1].strip() == "":
        inputs = inputs[:-1]
    return inputs, [[int(x) for x in line.split()] for line in outputs]


def test_llamacpp_vectors(llama2_model):
    from conftest import GET_LLAMACPP, LLAMACPP_INP, LLAMACPP_OUT, require

    inputs, outputs = read_llamacpp_vectors(require(LLAMACPP_INP, GET_LLAMACPP), require(LLAMACPP_OUT, GET_LLAMACPP))
    # The fixtures README speaks of 47 vectors; the files hold 46 inputs (one of them empty) and
    # 46 lines of ids, the input file ending with a separator.
    assert len(inputs) == len(outputs) == 46
    tok = llamatok.Tokenizer.from_file(str(llama2_model))
    for text, ids in zip(inputs, outputs):
        assert tok.encode(text, "literal") == ids, repr(text)


@pytest.mark.parametrize(
    "text, ids",
    [
        ("This is a test", [1, 910, 338, 263, 1243]),
        ("生活的真谛是", [1, 29871, 30486, 31704, 30210, 30848, 235, 179, 158, 30392]),
        ("Hi  Hello", [1, 6324, 29871, 15043]),
        ("Hi   Hello", [1, 6324, 259, 15043]),
        ("", [1]),
        (" ", [1, 259]),
        ("  ", [1, 1678]),
        (" Hello", [1, 29871, 15043]),
        ("<s>", [1, 1]),
        ("A sample test", [1, 319, 4559, 1243]),
        ("<s>Hello", [1, 1, 15043]),
        ("Hello <s>.", [1, 15043, 29871, 1, 869]),
    ],
)
def test_published_expected_ids(codellama_dir, text, ids):
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(codellama_dir)
    assert tok.encode(text) == ids


def test_published_bos_eos_flags(codellama_dir):
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(codellama_dir, add_eos_token=True)
    assert tok.encode("A sample test") == [1, 319, 4559, 1243, 2]
    tok.add_bos_token = False
    assert tok.encode("A sample test") == [319, 4559, 1243, 2]


def test_published_decodes(codellama_dir):
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(codellama_dir)
    assert tok.decode([869]) == "."
    assert tok.decode([30112, 869]) == "ا ."
