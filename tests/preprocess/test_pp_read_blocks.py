"""``read_jsonl_block`` (rust/src/python/jsonl_block.rs): the reader's blocks read into buffers the core reuses.
Held to what Python's ``stream.read(size)``, then ``readline()`` unless the bytes end a line, gives, on every
kind of stream the reader opens (a buffered file, gzip, a raw stream that returns short reads); a block kept
keeps its bytes while later blocks reuse the buffers of dropped ones; streams that misbehave get errors."""

from __future__ import annotations

import gc
import gzip
import io
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llamatok._native import JsonlBlock, read_jsonl_block

LINE = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x")) | st.sampled_from([b"", b" ", b"\r", b"{}"])


class ShortReads(io.RawIOBase):
    """A raw stream that gives at most ``step`` bytes per read, as a pipe or a socket may."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.at, self.step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        n = min(len(b), self.step, len(self.data) - self.at)
        b[:n] = self.data[self.at:self.at + n]
        self.at += n
        return n


def streams(data: bytes, step: int) -> dict[str, io.IOBase]:
    return {"bytesio": io.BytesIO(data),
            "buffered": io.BufferedReader(io.BytesIO(data), 7),
            "gzip": gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data)), mode="rb"),
            "short reads": io.BufferedReader(ShortReads(data, step), 5)}


def python_blocks(stream: io.IOBase, sizes: list[int]) -> list[bytes]:
    """What the reader did before: ``read(size)``, then on to the end of the line."""
    out = []
    for size in sizes:
        data = stream.read(size)
        if not data:
            break
        if not data.endswith(b"\n"):
            data += stream.readline()
        out.append(data)
    return out


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(LINE, max_size=30), final_newline=st.booleans(),
       sizes=st.lists(st.integers(1, 120), min_size=1, max_size=40), step=st.integers(1, 50))
def test_blocks_are_what_read_and_readline_give(lines, final_newline, sizes, step):
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    sizes = sizes * (len(data) // max(1, sum(sizes)) + 2)  # enough reads to reach the end
    for kind, stream in streams(data, step).items():
        want = python_blocks(streams(data, step)[kind], sizes)
        got = []
        for size in sizes:
            block = read_jsonl_block(stream, size)
            if block is None:
                break
            assert isinstance(block, JsonlBlock)
            assert block.lines == bytes(block).count(b"\n") + (0 if bytes(block).endswith(b"\n") else 1), kind
            got.append(bytes(block))
        assert got == want, kind
        assert b"".join(got) == data, kind
        assert read_jsonl_block(stream, 10) is None, kind


def test_a_kept_block_keeps_its_bytes_while_the_buffers_are_reused():
    """Blocks dropped hand their buffers back and the next reads take them (the pool's own reuse is held by
    rust/src/block_pool/tests.rs); a block still held is never one of them, so its bytes never change."""
    rng = np.random.default_rng(5)
    lines = [bytes(rng.integers(97, 123, int(rng.integers(0, 3000))).astype(np.uint8)) + b"\n" for _ in range(3000)]
    data = b"".join(lines)
    stream = io.BytesIO(data)
    kept: list[tuple[JsonlBlock, bytes]] = []
    position = 0
    for i in itertools.count():
        block = read_jsonl_block(stream, 1 << 16)
        if block is None:
            break
        copy = bytes(block)
        assert copy == data[position:position + len(copy)]
        position += len(copy)
        if i % 3 == 0:
            kept.append((block, copy))  # every third block stays alive
        del block
        gc.collect()
    assert position == len(data) and len(kept) > 20
    for block, copy in kept:
        assert bytes(block) == copy


def test_a_block_is_read_only():
    block = read_jsonl_block(io.BytesIO(b'{"text": "a"}\n'), 100)
    assert block is not None and len(block) == 14 and block.lines == 1
    view = memoryview(block)
    assert view.readonly and view.format == "B" and view.tobytes() == b'{"text": "a"}\n'
    with pytest.raises(TypeError):
        view[0] = 1
    assert io.BytesIO(block).read() == b'{"text": "a"}\n'
    assert read_jsonl_block(io.BytesIO(b"abc"), 0) is None  # as read(0) gives b""


class KeepsHold(io.RawIOBase):
    """A stream that keeps hold of what it read into, so that it could write to it later."""

    def __init__(self, how) -> None:  # type: ignore[no-untyped-def]
        self.how, self.done = how, False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        if self.done:
            return 0
        memoryview(b)[:1] = b"x"
        self.kept, self.done = self.how(b), True
        return 1


class ReturnsNone(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, b) -> None:  # type: ignore[no-untyped-def,override]
        return None


class ClaimsTooMuch(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        return len(b) + 1


class TextLines(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        memoryview(b)[:1] = b"x"
        return 1

    def readline(self, size: int = -1) -> str:  # type: ignore[override]
        return "not bytes"


def test_streams_that_misbehave_get_errors():
    # A view's slice outlives the view's release; numpy keeps the object, not a view.
    keeps = (lambda b: b, lambda b: memoryview(b), lambda b: memoryview(b)[2:5], lambda b: np.frombuffer(b, np.uint8))
    for how in keeps:
        with pytest.raises(BufferError, match="kept hold of the buffer"):
            read_jsonl_block(KeepsHold(how), 10)
    # What a well-behaved stream does: a view used and released within the call.
    assert bytes(read_jsonl_block(KeepsHold(lambda b: memoryview(b).release()), 1)) == b"x"
    with pytest.raises(OSError, match="returned None"):
        read_jsonl_block(ReturnsNone(), 10)
    with pytest.raises(OSError, match="reported 11 bytes read into a buffer of 10"):
        read_jsonl_block(ClaimsTooMuch(), 10)
    with pytest.raises(TypeError):
        read_jsonl_block(TextLines(), 1)
    with pytest.raises(AttributeError):
        read_jsonl_block(object(), 1)


class Raises(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        memoryview(b)[:1] = b"x"
        raise ValueError("the stream's own error")


def test_the_errors_of_the_stream_come_through():
    # Its traceback holds the frame that holds the buffer: still the stream's error, not "kept hold".
    with pytest.raises(ValueError, match="the stream's own error"):
        read_jsonl_block(Raises(), 10)
    with pytest.raises(ValueError, match="read at most 1073741824 at a time"):
        read_jsonl_block(io.BytesIO(b"x"), (1 << 30) + 1)
    with pytest.raises(OverflowError):
        read_jsonl_block(io.BytesIO(b"x"), -1)
    broken = gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(b"a\n" * 1000)[:-12]), mode="rb")
    with pytest.raises(EOFError):
        while read_jsonl_block(broken, 100) is not None:
            pass
