"""The document cache (rust/src/documents.rs, ``Tokenizer.with_document_cache``): a text of 1 KiB to a
sixteenth of the capacity given to ``encode`` or ``count`` again gives its ids from the cache. It must never
change an id: the same ids as with every cache off, per special-token mode and dummy prefix, for a tokenizer
whose tokens changed (added or special tokens), and after a call that was interrupted half-way; and it holds
no more than its capacity."""

from __future__ import annotations

import pickle
import signal
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llamatok

MODES = [(mode, prefix) for mode in ("legacy", "non_legacy", "literal") for prefix in (True, False)]

pieces = st.sampled_from(["<s>", "</s>", "\u2581<PRE>", "<FILL_ME>", "def f(x):\n", "    return x  # ok\n",
                          "\u2581", " ", "\u00e9\u4e2d\U0001f600", "aaaaaaaaaaaaaaaa", "<0x41>", "\t\n"])
# Documents of about 1 to 3 KiB: most above the 1 KiB the cache starts at, some below.
documents = st.lists(pieces, min_size=60, max_size=250).map("".join)


@pytest.fixture(scope="module")
def codellama(codellama_json) -> llamatok.Tokenizer:
    return llamatok.Tokenizer.from_file(str(codellama_json))


@settings(max_examples=60, deadline=None)
@given(doc=documents, order=st.permutations(MODES))
def test_a_document_encoded_again_gives_the_same_ids_in_every_mode(codellama, doc, order):
    tok = codellama.with_document_cache()  # an empty cache for each example
    uncached = tok.with_cache(False)
    for mode, prefix in order:
        expected = uncached.encode(doc, mode, prefix)
        assert tok.encode(doc, mode, prefix) == expected, (mode, prefix)
    for mode, prefix in order:
        assert tok.encode(doc, mode, prefix) == uncached.encode(doc, mode, prefix), (mode, prefix)
        assert tok.count(doc, mode, prefix) == len(uncached.encode(doc, mode, prefix)), (mode, prefix)


def test_the_modes_are_kept_apart(codellama):
    # "<s>" is one id in legacy mode and three pieces in literal mode: a shared entry would show.
    doc = "<s>" + "x = 1\n" * 400
    tok = codellama.with_document_cache()
    legacy = tok.encode(doc, "legacy")
    literal = tok.encode(doc, "literal")
    assert legacy != literal
    assert tok.encode(doc, "literal") == literal and tok.encode(doc, "legacy") == legacy
    assert tok.encode(doc, "legacy", False) == tok.with_cache(False).encode(doc, "legacy", False)


def test_a_tokenizer_with_other_tokens_does_not_reuse_the_cache(codellama):
    doc = "def special_marker():\n" + "    pass  # </s>\n" * 200
    tok = codellama.with_document_cache()
    before = tok.encode(doc)
    assert tok.encode(doc) == before
    added, count = tok.with_added_tokens([("special_marker", False, True, False, False, False)])
    assert count == 1
    assert added.encode(doc) == added.with_cache(False).encode(doc) != before
    only_bos = tok.with_special_tokens([("<s>", 1)])  # "</s>" is text now
    assert only_bos.encode(doc) == only_bos.with_cache(False).encode(doc) != before
    assert tok.encode(doc) == before


def test_count_then_encode(codellama):
    doc = "import os\n" * 300
    tok = codellama.with_document_cache()
    n = tok.count(doc)
    assert tok.encode(doc) == codellama.with_cache(False).encode(doc)
    assert len(tok.encode(doc)) == n == tok.count(doc)


class Stop(Exception):
    pass


