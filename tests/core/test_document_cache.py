"""The document cache (rust/src/documents.rs): a text of 1 KiB to 4 MiB given to ``encode`` or ``count``
again gives its ids from the cache. It must never change an id: the same ids as with every cache off, per
special-token mode and dummy prefix, for a tokenizer whose tokens changed (added or special tokens), and
after a call that was interrupted half-way."""

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
    tok = pickle.loads(pickle.dumps(codellama))  # an empty cache for each example
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
    tok = pickle.loads(pickle.dumps(codellama))
    legacy = tok.encode(doc, "legacy")
    literal = tok.encode(doc, "literal")
    assert legacy != literal
    assert tok.encode(doc, "literal") == literal and tok.encode(doc, "legacy") == legacy
    assert tok.encode(doc, "legacy", False) == tok.with_cache(False).encode(doc, "legacy", False)


def test_a_tokenizer_with_other_tokens_does_not_reuse_the_cache(codellama):
    doc = "def special_marker():\n" + "    pass  # </s>\n" * 200
    tok = pickle.loads(pickle.dumps(codellama))
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
    tok = pickle.loads(pickle.dumps(codellama))
    n = tok.count(doc)
    assert tok.encode(doc) == codellama.with_cache(False).encode(doc)
    assert len(tok.encode(doc)) == n == tok.count(doc)


class Stop(Exception):
    pass


def test_an_interrupted_call_leaves_nothing_behind(codellama):
    """A call stopped by a signal handler has only part of the ids: they must not be kept."""
    doc = "ab" * (2 << 20)  # 4 MiB without a cut point: tens of milliseconds, checked for signals per MiB
    tok = pickle.loads(pickle.dumps(codellama))

    def stop(signum, frame):
        raise Stop

    previous = signal.signal(signal.SIGALRM, stop)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.001)
        with pytest.raises(Stop):
            tok.encode(doc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    expected = tok.with_cache(False).encode(doc)
    assert tok.encode(doc) == expected
    assert tok.encode(doc) == expected


def test_the_transformers_class_encodes_again_the_same(codellama_dir):
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(str(codellama_dir))
    doc = "class A:\n    def f(self):\n        return '<s>'\n" * 40
    first = tok(doc)["input_ids"]
    assert tok(doc)["input_ids"] == first
    assert tok.encode(doc) == first
    assert tok(doc, split_special_tokens=True)["input_ids"] != first


BOUNDED = """
import resource, sys, llamatok
tok = llamatok.Tokenizer.from_file(sys.argv[1])
body = "x = 1\\n" * (1 << 17)  # 768 KiB, cheap to encode (the chunk memo): 2 MiB kept with its ids
tok.encode("0" + body)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for i in range(400):  # 800 MiB of documents and ids, each kept for a while
    tok.encode(f"{i} " + body)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_the_cache_holds_at_most_its_capacity(codellama_json):
    """The README's bound: at most 64 MiB of documents per tokenizer, however many distinct ones pass."""
    out = subprocess.run([sys.executable, "-c", BOUNDED, str(codellama_json)], capture_output=True, text=True,
                         check=True)
    grown_mib = int(out.stdout)
    assert grown_mib < 64 + 32, f"the process grew by {grown_mib} MiB"
