"""A truncated or corrupt input file stops the run with an error naming it (exit status 1), never a run
that ends "done" with part of the file: a cut .jsonl.zst was read up to the cut with exit status 0, a cut
.jsonl.gz ended in a bare EOFError traceback, a damaged Parquet file in pyarrow's message without the file."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from pp_helpers import cli, documents, sample_texts, summary_of

import llamatok.preprocess as pp

TEXTS = sample_texts(400)
LINES = "".join(json.dumps({"text": t}) + "\n" for t in TEXTS).encode()


def compressed(kind: str, data: bytes = LINES) -> bytes:
    return gzip.compress(data) if kind == "gz" else zstandard.ZstdCompressor().compress(data)


@pytest.mark.parametrize("kind", ["gz", "zst"])
@pytest.mark.parametrize("keep", [0.5, 0.9, -1])
def test_a_truncated_compressed_jsonl_fails_the_run_naming_the_file(tmp_path, kind, keep):
    data = compressed(kind)
    cut = len(data) - 1 if keep == -1 else int(len(data) * keep)
    src = tmp_path / f"in.jsonl.{kind}"
    src.write_bytes(data[:cut])
    proc = cli(str(src), "-o", str(tmp_path / "o"))
    assert proc.returncode == 1, proc.stderr
    assert str(src) in proc.stderr and "truncated" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o.bin").exists() and not (tmp_path / "o.summary.json").exists()
    with pytest.raises(pp.CorruptInputError, match="truncated") as e:
        pp.run(str(src), str(tmp_path / "api"), quiet=True)
    assert isinstance(e.value, ValueError) and str(src) in str(e.value)


@pytest.mark.parametrize("kind", ["gz", "zst"])
def test_a_truncated_input_fails_a_sharded_run_too(tmp_path, kind):
    src = tmp_path / f"in.jsonl.{kind}"
    src.write_bytes(compressed(kind)[:-20])
    proc = cli(str(src), "-o", str(tmp_path / "o"), "--shard-tokens", "1000")
    assert proc.returncode == 1 and str(src) in proc.stderr and "truncated" in proc.stderr, proc.stderr
    assert not (tmp_path / "o.manifest.json").exists()


@pytest.mark.parametrize("kind", ["gz", "zst"])
def test_garbage_in_a_compressed_stream_is_corrupt(tmp_path, kind):
    data = bytearray(compressed(kind))
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0xA5
    src = tmp_path / f"in.jsonl.{kind}"
    src.write_bytes(bytes(data))
    proc = cli(str(src), "-o", str(tmp_path / "o"))
    assert proc.returncode == 1 and str(src) in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_zstandard_files_of_several_frames_are_read_whole(tmp_path):
    """The frame-by-frame reader must still read every frame (and frames cut at any line)."""
    half = len(LINES) // 2
    frames = b"".join(zstandard.ZstdCompressor(level=lvl).compress(part)
                      for lvl, part in ((3, LINES[:half]), (1, LINES[half:half + 7]), (9, LINES[half + 7:])))
    (tmp_path / "in.jsonl.zst").write_bytes(frames)
    summary = summary_of(cli(str(tmp_path / "in.jsonl.zst"), "-o", str(tmp_path / "o")))
    assert summary["documents"] == len(TEXTS)
    pp.run(texts=TEXTS, output_prefix=str(tmp_path / "ref"), quiet=True)
    assert documents(str(tmp_path / "o")) == documents(str(tmp_path / "ref"))


def _parquet(path):
    pq.write_table(pa.table({"text": TEXTS * 20}), path, row_group_size=2000, compression="snappy")
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "not parquet", "pages"])
@pytest.mark.parametrize("sharded", [False, True])
def test_a_damaged_parquet_file_is_named(tmp_path, damage, sharded):
    src = tmp_path / "in.parquet"
    data = bytearray(_parquet(src))
    if damage == "truncated":
        data = data[:len(data) // 2]
    elif damage == "not parquet":
        data = bytearray(b"PAR1 but not really" * 10)
    else:  # the footer is intact, the pages are not
        for i in range(200, len(data) // 2, 5):
            data[i] ^= 0x5A
    src.write_bytes(bytes(data))
    proc = cli(str(src), "-o", str(tmp_path / "o"), *(["--shard-tokens", "100000"] if sharded else []))
    assert proc.returncode == 1, proc.stderr
    assert str(src) in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    with pytest.raises(pp.CorruptInputError, match=str(src)):
        pp.run(str(src), str(tmp_path / "api"), quiet=True)


def test_workers_beyond_the_thread_limit_are_refused(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(LINES[:1000].rsplit(b"\n", 1)[0] + b"\n")
    proc = cli(str(src), "-o", str(tmp_path / "o"), "--workers", "100000", timeout=60)
    assert proc.returncode == 2 and "--workers 100000 is more than the limit" in proc.stderr, proc.stderr
    with pytest.raises(pp.OptionsError, match="--workers"):
        pp.run(str(src), str(tmp_path / "o"), workers=10**6)
    assert summary_of(cli(str(src), "-o", str(tmp_path / "o"), "--workers", "64"))["documents"] > 0
