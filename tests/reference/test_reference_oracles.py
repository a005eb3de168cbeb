"""The reference tokenizer (llamatok.reference) against the real libraries.

Oracles: sentencepiece 0.2 on ``tokenizer.model`` (literal mode, sentencepiece decoding); tokenizers on
``tokenizer.json`` and transformers 4.57's ``CodeLlamaTokenizerFast`` (legacy mode, transformers
decoding); transformers' slow ``LlamaTokenizer(legacy=False)`` (non_legacy mode); llama.cpp's test
vectors. Variants of the model (unused and user-defined pieces, no byte fallback, other normalizer
flags) are built with sentencepiece's own protobuf module and checked against sentencepiece too.

The model files are not part of the repository (Llama 2 Community License): tests/conftest.py says where
they are looked for (``$LLAMATOK_FIXTURES``, ``../shared/fixtures``, the Hugging Face cache); a test whose file
is absent is skipped and names the file (it fails instead when LLAMATOK_REQUIRE_FIXTURES=1, as in CI). The corpus
is conftest's pinned one (``code_corpus``). The fixtures live in this module rather than in a ``conftest.py``:
``tests/conftest.py`` is imported by name (``from conftest import ...``), which a second ``conftest`` module would
shadow.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
if importlib.util.find_spec("llamatok") is None:  # not installed: use the source tree
    sys.path.insert(0, str(ROOT / "python"))
try:
    import llamatok  # noqa: F401
except ImportError:
    # The native module is not built. The reference is pure Python and needs none of it: make
    # `llamatok` a bare package so that `llamatok.reference` can still be imported.
    _package = types.ModuleType("llamatok")
    _package.__path__ = [str(ROOT / "python" / "llamatok")]
    sys.modules["llamatok"] = _package

from conftest import CODELLAMA_JSON, GET_LLAMACPP, LLAMA2_MODEL, LLAMACPP_INP, LLAMACPP_OUT, require  # noqa: E402
from llamatok.reference import ModelFileError, ReferenceTokenizer, load  # noqa: E402


@pytest.fixture(scope="session")
def model_path() -> Path:
    return require(LLAMA2_MODEL)


@pytest.fixture(scope="session")
def json_path() -> Path:
    return require(CODELLAMA_JSON)


@pytest.fixture(scope="session")
def llama_cpp_files() -> tuple[Path, Path]:
    """llama.cpp's test vectors for the Llama SPM vocabulary: inputs and expected ids."""
    return require(LLAMACPP_INP, GET_LLAMACPP), require(LLAMACPP_OUT, GET_LLAMACPP)


@pytest.fixture(scope="session")
def ref_model(model_path):
    """The reference tokenizer on Llama 2's tokenizer.model."""
    return load(model_path)


@pytest.fixture(scope="session")
def ref_json(json_path):
    """The reference tokenizer on Code Llama's tokenizer.json."""
    return load(json_path)


@pytest.fixture(scope="session")
def sp(model_path):
    """Oracle: sentencepiece on the tokenizer.model."""
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_file=str(model_path))


@pytest.fixture(scope="session")
def hf(json_path):
    """Oracle: tokenizers on the tokenizer.json."""
    import tokenizers

    return tokenizers.Tokenizer.from_file(str(json_path))


@pytest.fixture(scope="session")
def slow_non_legacy(model_path):
    """Oracle: transformers' slow LlamaTokenizer with legacy=False."""
    import transformers

    return transformers.LlamaTokenizer(vocab_file=str(model_path), legacy=False)


@pytest.fixture(scope="session")
def slow_code_llama(model_path):
    """Oracle: transformers' slow CodeLlamaTokenizer with legacy=False (infill tokens get ids 32000..)."""
    import transformers

    return transformers.CodeLlamaTokenizer(vocab_file=str(model_path), legacy=False)


@pytest.fixture(scope="session")
def fast_code_llama(json_path):
    """Oracle: transformers 4.x CodeLlamaTokenizerFast on the Hub files (legacy, infill tokens special)."""
    import transformers

    return transformers.CodeLlamaTokenizerFast.from_pretrained(str(json_path.parent))


# Code Llama's infill tokens, which transformers registers as additional special tokens.
INFILL_TOKENS = {"\u2581<PRE>": 32007, "\u2581<SUF>": 32008, "\u2581<MID>": 32009, "\u2581<EOT>": 32010}

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- inputs ---------------------------------------------------------------------------------------

