"""Truncation with stride and overflowing windows, as the ``tokenizers`` library does it for transformers'
fast tokenizers (strategies ``longest_first``, ``only_first``, ``only_second``; sides ``right``, ``left``).

Works on sequence lengths only: the result says which ``(start, stop)`` slices of each sequence to keep
(the first slice) and which overflow (the others). Where ``tokenizers`` panics or silently skips
truncation, this module raises a ``ValueError`` that says what to change.
"""

from __future__ import annotations

from collections.abc import Sequence

STRATEGIES = ("longest_first", "only_first", "only_second")
SIDES = ("right", "left")

Window = tuple[int, int]


def strategy_name(truncation: object) -> str:
    """The strategy for a ``truncation=`` argument that is not False/None: True means longest_first."""
    if truncation is True:
        return "longest_first"
    name = getattr(truncation, "value", truncation)  # transformers' TruncationStrategy enum
    if name not in STRATEGIES:
        raise ValueError(f"truncation must be True, False, None or one of {STRATEGIES}, not {truncation!r}")
    return str(name)


def windows(length: int, max_len: int, stride: int, side: str) -> list[Window]:
    """The kept slice of a sequence of ``length`` ids cut to ``max_len``, then the overflowing slices,
    each ``max_len`` long and overlapping the previous one by ``stride`` ids."""
    if max_len >= length:
        return [(0, length)]
    if max_len == 0:
        return [(0, 0), (0, length)]
    if stride >= max_len:
        raise ValueError(
            f"stride={stride} must be smaller than the {max_len} ids a sequence is cut to here "
            f"(max_length minus the special tokens, shared between prefix and suffix when infilling)"
        )
    step = max_len - stride
    out: list[Window] = []
    if side == "right":
        for start in range(0, length, step):
            stop = min(start + max_len, length)
            out.append((start, stop))
            if stop == length:
                break
    else:
        for last in range(length - 1, -1, -step):
            start = max(last + 1 - max_len, 0)
            out.append((start, last + 1))
            if start == 0:
                break
    return out


def plan(lengths: Sequence[int], max_length: int, strategy: str, stride: int, side: str) -> list[list[Window]]:
    """For each sequence (one, or two for a prefix/suffix pair), its kept slice and overflowing slices,
    so that the sequences together fit in ``max_length`` ids (special tokens already subtracted)."""
    if side not in SIDES:
        raise ValueError(f"truncation_side must be 'right' or 'left', not {side!r}")
    if max_length == 0:
        return [windows(n, 0, stride, side) for n in lengths]
    whole = [[(0, n)] for n in lengths]
    total = sum(lengths)
    if total <= max_length:
        return whole
    if strategy == "longest_first":
        if len(lengths) == 1:
            return [windows(lengths[0], max_length, stride, side)]
        n1, n2 = lengths
        swap = n1 > n2
        if swap:
            n1, n2 = n2, n1
        n2 = n1 if n1 > max_length else max(n1, max_length - n1)
        if n1 + n2 > max_length:
            n1 = max_length // 2
            n2 = n1 + max_length % 2
        if swap:
            n1, n2 = n2, n1
        return [windows(lengths[0], n1, stride, side), windows(lengths[1], n2, stride, side)]
    index = 0 if strategy == "only_first" else 1
    if index >= len(lengths):
        raise ValueError(
            "truncation='only_second' needs a second sequence (an infill suffix); use truncation=True "
            "or 'only_first' for a single text"
        )
    to_remove = total - max_length
    if lengths[index] <= to_remove:
        which = "first (prefix)" if index == 0 else "second (suffix)"
        raise ValueError(
            f"truncation={strategy!r} cannot fit max_length: the {which} sequence has {lengths[index]} ids "
            f"but {to_remove} must go; use truncation=True (longest_first) or a larger max_length"
        )
    whole[index] = windows(lengths[index], lengths[index] - to_remove, stride, side)
    return whole
