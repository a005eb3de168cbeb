"""Helpers of the preprocessing tests: an independent reader of the Megatron indexed dataset
(written from docs/shards.md with ``struct`` only, sharing no code with llamatok's writer), the command
line in a subprocess, and small corpora."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import llamatok

DEMO = str(llamatok.demo_path())

#: docs/shards.md dtype codes: code → (struct letter, item size).
DTYPES = {1: ("B", 1), 2: ("b", 1), 3: ("h", 2), 4: ("i", 4), 5: ("q", 8), 6: ("d", 8), 7: ("f", 4), 8: ("H", 2)}


def read_megatron(prefix: str) -> tuple[int, list[list[int]], list[int]]:
    """(dtype code, sequences, document boundaries) of ``prefix.idx`` + ``prefix.bin``; checks
    every structural fact of the format on the way."""
    idx = Path(prefix + ".idx").read_bytes()
    data = Path(prefix + ".bin").read_bytes()
    assert idx[:9] == b"MMIDIDX\x00\x00", idx[:9]
    (version,) = struct.unpack_from("<Q", idx, 9)
    assert version == 1
    code = idx[17]
    num_seqs, num_docs = struct.unpack_from("<QQ", idx, 18)
    at = 34
    lengths = struct.unpack_from(f"<{num_seqs}i", idx, at)
    at += 4 * num_seqs
    pointers = struct.unpack_from(f"<{num_seqs}q", idx, at)
    at += 8 * num_seqs
    docs = list(struct.unpack_from(f"<{num_docs}q", idx, at))
    at += 8 * num_docs
    assert at == len(idx), "nothing may follow the document boundaries"
    letter, size = DTYPES[code]
    expected = 0
    sequences = []
    for n, p in zip(lengths, pointers):
        assert p == expected, "sequences are contiguous in .bin"
        sequences.append(list(struct.unpack_from(f"<{n}{letter}", data, p)))
        expected += n * size
    assert expected == len(data), ".bin holds exactly the sequences"
    assert docs[0] == 0 and docs[-1] == num_seqs and docs == sorted(docs)
    return code, sequences, docs


def documents(prefix: str) -> list[list[int]]:
    """Each document's ids (a document with no sequence gives [])."""
    _, seqs, bounds = read_megatron(prefix)
    return [sum(seqs[a:b], []) for a, b in zip(bounds, bounds[1:])]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "llamatok.cli", "preprocess", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def summary_of(proc: subprocess.CompletedProcess) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def sample_texts(n: int = 300) -> list[str]:
    """Varied documents: code, empty, whitespace, Unicode, special-token text, long lines."""
    base = [
        "def f(x):\n    return x + 1\n",
        "",
        " ",
        "   leading spaces and\ttabs\n\n",
        "héllo wörld — ünïcödé 😀 中文 text",
        "</s> <s> <unk> ▁<PRE> ▁<SUF> ▁<MID> ▁<EOT> <FILL_ME> literal special-token text",
        "x" * 5000,
        "class A:\n    '''doc'''\n    pass\n" * 20,
        "\u2581 a real U+2581 ▁▁ in the text",
    ]
    return [base[i % len(base)] + (f"\n# {i}" if i % 3 else "") for i in range(n)]


def write_jsonl(path: Path, records: Sequence[Any], compress: str | None = None, bom: bool = False) -> Path:
    lines = (b"\xef\xbb\xbf" if bom else b"") + "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records).encode("utf-8")
    if compress == "gz":
        path.write_bytes(gzip.compress(lines))
    elif compress == "zst":
        import zstandard

        path.write_bytes(zstandard.ZstdCompressor().compress(lines))
    else:
        path.write_bytes(lines)
    return path


def output_bytes(prefix: str, exts: Sequence[str] = (".bin", ".idx", ".rejects.jsonl")) -> dict[str, bytes]:
    return {ext: Path(prefix + ext).read_bytes() for ext in exts}


def make_corpus(d: Path, n: int = 700) -> list[str]:
    """Every kind of input, with rejects in each: a plain JSONL (a broken line, wrong types), a
    zstandard JSONL, a Parquet file of small row groups (nulls) and a source tree (one file not
    UTF-8). Returns the input names relative to ``d``, in order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = sample_texts(n)
    records: list[Any] = [{"text": t} for t in texts]
    for i in range(5, len(records), 61):
        records[i] = {"text": 3}
    write_jsonl(d / "a.jsonl", records[: n * 4 // 7])
    (d / "a.jsonl").write_bytes((d / "a.jsonl").read_bytes() + b"{broken\n" + b'{"text": "after the broken line"}\n')
    write_jsonl(d / "b.jsonl.zst", records[n * 4 // 7: n * 11 // 14], "zst")
    pq.write_table(pa.table({"text": [r["text"] if isinstance(r["text"], str) else None
                                      for r in records[n * 11 // 14:]]}),
                   d / "c.parquet", row_group_size=20)
    tree = d / "tree"
    for i, t in enumerate(texts[:60]):
        (tree / f"p{i % 3}").mkdir(parents=True, exist_ok=True)
        (tree / f"p{i % 3}" / f"{i}.py").write_bytes(t.encode() if i != 7 else b"\xff bad")
    return ["a.jsonl", "b.jsonl.zst", "c.parquet", "tree"]


def rejects_without_sources(path: str | Path, names: dict[str, str]) -> list[dict[str, Any]]:
    """The rejects of a run, with each source renamed by ``names`` (a prefix map), so that runs
    over copies of the same inputs at different locations compare equal."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines() if os.path.exists(path) else []:
        r = json.loads(line)
        for old, new in names.items():
            if r["source"].startswith(old):
                r["source"] = new + r["source"][len(old):]
        out.append(r)
    return out
