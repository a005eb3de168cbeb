"""One job per output prefix: a second run on a prefix that a live run holds is refused at once,
locally (flock) and on an object store (a lease), and the first run's output stays intact."""

from __future__ import annotations

import base64
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pp_helpers import documents, write_jsonl

import llamatok.preprocess as pp
from llamatok.preprocess import storage
from llamatok.preprocess.errors import PrefixBusyError
from llamatok.preprocess.lock import JobLock


def big_jsonl(path: Path, lines: int = 40_000) -> Path:
    """The issue's case: a 40,000-line JSONL. Each line is 1.2 KB of base64 (random bytes), text no
    cache helps with, so that the run lasts seconds."""
    rng = random.Random(1)
    return write_jsonl(path, [{"text": base64.b64encode(rng.randbytes(900)).decode()} for _ in range(lines)])


def start(*args: str, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "llamatok.cli", "preprocess", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, **(env or {})))


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


class HeldRun:
    """A run in a thread of this process whose input (a generator) stops half way until released,
    so that it is certainly still running while a second process tries the same prefix."""

    def __init__(self, prefix: str, documents: int = 40_000, **options) -> None:
        self.half = threading.Event()
        self.release = threading.Event()
        self.result: dict = {}
        self.documents = documents

        def texts():
            for i in range(documents):
                if i == documents // 2:
                    self.half.set()
                    assert self.release.wait(120), "never released"
                yield f"def f{i}(x):\n    return x * {i}\n"

        def body() -> None:
            try:
                self.result["summary"] = pp.run(texts=texts(), output_prefix=prefix, quiet=True, **options)
            except BaseException as e:  # handed to the test
                self.result["error"] = e

        self.thread = threading.Thread(target=body)
        self.thread.start()
        assert self.half.wait(60), "the held run did not start"

    def finish(self) -> dict:
        self.release.set()
        self.thread.join(120)
        assert "error" not in self.result, self.result.get("error")
        return self.result["summary"]


