"""``llamatok preprocess``: the command line of :func:`llamatok.preprocess.run`.

Kept free of heavy imports: ``llamatok --help`` must not load numpy or pyarrow.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

EPILOG = """\
examples:
  llamatok preprocess data/*.jsonl.zst --tokenizer CodeLlama-7b-hf --output-prefix out/code --append-eod
  llamatok preprocess /usr/lib/python3.12 --include '*.py' --exclude site-packages --output-prefix stdlib
  llamatok preprocess part-*.parquet --json-keys content --format megatron,parquet -o out/code --fim-rate 0.9
  llamatok preprocess 's3://corpus/jsonl/*.jsonl.zst' -o s3://datasets/code --engine ray --ray-address auto

Writes each --format's files (megatron: PREFIX.bin + PREFIX.idx, PREFIX_KEY.* for several
--json-keys; parquet: PREFIX.parquet; npy, datatrove, mds, litdata: docs/shards.md), then
PREFIX.rejects.jsonl and PREFIX.summary.json, and prints the summary.
With --shard-tokens (always with --engine ray) the output is shards PREFIX-TTTTT-PPP.* listed in
PREFIX.manifest.json; `llamatok merge` joins them into one .bin/.idx.
Inputs and the prefix may be local paths or URIs (s3://, gs://, hf://datasets/...).
A killed run leaves PREFIX.partial/; rerun the same command with --resume to finish it.
Exit status: 0 done, 1 too many rejects or an error, 2 bad options, 3 the prefix is in use.
"""


def _size(text: str) -> int:
    from llamatok.preprocess.options import OptionsError, parse_size

    try:
        return parse_size(text)
    except OptionsError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _count(text: str) -> int:
    from llamatok.preprocess.options import OptionsError, parse_count

    try:
        return parse_count(text)
    except OptionsError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from llamatok.preprocess.options import PARQUET_COMPRESSIONS  # the standard library only

    p: argparse.ArgumentParser
    p = sub.add_parser("preprocess", help="corpora (JSONL, Parquet, source trees) to training shards",
                       description="Tokenize corpora into the training files of Megatron, OLMo-core (npy), nanotron "
                                   "(datatrove), llm-foundry (mds), litgpt (litdata) or Parquet, on all cores or on "
                                   "Ray.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="JSONL files (.jsonl/.json/.ndjson, optionally .gz or .zst), Parquet files, or directories "
                        "(one file = one document); local paths or URIs (s3://, gs://, hf://datasets/...), globs "
                        "allowed")
    p.add_argument("--output-prefix", "-o", required=True, help="PREFIX of the output files (a local path or a URI)")
    p.add_argument("--tokenizer", "-t",
                   help="folder, tokenizer.json or tokenizer.model (default: the DEMO vocabulary, with a notice)")
    p.add_argument("--format", dest="formats", default="megatron",
                   help="any of megatron, parquet, npy (OLMo-core), datatrove (nanotron), mds (llm-foundry), litdata "
                        "(litgpt), separated by commas (default: megatron)")
    p.add_argument("--json-keys", nargs="+", default=["text"], metavar="KEY",
                   help="fields (JSONL) or columns (Parquet) to tokenize (default: text); several give one dataset "
                        "each")
    p.add_argument("--include", action="append", default=[], metavar="GLOB",
                   help="directories: only files matching (repeatable; a GLOB without / matches names, with / "
                        "relative paths: * within a folder, **/ any folders or none)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="directories: skip files and folders matching (repeatable)")
    bos = p.add_mutually_exclusive_group()
    bos.add_argument("--bos", dest="bos", action="store_true", default=None,
                     help="add <s> to each document (default: as the tokenizer's add_bos_token)")
    bos.add_argument("--no-bos", dest="bos", action="store_false", help="no <s>")
    p.add_argument("--append-eod", action="store_true",
                   help="add </s> to each document (as Megatron's preprocess_data.py)")
    p.add_argument("--mode", choices=["literal", "legacy", "non_legacy"], default="literal",
                   help="special-token text in the data: literal (plain text, the default for training data), "
                        "legacy or non_legacy (matched)")
    p.add_argument("--fim-rate", type=float, default=0.0,
                   help="probability of a fill-in-the-middle document (default 0; Code Llama used 0.9)")
    p.add_argument("--fim-spm-rate", type=float, default=None,
                   help="probability that a FIM document is SPM rather than PSM (default 0.5; Code Llama's layout "
                        "only)")
    p.add_argument("--fim-layout", choices=["codellama", "codestral"], default=None,
                   help="codellama: ▁<PRE> ▁<SUF> ▁<MID> ▁<EOT>, PSM or SPM (default); codestral: [SUFFIX] suffix "
                        "[PREFIX] prefix middle </s>, as mistral-common's encode_fim (Mistral's v3+ models)")
    p.add_argument("--seed", type=int, default=None, help="FIM seed: the same seed gives the same bytes (default 0)")
    p.add_argument("--pack", type=int, default=None, metavar="LENGTH",
                   help="pack documents into sequences of exactly LENGTH tokens")
    p.add_argument("--pack-strategy", choices=["concat", "bfd"], default=None,
                   help="concat: concatenate and cut (Megatron's); bfd: best-fit-decreasing, never cuts a document "
                        "shorter than LENGTH (default concat)")
    p.add_argument("--shuffle-seed", type=int, default=None, metavar="N",
                   help="shuffle the documents (and packed sequences) with seed N: the same order for any --workers "
                        "and across --resume")
    p.add_argument("--dedup", choices=["exact"], default=None,
                   help="exact: skip documents whose text was already seen (128-bit hash), listed as rejects")
    p.add_argument("--parquet-compression", choices=PARQUET_COMPRESSIONS, default=None,
                   help="the Parquet output's codec: zstd (default) writes the smallest files, none the fastest")
    p.add_argument("--max-rejects", type=int, default=None, metavar="N",
                   help="fail when more than N records are rejected (default: no limit)")
    p.add_argument("--resume", action="store_true",
                   help="finish the interrupted run of the same command (PREFIX.partial/)")
    p.add_argument("--shard-tokens", type=_count, default=None, metavar="N",
                   help="cut the output into shards of at most N tokens (e.g. 500M) listed in PREFIX.manifest.json "
                        "(default: one file with the local engine, about 1 GiB of ids per shard with Ray)")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local (all cores, default) or ray (tasks on a Ray cluster, each writing its own shards)")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="Ray cluster to join (default: start a local one); needs --engine ray")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="threads (local) or Ray tasks in flight (default: all cores; on Ray twice the cluster's CPUs)")
    p.add_argument("--batch-size", dest="batch_bytes", type=_size, default="4MB", metavar="BYTES",
                   help="input bytes per batch (default 4MB)")
    p.add_argument("--checkpoint-seconds", type=float, default=None, metavar="S",
                   help="make the single-file output's work durable for --resume at most every S seconds (default 1; "
                        "0: after every batch; a killed run redoes at most S seconds of work)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no notices")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_preprocess, on_interrupt="what was written is kept: run the same command with --resume "
                                                    "to go on from the last checkpoint")
    return p


