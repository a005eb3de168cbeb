"""transformers' ``truncate_sequences``: cutting id lists built by hand (``PreTrainedTokenizerBase``'s
method, which ``tokenizers``-backed calls never use), with its results, its overflow rules and its log
messages. ``__call__`` truncates in ``truncation.py``, as ``tokenizers`` does."""

from __future__ import annotations

from typing import Any

from llamatok import loggers
from llamatok.truncation import SIDES

logger = loggers.TOKENIZATION

STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")


def _enum_text(name: str) -> str:
    """How transformers' messages print the strategy: its ``TruncationStrategy`` member."""
    return f"TruncationStrategy.{name.upper()}"


def _strategy(value: Any) -> str:
    name = getattr(value, "value", value)  # transformers' TruncationStrategy enum
    if name not in STRATEGIES:
        # transformers' TruncationStrategy(...) raises this for an unknown name.
        raise ValueError(f"{value!r} is not a valid TruncationStrategy, please select one of {list(STRATEGIES)}")
    return str(name)


def truncate_sequences(ids: list[int], pair_ids: list[int] | None, num_tokens_to_remove: int, strategy: Any,
                       stride: int, side: str) -> tuple[list[int], list[int] | None, list[int]]:
    """``(ids, pair_ids, overflowing_tokens)`` after removing ``num_tokens_to_remove`` ids by ``strategy``
    from ``side``; ``longest_first`` on a pair returns no overflowing tokens, as in transformers."""
    if num_tokens_to_remove <= 0:
        return ids, pair_ids, []
    name = _strategy(strategy)
    if side not in SIDES:
        raise ValueError(f"invalid truncation strategy: {side}, use 'left' or 'right'.")
    overflowing: list[int] = []
    if name == "only_first" or (name == "longest_first" and pair_ids is None):
        if len(ids) > num_tokens_to_remove:
            window = min(len(ids), stride + num_tokens_to_remove)
            if side == "left":
                overflowing, ids = ids[:window], ids[num_tokens_to_remove:]
            else:
                overflowing, ids = ids[-window:], ids[:-num_tokens_to_remove]
        else:
            message = (f"We need to remove {num_tokens_to_remove} to truncate the input "
                       f"but the first sequence has a length {len(ids)}. ")
            if name == "only_first":
                message += ("Please select another truncation strategy than "
                            f"{_enum_text(name)}, for instance 'longest_first' or 'only_second'.")
            logger.error(message)
    elif name == "longest_first" and pair_ids is not None:
        logger.warning(
            "Be aware, overflowing tokens are not returned for the setting you have chosen, i.e. sequence pairs "
            "with the 'longest_first' truncation strategy. So the returned list will always be empty even if some "
            "tokens have been removed."
        )
        first_remove = min(abs(len(pair_ids) - len(ids)), num_tokens_to_remove)
        second_remove = num_tokens_to_remove - first_remove
        if len(ids) > len(pair_ids):
            ids_to_move = first_remove + second_remove // 2
            pair_to_move = second_remove - second_remove // 2
        else:
            ids_to_move = second_remove // 2
            pair_to_move = first_remove + second_remove - second_remove // 2
        if side == "right":
            ids = ids[:-ids_to_move] if ids_to_move > 0 else ids
            pair_ids = pair_ids[:-pair_to_move] if pair_to_move > 0 else pair_ids
        else:
            ids, pair_ids = ids[ids_to_move:], pair_ids[pair_to_move:]
    elif name == "only_second" and pair_ids is not None:
        if len(pair_ids) > num_tokens_to_remove:
            window = min(len(pair_ids), stride + num_tokens_to_remove)
            if side == "right":
                overflowing, pair_ids = pair_ids[-window:], pair_ids[:-num_tokens_to_remove]
            else:
                overflowing, pair_ids = pair_ids[:window], pair_ids[num_tokens_to_remove:]
        else:
            logger.error(
                f"We need to remove {num_tokens_to_remove} to truncate the input "
                f"but the second sequence has a length {len(pair_ids)}. "
                f"Please select another truncation strategy than {_enum_text(name)}, for instance 'longest_first' or "
                "'only_first'."
            )
    return ids, pair_ids, overflowing
