"""Token ids as callers pass them (ints, lists, numpy arrays, torch tensors, numpy or 0-d tensor scalars),
turned into what the core takes. Nothing goes through ``int()``: a float is not truncated and a string not
parsed; both are a ``TypeError``, as in transformers (docs/transformers.md)."""

from __future__ import annotations

import operator
from typing import Any


def ids_arg(token_ids: Any) -> Any:
    """Ids for the core from an int, a list, a numpy array or a torch tensor (``tolist()``); lists and other
    iterables go as they are, and the core checks every item (TypeError, or TokenIdError out of range)."""
    if hasattr(token_ids, "tolist"):
        token_ids = token_ids.tolist()
    if isinstance(token_ids, int):
        return [token_ids]
    return token_ids


def one_id(value: Any) -> int:
    """One id: an int, a numpy integer or a 0-d integer tensor (anything with ``__index__``)."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"a token id must be an int, not {type(value).__name__} ({value!r})") from None
