"""Preprocessing throughput, side by side in one run: llamatok's core batch encode, ``llamatok
preprocess`` end to end (a source tree and a JSONL file), and Megatron-LM's ``preprocess_data.py``
approach (a ``multiprocessing.Pool`` over a transformers tokenizer, one worker per core).

    python benches/preprocess_bench.py [--tokenizer FOLDER] [--json results.json] [--repeat 3]

The corpus is the standard library's own ``.py`` sources (site-packages excluded), which every
machine has. Each measurement loads its tokenizer fresh (its chunk cache starts cold), so the core
and the pipeline are compared on equal terms. Rows:

- core: ``encode_batch_flat`` on all texts already in memory (tokenizer load not timed);
- preprocess: ``llamatok.preprocess.run`` (reading, encoding, writing ``.bin``/``.idx``, rejects,
  summary, fsync'd checkpoints); "processing" excludes the tokenizer load, "wall" includes it;
- megatron approach: JSONL lines through ``Pool.imap`` of workers that each load
  ``transformers.AutoTokenizer`` (``split_special_tokens=True``, i.e. the literal mode) and write
  the same ``.bin``/``.idx``; wall time, as Megatron users wait for it.

Ratios: preprocess processing vs core (the issue asks >= 0.8), Megatron wall vs preprocess wall on
the same JSONL (asks >= 10), and whether both wrote identical bytes. ``--writers`` adds (and
``--writers-only`` runs alone) what each ``--format`` writer costs next to the core's batch encode of
the same corpus (writer_costs.py; the issue asks < 10% per format); ``--writers-only`` also measures them
on a corpus of short documents (compare.py's 200,000 lines of code, each a document). The same short documents
as JSONL give the last rows: the core on them, and ``llamatok preprocess`` on the JSONL, where the pipeline's
work per document weighs most.
"""

from __future__ import annotations

import argparse
import glob
import json
import multiprocessing
import os
import struct
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TOKENIZER = Path(os.environ.get("LLAMATOK_FIXTURES", ROOT.parent / "shared" / "fixtures")) / "codellama-7b-hf"


def stdlib_root() -> str:
    return sysconfig.get_paths()["stdlib"]


def stdlib_texts() -> list[str]:
    root = stdlib_root()
    paths = sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True))
    texts = []
    for p in paths:
        if f"{os.sep}site-packages{os.sep}" in p:
            continue
        try:
            texts.append(Path(p).read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return texts


# -- Megatron's approach ---------------------------------------------------------------------------
# What tools/preprocess_data.py does for one JSONL file without --split-sentences: a Pool whose
# workers each load the tokenizer, imap over the lines with chunks of 25, ids appended per document
# to an indexed dataset builder. Written here from the format (docs/shards.md), not copied.

_TOKENIZER: Any = None


def _init_worker(path: str) -> None:
    global _TOKENIZER
    import transformers

    transformers.logging.set_verbosity_error()
    _TOKENIZER = transformers.AutoTokenizer.from_pretrained(path, split_special_tokens=True)


def _encode_line(line: str):
    text = json.loads(line)["text"]
    ids = _TOKENIZER(text).input_ids
    if ids:
        ids.append(_TOKENIZER.eos_token_id)
    return ids, len(line)


def megatron_approach(jsonl: str, tokenizer: str, prefix: str, workers: int) -> dict[str, Any]:
    start = time.perf_counter()
    lengths: list[int] = []
    with open(jsonl, encoding="utf-8") as fin, open(prefix + ".bin", "wb") as bin_file:
        with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(tokenizer,)) as pool:
            for ids, _ in pool.imap(_encode_line, fin, 25):
                bin_file.write(np.array(ids, dtype=np.uint16).tobytes())
                lengths.append(len(ids))
    lens = np.array(lengths, np.int64)
    seq = lens[lens > 0]
    pointers = np.concatenate([[0], np.cumsum(seq[:-1] * 2)]).astype("<i8") if len(seq) else np.zeros(0, "<i8")
    with open(prefix + ".idx", "wb") as f:
        f.write(b"MMIDIDX\x00\x00" + struct.pack("<QBQQ", 1, 8, len(seq), len(lens) + 1))
        f.write(seq.astype("<i4").tobytes())
        f.write(pointers.tobytes())
        f.write(np.concatenate([[0], np.cumsum(lens > 0)]).astype("<i8").tobytes())
    return {"wall_seconds": time.perf_counter() - start}


