"""What each ``--format`` writer costs next to the core's batch encode of the same corpus (a cold
pass on all cores, as preprocessing encodes each document once): the corpus is encoded, then its
ids are fed to every writer in batches of about 4 MB of text (as the pipeline feeds them) and the
files closed; each writer's seconds are divided by the core's.
The issue asks for less than 10% per format. Every writer goes through the same
``storage.AtomicWriter`` (SHA-256 of the bytes, fsync, rename), Megatron's as a shard writes it, so
the rows differ by what each format adds. Used by preprocess_bench.py (``--writers``)."""

from __future__ import annotations

import io
import os
import time
from typing import Any

import numpy as np

BATCH_BYTES = 4 << 20


def _batches(texts: list[str]) -> list[tuple[int, int]]:
    out, start, size = [], 0, 0
    for i, t in enumerate(texts):
        size += len(t)
        if size >= BATCH_BYTES:
            out.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(texts):
        out.append((start, len(texts)))
    return out


def measure(tokenizer: str, texts: list[str], folder: str, repeat: int = 3) -> dict[str, Any]:
    import llamatok
    from llamatok.preprocess import storage
    from llamatok.preprocess.megatron import write_index
    from llamatok.preprocess.parquet_out import ParquetDocuments
    from llamatok.preprocess.writers import WRITERS, WriterSpec, make_writer

    core_runs = []
    for _ in range(repeat):
        # A cold pass, as preprocessing encodes each document once: a fresh tokenizer (empty chunk cache)
        # every run, its loading not timed.
        tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(tokenizer)
        start = time.perf_counter()
        ids_buf, off_buf = tok.backend_tokenizer.encode_batch_flat(texts, "literal", True, None, "uint16")
        core_runs.append(time.perf_counter() - start)
    core = min(core_runs)
    ids = np.frombuffer(ids_buf, np.uint16)
    offsets = np.frombuffer(off_buf, np.uint64).astype(np.int64)
    lengths = np.diff(offsets)
    batches = [(ids[offsets[a]:offsets[b]], lengths[a:b]) for a, b in _batches(texts)]
    spec = WriterSpec("uint16", tok.eos_token_id, tokenizer)

    def megatron(base: str) -> None:  # as a shard writes it: AtomicWriter (SHA-256, fsync, rename)
        with storage.AtomicWriter(base + ".bin") as f:
            for i, _ in batches:
                f.write(i)
            f.commit()
        with storage.AtomicWriter(base + ".idx") as f:
            write_index(f, lengths.astype(np.int32), np.uint16)  # type: ignore[arg-type]
            f.commit()

    def parquet(base: str) -> None:
        out = ParquetDocuments(base + ".parquet", ["text"])
        for i, n in batches:
            out.add([i], [n])
        out.close()

    def trainer(fmt: str) -> Any:
        def run(base: str) -> None:
            w = make_writer(fmt, base, spec, lambda name: None)
            for i, n in batches:
                w.add(i, n)
            w.close()
        return run

    writers: dict[str, Any] = {"megatron": megatron, "parquet": parquet, **{f: trainer(f) for f in WRITERS}}
    results: dict[str, Any] = {"core_seconds": core, "tokens": int(len(ids)), "formats": {}}
    runs: dict[str, list[float]] = {name: [] for name in writers}
    for r in range(repeat):  # interleaved, so that the machine's other load falls on every writer alike
        for name, write in writers.items():
            base = os.path.join(folder, f"{name}-{r}")
            start = time.perf_counter()
            write(base)
            runs[name].append(time.perf_counter() - start)
    for name, times in runs.items():
        results["formats"][name] = {"seconds": min(times), "ratio_to_core": min(times) / core}
    return results


def markdown(results: dict[str, Any]) -> str:
    """benches/results/writers.md: how it was measured, and the table."""
    rows = ["# What each `--format` writer costs next to the core", "",
            "`python benches/preprocess_bench.py --writers-only --json benches/results/writers.json`: the corpus "
            "encoded by `encode_batch_flat` (texts in memory, all cores, a fresh tokenizer each run: a cold pass, as "
            "preprocessing encodes each document once), then the same ids fed to each writer in 4 MB "
            "batches and the files closed (SHA-256, fsync, rename through `storage.AtomicWriter`); best of the "
            "runs, interleaved. Raw numbers: `writers.json`.", "",
            "| writer | seconds | vs core batch encode |", "|---|---:|---:|",
            f"| core `encode_batch_flat` | {results['core_seconds']:.3f} | 100% |"]
    rows += [f"| {name} | {r['seconds']:.3f} | {r['ratio_to_core']:.1%} |" for name, r in results["formats"].items()]
    return "\n".join(rows) + "\n"


def report(results: dict[str, Any]) -> str:
    out = io.StringIO()
    out.write(f"{'writer (same ids, 4 MB batches)':<36}{'seconds':>9}{'vs core':>9}\n")
    out.write(f"{'core encode_batch_flat':<36}{results['core_seconds']:>9.3f}{1:>9.2%}\n")
    for name, r in results["formats"].items():
        out.write(f"{name:<36}{r['seconds']:>9.3f}{r['ratio_to_core']:>9.2%}\n")
    return out.getvalue()
