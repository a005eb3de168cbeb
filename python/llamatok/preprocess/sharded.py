"""The driver of a sharded run (``--shard-tokens``, and every Ray run).

    plan (plan.py) ─▶ with --dedup, hash tasks find the duplicates (dedup_pass.py) ─▶
    tasks run where they are scheduled (tasks.py; locally or on Ray), each
    writing its shards and record ─▶ the driver gathers the records (metadata only) ─▶ with
    --shuffle-seed or --pack, reorder tasks write the output shards in training order from the
    tasks' shards (reorder.py) ─▶ rejects, manifest, summary ─▶ work folder removed

The driver never sees a token id: what reaches it from a task is the task's record (a few hundred
bytes per shard, whatever the shard's size). A run that stops for any reason keeps every finished
task's shards; ``--resume`` reuses the saved plan and keeps each task whose files still match the
checksums in its record, so the shards, merged, are byte-identical to an uninterrupted run's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from llamatok.preprocess import manifest as manifest_mod
from llamatok.preprocess import storage
from llamatok.preprocess.dedup import DEDUP_METHOD
from llamatok.preprocess.encode import EncodeSpec
from llamatok.preprocess.lock import JobLock
from llamatok.preprocess.options import Options, OptionsError, RejectLimitError
from llamatok.preprocess.plan import FILL, Task, bytes_per_token, plan
from llamatok.preprocess.previous import discard_earlier
from llamatok.preprocess.progress import Progress
from llamatok.preprocess.reorder import plan_tasks, run_reorder_task, sources_of, work_layout
from llamatok.preprocess.sequences import SequenceSpec, summary_section
from llamatok.preprocess.shards import ShardLayout
from llamatok.preprocess.sources import Source
from llamatok.preprocess.summary import build as build_summary
from llamatok.preprocess.tasks import TaskContext, run_task, shard_file

if TYPE_CHECKING:
    from llamatok._native import Tokenizer

OnRecord = Callable[[dict[str, Any], int], None]
#: Batches a task is cut into at least (their size is never under MIN_BATCH_BYTES).
BATCHES_PER_TASK = 8
MIN_BATCH_BYTES = 64 << 10


def _notice(options: Options, message: str) -> None:
    if not options.quiet:
        import sys

        print(f"llamatok preprocess: {message}", file=sys.stderr)


def _read_json(location: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads(storage.read_bytes(location))
        return found
    except FileNotFoundError:
        return None
    except ValueError:
        return None


def _discard_previous(layout: ShardLayout, options: Options) -> None:
    """Removes what an earlier run on this prefix left: its manifest and summary (they describe
    shards about to be overwritten), every shard file they or its task records name, and its work
    folder. Files that the earlier run did not write are never touched."""
    # An earlier single-file run's outputs (its summary names them; the shards are named below).
    discard_earlier(options.output_prefix, options.summary_path, layout.manifest, set(),
                    lambda message: _notice(options, message))
    names: set[str] = set()
    old = _read_json(layout.manifest)
    if old:
        names.update(f["path"] for shard in old.get("shards", []) for f in shard.get("files", []))
    tasks_folder = storage.join(layout.work, "tasks")
    for name in storage.list_names(tasks_folder):
        if name.endswith(".json"):
            record = _read_json(storage.join(tasks_folder, name))
            if record:
                names.update(f["path"] for shard in record.get("shards", []) for f in shard.get("files", []))
    if old or names or storage.exists(layout.work):
        _notice(options, f"replacing the earlier run on {layout.prefix} ({len(names)} shard files)")
    storage.delete(options.summary_path)
    storage.delete(layout.manifest)
    for name in sorted(names):
        storage.delete(shard_file(layout, name))
    storage.delete_tree(layout.work)


def _prepare(options: Options, layout: ShardLayout, core: Tokenizer, spec: EncodeSpec, sources: Sequence[Source],
             fp: str) -> dict[str, Any] | None:
    """The plan to run (the saved one on ``--resume``), or None when the run is already complete."""
    if options.resume:
        done = _read_json(options.summary_path)
        if done and done.get("fingerprint") == fp and storage.exists(layout.manifest):
            return None
        saved = _read_json(layout.plan)
        if saved is not None:
            if saved.get("fingerprint") != fp:
                raise OptionsError(
                    f"--resume: the partial run in {layout.work} was made from other inputs or options "
                    "(or the input files changed); rerun without --resume to start over"
                )
            saved["runs"] = int(saved.get("runs", 1)) + 1
            storage.write_atomic(layout.plan, json.dumps(saved).encode(), layout.tmp("plan.json"))
            _notice(options, f"resuming: {len(saved['tasks'])} tasks, finished ones are kept")
            saved["resume"] = True
            return saved
        _notice(options, "nothing to resume: starting from the beginning")
    _discard_previous(layout, options)
    ratio = bytes_per_token(core, spec, sources, layout.keys)
    target = max(1, int(layout.shard_tokens * ratio * FILL))
    tasks = plan(sources, target)
    saved = {"fingerprint": fp, "bytes_per_token": round(ratio, 4), "target_bytes": target, "runs": 1,
             "tasks": [t.to_json() for t in tasks]}
    storage.make_dirs(layout.work)
    storage.write_atomic(layout.plan, json.dumps(saved).encode(), layout.tmp("plan.json"))
    saved["resume"] = False
    return saved


def execute_locally(core: Tokenizer, ctx: TaskContext, tasks: Sequence[Task], sources: Sequence[Source], resume: bool,
                    on_record: OnRecord, duplicates: Sequence[Any] | None = None) -> None:
    """Runs the tasks one after the other in this process, each on all the encoder's threads."""
    from llamatok.preprocess.tasks import encoded

    for task in tasks:
        record = run_task(core, ctx, task, task.sources(sources), resume,
                          duplicates=None if duplicates is None else duplicates[task.index])
        on_record(record, len(encoded(record)))


