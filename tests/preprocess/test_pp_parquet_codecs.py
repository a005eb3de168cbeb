"""The Parquet output, written by llamatok itself (parquet_format.py): read back by pyarrow, it equals what
pyarrow's own writer stores, for any documents and page size and every codec; ``--parquet-compression``
holds the same ids (single file and shards) with the codec asked for in the file's own metadata, and an
option that cannot apply is refused."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pp_helpers import cli, documents, sample_texts, write_jsonl

import llamatok.preprocess as pp
from llamatok.preprocess import parquet_format, parquet_out
from llamatok.preprocess.options import PARQUET_COMPRESSIONS
from llamatok.preprocess.parquet_out import ParquetDocuments

# Parquet's own names for the codecs, as pyarrow reports them.
PARQUET_NAMES = {"zstd": "ZSTD", "snappy": "SNAPPY", "lz4": "LZ4", "gzip": "GZIP", "none": "UNCOMPRESSED"}


def codecs(path: str | Path | io.BytesIO) -> set[str]:
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
            "--checkpoint-seconds", "0", "-q", "--parquet-compression", "snappy"]
    assert cli(*base, env={"LLAMATOK_PREPROCESS_CRASH_AT": "committed:2"}).returncode == 86
    other = cli(*base[:-1], "none", "--resume")
    assert other.returncode == 2 and "other inputs or options" in other.stderr
    default = cli(*base[:-2], "--resume")
    assert default.returncode == 2 and "other inputs or options" in default.stderr
    assert cli(*base, "--resume").returncode == 0
    assert codecs(tmp_path / "r.parquet") == {"SNAPPY"}
    assert len(pq.read_table(tmp_path / "r.parquet")) == len(texts) * 20


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(0, 700) | st.just(0), max_size=120), page=st.integers(1, 2000),
       cuts=st.lists(st.integers(0, 120), max_size=5), codec=st.sampled_from(PARQUET_COMPRESSIONS),
       masked=st.booleans(),
       seed=st.integers(0, 2**32 - 1), group_tokens=st.integers(1, 100_000), group_rows=st.integers(1, 200),
       dictionary=st.booleans(), top=st.sampled_from([1, 300, 32016, 65536, 70_000]))
def test_the_writer_equals_pyarrows_on_any_documents_and_pages(lengths, page, cuts, codec, masked, seed,
                                                               group_tokens, group_rows, dictionary, top):
    # llamatok writes Parquet itself (parquet_format.py); what pyarrow reads back must be what pyarrow's
    # own writer would have stored, for empty documents, pages and row groups of any size, fed in runs (a
    # page or row group may span several), the ids in PLAIN pages or as indices into a dictionary (ids
    # below `top`: 65536 is the last vocabulary whose ids all have one, 70,000 has ids too large for it).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parquet_format, "PAGE_VALUES", page)
        patch.setattr(parquet_out, "ROW_GROUP_TOKENS", group_tokens)
        patch.setattr(parquet_out, "ROW_GROUP_ROWS", group_rows)
        patch.setattr(parquet_format, "DICTIONARY_VALUES_PER_ENTRY", 0 if dictionary else 10**9)
        file = check_against_pyarrow(lengths, cuts, codec, masked, seed, top)
    parquet = pq.ParquetFile(file)
    for g in range(parquet.metadata.num_row_groups):
        column = parquet.metadata.row_group(g).column(0)
        values = parquet.read_row_group(g).column("input_ids").combine_chunks().flatten().to_numpy()
        expected = dictionary and len(values) > 0 and int(values.max()) < 65536
        assert ("RLE_DICTIONARY" in column.encodings) == expected
        assert (column.dictionary_page_offset is not None) == expected
        if expected:  # the dictionary page comes first, then the data pages
            assert column.data_page_offset > column.dictionary_page_offset


def check_against_pyarrow(lengths: list[int], cuts: list[int], codec: str, masked: bool, seed: int,
                          top: int = 32016) -> io.BytesIO:
    lens = np.array(lengths, np.int64)
    ids = np.random.default_rng(seed).integers(0, top, int(lens.sum())).astype(np.uint16 if top <= 65536 else
                                                                                 np.uint32)
    out = io.BytesIO()
    writer = ParquetDocuments(out, ["text"], masked, codec)
    learned = ids % 3 == 0  # any bools, one per id
    bounds = [0, *sorted(min(c, len(lens)) for c in cuts), len(lens)]
    for a, b in zip(bounds, bounds[1:]):  # documents [a, b) in one run
        run = slice(int(lens[:a].sum()), int(lens[:b].sum()))
        writer.add([ids[run]], [lens[a:b]], [learned[run]] if masked else None)
    writer.close()
    got = pq.read_table(io.BytesIO(out.getvalue()))
    offsets = np.zeros(len(lens) + 1, np.int32)
    np.cumsum(lens, out=offsets[1:])
    columns = {"input_ids": pa.ListArray.from_arrays(pa.array(offsets), pa.array(ids.astype(np.int32)))}
    if masked:
        columns["loss_mask"] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(learned))
    theirs = io.BytesIO()
    pq.write_table(pa.table(columns), theirs, compression=codec)
    assert got.equals(pq.read_table(io.BytesIO(theirs.getvalue())), check_metadata=False)
    assert codecs(io.BytesIO(out.getvalue())) == ({PARQUET_NAMES[codec]} if lengths else set())
    assert pq.ParquetFile(io.BytesIO(out.getvalue())).metadata.num_row_groups == row_groups(lengths)
    return io.BytesIO(out.getvalue())


def row_groups(lengths: list[int]) -> int:
    """How many row groups the documents make: each takes documents while its tokens stay within
    ROW_GROUP_TOKENS and its rows within ROW_GROUP_ROWS, and at least one."""
    most_rows, most_tokens = parquet_out.ROW_GROUP_ROWS, parquet_out.ROW_GROUP_TOKENS
    groups, i = 0, 0
    while i < len(lengths):
        tokens, j = lengths[i], i + 1
        while j < len(lengths) and j - i < most_rows and tokens + lengths[j] <= most_tokens:
            tokens += lengths[j]
            j += 1
        groups, i = groups + 1, j
    return groups


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_a_column_of_ids_has_a_dictionary_where_it_pays(codec):
    # Ids 0..999: the identity dictionary has 1000 entries, so a column needs DICTIONARY_VALUES_PER_ENTRY
    # times as many ids to get one; with it, each id takes 2 bytes before compression instead of 4.
    enough = parquet_format.DICTIONARY_VALUES_PER_ENTRY * 1000
    sizes = {}
    for n in (enough - 1, enough):
        ids = (np.arange(n) % 1000).astype(np.uint16)
        lens = np.array([n // 2, n - n // 2], np.int64)
        out = io.BytesIO()
        writer = ParquetDocuments(out, ["text"], compression=codec)
        writer.add([ids], [lens])
        writer.close()
        column = pq.ParquetFile(io.BytesIO(out.getvalue())).metadata.row_group(0).column(0)
        assert ("RLE_DICTIONARY" in column.encodings) == (n == enough)
        assert pq.read_table(io.BytesIO(out.getvalue())).column("input_ids").to_pylist() == [
            ids[:n // 2].tolist(), ids[n // 2:].tolist()]
        sizes[n] = column.total_uncompressed_size
    assert sizes[enough] < 0.6 * sizes[enough - 1]


def test_a_column_with_negative_values_keeps_them_plain():
    # Ids are never negative, but the writer takes any int32: a negative value gets no dictionary.
    values = np.tile(np.array([-1, 0, 5, 2], np.int32), 1000)
    out = io.BytesIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parquet_format, "DICTIONARY_VALUES_PER_ENTRY", 0)
        writer = ParquetDocuments(out, ["text"], compression="zstd")
        writer.add([values], [np.array([len(values)], np.int64)])
        writer.close()
    column = pq.ParquetFile(io.BytesIO(out.getvalue())).metadata.row_group(0).column(0)
    assert "RLE_DICTIONARY" not in column.encodings
    assert pq.read_table(io.BytesIO(out.getvalue())).column("input_ids").to_pylist() == [values.tolist()]
