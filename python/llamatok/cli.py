"""The ``llamatok`` command line.

    llamatok encode "def f(x):" --tokenizer PATH     ids of each text, one line per input
    llamatok encode -f a.py -f b.py --count          token counts per file and in total
    cat x.py | llamatok encode --tokens              pieces of standard input
    llamatok decode 1 822 285                         text of ids
    llamatok preprocess data.jsonl -o out/data        training shards (llamatok preprocess --help)
    llamatok merge out/data.manifest.json -o out/all  shards joined into one .bin/.idx

Bad options exit with status 2 and a message, and so does a command given no input at all (no text, no
--file, and standard input closed); input that cannot be used (a file or standard input that is not UTF-8
text, ids outside the vocabulary) exits with status 1 and a message naming it. Ctrl-C exits with status 130
and one line (``llamatok preprocess`` adds how to go on with ``--resume``); output whose reader went away
(``| head``) ends quietly with status 141, as after SIGPIPE. ``encode`` encodes what it reads as it is:
``<FILL_ME>`` there is text, not an infill prompt.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from llamatok.loading import load_tokenizer


def _utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(f"{name} is not UTF-8 text: byte 0x{data[e.start]:02X} at offset {e.start} (line {line}) "
                         "cannot be decoded; convert it to UTF-8 first (e.g. iconv -t UTF-8)") from None


def _stdin_text() -> str:
    """Standard input, decoded as UTF-8 whatever the locale says. Python sets ``sys.stdin`` to None when
    the process starts with it closed (``<&-``)."""
    stream = sys.stdin
    if stream is None or stream.closed:
        raise UsageError("no input: standard input is closed; give texts as arguments, use --file, "
                         "or pipe text in")
    data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
    return data if isinstance(data, str) else _utf8(data, "standard input")


def _inputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(name, text) pairs from positional texts, --file options, or standard input."""
    inputs = [(f"text {i + 1}", t) for i, t in enumerate(args.text)]
    for path in args.file:
        with open(path, "rb") as f:
            inputs.append((path, _utf8(f.read(), path)))
    if not inputs:
        inputs.append(("<stdin>", _stdin_text()))
    return inputs


def cmd_encode(args: argparse.Namespace) -> int:
    split = args.mode == "literal"
    legacy = False if args.mode == "non_legacy" else None
    # No fill token: a file that holds "<FILL_ME>" is text to encode, not an infill prompt to build.
    tok = load_tokenizer(args.tokenizer, args.quiet, split_special_tokens=split, legacy=legacy,
                         add_bos_token=not args.no_bos, add_eos_token=args.eos, fill_token=None)
    total = 0
    for name, text in _inputs(args):
        ids = tok.encode(text)
        total += len(ids)
        if args.count:
            print(f"{len(ids)}\t{name}")
        elif args.tokens:
            print(json.dumps(tok.convert_ids_to_tokens(ids), ensure_ascii=False))
        else:
            print(" ".join(map(str, ids)))
    if args.count and (len(args.file) + len(args.text)) > 1:
        print(f"{total}\ttotal")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    tok = load_tokenizer(args.tokenizer, args.quiet)
    raw = args.ids or _stdin_text().split()
    try:
        ids = [int(x) for x in raw]
    except ValueError as e:
        raise UsageError(f"ids must be integers: {e}") from None
    print(tok.decode(ids, skip_special_tokens=args.skip_special_tokens, style=args.style))
    return 0


class UsageError(Exception):
    """A bad option or argument: exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llamatok", description="Exact Code Llama tokenizer.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--tokenizer", "-t", help="folder, tokenizer.json or tokenizer.model (default: demo vocabulary)")
        p.add_argument("--quiet", "-q", action="store_true", help="no notices on stderr")

    enc = sub.add_parser("encode", help="text, files or stdin to ids, pieces or counts")
    common(enc)
    enc.add_argument("text", nargs="*", help="texts to encode (default: standard input)")
    enc.add_argument("--file", "-f", action="append", default=[], help="a UTF-8 file to encode (repeatable)")
    enc.add_argument("--mode", choices=["legacy", "non_legacy", "literal"], default="legacy",
                     help="special-token text in the input: legacy (transformers 4.x default), "
                          "non_legacy (legacy=False), literal (plain text, like sentencepiece)")
    enc.add_argument("--no-bos", action="store_true", help="do not add <s>")
    enc.add_argument("--eos", action="store_true", help="add </s>")
    out = enc.add_mutually_exclusive_group()
    out.add_argument("--count", action="store_true", help="print token counts instead of ids")
    out.add_argument("--tokens", action="store_true", help="print pieces (JSON) instead of ids")
    enc.set_defaults(run=cmd_encode)

    dec = sub.add_parser("decode", help="ids (arguments or stdin) to text")
    common(dec)
    dec.add_argument("ids", nargs="*", help="token ids (default: read from standard input)")
    dec.add_argument("--skip-special-tokens", action="store_true")
    dec.add_argument("--style", choices=["transformers", "sentencepiece"], default="transformers")
    dec.set_defaults(run=cmd_decode)

    from llamatok.preprocess.cli import add_merge_parser
    from llamatok.preprocess.cli import add_parser as add_preprocess

    add_preprocess(sub)
    add_merge_parser(sub)
    return parser


#: The exit status after Ctrl-C, as a shell reports a process SIGINT ended (128 + 2).
INTERRUPTED = 130
#: The exit status when the reader of the output went away (``| head``), as for a process SIGPIPE ended.
BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    # Unless the user set it: numpy's OpenBLAS starts a thread per core when numpy is imported, each
    # spinning for about a tenth of a second before it sleeps (CPU taken from the encoder's threads as they
    # start). No command calls BLAS.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as e:
        parser.error(str(e))  # exits with status 2
    except BrokenPipeError:
        # Quietly, as other command-line tools stop; what is still buffered goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except (OSError, ValueError, TypeError, IndexError) as e:
        print(f"llamatok: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # A command whose work survives an interruption says how to go on (``on_interrupt``).
        hint = getattr(args, "on_interrupt", None)
        print(f"llamatok {args.command}: interrupted" + (f"; {hint}" if hint else ""), file=sys.stderr)
        return INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
