"""What an earlier run on the same prefix wrote and this run will not write: removed when this run
starts afresh, so that no file of the earlier run is left beside the new outputs for a trainer to
pick up (a label mask of other documents, a manifest of other shards). Only files that the earlier
run's summary or manifest names, and whose names are the job's own (``sources.own_output``), are
ever removed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from llamatok.preprocess import storage
from llamatok.preprocess.sources import own_output


def earlier_outputs(prefix: str, summary_path: str, manifest_path: str) -> set[str]:
    """The files and folders an earlier run on ``prefix`` wrote, from its summary and its manifest."""
    found: set[str] = set()
    summary = _read_json(summary_path)
    if summary is not None:
        found.update(output_paths(summary.get("outputs", {})))
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


def output_paths(outputs: Any, folders: bool = True) -> set[str]:
    """Every string in a summary's ``outputs`` (its paths; its keys, which own_output leaves out). Without
    ``folders``, not the folders (``"folder"``: mds, litdata): a new run removes an earlier one's first, so
    that no chunk of it stays there unlisted, rather than writing over it."""
    if isinstance(outputs, dict):
        return set().union(*(output_paths(v, folders) for k, v in outputs.items() if folders or k != "folder"))
    if isinstance(outputs, list):
        return set().union(*(output_paths(v, folders) for v in outputs))
    return {outputs} if isinstance(outputs, str) else set()


def _read_json(location: str) -> Any:
    try:
        return json.loads(storage.read_bytes(location))
    except (FileNotFoundError, ValueError):
        return None