# -- llamatok --------------------------------------------------------------------------------------

def core_encode(tokenizer: str, texts: list[str]) -> float:
    import llamatok

    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(tokenizer)
    start = time.perf_counter()
    tok.backend_tokenizer.encode_batch_flat(texts, "literal", True, None, "uint16")
    return time.perf_counter() - start


def preprocess(inputs: Any, prefix: str, tokenizer: str, **kw: Any) -> dict[str, Any]:
    import llamatok.preprocess as pp

    start = time.perf_counter()
    summary = pp.run(inputs, prefix, tokenizer=tokenizer, quiet=True, append_eod=True, **kw)
    wall = time.perf_counter() - start
    return {"wall_seconds": wall, "processing_seconds": summary["seconds"], "documents": summary["documents"],
            "tokens": summary["tokens"], "input_bytes": summary["input_bytes"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER),
                    help="tokenizer folder (default: the Code Llama fixture)")
    ap.add_argument("--json", default="preprocess_bench.json", help="where to write the results")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each llamatok measurement (best is kept)")
    ap.add_argument("--skip-megatron", action="store_true", help="skip the slow Megatron-approach run")
    ap.add_argument("--writers", action="store_true", help="also measure each --format writer against the core")
    ap.add_argument("--writers-only", action="store_true", help="measure only the writers against the core")
    args = ap.parse_args()
    if not Path(args.tokenizer).exists():
        import llamatok

        print(f"{args.tokenizer} is absent: using the DEMO vocabulary (numbers are not Code Llama's)", file=sys.stderr)
        args.tokenizer = str(llamatok.demo_path())
    cores = os.cpu_count() or 1
    texts = stdlib_texts()
    if args.writers or args.writers_only:
        from workloads import lines
        from writer_costs import markdown, measure, report

        with tempfile.TemporaryDirectory() as tmp:
            writers = measure(args.tokenizer, texts, tmp, args.repeat)
        print(report(writers))
        if args.writers_only:
            with tempfile.TemporaryDirectory() as tmp:
                short = measure(args.tokenizer, lines(), tmp, args.repeat)
            print("short documents:\n" + report(short))
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"writers": writers, "writers_short_documents": short, "tokenizer": args.tokenizer,
                           "documents": len(texts)}, f, indent=2)
            table = os.path.splitext(args.json)[0] + ".md"
            with open(table, "w", encoding="utf-8") as f:
                f.write(markdown(writers, short))
            print(f"results: {args.json}, {table}")
            return 0
    text_bytes = sum(len(t.encode("utf-8")) for t in texts)
    results: dict[str, Any] = {"corpus": f"{stdlib_root()} *.py (no site-packages)", "documents": len(texts),
                               "text_bytes": text_bytes, "cores": cores, "tokenizer": args.tokenizer}
    if args.writers:
        results["writers"] = writers
    from workloads import lines

    short = lines()
    short_bytes = sum(len(t.encode("utf-8")) for t in short)
    with tempfile.TemporaryDirectory() as tmp:
        jsonl, short_jsonl = os.path.join(tmp, "stdlib.jsonl"), os.path.join(tmp, "short.jsonl")
        for path, docs in ((jsonl, texts), (short_jsonl, short)):
            with open(path, "w", encoding="utf-8") as f:
                for t in docs:
                    f.write(json.dumps({"text": t}) + "\n")
        # Interleaved, so that the machine's other load falls on every measurement alike.
        core_runs, dir_runs, jsonl_runs, short_core_runs, short_jsonl_runs = [], [], [], [], []
        for _ in range(args.repeat):
            core_runs.append(core_encode(args.tokenizer, texts))
            dir_runs.append(preprocess(stdlib_root(), os.path.join(tmp, "dir"), args.tokenizer, include=["*.py"],
                                       exclude=["site-packages"]))
            jsonl_runs.append(preprocess(jsonl, os.path.join(tmp, "jsonl"), args.tokenizer))
            short_core_runs.append(core_encode(args.tokenizer, short))
            short_jsonl_runs.append(preprocess(short_jsonl, os.path.join(tmp, "short"), args.tokenizer))
        results["core_seconds"] = min(core_runs)
        results["preprocess_dir"] = min(dir_runs, key=lambda r: r["processing_seconds"])
        results["preprocess_jsonl"] = min(jsonl_runs, key=lambda r: r["wall_seconds"])
        results["short_documents"] = {"documents": len(short), "text_bytes": short_bytes,
                                      "core_seconds": min(short_core_runs),
                                      "preprocess_jsonl": min(short_jsonl_runs, key=lambda r: r["processing_seconds"])}
        if not args.skip_megatron:
            results["megatron_approach"] = megatron_approach(jsonl, args.tokenizer, os.path.join(tmp, "megatron"),
                                                             cores)
            results["megatron_identical_bytes"] = all(
                Path(tmp, "megatron" + ext).read_bytes() == Path(tmp, "jsonl" + ext).read_bytes()
                for ext in (".bin", ".idx"))
    core = results["core_seconds"]
    d, j = results["preprocess_dir"], results["preprocess_jsonl"]
    mb = text_bytes / 1e6
    sd = results["short_documents"]
    short_mb, short_core, sj = sd["text_bytes"] / 1e6, sd["core_seconds"], sd["preprocess_jsonl"]
    rows = [("core encode_batch_flat (texts in memory)", core, None, mb),
            ("preprocess, source tree: processing", d["processing_seconds"], core / d["processing_seconds"], mb),
            ("preprocess, source tree: wall incl. tokenizer load", d["wall_seconds"], core / d["wall_seconds"], mb),
            ("preprocess, JSONL: processing", j["processing_seconds"], core / j["processing_seconds"], mb),
            ("preprocess, JSONL: wall incl. tokenizer load", j["wall_seconds"], core / j["wall_seconds"], mb),
            (f"short documents ({sd['documents']:,}): core", short_core, None, short_mb),
            ("short documents, JSONL: processing", sj["processing_seconds"], short_core / sj["processing_seconds"],
             short_mb)]
    results["ratio_preprocess_vs_core"] = core / d["processing_seconds"]
    sd["ratio_preprocess_jsonl_vs_core"] = short_core / sj["processing_seconds"]
    print(f"{len(texts)} files, {mb:.1f} MB of text, {cores} cores, tokenizer {args.tokenizer}")
    print(f"{'measurement':<52}{'seconds':>9}{'MB/s':>9}{'vs core':>9}")
    for name, sec, ratio, size in rows:
        print(f"{name:<52}{sec:>9.3f}{size / sec:>9.1f}{'' if ratio is None else f'{ratio:>9.2f}'}")
    if "megatron_approach" in results:
        m = results["megatron_approach"]["wall_seconds"]
        results["ratio_megatron_wall_vs_preprocess_wall"] = m / j["wall_seconds"]
        print(f"{'Megatron approach (Pool + transformers), JSONL: wall':<52}{m:>9.3f}{mb / m:>9.1f}{core / m:>9.2f}")
        print(f"llamatok preprocess is {m / j['wall_seconds']:.1f}x faster than the Megatron approach on the same "
              "JSONL (wall, both including tokenizer loads); identical .bin/.idx bytes: "
              f"{results['megatron_identical_bytes']}")
    print(f"preprocess (source tree) processing throughput is {results['ratio_preprocess_vs_core']:.0%} of the core's")
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
