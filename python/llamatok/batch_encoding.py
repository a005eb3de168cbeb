"""``BatchEncoding``: what ``CodeLlamaTokenizerFast.__call__`` returns, a dict with attribute access
(``enc["input_ids"]`` and ``enc.input_ids``) like transformers' class of the same name, and the
conversion of its lists to numpy arrays or torch tensors (torch is optional)."""

from __future__ import annotations

import copy
import threading
from collections import UserDict
from typing import Any, Callable, Union

from llamatok.alignment import AlignmentMethods, RowAlignment

#: The alignment of a result's rows, or how to make it (on first use).
Alignment = Union[list[RowAlignment], Callable[[], list[RowAlignment]], None]

TENSOR_TYPES = ("np", "pt")


def tensor_type_name(return_tensors: object) -> str | None:
    """``'np'``, ``'pt'`` or None for a ``return_tensors=`` argument (transformers' TensorType works too)."""
    if return_tensors is None:
        return None
    name = getattr(return_tensors, "value", return_tensors)
    if name not in TENSOR_TYPES:
        raise ValueError(f"return_tensors must be 'np', 'pt' or None, not {return_tensors!r}")
    return str(name)


def _check_rectangular(key: str, value: Any) -> None:
    if isinstance(value, list) and value and isinstance(value[0], list):
        lengths = {len(row) for row in value}
        if len(lengths) > 1:
            raise ValueError(
                f"cannot make a tensor of {key!r}: its rows have different lengths {sorted(lengths)}; "
                "pass padding=True (and truncation=True) to get rows of one length"
            )


def to_tensor(key: str, value: Any, tensor_type: str) -> Any:
    """``value`` (a list, or a list of lists of the same length) as an int64 array or tensor."""
    _check_rectangular(key, value)
    if tensor_type == "np":
        try:
            import numpy as np
        except ImportError:
            raise ImportError("return_tensors='np' needs numpy: pip install numpy") from None
        return np.asarray(value, dtype=np.int64)
    try:
        import torch
    except ImportError:
        raise ImportError(
            "return_tensors='pt' needs PyTorch, which is not installed: pip install torch, "
            "or use return_tensors='np'"
        ) from None
    return torch.tensor(value, dtype=torch.int64)


class BatchEncoding(UserDict[str, Any], AlignmentMethods):
    """The model inputs of one call: ``input_ids``, ``attention_mask`` and the optional fields; for the
    results of encoding calls also transformers' alignment methods (``word_ids()``, ``char_to_token()``,
    ..., alignment.py)."""

    def __init__(self, data: dict[str, Any] | None = None, tensor_type: object = None,
                 n_sequences: int | None = None, alignment: Alignment = None) -> None:
        super().__init__(data or {})
        self._n_sequences = n_sequences
        self._alignment = alignment
        self._alignment_lock = threading.Lock()
        name = tensor_type_name(tensor_type)
        if name is not None:
            self.convert_to_tensors(name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("data", "_n_sequences", "_alignment", "_alignment_lock"):
            raise AttributeError(name)
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no field {name!r}; it has {list(self.data)}") from None

    def __getitem__(self, key: str) -> Any:
        if isinstance(key, str):
            return self.data[key]
        if isinstance(key, slice):
            return {name: value[key] for name, value in self.data.items()}
        raise KeyError(
            f"BatchEncoding is indexed by field name ({list(self.data)}); transformers' integer indexing "
            "gives `tokenizers` Encoding objects, which llamatok does not build: use enc['input_ids'][i]"
        )

    def __getstate__(self) -> dict[str, Any]:
        # An alignment not made yet is not made for pickling (data loaders pickle every batch).
        alignment = self._alignment if isinstance(self._alignment, list) else None
        return {"data": self.data, "n_sequences": self._n_sequences, "alignment": alignment}

    def __deepcopy__(self, memo: dict[int, Any]) -> BatchEncoding:
        # The fields are copied; the alignment (made, or how to make it) never changes, so it is shared.
        return BatchEncoding(copy.deepcopy(self.data, memo), n_sequences=self._n_sequences, alignment=self._alignment)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.data = state["data"]
        self._n_sequences = state["n_sequences"]
        self._alignment = state.get("alignment")
        self._alignment_lock = threading.Lock()

    def _alignment_rows(self) -> list[RowAlignment]:
        with self._alignment_lock:
            if callable(self._alignment):
                self._alignment = self._alignment()
            if self._alignment is None:
                raise ValueError(
                    "this BatchEncoding has no alignment: it was built by pad() or by hand, or unpickled before "
                    "an alignment method was called on it; call word_ids() (or any alignment method) before "
                    "pickling, or encode the texts again"
                )
            return self._alignment

    @property
    def n_sequences(self) -> int | None:
        """1 for single texts, 2 for infill prompts (prefix and suffix), None for a mixed batch."""
        return self._n_sequences

    @property
    def is_fast(self) -> bool:
        """Whether the alignment methods work (as in transformers: True for what encoding calls return,
        False for ``pad()``'s results)."""
        return self._alignment is not None

    @property
    def encodings(self) -> None:
        """Always None: llamatok does not build `tokenizers` Encoding objects."""
        return None

    def convert_to_tensors(self, tensor_type: object = None, prepend_batch_axis: bool = False) -> BatchEncoding:
        """Converts every field in place to ``'np'`` arrays or ``'pt'`` tensors (int64); with
        ``prepend_batch_axis``, each as a batch of one."""
        name = tensor_type_name(tensor_type)
        if name is not None:
            for key, value in self.data.items():
                self.data[key] = to_tensor(key, [value] if prepend_batch_axis else value, name)
        return self

    def to(self, device: Any) -> BatchEncoding:
        """Moves torch tensors to ``device`` (other values are left as they are)."""
        self.data = {k: (v.to(device=device) if hasattr(v, "to") and not isinstance(v, list) else v)
                     for k, v in self.data.items()}
        return self

    def __repr__(self) -> str:
        return f"BatchEncoding({self.data!r})"
