"""One preprocessing job from start to finish: options → tokenizer → inputs → engine → outputs."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llamatok.constants import EOT_TOKEN, MIDDLE_TOKEN, PREFIX_TOKEN, SUFFIX_TOKEN
from llamatok.preprocess import storage
from llamatok.preprocess.batches import Cursor, make_batches, tokenize, with_texts
from llamatok.preprocess.checkpoint import WorkDir
from llamatok.preprocess.committer import Committer, new_state
from llamatok.preprocess.dedup import DEDUP_METHOD, Deduper
from llamatok.preprocess.encode import EncodeSpec
from llamatok.preprocess.fim import FimSpec
from llamatok.preprocess.finish import finish, outputs
from llamatok.preprocess.lock import JobLock
from llamatok.preprocess.megatron import dtype_for_vocab
from llamatok.preprocess.options import Options, OptionsError, RejectLimitError
from llamatok.preprocess.pipeline import run_pipeline
from llamatok.preprocess.previous import discard_earlier, output_paths
from llamatok.preprocess.progress import Progress
from llamatok.preprocess.readers import raw_jsonl_wanted, reader_for
from llamatok.preprocess.sequences import SequenceSpec
from llamatok.preprocess.sources import Source, discover
from llamatok.preprocess.summary import build
from llamatok.preprocess.writers import WriterSpec

if TYPE_CHECKING:
    from llamatok._native import Tokenizer

#: Changes when the meaning of a checkpoint or of the outputs changes (2: FIM prompts encoded as
#: the inference prompt, sharded runs).
FORMAT_VERSION = 2
#: The Ray engine's shard size when --shard-tokens is not given: about 1 GiB of ids.
DEFAULT_SHARD_BYTES = 1 << 30


@dataclass
class TokenizerInfo:
    core: Tokenizer
    name: str
    vocab_size: int
    bos_id: int | None
    eos_id: int | None
    add_bos: bool
    infill: dict[str, int | None]
    sha256: str
    demo: bool


def load_tokenizer(spec: Any, quiet: bool = False) -> TokenizerInfo:
    """The tokenizer named by ``spec`` (folder, file or Hub id via ``CodeLlamaTokenizerFast``, or
    an instance); the built-in demo vocabulary, with a notice, when ``spec`` is None."""
    from llamatok import _native
    from llamatok.code_llama import CodeLlamaTokenizerFast
    from llamatok.demo import demo_path
    from llamatok.loading import load_tokenizer as load

    demo = spec is None
    if spec is None or isinstance(spec, (str, os.PathLike)):
        try:
            tok = load(None if spec is None else os.fspath(spec), quiet=quiet)
        except (OSError, ValueError) as e:
            raise OptionsError(f"--tokenizer {spec}: {e}") from None
        name = f"DEMO vocabulary (not a model's) at {demo_path()}" if spec is None else os.fspath(spec)
    elif isinstance(spec, CodeLlamaTokenizerFast):
        tok, name = spec, repr(spec)
    elif isinstance(spec, _native.Tokenizer):
        core = spec
        infill = {part: core.piece_to_id(token) for part, token in
                  (("prefix", PREFIX_TOKEN), ("suffix", SUFFIX_TOKEN), ("middle", MIDDLE_TOKEN), ("eot", EOT_TOKEN))}
        return TokenizerInfo(core, repr(core), core.vocab_size, core.bos_id, core.eos_id, True, infill, _digest(core),
                             False)
    else:
        raise OptionsError("tokenizer must be a path, a CodeLlamaTokenizerFast or a llamatok.Tokenizer, "
                           f"not {type(spec).__name__}")
    core = tok.backend_tokenizer
    return TokenizerInfo(core, name, tok.vocab_size, tok.bos_token_id, tok.eos_token_id, bool(tok.add_bos_token),
                         {"prefix": tok.prefix_id, "suffix": tok.suffix_id, "middle": tok.middle_id, "eot": tok.eot_id},
                         _digest(core), demo)


def _digest(core: Tokenizer) -> str:
    h = hashlib.sha256(core.to_bytes())
    h.update(json.dumps(sorted(core.special_tokens)).encode("utf-8"))
    return h.hexdigest()


def encode_spec(options: Options, tok: TokenizerInfo) -> EncodeSpec:
    bos = tok.add_bos if options.bos is None else options.bos
    if bos and tok.bos_id is None:
        raise OptionsError("--bos: this tokenizer has no BOS token")
    if options.append_eod and tok.eos_id is None:
        raise OptionsError("--append-eod: this tokenizer has no EOS token")
    from llamatok.codestral import codestral_ids
    from llamatok.infill import CODESTRAL, PRE, SUF

    fim = None
    if options.fim_rate > 0 and options.fim_layout == CODESTRAL:
        try:
            marks = codestral_ids(tok.core)
        except ValueError as e:
            raise OptionsError(f"--fim-layout codestral: {e}") from None
        if tok.eos_id is None:
            raise OptionsError("--fim-layout codestral: this tokenizer has no EOS token to end the middle with")
        # Codestral's layout is always suffix first (Options.validate_encoding sets its SPM rate to 1).
        fim = FimSpec(float(options.fim_rate), 1.0, int(options.seed), marks[PRE], marks[SUF], -1, tok.eos_id,
                      CODESTRAL)
    elif options.fim_rate > 0:
        ids = {k: v for k, v in tok.infill.items() if v is not None}
        missing = [k for k in tok.infill if k not in ids]
        if missing:
            raise OptionsError(f"--fim-rate: this tokenizer has no {', '.join(missing)} token "
                               "(FIM needs ▁<PRE>, ▁<SUF>, ▁<MID>, ▁<EOT>)")
        assert options.fim_spm_rate is not None, "Options.validate_encoding resolves the default"
        fim = FimSpec(float(options.fim_rate), float(options.fim_spm_rate), int(options.seed), ids["prefix"],
                      ids["suffix"], ids["middle"], ids["eot"])
    return EncodeSpec(options.mode, tok.bos_id if bos else None, tok.eos_id if options.append_eod else None,
                      dtype_for_vocab(tok.vocab_size), fim, options.workers if options.engine == "local" else None)


def fingerprint(options: Options, sources: list[Source], tok: TokenizerInfo, spec: EncodeSpec) -> str:
    """What the outputs' bytes depend on; a run resumes only a partial run with the same."""
    what = {
        "version": FORMAT_VERSION,
        "inputs": [s.fingerprint() for s in sources],
        "include": list(options.include),
        "exclude": list(options.exclude),
        "json_keys": list(options.json_keys),
        "formats": list(options.formats),
        "tokenizer": tok.sha256,
        "mode": spec.mode,
        "bos": spec.bos_id,
        "eos": spec.eos_id,
        "dtype": spec.dtype,
        "fim": None if spec.fim is None else [spec.fim.rate, spec.fim.spm_rate, spec.fim.seed]
        + ([spec.fim.layout] if spec.fim.layout != "codellama" else []),
        "shard_tokens": options.shard_tokens if options.sharded else None,
    }
    if options.parquet_codec != "zstd":  # absent for the default: earlier runs' fingerprints still match
        what["parquet_compression"] = options.parquet_codec
    if options.pack is not None or options.shuffle_seed is not None or options.dedup is not None:
        what["sequences"] = [options.pack, options.pack_strategy, options.shuffle_seed, options.dedup]
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _notice(options: Options, message: str) -> None:
    if not options.quiet:
        print(f"llamatok preprocess: {message}", file=sys.stderr)


