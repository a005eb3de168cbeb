"""``llamatok.DecodeStream`` against ``tokenizers.decoders.DecodeStream`` (tokenizers 0.22) on the same
``tokenizer.json``: the same chunk (or None) at every step, with and without a prefill of prompt ids,
skipping special tokens or not, one id or a list per step, on ids of encoded text, on random ids (byte-fallback
runs broken anywhere, special and infill tokens anywhere) and on byte sequences that are not UTF-8.
"""

from __future__ import annotations

import copy

import pytest
from api_fixtures import folder, load_oracle, ours, vocab
from hypothesis import given, settings
from hypothesis import strategies as st

import llamatok
from llamatok.decode_stream import DecodeStreamError

__all__ = ["folder", "ours", "vocab"]  # fixtures used by name

tokenizers = pytest.importorskip("tokenizers")
from tokenizers.decoders import DecodeStream as OracleStream  # noqa: E402


@pytest.fixture(scope="module")
def oracle_core(folder):
    """What serving code built on transformers steps with: the fast tokenizer's backend, whose special tokens
    include the infill tokens transformers adds."""
    return load_oracle(folder).backend_tokenizer


@pytest.fixture(scope="module")
def raw_pair(folder):
    path = folder / "tokenizer.json"
    return llamatok.Tokenizer.from_file(path), tokenizers.Tokenizer.from_file(str(path))


def vocab_has_nul(tok) -> bool:
    return tok.convert_ids_to_tokens(3) == "<0x00>" and tok.convert_ids_to_tokens(131) == "<0x80>"


def byte_ids(tok, data: bytes) -> list[int]:
    return [tok.convert_tokens_to_ids(f"<0x{b:02X}>") for b in data]


def run(stream, tokenizer, steps):
    out = []
    for step in steps:
        try:
            out.append(stream.step(tokenizer, step))
        except Exception as e:  # both sides must fail at the same step (tokenizers raises a bare Exception)
            assert isinstance(e, DecodeStreamError) or type(e) is Exception, e
            out.append(("error",))
            break
    return out


def compare(ours, oracle_core, steps, prefill=None, skip=False):
    mine = run(llamatok.DecodeStream(ids=prefill, skip_special_tokens=skip), ours, steps)
    theirs = run(OracleStream(ids=prefill, skip_special_tokens=skip), oracle_core, steps)
    assert mine == theirs, (steps, prefill, skip)
    return mine


TEXTS = ["def f(x):\n    return x  # 😀\n", "héllo wörld 日本語 👍🏽", "  two  spaces\t\ttabs", "<s>x</s> ▁<PRE> y", ""]


@pytest.mark.parametrize("skip", [False, True])
def test_encoded_texts(ours, oracle_core, skip):
    for text in TEXTS:
        ids = ours.encode(text)
        chunks = compare(ours, oracle_core, ids, skip=skip)
        assert "".join(c for c in chunks if c) == ours.decode(ids, skip_special_tokens=skip)[: len("".join(
            c for c in chunks if c))]
        for cut in range(len(ids) + 1):
            compare(ours, oracle_core, ids[cut:], prefill=ids[:cut], skip=skip)


def test_prefill_gives_only_new_text(ours, oracle_core):
    prompt, answer = ours.encode("Hello"), ours.encode(" world 😀!", add_special_tokens=False)
    chunks = compare(ours, oracle_core, answer, prefill=prompt)
    assert "Hello" not in "".join(c for c in chunks if c)
    assert "".join(c for c in chunks if c) == ours.decode(prompt + answer)[len(ours.decode(prompt)):]


def test_backend_tokenizer_and_lists(ours, oracle_core):
    ids = ours.encode("abc 😀 déf")
    steps = [ids[:3], ids[3:4], ids[4:7], ids[7:]]
    expected = run(OracleStream(), oracle_core, steps)
    assert run(llamatok.DecodeStream(), ours, steps) == expected
    assert run(llamatok.DecodeStream(), ours.backend_tokenizer, steps) == expected


@settings(max_examples=50, deadline=None)
@given(data=st.data(), skip=st.booleans())
def test_raw_files(raw_pair, ours, data, skip):
    """The core and tokenizers' Tokenizer read from the same tokenizer.json (special: only its added tokens).
    ``<unk>`` then a NUL byte and an invalid one make tokenizers' InvalidPrefix error: llamatok fails at the
    same step (DecodeStreamError)."""
    mine, theirs = raw_pair
    ids = data.draw(st.lists(st.one_of(st.sampled_from(sorted(ours.all_special_ids)),
                                       st.integers(0, ours.vocab_size - 1)), max_size=12))
    steps = ids[2:]
    if vocab_has_nul(ours):
        assert run(llamatok.DecodeStream(ids=[0, 3]), mine, [131, 0]) == [None, ("error",)] == \
            run(OracleStream(ids=[0, 3]), theirs, [131, 0])
    assert run(llamatok.DecodeStream(ids=ids[:2], skip_special_tokens=skip), mine, steps) == \
        run(OracleStream(ids=ids[:2], skip_special_tokens=skip), theirs, steps)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), skip=st.booleans(), prefill_len=st.integers(0, 4))
def test_random_ids(ours, oracle_core, data, skip, prefill_len):
    specials = sorted(ours.all_special_ids)
    byte_piece = st.integers(0, 255).map(lambda b: byte_ids(ours, bytes([b]))[0])
    any_id = st.one_of(byte_piece, st.sampled_from(specials), st.integers(0, ours.vocab_size - 1))
    ids = data.draw(st.lists(any_id, max_size=16))
    compare(ours, oracle_core, ids[prefill_len:], prefill=ids[:prefill_len] or None, skip=skip)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=12), text=st.text(max_size=6), skip=st.booleans())
def test_byte_runs(ours, oracle_core, data, text, skip):
    """Byte-fallback runs that are not UTF-8, cut off, or split by special tokens."""
    ids = byte_ids(ours, data) + ours.encode(text, add_special_tokens=False)
    compare(ours, oracle_core, ids, skip=skip)
    compare(ours, oracle_core, [ours.bos_token_id, *ids[:3], ours.eos_token_id, *ids[3:]], skip=skip)


def test_copy_forks_a_stream(ours):
    ids = ours.encode("fork here 😀 and there")
    stream = llamatok.DecodeStream()
    for i in ids[:4]:
        stream.step(ours, i)
    fork = copy.copy(stream)
    a = [stream.step(ours, i) for i in ids[4:]]
    b = [fork.step(ours, i) for i in ids[4:]]
    assert a == b and any(a)


def test_bad_arguments(ours, oracle_core):
    with pytest.raises(TypeError, match="CodeLlamaTokenizerFast"):
        llamatok.DecodeStream().step(oracle_core, 5)
    with pytest.raises(TypeError, match="token id"):
        llamatok.DecodeStream().step(ours, 1.5)
    with pytest.raises(llamatok.TokenIdError):
        llamatok.DecodeStream().step(ours, ours.vocab_size)
