"""The Ray engine on a local Ray instance (two CPUs, loopback only) writes the same bytes as the
local engine for the same inputs and seed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pp_helpers import sample_texts, write_jsonl

import llamatok.preprocess as pp

OUTPUTS = (".bin", ".idx", ".parquet", ".rejects.jsonl")

if os.environ.get("LLAMATOK_REQUIRE_FIXTURES") == "1":
    import ray  # CI installs llamatok[test], which has Ray: its absence is a failure there
else:
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'llamatok[ray]'")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


def make_inputs(d: Path):
    texts = sample_texts(700)
    records = [{"text": t} for t in texts]
    for i in range(5, len(records), 61):
        records[i] = {"text": 3}
    write_jsonl(d / "a.jsonl", records[:400])
    (d / "a.jsonl").write_bytes((d / "a.jsonl").read_bytes() + b"{broken\n" + b'{"text": "after the broken line"}\n')
    write_jsonl(d / "b.jsonl.zst", records[400:550], "zst")
    pq.write_table(pa.table({"text": [r["text"] if isinstance(r["text"], str) else None for r in records[550:]]}),
                   d / "c.parquet", row_group_size=20)
    tree = d / "tree"
    for i, t in enumerate(texts[:60]):
        (tree / f"p{i % 3}").mkdir(parents=True, exist_ok=True)
        (tree / f"p{i % 3}" / f"{i}.py").write_bytes(t.encode() if i != 7 else b"\xff bad")
    return [str(d / "a.jsonl"), str(d / "b.jsonl.zst"), str(d / "c.parquet"), str(tree)]


def test_ray_engine_writes_the_local_engines_bytes(tmp_path, local_ray):
    inputs = make_inputs(tmp_path)
    common = dict(quiet=True, batch_bytes=8192, fim_rate=0.5, seed=4, append_eod=True, formats="megatron,parquet")
    local = pp.run(inputs, str(tmp_path / "local"), **common)
    remote = pp.run(inputs, str(tmp_path / "ray"), engine="ray", **common)
    assert remote["engine"] == "ray" and local["engine"] == "local"
    for key in ("documents", "tokens", "input_bytes", "rejected", "rejected_by_reason", "blank_lines", "fingerprint"):
        assert remote[key] == local[key], key
    assert local["rejected"] >= 10
    for ext in OUTPUTS:
        assert (tmp_path / ("ray" + ext)).read_bytes() == (tmp_path / ("local" + ext)).read_bytes(), ext


def test_ray_engine_resumes_a_local_checkpoint(tmp_path, local_ray):
    """A checkpoint is a cursor in the input, whichever engine wrote it."""
    from pp_helpers import cli

    inputs = make_inputs(tmp_path)
    opts = ["--batch-size", "8KB", "--fim-rate", "0.5", "-q"]
    assert cli(*inputs, "-o", str(tmp_path / "ref"), *opts).returncode == 0
    crashed = cli(*inputs, "-o", str(tmp_path / "o"), *opts, env={"LLAMATOK_PREPROCESS_CRASH_AT": "committed:9"})
    assert crashed.returncode == 86
    pp.run(inputs, str(tmp_path / "o"), engine="ray", resume=True, quiet=True, batch_bytes=8192, fim_rate=0.5)
    for ext in (".bin", ".idx", ".rejects.jsonl"):
        assert (tmp_path / ("o" + ext)).read_bytes() == (tmp_path / ("ref" + ext)).read_bytes(), ext


def test_missing_ray_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    write_jsonl(tmp_path / "x.jsonl", [{"text": "a"}])
    with pytest.raises(pp.OptionsError, match=r"pip install 'llamatok\[ray\]'"):
        pp.run(str(tmp_path / "x.jsonl"), str(tmp_path / "o"), engine="ray", quiet=True)
    assert not (tmp_path / "o.partial").exists()
