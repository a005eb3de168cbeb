"""Crash safety: a run killed at any moment and restarted with ``--resume`` ends with output
byte-identical to an uninterrupted run, and no final name ever holds a partial file."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pp_helpers import cli, sample_texts, summary_of, write_jsonl

OUTPUTS = (".bin", ".idx", ".parquet", ".rejects.jsonl")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    texts = sample_texts(1500)
    records = [{"text": t} for t in texts]
    for i in range(0, len(records), 97):
        records[i] = '{"text": broken'
    write_jsonl(d / "a.jsonl", records[:900])
    write_jsonl(d / "b.jsonl.gz", records[900:], "gz")
    tree = d / "tree"
    for i, t in enumerate(texts[:150]):
        (tree / f"m{i % 5}").mkdir(parents=True, exist_ok=True)
        (tree / f"m{i % 5}" / f"f{i}.py").write_text(t, encoding="utf-8")
    return [str(d / "a.jsonl"), str(d / "b.jsonl.gz"), str(tree)]


def args(corpus, prefix, seed=9):
    # A checkpoint after every batch, so that the crash points below fall between batches of the input.
    return [*corpus, "-o", str(prefix), "--format", "megatron,parquet", "--fim-rate", "0.5", "--seed", str(seed),
            "--append-eod", "--batch-size", "16KB", "--checkpoint-seconds", "0", "-q"]


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    prefix = tmp_path_factory.mktemp("ref") / "ref"
    summary = summary_of(cli(*args(corpus, prefix)))
    assert summary["rejected"] > 5 and summary["documents"] > 1000
    return summary, {ext: Path(str(prefix) + ext).read_bytes() for ext in OUTPUTS}


def same_as_reference(prefix, reference):
    summary, expected = reference
    got = json.loads(Path(str(prefix) + ".summary.json").read_text())
    for key in ("documents", "tokens", "input_bytes", "rejected", "rejected_by_reason", "blank_lines", "fingerprint"):
        assert got[key] == summary[key], key
    for ext in OUTPUTS:
        assert Path(str(prefix) + ext).read_bytes() == expected[ext], ext
    assert not Path(str(prefix) + ".partial").exists()


@pytest.mark.parametrize("point", ["data-written:3", "state-written:7", "committed:20", "finalizing", "index-written",
                                   "renaming", "renamed:1", "renamed:3"])
def test_crash_at_each_kind_of_moment_then_resume(tmp_path, corpus, reference, point):
    prefix = tmp_path / "o"
    crashed = cli(*args(corpus, prefix), env={"LLAMATOK_PREPROCESS_CRASH_AT": point})
    assert crashed.returncode == 86, (point, crashed.returncode, crashed.stderr)
    finals = {p.name for p in tmp_path.iterdir()} - {"o.partial", "o.lock"}
    if not point.startswith("renamed"):
        assert finals == set(), f"no final name before the renames, found {finals}"
    assert "o.summary.json" not in finals, "the summary (the mark of a finished run) comes last"
    resumed = cli(*args(corpus, prefix), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    same_as_reference(prefix, reference)


def checkpoint_stamp(prefix):
    """What the run's last commit wrote (None before the first one)."""
    try:
        return Path(str(prefix) + ".partial", "checkpoint.json").read_bytes()
    except FileNotFoundError:
        return None


def test_sigkill_at_random_moments_then_resume(tmp_path, corpus, reference):
    """SIGKILL each attempt at a random moment after it has committed something new (so every kill
    lands mid-run, whatever this machine's speed), then resume until a run finishes."""
    prefix = tmp_path / "o"
    rng = random.Random(5)
    kills = 0
    for attempt in range(8):
        cmd = [sys.executable, "-m", "llamatok.cli", "preprocess",
               *args(corpus, prefix)] + (["--resume"] if attempt else [])
        before = checkpoint_stamp(prefix)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt < 3:
            # Wait for a new commit, then kill a few milliseconds later: inside writing the next
            # batch, or the commit after it.
            deadline = time.monotonic() + 300
            while proc.poll() is None and checkpoint_stamp(prefix) == before:
                assert time.monotonic() < deadline, "no commit in 5 minutes"
                time.sleep(0.002)
            if proc.poll() is None:
                time.sleep(rng.uniform(0, 0.03))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
        assert proc.wait(timeout=300) == 0
        break
    assert kills >= 2, "the run should have been killed mid-way at least twice"
    same_as_reference(prefix, reference)


