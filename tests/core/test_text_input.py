"""`encode` and `count` read a `str` without asking CPython for its UTF-8: non-ASCII text is
transcoded straight from the string's 1-, 2- or 4-byte storage (python/text.rs). The batch calls
still go through CPython's own UTF-8 encoder, so they are the oracle here, on every storage width
and every UTF-8 length boundary."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import llamatok

# Code points at the edges of each UTF-8 length and each CPython storage width.
EDGES = "\x00\x01\x7f\x80\xff\u0100\u07ff\u0800\ud7ff\ue000\uffff\U00010000\U0001f600\U0010ffff"
scalar = st.characters(blacklist_categories=("Cs",))


@pytest.fixture(scope="module")
def tok(codellama_json):
    return llamatok.Tokenizer.from_file(str(codellama_json))


@pytest.mark.parametrize("widest", ["\x7f", "\xff", "\uffff", "\U0010ffff"])
@given(body=st.text(st.sampled_from(EDGES) | scalar, max_size=64))
def test_direct_transcoding_equals_cpythons_utf8(tok, widest, body):
    text = body + widest  # forces at least this storage width
    expected = tok.encode_batch([text], num_threads=1)[0]
    assert tok.encode(text) == expected
    assert tok.count(text) == len(expected)
    assert tok.encode(text, "literal", False) == tok.encode_batch([text], "literal", False, num_threads=1)[0]


@pytest.mark.parametrize("text", ["a\ud800b", "\udfff", "\xe9\ud83d", "\u65e5\udc00", "\U0001f600\ud800"])
def test_a_lone_surrogate_raises_cpythons_error(tok, text):
    with pytest.raises(UnicodeEncodeError) as err:
        tok.encode(text)
    assert err.value.start == text.index(next(c for c in text if 0xD800 <= ord(c) < 0xE000))
    with pytest.raises(UnicodeEncodeError):
        tok.count(text)


def test_a_large_mixed_string(tok):
    text = ("日本語のテキスト 😀 \xe9t\xe9 ascii \U0010ffff\u0800" * 20_000)
    assert tok.encode(text) == tok.encode_batch([text], num_threads=1)[0]


def test_encode_called_again_from_a_finalizer_mid_call(tok):
    """Building the list of ids can run the garbage collector, whose finalizers may encode on the
    same thread while the outer call still holds its per-thread buffers: the inner call must get
    buffers of its own, and both results must be right."""
    import gc
    import sys

    inner = []  # (line the collector interrupted, ids the finalizer got)

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            inner.append((sys._getframe(1).f_lineno, tok.encode("日本語 inner \U0001f600")))

    encode = tok.encode  # bound once: calling it allocates nothing before the list of ids
    text = "外側のテキスト outer " * 500
    expected = tok.encode_batch([text], num_threads=1)[0]
    results = []
    old = gc.get_threshold()
    try:
        gc.set_threshold(1)
        for i in range(50):
            # A varying number of tracked allocations before the call shifts where the collector
            # runs, so that allocations by other threads of the test session cannot keep it out of
            # every call.
            spacers = [[] for _ in range(i % 4)]
            c = Cycle()
            del c
            call_line = sys._getframe().f_lineno + 1
            results.append(encode(text))
            del spacers
    finally:
        gc.set_threshold(*old)
        gc.collect()
    assert all(r == expected for r in results)
    inner_expected = tok.encode("日本語 inner \U0001f600")
    assert inner and all(ids == inner_expected for _, ids in inner)
    assert any(line == call_line for line, _ in inner), "no finalizer ran inside encode: the test lost its point"
