"""What each ``--format`` writer costs next to the core's batch encode of the same corpus (a cold
pass on all cores, as preprocessing encodes each document once), in the two layouts, each writer's
seconds divided by the core's:

- single file (the default): ``llamatok.preprocess.run`` with ``formats=[FORMAT]``, its ``finish``
  step timed: the format's files written from the work folder's ids after the last document is
  encoded, fsync'd and renamed (what a run spends on the format beyond encoding);
- shards: the corpus' ids fed to each shard writer in batches of about 4 MB of text (as the
  pipeline's writer thread feeds them) and the files closed, every file through
  ``storage.AtomicWriter`` with its SHA-256 for the manifest, fsync and rename.

Each is measured twice over: wall-clock seconds (what the writer adds to a run where nothing else
waits for it), and CPU seconds of the whole process (``getrusage``: every thread's, so the core's two
encoding threads and Parquet's compression threads count), which is what a writer takes from the
encoding on a machine whose cores are all busy encoding, with the kernel's part of it (system time).
The issue asks for less than 10% per format. Used by preprocess_bench.py (``--writers``)."""

from __future__ import annotations

import io
import os
import resource
import shutil
import time
from typing import Any

import numpy as np

BATCH_BYTES = 4 << 20
#: Parquet's codecs measured besides the default zstd (``--parquet-compression``).
OTHER_PARQUET_CODECS = ("snappy", "none")


def _cpu() -> tuple[float, float]:
    """The process' CPU seconds so far: all of it, and the kernel's part (system time: writing to the page
    cache, starting writeback, fsync)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_stime


def _timed(took: list[tuple[float, float, float]], call: Any, *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``'s result; appends to ``took`` its ``(wall, cpu, kernel cpu)`` seconds, also
    when it raises."""
    start, (cpu, kernel) = time.perf_counter(), _cpu()
    try:
        return call(*args, **kwargs)
    finally:
        wall = time.perf_counter() - start
        cpu_after, kernel_after = _cpu()
        took.append((wall, cpu_after - cpu, kernel_after - kernel))


def _turn(names: list[str], r: int) -> list[str]:
    """The writers in round ``r``'s order: each round starts one further on, so no writer always runs first
    after the encoding, or right after the same other one."""
    k = r % len(names)
    return names[k:] + names[:k]


def _best(runs: list[tuple[float, float, float]]) -> dict[str, float]:
    """Of ``(wall, cpu, kernel cpu)`` runs: the least wall-clock seconds, the least CPU seconds and that
    run's kernel part."""
    cpu, kernel = min((c, k) for _, c, k in runs)
    return {"seconds": min(w for w, _, _ in runs), "cpu_seconds": cpu, "kernel_cpu_seconds": kernel}


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

    core_runs, core_cpu = [], []
    for _ in range(repeat):
        # A cold pass, as preprocessing encodes each document once: a fresh tokenizer (empty chunk cache)
        # every run, its loading not timed.
        tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(tokenizer)
        start, cpu = time.perf_counter(), time.process_time()
        ids_buf, off_buf = tok.backend_tokenizer.encode_batch_flat(texts, "literal", True, None, "uint16")
        core_runs.append(time.perf_counter() - start)
        core_cpu.append(time.process_time() - cpu)
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

    def parquet(codec: str) -> Any:
        def run(base: str) -> None:
            out = ParquetDocuments(base + ".parquet", ["text"], compression=codec)
            for i, n in batches:
                out.add([i], [n])
            out.close()
        return run

    def trainer(fmt: str) -> Any:
        def run(base: str) -> None:
            w = make_writer(fmt, base, spec, lambda name: None)
            for i, n in batches:
                w.add(i, n)
            w.close()
        return run

    writers: dict[str, Any] = {"megatron": megatron, "parquet": parquet("zstd"),
                               **{f"parquet {c}": parquet(c) for c in OTHER_PARQUET_CODECS},
                               **{f: trainer(f) for f in WRITERS}}
    results: dict[str, Any] = {"core_seconds": core, "core_cpu_seconds": min(core_cpu), "tokens": int(len(ids)),
                               "documents": len(texts), "runs": repeat, "formats": {}}
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in writers}
    for r in range(repeat):  # interleaved, so that the machine's other load falls on every writer alike
        for name in _turn(list(writers), r):
            out = os.path.join(folder, f"{name}-{r}")
            os.makedirs(out)
            os.sync()  # what earlier runs left dirty is not flushed by this one's fsync
            _timed(runs[name], writers[name], os.path.join(out, "shard"))
            # Deleted, so that each run meets the page cache as the others do: in rounds that kept their files,
            # the kernel's part of every writer's CPU grew round by round (benches/results/notes.md, session 36).
            shutil.rmtree(out)

    def ratios(best: dict[str, float]) -> dict[str, float]:
        return {**best, "ratio_to_core": best["seconds"] / core,
                "cpu_ratio_to_core": best["cpu_seconds"] / results["core_cpu_seconds"],
                "kernel_cpu_ratio_to_core": best["kernel_cpu_seconds"] / results["core_cpu_seconds"]}

    results["formats"] = {name: ratios(_best(r)) for name, r in runs.items()}
    results["single_file"] = {name: ratios(best)
                              for name, best in measure_finish(tokenizer, texts, folder, repeat).items()}
    return results