# Any Unicode scalar value (no surrogates: they cannot be UTF-8 encoded).
ANY_CHAR = st.characters(blacklist_categories=("Cs",))
# fmt: off
FRAGMENTS = [
    " ", "  ", "    ", "\t", "\n", "\r\n", "\u2581", "\u2581\u2581", "x\u2581y", "\u3000", "\u00a0",
    "def ", "return", "self.", "(x)", "==", "!=", "//", "#", "'''", '"', "0x1F", "1234567", "__init__",
    "Hello", "world", "ing", "tion", "\u00e9", "\u4e2d\u6587", "\u751f\u6d3b", "\U0001f600",
    "\U0001f468\u200d\U0001f469", "\x00", "\x1b[0m", "\x7f", "\u200b", "\ufeff", "\ufffd", "\U0010ffff",
    "\ue000", "<", ">", "s>", "</", "<0x41>", "<E", "<EOT>", "<PRE>", "<M", "<SU",
]
# fmt: on
SPECIAL_STRINGS = ["<s>", "</s>", "<unk>"]


def fragment_text(extra=()) -> st.SearchStrategy[str]:
    """Texts glued from code-like fragments and random characters: they make long merge chains."""
    pieces = st.one_of(st.sampled_from(FRAGMENTS + list(extra)), st.text(ANY_CHAR, max_size=6))
    return st.lists(pieces, max_size=25).map("".join)


ANY_TEXT = st.one_of(st.text(ANY_CHAR, max_size=80), fragment_text())
TEXT_WITH_SPECIALS = st.one_of(
    fragment_text(SPECIAL_STRINGS * 4),
    st.lists(
        st.one_of(
            st.sampled_from(SPECIAL_STRINGS + [" ", "\u2581", "\n", "a", " b"]), st.text(ANY_CHAR, max_size=4)
        ),
        max_size=12,
    ).map("".join),
)
TEXT_WITH_INFILL = fragment_text(SPECIAL_STRINGS + list(INFILL_TOKENS) * 3 + ["\u2581<", "<PRE> ", " <SUF>"])


def stress_texts() -> list[str]:
    """Deterministic hard cases: long runs without spaces, CJK and emoji, whitespace, ▁, control chars."""
    # fmt: off
    texts = [
        "", " ", "  ", "   x", "x   ", "\t", "\n", "\n\n\n", " \n ", "Hi  Hello", "Hi   Hello",
        # long runs without spaces
        "a" * 3000, "ab" * 700, "0123456789" * 150, "=" * 500, "-" * 257, "!" * 100 + "?" * 100,
        # whitespace
        "x" + " " * 200 + "y", " " * 33 + "\t" * 17 + " " * 5, "\t \t  \t   \t" * 20, "\u3000" * 40,
        # U+2581 itself
        "\u2581", "\u2581" * 40, "x\u2581y", " \u2581 ", "\u2581\u2581\u2581x", "x \u2581 y",
        "\u2581 \u2581 x",
        # CJK, other scripts, emoji
        "\u751f\u6d3b\u7684\u771f\u8c1b\u662f" * 30, "\u4e2d\u6587" * 200,
        "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8" * 20, "\uc548\ub155\ud558\uc138\uc694" * 20,
        "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645", "\U0001f600" * 50,
        "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466" * 10, "\U0001f1eb\U0001f1f7" * 10,
        "e\u0301" * 30, "\u0915\u094d\u0937" * 20, "\ufeffdef f(): pass", "\ufffd\ufffd",
        "\U0010ffff\U000e0001",
        # control characters and every ASCII / some Latin characters
        "".join(chr(c) for c in range(32)), "".join(chr(c) for c in range(0x7F, 0xA0)), "\x00" * 10,
        "".join(chr(c) for c in range(0x20, 0x7F)) * 3, "".join(chr(c) for c in range(0xA0, 0x800, 7)),
        "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
        # special-token text
        "<s>", "</s>", "<unk>", "<s>Hello", "Hello <s>.", "a</s>b", "<s><s></s>", "<<s>>", "</s</s>>",
        " <s> ", "  <s>  ", "\u2581<s>", "<s>\u2581", "<unk> x", "x<unk>", "\n<s>\n", "<s> Hello",
        # Code Llama's infill tokens and the pieces the .json's extra merges build
        " <E1", "<EOT>", "\u2581<EOT>", " <PRE> x <SUF> y <MID>", "<PRE>", "\u2581<PRE>x",
        "Hello \u2581<PRE> x", "a\u2581<EOT>b", "<M<MID>>", "\u2581<EOT><EOT><EOT>",
    ]
    # fmt: on
    return texts


