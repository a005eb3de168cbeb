"""What an earlier run on the same prefix wrote and this run will not write: removed when this run
starts afresh, so that no file of the earlier run is left beside the new outputs for a trainer to
pick up (a label mask of other documents, a manifest of other shards). Only files that the earlier
run's summary or manifest names, and whose names are the job's own (``sources.own_output``), are
ever removed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from llamatok.preprocess import storage
from llamatok.preprocess.sources import own_output


def earlier_outputs(prefix: str, summary_path: str, manifest_path: str) -> set[str]:
    """The files and folders an earlier run on ``prefix`` wrote, from its summary and its manifest."""
    found: set[str] = set()
    summary = _read_json(summary_path)
    if summary is not None:
        found.update(earlier_strings(summary.get("outputs", {})))
    manifest = _read_json(manifest_path)
    if manifest is not None:
        folder = storage.parent(manifest_path)
        found.add(manifest_path)
        found.update(storage.join(folder, f["path"]) for shard in manifest.get("shards", [])
                     for f in shard.get("files", []) if isinstance(f.get("path"), str))
    return {path for path in found if own_output(path, prefix)}


def discard_earlier(prefix: str, summary_path: str, manifest_path: str, keep: set[str],
                    notice: Callable[[str], None]) -> list[str]:
    """Removes what :func:`earlier_outputs` finds and ``keep`` (this run's outputs) does not hold;
    returns what was removed."""
    stale = sorted(earlier_outputs(prefix, summary_path, manifest_path) - keep)
    if stale:
        notice(f"removing {len(stale)} files of the earlier run on {prefix} that this run does not write")
    for path in stale:
        if storage.info(path).kind == "dir":
            storage.delete_tree(path)
        else:
            storage.delete(path)
    return stale


def earlier_strings(value: Any) -> Iterator[str]:
    """Every string inside a summary's ``outputs`` (the paths, and the keys, which are no file)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from earlier_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from earlier_strings(v)


def kept_paths(outputs: Any) -> set[str]:
    """What of a summary's ``outputs`` a new run writes over and so keeps: every path but the folders
    (``"folder"``: mds, litdata), which are removed first so that no chunk of the earlier run stays in
    them unlisted."""
    if isinstance(outputs, dict):
        return set().union(*(kept_paths(v) for k, v in outputs.items() if k != "folder"))
    if isinstance(outputs, list):
        return set().union(*(kept_paths(v) for v in outputs))
    return {outputs} if isinstance(outputs, str) else set()


def _read_json(location: str) -> Any:
    try:
        return json.loads(storage.read_bytes(location))
    except (FileNotFoundError, ValueError):
        return None