def cmd_preprocess(args: argparse.Namespace) -> int:
    from llamatok.preprocess.errors import CorruptInputError, RejectLimitError
    from llamatok.preprocess.job import run
    from llamatok.preprocess.options import Options

    def options() -> Options:  # built inside _report, so that a bad option is a usage error
        return Options(
            inputs=args.inputs, output_prefix=args.output_prefix, formats=args.formats, json_keys=tuple(args.json_keys),
            include=tuple(args.include), exclude=tuple(args.exclude), tokenizer=args.tokenizer, bos=args.bos,
            append_eod=args.append_eod, mode=args.mode, fim_rate=args.fim_rate,
            fim_spm_rate=_fim_only(args, "fim_spm_rate", None), fim_layout=_fim_only(args, "fim_layout", "codellama"),
            seed=_fim_only(args, "seed", 0), workers=args.workers, batch_bytes=args.batch_bytes,
            max_rejects=args.max_rejects, checkpoint_seconds=args.checkpoint_seconds,
            resume=args.resume, shard_tokens=args.shard_tokens, engine=args.engine, ray_address=args.ray_address,
            quiet=args.quiet, progress=False if args.no_progress else None, pack=args.pack,
            pack_strategy=_pack_only(args), shuffle_seed=args.shuffle_seed, dedup=args.dedup,
            parquet_compression=args.parquet_compression,
        )

    return _report("preprocess", lambda: run(options()), (RejectLimitError, CorruptInputError))


