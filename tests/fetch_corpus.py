"""Fetches the test corpus, Django 5.1.4's source distribution (BSD-3-Clause), from PyPI into ``.cache/corpus/``
and checks it against its pinned SHA-256. Usage: ``python tests/fetch_corpus.py``.

Its ``.py`` files (2788, all UTF-8, 17.4 MB) are the code the corpus tests encode: a fixed archive, so the
corpus is the same on every machine, whichever Python runs the tests (tests/conftest.py reads it)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

PROJECT = "Django"
VERSION = "5.1.4"
SHA256 = "de450c09e91879fa5a307f696e57c851955c910a438a35e6b4c895e86bedc82a"
ARCHIVE = Path(__file__).resolve().parents[1] / ".cache" / "corpus" / f"{PROJECT}-{VERSION}.tar.gz"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    if ARCHIVE.exists() and sha256(ARCHIVE) == SHA256:
        print(f"{ARCHIVE} already present")
        return 0
    ARCHIVE.unlink(missing_ok=True)  # a damaged copy: pip would keep it
    ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    # The sdist itself (--no-binary), not a wheel: its tests/ folder holds most of the code.
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         f"{PROJECT}=={VERSION}", "-d", str(ARCHIVE.parent)],
        check=True,
    )
    digest = sha256(ARCHIVE)
    if digest != SHA256:
        ARCHIVE.unlink()
        print(f"{ARCHIVE.name} from PyPI has SHA-256 {digest}, not the pinned {SHA256}", file=sys.stderr)
        return 1
    print(f"wrote {ARCHIVE} ({ARCHIVE.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
