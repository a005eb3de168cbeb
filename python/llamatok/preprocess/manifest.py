"""``PREFIX.manifest.json``: the shards of a sharded run, in input order (in training order with
--shuffle-seed or --pack: then their ``input`` is null and ``sequences`` says how they were made),
and how to read them.

    {"llamatok_manifest": 1, "prefix": ..., "keys": ["text"], "formats": ["megatron"],
     "dtype": "uint16", "documents": ..., "tokens": {"text": ...}, "options": {...},
     "tokenizer": {...}, "inputs": [...], "fingerprint": ...,
     "shards": [{"name": "code-00000-000", "task": 0, "part": 0, "documents": ..., "tokens": {...},
                 "input": {"first": {...}, "last": {...}}, "datasets": {"text": "code-00000-000"},
                 "files": [{"path": "code-00000-000.bin", "kind": "bin", "key": "text",
                            "bytes": ..., "sha256": ...}, ...]}, ...],
     "data_path": {"text": ["4096", "s3://bucket/out/code-00000-000", ...]}}

File paths are relative to the manifest's folder, so a dataset can be moved as a whole.
``data_path`` is what Megatron's ``--data-path`` takes to read the shards without merging them:
each shard's prefix weighted by its token count, so that blending them samples every shard in
proportion to its size, as one merged dataset would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llamatok.preprocess import storage
from llamatok.preprocess.options import OptionsError
from llamatok.preprocess.shards import ShardLayout
from llamatok.preprocess.sources import Source

VERSION = 1


def _position(sources: Sequence[Source], source: int, position: int) -> dict[str, Any]:
    src = sources[source]
    out: dict[str, Any] = {"source": src.name, "position": position}
    if src.kind == "dir" and src.first_file <= position < src.first_file + len(src.files):
        out["file"] = src.files[position - src.first_file]
    return out


def build(layout: ShardLayout, records: Sequence[dict[str, Any]], sources: Sequence[Source], *,
          options: dict[str, Any], tokenizer: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    shards: list[dict[str, Any]] = []
    for record in records:
        for entry in record["shards"]:
            shard = dict(entry)
            if entry["input"] is not None:  # None: shards in training order (reorder.py) mix the input
                shard["input"] = {"first": _position(sources, *entry["input"]["first"]),
                                  "last": _position(sources, *entry["input"]["last"])}
            shard["datasets"] = {key: storage.basename(layout.dataset_prefix(key, entry["task"], entry["part"]))
                                 for key in layout.keys}
            shards.append(shard)
    tokens = {key: sum(int(s["tokens"][key]) for s in shards) for key in layout.keys}
    manifest = {
        "llamatok_manifest": VERSION,
        "prefix": layout.prefix,
        "keys": list(layout.keys),
        "formats": list(layout.formats),
        "dtype": layout.dtype,
        "shard_tokens": layout.shard_tokens,
        "documents": sum(int(s["documents"]) for s in shards),
        "tokens": tokens,
        "options": options,
        "tokenizer": tokenizer,
        "inputs": [s.name for s in sources],
        "fingerprint": fingerprint,
        "shards": shards,
    }
    manifest["data_path"] = {key: data_path(manifest, storage.parent(layout.prefix), key) for key in layout.keys}
    return manifest


def data_path(manifest: dict[str, Any], folder: str, key: str | None = None) -> list[str]:
    """``[weight, prefix, weight, prefix, ...]`` for Megatron's ``--data-path``: one key's shards
    (the only key when ``key`` is None), prefixes in ``folder``."""
    keys = manifest["keys"]
    if key is None:
        if len(keys) != 1:
            raise OptionsError(f"the manifest has several keys ({', '.join(keys)}): name one with --key")
        key = keys[0]
    if key not in keys:
        raise OptionsError(f"the manifest has no key {key!r} (its keys: {', '.join(keys)})")
    out: list[str] = []
    for shard in manifest["shards"]:
        if int(shard["tokens"][key]):
            out += [str(int(shard["tokens"][key])), storage.join(folder, shard["datasets"][key])]
    return out


def load(location: str) -> dict[str, Any]:
    """A manifest, checked for the fields :func:`merge` and ``--print-data-path`` use."""
    try:
        manifest = json.loads(storage.read_bytes(location))
    except FileNotFoundError:
        raise OptionsError(f"no manifest at {location} "
                           "(a sharded run writes PREFIX.manifest.json when it ends)") from None
    except ValueError as e:
        raise OptionsError(f"{location} is not JSON: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("llamatok_manifest") != VERSION:
        raise OptionsError(f"{location} is not a llamatok manifest (version {VERSION})")
    for field in ("keys", "dtype", "shards"):
        if field not in manifest:
            raise OptionsError(f"{location}: the manifest has no {field!r}")
    return manifest


def write(layout: ShardLayout, manifest: dict[str, Any]) -> None:
    data = (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    storage.write_atomic(layout.manifest, data, layout.tmp("manifest.json"))
