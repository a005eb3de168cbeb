"""Finding a tokenizer's files: a folder, a ``tokenizer.json`` or a ``tokenizer.model``, plus the
transformers config files next to them (``tokenizer_config.json``, ``special_tokens_map.json``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llamatok import chat_files
from llamatok.settings import TOKEN_FIELDS, token_text

#: Config keys transformers writes that say nothing to the tokenizer's constructor.
IGNORED_KEYS = ("tokenizer_class", "auto_map", "name_or_path", "special_tokens_map_file", "tokenizer_file",
                "vocab_file")


@dataclass
class TokenizerFiles:
    tokenizer_file: str | None = None
    vocab_file: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def init_kwargs(self) -> dict[str, Any]:
        """Constructor arguments: the files plus every config key (token dicts reduced to their text)."""
        kwargs: dict[str, Any] = {"tokenizer_file": self.tokenizer_file, "vocab_file": self.vocab_file}
        for key, value in self.config.items():
            if key in IGNORED_KEYS:
                continue
            if key in TOKEN_FIELDS:
                value = token_text(value)
            elif key == "additional_special_tokens":
                value = [token_text(v) for v in value or []]
            kwargs[key] = value
        return kwargs


def read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def locate(path: str | os.PathLike[str]) -> TokenizerFiles:
    """The files behind a local ``path``: a folder (tokenizer.json preferred over tokenizer.model), or
    one of the two files itself. Config files are read from the folder when present; as in
    transformers, ``special_tokens_map.json`` wins over ``tokenizer_config.json``."""
    p = Path(os.fspath(path))
    if p.is_dir():
        folder = p
        json_file, model_file = folder / "tokenizer.json", folder / "tokenizer.model"
        files = TokenizerFiles(
            tokenizer_file=str(json_file) if json_file.is_file() else None,
            vocab_file=str(model_file) if model_file.is_file() else None,
        )
        if files.tokenizer_file is None and files.vocab_file is None:
            raise FileNotFoundError(f"{p} holds neither tokenizer.json nor tokenizer.model")
    elif p.is_file():
        folder = p.parent
        if p.suffix == ".json":
            files = TokenizerFiles(tokenizer_file=str(p))
        else:
            files = TokenizerFiles(vocab_file=str(p))
    else:
        raise FileNotFoundError(
            f"no tokenizer at {p}: pass a folder holding tokenizer.json or tokenizer.model, or one of those files"
        )
    config: dict[str, Any] = {}
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (folder / name).is_file():
            config.update(read_json(folder / name))
    templates = chat_files.read(folder)  # .jinja files win over the config's key, as in transformers
    if templates is not None:
        config["chat_template"] = templates
    files.config = config
    return files
