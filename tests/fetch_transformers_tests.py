"""Fetches transformers 4.57.6's shared tokenizer tests (``tests/test_tokenization_common.py``, which holds
``TokenizerTesterMixin``, and the ``tests/fixtures/sample_text.txt`` it reads) from the transformers sdist on
PyPI into ``.cache/transformers-tests/`` for tests/api/test_transformers_mixin.py. Nothing of it is copied
into the repository. Usage: ``python tests/fetch_transformers_tests.py``."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "4.57.6"
#: The sdist's SHA-256 (PyPI's), checked before anything is read from it.
SHA256 = "55e44126ece9dc0a291521b7e5492b572e6ef2766338a610b9ab5afbb70689d3"
MEMBERS = ("tests/test_tokenization_common.py",)
#: The mixin reads ``tests/fixtures/sample_text.txt``, which the sdist does not ship; this stand-in (prose
#: and code, a few paragraphs) takes its place. Only slow-vs-fast comparisons read it.
SAMPLE_TEXT = "\n\n".join(
    f"Paragraph {i}: the tokenizer reads this text, encodes it, and decodes it back. It has words, numbers "
    f"({i * 37}), punctuation; and code: def f_{i}(x):\n    return x * {i}  # ünïcödé 日本"
    for i in range(40)
) + "\n"
TARGET = Path(__file__).resolve().parents[1] / ".cache" / "transformers-tests" / VERSION


def main() -> int:
    sample = TARGET / "tests" / "fixtures" / "sample_text.txt"
    if all((TARGET / m).exists() for m in MEMBERS) and sample.exists():
        print(f"{TARGET} already present")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             f"transformers=={VERSION}", "-d", tmp],
            check=True,
        )
        sdist = next(Path(tmp).glob("transformers-*.tar.gz"))
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != SHA256:
            raise SystemExit(f"{sdist.name} has SHA-256 {digest}, not {SHA256}")
        with tarfile.open(sdist) as tar:
            for member in MEMBERS:
                data = tar.extractfile(f"transformers-{VERSION}/{member}")
                if data is None:
                    raise SystemExit(f"{member} is not a file in {sdist.name}")
                out = TARGET / member
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data.read())
    sample.parent.mkdir(parents=True, exist_ok=True)
    sample.write_text(SAMPLE_TEXT, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
