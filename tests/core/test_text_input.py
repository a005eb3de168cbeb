"""Every call reads a `str` without asking CPython for its UTF-8: non-ASCII text is transcoded straight
from the string's 1-, 2- or 4-byte storage (python/text.rs), by the calling thread in `encode` and
`count`, by the worker that encodes it in the batch calls. The oracle is the JSONL path, which gets the
text as bytes CPython's own UTF-8 encoder wrote, on every storage width and every UTF-8 length boundary."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import llamatok

# Code points at the edges of each UTF-8 length and each CPython storage width.
EDGES = "\x00\x01\x7f\x80\xff\u0100\u07ff\u0800\ud7ff\ue000\uffff\U00010000\U0001f600\U0010ffff"
scalar = st.characters(blacklist_categories=("Cs",))
WIDEST = ["\x7f", "\xff", "\uffff", "\U0010ffff"]
SURROGATES = ["a\ud800b", "\udfff", "\xe9\ud83d", "\u65e5\udc00", "\U0001f600\ud800"]


@pytest.fixture(scope="module")
def tok(codellama_json):
    return llamatok.Tokenizer.from_file(str(codellama_json))


def json_line(text: str) -> bytes:
    """`{"t": text}` with every non-ASCII character as the UTF-8 CPython's encoder writes, and every ASCII digit
    as a `\\u` escape: the core leaves a line with a run of 640 digits to Python's `json` (rust/src/jsonl.rs)."""
    pieces = re.split(r"([0-9]+)", text)
    pieces[1::2] = ["".join(f"\\u{ord(d):04x}" for d in run) for run in pieces[1::2]]
    pieces[0::2] = [json.dumps(p, ensure_ascii=False)[1:-1] for p in pieces[0::2]]
    return ('{"t": "' + "".join(pieces) + '"}').encode("utf-8")


def from_cpythons_utf8(tok, texts, mode="legacy", dummy_prefix=True):
    """The ids of each text, given to llamatok as the UTF-8 bytes CPython's encoder makes of it."""
    lines = [json_line(t) for t in texts]
    got = tok.encode_jsonl_flat(lines, ["t"], mode, dummy_prefix, num_threads=1)
    assert got is not None, "every line is a plain JSON object"
    ids, offsets = (np.frombuffer(b, dtype=d) for b, d in zip(got[0][0], ("uint32", "uint64")))
    return [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]


def test_the_oracles_lines_read_back_as_the_text(tok):
    for text in ["", "a1", "0" * 700 + "\x7f", "\x00\"\\9\U0010ffff", "\u00e9" * 3 + "42"]:
        assert json.loads(json_line(text)) == {"t": text}
        assert not re.search(rb"[0-9]{5}", json_line(text)), "digits only as escapes of 4"
    assert from_cpythons_utf8(tok, ["0" * 700 + "\x7f"]) == [tok.encode("0" * 700 + "\x7f")]


@pytest.mark.parametrize("widest", WIDEST)
@given(body=st.text(st.sampled_from(EDGES) | scalar, max_size=64))
def test_direct_transcoding_equals_cpythons_utf8(tok, widest, body):
    text = body + widest  # forces at least this storage width
    expected = from_cpythons_utf8(tok, [text])[0]
    assert tok.encode(text) == expected
    assert tok.count(text) == len(expected)
    assert tok.encode_batch([text], num_threads=1)[0] == expected
    assert tok.encode(text, "literal", False) == from_cpythons_utf8(tok, [text], "literal", False)[0]


# Runs of ASCII of every length between other characters: the transcoder copies whole blocks of ASCII
# units at once, so every place a block can start, end or be broken must be reached.
ascii_runs = st.lists(st.tuples(st.text(st.characters(max_codepoint=0x7F), max_size=80),
                                st.sampled_from(EDGES) | scalar), max_size=10)


@pytest.mark.parametrize("widest", WIDEST)
@given(parts=ascii_runs, at=st.integers(0, 10))
def test_ascii_runs_in_every_storage_width(tok, widest, parts, at):
    pieces = [run + other for run, other in parts]
    pieces.insert(min(at, len(pieces)), widest)
    text = "".join(pieces)
    expected = from_cpythons_utf8(tok, [text])[0]
    assert tok.encode(text) == expected
    assert tok.encode_batch([text], num_threads=1)[0] == expected


