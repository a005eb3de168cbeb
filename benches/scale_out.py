"""The Ray engine on a 3-node cluster against the local engine, on the same machine's cores, in one
run: end-to-end throughput, where the cluster's overhead goes, and what the driver receives.

    python benches/scale_out.py [--tokenizer FOLDER] [--megabytes 150] [--repeat 2] [--s3] [--json out.json]

The corpus is distinct Python code as one JSONL file: the standard library's ``.py`` sources, then
those of the running environment's site-packages, up to ``--megabytes`` (repeated text would be
answered by the tokenizer's chunk cache and flatter the local engine). The cluster
(``ray.cluster_utils.Cluster``, every node on 127.0.0.1) has a head node without CPUs, where the
driver runs as on a real cluster, and two worker nodes of one CPU each: the same two cores the local
engine uses. It is started once, before the timings, as a real cluster is long-lived; each Ray run
does pay for its job's worker processes and their tokenizer loads. Runs are interleaved (local,
local sharded, Ray, ...) so that the machine's drifting speed falls on all of them alike; the best
of ``--repeat`` is kept.

Rows: the local engine's single file; the local engine writing the same shards as the Ray run (the
cost of sharding alone); the Ray engine with local paths in and out; with ``--s3``, the Ray engine
reading from and writing to a SeaweedFS S3 store on this machine (which also runs on these cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every node on 127.0.0.1

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benches"))
sys.path.insert(0, str(ROOT / "tests"))

from preprocess_bench import DEFAULT_TOKENIZER, stdlib_texts  # noqa: E402


def run(inputs: list[str], prefix: str, tokenizer: str, **kw: Any) -> dict[str, Any]:
    import llamatok.preprocess as pp

    start = time.perf_counter()
    summary = pp.run(inputs, prefix, tokenizer=tokenizer, quiet=True, append_eod=True, **kw)
    summary["wall_seconds"] = time.perf_counter() - start
    return summary


def corpus(limit: int) -> list[str]:
    """Distinct code: the standard library, then site-packages, until ``limit`` bytes."""
    import glob
    import sysconfig

    texts = stdlib_texts()
    size = sum(len(t) for t in texts)
    site = sysconfig.get_paths()["purelib"]
    for path in sorted(glob.glob(os.path.join(site, "**", "*.py"), recursive=True)):
        if size >= limit:
            break
        try:
            text = Path(path).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        texts.append(text)
        size += len(text)
    return texts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER),
                    help="tokenizer folder (default: the Code Llama fixture)")
    ap.add_argument("--megabytes", type=float, default=150, help="size of the corpus (MB of code)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each measurement (the best is kept)")
    ap.add_argument("--tasks", type=int, default=16, help="about how many tasks (shards) the Ray run has")
    ap.add_argument("--s3", action="store_true", help="also run the Ray engine from and to a SeaweedFS S3 store")
    ap.add_argument("--json", default=str(ROOT / "benches" / "results" / "scale_out.json"))
    args = ap.parse_args()
    if not Path(args.tokenizer).exists():
        import llamatok

        print(f"{args.tokenizer} is absent: using the DEMO vocabulary (numbers are not Code Llama's)", file=sys.stderr)
        args.tokenizer = str(llamatok.demo_path())
    import ray

    from services import SeaweedS3, ray_cluster, weed_binary

    texts = corpus(int(args.megabytes * 1e6))
    results: dict[str, Any] = {"documents": len(texts), "cores": os.cpu_count(), "tokenizer": args.tokenizer,
                               "corpus": "standard library + site-packages .py files"}
    store = None
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = os.path.join(tmp, "corpus.jsonl")
        with open(jsonl, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}) + "\n")
        results["jsonl_bytes"] = os.path.getsize(jsonl)
        probe = run([jsonl], os.path.join(tmp, "probe"), args.tokenizer)
        shard_tokens = max(1000, probe["tokens"] // args.tasks)
        results["shard_tokens"] = shard_tokens
        cluster, _ = ray_cluster(workers=2)
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        s3_prefix = None
        if args.s3:
            store = SeaweedS3(str(weed_binary()))
            store.wait_ready()
            os.environ.update(store.env)
            base = store.make_bucket("bench")
            store.upload_tree(Path(tmp), f"{base}/in")
            s3_prefix = base
        rows: dict[str, list[dict[str, Any]]] = {}
        try:
            for i in range(args.repeat):
                plan = [("local engine, one file", dict(inputs=[jsonl], prefix=f"{tmp}/local{i}")),
                        ("local engine, same shards",
                         dict(inputs=[jsonl], prefix=f"{tmp}/lsh{i}", shard_tokens=shard_tokens)),
                        ("Ray, 3 nodes, local paths",
                         dict(inputs=[jsonl], prefix=f"{tmp}/ray{i}", shard_tokens=shard_tokens, engine="ray"))]
                if s3_prefix:
                    plan.append(("Ray, 3 nodes, S3 to S3",
                                 dict(inputs=[f"{s3_prefix}/in/corpus.jsonl"], prefix=f"{s3_prefix}/out{i}/code",
                                      shard_tokens=shard_tokens, engine="ray")))
                for name, spec in plan:
                    summary = run(spec.pop("inputs"), spec.pop("prefix"), args.tokenizer, **spec)
                    rows.setdefault(name, []).append(summary)
                    print(f"  {name}: {summary['wall_seconds']:.2f} s wall", file=sys.stderr)
        finally:
            ray.shutdown()
            cluster.shutdown()
            if store is not None:
                store.stop()
    mb = results["jsonl_bytes"] / 1e6
    best = {name: min(runs, key=lambda s: s["wall_seconds"]) for name, runs in rows.items()}
    local = best["local engine, one file"]
    table = []
    for name, s in best.items():
        sharding = s.get("sharding") or {}
        row = {"measurement": name, "wall_seconds": round(s["wall_seconds"], 3),
               "first_run_wall_seconds": round(rows[name][0]["wall_seconds"], 3), "processing_seconds": s["seconds"],
               "mb_per_s": round(mb / s["wall_seconds"], 1),
               "vs_local": round(local["wall_seconds"] / s["wall_seconds"], 2),
               "tasks": sharding.get("tasks"), "shards": sharding.get("shards"),
               "driver_bytes_per_token": (round(sharding["driver_received_bytes"] / s["tokens"], 5)
                                          if sharding.get("driver_received_bytes") and s["engine"] == "ray" else None),
               "driver_bytes_per_shard": (sharding.get("driver_received_bytes_per_shard") if s["engine"] == "ray"
                                          else None),
               "startup_seconds": s["startup_seconds"],
               # The tasks' own time summed, over the two workers: what perfect scheduling would take.
               "task_seconds_per_worker": (round(sharding["task_seconds"] / 2, 3) if s["engine"] == "ray" else None)}
        table.append(row)
    results["rows"] = table
    print(f"{results['documents']} documents, {mb:.1f} MB of JSONL, {results['cores']} cores, "
          f"shards of {shard_tokens:,} tokens; best of {args.repeat}")
    print(f"{'measurement':<30}{'wall s':>8}{'startup':>8}{'tasks/2':>8}{'MB/s':>8}{'vs local':>10}{'tasks':>7}"
          f"{'driver B/token':>16}{'B/shard':>9}")
    for r in table:
        dbt = "" if r["driver_bytes_per_token"] is None else f"{r['driver_bytes_per_token']:.5f}"
        dbs = "" if r["driver_bytes_per_shard"] is None else f"{r['driver_bytes_per_shard']:.0f}"
        busy = "" if r["task_seconds_per_worker"] is None else f"{r['task_seconds_per_worker']:.2f}"
        print(f"{r['measurement']:<30}{r['wall_seconds']:>8.2f}{r['startup_seconds']:>8.2f}{busy:>8}{r['mb_per_s']:>8.1f}"
              f"{r['vs_local']:>10.2f}{r['tasks'] or '':>7}{dbt:>16}{dbs:>9}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    md = Path(args.json).with_suffix(".md")
    lines = [f"{results['documents']} documents ({results['corpus']}), {mb:.1f} MB of JSONL, {results['cores']} cores, "
             f"shards of {shard_tokens:,} tokens, best of {args.repeat} runs (first run in brackets)", "",
             "| measurement | wall s | MB/s | vs local engine | tasks | tasks' time / 2 workers (s) "
             "| driver bytes per shard | per token |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in table:
        lines.append(f"| {r['measurement']} | {r['wall_seconds']:.2f} ({r['first_run_wall_seconds']:.2f}) "
                     f"| {r['mb_per_s']:.1f} | {r['vs_local']:.2f} | {r['tasks'] or ''} "
                     f"| {r['task_seconds_per_worker'] or ''} | {r['driver_bytes_per_shard'] or ''} "
                     f"| {r['driver_bytes_per_token'] or ''} |")
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"results: {args.json}, {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