def _start(options: Options, work: WorkDir, fp: str) -> dict[str, Any] | None:
    """The state to continue from, or None when the job is already complete (``--resume`` after
    a finished run). Without ``--resume`` any partial run is discarded."""
    num_keys = len(options.json_keys)
    if options.resume:
        if os.path.isdir(work.path):
            state = work.load_state()
            if state is None:
                why = ("its checkpoint is another llamatok version's" if os.path.exists(work.state_path)
                       else "it has no checkpoint yet")
                _notice(options, f"{work.path}: {why}: starting from the beginning")
                work.create()
                return new_state(fp, num_keys)
            if state["fingerprint"] != fp:
                raise OptionsError(
                    f"--resume: the partial run in {work.path} was made from other inputs or options "
                    "(or the input files changed); rerun without --resume to start over"
                )
            if state["phase"] == "running":
                work.rewind(state)
            _notice(options, f"resuming at document {state['documents']:,} (batch {state['batches']})")
            return state
        try:
            done = json.loads(storage.read_bytes(options.summary_path))
            if done.get("fingerprint") == fp:
                return None
        except (OSError, ValueError):
            pass
        _notice(options, "nothing to resume: starting from the beginning")
    elif os.path.isdir(work.path):
        _notice(options, f"discarding the partial run in {work.path} (use --resume to continue it)")
    work.create()
    return new_state(fp, num_keys)


def run(options: Options) -> dict[str, Any]:
    """Runs the job and returns the summary (also written to ``PREFIX.summary.json``).

    The summary's ``seconds`` (and so its throughput) count the processing, from the first read
    to the last rename; ``startup_seconds`` is the time spent before it (tokenizer, input listing).
    The output prefix is locked for the whole run (``lock.py``): a second run on it is refused."""
    t0 = time.monotonic()
    options.validate()
    lock = JobLock.acquire(options.output_prefix)
    try:
        return _run(options, lock, t0)
    finally:
        lock.release()


