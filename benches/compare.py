"""llamatok against sentencepiece, HF tokenizers (two releases), fastokens, gigatoken, tuetoken and splintr,
side by side.

    pip install '.[bench]'                     # llamatok and every peer at the versions measured, matplotlib
    python benches/compare.py                  # the full comparison, about 12 minutes on 2 cores
    python benches/compare.py --quick          # one repetition, a quarter of the corpus
    python benches/compare.py --peers llamatok,gigatoken

Every (library, task) runs in a fresh Python process, so "cold" means what a dataset job sees:
each input encoded once, no cache warmed by an earlier pass. Each task is repeated (--repeat,
default 3; sentencepiece and tokenizers, an order of magnitude slower, once) and the median is
reported. Throughput is input UTF-8 bytes per wall-clock second;
ratios are against llamatok measured in the same run. Every library's ids are also compared with
llamatok's (the "same ids" column), since a fast wrong answer is worth nothing.

tokenizers runs twice: the release the `bench` extra installs (transformers 4.57's, 0.22) and the latest
(0.23), which this script installs on first use into benches/.peers/ (``pip install --target``) and puts
first on that peer's path only. A peer that is not installed (or cannot install here) is reported as such
and left out of the table.

Writes benches/results/compare.json, compare.md and compare.png (the README shows them).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from array import array
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402
import workloads  # noqa: E402

FIXTURES = Path(os.environ.get("LLAMATOK_FIXTURES", ROOT.parent / "shared" / "fixtures"))
JSON_PATH = FIXTURES / "codellama-7b-hf" / "tokenizer.json"
MODEL_PATH = FIXTURES / "llama2-tokenizer.model"
ALL_PEERS = ["llamatok", "sentencepiece", "tokenizers", "tokenizers-0.23", "fastokens", "gigatoken", "tuetoken",
             "splintr"]
#: Measured once rather than --repeat times: they are 10-40x behind, and they take most of the time.
SLOW_PEERS = {"sentencepiece", "tokenizers", "tokenizers-0.23"}
SIDE_DIR = HERE / ".peers"
#: The worker's exit status when its peer cannot be imported.
UNAVAILABLE = 3
STRESS_SIZES = {"10KB": 10_000, "1MB": 1_000_000}


def digest(ids: list[int]) -> str:
    return hashlib.sha1(array("I", ids).tobytes()).hexdigest()[:16]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- tasks: each runs in its own process and prints one JSON object ---------------------------


def corpus_share(fraction: float) -> list[str]:
    """The first ``fraction`` of the corpus' files (at least one)."""
    texts = workloads.corpus()
    return texts[: max(1, int(len(texts) * fraction))]


def task_corpus(peer: peers.Peer, fraction: float) -> dict[str, Any]:
    """One call per file: a cold pass, then a warm pass, then decoding one call per file, then
    decoding all files in one batch call."""
    texts = corpus_share(fraction)
    size = sum(len(t.encode()) for t in texts)
    gc.collect()
    before = rss_bytes()
    t0 = time.perf_counter()
    cold = [peer.encode(t) for t in texts]
    t1 = time.perf_counter()
    held = rss_bytes() - before
    warm = [peer.encode(t) for t in texts]
    t2 = time.perf_counter()
    out: dict[str, Any] = {
        "bytes": size,
        "cold_s": t1 - t0,
        "warm_s": t2 - t1,
        "rss_ids_bytes": held,
        "digests": [digest(peer.ids_of(r)) for r in cold],
    }
    tokens = sum(len(peer.ids_of(r)) for r in cold)
    out["tokens"] = tokens
    del warm
    if peer.decode is not None:
        t3 = time.perf_counter()
        decoded = [peer.decode(r) for r in cold]
        t4 = time.perf_counter()
        out["decode_s"] = t4 - t3
        as_text = [d.decode("utf-8", "replace") if isinstance(d, bytes) else d for d in decoded]
        out["decode_mismatches"] = sum(a != b for a, b in zip(as_text, texts))
        del decoded, as_text
    if peer.decode_batch is not None:
        t5 = time.perf_counter()
        decoded = peer.decode_batch(cold)
        t6 = time.perf_counter()
        out["decode_batch_s"] = t6 - t5
        out["decode_batch_mismatches"] = sum(a != b for a, b in zip(decoded, texts)) + abs(len(decoded) - len(texts))
    return out


