"""The Ray engine: the tasks of a sharded run (``tasks.py``) as Ray tasks, anywhere on a cluster.

Each Ray task reads its range of the input where it runs (a local path every node sees, or an
object store), writes its shards straight to the output location and returns its record: the
driver receives metadata only, never token ids, so it is not the bottleneck of a large cluster.

- The tokenizer is put in Ray's object store once; each worker process loads it once (the core
  pickles as its model file's bytes) and keeps it for the next tasks of the run.
- A task whose worker or node dies is retried by Ray (``max_retries``), and so is one that fails
  with an ``OSError`` (an object store's passing error). A retried task rewrites the same bytes
  under the same names, so nothing is lost or written twice.
- With ``--dedup``, the hash tasks (``dedup_pass.py``) run the same way first; with
  ``--shuffle-seed`` or ``--pack``, the reorder tasks (``reorder.py``) run the same way; each
  gets the work shards' table (a few bytes per document) from Ray's object store.
- The driver's ``AWS_*`` settings (endpoint, region, credentials), when set, are passed to the
  tasks' environment so that every node reaches the same store; a node's own settings (an IAM
  role) apply when the driver has none.

Ray is an optional dependency (``pip install 'llamatok[ray]'``), imported only here.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from llamatok.preprocess.dedup_pass import run_hash_task
from llamatok.preprocess.options import Options, OptionsError
from llamatok.preprocess.plan import Task
from llamatok.preprocess.reorder import ReorderTask, run_reorder_task
from llamatok.preprocess.shards import ShardLayout
from llamatok.preprocess.sources import Source
from llamatok.preprocess.tasks import TaskContext, decoded, encoded, run_task

if TYPE_CHECKING:
    from llamatok._native import Tokenizer

#: Retries of a task after its worker or node died, or after an OSError.
MAX_RETRIES = 4
#: Settings of S3 and S3-compatible stores that the tasks get from the driver.
FORWARDED_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION")

#: Per worker process: the tokenizers of the runs it served, by object-store id.
_cores: dict[str, Any] = {}


def check_available() -> None:
    """Raises a clear ``OptionsError`` when Ray is not installed."""
    _ray()


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise OptionsError("--engine ray needs Ray: pip install 'llamatok[ray]' (or 'ray')") from None
    return ray


def _remote_task(core_box: list[Any], ctx: TaskContext, task: Task, sources: dict[int, Source], resume: bool,
                 duplicates: Any = None) -> bytes:
    """The body of a Ray task. ``core_box`` holds the tokenizer's object ref inside a list, so that
    Ray does not fetch and unpickle it for every task: the worker does it once."""
    ray = _ray()
    ref = core_box[0]
    core = _cores.get(ref.hex())
    if core is None:
        core = ray.get(ref)
        _cores.clear()  # a worker serves one run at a time: drop an earlier run's tokenizer
        _cores[ref.hex()] = core
    node = ray.get_runtime_context().get_node_id()
    return encoded(run_task(core, ctx, task, sources, resume, where=node, duplicates=duplicates))


@contextmanager
def _session(options: Options) -> Iterator[Any]:
    """Ray, connected to the cluster (or started locally) once per process, with its deprecation
    warnings kept out of the user's."""
    ray = _ray()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray(\.|$)")
        if not ray.is_initialized():
            ray.init(address=options.ray_address, include_dashboard=False, log_to_driver=not options.quiet,
                     configure_logging=not options.quiet)
        yield ray


def execute_on_ray(core: Tokenizer, ctx: TaskContext, tasks: Sequence[Task], sources: Sequence[Source], resume: bool,
                   options: Options, on_record: Any, duplicates: Sequence[Any] | None = None) -> None:
    with _session(options) as ray:
        core_box = [ray.put(core)]
        ctx_ref = ray.put(ctx)
        calls = [(task.index, (core_box, ctx_ref, task, task.sources(sources), resume,
                               None if duplicates is None else duplicates[task.index])) for task in tasks]
        _run_all(ray, _remote_task, calls, options, on_record)


def _remote_hashes(ctx: TaskContext, task: Task, sources: dict[int, Source], resume: bool) -> bytes:
    node = _ray().get_runtime_context().get_node_id()
    return encoded(run_hash_task(ctx, task, sources, resume, where=node))


def execute_hashes_on_ray(ctx: TaskContext, tasks: Sequence[Task], sources: Sequence[Source], resume: bool,
                          options: Options, on_record: Any) -> None:
    """The hash tasks of a sharded run with --dedup (dedup_pass.py) as Ray tasks."""
    with _session(options) as ray:
        ctx_ref = ray.put(ctx)
        calls = [(task.index, (ctx_ref, task, task.sources(sources), resume)) for task in tasks]
        _run_all(ray, _remote_hashes, calls, options, on_record)


def _remote_reorder(layout: ShardLayout, sources: Any, task: ReorderTask, pad_id: int, resume: bool) -> bytes:
    ray = _ray()
    node = ray.get_runtime_context().get_node_id()
    return encoded(run_reorder_task(layout, sources, task, pad_id, resume, where=node))


def execute_reorder_on_ray(layout: ShardLayout, sources: Sequence[Any], tasks: Sequence[ReorderTask], pad_id: int,
                           resume: bool, options: Options, on_record: Any) -> None:
    """The reorder tasks of a sharded run with --shuffle-seed or --pack (reorder.py) as Ray tasks."""
    with _session(options) as ray:
        sources_ref = ray.put(list(sources))
        calls = [(task.index, (layout, sources_ref, task, pad_id, resume)) for task in tasks]
        _run_all(ray, _remote_reorder, calls, options, on_record)


def _run_all(ray: Any, body: Any, calls: Sequence[tuple[int, tuple[Any, ...]]], options: Options,
             on_record: Any) -> None:
    """Runs ``body(*args)`` for every ``(task index, args)`` as Ray tasks, a bounded number in flight,
    handing each task's record to ``on_record`` as it arrives."""
    env = {k: os.environ[k] for k in FORWARDED_ENV if os.environ.get(k)}
    remote = ray.remote(body).options(
        num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=[OSError],
        runtime_env={"env_vars": env} if env else None,
    )
    in_flight = options.workers or max(1, int(ray.cluster_resources().get("CPU", 1))) * 2
    pending: dict[Any, int] = {}
    queue = list(calls)
    queue.reverse()
    try:
        while queue or pending:
            while queue and len(pending) < in_flight:
                index, args = queue.pop()
                pending[remote.remote(*args)] = index
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                index = pending.pop(ref)
                payload = _result(ray, ref, index)
                on_record(decoded(payload), len(payload))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def _result(ray: Any, ref: Any, index: int) -> bytes:
    try:
        payload: bytes = ray.get(ref)
        return payload
    except ray.exceptions.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise RuntimeError(f"task {index} failed: {e}") from None
