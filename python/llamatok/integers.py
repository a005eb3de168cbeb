"""Integer arguments as transformers takes them: a Python ``int`` or anything that is one by
``__index__`` (numpy's and torch's integer scalars, a one-element index), but not a ``bool``, which is
an ``int`` to Python and a mistake in a length."""

from __future__ import annotations

import operator
from typing import Any


def optional_int(value: Any, what: str, minimum: int) -> int | None:
    """``value`` as an ``int`` (None stays None); a ``ValueError`` naming ``what`` when it is not an
    integer, is a bool, or is below ``minimum``."""
    if value is None:
        return None
    return required_int(value, what, minimum)


def required_int(value: Any, what: str, minimum: int) -> int:
    """``value`` as an ``int``; a ``ValueError`` naming ``what`` when it is not an integer, is a bool, or
    is below ``minimum``."""
    kind = {0: "a non-negative int", 1: "a positive int"}.get(minimum, f"an int of at least {minimum}")
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise ValueError(f"{what} must be {kind}, not {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be {kind}, not {value!r}") from None
    if number < minimum:
        raise ValueError(f"{what} must be {kind}, not {value!r}")
    return number