def second_run(tmp_path: Path, prefix: str, *extra: str) -> subprocess.CompletedProcess:
    small = write_jsonl(tmp_path / "small.jsonl", [{"text": "x = 1"}])
    return subprocess.run([sys.executable, "-m", "llamatok.cli", "preprocess", str(small), "-o", prefix, "-q", *extra],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("sharded", [False, True], ids=["single-file", "sharded"])
def test_a_second_run_on_a_local_prefix_is_refused(tmp_path, sharded):
    prefix = str(tmp_path / "out")
    extra = {"shard_tokens": 50_000} if sharded else {}
    first = HeldRun(prefix, **extra)
    t0 = time.monotonic()
    second = second_run(tmp_path, prefix, *(["--shard-tokens", "50k"] if sharded else []))
    assert second.returncode == 3, second.stderr
    assert f"{prefix} is being written by another llamatok preprocess (pid {os.getpid()}" in second.stderr
    assert time.monotonic() - t0 < 30, "refused at once, not after waiting"
    summary = first.finish()
    assert summary["documents"] == 40_000
    if sharded:
        pp.merge(prefix + ".manifest.json", str(tmp_path / "merged"))
        docs = documents(str(tmp_path / "merged"))
    else:
        docs = documents(prefix)
    assert len(docs) == 40_000 and sum(map(len, docs)) == summary["tokens"]
    assert not (tmp_path / "out.lock").exists(), "the lock is released at the end"
    # The second run's input is not in the first run's output: nothing of it was written.
    assert not (tmp_path / "out.partial").exists()


def test_two_processes_on_one_prefix_one_refused(tmp_path):
    """The issue's case, two command lines: the second, started while the first holds the prefix,
    is refused; the first finishes intact."""
    data = big_jsonl(tmp_path / "d.jsonl")
    first = start(str(data), "-o", str(tmp_path / "out"), "-q")
    wait_for(lambda: (tmp_path / "out.lock").exists() or first.poll() is not None)
    second = subprocess.run([sys.executable, "-m", "llamatok.cli", "preprocess", str(data), "-o", str(tmp_path / "out"),
                             "-q"], capture_output=True, text=True)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert json.loads(out)["documents"] == 40_000
    if second.returncode == 0:  # the first had already finished: then the second ran alone
        assert json.loads(second.stdout)["documents"] == 40_000
    else:
        assert second.returncode == 3 and "is being written by another llamatok preprocess" in second.stderr
    assert len(documents(str(tmp_path / "out"))) == 40_000


def test_a_killed_run_releases_a_local_prefix_at_once(tmp_path):
    data = big_jsonl(tmp_path / "d.jsonl", 20_000)
    first = start(str(data), "-o", str(tmp_path / "out"), "-q")
    wait_for(lambda: (tmp_path / "out.lock").exists())
    first.kill()
    first.communicate()
    second = subprocess.run([sys.executable, "-m", "llamatok.cli", "preprocess", str(data), "-o", str(tmp_path / "out"),
                             "-q", "--resume"], capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["documents"] == 20_000


# -- leases on an object store -------------------------------------------------------------------

@pytest.fixture()
def prefix(s3_store):
    bucket = s3_store.fresh_prefix("lk")
    return f"{bucket}/out/code"


def write_lease(prefix: str, **fields) -> None:
    lease = {"owner": "someone", "host": "elsewhere", "pid": 1, "started": time.time(), "heartbeat": time.time(),
             "ttl": 60}
    lease.update(fields)
    storage.write_atomic(prefix + ".lock", json.dumps(lease).encode())


def test_a_live_lease_is_refused_and_a_stale_one_taken_over(prefix):
    write_lease(prefix)
    with pytest.raises(PrefixBusyError, match=r"is being written by another llamatok preprocess \(pid 1 on elsewhere"):
        JobLock.acquire(prefix)
    write_lease(prefix, heartbeat=time.time() - 120)  # its holder stopped beating two minutes ago
    lock = JobLock.acquire(prefix)
    held = json.loads(storage.read_bytes(prefix + ".lock"))
    assert held["owner"] == lock.owner and held["host"] == socket.gethostname()
    lock.release()
    assert storage.info(prefix + ".lock").kind == "missing"


def test_a_lease_of_a_dead_process_on_this_host_is_stale_at_once(prefix):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_lease(prefix, host=socket.gethostname(), pid=dead.pid)
    JobLock.acquire(prefix).release()


def test_a_lease_taken_over_stops_its_holder(prefix, monkeypatch):
    monkeypatch.setenv("LLAMATOK_LOCK_TTL", "2")
    lock = JobLock.acquire(prefix)
    lock.check()
    write_lease(prefix, owner="thief")
    wait_for(lambda: lock._lost is not None, timeout=10)
    with pytest.raises(PrefixBusyError, match="was taken over"):
        lock.check()
    lock.release()
    assert json.loads(storage.read_bytes(prefix + ".lock"))["owner"] == "thief", "release leaves another's lease"


def test_of_two_runs_starting_together_one_goes_on(prefix):
    results = []

    def contender() -> None:
        try:
            results.append(JobLock.acquire(prefix))
        except PrefixBusyError as e:
            results.append(e)

    threads = [threading.Thread(target=contender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if isinstance(r, JobLock)]
    assert len(winners) == 1, results
    winners[0].release()


def test_a_second_run_on_an_s3_prefix_is_refused(tmp_path, prefix):
    first = HeldRun(prefix, shard_tokens=50_000)
    second = second_run(tmp_path, prefix)
    assert second.returncode == 3 and "is being written by another llamatok preprocess" in second.stderr, second.stderr
    summary = first.finish()
    assert summary["documents"] == 40_000
    pp.merge(prefix + ".manifest.json", str(tmp_path / "merged"))
    assert len(documents(str(tmp_path / "merged"))) == 40_000
    assert storage.info(prefix + ".lock").kind == "missing"
