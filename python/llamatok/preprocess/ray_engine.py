"""The Ray engine: the same job on Ray Data, for corpora bigger than one machine.

The driver cuts the inputs into shards (runs of files of a directory, line-aligned byte ranges of a
plain JSONL file, runs of row groups of a Parquet file, a whole compressed JSONL file), about
``--batch-size`` bytes each. A Ray Data pipeline maps each shard onto an actor that holds the
tokenizer (pickled once into each actor: the core pickles as its source bytes), reads the shard
where the actor runs and tokenizes it there, with the same reader and encoder as the local engine.
Only ids come back. The driver receives the results in shard order (``preserve_order``) and
writes and checkpoints them with the same code as the local engine, so the outputs are
byte-identical to the local engine's: a document's ids depend only on the document, its place in
the input and the options. JSONL line numbers in rejects are made absolute by the driver.

Inputs must be readable at the same paths on every node (a shared file system). Ray is an optional
dependency (``pip install 'llamatok[ray]'``), imported only here.
"""

from __future__ import annotations

import os
import pickle
import warnings
from typing import Any, Dict, List, Sequence, Tuple

from llamatok.preprocess.batches import Cursor, read_range, tokenize
from llamatok.preprocess.committer import Committer
from llamatok.preprocess.encode import EncodeSpec
from llamatok.preprocess.options import Options, OptionsError
from llamatok.preprocess.readers import reader_for
from llamatok.preprocess.sources import Source

Shard = Tuple[int, int, int, int]  # (source index, start position, start line, end position)
END = 1 << 62


def _jsonl_cuts(path: str, start: int, size: int, step: int) -> List[int]:
    """Line starts about ``step`` bytes apart after ``start``."""
    cuts = []
    with open(path, "rb") as f:
        target = start + step
        while target < size:
            f.seek(target - 1)
            f.readline()  # to the end of the line holding byte target - 1
            at = f.tell()
            if at >= size:
                break
            cuts.append(at)
            target = at + step
    return cuts


def shards(sources: Sequence[Source], start: Cursor, step: int) -> List[Shard]:
    """The shards of the work from ``start`` on, in input order."""
    out: List[Shard] = []
    for s in range(start[0], len(sources)):
        src = sources[s]
        pos, line = (start[1], start[2]) if s == start[0] else (0, 0)
        if src.kind == "dir":
            a = pos
            while a < len(src.files):
                b, got = a, 0
                while b < len(src.files) and (got < step or b == a):
                    got += src.sizes[b]
                    b += 1
                out.append((s, a, 0, b))
                a = b
        elif src.kind == "jsonl" and src.compression is None:
            cuts = [pos, *_jsonl_cuts(src.path, pos, os.path.getsize(src.path), step), END]
            for i in range(len(cuts) - 1):
                out.append((s, cuts[i], line if i == 0 else -1, cuts[i + 1]))
        elif src.kind == "jsonl":
            out.append((s, pos, line, END))
        elif src.kind == "parquet":
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(src.path).metadata
            row, a, got = 0, pos, 0
            for g in range(meta.num_row_groups):
                row += meta.row_group(g).num_rows
                if row <= pos:
                    continue
                got += meta.row_group(g).total_byte_size
                if got >= step:
                    out.append((s, a, 0, row))
                    a, got = row, 0
            if a < row:
                out.append((s, a, 0, row))
        else:
            raise OptionsError(f"--engine ray cannot read {src.name} ({src.kind}); pass files or directories")
    return out


class ShardWorker:
    """A Ray actor: loads the tokenizer once, then reads and tokenizes shards."""

    def __init__(self, core: Any, spec: EncodeSpec, keys: Sequence[str], sources: Sequence[Source]) -> None:
        self.core = core  # unpickled once per actor, from the tokenizer's source bytes
        self.spec = spec
        self.keys = tuple(keys)
        self.sources = list(sources)

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        results = []
        for shard in batch["shard"]:
            s, pos, line, end = (int(x) for x in shard)
            reader = reader_for(self.sources[s], self.keys)
            part = read_range(reader, s, pos, max(line, 0), end, len(self.keys))
            results.append(pickle.dumps(tokenize(self.core, part, self.spec), protocol=pickle.HIGHEST_PROTOCOL))
        return {"shard": batch["shard"], "result": results}


def check_available() -> None:
    """Raises a clear ``OptionsError`` when Ray Data is not installed."""
    _ray()


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise OptionsError("--engine ray needs Ray Data: pip install 'llamatok[ray]' (or 'ray[data]')") from None
    return ray


def run_ray(core: Any, spec: EncodeSpec, sources: Sequence[Source], start: Cursor, options: Options, committer: Committer) -> None:
    ray = _ray()
    with warnings.catch_warnings():
        # Ray Data warns about its own deprecated settings when it copies its context.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray(\.|$)")
        _run(ray, core, spec, sources, start, options, committer)


def _run(ray: Any, core: Any, spec: EncodeSpec, sources: Sequence[Source], start: Cursor, options: Options, committer: Committer) -> None:
    import numpy as np

    if not ray.is_initialized():
        ray.init(address=options.ray_address, include_dashboard=False, log_to_driver=not options.quiet,
                 configure_logging=not options.quiet)
    work = shards(sources, start, options.batch_bytes)
    if not work:
        return
    cpus = int(ray.cluster_resources().get("CPU", 1))
    actors = max(1, min(options.workers or cpus, len(work)))
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False  # llamatok draws its own
    ds = ray.data.from_items([{"shard": np.array(sh, dtype=np.int64)} for sh in work], override_num_blocks=len(work))
    ds = ds.map_batches(ShardWorker, fn_constructor_args=(core, spec, options.json_keys, list(sources)),
                        batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=1, batch_format="numpy")
    line_base: Dict[int, int] = {}
    for row in ds.iter_rows():
        s, pos, line, end = (int(x) for x in row["shard"])
        result = pickle.loads(row["result"])
        if line >= 0:
            line_base[s] = line
        base = line_base.get(s, 0)
        if sources[s].kind == "jsonl":
            for r in result.rejects:
                r["line"] += base - max(line, 0)
            line_base[s] = base + result.cursor[2] - max(line, 0)
            result.cursor = (s, result.cursor[1], line_base[s])
        result.done_bytes = sum(max(x.size, 0) for x in sources[:s]) + _done(sources[s], result.cursor[1])
        committer.commit(result)


def _done(src: Source, pos: int) -> int:
    if src.kind == "dir":
        return sum(src.sizes[:pos])
    if src.kind == "jsonl" and src.compression is None:
        return min(pos, src.size)
    return 0
