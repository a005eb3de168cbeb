"""``--parquet-compression``: the Parquet output written with each of pyarrow's codecs holds the same ids
(single file and shards), the codec is the one asked for in the file's own metadata, and an option that
cannot apply is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pp_helpers import cli, documents, sample_texts, write_jsonl

import llamatok.preprocess as pp
from llamatok.preprocess.options import PARQUET_COMPRESSIONS

# Parquet's own names for the codecs, as pyarrow reports them.
PARQUET_NAMES = {"zstd": "ZSTD", "snappy": "SNAPPY", "lz4": "LZ4", "gzip": "GZIP", "none": "UNCOMPRESSED"}


def codecs(path: str | Path) -> set[str]:
    meta = pq.ParquetFile(path).metadata
    return {meta.row_group(g).column(c).compression for g in range(meta.num_row_groups)
            for c in range(meta.num_columns)}


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return ["", *sample_texts(200), "x", ""]


@pytest.mark.parametrize("codec", PARQUET_COMPRESSIONS)
def test_every_codec_holds_the_megatron_documents(tmp_path, texts, codec):
    prefix = str(tmp_path / "d")
    summary = pp.run(texts=texts, output_prefix=prefix, formats="megatron,parquet", parquet_compression=codec,
                     append_eod=True, quiet=True)
    assert codecs(prefix + ".parquet") == {PARQUET_NAMES[codec]}
    assert pq.read_table(prefix + ".parquet").column("input_ids").to_pylist() == documents(prefix)
    assert summary["options"]["parquet_compression"] == codec


def test_zstd_is_the_default_and_the_codec_changes_no_id(tmp_path, texts):
    default, plain = str(tmp_path / "default"), str(tmp_path / "plain")
    pp.run(texts=texts, output_prefix=default, formats="parquet", quiet=True)
    pp.run(texts=texts, output_prefix=plain, formats="parquet", parquet_compression="none", quiet=True)
    assert codecs(default + ".parquet") == {"ZSTD"} and codecs(plain + ".parquet") == {"UNCOMPRESSED"}
    assert pq.read_table(default + ".parquet").equals(pq.read_table(plain + ".parquet"))
    assert Path(plain + ".parquet").stat().st_size > Path(default + ".parquet").stat().st_size


def test_shards_use_the_codec_asked_for(tmp_path, texts):
    single, prefix = str(tmp_path / "one"), str(tmp_path / "sh")
    pp.run(texts=texts, output_prefix=single, formats="parquet", parquet_compression="snappy", quiet=True)
    pp.run(texts=texts, output_prefix=prefix, formats="parquet", parquet_compression="snappy", shard_tokens=3000,
           quiet=True)
    manifest = json.loads(Path(prefix + ".manifest.json").read_text())
    files = [tmp_path / f["path"] for s in manifest["shards"] for f in s["files"] if f["kind"] == "parquet"]
    assert len(files) > 2
    rows = []
    for f in files:
        assert codecs(f) == {"SNAPPY"}
        rows += pq.read_table(f).column("input_ids").to_pylist()
    assert rows == pq.read_table(single + ".parquet").column("input_ids").to_pylist()


def test_a_codec_that_cannot_apply_is_refused(tmp_path):
    with pytest.raises(pp.OptionsError, match="--parquet-compression must be one of zstd, snappy"):
        pp.run(texts=["a"], output_prefix=str(tmp_path / "a"), formats="parquet", parquet_compression="brotli")
    with pytest.raises(pp.OptionsError, match="applies to --format parquet only"):
        pp.run(texts=["a"], output_prefix=str(tmp_path / "b"), formats="megatron", parquet_compression="none")
    proc = cli("-o", str(tmp_path / "c"), "--format", "npy", "--parquet-compression", "snappy",
               str(tmp_path))
    assert proc.returncode == 2 and "applies to --format parquet only" in proc.stderr


def test_resuming_with_another_codec_is_refused(tmp_path, texts):
    # The codec is part of what a run is: an interrupted run resumes only with the codec it started with.
    write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts * 20])
    base = [str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "r"), "--format", "parquet", "--batch-size", "16KB",
            "-q", "--parquet-compression", "snappy"]
    assert cli(*base, env={"LLAMATOK_PREPROCESS_CRASH_AT": "committed:2"}).returncode == 86
    other = cli(*base[:-1], "none", "--resume")
    assert other.returncode == 2 and "other inputs or options" in other.stderr
    default = cli(*base[:-2], "--resume")
    assert default.returncode == 2 and "other inputs or options" in default.stderr
    assert cli(*base, "--resume").returncode == 0
    assert codecs(tmp_path / "r.parquet") == {"SNAPPY"}
    assert len(pq.read_table(tmp_path / "r.parquet")) == len(texts) * 20
