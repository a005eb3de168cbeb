"""Bad records are never dropped silently: counted, listed with source and line, summarized;
``--max-rejects`` fails the run past its limit."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pp_helpers import DEMO, cli, documents, summary_of

import llamatok
import llamatok.preprocess as pp

BAD_LINES = [
    (b'{"text": "good one"}', None),
    (b'{"text": "broken', "invalid_json"),
    (b'{"text": "caf\xe9"}', "invalid_utf8"),
    (b'{"body": "no text field"}', "missing_field"),
    (b'{"text": null}', "missing_field"),
    (b'{"text": 42}', "not_a_string"),
    (b'{"text": ["a", "list"]}', "not_a_string"),
    (b'["not", "an", "object"]', "not_an_object"),
    (b'{"text": "lone \\ud800 surrogate"}', "invalid_utf8"),
    (b"", "blank"),
    (b'{"text": "good two \\u00e9"}', None),
    (b"   ", "blank"),
    (b'{"text": "good three"}', None),
]


def make_jsonl(path: Path) -> Path:
    path.write_bytes(b"\n".join(line for line, _ in BAD_LINES) + b"\n")
    return path


def test_jsonl_rejects_have_source_line_and_reason(tmp_path):
    src = make_jsonl(tmp_path / "in.jsonl")
    summary = summary_of(cli(str(src), "-o", str(tmp_path / "o"), "--batch-size", "40B"))
    expected = [(i + 1, why) for i, (_, why) in enumerate(BAD_LINES) if why not in (None, "blank")]
    rejects = [json.loads(x) for x in (tmp_path / "o.rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["reason"]) for r in rejects] == expected
    assert all(r["source"] == str(src) and r["detail"] for r in rejects)
    assert "broken" in rejects[0]["excerpt"] and "\\xe9" in rejects[1]["excerpt"]
    assert summary["rejected"] == len(expected)
    assert (summary["rejected_by_reason"]
            == {"invalid_json": 1, "invalid_utf8": 2, "missing_field": 2, "not_a_string": 2, "not_an_object": 1})
    assert summary["blank_lines"] == 2 and summary["documents"] == 3
    assert summary["documents"] + summary["rejected"] + summary["blank_lines"] == len(BAD_LINES)
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(DEMO, split_special_tokens=True)
    assert documents(str(tmp_path / "o")) == [tok.encode(t) for t in ("good one", "good two é", "good three")]


def test_summary_and_notice_name_the_rejects(tmp_path):
    src = make_jsonl(tmp_path / "in.jsonl")
    proc = cli(str(src), "-o", str(tmp_path / "o"))
    assert proc.returncode == 0
    assert "8 records rejected" in proc.stderr and str(tmp_path / "o.rejects.jsonl") in proc.stderr


def test_files_and_parquet_rejects(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text("ok = 1\n")
    (tree / "b.py").write_bytes(b"line one\nline two \xff\xfe\n")
    table = pa.table({"text": pa.array(["fine", None, "also fine"], pa.string())})
    pq.write_table(table, tmp_path / "t.parquet")
    summary = pp.run([str(tree), str(tmp_path / "t.parquet")], str(tmp_path / "o"), quiet=True)
    rejects = [json.loads(x) for x in (tmp_path / "o.rejects.jsonl").read_text().splitlines()]
    assert rejects[0]["source"] == str(tree / "b.py") and rejects[0]["line"] == 2
    assert rejects[0]["reason"] == "invalid_utf8"
    assert rejects[1]["source"] == str(tmp_path / "t.parquet") and rejects[1]["row"] == 1
    assert rejects[1]["reason"] == "missing_field"
    assert summary["documents"] == 3 and summary["rejected"] == 2


def test_max_rejects_fails_the_run_past_the_limit(tmp_path):
    src = make_jsonl(tmp_path / "in.jsonl")
    ok = cli(str(src), "-o", str(tmp_path / "ok"), "--max-rejects", "8", "-q")
    assert ok.returncode == 0, ok.stderr
    bad = cli(str(src), "-o", str(tmp_path / "bad"), "--max-rejects", "3", "-q")
    assert bad.returncode == 1
    assert "more than --max-rejects 3" in bad.stderr and "bad.rejects.jsonl" in bad.stderr
    assert not (tmp_path / "bad.bin").exists() and not (tmp_path / "bad.idx").exists(), "no dataset from a failed run"
    assert len((tmp_path / "bad.rejects.jsonl").read_text().splitlines()) >= 4
    # Raising the limit and resuming finishes the same job, with the same bytes as a clean run.
    again = cli(str(src), "-o", str(tmp_path / "bad"), "--max-rejects", "100", "--resume", "-q")
    assert again.returncode == 0, again.stderr
    for ext in (".bin", ".idx", ".rejects.jsonl"):
        assert (tmp_path / ("bad" + ext)).read_bytes() == (tmp_path / ("ok" + ext)).read_bytes()


def test_api_raises_reject_limit_error(tmp_path):
    import pytest

    with pytest.raises(pp.RejectLimitError, match="max-rejects 0"):
        pp.run(texts=["fine", 3], output_prefix=str(tmp_path / "o"), max_rejects=0, quiet=True)