def _run(options: Options, lock: JobLock, t0: float) -> dict[str, Any]:
    tok = load_tokenizer(options.tokenizer, options.quiet)
    spec = encode_spec(options, tok)
    if options.engine == "ray":
        from llamatok.preprocess.ray_engine import check_available

        check_available()
    sources = discover(options.inputs, options.include, options.exclude, skip_prefix=options.output_prefix)
    if options.engine == "ray" and any(s.kind in ("iterable", "dataset") for s in sources):
        raise OptionsError("--engine ray reads files where its tasks run: pass paths or URIs "
                           "(s3://, hf://datasets/...), not Python objects")
    raw = raw_jsonl_wanted(sources)
    readers = [reader_for(s, options.json_keys, raw) for s in sources]
    if options.sharded and options.shard_tokens is None:
        options.shard_tokens = DEFAULT_SHARD_BYTES // spec.numpy_dtype.itemsize
    fp = fingerprint(options, sources, tok, spec)
    tokenizer = {"name": tok.name, "vocab_size": tok.vocab_size, "sha256": tok.sha256}
    # Padding is the tokenizer's EOS whether or not --append-eod put one after each document.
    sequences = SequenceSpec(options.shuffle_seed, options.pack, options.pack_strategy,
                             tok.eos_id if tok.eos_id is not None else 0)
    if options.sharded:
        from llamatok.preprocess.sharded import run_sharded

        return run_sharded(options, tok.core, spec, sources, fp, lock, tokenizer=tokenizer,
                           described=_described(options, spec), startup=time.monotonic() - t0, sequences=sequences)
    work = WorkDir(options.work_dir, len(options.json_keys), options.loss_masks)
    state = _start(options, work, fp)
    if state is None:
        _notice(options, f"already complete: {options.summary_path}")
        summary: dict[str, Any] = json.loads(storage.read_bytes(options.summary_path))
        return summary
    if not state.get("runs"):  # a run from the beginning: nothing of an earlier run may stay beside it
        keep = output_paths(outputs(options), folders=False)
        discard_earlier(options.output_prefix, options.summary_path, options.manifest_path, keep,
                        lambda message: _notice(options, message))
    state["runs"] = state.get("runs", 0) + 1
    sizes = [s.size for s in sources]
    enabled = options.progress if options.progress is not None else Progress.wanted(options.quiet)
    progress = Progress(sum(x for x in sizes if x > 0) or None, bool(enabled))
    committer = Committer(work, state, progress, options.max_rejects, options.rejects_path,
                          options.checkpoint_interval)
    dtype = spec.numpy_dtype
    seconds_before = float(state["seconds"])
    started = time.monotonic()
    startup = started - t0

    def make_summary(st: dict[str, Any]) -> dict[str, Any]:
        st["seconds"] = seconds_before + time.monotonic() - started
        built = build(st, keys=options.json_keys, inputs=[s.name for s in sources], outputs=outputs(options),
                      tokenizer=tokenizer, options=_described(options, spec), engine=options.engine,
                      startup_seconds=startup)
        if options.dedup:
            built["dedup"] = {"method": DEDUP_METHOD,
                              "duplicates": int(st["rejected"].get("duplicate", 0))}
        return built

    if state["phase"] == "running":
        cursor: Cursor = tuple(state["cursor"])
        work.open()
        deduper = (Deduper(os.path.join(work.path, "hashes.b128"), int(state["documents"]), [s.name for s in sources])
                   if options.dedup else None)
        if deduper is not None:
            committer.before_checkpoint = deduper.sync
        try:
            batches = make_batches(readers, sizes, cursor, len(options.json_keys), options.batch_bytes)

            def checked_commit(result: Any) -> None:
                lock.check()
                if deduper is not None:
                    deduper.record(result)
                committer.commit(result)

            def encode(b: Any) -> Any:
                if deduper is None:
                    return tokenize(tok.core, b, spec)
                b, new = deduper.filter(with_texts(b))
                return Deduper.wrap(tokenize(tok.core, b, spec), new)

            run_pipeline(batches, encode, checked_commit)
            committer.checkpoint()
        except RejectLimitError:
            work.close()
            with open(work.rejects, "rb") as f:
                storage.write_atomic(options.rejects_path, f.read())
            raise
        finally:
            work.close()
            progress.close()
            if deduper is not None:
                deduper.close()
    summary = finish(options, work, state, dtype, make_summary,
                     WriterSpec(spec.dtype, spec.eos_id, tok.name, options.loss_masks),
                     sequences)
    if summary["rejected"]:
        _notice(options, f"{summary['rejected']} records rejected ({_reasons(summary)}): see {options.rejects_path}")
    return summary


def _reasons(summary: dict[str, Any]) -> str:
    return ", ".join(f"{n} {r}" for r, n in summary["rejected_by_reason"].items())


def _described(options: Options, spec: EncodeSpec) -> dict[str, Any]:
    return {
        "json_keys": list(options.json_keys),
        "formats": list(options.formats),
        "mode": spec.mode,
        "bos": spec.bos_id is not None,
        "append_eod": spec.eos_id is not None,
        "dtype": spec.dtype,
        "fim_rate": options.fim_rate,
        "fim_spm_rate": options.fim_spm_rate,
        "fim_layout": options.fim_layout,
        "seed": options.seed,
        "include": list(options.include),
        "exclude": list(options.exclude),
        "shard_tokens": options.shard_tokens if options.sharded else None,
        "pack": options.pack,
        "pack_strategy": options.pack_strategy if options.pack is not None else None,
        "shuffle_seed": options.shuffle_seed,
        "dedup": options.dedup,
        "parquet_compression": options.parquet_codec if "parquet" in options.formats else None,
    }

