"""The built-in demo vocabulary (see data/demo/README.md): for trying llamatok and for tests on a
machine without a model's files. It is not any model's vocabulary."""

from pathlib import Path


def demo_path() -> Path:
    """The folder of the demo vocabulary (tokenizer.model, tokenizer.json and configs)."""
    return Path(__file__).parent / "data" / "demo"
