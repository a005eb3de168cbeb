"""Two builds of llamatok side by side on one workload, for a change whose effect is smaller than the
noise between separate runs of compare.py: each build is imported from its own folder, in its own
process, the runs interleaved (A, B, A, B...), and each run reports its best of ``--passes``.

    pip install --no-deps --target /tmp/before dist-before/llamatok-*.whl   # the build to compare with
    python benches/ab_builds.py --before /tmp/before [--after python] [--task decode] [--runs 5]

``--after`` defaults to ``python/`` (where ``maturin develop`` puts the current build). Tasks, on the
standard-library corpus of compare.py with Code Llama's vocabulary: ``decode`` (one call per file, a list of ids
each), ``encode`` (one call per file, cold), ``batch`` (one ``encode_batch_flat`` call, cold),
``batches`` (the same in calls of about 4 MB of text, as ``llamatok preprocess`` makes them), ``jsonl``
(``llamatok.preprocess.run`` on the corpus as one JSONL file, ``--append-eod``: MB/s of its processing), ``warm``
(one call per file, the second pass of a fresh tokenizer: what the document cache serves);
``stress-KIND`` (one call per string, 300 strings of 10 KB of compare.py's stress kind: base64, minified-js,
cjk-emoji, letters, uncut), ``stress-mixed`` (60 strings of each kind, the kinds taken in turn: documents
of different kinds one after another), ``stress-after-base64`` (100 strings of minified JavaScript, timed, after
100 of base64, not timed: a switch from random text to text that repeats); with ``--fresh``, each stress string is
made right before its call and only the call is timed, as compare.py does: the Python that makes it leaves the
core's tables out of the nearer caches, as a job's own work between documents does (``benches/results/notes.md``,
session 36); ``lines`` (one call per short line
of code, 200,000 distinct lines of compare.py's short-line workload, the results kept, cold); ``jsonl-lines``
(``jsonl`` on those lines, each a document); either JSONL task with ``-fim`` (``--fim-rate 0.5``) or ``-dedup``
(``--dedup exact``).
Prints MB/s of UTF-8 text per run, the medians' ratio and the median of the ratios of neighbouring runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import workloads  # noqa: E402

TASK = r"""
import sys, time
sys.path.insert(0, {benches!r})
import workloads, llamatok
task = {task!r}
untimed = []
specs = []  # stress tasks: (kind, seed) of each timed string of 10 KB
if task == "stress-after-base64":  # minified JavaScript right after random text (what compare.py's order does)
    specs = [("minified-js", seed) for seed in range(100)]
    untimed = [workloads.stress("base64", 10_000, seed) for seed in range(100)]
elif task == "stress-mixed":  # 60 strings of 10 KB of each stress kind, the kinds taken in turn
    specs = [(kind, seed) for seed in range(60) for kind in workloads.STRESS]
elif task.startswith("stress-"):  # 300 strings of 10 KB of one stress kind, one call each
    specs = [(task[len("stress-"):], seed) for seed in range(300)]
if specs:
    texts = [workloads.stress(kind, 10_000, seed) for kind, seed in specs]
elif task == "lines" or task.startswith("jsonl-lines"):
    texts = workloads.lines(200_000)
else:
    texts = workloads.corpus()
mb = sum(len(t.encode()) for t in texts) / 1e6
path = {tokenizer!r}
tok = llamatok.Tokenizer.from_file(path)
best = 0.0
ids = [tok.encode(t) for t in texts] if task == "decode" else None
slices, size = [[]], 0
for t in texts:
    if size >= 4 << 20:
        slices.append([])
        size = 0
    slices[-1].append(t)
    size += len(t.encode())
if task.startswith("jsonl"):
    import json, os, tempfile
    import llamatok.preprocess as pp
    tmp = tempfile.mkdtemp()
    jsonl = os.path.join(tmp, "corpus.jsonl")
    with open(jsonl, "w", encoding="utf-8") as f:
        f.writelines(json.dumps({{"text": t}}) + "\n" for t in texts)
for _ in range({passes}):
    if task.startswith("jsonl"):
        extra = {{"-fim": {{"fim_rate": 0.5}}, "-dedup": {{"dedup": "exact"}}}}.get(task[task.rfind("-"):], {{}})
        summary = pp.run(jsonl, os.path.join(tmp, "out"), tokenizer=path, quiet=True, append_eod=True, **extra)
        best = max(best, mb / summary["seconds"])
        continue
    if task != "decode":
        tok = llamatok.Tokenizer.from_file(path)  # a cold chunk cache every pass
    if task == "warm":
        [tok.encode(t) for t in texts]
    [tok.encode(t) for t in untimed]
    if {fresh}:  # the same strings, each made anew right before its call; only the call timed
        took = 0.0
        for kind, seed in specs:
            t = workloads.stress(kind, 10_000, seed)
            start = time.perf_counter()
            tok.encode(t)
            took += time.perf_counter() - start
        best = max(best, mb / took)
        continue
    start = time.perf_counter()
    if task == "decode":
        [tok.decode(i) for i in ids]
    elif task in ("encode", "warm", "lines") or task.startswith("stress-"):
        kept = [tok.encode(t) for t in texts]
    elif task == "batch":
        tok.encode_batch_flat(texts, dtype="uint16")
    else:  # "batches": in the slices of about 4 MB that llamatok preprocess hands the core
        for part in slices:
            tok.encode_batch_flat(part, dtype="uint16")
    best = max(best, mb / (time.perf_counter() - start))
print(best)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="folder holding the llamatok package to compare with")
    ap.add_argument("--after", default=str(HERE.parent / "python"), help="folder holding the new build")
    stress = [f"stress-{kind}" for kind in [*workloads.STRESS, "mixed", "after-base64"]]
    jsonl = [f"{name}{option}" for name in ("jsonl", "jsonl-lines") for option in ("", "-fim", "-dedup")]
    tasks = ["decode", "encode", "warm", "batch", "batches", *jsonl, "lines", *stress]
    ap.add_argument("--task", choices=tasks, default="decode")
    ap.add_argument("--runs", type=int, default=5, help="processes per build")
    ap.add_argument("--passes", type=int, default=5, help="passes per process (the best is kept)")
    ap.add_argument("--fresh", action="store_true",
                    help="stress tasks: each string made right before its call (compare.py's way), only the call timed")
    ap.add_argument("--tokenizer", default=os.environ.get("LLAMATOK_FIXTURES", str(HERE.parent.parent / "shared" /
                                                                                  "fixtures"))
                    + "/codellama-7b-hf/tokenizer.json")
    args = ap.parse_args()
    if args.fresh and not args.task.startswith("stress-"):
        ap.error(f"--fresh makes stress strings anew; task {args.task} has none")
    code = TASK.format(benches=str(HERE), tokenizer=args.tokenizer, task=args.task, passes=args.passes,
                       fresh=args.fresh)
    results: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.runs):
        for name, folder in (("before", args.before), ("after", args.after)):
            env = {**os.environ, "PYTHONPATH": folder}
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            results[name].append(float(proc.stdout))
    for name, runs in results.items():
        print(f"{name:7} {args.task} MB/s: {' '.join(f'{r:.0f}' for r in runs)}  median {statistics.median(runs):.0f}")
    ratio = statistics.median(results["after"]) / statistics.median(results["before"])
    print(f"after / before (medians): {ratio:.2f}")
    # The VM's speed drifts over seconds, moving both builds of a pair together: the ratio within each
    # pair of neighbouring runs is the steadier figure.
    paired = statistics.median(a / b for a, b in zip(results["after"], results["before"]))
    print(f"after / before (median of the {args.runs} paired ratios): {paired:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
