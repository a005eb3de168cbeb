"""A small run of tests/differential.py (its long run's figures are in benches/results/fuzzing.md): generated
adversarial text in the three special-token modes against sentencepiece, tokenizers and transformers' slow
tokenizers, zero differences."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import differential  # noqa: E402

TEXTS = 20_000
LONG_TEXTS = 300


def test_no_difference_in_any_mode(codellama_json, llama2_model):
    figures = differential.run(TEXTS, seed=20_000, quiet=True)
    assert figures["differences"] == {"literal": 0, "legacy": 0, "non_legacy": 0}, figures["examples"]
    compared = figures["compared"]
    assert compared["literal"] == compared["legacy"] == compared["non_legacy"] == TEXTS
    # The piece comparison with the slow CodeLlamaTokenizer applies to a part of the texts only: enough of them.
    assert compared["non_legacy (CodeLlama pieces)"] > TEXTS // 5, compared
    # Every adversarial class is in many texts.
    assert min(figures["texts_with_class"].values()) > TEXTS // 3, figures["texts_with_class"]


def test_no_difference_on_long_runs_in_any_mode(codellama_json, llama2_model):
    """Texts of 1 to 12 KB without cut points (merged in windows) between adversarial fragments: special tokens
    and whitespace right against a long run, in every mode."""
    figures = differential.run(LONG_TEXTS, seed=20_001, batch=100, quiet=True, long=True)
    assert figures["differences"] == {"literal": 0, "legacy": 0, "non_legacy": 0}, figures["examples"]
    kinds = {k: n for k, n in figures["texts_with_class"].items() if k.startswith("long ")}
    assert len(kinds) == len(differential.LONG_KINDS) and min(kinds.values()) > LONG_TEXTS // 10, kinds
