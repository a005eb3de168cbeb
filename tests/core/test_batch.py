"""Batches: the same ids as single calls on any thread count, the GIL released while they run,
ids handed to numpy without a copy, and a forked child that can still run batches."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import llamatok


@pytest.fixture(scope="module")
def tok(demo_dir):
    return llamatok.Tokenizer.from_file(str(demo_dir / "tokenizer.json"))


@pytest.fixture(scope="module")
def texts(code_corpus):
    return [t for _, t in code_corpus[:300]]


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_batch_equals_single_calls_on_any_thread_count(tok, texts, threads):
    single = [tok.encode(t) for t in texts]
    assert tok.encode_batch(texts, num_threads=threads) == single
    ids, offsets = tok.encode_batch_flat(texts, num_threads=threads)
    flat, bounds = np.frombuffer(ids, dtype=np.uint32), np.frombuffer(offsets, dtype=np.uint64)
    assert [flat[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:])] == single


@pytest.mark.parametrize("threads", [2, 3])
def test_large_texts_taken_first_come_back_in_order(tok, texts, threads):
    # Runs of work are taken largest first: long texts among short ones, anywhere in the batch, must
    # still come back in input order.
    long = "\n".join(texts)
    batch = [texts[0], long[:300_000], *texts[1:30], long[:150_000], "", long[:90_000], texts[-1]]
    single = [tok.encode(t) for t in batch]
    assert tok.encode_batch(batch, num_threads=threads) == single
    ids, offsets = tok.encode_batch_flat(batch, num_threads=threads)
    flat, bounds = np.frombuffer(ids, dtype=np.uint32), np.frombuffer(offsets, dtype=np.uint64)
    assert [flat[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:])] == single


@pytest.mark.parametrize("dtype", ["uint32", "uint16"])
@pytest.mark.parametrize("threads", [2, 3])
def test_a_batch_of_millions_of_ids_is_copied_into_place_by_every_thread(tok, texts, dtype, threads):
    # Over 2**20 ids the runs are copied into the flat buffer by the pool's threads (batch.rs,
    # PARALLEL_COPY_IDS): every text's ids must land at its offsets, for texts and JSONL lines alike.
    single = [tok.encode(t) for t in texts]
    repeat = 1 + (3 << 20) // sum(map(len, single))
    batch, want = texts * repeat, single * repeat
    ids, offsets = tok.encode_batch_flat(batch, num_threads=threads, dtype=dtype)
    flat, bounds = np.frombuffer(ids, dtype=dtype), np.frombuffer(offsets, dtype=np.uint64)
    assert len(flat) > 3 << 20
    assert bounds.tolist() == np.cumsum([0, *map(len, want)]).tolist()
    assert flat.tolist() == [i for ids in want for i in ids]
    lines = [json.dumps({"a": t, "b": t[:100]}).encode() for t in batch]
    got, starts, blank = tok.encode_jsonl_flat(lines, ["a", "b"], num_threads=threads, dtype=dtype)
    assert blank == 0 and memoryview(starts).tolist() == np.cumsum([0, *map(len, lines)])[:-1].tolist()
    assert bytes(got[0][0]) == bytes(ids) and bytes(got[0][1]) == bytes(offsets)
    short, bounds = tok.encode_batch_flat([t[:100] for t in batch], num_threads=1, dtype=dtype)
    assert bytes(got[1][0]) == bytes(short) and bytes(got[1][1]) == bytes(bounds)


@pytest.mark.parametrize("bos, eos", [(1, None), (None, 2), (1, 2), (2, 1)])
@pytest.mark.parametrize("threads", [1, 3])
def test_flat_batches_framed_by_bos_and_eos(tok, texts, bos, eos, threads):
    # Megatron's --append-eod rule: EOS after every text with at least one id (BOS counts), so an empty
    # text gets nothing unless BOS is asked for.
    batch = ["", *texts[:40], "", "x"]
    ids, offsets = tok.encode_batch_flat(batch, num_threads=threads, dtype="uint16", bos_id=bos, eos_id=eos)
    flat, bounds = np.frombuffer(ids, dtype=np.uint16).tolist(), np.frombuffer(offsets, dtype=np.uint64).tolist()
    want = []
    for t in batch:
        framed = ([bos] if bos is not None else []) + tok.encode(t)
        want.append(framed + ([eos] if eos is not None and framed else []))
    assert [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])] == want
    assert (want[0] == []) == (bos is None)


def test_bad_frame_ids_are_clear_errors(tok):
    top = len(tok) - 1
    for bad in (-1, top + 1, 2**40):
        with pytest.raises(ValueError, match=f"bos_id {bad} is not an id of this vocabulary \\(0 to {top}\\)"):
            tok.encode_batch_flat(["x"], bos_id=bad)
        with pytest.raises(ValueError, match=f"eos_id {bad} is not an id of this vocabulary"):
            tok.encode_jsonl_flat([b'{"text": "x"}'], ["text"], eos_id=bad)
    with pytest.raises(OverflowError):
        tok.encode_batch_flat(["x"], eos_id=2**70)
    with pytest.raises(TypeError):
        tok.encode_batch_flat(["x"], bos_id="1")
    ids, _ = tok.encode_batch_flat(["x"], bos_id=np.int64(1), eos_id=top)
    assert memoryview(ids).tolist() == [1, *tok.encode("x"), top]


def test_flat_ids_reach_numpy_without_a_copy(tok, texts):
    ids, offsets = tok.encode_batch_flat(texts, dtype="uint16")
    assert ids.dtype == "uint16" and len(offsets) == len(texts) + 1
    arr = np.frombuffer(ids, dtype=np.uint16)
    view = memoryview(ids)
    assert view.readonly and view.format == "H" and view.nbytes == 2 * len(ids)
    assert not arr.flags.writeable and not arr.flags.owndata
    # The array reads the very memory of the Rust vector: its address, as the extension reports it, is
    # where numpy's data starts (a copy anywhere on the way would live elsewhere).
    assert arr.__array_interface__["data"][0] == ids.address
    assert np.frombuffer(offsets, dtype=np.uint64).__array_interface__["data"][0] == offsets.address
    assert arr.tolist() == [i for t in texts for i in tok.encode(t)]


def test_bad_batch_arguments_are_clear_errors(tok):
    with pytest.raises(ValueError, match="num_threads"):
        tok.encode_batch(["x"], num_threads=0)
    limit = llamatok._native.MAX_THREADS
    for call in (lambda n: tok.encode_batch(["a"] * 4, num_threads=n),
                 lambda n: tok.encode_batch_flat(["a"] * 4, num_threads=n),
                 lambda n: tok.decode_batch([[5]] * 4, num_threads=n)):
        start = time.perf_counter()
        for n in (limit + 1, 10**6, 2**63, 2**64, 10**30):
            with pytest.raises(ValueError, match=f"num_threads={n} is more than llamatok's limit of {limit}"):
                call(n)
        for n in (-1, -(2**70), np.int64(-3)):
            with pytest.raises(ValueError, match="num_threads must be at least 1"):
                call(n)
        for n in (2.0, "2", True):
            with pytest.raises(TypeError, match="num_threads must be an int or None"):
                call(n)
        assert time.perf_counter() - start < 1, "refused at once, without starting threads"
        assert len(call(64)) > 0 and len(call(np.int64(2))) > 0
    with pytest.raises(ValueError, match="dtype"):
        tok.encode_batch_flat(["x"], dtype="int8")
    with pytest.raises(TypeError):
        tok.encode_batch(["x", 3])


def _a_batch_that_takes(tok, texts, seconds):
    """Distinct copies of the texts (no cache serves them), doubled until one batch takes `seconds`."""
    copies = 4
    while True:
        big = [f"# copy {i}\n{text}" for i in range(copies) for text in texts]
        start = time.perf_counter()
        tok.encode_batch(big, num_threads=1)
        if time.perf_counter() - start >= seconds or copies >= 1024:
            return big
        copies *= 2


def test_the_gil_is_released_while_a_batch_runs(tok, texts):
    big = _a_batch_that_takes(tok, texts, 0.2)
    done = threading.Event()
    ticks = 0

    def work():
        tok.encode_batch(big, num_threads=1)
        done.set()

    worker = threading.Thread(target=work)
    start = time.perf_counter()
    worker.start()
    while not done.is_set():
        ticks += 1  # pure Python: runs only while the batch does not hold the GIL
    worker.join()
    elapsed = time.perf_counter() - start
    assert elapsed > 0.05, "the batch should take a noticeable time for this test to mean anything"
    assert ticks > 10_000, f"the main thread ran only {ticks} times in {elapsed:.2f}s"


def _batches(tok, texts, threads):
    ids = tok.encode_batch(texts, num_threads=threads)
    flat = bytes(memoryview(tok.encode_batch_flat(texts, num_threads=threads)[0]))
    return ids, flat, tok.decode_batch(ids, num_threads=threads)


def _child_batch(path, texts, threads, queue):
    queue.put(_batches(llamatok.Tokenizer.from_file(path), texts, threads))


def _child_batch_inherited(tok, texts, threads, queue):
    queue.put(_batches(tok, texts, threads))


@pytest.mark.parametrize("threads", [1, 2])
def test_a_forked_child_runs_batches_after_the_parent_did(tok, demo_dir, texts, threads):
    """Also with one thread: such batches once ran on rayon's global pool, whose threads a forked
    child does not have, so the child's next batch hung."""
    assert sum(len(t) for t in texts) > 4 * 65536, "the batch must be cut into several runs"
    expected = _batches(tok, texts, threads)  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    for target, args in ((_child_batch_inherited, (tok, texts, threads)),
                         (_child_batch, (str(demo_dir / "tokenizer.json"), texts, threads))):
        queue = ctx.Queue()
        # A daemon child, killed below whatever happens: a deadlocked child must fail this test, not
        # keep pytest waiting for it at exit.
        child = ctx.Process(target=target, args=(*args, queue), daemon=True)
        child.start()
        try:
            result = queue.get(timeout=60)  # a deadlocked pool would time out here
            child.join(timeout=30)
            assert child.exitcode == 0
            assert result == expected
        finally:
            if child.is_alive():
                child.kill()
                child.join(timeout=10)
            queue.close()