STRESS = stress_texts()


def corpus_sample(corpus: list[tuple[str, str]], count: int = 150) -> list[tuple[str, str]]:
    step = max(1, len(corpus) // count)
    return corpus[::step][:count]


# --- plain text: sentencepiece and tokenizers -----------------------------------------------------


@pytest.mark.parametrize("text", STRESS)
def test_stress_literal_equals_sentencepiece(ref_model, sp, text):
    assert ref_model.encode(text, mode="literal") == sp.encode(text)


@pytest.mark.parametrize("text", STRESS)
def test_stress_legacy_equals_tokenizers(ref_json, hf, text):
    assert ref_json.encode(text, mode="legacy") == hf.encode(text, add_special_tokens=False).ids


@SETTINGS
@given(ANY_TEXT)
def test_any_text_literal_equals_sentencepiece(ref_model, sp, text):
    assert ref_model.encode(text, mode="literal") == sp.encode(text)


@SETTINGS
@given(st.one_of(ANY_TEXT, TEXT_WITH_SPECIALS))
def test_any_text_legacy_equals_tokenizers(ref_json, hf, text):
    assert ref_json.encode(text, mode="legacy") == hf.encode(text, add_special_tokens=False).ids


def _check_corpus(ref_model, ref_json, sp, hf, files):
    for name, text in files:
        assert ref_model.encode(text, mode="literal") == sp.encode(text), name
        assert ref_json.encode(text, mode="legacy") == hf.encode(text, add_special_tokens=False).ids, name


def test_corpus_sample_equals_oracles(ref_model, ref_json, sp, hf, code_corpus):
    """150 files of the corpus, evenly spread over its sorted list (about 30 s)."""
    _check_corpus(ref_model, ref_json, sp, hf, corpus_sample(code_corpus))


@pytest.mark.slow
def test_corpus_all_equals_oracles(ref_model, ref_json, sp, hf, code_corpus):
    """Every .py file of the corpus (tests/conftest.py); several minutes."""
    _check_corpus(ref_model, ref_json, sp, hf, code_corpus)


@FEW
@given(st.text(st.sampled_from("ab\u2581 xy\u4e2d"), min_size=200, max_size=600))
def test_cutting_before_space_runs_changes_nothing(ref_model, ref_json, text):
    """docs/encoding.md ("Chunking"): on Llama, merging ▁-run chunks separately gives what the loop on
    the whole text gives."""
    from llamatok.reference.normalize import normalize

    normalized = normalize(text, add_dummy_prefix=True)
    sp_bpe, hf_bpe = ref_model._bpe, ref_json._bpe
    assert sp_bpe.cut_before_space_runs and hf_bpe.cut_before_space_runs  # checked at load time
    assert sp_bpe.encode(normalized) == sp_bpe.symbols_to_ids(sp_bpe.merge(normalized))
    assert hf_bpe.encode(normalized) == hf_bpe.merge(hf_bpe.initial_symbols(normalized))


@SETTINGS
@given(ANY_TEXT.filter(lambda t: "<" not in t))
def test_model_and_json_agree_on_plain_text(ref_model, ref_json, text):
    assert ref_model.encode(text, mode="literal") == ref_json.encode(text, mode="literal")


# --- golden vectors -------------------------------------------------------------------------------


def llama_cpp_cases(inputs_path: Path, outputs_path: Path) -> list[tuple[str, list[int]]]:
    """Inputs are separated by the line ``__ggml_vocab_test__``; one line of ids per input, no BOS."""
    inputs = inputs_path.read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")
    if inputs and inputs[-1] == "":
        inputs.pop()
    outputs = outputs_path.read_text(encoding="utf-8").split("\n")
    if outputs and outputs[-1] == "":
        outputs.pop()
    assert len(inputs) == len(outputs) == 46
    return [(text, [int(t) for t in line.split()]) for text, line in zip(inputs, outputs)]


def test_llama_cpp_vectors(ref_model, ref_json, sp, llama_cpp_files):
    for text, expected in llama_cpp_cases(*llama_cpp_files):
        assert sp.encode(text) == expected, text  # the file is read the way llama.cpp reads it
        assert ref_model.encode(text, mode="literal") == expected, text
        assert ref_json.encode(text, mode="legacy") == expected, text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is a test", [1, 910, 338, 263, 1243]),
        (
            "\u751f\u6d3b\u7684\u771f\u8c1b\u662f",
            [1, 29871, 30486, 31704, 30210, 30848, 235, 179, 158, 30392],
        ),
        ("Hi  Hello", [1, 6324, 29871, 15043]),
        ("Hi   Hello", [1, 6324, 259, 15043]),
        ("", [1]),
        (" ", [1, 259]),
        ("  ", [1, 1678]),
        (" Hello", [1, 29871, 15043]),
        ("<s>", [1, 1]),
        ("A sample test", [1, 319, 4559, 1243]),
    ],
)
def test_transformers_published_ids(ref_json, text, expected):
    """fixtures/README.md: transformers' Code Llama test expectations (BOS included)."""
    assert [1] + ref_json.encode(text) == expected


