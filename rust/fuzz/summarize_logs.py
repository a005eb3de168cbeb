"""The table of benches/results/fuzzing.md from the logs .ci/fuzz-long writes (rust/fuzz/logs/<target>.log):
per target, the executions, their rate, the seconds, the coverage libFuzzer last reported (cov: edges or, for
atheris, Python branches; ft: features), the corpus, the peak memory and the outcome. Usage:

    python3 rust/fuzz/summarize_logs.py [log ...]        (default: every log in rust/fuzz/logs/)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LOGS = Path(__file__).resolve().parent / "logs"
# libFuzzer's status lines: "#4096 pulse  cov: 477 ft: 1295 corp: 200/10414b ... exec/s: 8097 rss: 498Mb".
STATUS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)")
FAILURES = ("ERROR: libFuzzer", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "panicked at", "deadly signal",
            "Uncaught Python exception", "Test unit written")


def summarize(log: Path) -> dict[str, str]:
    text = log.read_text(encoding="utf-8", errors="replace")
    fields = dict(re.findall(r"^(command|started|seconds|exit): (.*)$", text, re.M))
    stats = dict(re.findall(r"^stat::(\w+):\s+(\d+)$", text, re.M))
    last = [m for line in text.splitlines() if (m := STATUS.match(line))]
    runs = stats.get("number_of_executed_units")
    if runs is None:  # atheris prints no stats; its "Done N in S second(s)" line has the count
        done = re.search(r"^Done (\d+) (?:runs )?in (\d+) second", text, re.M)
        runs = done.group(1) if done else (last[-1].group(1) if last else "0")
    seconds = fields.get("seconds", "?")
    # libFuzzer also writes a "slow unit" (over -report_slow_units, 10 s) as a test unit and goes on: that is
    # no failure, but it is reported (replay it: it may have been the process held up, not the input).
    slow = re.findall(r"^Slowest unit: (\d+) s:\n.*Test unit written to \S*slow-unit-\S+$", text, re.M)
    failures = sorted({f for f in FAILURES if f in re.sub(r"^.*slow-unit-.*$", "", text, flags=re.M)})
    outcome = "no crash, hang, leak or failed assertion" if fields.get("exit") == "0" and not failures else (
        f"FAILED (exit {fields.get('exit', '?')}: {', '.join(failures) or 'see log'})")
    if slow:
        outcome += f"; {len(slow)} slow unit(s) reported (up to {max(map(int, slow))} s)"
    return {
        "target": log.stem,
        "executions": f"{int(runs):,}",
        "exec/s": stats.get("average_exec_per_sec") or (f"{int(runs) // int(seconds):,}" if seconds.isdigit() and
                                                        int(seconds) else "?"),
        "seconds": seconds,
        "cov / ft": f"{last[-1].group(2)} / {last[-1].group(3)}" if last else "?",
        "corpus": f"{last[-1].group(4)} inputs, {last[-1].group(5)}" if last else "?",
        "peak RSS (MB)": stats.get("peak_rss_mb", "?"),
        "result": outcome,
        "command": fields.get("command", "?"),
        "started": fields.get("started", "?"),
    }


def main() -> None:
    logs = [Path(a) for a in sys.argv[1:]] or sorted(LOGS.glob("*.log"))
    rows = [summarize(log) for log in logs]
    columns = ["target", "executions", "exec/s", "seconds", "cov / ft", "corpus", "peak RSS (MB)", "result"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(row[c] for c in columns) + " |")
    print()
    for row in rows:
        print(f"- `{row['target']}` (started {row['started']}): `{row['command']}`")


if __name__ == "__main__":
    main()
