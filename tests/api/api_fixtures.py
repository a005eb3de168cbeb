"""Inputs and fixtures of the API tests: llamatok's CodeLlamaTokenizerFast and its oracle, transformers
4.57's CodeLlamaTokenizerFast, loaded from the same folder (the Hub's Code Llama files, and the demo
vocabulary). Test modules import the fixtures they use from here (a second conftest.py would shadow
tests/conftest.py).

The oracle keeps state between calls (its infill mode), so a test that makes it fail gets its own copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable

import pytest

import llamatok
from conftest import CODELLAMA_DIR, require

VOCABS = ["codellama", "demo"]

LONG_CODE = "".join(
    f"def function_{i}(a, b={i}):\n    \"\"\"Doc {i}: ünïcödé and 日本.\"\"\"\n    return a * b + {i}  # 😀\n\n"
    for i in range(12)
)

#: Plain texts: code, prose, special-token text, empty and whitespace-only, CJK and emoji.
TEXTS = [
    "def f(x):\n    return x\n",
    "import os\n\nclass A:\n\tdef __init__(self):\n\t\tself.x = {'a': [1, 2]}  # comment\n",
    "The quick brown fox jumps over the lazy dog. It's 3.14, isn't it? Yes !",
    "Hello <s>.",
    "<s>Hello",
    "a</s>b",
    " </s> <unk> x",
    "\u2581<PRE> x \u2581<SUF> y \u2581<MID>",
    "<0x41> <EOT> <E1 \u2581<EOT>",
    "<s>",
    "</s></s> ",
    "  <s>  x",
    "<s>\n</s>日本\t",
    LONG_CODE,
    "",
    " ",
    "   ",
    "\n",
    "\t \n  ",
    "日本語のテキスト",
    "emoji 😀👍🏽 ok",
    "mixed 中文 and \u2581 marks",
]

#: Infill prompts as (prefix, suffix).
INFILLS = [
    ("def f(x):\n    ", "\n    return y\n"),
    ("", "x"),
    ("x", " "),
    ("  indented", "  end"),
    ("a <s> b", "c </s>"),
    ("日本", "😀"),
    ("\n", "\n"),
    ("def remove_non_ascii(s: str) -> str:\n    \"\"\" ", "\n    return result\n"),
]

#: Texts with a <FILL_ME> marker (the seed's example first).
FILL_TEXTS = [
    'def remove_non_ascii(s: str) -> str:\n    """ <FILL_ME>\n    return result\n',
    "<FILL_ME>",
    "a<FILL_ME>",
    "<FILL_ME>b",
    "x = <FILL_ME> + 1",
]


def folder_of(name: str) -> Path:
    if name == "demo":
        return llamatok.demo_path()
    require(CODELLAMA_DIR / "tokenizer.json")
    return CODELLAMA_DIR


def load_oracle(folder: Path, **kwargs: Any) -> Any:
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    return transformers.CodeLlamaTokenizerFast.from_pretrained(str(folder), **kwargs)


def load_ours(folder: Path, **kwargs: Any) -> llamatok.CodeLlamaTokenizerFast:
    return llamatok.CodeLlamaTokenizerFast.from_pretrained(folder, **kwargs)


@pytest.fixture(scope="session", params=VOCABS)
def vocab(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def folder(vocab) -> Path:
    return folder_of(vocab)


@pytest.fixture(scope="session")
def ours(folder):
    return load_ours(folder)


@pytest.fixture(scope="session")
def oracle(folder):
    return load_oracle(folder)


@pytest.fixture(scope="session")
def codellama_ours():
    return load_ours(folder_of("codellama"))


def mismatches(inputs: Iterable[Any], ours_fn: Callable[[Any], Any],
               oracle_fn: Callable[[Any], Any]) -> list[tuple[Any, Any, Any]]:
    """The inputs on which the two functions disagree, with both results."""
    out = []
    for item in inputs:
        a, b = ours_fn(item), oracle_fn(item)
        if a != b:
            out.append((item, a, b))
    return out


def as_plain(value: Any) -> Any:
    """A BatchEncoding (ours or transformers') as a plain dict of lists, for comparison."""
    data = dict(value.items()) if hasattr(value, "items") else value
    out = {}
    for key, v in data.items():
        if hasattr(v, "tolist"):
            v = v.tolist()
        out[key] = _tuples_to_lists(v)
    return out


def _tuples_to_lists(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_tuples_to_lists(x) for x in v]
    return v
