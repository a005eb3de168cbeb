"""Padding rows to one length, as transformers' fast tokenizers do (``padding=True``/``'longest'``,
``'max_length'``, ``pad_to_multiple_of``, left or right side). Padding ids get attention 0, special
mask 1, token type 0 and offsets ``(0, 0)``. Also ``tokenizer.pad()`` for inputs encoded earlier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llamatok.rows import Row
from llamatok.settings import CallSettings

STRATEGIES = ("longest", "max_length", "do_not_pad")
SIDES = ("left", "right")
#: transformers' error when padding is asked of a tokenizer without a pad token (its words, then what
#: differs in llamatok).
NO_PAD_TOKEN = (
    "Asking to pad but the tokenizer does not have a padding token. Please select a token to use as `pad_token` "
    "`(tokenizer.pad_token = tokenizer.eos_token e.g.)`; llamatok pads only with a token of the vocabulary"
)


def strategy_name(padding: object) -> str:
    """``'longest'``, ``'max_length'`` or ``'do_not_pad'`` for a ``padding=`` argument."""
    if padding is True:
        return "longest"
    if padding is False or padding is None:
        return "do_not_pad"
    name = getattr(padding, "value", padding)  # transformers' PaddingStrategy enum
    if name not in STRATEGIES:
        raise ValueError(f"padding must be True, False, 'longest', 'max_length' or 'do_not_pad', not {padding!r}")
    return str(name)


def target_length(main_rows: Sequence[Row], strategy: str, max_length: int | None, multiple: int | None) -> int | None:
    """The length every row is padded to (None: no padding). Like ``tokenizers``, "longest" looks at the
    kept rows only, not at overflowing rows."""
    if strategy == "do_not_pad":
        return None
    if strategy == "max_length":
        if max_length is None:
            raise ValueError("padding='max_length' needs max_length (or a tokenizer with a model_max_length)")
        target = max_length
    else:
        target = max((len(r) for r in main_rows), default=0)
    if multiple:
        if multiple < 0:
            raise ValueError(f"pad_to_multiple_of must be a positive integer, not {multiple}")
        if target % multiple:
            target += multiple - target % multiple
    return target


def pad_rows(rows: list[Row], target: int, side: str, pad_id: int) -> None:
    """Pads every row shorter than ``target`` in place."""
    if side not in SIDES:
        raise ValueError(f"padding_side must be 'left' or 'right', not {side!r}")
    for row in rows:
        n = target - len(row)
        if n <= 0:
            continue
        if side == "right":
            row.ids = row.ids + [pad_id] * n
            row.type_ids = row.type_ids + [0] * n
            row.special = row.special + [1] * n
            row.attention = row.attention + [0] * n
            if row.offsets is not None:
                row.offsets = row.offsets + [(0, 0)] * n
            if row.words is not None and row.sequences is not None and row.texts is not None:
                row.words = row.words + [None] * n
                row.sequences = row.sequences + [None] * n
                row.texts = row.texts + [None] * n
        else:
            row.ids = [pad_id] * n + row.ids
            row.type_ids = [0] * n + row.type_ids
            row.special = [1] * n + row.special
            row.attention = [0] * n + row.attention
            if row.offsets is not None:
                row.offsets = [(0, 0)] * n + row.offsets
            if row.words is not None and row.sequences is not None and row.texts is not None:
                nothing: list[int | None] = [None] * n
                row.words = nothing + row.words
                row.sequences = nothing + row.sequences
                blank: list[str | None] = [None] * n
                row.texts = blank + row.texts


# -- tokenizer.pad(): padding inputs encoded earlier (what data collators call) ----------------

def _pad_one(example: dict[str, Any], main: str, target: int | None, side: str, pad_id: int | None,
             with_mask: bool) -> dict[str, Any]:
    ids = example[main]
    if with_mask and "attention_mask" not in example:
        example["attention_mask"] = [1] * len(ids)
    n = 0 if target is None else target - len(ids)
    if n <= 0:
        return example
    fills = {main: pad_id, "attention_mask": 0, "token_type_ids": 0, "special_tokens_mask": 1}
    for key, fill in fills.items():
        if key in example and (key != "attention_mask" or with_mask):
            value = list(example[key])
            example[key] = value + [fill] * n if side == "right" else [fill] * n + value
    return example


def _tensor_kind(required: Any) -> str | None:
    """``'np'`` or ``'pt'`` when the main input holds numpy arrays or torch tensors (as rows, or as one
    example's ids), which transformers gives back in kind; None for Python ints."""
    first = required[0]
    if isinstance(first, (list, tuple)):
        first = next((row[0] for row in required if len(row)), None)
    if first is None or isinstance(first, int):
        return None
    kind = {"numpy": "np", "torch": "pt"}.get(type(first).__module__.split(".")[0])
    if kind is None:
        raise ValueError(f"pad() takes ids as ints, numpy arrays or torch tensors, not {type(first).__name__}")
    return kind


def _python(value: Any) -> Any:
    """numpy arrays, torch tensors and their scalars as Python lists and ints, also inside lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_python(v) for v in value]
    return value


def pad_encoded(tok: CallSettings, encoded_inputs: Any, padding: Any, max_length: int | None,
                pad_to_multiple_of: int | None, padding_side: str | None,
                return_attention_mask: bool | None, return_tensors: Any) -> tuple[dict[str, Any], Any]:
    """transformers' ``tokenizer.pad``: pads the main input (the first of ``model_input_names``, usually
    ``input_ids``; and ``attention_mask``, ``token_type_ids``, ``special_tokens_mask``; other fields are
    left as they are) of one encoding, a batch of them, or a list of per-example dicts. Returns the padded
    fields and the tensor type to give them back as: ``return_tensors``, or when it is None, numpy or torch
    if the ids came as such."""
    main = tok.model_input_names[0]
    if isinstance(encoded_inputs, (list, tuple)) and encoded_inputs and isinstance(encoded_inputs[0], Mapping):
        encoded_inputs = {key: [example[key] for example in encoded_inputs] for key in encoded_inputs[0]}
    elif isinstance(encoded_inputs, Mapping):
        encoded_inputs = dict(encoded_inputs)
    else:
        raise TypeError("pad() takes an encoding (a dict with input_ids) or a list of them")
    if main not in encoded_inputs:
        raise ValueError(
            "You should supply an encoding or a list of encodings to this method that includes "
            f"{main}, but you provided {list(encoded_inputs)}"
        )
    encoded: dict[str, Any] = encoded_inputs
    required = encoded[main]
    if required is None or not len(required):
        # transformers gives it back as it came, with an empty mask only when one is asked for by name.
        if return_attention_mask:
            encoded["attention_mask"] = []
        return encoded, None
    kind = _tensor_kind(required)
    if kind is not None:
        encoded = {key: _python(value) for key, value in encoded.items()}
        if return_tensors is None:
            return_tensors = kind
    with_mask = "attention_mask" in tok.model_input_names if return_attention_mask is None else return_attention_mask
    side = padding_side if padding_side is not None else tok.padding_side
    if side not in SIDES:
        raise ValueError(f"padding_side must be 'left' or 'right', not {side!r}")
    strategy = strategy_name(padding)
    if max_length is None and strategy == "max_length":
        if tok.unlimited:
            strategy = "do_not_pad"
        else:
            max_length = tok.model_max_length
    if strategy != "do_not_pad" and tok.pad_token_id is None:
        raise ValueError(NO_PAD_TOKEN)
    required = encoded[main]
    batched = isinstance(required[0], (list, tuple))
    rows = required if batched else [required]
    if strategy == "longest":
        target: int | None = max(len(r) for r in rows)
    elif strategy == "max_length":
        target = max_length
    else:
        target = None
    if target is not None and pad_to_multiple_of and target % pad_to_multiple_of:
        target = (target // pad_to_multiple_of + 1) * pad_to_multiple_of
    if not batched:
        return _pad_one(encoded, main, target, side, tok.pad_token_id, with_mask), return_tensors
    out: dict[str, Any] = {}
    for i in range(len(required)):
        example = _pad_one({k: v[i] for k, v in encoded.items()}, main, target, side, tok.pad_token_id, with_mask)
        for key, value in example.items():
            out.setdefault(key, []).append(value)
    return out, return_tensors