def task_documents(peer: peers.Peer, fraction: float) -> dict[str, Any]:
    """``task_corpus``' two passes with the library's optional document cache turned on (llamatok's
    ``with_document_cache()``; gigatoken's is always on, so its corpus rows already include it)."""
    if peer.with_document_cache is None:
        return {}
    texts = corpus_share(fraction)
    encode = peer.with_document_cache()
    t0 = time.perf_counter()
    cold = [encode(t) for t in texts]
    t1 = time.perf_counter()
    warm = [encode(t) for t in texts]
    t2 = time.perf_counter()
    return {"bytes": sum(len(t.encode()) for t in texts), "cold_s": t1 - t0, "warm_s": t2 - t1,
            "digests": [digest(peer.ids_of(r)) for r in cold], "warm_same": warm == cold}


def task_batch(peer: peers.Peer, fraction: float) -> dict[str, Any]:
    """All files in one batch call on all cores, cold."""
    if peer.encode_batch is None:
        return {}
    texts = corpus_share(fraction)
    size = sum(len(t.encode()) for t in texts)
    gc.collect()
    before = rss_bytes()
    t0 = time.perf_counter()
    result = peer.encode_batch(texts)
    t1 = time.perf_counter()
    held = rss_bytes() - before
    ids = peer.batch_ids(result)
    return {"bytes": size, "batch_s": t1 - t0, "rss_batch_bytes": held, "digests": [digest(i) for i in ids]}


def task_batch_one_thread(peer: peers.Peer, fraction: float) -> dict[str, Any]:
    """The batch call of ``task_batch`` on one thread, cold (its own process): the scaling row divides
    the two."""
    if peer.encode_batch_threads is None:
        return {}
    texts = corpus_share(fraction)
    size = sum(len(t.encode()) for t in texts)
    t0 = time.perf_counter()
    peer.encode_batch_threads(texts, 1)
    return {"bytes": size, "batch1_s": time.perf_counter() - t0}


def task_lines(peer: peers.Peer, fraction: float) -> dict[str, Any]:
    """Short lines of code, one call each, results kept (as a caller would)."""
    lines = workloads.lines(max(1000, int(200_000 * fraction)))
    t0 = time.perf_counter()
    kept = [peer.encode(line) for line in lines]
    t1 = time.perf_counter()
    return {"calls": len(lines), "bytes": sum(len(x.encode()) for x in lines), "lines_s": t1 - t0,
            "digest": digest([i for r in kept for i in peer.ids_of(r)])}


def task_stress(peer: peers.Peer, fraction: float) -> dict[str, Any]:
    """Stress strings, one call each, a distinct string every time."""
    out: dict[str, Any] = {}
    for kind in workloads.STRESS:
        for label, size in STRESS_SIZES.items():
            # 100 strings at 10 KB: 20 (2-8 ms of timed work) gave run-to-run spreads of 2x.
            count = 100 if size < 100_000 else 4
            total_s, total_bytes, digests = 0.0, 0, []
            for seed in range(count):
                text = workloads.stress(kind, size, seed)
                t0 = time.perf_counter()
                ids = peer.encode(text)
                total_s += time.perf_counter() - t0
                total_bytes += len(text.encode())
                digests.append(digest(peer.ids_of(ids)))
            out[f"{kind}@{label}"] = {"bytes": total_bytes, "s": total_s, "digests": digests}
    return out


TASKS = {"corpus": task_corpus, "documents": task_documents, "batch": task_batch, "batch1": task_batch_one_thread,
         "lines": task_lines, "stress": task_stress}


def worker(peer_name: str, task: str, fraction: float) -> None:
    try:
        peer = peers.load(peer_name, str(JSON_PATH), str(MODEL_PATH))
    except ImportError as e:
        print(f"{peer_name} is not installed ({e}); pip install '.[bench]' installs every peer", file=sys.stderr)
        sys.exit(UNAVAILABLE)
    # One tiny call first, for every library alike: lazy one-time setup is loading, not encoding.
    peer.encode("x")
    result = TASKS[task](peer, fraction)
    result["version"] = peer.version
    print(json.dumps(result))


