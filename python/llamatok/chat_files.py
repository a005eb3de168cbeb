"""Chat templates in a tokenizer's folder, where transformers 4.57 reads and writes them:

- ``chat_template.jinja``: the template (or the ``"default"`` one of several), read first;
- ``additional_chat_templates/NAME.jinja``: the other named templates;
- the ``chat_template`` key of ``tokenizer_config.json``: a string, or a list of ``{"name", "template"}``
  (the older format; still written with ``save_pretrained(..., save_jinja_files=False)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEMPLATE_FILE = "chat_template.jinja"
TEMPLATE_DIR = "additional_chat_templates"


def read(folder: Path) -> str | dict[str, str] | None:
    """The templates in ``folder``'s files (None when there are none; the config key is read with the config)."""
    templates: dict[str, str] = {}
    default = folder / TEMPLATE_FILE
    if default.is_file():
        templates["default"] = default.read_text(encoding="utf-8")
    extra = folder / TEMPLATE_DIR
    if extra.is_dir():
        for path in sorted(extra.glob("*.jinja")):
            templates[path.name[: -len(".jinja")]] = path.read_text(encoding="utf-8")
    if not templates:
        return None
    if list(templates) == ["default"]:
        return templates["default"]
    return templates


def write(template: str | dict[str, str] | None, folder: Path, prefix: str) -> list[str]:
    """Writes the templates as ``.jinja`` files; returns their paths."""
    if template is None:
        return []
    named = {"default": template} if isinstance(template, str) else template
    written = []
    for name, text in named.items():
        if name == "default":
            path = folder / (prefix + TEMPLATE_FILE)
        else:
            (folder / (prefix + TEMPLATE_DIR)).mkdir(exist_ok=True)
            path = folder / (prefix + TEMPLATE_DIR) / f"{name}.jinja"
        path.write_text(text, encoding="utf-8")
        written.append(str(path))
    return written


def config_value(template: str | dict[str, str]) -> Any:
    """The template as the ``chat_template`` key of ``tokenizer_config.json``."""
    if isinstance(template, str):
        return template
    return [{"name": name, "template": text} for name, text in template.items()]
