"""The trainers' formats (docs/shards.md, "Formats for every trainer") read here from their
description with numpy and json only (the trainers' own readers are in tests/consumers/): the same
ids as the Megatron output for every document, in the single-file and the sharded layouts; the
manifest lists every file with its checksum; merge refuses what it cannot join."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from pp_helpers import cli, documents, sample_texts

import llamatok.preprocess as pp

ALL = "megatron,parquet,npy,datatrove,mds,litdata"


def npy_documents(prefix: str) -> list[list[int]]:
    ids = np.fromfile(prefix + ".npy", np.uint16)
    with gzip.open(prefix + ".csv.gz", "rt") as f:
        spans = [tuple(map(int, line.split(",")[:2])) for line in f]
    return [ids[a:b].tolist() for a, b in spans]


def datatrove_documents(prefix: str) -> list[list[int]]:
    ids = np.fromfile(prefix + ".ds", np.uint16)
    ends = np.fromfile(prefix + ".ds.index", "<u8").astype(np.int64)
    return [ids[a:b].tolist() for a, b in zip(np.concatenate([[0], ends[:-1]]), ends)]


def mds_documents(folder: str) -> list[list[int]]:
    index = json.loads(Path(folder, "index.json").read_text())
    docs = []
    for shard in index["shards"]:
        assert shard["column_names"] == ["tokens"] and shard["column_encodings"] == ["bytes"]
        raw = Path(folder, shard["raw_data"]["basename"]).read_bytes()
        assert len(raw) == shard["raw_data"]["bytes"]
        n = int(np.frombuffer(raw, "<u4", 1)[0])
        assert n == shard["samples"]
        offsets = np.frombuffer(raw, "<u4", n + 1, 4)
        for a, b in zip(offsets, offsets[1:]):
            size = int(np.frombuffer(raw, "<u4", 1, int(a))[0])
            assert size == b - a - 4
            docs.append(np.frombuffer(raw[a + 4:b], np.uint16).tolist())
    return docs


def litdata_documents(folder: str) -> list[list[int]]:
    index = json.loads(Path(folder, "index.json").read_text())
    assert index["config"]["item_loader"] == "TokensLoader"
    docs = []
    for chunk in index["chunks"]:
        raw = Path(folder, chunk["filename"]).read_bytes()
        n = int(np.frombuffer(raw, "<u4", 1)[0])
        offsets = np.frombuffer(raw, "<u4", n + 1, 4)
        assert n == chunk["chunk_size"] and offsets[-1] == len(raw) == chunk["chunk_bytes"]
        assert chunk["dim"] == (len(raw) - offsets[0]) // 2
        docs += [np.frombuffer(raw[a:b], np.uint16).tolist() for a, b in zip(offsets, offsets[1:])]
    return docs


def test_npy_metadata_is_compressed_not_only_framed_as_gzip(tmp_path):
    texts = [f"x = {i}" for i in range(20_000)]
    prefix = str(tmp_path / "d")
    pp.run(texts=texts, output_prefix=prefix, formats="npy", quiet=True)
    with gzip.open(prefix + ".csv.gz", "rb") as f:
        lines = f.read()
    assert lines.count(b"\n") == len(texts)
    gz = os.path.getsize(prefix + ".csv.gz")
    assert gz * 2 < len(lines), f"{gz} bytes of gzip for {len(lines)} bytes of lines"


def test_single_file_formats_hold_the_megatron_documents(tmp_path):
    texts = ["", *sample_texts(150), "", "x", ""]
    prefix = str(tmp_path / "d")
    summary = pp.run(texts=texts, output_prefix=prefix, formats=ALL, bos=False, quiet=True)
    expected = documents(prefix)
    assert any(d == [] for d in expected), "the corpus has documents without ids"
    nonempty = [d for d in expected if d]
    assert npy_documents(prefix) == nonempty
    assert datatrove_documents(prefix) == expected
    assert mds_documents(prefix + ".mds") == expected
    assert litdata_documents(prefix + ".litdata") == nonempty
    assert Path(prefix + ".ds.metadata").read_text().splitlines()[1] == str(summary["tokens"])
    for fmt in ("npy", "datatrove", "mds", "litdata"):
        assert summary["outputs"][fmt][0]["key"] == "text"


def test_single_file_formats_copy_the_ids_in_many_small_feeds(tmp_path, monkeypatch):
    from llamatok.preprocess import writers

    monkeypatch.setattr(writers, "FEED_DOCS", 7)  # the ids file copied range by range, at every offset
    texts = ["", *sample_texts(120), "", "y"]
    prefix = str(tmp_path / "d")
    pp.run(texts=texts, output_prefix=prefix, formats=ALL, quiet=True)
    expected = documents(prefix)
    nonempty = [d for d in expected if d]
    assert npy_documents(prefix) == nonempty and litdata_documents(prefix + ".litdata") == nonempty
    assert datatrove_documents(prefix) == mds_documents(prefix + ".mds") == expected
    assert Path(prefix + ".npy").read_bytes() == Path(prefix + ".ds").read_bytes() == Path(prefix + ".bin").read_bytes()


def test_a_flat_ids_file_is_the_work_file_itself_unless_the_bin_is(tmp_path):
    texts = sample_texts(150)
    (tmp_path / "texts.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    with_bin = str(tmp_path / "b")
    pp.run(str(tmp_path / "texts.jsonl"), with_bin, formats="megatron,npy,datatrove", quiet=True)
    ids = Path(with_bin + ".bin").read_bytes()
    assert Path(with_bin + ".npy").read_bytes() == Path(with_bin + ".ds").read_bytes() == ids
    inodes = {os.stat(with_bin + ext).st_ino for ext in (".bin", ".npy", ".ds")}
    assert len(inodes) == 3, "outputs never share their storage: changing one would change another"
    # Killed after the formats were written, before the work folder is removed: the .npy is a second
    # name of the work folder's ids file (no copy); the .ds, a second format, is a copy. --resume
    # finishes with the same bytes.
    prefix = str(tmp_path / "o")
    run = [str(tmp_path / "texts.jsonl"), "-o", prefix, "--format", "npy,datatrove", "-q"]
    crashed = cli(*run, env={"LLAMATOK_PREPROCESS_CRASH_AT": "renaming"})
    assert crashed.returncode == 86, crashed.stderr
    work = os.stat(str(tmp_path / "o.partial" / "tokens-0.bin"))
    assert (os.stat(prefix + ".npy").st_ino, work.st_nlink) == (work.st_ino, 2)
    assert os.stat(prefix + ".ds").st_ino != work.st_ino
    assert cli(*run, "--resume").returncode == 0
    assert Path(prefix + ".npy").read_bytes() == Path(prefix + ".ds").read_bytes() == ids
    assert os.stat(prefix + ".npy").st_nlink == 1 and not Path(prefix + ".partial").exists()


def test_sharded_formats_are_listed_and_join_to_the_single_file(tmp_path):
    texts = [*sample_texts(300), "", ""]
    single = str(tmp_path / "one")
    pp.run(texts=texts, output_prefix=single, formats="megatron,npy,datatrove,mds,litdata", quiet=True)
    prefix = str(tmp_path / "sh")
    pp.run(texts=texts, output_prefix=prefix, formats="npy,datatrove,mds,litdata", shard_tokens=2000, quiet=True)
    manifest = json.loads(Path(prefix + ".manifest.json").read_text())
    assert len(manifest["shards"]) > 2
    npy, ds, mds, lit = [], [], [], []
    for shard in manifest["shards"]:
        for f in shard["files"]:
            data = (tmp_path / f["path"]).read_bytes()
            assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"]
        assert not any(f["kind"] in ("bin", "idx") for f in shard["files"]), "no Megatron files unless asked"
        base = str(tmp_path / shard["datasets"]["text"])
        npy += npy_documents(base)
        ds += datatrove_documents(base)
        mds += mds_documents(base + ".mds")
        lit += litdata_documents(base + ".litdata")
    expected = documents(single)
    assert ds == mds == expected
    assert npy == lit == [d for d in expected if d]
    with pytest.raises(pp.OptionsError, match="llamatok merge joins Megatron shards"):
        pp.merge(prefix + ".manifest.json", str(tmp_path / "merged"))


def test_merge_joins_megatron_and_names_the_formats_left_as_shards(tmp_path):
    texts = sample_texts(120)
    prefix = str(tmp_path / "sh")
    pp.run(texts=texts, output_prefix=prefix, formats="megatron,npy", shard_tokens=1500, quiet=True)
    result = pp.merge(prefix + ".manifest.json", str(tmp_path / "m"))
    assert result["not_merged"]["formats"] == ["npy"]
    pp.run(texts=texts, output_prefix=str(tmp_path / "one"), quiet=True)
    assert documents(str(tmp_path / "m")) == documents(str(tmp_path / "one"))


def test_mds_and_litdata_cut_large_outputs_into_several_files(tmp_path, monkeypatch):
    from llamatok.preprocess.writers import litdata_out, mds

    monkeypatch.setattr(mds, "SIZE_LIMIT", 4096)
    monkeypatch.setattr(litdata_out, "CHUNK_BYTES", 4096)
    texts = sample_texts(200)
    prefix = str(tmp_path / "d")
    pp.run(texts=texts, output_prefix=prefix, formats="megatron,mds,litdata", quiet=True)
    expected = documents(prefix)
    assert len(json.loads(Path(prefix + ".mds/index.json").read_text())["shards"]) > 3
    assert len(json.loads(Path(prefix + ".litdata/index.json").read_text())["chunks"]) > 3
    assert mds_documents(prefix + ".mds") == expected
    assert litdata_documents(prefix + ".litdata") == [d for d in expected if d]
    # A shorter run on the same prefix: its folders hold its own chunks only, none left from the first run.
    pp.run(texts=texts[:3], output_prefix=prefix, formats="mds,litdata", quiet=True)
    for folder in (".mds", ".litdata"):
        index = json.loads(Path(prefix + folder + "/index.json").read_text())
        listed = {c["raw_data"]["basename"] if "raw_data" in c else c["filename"]
                  for c in index.get("shards", index.get("chunks", []))}
        assert set(os.listdir(prefix + folder)) == listed | {"index.json"}, folder


@pytest.mark.parametrize("piece", [8, 100, 5000, 1 << 22])
@pytest.mark.parametrize("mean_ids", [3, 300])
def test_mds_shards_are_the_same_bytes_whatever_the_framing_pieces(tmp_path, monkeypatch, piece, mean_ids):
    # Samples are framed piece by piece in a buffer the writer reuses (documents larger than a piece are
    # written where they are): every piece size gives the same documents and the same bytes.
    from llamatok.preprocess.writers import make_writer, mds
    from llamatok.preprocess.writers.base import WriterSpec

    rng = np.random.default_rng(piece + mean_ids)
    lengths = rng.integers(0, 2 * mean_ids + 1, 400)
    lengths[[0, 1, 150]] = 0
    lengths[200] = 5000  # larger than most pieces
    ids = rng.integers(0, 32016, int(lengths.sum())).astype(np.uint16)
    monkeypatch.setattr(mds, "SIZE_LIMIT", 4000)  # several shards, some cut inside a feed

    def write(folder: str) -> None:
        writer = make_writer("mds", str(tmp_path / folder / "d"), WriterSpec("uint16", 2, "tok"), lambda name: None)
        at = 0
        for part in np.array_split(np.arange(len(lengths)), 7):  # fed in seven runs of documents
            n = lengths[part]
            writer.add(ids[at:at + int(n.sum())], n)
            at += int(n.sum())
        writer.close()

    write("default")
    monkeypatch.setattr(mds, "FRAME_PIECE_BYTES", piece)
    write("pieces")
    ends = np.cumsum(lengths)
    assert mds_documents(str(tmp_path / "pieces" / "d.mds")) == [ids[e - n:e].tolist() for e, n in zip(ends, lengths)]
    default, pieces = tmp_path / "default" / "d.mds", tmp_path / "pieces" / "d.mds"
    names = sorted(p.name for p in default.iterdir())
    assert len(names) > 3 and names == sorted(p.name for p in pieces.iterdir())
    assert all((default / n).read_bytes() == (pieces / n).read_bytes() for n in names)


@pytest.mark.parametrize("mean_ids", [1, 40, 200, 3000])
def test_mds_samples_are_framed_alike_for_small_and_large_documents(mean_ids):
    from llamatok._native import mds_samples_into
    from llamatok.preprocess.writers.mds import encode_samples

    rng = np.random.default_rng(mean_ids)
    lengths = rng.integers(0, 2 * mean_ids + 1, 300)
    lengths[:3] = 0  # empty documents first, too
    data = rng.integers(0, 256, int(lengths.sum()) * 2, dtype=np.uint8)
    nbytes = lengths.astype(np.int64) * 2
    expected, at = bytearray(), 0
    for n in nbytes:
        expected += int(n).to_bytes(4, "little") + data[at:at + n].tobytes()
        at += n
    assert encode_samples(data, nbytes).tobytes() == bytes(expected)
    assert encode_samples(data[:0], nbytes[:0]).tobytes() == b""
    kept = np.full(len(expected) + 5, 7, np.uint8)
    assert encode_samples(data, nbytes, kept).tobytes() == bytes(expected) and (kept[len(expected):] == 7).all()
    # Refused, with nothing written: sizes that do not add up to the data or are not whole uint32s, a
    # buffer too small, read-only or the data's own.
    sizes = nbytes.astype("<u4").tobytes()
    out = np.zeros(len(expected), np.uint8)
    read_only = np.zeros(len(expected), np.uint8)
    read_only.flags.writeable = False
    shared = np.zeros(len(data) + len(expected), np.uint8)  # the data inside the buffer written to
    shared[:len(data)] = data
    for args, message in [((data[1:], sizes, out), "the sizes add up to"), ((data, sizes[:-1], out), "whole uint32s"),
                          ((data, sizes, out[:-1]), "the samples take"), ((data, sizes, read_only), "writable"),
                          ((shared[:len(data)], sizes, shared), "overlap")]:
        with pytest.raises((ValueError, BufferError), match=message):
            mds_samples_into(*args)
    assert not out.any()


def test_a_new_run_removes_what_the_earlier_run_on_its_prefix_wrote(tmp_path):
    """Nothing of an earlier run stays beside a new one for a trainer to read: not another format's files
    (a label mask of other documents), not an earlier sharded run's manifest and shards. A file the
    earlier run did not write is never touched."""
    texts = sample_texts(40)
    prefix = str(tmp_path / "x")
    user_file = tmp_path / "x.notes.txt"
    user_file.write_text("mine")
    pp.run(texts=texts, output_prefix=prefix, formats="npy,parquet,datatrove,mds", fim_rate=0.9, quiet=True)
    assert Path(prefix + ".label_mask.npy").exists() and Path(prefix + ".mds").is_dir()
    pp.run(texts=texts[:5], output_prefix=prefix, formats="npy", quiet=True)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["x.csv.gz", "x.notes.txt", "x.npy", "x.rejects.jsonl", "x.summary.json"], left
    pp.run(texts=texts, output_prefix=prefix, formats="megatron,npy", shard_tokens=300, quiet=True)
    assert not Path(prefix + ".npy").exists(), "the single file's outputs went with the sharded run"
    shards = [p.name for p in tmp_path.glob("x-*")]
    assert shards and Path(prefix + ".manifest.json").exists()
    pp.run(texts=texts[:5], output_prefix=prefix, quiet=True)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["x.bin", "x.idx", "x.notes.txt", "x.rejects.jsonl", "x.summary.json"], left
    assert user_file.read_text() == "mine"
