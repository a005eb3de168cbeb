"""The command line: bad options exit 2 with a clear message; the summary; the progress bar."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys

import pytest
from pp_helpers import cli, summary_of, write_jsonl

import llamatok.preprocess as pp
from llamatok.preprocess.progress import Progress


@pytest.fixture()
def jsonl(tmp_path):
    return write_jsonl(tmp_path / "in.jsonl", [{"text": f"def f{i}(): pass"} for i in range(50)])


@pytest.mark.parametrize("args,message", [
    (["--fim-rate", "1.5"], "--fim-rate must be a probability"),
    (["--fim-rate", "0.5", "--fim-spm-rate", "-0.1"], "--fim-spm-rate must be a probability"),
    (["--format", "csv"], "--format takes one or more of megatron, parquet, npy"),
    (["--fim-rate", "0.5", "--seed", "-1"], "--seed must be an integer"),
    # Options that would do nothing are refused rather than ignored.
    (["--seed", "3"], "--seed applies to FIM documents only: add --fim-rate"),
    (["--fim-spm-rate", "0.2"], "--fim-spm-rate applies to FIM documents only"),
    (["--fim-layout", "codestral"], "--fim-layout applies to FIM documents only"),
    (["--pack-strategy", "bfd"], "--pack-strategy applies to --pack only"),
    (["--pack", str(2**31)], "--pack must be a sequence length of 2 to 2147483647"),
    (["--json-keys", "text", "x/y"], "cannot be part of a file name"),
    (["--exclude", "deep*"], "--include and --exclude choose the files of a directory input"),
    (["--ray-address", "127.0.0.1:1"], "--ray-address needs --engine ray"),
    (["--batch-size", "lots"], "not a size"),
    (["--max-rejects", "-2"], "--max-rejects must be 0 or more"),
    (["--checkpoint-seconds", "-1"], "--checkpoint-seconds must be 0 or more seconds"),
    (["--checkpoint-seconds", "inf"], "--checkpoint-seconds must be 0 or more seconds"),
    (["--checkpoint-seconds", "nan"], "--checkpoint-seconds must be 0 or more seconds"),
    (["--checkpoint-seconds", "0", "--shard-tokens", "1000"], "applies to the single-file output only"),
    (["--json-keys", "a", "a"], "names a field twice"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--mode", "weird"], "invalid choice"),
    (["--tokenizer", "/no/such/tokenizer"], "--tokenizer"),
])
def test_bad_options_exit_2(tmp_path, jsonl, args, message):
    proc = cli(str(jsonl), "-o", str(tmp_path / "o"), *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert not list(tmp_path.glob("o.*")), "nothing written"


def test_bad_inputs_exit_2(tmp_path, jsonl):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "t.parquet").write_bytes(b"")
    for args, message in [
        ([str(tmp_path / "missing.jsonl")], "no such input"),
        ([str(tmp_path / "notes.txt")], "cannot tell the format"),
        ([str(jsonl), "-o", str(tmp_path / "nodir" / "o")], "does not exist"),
        ([str(tmp_path)], "is a directory"),  # with two --json-keys below
    ]:
        extra = ["--json-keys", "a", "b"] if message == "is a directory" else []
        out = [] if "-o" in args else ["-o", str(tmp_path / "o")]
        proc = cli(*args, *out, *extra)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
    proc = cli("-o", str(tmp_path / "o"))
    assert proc.returncode == 2 and "INPUT" in proc.stderr


def test_parquet_without_the_column_exits_2(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"content": ["x"]}), tmp_path / "t.parquet")
    proc = cli(str(tmp_path / "t.parquet"), "-o", str(tmp_path / "o"))
    assert proc.returncode == 2 and "no column 'text'" in proc.stderr and "content" in proc.stderr
    proc = cli(str(tmp_path / "t.parquet"), "-o", str(tmp_path / "o"), "--json-keys", "content")
    assert summary_of(proc)["documents"] == 1


def test_summary_printed_and_written(tmp_path, jsonl):
    proc = cli(str(jsonl), "-o", str(tmp_path / "o"), "--format", "megatron,parquet", "--append-eod")
    summary = summary_of(proc)
    assert summary == json.loads((tmp_path / "o.summary.json").read_text())
    for key in ("documents", "tokens", "input_bytes", "rejected", "seconds", "throughput"):
        assert key in summary
    assert set(summary["throughput"]) == {"documents_per_second", "megabytes_per_second", "tokens_per_second"}
    assert summary["documents"] == 50 and summary["input_bytes"] == jsonl.stat().st_size
    assert "DEMO vocabulary" in proc.stderr, "the demo vocabulary is announced"
    assert "\r" not in proc.stderr, "no progress bar when standard error is not a terminal"
    assert (sorted(p.name for p in tmp_path.iterdir())
            == ["in.jsonl", "o.bin", "o.idx", "o.parquet", "o.rejects.jsonl", "o.summary.json"])


def test_progress_bar_on_a_terminal(tmp_path, jsonl):
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "llamatok.cli", "preprocess", str(jsonl), "-o", str(tmp_path / "o")],
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=60)
    os.close(master)
    text = seen.decode("utf-8", "replace")
    assert proc.returncode == 0
    assert all(part in text for part in ("\r[", "docs/s", "MB/s", "tok/s", "ETA", "100%"))
    quiet = subprocess.Popen([sys.executable, "-m", "llamatok.cli", "preprocess", str(jsonl),
                              "-o", str(tmp_path / "q"), "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = quiet.communicate(timeout=60)
    assert b"docs/s" not in err


def test_progress_line():
    stream = io.StringIO()
    p = Progress(1000, enabled=True, stream=stream, interval=0)
    line = p.line(docs=50, in_bytes=500, tokens=2000, done=500, elapsed=2.0)
    assert line.startswith("[" + "#" * 12 + "." * 12 + "]  50%")
    assert "25 docs/s" in line and "0.0 MB/s" in line and "1.0k tok/s" in line and "ETA 0:02" in line
    assert "ETA" not in Progress(None, True, stream).line(1, 1, 1, 0, 1.0)
    assert not Progress.wanted(quiet=False, stream=stream)


def test_api_errors(tmp_path):
    with pytest.raises(pp.OptionsError, match="output_prefix is required"):
        pp.run(texts=["x"])
    with pytest.raises(pp.OptionsError, match="unknown option"):
        pp.run(texts=["x"], output_prefix=str(tmp_path / "o"), fim=0.5)
    with pytest.raises(pp.OptionsError, match="texts="):
        pp.run([["a list of texts"]], str(tmp_path / "o"))
