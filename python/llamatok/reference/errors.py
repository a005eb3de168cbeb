"""The one error class of the reference implementation."""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model file exists but is malformed, truncated or of a kind this project does not support.

    The message always starts with the file's path, then says what is wrong with it.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
