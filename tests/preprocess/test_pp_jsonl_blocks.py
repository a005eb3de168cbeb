"""JSONL read in blocks of whole lines (preprocess/jsonl_blocks.py, split by the core in
``Tokenizer.encode_jsonl_flat``) against the reader of single lines parsed by Python: for any lines (documents,
blank lines of every kind of whitespace, rejects), batch size, block size, starting cursor and range end, the
same batches (where each ends, its bytes, cursor and line count), documents with their positions and ids,
blank lines and rejects."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pp_helpers import DEMO

import llamatok
from llamatok.preprocess import jsonl_blocks
from llamatok.preprocess.batches import make_batches, tokenize
from llamatok.preprocess.encode import EncodeSpec
from llamatok.preprocess.readers import JsonlReader
from llamatok.preprocess.sources import discover

CORE = llamatok.Tokenizer.from_file(str(Path(DEMO) / "tokenizer.json"))
SPEC = EncodeSpec("legacy", 1, 2, "int32")

DOCUMENT = st.text(st.characters(codec="utf-8"), max_size=30).map(lambda t: json.dumps({"text": t}))
BLANK = st.text(st.sampled_from(" \t\r\x0b\x0c"), max_size=3)
REJECTED = st.sampled_from(['{"text": 3}', "not json", "[]", '{"other": "x"}', '"\\ud800"', "\x85", "{\x0b}"])
LINES = st.lists(st.one_of(DOCUMENT, DOCUMENT, BLANK, REJECTED), min_size=1, max_size=30)


def results(path: str, raw: bool, start: tuple[int, int, int], batch_bytes: int, end: tuple[int, int] | None):
    """Every batch of the file read one way, with what tokenizing it gives."""
    source = discover([path], [], [])[0]
    reader = JsonlReader(source, ("text",), raw=raw)
    out = []
    for batch in make_batches([reader], [source.size], start, 1, batch_bytes, end):
        got = tokenize(CORE, batch, SPEC)
        out.append({"cursor": got.cursor, "input_bytes": got.input_bytes, "lines": got.lines, "docs": got.docs,
                    "blank_lines": got.blank_lines, "rejects": got.rejects, "reject_sources": got.reject_sources,
                    "positions": np.asarray(got.positions).tolist(), "sources": np.asarray(got.sources).tolist(),
                    "ids": got.ids[0].tolist(), "lengths": got.lengths[0].tolist()})
    return out


@settings(max_examples=300, deadline=None)
@given(lines=LINES, final_newline=st.booleans(), gz=st.booleans(), batch_bytes=st.integers(1, 150),
       block_bytes=st.integers(1, 200), first=st.integers(0, 30), stop=st.none() | st.integers(0, 110))
def test_blocks_give_the_batches_of_single_lines(lines, final_newline, gz, batch_bytes, block_bytes, first, stop):
    data = "\n".join(lines).encode("utf-8") + (b"\n" if final_newline and lines else b"")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "in.jsonl" + (".gz" if gz else ""))
        with open(path, "wb") as f:
            f.write(gzip.compress(data) if gz else data)
        # Resuming at a line: its position and the lines before it, as a checkpoint's cursor holds them.
        starts = np.cumsum([0, *(len(line) for line in data.splitlines(keepends=True))]).tolist()
        first = first % len(starts) if first % 3 == 0 else 0
        start = (0, starts[first], first)
        # A range's end falls anywhere: inside a line, at its start, past the file's end.
        end = None if stop is None else (0, len(data) * stop // 100)
        want = results(path, False, start, batch_bytes, end)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(jsonl_blocks, "BLOCK_BYTES", block_bytes)
            got = results(path, True, start, batch_bytes, end)
    assert got == want


def test_a_batch_spans_files_and_blocks(tmp_path, monkeypatch):
    """Documents of two files in one batch: each gets its own source and position."""
    paths = []
    for name, texts in (("a.jsonl", ["x", "yy", ""]), ("b.jsonl", ["zzz", "w"])):
        path = tmp_path / name
        path.write_text("".join(json.dumps({"text": t}) + "\n \n" for t in texts))
        paths.append(str(path))
    monkeypatch.setattr(jsonl_blocks, "BLOCK_BYTES", 20)
    sources = discover(paths, [], [])
    readers = [JsonlReader(source, ("text",), raw=True) for source in sources]
    (batch,) = make_batches(readers, [s.size for s in sources], (0, 0, 0), 1, 1 << 20)
    assert len(batch.blocks) > 2
    got = tokenize(CORE, batch, SPEC)
    assert got.sources.tolist() == [0, 0, 0, 1, 1]
    line = len(json.dumps({"text": "x"})) + 3
    assert got.positions.tolist()[:2] == [0, line] and got.positions.tolist()[3] == 0
    assert got.blank_lines == 5 and got.lines == {0: 6, 1: 4} and got.cursor == (1, sources[1].size, 4)
    assert got.lengths[0].tolist() == [len(CORE.encode(t)) + 2 for t in ["x", "yy", "", "zzz", "w"]]
