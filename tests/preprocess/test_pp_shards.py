"""Sharded output with the local engine (``shard_tokens``): shards of at most N tokens in input
order, a manifest whose checksums are the files', ``merge`` byte-identical to the single file,
Megatron's ``--data-path`` list, and ``--resume`` keeping every finished task whose files match."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pp_helpers import cli, documents, read_megatron, sample_texts, write_jsonl

import llamatok.preprocess as pp
from llamatok.preprocess.merging import ShardMismatchError


def make_inputs(d: Path):
    texts = sample_texts(600)
    records = [{"text": t, "title": t[:20]} for t in texts]
    for i in range(5, len(records), 61):
        records[i] = {"text": 3, "title": "x"}
    write_jsonl(d / "a.jsonl", records[:300])
    (d / "a.jsonl").write_bytes((d / "a.jsonl").read_bytes() + b"{broken\n" + b'{"text": "after", "title": "t"}\n')
    write_jsonl(d / "b.jsonl.zst", records[300:450], "zst")
    tree = d / "tree"
    for i, t in enumerate(texts[:40]):
        (tree / f"p{i % 3}").mkdir(parents=True, exist_ok=True)
        (tree / f"p{i % 3}" / f"{i}.py").write_bytes(t.encode() if i != 7 else b"\xff bad")
    return [str(d / "a.jsonl"), str(d / "b.jsonl.zst"), str(tree)]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


OPTION_SETS = {
    "plain": dict(append_eod=True),
    "fim": dict(fim_rate=0.5, seed=3, bos=True, append_eod=True),
    "no-special": dict(bos=False),
}


@pytest.mark.parametrize("name", sorted(OPTION_SETS))
def test_shards_merge_to_the_single_file(tmp_path, name):
    inputs = make_inputs(tmp_path)
    opts = dict(quiet=True, batch_bytes=4096, **OPTION_SETS[name])
    single = pp.run(inputs, str(tmp_path / "single"), **opts)
    limit = 2500
    sharded = pp.run(inputs, str(tmp_path / "sh"), shard_tokens=limit, formats="megatron,parquet", **opts)
    for key in ("documents", "tokens", "input_bytes", "rejected", "rejected_by_reason", "blank_lines"):
        assert sharded[key] == single[key], key
    assert (tmp_path / "sh.rejects.jsonl").read_bytes() == (tmp_path / "single.rejects.jsonl").read_bytes()
    manifest = json.loads((tmp_path / "sh.manifest.json").read_text())
    shards = manifest["shards"]
    assert len(shards) == sharded["sharding"]["shards"] > 5
    assert [(s["task"], s["part"]) for s in shards] == sorted((s["task"], s["part"]) for s in shards)
    assert sum(s["documents"] for s in shards) == single["documents"] == manifest["documents"]
    single_docs = documents(str(tmp_path / "single"))
    at = 0
    for shard in shards:
        docs = documents(str(tmp_path / shard["datasets"]["text"]))
        assert len(docs) == shard["documents"]
        assert sum(map(len, docs)) == shard["tokens"]["text"]
        assert shard["tokens"]["text"] <= limit or shard["documents"] == 1, "at most N tokens, or one long document"
        assert docs == single_docs[at:at + len(docs)], "shards hold the documents in input order"
        at += len(docs)
        for f in shard["files"]:
            path = tmp_path / f["path"]
            assert f["bytes"] == path.stat().st_size and f["sha256"] == sha(path)
        rows = pq.read_table(tmp_path / f"{shard['name']}.parquet").column("input_ids").to_pylist()
        assert rows == docs
    assert at == len(single_docs)
    # The input ranges name where each shard starts and ends, in input order.
    firsts = [(manifest["inputs"].index(s["input"]["first"]["source"]),
               s["input"]["first"]["position"]) for s in shards]
    assert firsts == sorted(firsts)
    assert any("file" in s["input"]["first"] for s in shards), "directory positions name the file"

    merged = pp.merge(str(tmp_path / "sh.manifest.json"), str(tmp_path / "merged"))
    assert merged["shards"] == len(shards)
    for ext in (".bin", ".idx"):
        assert (tmp_path / ("merged" + ext)).read_bytes() == (tmp_path / ("single" + ext)).read_bytes(), ext
    assert not (tmp_path / "sh.partial").exists() and not (tmp_path / "sh.lock").exists()


def test_several_keys_give_one_dataset_each(tmp_path):
    inputs = [make_inputs(tmp_path)[0]]
    opts = dict(quiet=True, batch_bytes=4096, json_keys=["text", "title"], append_eod=True)
    pp.run(inputs, str(tmp_path / "single"), **opts)
    pp.run(inputs, str(tmp_path / "sh"), shard_tokens=3000, **opts)
    manifest = json.loads((tmp_path / "sh.manifest.json").read_text())
    assert set(manifest["data_path"]) == {"text", "title"}
    assert manifest["shards"][0]["datasets"] == {"text": "sh_text-00000-000", "title": "sh_title-00000-000"}
    pp.merge(str(tmp_path / "sh.manifest.json"), str(tmp_path / "m"))
    for key in ("text", "title"):
        for ext in (".bin", ".idx"):
            assert (tmp_path / f"m_{key}{ext}").read_bytes() == (tmp_path / f"single_{key}{ext}").read_bytes()


def test_print_data_path_lists_the_shards_weighted_by_tokens(tmp_path):
    inputs = make_inputs(tmp_path)
    summary = pp.run(inputs, str(tmp_path / "sh"), shard_tokens=4000, quiet=True, batch_bytes=4096)
    proc = subprocess.run([sys.executable, "-m", "llamatok.cli", "merge", str(tmp_path / "sh.manifest.json"),
                           "--print-data-path"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    weights, prefixes = [int(w) for w in words[0::2]], words[1::2]
    assert sum(weights) == summary["tokens"]
    for w, prefix in zip(weights, prefixes):
        code, seqs, _ = read_megatron(prefix)
        assert sum(map(len, seqs)) == w
    manifest = json.loads((tmp_path / "sh.manifest.json").read_text())
    assert manifest["data_path"]["text"] == words
    neither = subprocess.run([sys.executable, "-m", "llamatok.cli", "merge", str(tmp_path / "sh.manifest.json")],
                             capture_output=True, text=True)
    assert neither.returncode == 2 and "give --output-prefix OUT (or --print-data-path)" in neither.stderr
    absent = subprocess.run([sys.executable, "-m", "llamatok.cli", "merge", str(tmp_path / "no.manifest.json"),
                             "--print-data-path"], capture_output=True, text=True)
    assert absent.returncode == 2 and "llamatok merge: error: no manifest at" in absent.stderr


def test_merge_refuses_a_shard_that_changed(tmp_path):
    inputs = make_inputs(tmp_path)
    pp.run(inputs, str(tmp_path / "sh"), shard_tokens=4000, quiet=True, batch_bytes=4096)
    victim = tmp_path / "sh-00001-000.bin"
    data = bytearray(victim.read_bytes())
    data[3] ^= 1
    victim.write_bytes(bytes(data))
    with pytest.raises(ShardMismatchError, match="sh-00001-000.bin does not match the manifest"):
        pp.merge(str(tmp_path / "sh.manifest.json"), str(tmp_path / "m"))
    assert not (tmp_path / "m.bin").exists() and not (tmp_path / "m.idx").exists()
    proc = subprocess.run([sys.executable, "-m", "llamatok.cli", "merge", str(tmp_path / "sh.manifest.json"),
                           "-o", str(tmp_path / "m")], capture_output=True, text=True)
    assert proc.returncode == 1 and "rerun the job with --resume" in proc.stderr


def test_resume_keeps_finished_tasks_and_redoes_changed_ones(tmp_path):
    inputs = make_inputs(tmp_path)
    opts = ["--shard-tokens", "3000", "--batch-size", "4KB", "--fim-rate", "0.5", "-q", "--format", "megatron,parquet"]
    assert cli(*inputs, "-o", str(tmp_path / "ref"), *opts).returncode == 0
    crashed = cli(*inputs, "-o", str(tmp_path / "o"), *opts, env={"LLAMATOK_PREPROCESS_CRASH_AT": "task-recorded:4"})
    assert crashed.returncode == 86
    assert not (tmp_path / "o.manifest.json").exists()
    records = sorted((tmp_path / "o.partial" / "tasks").glob("*.json"))
    assert len(records) == 4
    # One finished task's shard is damaged: --resume must notice it and redo that task only.
    victim = tmp_path / "o-00002-000.bin"
    victim.write_bytes(victim.read_bytes()[:-2])
    resumed = cli(*inputs, "-o", str(tmp_path / "o"), *opts, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["sharding"]["kept_tasks"] == 3
    assert summary["runs"] == 2
    ref = json.loads((tmp_path / "ref.manifest.json").read_text())
    got = json.loads((tmp_path / "o.manifest.json").read_text())
    assert [s["files"] for s in got["shards"]] == [
        [dict(f, path=f["path"].replace("ref-", "o-")) for f in s["files"]] for s in ref["shards"]]
    pp.merge(str(tmp_path / "o.manifest.json"), str(tmp_path / "om"))
    pp.merge(str(tmp_path / "ref.manifest.json"), str(tmp_path / "rm"))
    for ext in (".bin", ".idx"):
        assert (tmp_path / ("om" + ext)).read_bytes() == (tmp_path / ("rm" + ext)).read_bytes()
    assert (tmp_path / "o.rejects.jsonl").read_bytes() == (tmp_path / "ref.rejects.jsonl").read_bytes()


def test_a_new_run_replaces_the_earlier_shards(tmp_path):
    inputs = make_inputs(tmp_path)
    pp.run(inputs, str(tmp_path / "sh"), shard_tokens=2000, quiet=True, batch_bytes=4096)
    many = set(p.name for p in tmp_path.glob("sh-*"))
    pp.run(inputs, str(tmp_path / "sh"), shard_tokens=10**9, quiet=True, batch_bytes=4096)
    now = set(p.name for p in tmp_path.glob("sh-*"))
    assert now == {"sh-00000-000.bin", "sh-00000-000.idx"} and len(many) > len(now)
    manifest = json.loads((tmp_path / "sh.manifest.json").read_text())
    assert [s["name"] for s in manifest["shards"]] == ["sh-00000-000"]


def test_without_shard_tokens_the_local_engine_writes_one_file(tmp_path):
    pp.run(texts=sample_texts(20), output_prefix=str(tmp_path / "o"), quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.bin", "o.idx", "o.rejects.jsonl", "o.summary.json"]


def test_bad_shard_tokens_is_an_options_error(tmp_path):
    with pytest.raises(pp.OptionsError, match="--shard-tokens must be a positive number"):
        pp.run(texts=["a"], output_prefix=str(tmp_path / "o"), shard_tokens=0, quiet=True)
    proc = cli(str(tmp_path), "-o", str(tmp_path / "o"), "--shard-tokens", "lots")
    assert proc.returncode == 2 and "not a count" in proc.stderr
