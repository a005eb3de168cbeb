"""What checkpointing costs ``llamatok preprocess``: the corpus of ``preprocess_bench.py`` as one JSONL file,
with a checkpoint after every batch (``--checkpoint-seconds 0``, what every run did before session 28) and
with the default interval, side by side in one process, the runs interleaved.

    python benches/checkpoint_bench.py [--runs 7] [--fsync-ms 0 5]

``--fsync-ms``: each value is a setting of the file system, run in turn. 0 is this machine's own; a value
above 0 adds that many milliseconds to every ``os.fsync`` (a sleep, which releases the GIL as a wait on a
disk does), standing for a file system whose fsync is slow: a network file system, a disk shared by many
jobs. Prints the processing MB/s of each run and the medians' ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from preprocess_bench import DEFAULT_TOKENIZER, stdlib_texts  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--fsync-ms", type=float, nargs="+", default=[0.0, 5.0])
    ap.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER))
    args = ap.parse_args()
    import llamatok.preprocess as pp

    real_fsync = os.fsync
    texts = stdlib_texts()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "corpus.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}) + "\n")
        size = os.path.getsize(path)
        print(f"{len(texts)} documents, {size / 1e6:.1f} MB of JSONL")
        for delay in args.fsync_ms:
            def fsync(fd: int, delay: float = delay) -> None:
                real_fsync(fd)
                time.sleep(delay / 1000)

            os.fsync = fsync if delay else real_fsync
            speeds: dict[float, list[float]] = {0.0: [], 1.0: []}
            for run in range(args.runs):
                for seconds in speeds:
                    summary = pp.run(path, os.path.join(tmp, f"out-{run}-{seconds}"), tokenizer=args.tokenizer,
                                     quiet=True, append_eod=True, checkpoint_seconds=seconds)
                    speeds[seconds].append(size / summary["seconds"] / 1e6)
            os.fsync = real_fsync
            for seconds, mbs in speeds.items():
                print(f"fsync +{delay:g} ms, --checkpoint-seconds {seconds:g}: MB/s " +
                      " ".join(f"{x:.0f}" for x in mbs) + f"  median {statistics.median(mbs):.1f}")
            print(f"fsync +{delay:g} ms: default interval / every batch (medians): "
                  f"{statistics.median(speeds[1.0]) / statistics.median(speeds[0.0]):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
