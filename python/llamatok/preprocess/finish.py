"""The end of a single-file run: final files written under temporary names in the work folder,
then renamed into place one by one (each rename is atomic), the summary last, then the work folder
removed. For an output on an object store each file is uploaded under a temporary key and moved
into place instead (``storage.AtomicWriter``).

Both steps are recorded in the checkpoint (phase ``finalizing``, then ``renaming``), so a run
killed while finishing is finished by ``--resume``: writing is redone from the work folder's
files, and renaming skips what was already moved. No final name ever holds a partial file.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

import numpy as np

from llamatok.preprocess import storage
from llamatok.preprocess.checkpoint import WorkDir, crash_point
from llamatok.preprocess.megatron import write_index
from llamatok.preprocess.options import Options
from llamatok.preprocess.parquet_out import write_parquet
from llamatok.preprocess.sequences import SequenceSpec, rewrite
from llamatok.preprocess.writers import WRITERS, WriterSpec, trainer_formats, write_from_files


def _fsync_file(path: str) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def reordered(options: Options) -> bool:
    """Whether the documents are rewritten in training order first (--pack, --shuffle-seed)."""
    return options.pack is not None or options.shuffle_seed is not None


def document_files(options: Options, work: WorkDir) -> tuple[list[str], list[str], list[str]]:
    """Per key, the ids, lengths and (with FIM loss masks) learned ids the outputs are written from: the
    run's, or their training order."""
    if not reordered(options):
        return work.tokens, work.lengths, work.learned
    n = len(options.json_keys)
    return ([os.path.join(work.path, f"seq-tokens-{k}.bin") for k in range(n)],
            [os.path.join(work.path, f"seq-lengths-{k}.i32") for k in range(n)],
            [os.path.join(work.path, f"seq-learned-{k}.bool") for k in range(len(work.learned))])


def renames(options: Options, work: WorkDir) -> list[tuple[str, str]]:
    """(work-folder file, final name) pairs, in the order they are moved; the summary is last."""
    moves: list[tuple[str, str]] = []
    tokens, _, _ = document_files(options, work)
    if "megatron" in options.formats:
        for k, key in enumerate(options.json_keys):
            prefix = options.megatron_prefix(key)
            moves.append((tokens[k], prefix + ".bin"))
            moves.append((os.path.join(work.path, f"final-{k}.idx"), prefix + ".idx"))
    if "parquet" in options.formats:
        moves.append((os.path.join(work.path, "final.parquet"), options.parquet_path))
    moves.append((work.rejects, options.rejects_path))
    moves.append((os.path.join(work.path, "summary.json"), options.summary_path))
    return moves


def outputs(options: Options) -> dict[str, Any]:
    """The summary's ``outputs``: every file the run writes (the FIM masks' too, ``options.loss_masks``)."""
    out: dict[str, Any] = {}
    if "megatron" in options.formats:
        out["megatron"] = [{"key": key, "bin": options.megatron_prefix(key) + ".bin",
                            "idx": options.megatron_prefix(key) + ".idx"}
                           for key in options.json_keys]
    if "parquet" in options.formats:
        out["parquet"] = options.parquet_path
    for fmt in trainer_formats(options.formats):
        out[fmt] = [{"key": key, **WRITERS[fmt].outputs(options.megatron_prefix(key), options.loss_masks)}
                    for key in options.json_keys]
    out["rejects"] = options.rejects_path
    out["summary"] = options.summary_path
    return out


def finish(options: Options, work: WorkDir, state: dict[str, Any], dtype: np.dtype,
           make_summary: Callable[[dict[str, Any]], dict[str, Any]], spec: WriterSpec | None = None,
           sequences: SequenceSpec | None = None) -> dict[str, Any]:
    work.close()
    if state["phase"] == "running":
        state["phase"] = "finalizing"
        work.save_state(state)
        crash_point("finalizing")
    if state["phase"] == "finalizing":
        tokens, lengths, learned = document_files(options, work)
        if reordered(options):
            seq = sequences or SequenceSpec(options.shuffle_seed, options.pack, options.pack_strategy, 0)
            for k in range(len(options.json_keys)):
                state["sequences"] = rewrite(work.tokens[k], work.lengths[k], tokens[k], lengths[k], dtype, seq,
                                             *((work.learned[k], learned[k]) if learned else ()))
        if "megatron" in options.formats:
            for k in range(len(options.json_keys)):
                path = os.path.join(work.path, f"final-{k}.idx")
                with open(path, "wb") as f:
                    write_index(f, lengths[k], dtype)
                    f.flush()
                    os.fsync(f.fileno())
                _fsync_file(tokens[k])
                crash_point("index-written")
        if "parquet" in options.formats:
            path = os.path.join(work.path, "final.parquet")
            write_parquet(path, options.json_keys, tokens, lengths, dtype, learned, options.parquet_codec)
            _fsync_file(path)
        _write_trainer_formats(options, work, spec or WriterSpec(str(np.dtype(dtype)), None), tokens, lengths,
                               learned)
        summary = make_summary(state)
        if "sequences" in state:
            summary["sequences"] = state["sequences"]
        with open(os.path.join(work.path, "summary.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        state["phase"] = "renaming"
        work.save_state(state)
        crash_point("renaming")
    for src, dst in renames(options, work):
        if os.path.exists(src):
            _move_out(src, dst)
            crash_point("renamed")
    for d in {storage.parent(dst) for _, dst in renames(options, work) if storage.is_local(dst)}:
        storage.fsync_dir(d)
    work.remove()
    written: dict[str, Any] = json.loads(storage.read_bytes(options.summary_path))
    return written


def _write_trainer_formats(options: Options, work: WorkDir, spec: WriterSpec, tokens: list[str],
                           lengths: list[str], learned: list[str]) -> None:
    """The trainers' formats (writers/), committed straight to their final names: each file
    appears whole, and a resumed finish writes the same bytes again."""
    local = storage.is_local(options.output_prefix)
    tmp_folder = os.path.join(work.path, "tmp")

    def tmp(name: str) -> str | None:
        return os.path.join(tmp_folder, f"{name}.{os.getpid()}") if local else None

    # The first format whose ids file is the ids alone takes the work file itself by a hard link (no
    # copy, and its bytes are already durable), unless the Megatron .bin is to be that file.
    linker = next((f for f in trainer_formats(options.formats) if WRITERS[f].stores_ids_flat), None)
    if not local or "megatron" in options.formats:
        linker = None
    for fmt in trainer_formats(options.formats):
        for k, key in enumerate(options.json_keys):
            write_from_files(fmt, options.megatron_prefix(key), spec, tmp, tokens[k], lengths[k],
                             learned[k] if learned else None, link=fmt == linker)


def _move_out(src: str, dst: str) -> None:
    """A finished file from the work folder to its final name: a rename, or an upload."""
    if storage.is_local(dst):
        os.replace(src, dst)
        return
    with open(src, "rb") as f, storage.AtomicWriter(dst) as out:
        while True:
            block = f.read(1 << 24)
            if not block:
                break
            out.write(block)
    os.unlink(src)

