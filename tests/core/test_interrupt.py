"""Ctrl-C stops a long call: a subprocess encoding a long text (one call, `count`, a batch on two threads,
the alignment calls) or decoding a long batch gets SIGINT and ends promptly with KeyboardInterrupt, well
before the call could have finished."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

import llamatok

# Each encodes about 300 MB of text without cut points: tens of seconds of work, never finished here.
CALLS = {
    "encode": "tok.encode(text)",
    "count": "tok.count(text)",
    "encode_batch_flat": "tok.encode_batch_flat([text[:n // 4]] * 4, num_threads=2)",
    "encode_batch": "tok.encode_batch([text[:n // 4]] * 4, num_threads=2)",
    # The alignment calls return a Python tuple per id, which no check interrupts: a text of few ids.
    "encode_with_offsets": "tok.encode_with_offsets('a' * (n // 6))",
    "encode_tokens": "tok.encode_tokens('a' * (n // 6))",
    "encode_aligned": "tok.encode_aligned('a' * (n // 6))",
    "decode_batch": "tok.decode_batch([list(range(300, 8000)) * 1000] * 100, num_threads=2)",
}

# The child restores Python's Ctrl-C handler: a test run started in the background by a shell inherits
# SIGINT ignored, and Python then installs none (what is tested is llamatok's answer to the handler).
CHILD = """
import signal, sys, time, llamatok
signal.signal(signal.SIGINT, signal.default_int_handler)
tok = llamatok.Tokenizer.from_file(sys.argv[1])
n = 300_000_000
text = "ab" * (n // 2)
print("ready", flush=True)
started = time.perf_counter()
try:
    {call}
except KeyboardInterrupt:
    print(f"interrupted after {{time.perf_counter() - started:.3f}} s", flush=True)
    raise
print("finished", flush=True)
"""


@pytest.mark.parametrize("call", list(CALLS))
def test_sigint_interrupts_a_long_call(call):
    path = str(llamatok.demo_path() / "tokenizer.json")
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(call=CALLS[call]), path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # well inside the call by now
        sent = time.perf_counter()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
        waited = time.perf_counter() - sent
    finally:
        child.kill()
    assert "KeyboardInterrupt" in err, err[-2000:]
    assert "interrupted after" in out and "finished" not in out
    assert child.returncode != 0
    # A check per MiB of text (about a millisecond of work) or per 20 ms in batches; generous for a loaded machine.
    assert waited < 10, f"the call ended {waited:.1f} s after SIGINT"
