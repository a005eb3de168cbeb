"""What matching user-defined pieces costs: llamatok's literal encode of the standard library's sources on
Mistral's v2 model (no user-defined pieces: the plain encoder) and on v7 (22 user-defined pieces: the
matcher runs over every byte), side by side in one run, with sentencepiece on the same two files.

    python tests/fetch_mistral.py && python benches/user_defined.py [--repeat 5] [--json out.json]

Single calls on one thread (``encode`` per file, each pass in a fresh tokenizer so the chunk memo starts
cold) and one ``encode_batch`` on all cores; best of ``--repeat`` rounds, the two models alternating. The
ratio v7/v2 of llamatok is the matcher's cost; sentencepiece's own v7/v2 ratio is printed beside it. Both
libraries' ids are compared first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llamatok  # noqa: E402
from preprocess_bench import stdlib_texts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "v2 (no user-defined)": ROOT / ".cache" / "mistral" / "mistral_instruct_tokenizer_240216.model.v2",
    "v7 (22 user-defined)": ROOT / ".cache" / "mistral" / "mistral_instruct_tokenizer_241114.model.v7",
}


def single_calls(path: Path, texts: list[str]) -> None:
    tok = llamatok.Tokenizer.from_file(str(path))  # fresh: its chunk memo starts cold
    for text in texts:
        tok.encode(text, "literal")


def one_batch(path: Path, texts: list[str]) -> None:
    llamatok.Tokenizer.from_file(str(path)).encode_batch(texts, "literal")


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import sentencepiece

    texts = stdlib_texts()
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    processors = {}
    for name, path in MODELS.items():
        if not path.exists():
            sys.exit(f"{path} is absent: run python tests/fetch_mistral.py")
        processors[name] = sentencepiece.SentencePieceProcessor(model_file=str(path))
        expected = processors[name].encode(texts)
        assert llamatok.Tokenizer.from_file(str(path)).encode_batch(texts, "literal") == expected, name
    times: dict[str, dict[str, list[float]]] = {name: {} for name in MODELS}
    # Round after round, each model in turn: both see the same load on the machine.
    for _ in range(args.repeat):
        for name, path in MODELS.items():
            sp = processors[name]
            row = times[name]
            row.setdefault("llamatok single calls MB/s", []).append(seconds(partial(single_calls, path, texts)))
            row.setdefault("llamatok encode_batch MB/s", []).append(seconds(partial(one_batch, path, texts)))
            row.setdefault("sentencepiece MB/s", []).append(seconds(partial(sp.encode, texts)))
    rows = {name: {key: mb / min(values) for key, values in row.items()} for name, row in times.items()}
    names = list(rows)
    print(f"{len(texts)} files, {mb:.1f} MB; best of {args.repeat}; ids equal sentencepiece's on both models")
    print(f"| measurement | {names[0]} | {names[1]} | v7 / v2 |")
    print("|---|---:|---:|---:|")
    for key in rows[names[0]]:
        a, b = rows[names[0]][key], rows[names[1]][key]
        print(f"| {key} | {a:.1f} | {b:.1f} | {b / a:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"files": len(texts), "mb": mb, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
