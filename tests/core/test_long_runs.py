"""Long text without cut points (the core merges it in windows, rust/src/windows.rs): the ids of sentencepiece
and of tokenizers on adversarial long runs (repeated letters, repeated multi-byte characters, random letters
without spaces, base64, minified JavaScript), cache on and off, on Llama 2's tokenizer.model and Code Llama's
tokenizer.json; and `count` agrees."""

from __future__ import annotations

import random
import string
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llamatok

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from differential import LONG_KINDS, UNITS, long_run  # noqa: E402


@st.composite
def long_runs(draw: st.DrawFn) -> str:
    """Text of 1 to 12 KB that the chunker cannot cut (or hardly), in one of the adversarial families."""
    kind = draw(st.sampled_from(LONG_KINDS))
    size = draw(st.integers(1_000, 12_000))
    rng = random.Random(draw(st.integers(0, 2**32)))
    unit = draw(st.lists(st.sampled_from(UNITS), min_size=1, max_size=3).map("".join)) if kind == "repeat" else ""
    return long_run(kind, size, rng, unit)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def codellama(codellama_json):
    import tokenizers

    return llamatok.Tokenizer.from_file(str(codellama_json)), tokenizers.Tokenizer.from_file(str(codellama_json))


@pytest.fixture(scope="module")
def llama2(llama2_model):
    import sentencepiece

    return llamatok.Tokenizer.from_file(str(llama2_model)), sentencepiece.SentencePieceProcessor(
        model_file=str(llama2_model))


@SETTINGS
@given(text=long_runs())
def test_long_runs_equal_tokenizers(codellama, text):
    fast, oracle = codellama
    expected = oracle.encode(text, add_special_tokens=False).ids
    for tok in (fast, fast.with_cache(False)):
        assert tok.encode(text) == expected
        assert tok.count(text) == len(expected)


@SETTINGS
@given(text=long_runs())
def test_long_runs_equal_sentencepiece(llama2, text):
    fast, oracle = llama2
    expected = oracle.encode(text)
    for tok in (fast, fast.with_cache(False)):
        assert tok.encode(text, mode="literal") == expected


@pytest.mark.parametrize("unit", ["\u2581", " \u2581", "\u2581\u2581a", "é", "😀", "a", "_"])
def test_every_length_past_the_window_threshold_equals_tokenizers(codellama, unit):
    """Every run of `unit` from 1 000 to 1 300 bytes: windows start at 1 KiB, and near there a window's cut can
    be pushed to the end of the text (346 `▁` once hung the encoder, looking for a character boundary past it)."""
    fast, oracle = codellama
    size = len(unit.encode())
    texts = [unit * n for n in range(1_000 // size, 1_300 // size + 1)]
    expected = [oracle.encode(text, add_special_tokens=False).ids for text in texts]
    assert [fast.encode(text) for text in texts] == expected
    assert [fast.with_cache(False).encode(text) for text in texts] == expected


def _random_cjk(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(n))


@pytest.mark.parametrize(
    "text",
    ["a" * 1_000_003, "é" * 300_001, "\u2581" * 200_000, " " * 300_000, "ab" * 400_000,
     "".join(random.Random(7).choice(string.ascii_lowercase) for _ in range(600_000)),
     # About a million ids (byte fallback for most): lists and buffers of several MiB, which ask for huge
     # pages before they are written (rust/src/huge_pages.rs).
     _random_cjk(400_000, seed=8)],
    ids=["a", "e-acute", "lower-one-eighth-block", "spaces", "ab", "random-letters", "cjk"],
)
def test_megabyte_runs_equal_tokenizers_and_batches(codellama, text):
    fast, oracle = codellama
    expected = oracle.encode(text, add_special_tokens=False).ids
    assert fast.encode(text) == expected
    assert fast.with_cache(False).encode(text) == expected
    short = oracle.encode(text[:5000], add_special_tokens=False).ids
    ids, offsets = fast.encode_batch_flat([text, text[:5000], text], num_threads=2)
    assert np.frombuffer(ids, dtype=np.uint32).tolist() == expected + short + expected
    ends = np.frombuffer(offsets, dtype=np.uint64).tolist()
    assert ends == [0, len(expected), len(expected) + len(short), 2 * len(expected) + len(short)]
