"""The trainers' formats (docs/shards.md, "Formats for every trainer") read here from their
description with numpy and json only (the trainers' own readers are in tests/consumers/): the same
ids as the Megatron output for every document, in the single-file and the sharded layouts; the
manifest lists every file with its checksum; merge refuses what it cannot join."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from pp_helpers import documents, sample_texts

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
