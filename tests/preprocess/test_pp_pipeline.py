"""The pipeline of a run (python/llamatok/preprocess/pipeline.py): results written in input order, errors
and Ctrl-C raised to the caller with nothing written after the failing batch, a failed write stopping the
reading."""

from __future__ import annotations

import time

import pytest

from llamatok.preprocess.pipeline import run_pipeline


def test_results_are_written_in_input_order():
    def encode(batch: int) -> int:
        time.sleep(0.02 if batch % 2 == 0 else 0.001)
        return batch * 10

    written: list[int] = []
    run_pipeline(iter(range(12)), encode, written.append)
    assert written == [b * 10 for b in range(12)]


def written_before(failed: int, written: list[int]) -> bool:
    """Whether ``written`` is results of the batches before ``failed``, in order: the writer may stop before
    it has written them all (a failure stops every stage), but never writes one at or after it."""
    return written == list(range(len(written))) and len(written) <= failed


def test_an_encoding_error_is_raised_and_nothing_after_it_is_written():
    def encode(batch: int) -> int:
        if batch == 4:
            raise ValueError("batch 4 is bad")
        time.sleep(0.005)
        return batch

    written: list[int] = []
    with pytest.raises(ValueError, match="batch 4 is bad"):
        run_pipeline(iter(range(10)), encode, written.append)
    assert written_before(4, written)


def test_a_write_error_stops_the_reading():
    read: list[int] = []

    def endless():
        n = 0
        while True:
            read.append(n)
            yield n
            n += 1

    def write(result: int) -> None:
        if result == 3:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_pipeline(endless(), lambda b: b, write)
    # The reader stops a few batches past the failure (the queues hold two each), not never.
    assert len(read) < 20


def test_ctrl_c_while_encoding_reaches_the_caller():
    def encode(batch: int) -> int:
        if batch == 2:
            raise KeyboardInterrupt
        return batch

    written: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(iter(range(10)), encode, written.append)
    assert written_before(2, written)
