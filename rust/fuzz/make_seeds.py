"""Writes the seed corpora of the fuzz targets into rust/fuzz/corpus/<target>/ (never committed; run
before fuzzing, as .ci/fuzz-smoke does). Every seed is made here from the demo vocabulary or from
literals: Meta's files are never copied. Usage: ``python3 rust/fuzz/make_seeds.py``."""

from __future__ import annotations

import random
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_MODEL = HERE.parents[1] / "python" / "llamatok" / "data" / "demo" / "tokenizer.model"

TEXTS = [
    "", " ", "  ", "\n", "\t", "def f(x):\n    return x  # caf\u00e9\n", "Hello <s>.", "<s>Hello", " <s> ", "</s></s>",
    "<unk>", "\u2581<PRE> x \u2581<SUF>y\u2581<MID>", "<PRE> a", "x \u2581 y", "\u2581\u2581\u2581", " <E1", "<0x41>",
    "\u751f\u6d3b\u7684\u771f\u8c1b\u662f", "\U0001f600\U0001f468\u200d\U0001f469", "\x00\x1b[0m\x7f",
    "a" * 300, " " * 70 + "x", "e\u0301" * 5, "\U0010ffff\ue000\ufeff",
]


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def fields(buf: bytes):
    """(field number, wire type, raw bytes of the whole field) of a protobuf message, in order."""
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = read_varint(buf, pos)
        wire = key & 7
        if wire == 0:
            _, pos = read_varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            pos += length
        yield key >> 3, wire, buf[start:pos]


def model_seeds() -> dict[str, bytes]:
    """Cut-down demo models: the first N pieces (with <unk>, <s>, </s> and the 256 byte pieces), its
    trainer and normalizer specs; sentencepiece's merges are implicit in the pieces, so any prefix is a model."""
    demo = DEMO_MODEL.read_bytes()
    pieces = [raw for number, _, raw in fields(demo) if number == 1]
    rest = b"".join(raw for number, _, raw in fields(demo) if number != 1)
    out = {}
    for keep in (3, 40, 259 + 40, 259 + 300):
        out[f"demo-first-{keep}"] = b"".join(pieces[:keep]) + rest
    return out


def main() -> None:
    corpus = HERE / "corpus"
    seeds: dict[str, dict[str, bytes]] = {"model_file": model_seeds()}
    # The first byte picks the vocabulary, the mode and the dummy prefix (fuzz_targets/encode.rs).
    seeds["encode"] = {f"text-{i}-flags-{f}": bytes([f]) + t.encode() for i, t in enumerate(TEXTS) for f in range(32)
                       if (f >> 2 & 3) < 3}
    # The first byte picks the vocabulary, the dummy prefix and how far past 1 KiB the text is repeated
    # (fuzz_targets/long_chunk.rs); runs of a few units the windows must place.
    units = ["a", "ab", "\u2581", " ", "\u00e9", "\U0001f600", "\u4e00", "_", "==", "0x", "def"]
    seeds["long_chunk"] = {f"unit-{i}-flags-{f}": bytes([f]) + u.encode() for i, u in enumerate(units)
                           for f in (0, 4, 9, 83, 250)}
    rng = random.Random(7)
    def ids(count: int) -> bytes:
        return b"".join(struct.pack("<H", rng.randrange(0, 33000)) for _ in range(count))

    seeds["decode"] = {f"ids-{i}": bytes([i % 4]) + ids(rng.randrange(1, 40)) for i in range(16)}
    # The JSON and added-token targets read their input through `arbitrary`: a few byte strings of each
    # length class.
    lengths = (0, 8, 64, 512)
    for target in ("json_file", "added_tokens"):
        seeds[target] = {f"bytes-{i}": bytes(rng.randrange(256) for _ in range(n)) for i, n in enumerate(lengths)}
    # The first byte picks one key or two (fuzz_targets/jsonl_line.rs).
    lines = [b'{"text": "def f(x):\\n    return x"}\n', b'{"id": 1, "text": "a\\u00e9\\ud83d\\ude00", "code": "x"}',
             b'{"text": 3}', b'[1, 2]', b'{"text": "\\ud800"}', b' {"code": "", "text": "", "meta": {"a": [null]}} ',
             b'{"t\\u0065xt": "\\"q\\" \\\\ \\/ \\b\\f\\r\\t", "code": "\\ud83d\\ude00 \\u00E9", "n": "\\u0000"}']
    seeds["jsonl_line"] = {f"line-{i}-{f}": bytes([f]) + line for i, line in enumerate(lines) for f in (0, 1)}
    for target, files in seeds.items():
        folder = corpus / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / f"seed-{name}").write_bytes(data)
        print(f"{folder}: {len(files)} seeds")


if __name__ == "__main__":
    main()
