"""Fetches Mistral 7B v1's tokenizer.model (Apache-2.0) from the mistral-common wheel on PyPI into
``.cache/mistral/`` for the oracle tests. Usage: ``python tests/fetch_mistral.py``."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "1.13.1"
MEMBER = "mistral_common/data/tokenizer.model.v1"
TARGET = Path(__file__).resolve().parents[1] / ".cache" / "mistral" / "tokenizer.model.v1"


def main() -> int:
    if TARGET.exists():
        print(f"{TARGET} already present")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"mistral-common=={VERSION}", "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("mistral_common-*.whl"))
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            TARGET.write_bytes(z.read(MEMBER))
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
