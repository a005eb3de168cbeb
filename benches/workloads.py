"""The inputs of the comparison, each one reproducible from a seed.

- ``corpus``: the Python standard library's own .py files (site-packages excluded), one text per file.
- ``lines``: 200,000 short lines of code (30 to 60 characters) from the same files.
- stress strings of a given size: ``base64``, ``minified-js``, ``cjk-emoji``, ``letters`` (random
  lowercase letters, no spaces: llamatok cuts them where two letters never meet inside a piece of the
  vocabulary, such as ``q`` before ``z``, into chunks of a few to a hundred bytes), and ``uncut``
  (random letters of ``acdeilnorstu``, every pair of which meets inside some piece of Llama's
  vocabularies: the whole string is one chunk, merged in windows; llamatok's worst case). A different
  seed gives a different string, so repeated runs cannot be served from a cache.
"""

from __future__ import annotations

import glob
import os
import random
import sysconfig
from typing import Callable


def corpus() -> list[str]:
    root = sysconfig.get_paths()["stdlib"]
    texts = []
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        if f"{os.sep}site-packages{os.sep}" in path:
            continue
        try:
            with open(path, encoding="utf-8") as f:
                texts.append(f.read())
        except UnicodeDecodeError:
            continue  # a few test files are deliberately not UTF-8
    return texts


def lines(count: int = 200_000) -> list[str]:
    out = []
    for text in corpus():
        out.extend(line for line in text.splitlines() if 30 <= len(line) <= 60)
        if len(out) >= count:
            break
    return out[:count]


def _base64(rng: random.Random, size: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "".join(rng.choice(alphabet) for _ in range(size))


def _minified_js(rng: random.Random, size: int) -> str:
    parts = [
        "function(a,b){return a+b}", "var x=1;", "if(x<y){", "}", "[0,1,2]", "'str'", ";", "===",
        "this.value", "document.getElementById('x')", "e.preventDefault();", "&&", "||", "=>",
    ]
    out: list[str] = []
    n = 0
    while n < size:
        part = rng.choice(parts) + str(rng.randint(0, 99)) * rng.randint(0, 1)
        out.append(part)
        n += len(part)
    return "".join(out)[:size]


def _cjk_emoji(rng: random.Random, size: int) -> str:
    out: list[str] = []
    n = 0
    while n < size:
        c = chr(rng.choice([rng.randint(0x4E00, 0x9FFF), rng.randint(0x3040, 0x30FF), rng.randint(0x1F300, 0x1FAFF)]))
        out.append(c)
        n += len(c.encode())
    return "".join(out)


def _letters(rng: random.Random, size: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(size))


def _uncut(rng: random.Random, size: int) -> str:
    return "".join(rng.choice("acdeilnorstu") for _ in range(size))


STRESS: dict[str, Callable[[random.Random, int], str]] = {
    "base64": _base64,
    "minified-js": _minified_js,
    "cjk-emoji": _cjk_emoji,
    "letters": _letters,
    "uncut": _uncut,
}


def stress(kind: str, size: int, seed: int) -> str:
    """A stress string of about ``size`` UTF-8 bytes."""
    return STRESS[kind](random.Random(f"{kind}-{size}-{seed}"), size)