def _fim_only(args: argparse.Namespace, name: str, default: Any) -> Any:
    """An option that shapes FIM documents: its value, or its default when not given; given without
    --fim-rate it would do nothing, which is a usage error rather than a silent no-op."""
    from llamatok.preprocess.options import OptionsError

    value = getattr(args, name)
    if value is None:
        return default
    if not args.fim_rate:
        raise OptionsError(f"--{name.replace('_', '-')} applies to FIM documents only: add --fim-rate or leave it out")
    return value


def _pack_only(args: argparse.Namespace) -> str:
    from llamatok.preprocess.options import OptionsError

    if args.pack_strategy is not None and args.pack is None:
        raise OptionsError("--pack-strategy applies to --pack only: add --pack LENGTH or leave it out")
    return str(args.pack_strategy or "concat")


def _report(command: str, call: Callable[[], dict[str, Any] | str], failures: tuple[type[Exception], ...]) -> int:
    """Runs ``call`` and prints its result (a dict as JSON) with exit status 0, or one error line: status
    2 for a usage error, 3 when another run holds the output prefix, 1 for ``failures``."""
    from llamatok.preprocess.errors import OptionsError, PrefixBusyError

    caught: tuple[type[Exception], ...] = (OptionsError, PrefixBusyError, *failures)
    try:
        result = call()
    except caught as e:
        print(f"llamatok {command}: error: {e}", file=sys.stderr)
        return 2 if isinstance(e, OptionsError) else 3 if isinstance(e, PrefixBusyError) else 1
    print(result if isinstance(result, str) else json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def add_merge_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser
    p = sub.add_parser("merge",
                       help="join the shards of a manifest into one .bin/.idx, or print Megatron's --data-path",
                       description="Join the shards listed in PREFIX.manifest.json into one Megatron .bin/.idx "
                                   "(byte-identical to the local engine's single file), or print the weighted "
                                   "--data-path list that reads them without merging.",
                       epilog="examples:\n  llamatok merge out/code.manifest.json --output-prefix out/code-all\n"
                              "  pretrain_gpt.py ... --data-path "
                              "$(llamatok merge s3://b/out/code.manifest.json --print-data-path)",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("manifest", metavar="MANIFEST", help="PREFIX.manifest.json (a local path or a URI)")
    p.add_argument("--output-prefix", "-o", help="OUT: writes OUT.bin and OUT.idx (OUT_KEY.* for several keys)")
    p.add_argument("--print-data-path", action="store_true",
                   help="print 'weight prefix ...' for Megatron's --data-path and exit")
    p.add_argument("--key", help="with several json keys: the key whose shards --print-data-path lists")
    p.set_defaults(run=cmd_merge)
    return p


def cmd_merge(args: argparse.Namespace) -> int:
    from llamatok.preprocess.errors import OptionsError
    from llamatok.preprocess.merging import ShardMismatchError, data_path, merge

    def call() -> dict[str, Any] | str:
        if args.print_data_path:
            return " ".join(data_path(args.manifest, args.key))
        if not args.output_prefix:
            raise OptionsError("give --output-prefix OUT (or --print-data-path)")
        return merge(args.manifest, args.output_prefix)

    return _report("merge", call, (ShardMismatchError, OSError))