def test_spec_examples(ref_model, ref_json):
    for tok in (ref_model, ref_json):
        assert tok.encode("<s>Hello") == [1, 15043]
        assert tok.encode("Hello <s>.") == [15043, 29871, 1, 869]
        assert tok.encode("Hello <s>.", mode="non_legacy")[-2:] == [1, 29889]
        assert tok.encode("<s>", mode="literal") == [529, 29879, 29958]
        assert tok.encode("   x", mode="literal") == [1678, 921]
    assert ref_json.encode(" <E1") == [29871, 32005, 29896]  # `▁<E` comes out of plain text
    assert ref_model.encode(" <E1", mode="literal") == [29871, 529, 29923, 29896]


# --- special tokens: legacy (fast) and non_legacy (slow) -----------------------------------------

CODE_LLAMA_SPECIALS = {"<unk>": 0, "<s>": 1, "</s>": 2, **INFILL_TOKENS}


@pytest.mark.parametrize("text", STRESS)
def test_stress_legacy_equals_code_llama_fast(ref_json, fast_code_llama, text):
    expected = fast_code_llama.encode(text, add_special_tokens=False)
    assert ref_json.encode(text, mode="legacy", special_tokens=CODE_LLAMA_SPECIALS) == expected


@SETTINGS
@given(TEXT_WITH_INFILL)
def test_legacy_with_infill_tokens_equals_code_llama_fast(ref_json, fast_code_llama, text):
    expected = fast_code_llama.encode(text, add_special_tokens=False)
    assert ref_json.encode(text, mode="legacy", special_tokens=CODE_LLAMA_SPECIALS) == expected


def _only_special_angle_brackets(text: str) -> bool:
    """No "<" outside <s>, </s>, <unk>: the .json's extra merges (▁<E ...) cannot matter."""
    return "<" not in text.replace("<s>", "").replace("</s>", "").replace("<unk>", "")


@pytest.mark.parametrize("text", STRESS)
def test_stress_non_legacy_equals_slow_tokenizers(
    ref_model, ref_json, slow_non_legacy, slow_code_llama, text
):
    expected = slow_non_legacy.encode(text, add_special_tokens=False)
    assert ref_model.encode(text, mode="non_legacy") == expected
    if _only_special_angle_brackets(text):
        assert ref_json.encode(text, mode="non_legacy") == expected
        assert slow_code_llama.encode(text, add_special_tokens=False) == expected  # same rules


@SETTINGS
@given(
    st.sampled_from(["", "<PRE>", "<SUF>", "<MID>", "<EOT>", "<s>"]),
    TEXT_WITH_SPECIALS.filter(_only_special_angle_brackets),
)
def test_non_legacy_with_infill_tokens_equals_slow_code_llama(ref_json, slow_code_llama, start, rest):
    """The dummy ▁ joins the search for special tokens: a text starting with "<PRE>" gives ▁<PRE>.

    CodeLlamaTokenizer on the Llama 2 model gives its infill tokens ids 32000..32003, so pieces are
    compared, with the .json (which has them at 32007..32010) as our vocabulary.
    """
    text = start + rest
    expected = slow_code_llama.convert_ids_to_tokens(slow_code_llama.encode(text, add_special_tokens=False))
    ours = ref_json.encode(text, mode="non_legacy", special_tokens=CODE_LLAMA_SPECIALS)
    assert [ref_json.id_to_piece(i) for i in ours] == expected