# -- orchestration ------------------------------------------------------------------------------


class Unavailable(Exception):
    """A peer that is not installed, or cannot be installed on this machine."""


def side_path(peer: str) -> Path:
    """The folder holding another release of a library for `peer` (peers.SIDE_VERSIONS), installed on first use."""
    package, requirement = peers.SIDE_VERSIONS[peer]
    folder = SIDE_DIR / requirement.replace("==", "-")
    if not (folder / package).is_dir():
        print(f"installing {requirement} into {folder} (once) for {peer}", file=sys.stderr)
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                               str(folder), requirement], capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise Unavailable(f"pip could not install {requirement} here: {last}")
    return folder


def run_worker(peer: str, task: str, fraction: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", peer, task, "--fraction", str(fraction)]
    env = dict(os.environ)
    if peer in peers.SIDE_VERSIONS:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(side_path(peer)), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode == UNAVAILABLE:
        raise Unavailable(proc.stderr.strip().splitlines()[-1])
    if proc.returncode != 0:
        raise RuntimeError(f"{peer}/{task} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def summarize(raw: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    """Per peer: MB/s (or µs per call) for each measurement, medians over the repetitions."""
    table: dict[str, dict[str, Any]] = {}
    # Runs that failed (recorded as {}) are left out; a task with no run at all is left out.
    raw = {n: {t: [r for r in runs if r] for t, runs in tasks.items()} for n, tasks in raw.items()}
    raw = {n: {t: runs for t, runs in tasks.items() if runs} for n, tasks in raw.items()}
    raw = {n: tasks for n, tasks in raw.items() if {"corpus", "lines", "stress"} <= set(tasks)}
    reference = raw["llamatok"]
    for name, tasks in raw.items():
        row: dict[str, Any] = {"version": tasks["corpus"][0]["version"]}
        c = tasks["corpus"]
        mb = c[0]["bytes"] / 1e6
        row["corpus cold MB/s"] = mb / median_of(c, "cold_s")
        row["corpus warm MB/s"] = mb / median_of(c, "warm_s")
        if "decode_s" in c[0]:
            row["decode MB/s"] = mb / median_of(c, "decode_s")
            row["decode mismatches"] = c[0]["decode_mismatches"]
        if "decode_batch_s" in c[0]:
            row["decode batch MB/s"] = mb / median_of(c, "decode_batch_s")
            row["decode batch mismatches"] = c[0]["decode_batch_mismatches"]
        row["ids memory MiB (lists)"] = median_of(c, "rss_ids_bytes") / 2**20
        row["same ids (corpus)"] = sum(a == b for a, b in zip(c[0]["digests"], reference["corpus"][0]["digests"]))
        row["corpus files"] = len(c[0]["digests"])
        d = tasks.get("documents", [{}])
        if "cold_s" in d[0]:
            dmb = d[0]["bytes"] / 1e6
            row["document cache on: cold (MB/s)"] = dmb / median_of(d, "cold_s")
            row["document cache on: warm (MB/s)"] = dmb / median_of(d, "warm_s")
            row["same ids (document cache)"] = all(r["warm_same"] for r in d) and sum(
                a == b for a, b in zip(d[0]["digests"], reference["corpus"][0]["digests"])) == len(d[0]["digests"])
        b = tasks.get("batch", [{}])
        if "batch_s" in b[0]:
            row["batch MB/s"] = b[0]["bytes"] / 1e6 / median_of(b, "batch_s")
            row["ids memory MiB (batch)"] = median_of(b, "rss_batch_bytes") / 2**20
            row["same ids (batch)"] = sum(a == b2 for a, b2 in zip(b[0]["digests"], reference["corpus"][0]["digests"]))
            b1 = tasks.get("batch1", [{}])
            if "batch1_s" in b1[0]:
                row[f"batch {os.cpu_count()} threads vs 1"] = median_of(b1, "batch1_s") / median_of(b, "batch_s")
        ln = tasks["lines"]
        row["short line µs/call"] = median_of(ln, "lines_s") / ln[0]["calls"] * 1e6
        row["same ids (lines)"] = ln[0]["digest"] == reference["lines"][0]["digest"]
        st = tasks["stress"]
        for key in st[0]:
            if key in ("version",):
                continue
            row[f"{key} MB/s"] = st[0][key]["bytes"] / 1e6 / statistics.median(r[key]["s"] for r in st)
            row[f"{key} same ids"] = st[0][key]["digests"] == reference["stress"][0][key]["digests"]
        table[name] = row
    return table


def print_table(table: dict[str, dict[str, Any]]) -> None:
    names = list(table)
    metrics = [k for k in table["llamatok"] if k.endswith(("MB/s", "µs/call"))]
    width = max(len(m) for m in metrics) + 2
    print("".ljust(width) + "".join(n.rjust(22) for n in names))
    for m in metrics:
        ours = table["llamatok"].get(m)
        cells = []
        for n in names:
            v = table[n].get(m)
            if v is None:
                cells.append("n/a".rjust(22))
                continue
            # Ratio: how many times faster llamatok is than this peer (lower µs is better).
            ratio = (v / ours) if m.endswith("µs/call") else (ours / v)
            cells.append((f"{v:8.1f}" + ("" if n == "llamatok" else f" (x{ratio:5.1f})")).rjust(22))
        print(m.ljust(width) + "".join(cells))
    print()
    for n in names:
        row = table[n]
        checks = [f"corpus {row['same ids (corpus)']}/{row['corpus files']}"]
        if "same ids (batch)" in row:
            checks.append(f"batch {row['same ids (batch)']}/{row['corpus files']}")
        checks.append(f"lines {'same' if row['same ids (lines)'] else 'DIFFERENT'}")
        stress_diff = [k[:-9] for k, v in row.items() if k.endswith(" same ids") and not v]
        checks.append("stress " + ("same" if not stress_diff else "differs on " + ", ".join(stress_diff)))
        for key, label in (("decode mismatches", "decode"), ("decode batch mismatches", "batch decode")):
            if key in row:
                checks.append(f"{label} gives the text back {row['corpus files'] - row[key]}/{row['corpus files']}")
        mem = f"ids held: {row['ids memory MiB (lists)']:.0f} MiB per-file results"
        if "ids memory MiB (batch)" in row:
            mem += f", {row['ids memory MiB (batch)']:.0f} MiB batch result"
        print(f"{n:14s} {row['version']:10s} same ids as llamatok: {'; '.join(checks)}. {mem}")
    print("(x N) = llamatok is N times faster than that library, measured in this run.")
    print(document_cache_note(table).strip())


def markdown(table: dict[str, dict[str, Any]]) -> str:
    """The table as Markdown (for the README): values, and in brackets how many times faster
    llamatok is than that library in this run."""
    names = list(table)
    metrics = [k for k in table["llamatok"] if k.endswith(("MB/s", "µs/call"))]
    lines = ["| measurement | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for m in metrics:
        ours = table["llamatok"][m]
        cells = []
        for n in names:
            v = table[n].get(m)
            if v is None:
                cells.append("n/a")
            elif n == "llamatok":
                cells.append(f"**{v:.1f}**")
            else:
                ratio = (v / ours) if m.endswith("µs/call") else (ours / v)
                cells.append(f"{v:.1f} (×{ratio:.1f})")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    versions = ", ".join(f"{n} {table[n]['version']}" for n in names)
    scaling = [f"{k.removeprefix('batch ').removesuffix(' vs 1')}: ×{v:.2f} the one-thread batch"
               for k, v in table["llamatok"].items() if k.endswith("threads vs 1")]
    notes = f"\n\nllamatok's batch on {scaling[0]} (each cold, in its own process)." if scaling else ""
    notes += document_cache_note(table)
    return "\n".join(lines) + f"{notes}\n\nVersions: {versions}.\n"


def document_cache_note(table: dict[str, dict[str, Any]]) -> str:
    """The corpus passes of llamatok with its document cache on, against gigatoken (whose cache is on)."""
    ours = table["llamatok"]
    if "document cache on: warm (MB/s)" not in ours:
        return ""
    cold, warm = ours["document cache on: cold (MB/s)"], ours["document cache on: warm (MB/s)"]
    same = "the same ids" if ours["same ids (document cache)"] else "DIFFERENT ids"
    text = (f"\n\nllamatok with its document cache on (`Tokenizer.with_document_cache()`, off by default; its own "
            f"process): corpus cold {cold:.1f} MB/s, warm {warm:.1f} MB/s, {same}")
    giga = table.get("gigatoken")
    if giga:
        text += (f" (×{cold / giga['corpus cold MB/s']:.1f} and ×{warm / giga['corpus warm MB/s']:.1f} gigatoken's "
                 "cold and warm passes, its document cache always on)")
    return text + "."


def chart(table: dict[str, dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart written (pip install matplotlib)")
        return
    metrics = [k for k in table["llamatok"]
               if k.endswith("MB/s") and (k.startswith(("corpus", "batch", "decode")) or "@1MB" in k)]
    names = list(table)
    fig, ax = plt.subplots(figsize=(12, 5))
    w = 0.8 / len(names)
    for i, n in enumerate(names):
        vals = [table[n].get(m) or 0 for m in metrics]
        ax.bar([x + i * w for x in range(len(metrics))], vals, w, label=n)
    ax.set_xticks([x + 0.4 - w / 2 for x in range(len(metrics))])
    ax.set_xticklabels([m.replace(" MB/s", "") for m in metrics], rotation=20, ha="right")
    ax.set_ylabel("MB/s (higher is better)")
    ax.set_yscale("log")
    ax.set_title("Code Llama tokenization on 2 cores: the Python standard library and 1 MB stress strings")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"chart: {path}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", nargs=2, metavar=("PEER", "TASK"), help=argparse.SUPPRESS)
    ap.add_argument("--fraction", type=float, default=1.0, help="share of the corpus to use")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repetition on a quarter of the corpus")
    ap.add_argument("--peers", default=",".join(ALL_PEERS))
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.fraction)
        return 0
    for path in (JSON_PATH, MODEL_PATH):
        if not path.exists():
            print(f"missing {path}: set LLAMATOK_FIXTURES to the fixtures folder", file=sys.stderr)
            return 2
    if args.quick:
        args.repeat, args.fraction = 1, 0.25
    names = [n.strip() for n in args.peers.split(",") if n.strip()]
    if "llamatok" not in names:
        names.insert(0, "llamatok")
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {n: {t: [] for t in TASKS} for n in names}
    unavailable: dict[str, str] = {}
    started = time.time()
    for rep in range(args.repeat):
        for task in TASKS:
            for name in names:
                if name in unavailable or (rep > 0 and name in SLOW_PEERS):
                    continue  # slow peers: an order of magnitude behind, one run ranks them
                try:
                    raw[name][task].append(run_worker(name, task, args.fraction))
                except Unavailable as e:
                    unavailable[name] = str(e)
                    print(f"left out: {e}", file=sys.stderr)
                except RuntimeError as e:
                    print(f"skipping {name}/{task}: {e}", file=sys.stderr)
                    raw[name][task].append({})
        print(f"repetition {rep + 1}/{args.repeat} done after {time.time() - started:.0f}s", file=sys.stderr)
    if "llamatok" in unavailable:
        print("llamatok itself is not importable: pip install '.[bench]' from the repository", file=sys.stderr)
        return 2
    table = summarize(raw)
    print_table(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for why in unavailable.values():
        print(f"not measured: {why}")
    meta = {"cpus": os.cpu_count(), "repeat": args.repeat, "fraction": args.fraction,
            "seconds": time.time() - started, "not measured": unavailable}
    (out / "compare.json").write_text(json.dumps({"meta": meta, "table": table}, indent=1, ensure_ascii=False))
    print(f"json: {out / 'compare.json'}")
    (out / "compare.md").write_text(markdown(table))
    print(f"markdown: {out / 'compare.md'}")
    chart(table, out / "compare.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
