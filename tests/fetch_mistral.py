"""Fetches Mistral's SentencePiece models (Apache-2.0) from the mistral-common wheel on PyPI into
``.cache/mistral/`` for the oracle tests: 7B v1's ``tokenizer.model.v1`` and the instruct models v2, v3
and v7 (control pieces such as ``[INST]``; v3 and v7 also user-defined ones such as ``[REF]``).
Usage: ``python tests/fetch_mistral.py``."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "1.13.1"
FILES = (
    "tokenizer.model.v1",
    "mistral_instruct_tokenizer_240216.model.v2",
    "mistral_instruct_tokenizer_240323.model.v3",
    "mistral_instruct_tokenizer_241114.model.v7",
)
CACHE = Path(__file__).resolve().parents[1] / ".cache" / "mistral"


def main() -> int:
    missing = [name for name in FILES if not (CACHE / name).exists()]
    if not missing:
        print(f"{CACHE}: the {len(FILES)} Mistral models are present")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"mistral-common=={VERSION}", "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("mistral_common-*.whl"))
        CACHE.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            for name in missing:
                target = CACHE / name
                target.write_bytes(z.read(f"mistral_common/data/{name}"))
                print(f"wrote {target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