def test_an_interrupted_call_leaves_nothing_behind(codellama):
    """A call stopped by a signal handler has only part of the ids: they must not be kept."""
    doc = "ab" * (2 << 20)  # 4 MiB without a cut point: tens of milliseconds, checked for signals per MiB
    tok = codellama.with_document_cache()

    def stop(signum, frame):
        raise Stop

    previous = signal.signal(signal.SIGALRM, stop)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.02)  # inside the call (over 50 ms of work), not before it
        with pytest.raises(Stop):
            tok.encode(doc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    expected = tok.with_cache(False).encode(doc)
    assert tok.encode(doc) == expected
    assert tok.encode(doc) == expected


BOUNDED = """
import resource, sys, llamatok
tok = llamatok.Tokenizer.from_file(sys.argv[1]).with_document_cache(int(sys.argv[2]) << 20)
body = "x = 1\\n" * (1 << 17)  # 768 KiB, cheap to encode (the chunk memo): 2 MiB kept with its ids
tok.encode("0" + body)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for i in range(400):  # 800 MiB of documents and ids, each kept for a while
    tok.encode(f"{i} " + body)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.parametrize("capacity_mib", [64, 16])
def test_the_cache_holds_at_most_its_capacity(codellama_json, capacity_mib):
    """The README's bound: at most the capacity, however many distinct documents pass."""
    out = subprocess.run([sys.executable, "-c", BOUNDED, str(codellama_json), str(capacity_mib)],
                         capture_output=True, text=True, check=True)
    grown_mib = int(out.stdout)
    assert grown_mib < capacity_mib + 32, f"the process grew by {grown_mib} MiB"


def test_it_is_off_unless_asked_for_and_kept_by_derived_and_pickled_tokenizers(codellama):
    assert codellama.document_cache_bytes == 0
    assert codellama.with_document_cache().document_cache_bytes == 64 << 20
    tok = codellama.with_document_cache(5 << 20)
    assert tok.with_document_cache(0).document_cache_bytes == 0
    assert tok.with_cache(False).document_cache_bytes == 5 << 20
    assert tok.with_special_tokens([("<s>", 1)]).document_cache_bytes == 5 << 20
    assert tok.with_added_tokens([("zzz", False, True, False, False, False)])[0].document_cache_bytes == 5 << 20
    assert pickle.loads(pickle.dumps(tok)).document_cache_bytes == 5 << 20
    assert pickle.loads(pickle.dumps(codellama)).document_cache_bytes == 0


@pytest.mark.parametrize("bad", [-1, -(1 << 70)])
def test_a_negative_capacity_is_refused(codellama, bad):
    with pytest.raises((ValueError, OverflowError), match="max_bytes|too large|int"):
        codellama.with_document_cache(bad)
    with pytest.raises(TypeError):
        codellama.with_document_cache(1.5)


def test_the_transformers_style_class_with_the_cache_gives_the_same_results(codellama_dir):
    plain = llamatok.CodeLlamaTokenizerFast.from_pretrained(str(codellama_dir))
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(str(codellama_dir))
    assert tok.document_cache_bytes == 0
    tok.enable_document_cache()
    assert tok.document_cache_bytes == 64 << 20
    doc = "class A:\n    def f(self):\n        return '<s>'  # é\n" * 40
    for _ in range(2):  # the second time from the cache
        assert tok(doc) == plain(doc)
        assert tok.encode(doc) == plain.encode(doc)
        assert tok(doc, split_special_tokens=True) == plain(doc, split_special_tokens=True)
        assert tok(doc, add_special_tokens=False)["input_ids"] == plain(doc, add_special_tokens=False)["input_ids"]
    tok.add_tokens(["return"])
    plain.add_tokens(["return"])
    assert tok.document_cache_bytes == 64 << 20
    assert tok.encode(doc) == plain.encode(doc) != tok.encode(doc.replace("return", "yield"))
    again = pickle.loads(pickle.dumps(tok))
    assert again.document_cache_bytes == 64 << 20 and again.encode(doc) == plain.encode(doc)
    tok.enable_document_cache(0)
    assert tok.document_cache_bytes == 0 and tok.encode(doc) == plain.encode(doc)


def fresh(text: str) -> str:
    """An equal string that is a new object (not an interned or shared one)."""
    return "".join(list(text))


def test_an_ascii_document_is_held_not_copied_and_let_go_with_the_tokenizer(codellama):
    doc = fresh("def f(x):\n    return x + 1\n" * 60)
    tok = codellama.with_document_cache()
    before = sys.getrefcount(doc)
    ids = tok.encode(doc)
    assert sys.getrefcount(doc) == before + 1, "the cache holds the string itself"
    assert tok.encode(fresh(doc)) == ids == codellama.with_cache(False).encode(doc)
    del tok
    assert sys.getrefcount(doc) == before, "a dropped tokenizer lets the string go"


class Text(str):
    """CPython stores a subclass's instances apart from their header, so the cache copies them (and never
    holds an object whose release could run Python code)."""


@pytest.mark.parametrize("make", [lambda t: fresh(t + "é"), lambda t: Text(t)], ids=["not-ascii", "str-subclass"])
def test_other_strings_are_copied(codellama, make):
    doc = make("x = [1, 2, 3]\n" * 100)
    tok = codellama.with_document_cache()
    before = sys.getrefcount(doc)
    ids = tok.encode(doc)
    assert sys.getrefcount(doc) == before
    assert tok.encode(fresh(doc)) == ids == codellama.with_cache(False).encode(doc)
