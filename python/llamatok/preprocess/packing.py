"""``--pack LENGTH``: documents laid out as training sequences of exactly LENGTH ids
(docs/preprocess.md, "Sequences for training").

Packing never changes a document's ids; it cuts documents into *pieces* and orders them, adding
padding pieces, so that every run of LENGTH ids from the start of the output is one sequence and no
piece crosses from one sequence into the next. The pieces are then written as the output's
documents, so each format keeps the boundaries as it keeps documents' (Megatron's ``.idx``,
datatrove's ``.ds.index``, the ``.csv.gz`` beside an ``.npy``, a Parquet row, a Streaming sample,
a litdata item): that is what masks attention per document (cumulative sequence lengths, or
position ids that restart at every piece).

- ``concat`` (Megatron's): the documents one after the other, cut every LENGTH ids; the last
  sequence is padded.
- ``bfd``: best-fit-decreasing. A document longer than LENGTH is cut into pieces of LENGTH (each a
  sequence of its own) and its remainder; remainders and shorter documents, longest first, each go
  into the open sequence with the least room that fits it, or a new one. No document shorter than
  LENGTH is ever cut. Sequences of whole pieces come first, in document order, then the packed
  ones in the order they were opened; each is padded to LENGTH.

A plan depends only on the documents' lengths and LENGTH, so it is the same for any number of
workers, engines or resumes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

STRATEGIES = ("concat", "bfd")


@dataclass
class PackPlan:
    """Pieces in output order: document (-1 for padding), offset in the document, length."""

    doc: np.ndarray
    start: np.ndarray
    length: np.ndarray
    sequences: int
    pad_tokens: int
    cut_documents: int  # documents split over more than one sequence


def pack_concat(lengths: np.ndarray, seq_len: int) -> PackPlan:
    lengths = np.asarray(lengths, dtype=np.int64)
    doc_end = np.cumsum(lengths)
    total = int(doc_end[-1]) if len(doc_end) else 0
    sequences = -(-total // seq_len)
    # Cut points: every document end and every multiple of seq_len; pieces lie between them.
    cuts = np.union1d(doc_end[lengths > 0], np.arange(seq_len, sequences * seq_len + 1, seq_len))
    cuts = cuts[cuts <= total]
    piece_end = cuts
    piece_start = np.concatenate([[0], cuts[:-1]]) if len(cuts) else cuts
    doc = np.searchsorted(doc_end, piece_start, side="right")
    doc_start = doc_end - lengths
    start = piece_start - doc_start[doc] if len(doc) else piece_start
    length = piece_end - piece_start
    pad = sequences * seq_len - total
    pieces_per_doc = np.bincount(doc, minlength=len(lengths)) if len(doc) else np.zeros(len(lengths), np.int64)
    if pad:
        doc = np.append(doc, -1)
        start = np.append(start, 0)
        length = np.append(length, pad)
    return PackPlan(doc.astype(np.int64), start.astype(np.int64), length.astype(np.int64), sequences, pad,
                    int(np.count_nonzero(pieces_per_doc > 1)))


class _Bins:
    """Open sequences by their room: the smallest room that fits a size, in O(log LENGTH)."""

    def __init__(self, seq_len: int) -> None:
        self.size = 1 << max(1, seq_len.bit_length())  # rooms are 1..seq_len-1
        self.count = np.zeros(2 * self.size, np.int64)  # segment tree of how many bins have each room
        self.by_room: dict[int, deque[int]] = {}

    def _bump(self, room: int, delta: int) -> None:
        i = room + self.size
        while i:
            self.count[i] += delta
            i >>= 1

    def push(self, room: int, bin_id: int) -> None:
        self.by_room.setdefault(room, deque()).append(bin_id)
        self._bump(room, 1)

    def pop_fitting(self, need: int) -> tuple[int, int] | None:
        """The bin with the least room >= ``need`` (the earliest opened among equals)."""
        lo, hi = 0, self.size - 1
        if need > hi or not self._any(need, hi):
            return None
        while lo != hi:
            mid = (lo + hi) // 2
            if need <= mid and self._any(max(need, lo), mid):
                hi = mid
            else:
                lo = mid + 1
        bin_id = self.by_room[lo].popleft()
        self._bump(lo, -1)
        return lo, bin_id

    def _any(self, lo: int, hi: int) -> bool:
        """Whether some bin has a room in [lo, hi]."""
        total, lo, hi = 0, lo + self.size, hi + self.size + 1
        while lo < hi:
            if lo & 1:
                total += int(self.count[lo])
                lo += 1
            if hi & 1:
                hi -= 1
                total += int(self.count[hi])
            lo >>= 1
            hi >>= 1
        return total > 0


def pack_bfd(lengths: np.ndarray, seq_len: int) -> PackPlan:
    lengths = np.asarray(lengths, dtype=np.int64)
    full = lengths // seq_len
    rest = lengths % seq_len
    docs: list[int] = []
    starts: list[int] = []
    sizes: list[int] = []
    for d in np.flatnonzero(full).tolist():  # whole sequences cut from long documents, in order
        for k in range(int(full[d])):
            docs.append(d)
            starts.append(k * seq_len)
            sizes.append(seq_len)
    whole = len(docs)
    order = np.lexsort((np.arange(len(rest)), -rest))  # longest first, then input order
    order = order[rest[order] > 0]
    bins: list[list[int]] = []  # per packed sequence: its items (documents)
    rooms = _Bins(seq_len)
    for d in order.tolist():
        need = int(rest[d])
        found = rooms.pop_fitting(need)
        if found is None:
            bins.append([d])
            room = seq_len - need
            bin_id = len(bins) - 1
        else:
            room, bin_id = found
            bins[bin_id].append(d)
            room -= need
        if room:
            rooms.push(room, bin_id)
    pad = 0
    for items in bins:
        used = 0
        for d in items:
            docs.append(d)
            starts.append(int(full[d]) * seq_len)
            sizes.append(int(rest[d]))
            used += int(rest[d])
        if used < seq_len:
            docs.append(-1)
            starts.append(0)
            sizes.append(seq_len - used)
            pad += seq_len - used
    sequences = whole + len(bins)
    cut = int(np.count_nonzero((full > 1) | ((full >= 1) & (rest > 0))))
    return PackPlan(np.array(docs, np.int64), np.array(starts, np.int64), np.array(sizes, np.int64), sequences, pad,
                    cut)


def plan(lengths: np.ndarray, seq_len: int, strategy: str) -> PackPlan:
    return pack_bfd(lengths, seq_len) if strategy == "bfd" else pack_concat(lengths, seq_len)
