"""tests/conftest.py finds Meta's vocabularies in the Hugging Face cache when the fixtures folder lacks them,
and a run that skips for absent files ends by saying how many and how to get them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def fake_hub_cache(root: Path, repo_id: str, files: list[str]) -> Path:
    """A cache laid out as huggingface_hub writes it: refs/main names the snapshot holding the files."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in files:
        (snapshot / name).write_text("{}")
    return snapshot


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    full.pop("LLAMATOK_REQUIRE_FIXTURES", None)
    return subprocess.run([sys.executable, "-c", code], cwd=TESTS, env=full, capture_output=True, text=True)


def test_vocabularies_are_found_in_the_hub_cache(tmp_path):
    cache = tmp_path / "hub"
    code_llama = fake_hub_cache(cache, "codellama/CodeLlama-7b-hf", ["tokenizer.json", "tokenizer_config.json"])
    llama2 = fake_hub_cache(cache, "meta-llama/Llama-2-7b-hf", ["tokenizer.model"])
    proc = run("import conftest; print(conftest.CODELLAMA_DIR); print(conftest.LLAMA2_MODEL)",
               LLAMATOK_FIXTURES=str(tmp_path / "none"), HF_HUB_CACHE=str(cache))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(code_llama), str(llama2 / "tokenizer.model")]


def test_the_fixtures_folder_comes_first(tmp_path):
    cache = tmp_path / "hub"
    fake_hub_cache(cache, "meta-llama/Llama-2-7b-hf", ["tokenizer.model"])
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    (fixtures / "llama2-tokenizer.model").write_bytes(b"")
    proc = run("import conftest; print(conftest.LLAMA2_MODEL)", LLAMATOK_FIXTURES=str(fixtures),
               HF_HUB_CACHE=str(cache))
    assert proc.stdout.strip() == str(fixtures / "llama2-tokenizer.model"), proc.stderr


def test_a_run_that_skips_for_absent_files_says_how_to_get_them(tmp_path):
    test = tmp_path / "test_needs_llama2.py"
    test.write_text("def test_one(llama2_model):\n    pass\n\ndef test_two():\n    pass\n")
    env = {**os.environ, "LLAMATOK_FIXTURES": str(tmp_path / "none"), "HF_HUB_CACHE": str(tmp_path / "hub")}
    env.pop("LLAMATOK_REQUIRE_FIXTURES", None)
    # tests/conftest.py as a plugin (`-p conftest`, importable from the working directory) for a test outside tests/.
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest",
                           "-c", os.devnull, "--rootdir", str(tmp_path), str(test)],
                          cwd=TESTS, env=env, capture_output=True, text=True)
    last = proc.stdout.strip().splitlines()[-1]
    assert "1 of 1 skipped tests lacked files (llama2-tokenizer.model)" in last, proc.stdout
    assert "huggingface-cli download meta-llama/Llama-2-7b-hf tokenizer.model" in last
