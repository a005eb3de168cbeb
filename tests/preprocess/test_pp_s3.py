"""Inputs and outputs on an S3-compatible store (SeaweedFS on loopback) with the local engine:
JSONL (plain and zstandard), Parquet and a source tree read from ``s3://``, globs listed there,
the single file and the shards written there, all byte-identical to the same run on local paths.
Also a streaming ``datasets.IterableDataset`` as input."""

from __future__ import annotations

import json

import pytest
from pp_helpers import make_corpus, rejects_without_sources, sample_texts

import llamatok.preprocess as pp
from llamatok.preprocess import storage

OPTIONS = dict(quiet=True, batch_bytes=8192, fim_rate=0.5, seed=4, append_eod=True)


@pytest.fixture()
def corpus(tmp_path, s3_store):
    local = tmp_path / "in"
    local.mkdir()
    names = make_corpus(local)
    bucket = s3_store.fresh_prefix("c")
    s3_store.upload_tree(local, f"{bucket}/in")
    return local, names, bucket


def test_s3_to_s3_single_file_equals_the_local_run(tmp_path, s3_store, corpus):
    local, names, bucket = corpus
    ref = pp.run([str(local / n) for n in names], str(tmp_path / "ref"), formats="megatron,parquet", **OPTIONS)
    out = f"{bucket}/out/code"
    got = pp.run([f"{bucket}/in/{n}" for n in names], out, formats="megatron,parquet", **OPTIONS)
    for key in ("documents", "tokens", "input_bytes", "rejected_by_reason", "blank_lines"):
        assert got[key] == ref[key], key
    assert ref["rejected"] >= 10
    for ext in (".bin", ".idx", ".parquet"):
        assert s3_store.read(out + ext) == (tmp_path / ("ref" + ext)).read_bytes(), ext
    assert json.loads(s3_store.read(out + ".summary.json"))["documents"] == ref["documents"]
    local_rejects = rejects_without_sources(tmp_path / "ref.rejects.jsonl", {str(local): "IN"})
    (tmp_path / "got.rejects.jsonl").write_bytes(s3_store.read(out + ".rejects.jsonl"))
    assert rejects_without_sources(tmp_path / "got.rejects.jsonl", {f"{bucket}/in": "IN"}) == local_rejects
    leftovers = [u for u in s3_store.list(f"{bucket}/out") if not u.startswith(out + ".")]
    assert leftovers == [] and not any(".partial" in u or ".lock" in u for u in s3_store.list(f"{bucket}/out"))


def test_globs_and_prefixes_on_s3(tmp_path, s3_store, corpus):
    local, names, bucket = corpus
    pp.run([str(local / "a.jsonl"), str(local / "b.jsonl.zst")], str(tmp_path / "ref"), **OPTIONS)
    got = pp.run([f"{bucket}/in/*.jsonl*"], str(tmp_path / "got"), **OPTIONS)
    assert got["inputs"] == [f"{bucket}/in/a.jsonl", f"{bucket}/in/b.jsonl.zst"]
    assert (tmp_path / "got.bin").read_bytes() == (tmp_path / "ref.bin").read_bytes()
    tree = pp.run([f"{bucket}/in/tree"], str(tmp_path / "tree"), include=["*.py"], exclude=["p1"], quiet=True)
    ref_tree = pp.run([str(local / "tree")], str(tmp_path / "ref_tree"), include=["*.py"], exclude=["p1"], quiet=True)
    assert tree["documents"] == ref_tree["documents"] > 0
    assert (tmp_path / "tree.bin").read_bytes() == (tmp_path / "ref_tree.bin").read_bytes()
    with pytest.raises(pp.OptionsError, match="no input matches"):
        pp.run([f"{bucket}/in/*.nothing"], str(tmp_path / "x"), quiet=True)
    with pytest.raises(pp.OptionsError, match="no such input"):
        pp.run([f"{bucket}/in/missing.jsonl"], str(tmp_path / "x"), quiet=True)


def test_s3_to_s3_shards_merge_to_the_local_single_file(tmp_path, s3_store, corpus):
    local, names, bucket = corpus
    pp.run([str(local / n) for n in names], str(tmp_path / "ref"), **OPTIONS)
    out = f"{bucket}/shards/code"
    summary = pp.run([f"{bucket}/in/{n}" for n in names], out, shard_tokens=5000, **OPTIONS)
    assert summary["sharding"]["shards"] > 3
    manifest = json.loads(s3_store.read(out + ".manifest.json"))
    for shard in manifest["shards"]:
        for f in shard["files"]:
            assert storage.sha256_of(f"{bucket}/shards/{f['path']}") == (f["bytes"], f["sha256"])
    pp.merge(out + ".manifest.json", str(tmp_path / "merged"))
    for ext in (".bin", ".idx"):
        assert (tmp_path / ("merged" + ext)).read_bytes() == (tmp_path / ("ref" + ext)).read_bytes(), ext
    assert not any(".partial" in u for u in s3_store.list(f"{bucket}/shards"))


def test_a_streaming_iterable_dataset_is_an_input(tmp_path):
    datasets = pytest.importorskip("datasets")
    texts = sample_texts(120)
    stream = datasets.Dataset.from_dict({"text": texts, "n": list(range(len(texts)))}).to_iterable_dataset(num_shards=3)
    assert type(stream).__name__ == "IterableDataset"
    got = pp.run(stream, str(tmp_path / "ds"), **OPTIONS)
    ref = pp.run(texts=texts, output_prefix=str(tmp_path / "ref"), **OPTIONS)
    assert got["documents"] == ref["documents"] == len(texts)
    assert (tmp_path / "ds.bin").read_bytes() == (tmp_path / "ref.bin").read_bytes()
    assert got["inputs"] == ["<datasets.IterableDataset>"]