@pytest.mark.parametrize("widest", WIDEST)
def test_a_lone_surrogate_after_a_run_of_ascii_of_any_length(tok, widest):
    for before in range(0, 70):
        for after in (0, 1, 40):
            text = widest + "x" * before + "\ud800" + "y" * after
            with pytest.raises(UnicodeEncodeError) as err:
                tok.encode(text)
            assert err.value.start == 1 + before


@given(texts=st.lists(st.tuples(st.text(st.sampled_from(EDGES) | scalar, max_size=300), st.sampled_from(WIDEST)),
                      max_size=40),
       threads=st.sampled_from([1, 2, 3]))
def test_batches_of_every_storage_width_on_many_threads(tok, texts, threads):
    # Some texts of 64 KiB make several runs of work, so texts of every width go to every thread.
    texts = [body * (1 + 250 * (i % 5 == 4)) + widest for i, (body, widest) in enumerate(texts)]
    expected = from_cpythons_utf8(tok, texts)
    assert tok.encode_batch(texts, num_threads=threads) == expected
    ids, offsets = tok.encode_batch_flat(texts, num_threads=threads)
    ids, offsets = np.frombuffer(ids, dtype=np.uint32), np.frombuffer(offsets, dtype=np.uint64)
    assert [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == expected


@pytest.mark.parametrize("text", SURROGATES)
def test_a_lone_surrogate_raises_cpythons_error(tok, text):
    with pytest.raises(UnicodeEncodeError) as err:
        tok.encode(text)
    assert err.value.start == text.index(next(c for c in text if 0xD800 <= ord(c) < 0xE000))
    with pytest.raises(UnicodeEncodeError):
        tok.count(text)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("call", ["encode_batch", "encode_batch_flat"])
def test_a_lone_surrogate_in_a_batch_raises_cpythons_error_for_the_first_such_text(tok, call, threads):
    fine = ["ascii", "caf\xe9", "\u65e5\u672c" * 40_000, "\U0001f600"]
    for first, second in [(3, 9), (0, 1), (8, 2)]:
        texts = [fine[i % 4] for i in range(10)]
        texts[first], texts[second] = SURROGATES[first % 5], SURROGATES[second % 5]
        with pytest.raises(UnicodeEncodeError) as err:
            getattr(tok, call)(texts, num_threads=threads)
        with pytest.raises(UnicodeEncodeError) as cpythons:
            texts[min(first, second)].encode("utf-8")
        got, want = err.value, cpythons.value
        assert (got.object, got.start, got.end, got.reason) == (want.object, want.start, want.end, want.reason)


def test_a_batch_leaves_no_utf8_copy_in_the_strings(tok):
    """CPython keeps the UTF-8 it makes of a string for the string's lifetime (`sys.getsizeof` counts
    it): a batch call must not make one."""
    texts = ["caf\xe9 " * 1000, "\u65e5\u672c\u8a9e " * 1000, "\U0001f600 x" * 1000]
    sizes = [sys.getsizeof(t) for t in texts]
    tok.encode_batch(texts)
    tok.encode_batch_flat(texts, dtype="uint16")
    assert [sys.getsizeof(t) for t in texts] == sizes
    # The check can see a copy: PyUnicode_AsUTF8 (how a str becomes UTF-8 in most extensions) keeps one.
    import ctypes

    as_utf8 = ctypes.pythonapi.PyUnicode_AsUTF8
    as_utf8.restype, as_utf8.argtypes = ctypes.c_char_p, [ctypes.py_object]
    as_utf8(texts[1])
    assert sys.getsizeof(texts[1]) > sizes[1]


def test_a_large_mixed_string(tok):
    text = ("日本語のテキスト 😀 \xe9t\xe9 ascii \U0010ffff\u0800" * 20_000)
    assert tok.encode(text) == from_cpythons_utf8(tok, [text])[0] == tok.encode_batch([text])[0]


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


@pytest.mark.parametrize("call", ["encode_batch", "encode_batch_flat"])
def test_a_batch_that_is_not_a_list_of_str_says_what_is_wrong(call):
    tok = llamatok.Tokenizer.from_file(str(llamatok.demo_path() / "tokenizer.json"))
    batch = getattr(tok, call)
    with pytest.raises(TypeError, match="not a str \\(encode takes one text\\)"):
        batch("a str is one text")
    with pytest.raises(TypeError, match=r"texts\[1\] is int, not str"):
        batch(["a", 5])
    with pytest.raises(TypeError, match="not int"):
        batch(5)
    assert tok.encode_batch(iter(["a b", "c"])) == tok.encode_batch(["a b", "c"])  # any iterable of str
