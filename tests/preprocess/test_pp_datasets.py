"""``datasets.Dataset.map(..., batched=True, num_proc=2)`` with a llamatok tokenizer works, and a
second identical run (a new process, as when a script is run again) is loaded from the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from pp_helpers import DEMO

if os.environ.get("LLAMATOK_REQUIRE_FIXTURES") != "1":
    pytest.importorskip("datasets", reason="pip install datasets")

SCRIPT = textwrap.dedent('''
    import json, os, sys
    import datasets
    import llamatok
    from llamatok.preprocess.hf import MapTokenizer

    datasets.disable_progress_bars()
    data, cache, demo = sys.argv[1:4]
    ds = datasets.load_dataset("json", data_files=data, split="train", cache_dir=cache)
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(demo, split_special_tokens=True)

    def tokenize(batch):  # what a user writes: the API class inside a batched function
        return {"input_ids": [tok.encode(t) for t in batch["text"]]}

    out = {}
    for name, fn in (("function", tokenize), ("map_tokenizer", MapTokenizer(demo, append_eod=True))):
        mapped = ds.map(fn, batched=True, num_proc=2, remove_columns=["text"])
        files = [f["filename"] for f in mapped.cache_files]
        out[name] = {
            "fingerprint": mapped._fingerprint,
            "files": files,
            "mtimes": [os.stat(f).st_mtime_ns for f in files],
            "ids": mapped["input_ids"][:50],
            "rows": len(mapped),
        }
    print(json.dumps(out))
''')


def run_script(data, cache):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(data), str(cache), DEMO], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_datasets_map_with_num_proc_is_cached(tmp_path):
    import llamatok

    texts = [f"def f{i}(x):\n    return x * {i}  # é\n" * (i % 5) for i in range(3000)]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    first = run_script(data, tmp_path / "cache")
    second = run_script(data, tmp_path / "cache")
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(DEMO, split_special_tokens=True)
    for name in ("function", "map_tokenizer"):
        a, b = first[name], second[name]
        assert a["rows"] == len(texts) and len(a["files"]) == 2, "two processes, two cache shards"
        assert b == a, f"{name}: the second run reuses the cached result (same fingerprint, files untouched)"
    assert first["function"]["ids"] == [tok.encode(t) for t in texts[:50]]
    assert first["map_tokenizer"]["ids"] == [tok.encode(t) + [tok.eos_token_id] for t in texts[:50]]
