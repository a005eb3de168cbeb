"""transformers 4.57.6's own shared tokenizer tests (``TokenizerTesterMixin`` of its
``tests/test_tokenization_common.py``, fetched from the sdist on PyPI by tests/fetch_transformers_tests.py)
run twice in the same configuration: with transformers' ``CodeLlamaTokenizerFast`` and with llamatok's, on
the Hub's Code Llama files. The configuration mirrors transformers' ``tests/models/code_llama/
test_tokenization_code_llama.py`` (the saved tokenizer has ``pad_token = eos_token``; ``get_tokenizers``
adds ``pad_token="<PAD>"``), with the fast class tested (upstream tests only the slow one, from a
sentencepiece model Code Llama's Hub files do not include; here there is no slow tokenizer).

The assertion: every test transformers' class passes, llamatok's passes too, except the few listed in
``DIFFERENCES`` with the reason. Tests transformers' own class fails need not pass.
"""

from __future__ import annotations

import gc
import importlib.util
import shutil
import sys
import unittest
import warnings
from pathlib import Path
from typing import Any

import pytest

import llamatok
from conftest import CODELLAMA_DIR, ROOT, require

VERSION = "4.57.6"
MIXIN_FILE = ROOT / ".cache" / "transformers-tests" / VERSION / "tests" / "test_tokenization_common.py"
GET_MIXIN = "run python tests/fetch_transformers_tests.py (tests/run does)"

#: Tests transformers' class passes and llamatok's does not, each with the reason (a documented difference).
DIFFERENCES: dict[str, str] = {
    "test_maximum_encoding_length_single_input": (
        "its last step reads the overflow the slow tokenizers' way (an 'overflowing_tokens' key) for any class "
        "that is not a subclass of transformers' PreTrainedTokenizerFast; llamatok returns it as tokenizers does, "
        "as extra rows of input_ids, like transformers' fast class (compared in test_transformers_parity.py)"
    ),
}


def load_mixin() -> Any:
    require(MIXIN_FILE, GET_MIXIN)
    transformers = pytest.importorskip("transformers")
    if transformers.__version__ != VERSION:
        pytest.fail(f"the mixin is transformers {VERSION}'s; transformers {transformers.__version__} is installed")
    pytest.importorskip("parameterized")
    transformers.logging.set_verbosity_error()
    spec = importlib.util.spec_from_file_location("transformers_tokenizer_tests", MIXIN_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.TokenizerTesterMixin


def case_for(mixin: Any, fast_class: type, saved: Path) -> type:
    """A ``unittest.TestCase`` of the mixin for ``fast_class``, configured as transformers' Code Llama test."""
    import transformers

    class CodeLlamaMixinCase(mixin, unittest.TestCase):  # type: ignore[misc,valid-type]
        tokenizer_class = transformers.CodeLlamaTokenizer
        rust_tokenizer_class = fast_class
        test_slow_tokenizer = False
        test_rust_tokenizer = True
        test_sentencepiece = True
        from_pretrained_id = [str(CODELLAMA_DIR)]
        from_pretrained_kwargs: dict[str, Any] = {}

        @classmethod
        def setUpClass(cls) -> None:
            super().setUpClass()
            shutil.copytree(saved, cls.tmpdirname, dirs_exist_ok=True)

        def get_tokenizers(self, **kwargs: Any) -> Any:
            kwargs.update({"pad_token": "<PAD>"})
            return super().get_tokenizers(**kwargs)

    return CodeLlamaMixinCase


def run_case(case: type) -> dict[str, tuple[str, str]]:
    """Each test's outcome (pass, fail, skip) and, for a failure, its traceback."""
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
    # Named before the run: a suite lets go of each test once it has run.
    outcome: dict[str, tuple[str, str]] = {t._testMethodName: ("pass", "") for t in suite}  # type: ignore[attr-defined]
    result = unittest.TestResult()
    # transformers' own tests leave files open (json.load(open(...)) in its chat template tests).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        suite.run(result)
        gc.collect()
    for test, trace in result.failures + result.errors:
        name = getattr(test, "test_case", test)._testMethodName
        if outcome.get(name, ("", ""))[0] != "fail":
            outcome[name] = ("fail", trace)
    for test, reason in result.skipped:
        name = getattr(test, "test_case", test)._testMethodName
        if outcome[name][0] == "pass":
            outcome[name] = ("skip", reason)
    return outcome


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    mixin = load_mixin()
    import transformers

    require(CODELLAMA_DIR / "tokenizer.json")
    saved = tmp_path_factory.mktemp("saved")
    tokenizer = transformers.CodeLlamaTokenizerFast.from_pretrained(str(CODELLAMA_DIR))
    tokenizer.pad_token = tokenizer.eos_token
    tokenizer.save_pretrained(saved)
    theirs = run_case(case_for(mixin, transformers.CodeLlamaTokenizerFast, saved))
    ours = run_case(case_for(mixin, llamatok.CodeLlamaTokenizerFast, saved))
    return ours, theirs


def test_llamatok_passes_every_shared_test_transformers_passes(outcomes):
    ours, theirs = outcomes
    passed = {name for name, (o, _) in theirs.items() if o == "pass"}
    ours_passed = {name for name, (o, _) in ours.items() if o == "pass"}
    print(f"\ntransformers {VERSION}'s TokenizerTesterMixin on Code Llama: llamatok passes {len(ours_passed)} of "
          f"{len(ours)}, transformers' CodeLlamaTokenizerFast {len(passed)} of {len(theirs)}; skipped by the mixin: "
          f"{sum(o == 'skip' for o, _ in theirs.values())}")
    missing = sorted(passed - ours_passed - set(DIFFERENCES))
    details = "\n\n".join(f"{name}:\n{ours[name][1]}" for name in missing)
    assert not missing, f"{len(missing)} tests pass with transformers' class, not with llamatok's:\n{details}"
    assert set(DIFFERENCES) <= passed - ours_passed, "a listed difference is gone: remove it from DIFFERENCES"