def test_ctrl_c_ends_the_run_with_a_hint_and_resume_finishes_it(tmp_path, corpus, reference):
    """SIGINT (Ctrl-C) once the run has committed a batch: exit status 130 and one line saying how to go on,
    no traceback; --resume then finishes with the uninterrupted run's output."""
    prefix = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "llamatok.cli", "preprocess", *args(corpus, prefix)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while proc.poll() is None and checkpoint_stamp(prefix) is None:
        assert time.monotonic() < deadline, "no commit in 5 minutes"
        time.sleep(0.002)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "--resume" in stderr and "Traceback" not in stderr, stderr
    assert Path(str(prefix) + ".partial").is_dir()
    resumed = cli(*args(corpus, prefix), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["runs"] == 2
    same_as_reference(prefix, reference)


def test_resume_refuses_other_options_and_finished_runs_are_kept(tmp_path, corpus, reference):
    prefix = tmp_path / "o"
    assert cli(*args(corpus, prefix), env={"LLAMATOK_PREPROCESS_CRASH_AT": "committed:5"}).returncode == 86
    other = cli(*args(corpus, prefix, seed=10), "--resume")
    assert other.returncode == 2 and "other inputs or options" in other.stderr
    assert cli(*args(corpus, prefix), "--resume").returncode == 0
    same_as_reference(prefix, reference)
    again = cli(*args(corpus, prefix)[:-1], "--resume")
    assert again.returncode == 0 and "already complete" in again.stderr
    same_as_reference(prefix, reference)
    # Without --resume a partial run is discarded and the job starts over.
    assert cli(*args(corpus, prefix), env={"LLAMATOK_PREPROCESS_CRASH_AT": "committed:2"}).returncode == 86
    fresh = cli(*args(corpus, prefix)[:-1])
    assert fresh.returncode == 0 and "discarding the partial run" in fresh.stderr
    same_as_reference(prefix, reference)


def test_a_checkpoint_of_another_version_starts_over(tmp_path, corpus, reference):
    prefix = tmp_path / "o"
    assert cli(*args(corpus, prefix), env={"LLAMATOK_PREPROCESS_CRASH_AT": "committed:5"}).returncode == 86
    state = Path(str(prefix) + ".partial", "checkpoint.json")
    old = dict(json.loads(state.read_text()), version=1)
    state.write_text(json.dumps(old))
    resumed = cli(*args(corpus, prefix)[:-1], "--resume")
    assert resumed.returncode == 0 and "another llamatok version's: starting from the beginning" in resumed.stderr
    same_as_reference(prefix, reference)


def test_checkpoints_are_taken_once_the_interval_has_passed(tmp_path, corpus, reference):
    """--checkpoint-seconds: with 0 a checkpoint follows every batch; with an interval longer than the run the
    input's only checkpoint comes after its last batch, and a run killed before it redoes the whole input."""
    def checkpointed_batches(prefix):
        return json.loads(Path(str(prefix) + ".partial", "checkpoint.json").read_text())["batches"]

    every = tmp_path / "every"
    assert cli(*args(corpus, every), env={"LLAMATOK_PREPROCESS_CRASH_AT": "committed:1"}).returncode == 86
    assert checkpointed_batches(every) == 1
    long = tmp_path / "long"
    interval = ["--checkpoint-seconds", "3600"]  # the last of a repeated option counts
    assert cli(*args(corpus, long), *interval, env={"LLAMATOK_PREPROCESS_CRASH_AT": "committed:1"}).returncode == 86
    assert checkpointed_batches(long) > 20, "one checkpoint for all the batches of the input"
    for prefix in (every, long):
        assert cli(*args(corpus, prefix), *interval, "--resume").returncode == 0
        same_as_reference(prefix, reference)
    killed = tmp_path / "killed"
    crashed = cli(*args(corpus, killed), *interval, env={"LLAMATOK_PREPROCESS_CRASH_AT": "data-written:1"})
    assert crashed.returncode == 86
    assert not Path(str(killed) + ".partial", "checkpoint.json").exists()
    resumed = cli(*args(corpus, killed), *interval, "--resume")
    assert resumed.returncode == 0 and json.loads(resumed.stdout)["runs"] == 1, "no checkpoint: a new run"
    same_as_reference(killed, reference)


def test_writeback_between_checkpoints_asks_for_each_appended_range_once(tmp_path, monkeypatch):
    """Between checkpoints the work folder's files are handed to the kernel to write (no fsync): each
    appended byte range once, in order, and the files hold what was appended."""
    import os

    import numpy as np

    from llamatok.preprocess.checkpoint import WorkDir

    asked = []
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, offset, length, advice: asked.append((fd, offset, length)),
                        raising=False)
    work = WorkDir(str(tmp_path / "w.partial"), 1)
    work.create()
    work.open()
    ids = np.arange(1000, dtype=np.uint16)
    work.append(0, ids, np.array([600, 400], np.int32))
    work.start_writeback()
    work.start_writeback()  # nothing new: nothing asked
    work.append(0, ids[:10], np.array([10], np.int32))
    work.start_writeback()
    work.close()
    by_file: dict[int, list[tuple[int, int]]] = {}
    for fd, offset, length in asked:
        by_file.setdefault(fd, []).append((offset, length))
    assert sorted(by_file.values()) == sorted([[(0, 2000), (2000, 20)], [(0, 8), (8, 4)]])
    assert np.fromfile(work.tokens[0], np.uint16).tolist() == ids.tolist() + ids[:10].tolist()
