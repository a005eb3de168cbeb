"""The Ray engine on a real multi-node Ray cluster on this machine (a head node without CPUs, where
the driver runs, and worker nodes of one CPU each; every node on 127.0.0.1) reading from and
writing to an S3-compatible store (SeaweedFS on loopback).

Each task writes its own shards straight to the store and the driver receives metadata only; the
shards, merged, are byte-identical to the local engine's single file, also when a worker node is
removed mid-run or the driver is killed and the job resumed."""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from pp_helpers import make_corpus, rejects_without_sources, write_jsonl

import llamatok.preprocess as pp
from llamatok.preprocess import storage

if os.environ.get("LLAMATOK_REQUIRE_FIXTURES") == "1":
    import ray  # CI installs llamatok[test], which has Ray: its absence is a failure there
else:
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'llamatok[ray]'")

OPTIONS = dict(quiet=True, batch_bytes=8192, fim_rate=0.5, seed=4, append_eod=True)


@pytest.fixture(scope="module")
def cluster():
    from services import ray_cluster

    c, workers = ray_cluster(workers=2)
    ray.init(address=c.address, log_to_driver=False, configure_logging=False)
    assert all(n["NodeManagerAddress"] == "127.0.0.1" for n in ray.nodes()), "every node on loopback"
    yield c
    ray.shutdown()
    c.shutdown()


@pytest.fixture()
def bucket(s3_store):
    return s3_store.fresh_prefix("r")


def merged_equals(tmp_path: Path, manifest: str, reference: str) -> None:
    out = str(tmp_path / f"merged-{uuid.uuid4().hex[:6]}")
    pp.merge(manifest, out)
    for ext in (".bin", ".idx"):
        assert Path(out + ext).read_bytes() == Path(reference + ext).read_bytes(), ext


def test_s3_to_s3_on_the_cluster_merges_to_the_local_engines_bytes(tmp_path, s3_store, bucket, cluster):
    local = tmp_path / "in"
    local.mkdir()
    names = make_corpus(local)
    s3_store.upload_tree(local, f"{bucket}/in")
    ref = pp.run([str(local / n) for n in names], str(tmp_path / "ref"), **OPTIONS)
    out = f"{bucket}/out/code"
    got = pp.run([f"{bucket}/in/{n}" for n in names], out, engine="ray", shard_tokens=4000,
                 formats="megatron,parquet", **OPTIONS)
    assert got["engine"] == "ray"
    for key in ("documents", "tokens", "input_bytes", "rejected_by_reason", "blank_lines"):
        assert got[key] == ref[key], key
    sharding = got["sharding"]
    assert sharding["tasks"] >= 4 and sharding["shards"] >= sharding["tasks"]
    # Metadata only: a record of a few hundred bytes per shard, not the shard's ids (2 bytes each).
    assert sharding["driver_received_bytes_per_shard"] < 2000
    assert sharding["driver_received_bytes"] < got["tokens"] * 2 / 5
    merged_equals(tmp_path, out + ".manifest.json", str(tmp_path / "ref"))
    (tmp_path / "got.rejects.jsonl").write_bytes(s3_store.read(out + ".rejects.jsonl"))
    assert (rejects_without_sources(tmp_path / "got.rejects.jsonl", {f"{bucket}/in": "IN"})
            == rejects_without_sources(tmp_path / "ref.rejects.jsonl", {str(local): "IN"}))
    manifest = json.loads(s3_store.read(out + ".manifest.json"))
    workers = {node["NodeID"] for node in ray.nodes() if node["Resources"].get("CPU")}
    assert len({s["name"] for s in manifest["shards"]}) == len(manifest["shards"])
    parquet = [f for s in manifest["shards"] for f in s["files"] if f["kind"] == "parquet"]
    assert len(parquet) == len(manifest["shards"])
    assert not any(".partial" in u or u.endswith(".lock") for u in s3_store.list(f"{bucket}/out"))
    assert workers, "the tasks ran on worker nodes"


@pytest.mark.parametrize("sequences", [dict(shuffle_seed=11, dedup="exact"),
                                       dict(pack=256, pack_strategy="bfd", shuffle_seed=2)])
def test_shuffled_and_packed_on_s3_are_the_local_engines_order(tmp_path, s3_store, bucket, cluster, sequences):
    """--shuffle-seed, --pack and --dedup on the cluster, S3 to S3: the hash tasks find the duplicates, the
    reorder tasks gather each output shard from the tasks' shards on the store, and the shards, merged, are
    the local engine's single file."""
    local = tmp_path / "in"
    local.mkdir()
    names = make_corpus(local, 300)
    if "dedup" in sequences:  # a file again under another name: every document in it is a duplicate
        (local / "again.jsonl").write_bytes((local / names[0]).read_bytes())
        names.append("again.jsonl")
    s3_store.upload_tree(local, f"{bucket}/in")
    ref = pp.run([str(local / n) for n in names], str(tmp_path / "ref"), **OPTIONS, **sequences)
    out = f"{bucket}/out/seq"
    got = pp.run([f"{bucket}/in/{n}" for n in names], out, engine="ray", shard_tokens=3000,
                 formats="megatron,npy", **OPTIONS, **sequences)
    assert got["sequences"] == ref["sequences"] and got["sharding"]["shards"] >= 3
    assert got.get("dedup") == ref.get("dedup")
    if "dedup" in sequences:
        assert got["dedup"]["duplicates"] > 100
        (tmp_path / "got.rejects.jsonl").write_bytes(s3_store.read(out + ".rejects.jsonl"))
        # The same rejects; duplicates come after their batch's other rejects, and batches differ.
        got_rejects = rejects_without_sources(tmp_path / "got.rejects.jsonl", {f"{bucket}/in": "IN"})
        ref_rejects = rejects_without_sources(tmp_path / "ref.rejects.jsonl", {str(local): "IN"})
        assert sorted(map(json.dumps, got_rejects)) == sorted(map(json.dumps, ref_rejects))
    # Records only (a hash task's, a task's and an output shard's), whatever the shards hold: the test
    # above shows they do not grow with the shard.
    assert got["sharding"]["driver_received_bytes_per_shard"] < 6000
    merged_equals(tmp_path, out + ".manifest.json", str(tmp_path / "ref"))
    assert not any(".partial" in u for u in s3_store.list(f"{bucket}/out")), "the tasks' shards are removed"