@SETTINGS
@given(st.one_of(TEXT_WITH_SPECIALS, ANY_TEXT))
def test_non_legacy_equals_slow_llama_tokenizer(ref_model, slow_non_legacy, text):
    assert ref_model.encode(text, mode="non_legacy") == slow_non_legacy.encode(text, add_special_tokens=False)


@FEW
@given(TEXT_WITH_SPECIALS)
def test_non_legacy_without_prefix_space_equals_slow(ref_model, model_path, text):
    """dummy_prefix=False in non_legacy mode is LlamaTokenizer(add_prefix_space=False)."""
    tok = _slow_without_prefix_space(model_path)
    assert ref_model.encode(text, mode="non_legacy", dummy_prefix=False) == tok.encode(
        text, add_special_tokens=False
    )


_SLOW_NO_PREFIX = {}


def _slow_without_prefix_space(model_path):
    if "tok" not in _SLOW_NO_PREFIX:
        import transformers

        _SLOW_NO_PREFIX["tok"] = transformers.LlamaTokenizer(
            vocab_file=str(model_path), legacy=False, add_prefix_space=False
        )
    return _SLOW_NO_PREFIX["tok"]


def test_non_legacy_rules(ref_model, ref_json):
    """The rules written in special.py, on the examples found with the oracle."""
    enc = lambda text: ref_model.encode(text, mode="non_legacy")  # noqa: E731
    assert enc("Hello <s>.") == [15043, 29871, 1, 29889]  # no dummy ▁ after a special token
    assert enc("<s>Hello") == [1, 10994]  # text starting with a special token: no dummy ▁ at all
    assert enc("<s> Hello") == [1, 15043]
    assert enc("a </s> b") == [263, 29871, 2, 289]  # spaces around special tokens are kept
    assert enc("\n<s>\n") == [29871, 13, 1, 13]  # the leading ▁ stays when the next token is not special
    assert enc("\u2581<s>") == [259, 1]  # ▁ in the text is a space
    infill = {"<s>": 1, "▁<PRE>": 32007}
    assert ref_json.encode("<PRE> x", mode="non_legacy", special_tokens=infill) == [32007, 921]
    # written with ▁ in the text it is not found (▁ became a space); the .json's merges rebuild the piece
    assert ref_json.encode("x \u2581<PRE>", mode="non_legacy", special_tokens=infill) == [921, 29871, 32007]
    assert ref_model.encode("x \u2581<PRE>", mode="non_legacy")[-3:] == [529, 15094, 29958]


# --- dummy_prefix=False ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def no_prefix_oracles(model_path, json_path, tmp_path_factory):
    """sentencepiece with add_dummy_prefix off; tokenizers with the Prepend normalizer removed."""
    import sentencepiece
    import tokenizers
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_path.read_bytes())
    proto.normalizer_spec.add_dummy_prefix = False
    sp_plain = sentencepiece.SentencePieceProcessor(model_proto=proto.SerializeToString())
    document = json.loads(json_path.read_text(encoding="utf-8"))
    document["normalizer"] = {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}
    hf_plain = tokenizers.Tokenizer.from_str(json.dumps(document))
    return sp_plain, hf_plain


@SETTINGS
@given(st.one_of(ANY_TEXT, TEXT_WITH_SPECIALS))
def test_no_dummy_prefix(ref_model, ref_json, no_prefix_oracles, text):
    sp_plain, hf_plain = no_prefix_oracles
    assert ref_model.encode(text, mode="literal", dummy_prefix=False) == sp_plain.encode(text)
    assert (
        ref_json.encode(text, mode="legacy", dummy_prefix=False)
        == hf_plain.encode(text, add_special_tokens=False).ids
    )


def test_infill_example_from_spec(ref_json, fast_code_llama):
    """docs/infill.md: the prefix is encoded as " " + prefix without dummy prefix, the suffix without either."""
    prefix, suffix = "def f(x):", "    return x"
    ours = (
        [1, 32007]
        + ref_json.encode(" " + prefix, dummy_prefix=False, special_tokens=CODE_LLAMA_SPECIALS)
        + [32008]
        + ref_json.encode(suffix, dummy_prefix=False, special_tokens=CODE_LLAMA_SPECIALS)
        + [32009]
    )
    assert ours == fast_code_llama.encode(prefix, suffix=suffix)
    assert ours + [2] == [1, 32007, 822, 285, 29898, 29916, 1125, 32008, 1678, 736, 921, 32009, 2]


