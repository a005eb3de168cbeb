"""A one-line progress bar on standard error: documents/s, MB/s, tokens/s and ETA.

Shown only when standard error is a terminal and the run is not ``--quiet``; redrawn at most five
times a second, so it costs nothing measurable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24


def _si(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.1f}{unit}"
    return f"{x:.0f}"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    def __init__(self, total_bytes: int | None, enabled: bool, stream: TextIO | None = None,
                 interval: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.total = total_bytes if total_bytes and total_bytes > 0 else None
        self.interval = interval
        self.start = time.monotonic()
        self._last = 0.0
        self._values = (0, 0, 0, 0)

    @staticmethod
    def wanted(quiet: bool, stream: TextIO | None = None) -> bool:
        stream = stream or sys.stderr
        return not quiet and hasattr(stream, "isatty") and stream.isatty()

    def line(self, docs: int, in_bytes: int, tokens: int, done: int, elapsed: float) -> str:
        elapsed = max(elapsed, 1e-9)
        rates = f"{_si(docs / elapsed)} docs/s  {in_bytes / elapsed / 1e6:.1f} MB/s  {_si(tokens / elapsed)} tok/s"
        counts = f"{docs:,} docs {_si(tokens)} tok"
        if self.total is None:
            return f"{counts}  {rates}  {_clock(elapsed)}"
        frac = min(1.0, done / self.total)
        bar = "#" * int(frac * WIDTH) + "." * (WIDTH - int(frac * WIDTH))
        eta = _clock(elapsed * (1 - frac) / frac) if frac > 0 else "?"
        return f"[{bar}] {frac * 100:3.0f}%  {counts}  {rates}  ETA {eta}"

    def update(self, docs: int, in_bytes: int, tokens: int, done: int, force: bool = False) -> None:
        if not self.enabled:
            return
        self._values = (docs, in_bytes, tokens, done)
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        self.stream.write("\r" + self.line(docs, in_bytes, tokens, done, now - self.start) + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """Draws the last state (so even a short run shows its rates) and ends the line."""
        if self.enabled:
            self.update(*self._values, force=True)
            self.stream.write("\n")
            self.stream.flush()