class _Records:
    """The records of one pass's tasks as they arrive (by task index), and the bytes the driver
    received; each arrival checks that this job still holds the lock."""

    def __init__(self, count: int, lock: JobLock, what: str) -> None:
        self.records: list[dict[str, Any] | None] = [None] * count
        self.received = 0
        self.lock = lock
        self.what = what

    def __call__(self, record: dict[str, Any], size: int) -> None:
        self.lock.check()
        self.records[record["task"]] = record
        self.received += size

    def all(self) -> list[dict[str, Any]]:
        done = [r for r in self.records if r is not None]
        if len(done) != len(self.records):
            raise RuntimeError(f"{len(self.records) - len(done)} of {len(self.records)} {self.what} returned no record")
        return done


def _find_duplicates(options: Options, ctx: TaskContext, tasks: Sequence[Task], sources: Sequence[Source],
                     resume: bool, lock: JobLock) -> tuple[list[Any], int]:
    """--dedup: the hash pass (dedup_pass.py); per task, the documents to skip, and the bytes the
    driver received."""
    from llamatok.preprocess.dedup_pass import duplicates, run_hash_task
    from llamatok.preprocess.tasks import encoded

    records = _Records(len(tasks), lock, "hash tasks")
    if options.engine == "ray":
        from llamatok.preprocess.ray_engine import execute_hashes_on_ray

        execute_hashes_on_ray(ctx, tasks, sources, resume, options, records)
    else:
        for task in tasks:
            record = run_hash_task(ctx, task, task.sources(sources), resume)
            records(record, len(encoded(record)))
    return duplicates(ctx.layout, records.all()), records.received


