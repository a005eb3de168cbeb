"""``llamatok merge``: the shards of a manifest joined into one Megatron ``.bin``/``.idx`` (what
Megatron-LM's ``tools/merge_datasets.py`` does), or the ``--data-path`` list that reads them as
they are.

The merged files are byte-identical to the single file the local engine writes for the same inputs
and options: the ``.bin`` is the shards' ``.bin`` files in manifest order, and the ``.idx`` is
written by the same code from the documents' lengths read back from the shards' indexes. Every
shard file is checked against the size and SHA-256 in the manifest while it is read; a mismatch
stops the merge before anything is committed.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from llamatok.preprocess import manifest as manifest_mod
from llamatok.preprocess import storage
from llamatok.preprocess.errors import OptionsError
from llamatok.preprocess.lock import JobLock
from llamatok.preprocess.megatron import IndexFormatError, document_lengths, write_index

#: Why the other formats' shards are not joined, and how their trainers read them as they are.
UNMERGED = ("the other formats are read as shards: OLMo-core takes the list of .npy paths, datatrove's "
            "DatatroveFolderDataset the folder (*.ds), Streaming one Stream per .mds folder, litdata its "
            "CombinedStreamingDataset or a list of .litdata folders, Parquet readers the list of files")


class ShardMismatchError(ValueError):
    """A shard file differs from what the manifest recorded (changed, truncated or missing)."""


def _check(location: str, data_size: int, digest: str, expected: dict[str, Any]) -> None:
    if data_size != int(expected["bytes"]) or digest != expected["sha256"]:
        raise ShardMismatchError(
            f"{location} does not match the manifest ({data_size} bytes, sha256 {digest[:12]}…; the manifest says "
            f"{expected['bytes']} bytes, {expected['sha256'][:12]}…): rerun the job with --resume to rewrite it"
        )


def _file(shard: dict[str, Any], kind: str, key: str) -> dict[str, Any]:
    files: list[dict[str, Any]] = shard["files"]
    for f in files:
        if f["kind"] == kind and f.get("key") == key:
            return f
    raise OptionsError(f"the manifest's shard {shard.get('name')} lists no {kind} file for key {key!r}")


def merge(manifest_location: str, output_prefix: str) -> dict[str, Any]:
    """Writes ``OUT.bin``/``OUT.idx`` (``OUT_KEY.*`` for several keys); returns what was written."""
    manifest = manifest_mod.load(manifest_location)
    formats = manifest.get("formats", ["megatron"])
    if "megatron" not in formats:
        raise OptionsError(f"{manifest_location}: llamatok merge joins Megatron shards, and these shards are "
                           f"{', '.join(formats)}; {UNMERGED} (or rerun with --format megatron,...)")
    folder = storage.parent(manifest_location)
    dtype = np.dtype(manifest["dtype"])
    keys: list[str] = manifest["keys"]
    if storage.is_local(output_prefix):
        parent = os.path.dirname(os.path.abspath(output_prefix))
        if not os.path.isdir(parent):
            raise OptionsError(f"--output-prefix: the folder {parent} does not exist")
    written: list[dict[str, Any]] = []
    with JobLock.acquire(output_prefix):
        for key in keys:
            prefix = output_prefix if len(keys) == 1 else f"{output_prefix}_{key}"
            written.append(_merge_key(manifest, folder, key, prefix, dtype))
    result = {"documents": int(manifest.get("documents", 0)), "shards": len(manifest["shards"]), "outputs": written}
    others = [f for f in formats if f != "megatron"]
    if others:
        result["not_merged"] = {"formats": others, "why": UNMERGED}
    return result


def _merge_key(manifest: dict[str, Any], folder: str, key: str, prefix: str, dtype: np.dtype) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="llamatok-merge-") as tmp:
        lengths_path = os.path.join(tmp, "lengths.i32")
        with open(lengths_path, "wb") as lengths_out, storage.AtomicWriter(prefix + ".bin") as bin_out:
            for shard in manifest["shards"]:
                idx_entry, bin_entry = _file(shard, "idx", key), _file(shard, "bin", key)
                idx_location = storage.join(folder, idx_entry["path"])
                bin_location = storage.join(folder, bin_entry["path"])
                index = storage.read_bytes(idx_location)
                _check(idx_location, len(index), _sha256(index), idx_entry)
                try:
                    shard_dtype, lengths = document_lengths(index, idx_location)
                except IndexFormatError as e:
                    raise ShardMismatchError(str(e)) from None
                if shard_dtype != dtype:
                    raise ShardMismatchError(f"{idx_location} holds {shard_dtype} ids, the manifest says {dtype}")
                before = bin_out.size
                digest = _copy(bin_location, bin_out)
                _check(bin_location, bin_out.size - before, digest, bin_entry)
                if int(lengths.sum(dtype=np.int64)) * dtype.itemsize != bin_out.size - before:
                    raise ShardMismatchError(f"{bin_location} does not hold the ids its index describes")
                lengths_out.write(lengths.astype("<i4").tobytes())
        with storage.AtomicWriter(prefix + ".idx") as idx_out:
            write_index(idx_out, lengths_path, dtype)  # type: ignore[arg-type]
    return {"key": key, "bin": prefix + ".bin", "idx": prefix + ".idx"}


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _copy(location: str, out: storage.AtomicWriter) -> str:
    """Appends a file to ``out``; returns the file's SHA-256."""
    import hashlib

    digest = hashlib.sha256()
    with storage.open_input(location) as f:
        while True:
            block = f.read(1 << 24)
            if not block:
                break
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def data_path(manifest_location: str, key: str | None = None) -> list[str]:
    """Megatron's ``--data-path`` arguments for the shards where the manifest is now."""
    manifest = manifest_mod.load(manifest_location)
    return manifest_mod.data_path(manifest, storage.parent(manifest_location), key)