def test_one_thread_means_no_other_thread(demo_dir, texts):
    """``num_threads=1`` runs on the calling thread: no pool is started for a batch under the size at
    which batches become interruptible (it once started rayon's global pool, on every core)."""
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("counts threads in /proc/self/task (Linux)")
    code = f"""
import os, llamatok
tok = llamatok.Tokenizer.from_file({str(demo_dir / "tokenizer.json")!r})
texts = {texts[:200]!r}
assert sum(map(len, texts)) < 1 << 20
tok.encode_batch(texts, num_threads=1)
tok.encode_batch_flat(texts, num_threads=1)
tok.decode_batch(tok.encode_batch(texts, num_threads=1), num_threads=1)
print(len(os.listdir("/proc/self/task")))
"""
    proc = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"


def test_a_thread_that_cannot_start_is_an_error_not_a_panic(demo_dir):
    """With the address space capped, the OS refuses the worker threads' stacks: the batch raises a
    RuntimeError saying so (before, an `expect` raised pyo3's PanicException)."""
    code = f"""
import resource, sys
import llamatok
tok = llamatok.Tokenizer.from_file({str(demo_dir / "tokenizer.json")!r})
tok.encode_batch(["a"], num_threads=1)
with open("/proc/self/statm") as f:
    used = int(f.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (used + (64 << 20), resource.RLIM_INFINITY))
try:
    tok.encode_batch(["a"] * 100, num_threads=1000)
except RuntimeError as e:
    print("RuntimeError:", e)
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    print(tok.encode_batch(["a"] * 4, num_threads=2) == [tok.encode("a")] * 4)
"""
    # Run several times: before the address space was checked first, a worker that did start could fail
    # a small allocation, and Rust aborted the process (about one run in three).
    for _ in range(6):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "RuntimeError: could not start 1000 worker threads" in proc.stdout, proc.stdout + proc.stderr
        assert "num_threads" in proc.stdout and proc.stdout.rstrip().endswith("True")
        assert "PanicException" not in proc.stderr
