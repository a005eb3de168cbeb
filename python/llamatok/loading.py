"""Loading the tokenizer a command names: a folder, a ``tokenizer.json``, a ``tokenizer.model`` or a
Hub id in the local cache; without one, the built-in demo vocabulary, with a notice. Used by both
command lines (``llamatok encode/decode`` and ``llamatok preprocess``)."""

from __future__ import annotations

import sys
from typing import Any

from llamatok.code_llama import CodeLlamaTokenizerFast
from llamatok.demo import demo_path

DEMO_NOTICE = ("no --tokenizer given, using the built-in DEMO vocabulary (not a model's; pass --tokenizer "
               "FOLDER|tokenizer.json|tokenizer.model)")


def load_tokenizer(spec: str | None, quiet: bool = False, **kwargs: Any) -> CodeLlamaTokenizerFast:
    """The tokenizer named by ``spec``, or the demo vocabulary (with a notice on standard error
    unless ``quiet``) when ``spec`` is None. Keyword arguments go to ``from_pretrained``."""
    if spec is None:
        if not quiet:
            print(f"llamatok: {DEMO_NOTICE}", file=sys.stderr)
        spec = str(demo_path())
    return CodeLlamaTokenizerFast.from_pretrained(spec, **kwargs)
