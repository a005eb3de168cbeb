"""Hub ids such as ``codellama/CodeLlama-7b-hf`` to local folders.

The local Hugging Face cache is looked up first (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``~/.cache/huggingface/hub``; the standard ``models--org--name/refs/<rev>`` and ``snapshots/<commit>/``
layout that ``huggingface_hub`` writes). Only when the files are not there, and ``huggingface_hub`` is
installed, and downloads are not switched off, is the Hub asked; every failure says what to do instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: The files a tokenizer needs (either of the first two suffices).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json")
#: Chat templates, downloaded too when the repository has them (chat_files.py).
CHAT_TEMPLATE_PATTERNS = ("chat_template.jinja", "additional_chat_templates/*.jinja")

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_TRUE = ("1", "true", "yes", "on")


def hub_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where ``huggingface_hub`` keeps downloaded repositories."""
    if cache_dir is not None:
        return Path(os.fspath(cache_dir))
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(cache).expanduser() / "huggingface" / "hub"


def is_repo_id(name: str) -> bool:
    """``org/name`` or ``name`` as the Hub spells repository ids (not a path with ``..`` or ``./``)."""
    return bool(_REPO_ID.match(name)) and ".." not in name and not name.endswith(".")


def _has_tokenizer(folder: Path) -> bool:
    return (folder / "tokenizer.json").is_file() or (folder / "tokenizer.model").is_file()


def cached_snapshot(repo_id: str, revision: str | None = None,
                    cache_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The cached snapshot folder of ``repo_id`` at ``revision`` (a branch, tag or commit; default
    ``main``) if it holds a tokenizer, else None."""
    repo = hub_cache_dir(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    rev = revision or "main"
    if _COMMIT.match(rev):
        commit = rev
    else:
        ref = repo / "refs" / rev
        if not ref.is_file():
            return None
        commit = ref.read_text(encoding="utf-8").strip()
    snapshot = repo / "snapshots" / commit
    return snapshot if _has_tokenizer(snapshot) else None


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def resolve(
    name: str | os.PathLike[str],
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    subfolder: str = "",
) -> Path:
    """A local path for ``name``: the path itself if it exists, else the cached (or, failing that,
    downloaded) snapshot of the Hub repository ``name``."""
    text = os.fspath(name)
    path = Path(text)
    if path.exists():
        return path / subfolder if subfolder else path
    if not is_repo_id(text):
        raise FileNotFoundError(
            f"no tokenizer at {text!r}: pass a folder holding tokenizer.json or tokenizer.model, one of those "
            "files, or a Hugging Face Hub id such as 'codellama/CodeLlama-7b-hf'"
        )
    cache = hub_cache_dir(cache_dir)
    repo_id = text
    snapshot = cached_snapshot(repo_id, revision, cache_dir)
    if snapshot is not None and (not subfolder or _has_tokenizer(snapshot / subfolder)):
        return snapshot / subfolder if subfolder else snapshot
    rev = f" at revision {revision!r}" if revision else ""
    how = (
        f"download it where there is network access with `huggingface-cli download {repo_id} "
        f"{' '.join(TOKENIZER_FILES)}{' --revision ' + revision if revision else ''}` (into the cache at {cache}, "
        "or set HF_HOME), or pass the path of a local folder holding tokenizer.json or tokenizer.model"
    )
    if local_files_only or _offline():
        why = "local_files_only=True" if local_files_only else "HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE is set"
        raise FileNotFoundError(f"{repo_id!r}{rev} is not a local path nor in the Hugging Face cache ({cache}), "
                                f"and {why}: {how}")
    try:
        import huggingface_hub
    except ImportError:
        raise FileNotFoundError(
            f"{repo_id!r}{rev} is not a local path nor in the Hugging Face cache ({cache}); to download it "
            f"install huggingface_hub (pip install huggingface_hub), or {how}"
        ) from None
    wanted = (*TOKENIZER_FILES, *CHAT_TEMPLATE_PATTERNS)
    patterns = [f"{subfolder}/{f}" if subfolder else f for f in wanted]
    try:
        folder = huggingface_hub.snapshot_download(
            repo_id, revision=revision, cache_dir=None if cache_dir is None else os.fspath(cache_dir),
            allow_patterns=patterns, token=token
        )
    except Exception as e:  # network, authentication (gated repositories), unknown repository...
        raise FileNotFoundError(
            f"could not download {repo_id!r}{rev} from the Hugging Face Hub ({type(e).__name__}: {e}); for a "
            f"gated repository log in first (huggingface-cli login) or pass token=...; otherwise {how}"
        ) from e
    result = Path(folder) / subfolder if subfolder else Path(folder)
    if not _has_tokenizer(result):
        raise FileNotFoundError(f"the Hub repository {repo_id!r}{rev} has neither tokenizer.json nor tokenizer.model")
    return result
