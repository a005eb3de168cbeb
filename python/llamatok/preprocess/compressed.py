"""Decompressing JSONL inputs strictly: a ``.gz`` or ``.zst`` stream that ends before its end marker, or
that does not decode, is a :class:`CorruptInputError` naming the file, never a file silently read in part.

``gzip`` already raises ``EOFError`` on a cut stream (:func:`corrupt` names the file). zstandard's stream
reader returns what it has when its input ends inside a frame, so ``.zst`` files are read frame by frame
here and an unfinished frame at the end of the input is reported (docs/preprocess.md, "Records that cannot
be used").
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import Any

from llamatok.preprocess.errors import CorruptInputError, OptionsError

#: Compressed bytes handed to the decompressor at a time: each call's output is bounded by this times the
#: compression ratio, so memory stays small however large the file.
ZSTD_READ = 64 * 1024


def open_decompressed(raw: Any, compression: str | None, name: str) -> Any:
    """A binary stream of the decompressed bytes of ``raw`` (``compression`` is None, "gz" or "zst")."""
    if compression == "gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == "zst":
        return io.BufferedReader(ZstdFrames(raw, name), 1 << 20)
    return raw


def decompression_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "this compressed input is corrupt" (for :func:`corrupt`)."""
    errors: list[type[BaseException]] = [EOFError, zlib.error, gzip.BadGzipFile]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:
        pass
    return tuple(errors)


def corrupt(name: str, compression: str | None, error: BaseException, line: int) -> CorruptInputError:
    """The error for a compressed input that failed after ``line`` complete lines."""
    kind = {"gz": "gzip", "zst": "zstandard"}.get(compression or "", "compressed")
    what = "is truncated" if isinstance(error, EOFError) else "is corrupt"
    return CorruptInputError(
        f"{name} {what}: its {kind} stream fails after {line} complete lines ({error}); the run stops rather "
        "than use part of the file: re-download or repair it, or leave it out of the inputs"
    )


class ZstdFrames(io.RawIOBase):
    """The decompressed bytes of a zstandard file of one or more frames; ``EOFError`` when the input ends
    inside a frame (a cut download), ``zstandard.ZstdError`` when it does not decode."""

    def __init__(self, raw: Any, name: str) -> None:
        try:
            import zstandard
        except ImportError:
            raise OptionsError(f"{name} is zstandard-compressed: pip install zstandard (or llamatok[preprocess])"
                               ) from None
        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._frame: Any = None  # the decompressor of the frame being read, None between frames
        self._out = b""
        self._at = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._at == len(self._out) and not self._eof:
            self._out, self._at = self._decompress(self._raw.read(ZSTD_READ)), 0
        n = min(len(buffer), len(self._out) - self._at)
        buffer[:n] = self._out[self._at:self._at + n]
        self._at += n
        return n

    def _decompress(self, data: bytes) -> bytes:
        if not data:
            self._eof = True
            if self._frame is not None:
                raise EOFError("the input ends inside a zstandard frame")
            return b""
        out = []
        while data:
            if self._frame is None:
                self._frame = self._dctx.decompressobj()
            out.append(self._frame.decompress(data))
            if self._frame.eof:  # a frame ended: what follows starts the next one
                data, self._frame = self._frame.unused_data, None
            else:
                data = b""
        return b"".join(out)
