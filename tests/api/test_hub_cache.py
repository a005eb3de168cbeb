"""Hub ids resolve from a (fake) Hugging Face cache in tmp_path, in huggingface_hub's layout; without
the files, a download is tried only with huggingface_hub installed and downloads allowed, and every
failure says what to do. No test touches the network."""

from __future__ import annotations

import shutil
import sys

import pytest
from api_fixtures import TEXTS, folder_of

import llamatok
from llamatok import hub

REPO = "codellama/CodeLlama-7b-hf"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
         "chat_template.jinja", "additional_chat_templates/*.jinja")


def fake_cache(root, source, repo=REPO, commit=COMMIT, ref="main"):
    """huggingface_hub's layout: blobs, snapshots/<commit>/ of symlinks to them, refs/<ref>."""
    repo_dir = root / ("models--" + repo.replace("/", "--"))
    (repo_dir / "blobs").mkdir(parents=True)
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in FILES:
        if (source / name).exists():
            blob = repo_dir / "blobs" / f"blob-{name}"
            blob.symlink_to((source / name).resolve())  # a link, never a copy, of fixture files
            (snapshot / name).symlink_to(blob)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / ref).write_text(commit)
    return snapshot


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return tmp_path / "hf"


def test_resolves_from_hf_home(hf_home):
    snapshot = fake_cache(hf_home / "hub", folder_of("demo"))
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(REPO)
    direct = llamatok.CodeLlamaTokenizerFast.from_pretrained(folder_of("demo"))
    assert [tok.encode(t) for t in TEXTS] == [direct.encode(t) for t in TEXTS]
    assert tok.name_or_path == REPO
    assert hub.resolve(REPO) == snapshot
    assert hub.resolve(REPO, revision=COMMIT) == snapshot


def test_resolves_the_real_files(hf_home, codellama_dir):
    fake_cache(hf_home / "hub", codellama_dir)
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(REPO)
    assert (tok.encode("def f(x):", suffix="    return x")
            == [1, 32007, 822, 285, 29898, 29916, 1125, 32008, 1678, 736, 921, 32009])


def test_cache_dir_and_hub_cache_variables(tmp_path, monkeypatch, hf_home):
    snapshot = fake_cache(tmp_path / "elsewhere", folder_of("demo"))
    assert hub.resolve(REPO, cache_dir=tmp_path / "elsewhere") == snapshot
    assert llamatok.CodeLlamaTokenizerFast.from_pretrained(REPO, cache_dir=tmp_path / "elsewhere").vocab_size == 8016
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hub.resolve(REPO) == snapshot
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.hub_cache_dir() == tmp_path / "xdg" / "huggingface" / "hub"


def test_revisions(hf_home):
    other = "f" * 40
    fake_cache(hf_home / "hub", folder_of("demo"))
    repo_dir = hf_home / "hub" / ("models--" + REPO.replace("/", "--"))
    (repo_dir / "refs" / "v1").write_text(other)
    with pytest.raises(FileNotFoundError, match="revision 'v1'"):
        hub.resolve(REPO, revision="v1", local_files_only=True)
    shutil.copytree(repo_dir / "snapshots" / COMMIT, repo_dir / "snapshots" / other, symlinks=True)
    assert hub.resolve(REPO, revision="v1") == repo_dir / "snapshots" / other


def test_local_paths_win(hf_home, tmp_path):
    assert hub.resolve(folder_of("demo")) == folder_of("demo")
    with pytest.raises(FileNotFoundError, match="no tokenizer at"):
        hub.resolve("./not/a/repo/../x")


def test_without_huggingface_hub_says_what_to_do(hf_home, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(FileNotFoundError) as err:
        llamatok.CodeLlamaTokenizerFast.from_pretrained(REPO)
    message = str(err.value)
    assert "pip install huggingface_hub" in message
    assert f"huggingface-cli download {REPO}" in message
    assert str(hf_home / "hub") in message


def test_offline_says_what_to_do(hf_home, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("must not download")

    try:
        import huggingface_hub
    except ImportError:
        pass
    else:
        monkeypatch.setattr(huggingface_hub, "snapshot_download", no_network)
    with pytest.raises(FileNotFoundError, match="local_files_only=True"):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(REPO, local_files_only=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE"):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(REPO)


def test_download_failure_says_what_to_do(hf_home, monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")

    def unreachable(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", unreachable)
    with pytest.raises(FileNotFoundError, match="could not download .*network unreachable.*huggingface-cli download"):
        llamatok.CodeLlamaTokenizerFast.from_pretrained(REPO)


def test_download_success_is_used(hf_home, monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    calls = []

    def download(repo_id, revision=None, cache_dir=None, allow_patterns=None, token=None):
        calls.append((repo_id, revision, allow_patterns, token))
        return str(fake_cache(hf_home / "hub", folder_of("demo"), repo=repo_id))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", download)
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(REPO, token="secret")
    assert tok.vocab_size == 8016
    assert calls == [(REPO, None, list(FILES), "secret")]
    # The second time it is in the cache: no download.
    llamatok.CodeLlamaTokenizerFast.from_pretrained(REPO)
    assert len(calls) == 1


def test_download_without_tokenizer_files(hf_home, monkeypatch, tmp_path):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: str(empty))
    with pytest.raises(FileNotFoundError, match="neither tokenizer.json nor tokenizer.model"):
        llamatok.CodeLlamaTokenizerFast.from_pretrained("someone/model-without-tokenizer")
