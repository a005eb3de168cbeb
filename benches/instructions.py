"""Two builds of llamatok compared by the instructions their encoding executes (valgrind's callgrind),
a count that this VM's noise does not move, where wall-clock A/Bs (ab_builds.py) move from run to run
(figures in benches/results/notes.md, session 23). It says nothing of cache misses or stalls, so a
change is judged by both.

    python benches/instructions.py --before /tmp/before [--after python] [--task corpus]

Each task runs in one process per build under callgrind (``PYTHONHASHSEED=0``), once with its encoding
calls and once without; the difference is the encoding's count. Tasks (each input from workloads.py):

- ``corpus``: the first 400 files of the corpus, one ``encode`` call each, a fresh tokenizer (cold);
- ``lines-calls``: 50,000 short lines, one ``encode`` call each, twice;
- ``lines-batch``: the same lines by ``encode_batch_flat`` on one thread, twice;
- ``jsonl-lines``: the same lines as JSONL (``json.dumps`` of ``{"text": line}``), by ``encode_jsonl_flat``
  on one thread, twice;
- ``jsonl-corpus``: the files of ``corpus`` as JSONL lines, by ``encode_jsonl_flat`` on one thread, cold (code
  as ``json.dumps`` writes it: an escape on every line of a file);
- ``minified-js``: 300 minified-JavaScript strings of 10 KB, one ``encode`` call each;
- ``cjk-emoji``: 300 strings of 10 KB of CJK characters and emoji, one ``encode`` call each;
- ``uncut``: 100 strings of 10 KB of letters without a cut point (long chunks, merged in windows), one
  ``encode`` call each.

Needs valgrind (``apt install valgrind``); each task takes a minute or two per build.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

TASK = r"""
import json, sys
sys.path.insert(0, {benches!r})
import workloads, llamatok
task, run = {task!r}, sys.argv[1] == "run"
tok = llamatok.Tokenizer.from_file({tokenizer!r})
if task in ("corpus", "jsonl-corpus"):
    texts = workloads.corpus()[:400]
elif task in ("minified-js", "cjk-emoji"):
    texts = [workloads.stress(task, 10_000, seed) for seed in range(300)]
elif task == "uncut":
    texts = [workloads.stress(task, 10_000, seed) for seed in range(100)]
else:
    texts = workloads.lines(50_000)
if task in ("jsonl-lines", "jsonl-corpus"):
    blocks = ["".join(json.dumps({{"text": t}}) + "\n" for t in texts).encode()]
if run:
    for _ in range(1 if task in ("corpus", "jsonl-corpus", "minified-js", "cjk-emoji", "uncut") else 2):
        if task == "lines-batch":
            tok.encode_batch_flat(texts, dtype="uint16", num_threads=1)
        elif task in ("jsonl-lines", "jsonl-corpus"):
            tok.encode_jsonl_flat(blocks, ["text"], "literal", True, 1, "uint16")
        else:
            kept = [tok.encode(t) for t in texts]
"""

TASKS = ["corpus", "lines-calls", "lines-batch", "jsonl-lines", "jsonl-corpus", "minified-js", "cjk-emoji", "uncut"]


def instructions(folder: str, code: str, mode: str) -> int:
    """The instructions callgrind counts for the script ``code`` run with ``mode``, the package from ``folder``."""
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "task.py")
        Path(script).write_text(code)
        env = {**os.environ, "PYTHONPATH": folder, "PYTHONHASHSEED": "0"}
        proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable,
                               script, mode], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        found = re.search(r"refs:\s+([\d,]+)", proc.stderr)
        if found is None:
            raise SystemExit(f"no instruction count in callgrind's output:\n{proc.stderr[-2000:]}")
        return int(found.group(1).replace(",", ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="folder holding the llamatok package to compare with")
    ap.add_argument("--after", default=str(HERE.parent / "python"), help="folder holding the new build")
    ap.add_argument("--task", choices=TASKS, action="append", help="a task (repeat for several; default all)")
    ap.add_argument("--tokenizer", default=os.environ.get("LLAMATOK_FIXTURES", str(HERE.parent.parent / "shared" /
                                                                                  "fixtures"))
                    + "/codellama-7b-hf/tokenizer.json")
    args = ap.parse_args()
    results = {}
    for task in args.task or TASKS:
        code = TASK.format(benches=str(HERE), tokenizer=args.tokenizer, task=task)
        counts = {name: instructions(folder, code, "run") - instructions(folder, code, "skip")
                  for name, folder in (("before", args.before), ("after", args.after))}
        results[task] = counts
        print(f"{task:12} before {counts['before'] / 1e6:9.1f}M  after {counts['after'] / 1e6:9.1f}M  "
              f"after / before {counts['after'] / counts['before']:.3f}", flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