def measure_finish(tokenizer: str, texts: list[str], folder: str, repeat: int = 3) -> dict[str, Any]:
    """What a single-file run (the default layout) spends finishing each format: ``llamatok.preprocess.run``
    on the texts with ``formats=[FORMAT]``, timing its ``finish`` step (everything after the last
    document is encoded: the format's files written from the work folder's ids, fsync'd and renamed,
    the summary, the work folder removed). The encoding before it is the same for every format."""
    import llamatok.preprocess as pp
    from llamatok.preprocess import job
    from llamatok.preprocess.writers import WRITERS

    finish = job.finish
    took: list[tuple[float, float, float]] = []

    def timed_finish(*args: Any, **kwargs: Any) -> Any:
        return _timed(took, finish, *args, **kwargs)

    # Each row: its name, and the run's formats and options.
    formats = {"megatron": {"formats": ["megatron"]}, "parquet": {"formats": ["parquet"]},
               **{f"parquet {c}": {"formats": ["parquet"], "parquet_compression": c} for c in OTHER_PARQUET_CODECS},
               **{f: {"formats": [f]} for f in WRITERS}}
    runs: dict[str, list[tuple[float, float, float]]] = {f: [] for f in formats}
    job.finish = timed_finish  # type: ignore[assignment]
    try:
        for r in range(repeat):  # interleaved and turned, as in measure()
            for fmt in _turn(list(formats), r):
                out = os.path.join(folder, f"run-{fmt.replace(' ', '-')}-{r}")
                os.makedirs(out)
                os.sync()
                pp.run(texts=texts, output_prefix=os.path.join(out, "out"), tokenizer=tokenizer,
                       append_eod=True, quiet=True, **formats[fmt])
                runs[fmt].append(took.pop())
                shutil.rmtree(out)
    finally:
        job.finish = finish  # type: ignore[assignment]
    return {name: _best(times) for name, times in runs.items()}


def markdown(results: dict[str, Any], short: dict[str, Any] | None = None) -> str:
    """benches/results/writers.md: how it was measured, and the table (a second one for ``short``, the same
    measurement on a corpus of short documents)."""
    rows = ["# What each `--format` writer costs next to the core", "",
            f"`python benches/preprocess_bench.py --writers-only --repeat {results['runs']} --json "
            "benches/results/writers.json`: the corpus "
            "encoded by `encode_batch_flat` (texts in memory, all cores, a fresh tokenizer each run: a cold pass, as "
            "preprocessing encodes each document once). Single file (the default layout): `preprocess.run` with "
            "that one format, its finishing step timed (the format's files written from the work folder's ids, "
            "fsync'd, renamed). Shards: the same ids fed to each shard writer in 4 MB batches and the files closed "
            "(SHA-256 for the manifest, fsync, rename through `storage.AtomicWriter`). Each against the core in "
            "wall-clock seconds and in CPU seconds (the process' CPU time, every thread's: what a writer takes "
            "from the encoding when every core is busy encoding), and the kernel's part of that CPU time "
            "(system time: copying into the page cache, starting writeback, fsync), which moves a lot between "
            "runs on this VM (`benches/results/notes.md`, sessions 19 and 36). Best of the runs, interleaved in an "
            "order turned each round, each run's files deleted once it is timed. Raw numbers: "
            "`writers.json`.", "",
            "## The standard library's files (a document per file)", "", *_table(results)]
    if short is not None:
        rows += ["", "## Short documents (each line of 30-60 characters of those files a document)", "",
                 "What a writer spends per document (its boundaries, its index entry, its row) weighs more here.",
                 "", *_table(short)]
    return "\n".join(rows) + "\n"


def _table(results: dict[str, Any]) -> list[str]:
    rows = [f"Core `encode_batch_flat`: {results['core_seconds']:.3f} s wall, "
            f"{results['core_cpu_seconds']:.3f} s CPU ({results['documents']:,} documents, {results['tokens']:,} ids).",
            "",
            "| format | single file: seconds | vs core | CPU vs core | of it kernel | shards: seconds | vs core | "
            "CPU vs core | of it kernel |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    single = results.get("single_file", {})

    def cells(r: dict[str, Any] | None) -> str:
        if r is None:
            return "- | - | - | -"
        return (f"{r['seconds']:.3f} | {r['ratio_to_core']:.1%} | {r['cpu_ratio_to_core']:.1%} | "
                f"{r['kernel_cpu_ratio_to_core']:.1%}")

    for name, r in results["formats"].items():
        rows.append(f"| {name} | {cells(single.get(name))} | {cells(r)} |")
    return rows


def report(results: dict[str, Any]) -> str:
    out = io.StringIO()
    out.write(f"core encode_batch_flat: {results['core_seconds']:.3f} s, CPU {results['core_cpu_seconds']:.3f} s\n")
    out.write(f"{'format':<16}{'single file':>12}{'vs core':>9}{'CPU':>8}{'kernel':>8}"
              f"{'shards':>9}{'vs core':>9}{'CPU':>8}{'kernel':>8}\n")
    nan = float("nan")
    single = results.get("single_file", {})
    for name, r in results["formats"].items():
        one = single.get(name, {"seconds": nan, "ratio_to_core": nan, "cpu_ratio_to_core": nan,
                                "kernel_cpu_ratio_to_core": nan})
        out.write(f"{name:<16}{one['seconds']:>12.3f}{one['ratio_to_core']:>9.2%}{one['cpu_ratio_to_core']:>8.1%}"
                  f"{one['kernel_cpu_ratio_to_core']:>8.1%}{r['seconds']:>9.3f}{r['ratio_to_core']:>9.2%}"
                  f"{r['cpu_ratio_to_core']:>8.1%}{r['kernel_cpu_ratio_to_core']:>8.1%}\n")
    return out.getvalue()
