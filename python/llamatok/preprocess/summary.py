"""The summary of a run: what was read, what was written, what was rejected, how fast."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def build(state: dict[str, Any], *, keys: Sequence[str], inputs: list[str], outputs: dict[str, Any],
          tokenizer: dict[str, Any], options: dict[str, Any], engine: str,
          startup_seconds: float = 0.0) -> dict[str, Any]:
    """``seconds`` is the processing time (summed over resumed runs); ``startup_seconds`` the time
    this run spent before it (loading the tokenizer, listing the inputs)."""
    seconds = max(float(state["seconds"]), 1e-9)
    tokens = int(sum(state["tokens"]))
    rejected = dict(sorted(state["rejected"].items()))
    summary: dict[str, Any] = {
        "documents": int(state["documents"]),
        "tokens": tokens,
        "input_bytes": int(state["input_bytes"]),
        "rejected": sum(rejected.values()),
        "rejected_by_reason": rejected,
        "blank_lines": int(state["blank_lines"]),
        "seconds": round(seconds, 3),
        "startup_seconds": round(startup_seconds, 3),
        "throughput": {
            "documents_per_second": round(state["documents"] / seconds, 1),
            "megabytes_per_second": round(state["input_bytes"] / seconds / 1e6, 2),
            "tokens_per_second": round(tokens / seconds),
        },
    }
    if len(keys) > 1:
        summary["tokens_by_key"] = {k: int(t) for k, t in zip(keys, state["tokens"])}
    summary.update({
        "inputs": inputs,
        "outputs": outputs,
        "tokenizer": tokenizer,
        "options": options,
        "engine": engine,
        "runs": int(state.get("runs", 1)),
        "fingerprint": state["fingerprint"],
    })
    return summary