# --- decoding --------------------------------------------------------------------------------------


def id_lists(vocab_size: int) -> st.SearchStrategy[list[int]]:
    """Id lists rich in the interesting ids: specials, bytes (valid and broken UTF-8), ▁ pieces."""
    interesting = st.sampled_from(
        [
            0,
            1,
            2,
            3 + 0x20,
            3 + 0x0A,
            3 + 0xE2,
            3 + 0x82,
            3 + 0xAC,
            3 + 0xF0,
            3 + 0x9F,
            3 + 0x98,
            3 + 0x80,
            3 + 0xFF,
            3 + 0xC0,
            3 + 0xED,
            3 + 0xA0,
            259,
            1678,
            29871,
            15043,
            869,
            30112,
        ]
    )
    return st.lists(st.one_of(interesting, st.integers(3, 258), st.integers(0, vocab_size - 1)), max_size=20)


@SETTINGS
@given(id_lists(32000))
def test_decode_sentencepiece_style(ref_model, ref_json, sp, ids):
    assert ref_model.decode(ids, style="sentencepiece") == sp.decode(ids)
    assert ref_json.decode(ids, style="sentencepiece") == sp.decode(ids)
    # skip_special_tokens drops the special ids first
    assert ref_model.decode(ids, style="sentencepiece", skip_special_tokens=True) == sp.decode(
        [i for i in ids if i > 2]
    )


@SETTINGS
@given(id_lists(32016), st.booleans())
def test_decode_transformers_style(ref_model, ref_json, hf, fast_code_llama, ids, skip):
    assert ref_json.decode(ids, skip_special_tokens=skip) == hf.decode(ids, skip_special_tokens=skip)
    if not skip or not set(ids) & set(INFILL_TOKENS.values()):  # transformers also skips ▁<PRE> ...
        assert ref_json.decode(ids, skip_special_tokens=skip) == fast_code_llama.decode(
            ids, skip_special_tokens=skip
        )
    small = [i for i in ids if i < 32000]
    assert ref_model.decode(small, skip_special_tokens=skip) == fast_code_llama.decode(
        small, skip_special_tokens=skip
    )


B = 3  # id of <0x00>


@pytest.mark.parametrize(
    ("ids", "sentencepiece", "transformers"),
    [
        ([B + 0x20], " ", ""),
        ([1, 15043], "Hello", "<s> Hello"),
        ([0], " \u2047 ", "<unk>"),
        ([B + 0xF0, B + 0x9F, B + 0x98, B + 0x80, B + 0xE2], "\U0001f600\ufffd", "\ufffd" * 5),
        ([29871, 15043], " Hello", " Hello"),
        ([1, 29871, 15043], " Hello", "<s>  Hello"),
        ([869], ".", "."),
        ([30112, 869], "\u0627 .", "\u0627 ."),
        ([15043, 1, 869], "Hello .", "Hello<s> ."),
    ],
)
def test_decode_table(ref_model, ref_json, sp, fast_code_llama, ids, sentencepiece, transformers):
    """docs/decoding.md's table, with the oracles' answers next to ours."""
    assert sp.decode(ids) == sentencepiece
    assert fast_code_llama.decode(ids) == transformers
    for tok in (ref_model, ref_json):
        assert tok.decode(ids, style="sentencepiece") == sentencepiece
        assert tok.decode(ids, style="transformers") == transformers


@SETTINGS
@given(ANY_TEXT)
def test_round_trip_literal(ref_model, ref_json, text):
    expected = text.replace("\u2581", " ")
    for tok in (ref_model, ref_json):
        ids = tok.encode(text, mode="literal")
        assert tok.decode(ids, style="sentencepiece") == expected
        assert tok.decode(ids, style="transformers") == expected


@SETTINGS
@given(TEXT_WITH_INFILL)
def test_legacy_decode_equals_code_llama_fast(ref_json, fast_code_llama, text):
    ids = fast_code_llama.encode(text, add_special_tokens=False)
    assert ref_json.decode(ids) == fast_code_llama.decode(ids)


def test_decode_spaces_next_to_special_tokens(ref_json, fast_code_llama):
    for text, decoded in [("Hello <s>.", "Hello <s> ."), ("a</s>b", "a</s> b")]:
        ids = ref_json.encode(text)
        assert ref_json.decode(ids) == decoded == fast_code_llama.decode(ids)


