"""Fixtures for the reference tests: the real model files and the oracle libraries loaded on them.

The model files are not part of the repository (Llama 2 Community License). They are looked for in
``$LLAMATOK_FIXTURES``, else in ``../shared/fixtures`` seen from the project root; a test whose file
is absent is skipped and says which file it wanted.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if importlib.util.find_spec("llamatok") is None:  # not installed: use the source tree
    sys.path.insert(0, str(ROOT / "python"))
try:
    import llamatok  # noqa: F401
except ImportError:
    # The native module is not built. The reference is pure Python and needs none of it: make
    # `llamatok` a bare package so that `llamatok.reference` can still be imported.
    _package = types.ModuleType("llamatok")
    _package.__path__ = [str(ROOT / "python" / "llamatok")]
    sys.modules["llamatok"] = _package

FIXTURES = Path(os.environ.get("LLAMATOK_FIXTURES", ROOT.parent / "shared" / "fixtures"))
MODEL_FILE = FIXTURES / "llama2-tokenizer.model"
HF_DIR = FIXTURES / "codellama-7b-hf"
JSON_FILE = HF_DIR / "tokenizer.json"
LLAMA_CPP_INPUTS = FIXTURES / "ggml-vocab-llama-spm.gguf.inp"
LLAMA_CPP_OUTPUTS = FIXTURES / "ggml-vocab-llama-spm.gguf.out"

# Code Llama's infill tokens, which transformers registers as additional special tokens.
INFILL_TOKENS = {"▁<PRE>": 32007, "▁<SUF>": 32008, "▁<MID>": 32009, "▁<EOT>": 32010}


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"fixture file {path} is absent (set LLAMATOK_FIXTURES to the fixtures folder)")
    return path


@pytest.fixture(scope="session")
def model_path() -> Path:
    return require(MODEL_FILE)


@pytest.fixture(scope="session")
def json_path() -> Path:
    return require(JSON_FILE)


@pytest.fixture(scope="session")
def ref_model(model_path):
    """The reference tokenizer on Llama 2's tokenizer.model."""
    from llamatok.reference import load

    return load(model_path)


@pytest.fixture(scope="session")
def ref_json(json_path):
    """The reference tokenizer on Code Llama's tokenizer.json."""
    from llamatok.reference import load

    return load(json_path)


@pytest.fixture(scope="session")
def sp(model_path):
    """Oracle: sentencepiece on the tokenizer.model."""
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_file=str(model_path))


@pytest.fixture(scope="session")
def hf(json_path):
    """Oracle: tokenizers on the tokenizer.json."""
    import tokenizers

    return tokenizers.Tokenizer.from_file(str(json_path))


@pytest.fixture(scope="session")
def slow_non_legacy(model_path):
    """Oracle: transformers' slow LlamaTokenizer with legacy=False."""
    import transformers

    return transformers.LlamaTokenizer(vocab_file=str(model_path), legacy=False)


@pytest.fixture(scope="session")
def slow_code_llama(model_path):
    """Oracle: transformers' slow CodeLlamaTokenizer with legacy=False (infill tokens get ids 32000..)."""
    import transformers

    return transformers.CodeLlamaTokenizer(vocab_file=str(model_path), legacy=False)


@pytest.fixture(scope="session")
def fast_code_llama(json_path):
    """Oracle: transformers 4.x CodeLlamaTokenizerFast on the Hub files (legacy, infill tokens special)."""
    import transformers

    return transformers.CodeLlamaTokenizerFast.from_pretrained(str(json_path.parent))
