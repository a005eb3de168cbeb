"""The messages llamatok logs where transformers logs one: the same text, on the same logger, as often
(docs/transformers.md, "Log messages"), so that a program's logging set-up for transformers applies."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import pytest
from api_fixtures import folder_of, load_oracle, load_ours

NAMES = ["transformers.tokenization_utils_base", "transformers.utils.chat_template_utils", "llamatok"]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[tuple[str, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.name, record.levelname, record.getMessage()))


@contextmanager
def recorded() -> Iterator[list[tuple[str, str, str]]]:
    """The warnings and errors of the loggers in NAMES, whatever levels transformers' import set on them."""
    handler = Records()
    loggers = [logging.getLogger(name) for name in NAMES]
    saved = [(lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    try:
        yield handler.seen
    finally:
        for lg, (level, disabled) in zip(loggers, saved):
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.disabled = disabled


def _too_long_twice(tok: Any) -> None:
    tok.model_max_length = 8
    tok("word " * 20)
    tok("word " * 30)  # logged once per tokenizer


def _too_long_padded(tok: Any) -> None:
    tok.model_max_length = 8
    tok.pad_token = tok.eos_token
    lengths_set = [{"padding": "max_length"}, {"padding": True, "max_length": 4, "truncation": True},
                   {"truncation": True}]
    for kwargs in lengths_set:
        tok(["word " * 30], **kwargs)  # a length is set: no message
    tok(["word " * 10, "word " * 30], padding=True)  # the first row that is too long is named
    tok.deprecation_warnings = {}
    tok(["a", "b c"], padding=True, pad_to_multiple_of=16)  # rows as padded


def _truncate_too_much(tok: Any) -> None:
    ids = tok.encode("a b c", add_special_tokens=False)
    tok.truncate_sequences(ids, num_tokens_to_remove=len(ids) + 3, truncation_strategy="only_first")
    tok.truncate_sequences(ids, pair_ids=ids, num_tokens_to_remove=2 * len(ids) + 1,
                           truncation_strategy="longest_first")
    tok.truncate_sequences(ids, pair_ids=ids, num_tokens_to_remove=len(ids) + 1, truncation_strategy="only_second")


def _mask_without_generation_block(tok: Any) -> None:
    tok.apply_chat_template([{"role": "user", "content": "hi"}], chat_template="{{ messages[0].content }}",
                            tokenize=True, return_dict=True, return_assistant_tokens_mask=True)


CASES: dict[str, Callable[[Any], None]] = {
    "sequence longer than model_max_length": _too_long_twice,
    "padded rows longer than model_max_length": _too_long_padded,
    "truncate_sequences removing too much": _truncate_too_much,
    "assistant mask without a generation block": _mask_without_generation_block,
}


@pytest.mark.parametrize("case", CASES)
def test_the_same_records_as_transformers(case):
    folder = folder_of("codellama")
    calls = CASES[case]
    oracle, tok = load_oracle(folder), load_ours(folder)
    with recorded() as theirs:
        calls(oracle)
    with recorded() as ours:
        calls(tok)
    assert theirs, f"{case}: transformers logged nothing: the case no longer tests anything"
    assert ours == theirs