def test_what_the_driver_receives_does_not_grow_with_the_shard(tmp_path, cluster):
    local = tmp_path / "in"
    local.mkdir()
    names = make_corpus(local, 1400)
    inputs = [str(local / n) for n in names[:2]]
    small = pp.run(inputs, str(tmp_path / "small"), engine="ray", shard_tokens=2000, **OPTIONS)["sharding"]
    big = pp.run(inputs, str(tmp_path / "big"), engine="ray", shard_tokens=16000, **OPTIONS)["sharding"]
    assert small["shards"] >= 4 * big["shards"], (small, big)
    per_shard = [small["driver_received_bytes_per_shard"], big["driver_received_bytes_per_shard"]]
    assert max(per_shard) < 1.6 * min(per_shard), per_shard  # constant per shard...
    assert small["driver_received_bytes"] > 3 * big["driver_received_bytes"]  # ...so it falls with bigger shards


def base64_corpus(path: Path, lines: int, seed: int = 7) -> Path:
    """Text no cache helps with (a few MB/s on the demo vocabulary), so that tasks last a while."""
    rng = random.Random(seed)
    return write_jsonl(path, [{"text": base64.b64encode(rng.randbytes(600)).decode()} for _ in range(lines)])


def wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def in_progress_on(prefix: str, node_id: str) -> bool:
    """Whether a task has started on ``node_id`` (its attempt marker) and not finished (no record)."""
    work = prefix + ".partial"
    done = set(storage.list_names(storage.join(work, "tasks")))
    for rel, _, _ in storage.list_tree(storage.join(work, "attempts")):
        task, marker = rel.split("/")
        if marker.startswith(node_id) and f"{task}.json" not in done:
            return True
    return False


def test_a_worker_node_removed_mid_task_changes_nothing(tmp_path, s3_store, bucket, cluster):
    data = base64_corpus(tmp_path / "d.jsonl", 12_000)
    s3_store.upload_tree(tmp_path, f"{bucket}/in")
    pp.run([str(data)], str(tmp_path / "ref"), **OPTIONS)
    victim = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    out = f"{bucket}/out/code"
    result = {}

    def drive() -> None:
        try:
            result["summary"] = pp.run([f"{bucket}/in/d.jsonl"], out, engine="ray", shard_tokens=25_000, **OPTIONS)
        except BaseException as e:  # handed to the test below
            result["error"] = e

    driver = threading.Thread(target=drive)
    driver.start()
    wait_for(lambda: in_progress_on(out, victim.node_id) or not driver.is_alive())
    cluster.remove_node(victim)  # kills the node's raylet and its workers, the task in flight among them
    driver.join(timeout=600)
    assert "error" not in result, result.get("error")
    sharding = result["summary"]["sharding"]
    assert sharding["retried_tasks"] >= 1, sharding
    merged_equals(tmp_path, out + ".manifest.json", str(tmp_path / "ref"))


def test_the_driver_killed_mid_run_then_resumed(tmp_path, s3_store, bucket, cluster):
    data = base64_corpus(tmp_path / "d.jsonl", 12_000, seed=8)
    s3_store.upload_tree(tmp_path, f"{bucket}/in")
    pp.run([str(data)], str(tmp_path / "ref"), **OPTIONS)
    out = f"{bucket}/out/code"
    args = [sys.executable, "-m", "llamatok.cli", "preprocess", f"{bucket}/in/d.jsonl", "-o", out, "-q",
            "--engine", "ray", "--ray-address", cluster.address, "--shard-tokens", "25000", "--batch-size", "8KB",
            "--fim-rate", "0.5", "--seed", "4", "--append-eod"]
    driver = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tasks = storage.join(out + ".partial", "tasks")
    wait_for(lambda: (len([n for n in storage.list_names(tasks) if n.endswith(".json")]) >= 2
                      or driver.poll() is not None))
    driver.kill()
    driver.communicate()
    assert driver.returncode != 0, "killed before the end"
    assert not storage.exists(out + ".manifest.json")
    resumed = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["sharding"]["kept_tasks"] >= 2 and summary["runs"] == 2
    merged_equals(tmp_path, out + ".manifest.json", str(tmp_path / "ref"))


def test_python_objects_cannot_go_to_the_cluster(tmp_path):
    with pytest.raises(pp.OptionsError, match="--engine ray reads files where its tasks run"):
        pp.run(texts=["a"], output_prefix=str(tmp_path / "o"), engine="ray", quiet=True)


def test_missing_ray_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    write_jsonl(tmp_path / "x.jsonl", [{"text": "a"}])
    with pytest.raises(pp.OptionsError, match=r"pip install 'llamatok\[ray\]'"):
        pp.run(str(tmp_path / "x.jsonl"), str(tmp_path / "o"), engine="ray", quiet=True)
    assert not (tmp_path / "o.partial").exists()