# --- model variants built with sentencepiece's protobuf module -------------------------------------


def _variant(model_path: Path, tmp_path: Path, name: str, edit) -> tuple[ReferenceTokenizer, object]:
    import sentencepiece
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_path.read_bytes())
    edit(proto)
    data = proto.SerializeToString()
    path = tmp_path / f"{name}.model"
    path.write_bytes(data)
    return load(path), sentencepiece.SentencePieceProcessor(model_proto=data)


def _unused(proto):
    # Every 7th normal piece (and some short, frequent ones) becomes UNUSED: merges still pass
    # through them, then they are split back.
    for i, piece in enumerate(proto.pieces):
        if piece.type == 1 and (i % 7 == 0 or piece.piece in {"▁t", "er", "in", "▁a", "▁▁", "▁▁▁▁", "re"}):
            piece.type = 5


def _user_defined(proto):
    for i, piece in enumerate(proto.pieces):
        if piece.type == 1 and i % 50 == 0:
            piece.type = 4
    for text in ["<tag>", "x\u2581y", "qqzz", "\u4e2d\u6587\u5b57", "\u2581\u2581x"]:
        new = proto.pieces.add()
        new.piece, new.score, new.type = text, 0.0, 4


def _no_byte_fallback(proto):
    keep = [p for p in proto.pieces if p.type != 6]
    del proto.pieces[:]
    proto.pieces.extend(keep)
    proto.trainer_spec.byte_fallback = False


def _no_dummy_prefix(proto):
    proto.normalizer_spec.add_dummy_prefix = False


def _remove_extra_whitespaces(proto):
    proto.normalizer_spec.remove_extra_whitespaces = True


def _no_escape(proto):
    proto.normalizer_spec.escape_whitespaces = False


def _unk_surface(proto):
    proto.trainer_spec.unk_surface = "<?>"


VARIANTS = {
    "unused": _unused,
    "user_defined": _user_defined,
    "no_byte_fallback": _no_byte_fallback,
    "no_dummy_prefix": _no_dummy_prefix,
    "remove_extra_whitespaces": _remove_extra_whitespaces,
    "no_escape": _no_escape,
    "unk_surface": _unk_surface,
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_model_variants_equal_sentencepiece(model_path, tmp_path_factory, name):
    ref, oracle = _variant(model_path, tmp_path_factory.mktemp(name), name, VARIANTS[name])
    for text in STRESS:
        assert ref.encode(text, mode="literal") == oracle.encode(text), text

    @FEW
    @given(
        st.one_of(ANY_TEXT, fragment_text(["qqzz", "<tag>", "x\u2581y", " x ", "\u4e2d\u6587\u5b57"])),
        id_lists(len(ref)),
    )
    def check(text, ids):
        assert ref.encode(text, mode="literal") == oracle.encode(text)
        ids = [i for i in ids if i < len(ref)]
        assert ref.decode(ids, style="sentencepiece") == oracle.decode(ids)

    check()


@pytest.mark.parametrize("fuse_unk", [True, False])
def test_json_without_byte_fallback_equals_tokenizers(json_path, tmp_path, fuse_unk):
    import tokenizers

    document = json.loads(json_path.read_text(encoding="utf-8"))
    document["model"]["byte_fallback"] = False
    document["model"]["fuse_unk"] = fuse_unk
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    ref, oracle = load(path), tokenizers.Tokenizer.from_file(str(path))
    for text in STRESS + ["\U0001f600\U0001f600 \U0001f600", "\u4e00\u4e01\u4e02"]:
        assert ref.encode(text) == oracle.encode(text, add_special_tokens=False).ids, text


# --- the vocabulary and the API --------------------------------------------------------------------


def test_vocabulary(ref_model, ref_json):
    assert len(ref_model) == 32000 and len(ref_json) == 32016
    for tok in (ref_model, ref_json):
        pieces = tok.pieces
        assert pieces[0][0] == "<unk>" and pieces[0][2] == "unknown"
        assert [p[2] for p in pieces[1:3]] == ["control", "control"]
        assert all(pieces[3 + b] == (f"<0x{b:02X}>", pieces[3 + b][1], "byte") for b in range(256))
        assert {p[2] for p in pieces[259:]} == {"normal"}
        assert tok.id_to_piece(15043) == "\u2581Hello" and tok.piece_to_id("\u2581Hello") == 15043
        assert tok.piece_to_id("no such piece") == 0
    for i, (text, score, _kind) in enumerate(ref_model.pieces[259:], start=259):
        assert score == (-1e9 if set(text) == {"\u2581"} else -(i - 259)), text
    assert ref_json.id_to_piece(32007) == "\u2581<PRE>"


def test_argument_errors(ref_model):
    with pytest.raises(TypeError):
        ref_model.encode(b"bytes")
    with pytest.raises(TypeError):
        ref_model.encode(None)
    with pytest.raises(ValueError, match="mode"):
        ref_model.encode("x", mode="fast")
    with pytest.raises(ValueError, match="surrogate"):
        ref_model.encode("\ud800")
    with pytest.raises(ValueError, match="out of range") as error:
        ref_model.decode([32000])
    assert not isinstance(error.value, ModelFileError)
    with pytest.raises(ValueError, match="out of range"):
        ref_model.decode([-1])
    with pytest.raises(ValueError, match="out of range"):
        ref_model.id_to_piece(10**6)
    with pytest.raises(TypeError):
        ref_model.decode(["1"])
    with pytest.raises(ValueError, match="style"):
        ref_model.decode([1], style="hf")
    with pytest.raises(ValueError, match="out of range"):
        ref_model.encode("x", special_tokens={"<x>": 99999})


# --- broken and unsupported files ------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.model")


def test_truncated_model_files(model_path, tmp_path):
    data = model_path.read_bytes()
    path = tmp_path / "cut.model"
    for cut in [
        0,
        1,
        2,
        5,
        17,
        100,
        1000,
        len(data) // 3,
        len(data) // 2,
        len(data) - 300,
        len(data) - 40,
        len(data) - 1,
    ]:
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=re.escape(str(path))):
            load(path)


