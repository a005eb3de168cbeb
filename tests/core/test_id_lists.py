"""The lists of ids ``encode`` and ``encode_batch`` return are ordinary lists in every way but one,
stated in docs/speed.md ("Lists of ids"): Python's cycle collector does not track them (they hold
only ints), so that keeping many of them costs no repeated collector passes."""

from __future__ import annotations

import gc
import pickle
import sys
import sysconfig

import pytest

import llamatok

UNTRACKED = sys.implementation.name == "cpython" and not sysconfig.get_config_var("Py_GIL_DISABLED")


@pytest.fixture(scope="module")
def tok():
    return llamatok.Tokenizer.from_file(str(llamatok.demo_path() / "tokenizer.json"))


def test_returned_lists_are_left_out_of_the_cycle_collector(tok):
    lists = [tok.encode("def f(x):\n    return x"), tok.encode(""), *tok.encode_batch(["a b", "", "ü" * 40])]
    assert [gc.is_tracked(ids) for ids in lists] == [not UNTRACKED] * len(lists)
    copy = list(lists[0])
    assert gc.is_tracked(copy), "a copy is an ordinary list"
    assert copy == lists[0] and pickle.loads(pickle.dumps(lists[0])) == lists[0]


def test_lists_kept_by_the_million_are_freed(tok):
    """Untracked lists are still freed by reference counting: memory does not grow across rounds."""
    import tracemalloc

    texts = [f"line {i} = value({i})" for i in range(20_000)]
    tracemalloc.start()
    try:
        for _ in range(2):
            kept = [tok.encode(t) for t in texts]
            del kept
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            kept = [tok.encode(t) for t in texts]
            del kept
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 1 << 20