def _assemble_rejects(layout: ShardLayout, records: Sequence[dict[str, Any]], tasks: Sequence[Task],
                      sources: Sequence[Source], target: str) -> None:
    """Every task's rejects, in input order, into ``target``; JSONL line numbers made absolute (a
    task that starts inside a file counted lines from its start)."""
    lines_before: dict[int, int] = {}
    with storage.AtomicWriter(target, layout.tmp("rejects.jsonl")) as out:
        for record, task in zip(records, tasks):
            data = storage.read_bytes(layout.task_rejects(task.index)) if record["rejects_file"]["bytes"] else b""
            offsets = {}
            for key, count in record["lines"].items():
                s = int(key)
                relative = s == task.start[0] and task.start[2] < 0
                offsets[s] = lines_before.get(s, 0) if relative else 0
                lines_before[s] = offsets[s] + int(count)
            for raw in data.splitlines():
                reject = json.loads(raw)
                s = reject.pop("_source")
                if "line" in reject and sources[s].kind == "jsonl":
                    reject["line"] += offsets.get(s, 0)
                out.write((json.dumps(reject, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace"))


def run_sharded(options: Options, core: Tokenizer, spec: EncodeSpec, sources: Sequence[Source], fp: str, lock: JobLock,
                *, tokenizer: dict[str, Any], described: dict[str, Any], startup: float,
                sequences: SequenceSpec | None = None) -> dict[str, Any]:
    layout = ShardLayout(options.output_prefix, tuple(options.json_keys), tuple(options.formats), spec.dtype,
                         int(options.shard_tokens or 0), spec.eos_id, str(tokenizer.get("name", "")),
                         options.loss_masks,
                         options.parquet_codec)
    saved = _prepare(options, layout, core, spec, sources, fp)
    if saved is None:
        _notice(options, f"already complete: {options.summary_path}")
        summary: dict[str, Any] = json.loads(storage.read_bytes(options.summary_path))
        return summary
    tasks = [Task.from_json(row) for row in saved["tasks"]]
    threads = 1 if options.engine == "ray" else options.workers
    # A task reads, encodes and writes overlapped (pipeline.py) only when it has several batches.
    batch_bytes = min(options.batch_bytes, max(MIN_BATCH_BYTES, int(saved["target_bytes"]) // BATCHES_PER_TASK))
    reordering = sequences is not None and sequences.active
    task_layout = work_layout(layout) if reordering else layout
    ctx = TaskContext(task_layout, replace(spec, num_threads=threads), batch_bytes, fp)
    records: list[dict[str, Any] | None] = [None] * len(tasks)
    enabled = options.progress if options.progress is not None else Progress.wanted(options.quiet)
    progress = Progress(sum(t.input_bytes for t in tasks) or None, bool(enabled))
    totals = {"documents": 0, "tokens": 0, "input_bytes": 0, "done": 0, "received": 0, "rejected": 0}
    started = time.monotonic()

    def on_record(record: dict[str, Any], received: int) -> None:
        lock.check()
        records[record["task"]] = record
        totals["received"] += received
        totals["documents"] += record["documents"]
        totals["tokens"] += sum(record["tokens"])
        totals["input_bytes"] += record["input_bytes"]
        totals["done"] += tasks[record["task"]].input_bytes
        totals["rejected"] += sum(record["rejected"].values())
        progress.update(totals["documents"], totals["input_bytes"], totals["tokens"], totals["done"])
        if options.max_rejects is not None and totals["rejected"] > options.max_rejects:
            finished = [(r, t) for r, t in zip(records, tasks) if r is not None]
            _assemble_rejects(task_layout, [r for r, _ in finished], [t for _, t in finished], sources,
                              options.rejects_path)
            raise RejectLimitError(
                f"{totals['rejected']} records rejected, more than --max-rejects {options.max_rejects}; they are "
                f"listed in {options.rejects_path} (raise the limit and add --resume to go on from here)"
            )

    try:
        dups = None
        if options.dedup:
            dups, received = _find_duplicates(options, ctx, tasks, sources, bool(saved["resume"]), lock)
            totals["received"] += received
        if options.engine == "ray":
            from llamatok.preprocess.ray_engine import execute_on_ray

            execute_on_ray(core, ctx, tasks, sources, saved["resume"], options, on_record, dups)
        else:
            execute_locally(core, ctx, tasks, sources, saved["resume"], on_record, dups)
    finally:
        progress.close()
    done = [r for r in records if r is not None]
    if len(done) != len(tasks):
        raise RuntimeError(f"{len(tasks) - len(done)} of {len(tasks)} tasks returned no record")
    _assemble_rejects(task_layout, done, tasks, sources, options.rejects_path)
    written, section = done, None
    if reordering:
        assert sequences is not None
        lock.check()
        written, section, received = _reorder(options, layout, task_layout, done, sequences, fp, bool(saved["resume"]),
                                              lock)
        totals["received"] += received
    seconds = time.monotonic() - started
    manifest = manifest_mod.build(layout, written, sources, options=described, tokenizer=tokenizer, fingerprint=fp)
    if section is not None:
        manifest["sequences"] = section
    manifest_mod.write(layout, manifest)
    summary = _summary(options, layout, done, sources, fp, seconds, startup, saved, tokenizer, described,
                       totals["received"], written)
    if section is not None:
        summary["sequences"] = section
    if options.dedup:
        duplicates = int(summary["rejected_by_reason"].get("duplicate", 0))
        summary["dedup"] = {"method": DEDUP_METHOD, "duplicates": duplicates}
    storage.write_atomic(options.summary_path,
                         (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
                         layout.tmp("summary.json"))
    storage.delete_tree(layout.work)
    if summary["rejected"]:
        reasons = ", ".join(f"{n} {r}" for r, n in summary["rejected_by_reason"].items())
        _notice(options, f"{summary['rejected']} records rejected ({reasons}): see {options.rejects_path}")
    return summary


def _reorder(options: Options, layout: ShardLayout, task_layout: ShardLayout, done: Sequence[dict[str, Any]],
             sequences: SequenceSpec, fp: str, resume: bool,
             lock: JobLock) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """The output shards in training order (reorder.py): their records, the summary's ``sequences``
    section, and the bytes the driver received."""
    from llamatok.preprocess.tasks import encoded

    sources, lengths = sources_of(task_layout, done)
    tasks, pieces = plan_tasks(sources, lengths, sequences, layout.shard_tokens, fp)
    records = _Records(len(tasks), lock, "reorder tasks")
    if options.engine == "ray":
        from llamatok.preprocess.ray_engine import execute_reorder_on_ray

        execute_reorder_on_ray(layout, sources, tasks, sequences.pad_id, resume, options, records)
    else:
        for task in tasks:
            record = run_reorder_task(layout, sources, task, sequences.pad_id, resume)
            records(record, len(encoded(record)))
    section = summary_section(sequences, pieces, int(lengths[0].sum()) if lengths else 0)
    return records.all(), section, records.received


def _summary(options: Options, layout: ShardLayout, records: Sequence[dict[str, Any]], sources: Sequence[Source],
             fp: str, seconds: float, startup: float, saved: dict[str, Any], tokenizer: dict[str, Any],
             described: dict[str, Any], received: int, written: Sequence[dict[str, Any]]) -> dict[str, Any]:
    rejected: dict[str, int] = {}
    for r in records:
        for reason, n in r["rejected"].items():
            rejected[reason] = rejected.get(reason, 0) + n
    ran = [r for r in records if not r.get("kept")]
    state = {
        "documents": sum(r["documents"] for r in records),
        "tokens": [sum(r["tokens"][k] for r in records) for k in range(len(layout.keys))],
        "input_bytes": sum(r["input_bytes"] for r in records),
        "rejected": rejected,
        "blank_lines": sum(r["blank_lines"] for r in records),
        "seconds": seconds,
        "fingerprint": fp,
        "runs": saved.get("runs", 1),
    }
    outputs: dict[str, Any] = {"manifest": layout.manifest, "shards": sum(len(r["shards"]) for r in written),
               "rejects": options.rejects_path, "summary": options.summary_path}
    summary = build_summary(state, keys=layout.keys, inputs=[s.name for s in sources], outputs=outputs,
                            tokenizer=tokenizer, options=described, engine=options.engine, startup_seconds=startup)
    if len(ran) != len(records):  # throughput of the work this run did
        ran_bytes = sum(r["input_bytes"] for r in ran)
        ran_docs = sum(r["documents"] for r in ran)
        ran_tokens = sum(sum(r["tokens"]) for r in ran)
        secs = max(seconds, 1e-9)
        summary["throughput"] = {"documents_per_second": round(ran_docs / secs, 1),
                                 "megabytes_per_second": round(ran_bytes / secs / 1e6, 2),
                                 "tokens_per_second": round(ran_tokens / secs)}
    shards = outputs["shards"]
    summary["sharding"] = {
        "shard_tokens": layout.shard_tokens,
        "tasks": len(records),
        "shards": shards,
        "kept_tasks": len(records) - len(ran),
        "retried_tasks": sum(1 for r in ran if r.get("attempt", 1) > 1),
        "bytes_per_token_sampled": saved.get("bytes_per_token"),
        "task_seconds": round(sum(float(r.get("seconds", 0)) for r in ran), 3),
        "driver_received_bytes": received,
        "driver_received_bytes_per_shard": round(received / max(shards, 1), 1),
    }
    return summary