def test_garbage_model_file(tmp_path):
    path = tmp_path / "garbage.model"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ModelFileError, match="garbage.model"):
        load(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: setattr(p.trainer_spec, "model_type", 1), "UNIGRAM"),
        (
            lambda p: setattr(p.normalizer_spec, "precompiled_charsmap", b"\x01\x02\x03\x04\x05"),
            "precompiled_charsmap",
        ),
        (lambda p: setattr(p.trainer_spec, "treat_whitespace_as_suffix", True), "treat_whitespace_as_suffix"),
        (lambda p: setattr(p.pieces[0], "type", 1), "UNKNOWN"),
        (lambda p: setattr(p.pieces[500], "piece", p.pieces[501].piece), "defined twice"),
        (lambda p: setattr(p.trainer_spec, "byte_fallback", False), "byte_fallback"),
    ],
)
def test_unsupported_model_files(model_path, tmp_path, edit, message):
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_path.read_bytes())
    edit(proto)
    path = tmp_path / "bad.model"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(ModelFileError, match=message) as error:
        load(path)
    assert str(error.value).startswith(str(path))


def _json_edit(json_path, tmp_path, edit) -> Path:
    document = json.loads(json_path.read_text(encoding="utf-8"))
    edit(document)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["model"]["merges"].append("\u2581 nosuchpiece"), "nosuchpiece"),
        (lambda d: d["model"]["vocab"].update({"\u2581Hello": 40000}), "40000"),
        (lambda d: d["model"].update({"type": "Unigram"}), "Unigram"),
        (lambda d: d["model"].update({"dropout": 0.1}), "dropout"),
        (lambda d: d.update({"pre_tokenizer": {"type": "Metaspace"}}), "pre_tokenizer"),
        (lambda d: d.update({"normalizer": {"type": "NFKC"}}), "normalizer"),
        (lambda d: d["added_tokens"][1].update({"lstrip": True}), "lstrip"),
        (lambda d: d["added_tokens"].append({"id": 40000, "content": "<x>"}), "40000"),
        (lambda d: d["model"].pop("vocab"), "vocab"),
    ],
)
def test_unsupported_json_files(json_path, tmp_path, edit, message):
    path = _json_edit(json_path, tmp_path, edit)
    with pytest.raises(ModelFileError, match=message) as error:
        load(path)
    assert str(error.value).startswith(str(path))


def test_broken_json(json_path, tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_bytes(json_path.read_bytes()[:5000])
    with pytest.raises(ModelFileError, match="broken JSON"):
        load(path)
