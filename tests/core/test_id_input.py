"""Ids handed to the core from Python (python/ids.rs, python/int_buffer.rs): lists, tuples, numpy arrays
of every integer dtype in either byte order, iterables. Bytes are not ids, floats and strings are not
ids, and an id outside the vocabulary is a TokenIdError (an IndexError) whatever its size or sign."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llamatok
from conftest import CODELLAMA_DIR, require


@pytest.fixture(scope="module")
def tok(demo_dir):
    return llamatok.Tokenizer.from_file(str(demo_dir / "tokenizer.json"))


@pytest.fixture(scope="module")
def ids(tok):
    return tok.encode("def f(x):\n    return x  # ünïcode 😀")


INT_DTYPES = ["u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8"]


@pytest.mark.parametrize("order", ["<", ">", "="])
@pytest.mark.parametrize("kind", INT_DTYPES)
def test_integer_arrays_in_either_byte_order(tok, ids, kind, order):
    fits = [i for i in ids if i < np.iinfo(np.dtype(kind)).max] if kind in ("u1", "i1") else ids
    expected = tok.decode(fits)
    arr = np.array(fits, dtype=order + kind)
    assert tok.decode(arr) == expected, arr.dtype
    assert tok.decode(np.repeat(arr, 2)[::2]) == expected  # a strided view
    assert tok.decode_batch([arr, arr]) == [expected, expected]


def test_non_native_byte_order_is_honoured(tok):
    other = ">" if sys.byteorder == "little" else "<"
    assert memoryview(np.zeros(1, dtype=other + "u2")).format[0] in "<>!"
    for kind in ("u2", "i4", "u8"):
        assert tok.decode(np.array([822, 285], dtype=other + kind)) == tok.decode([822, 285])


def test_bytes_are_not_ids(tok):
    for data in (b"\x01\x02", bytearray(b"\x01\x02"), b""):
        with pytest.raises(TypeError, match="bytes"):
            tok.decode(data)
        with pytest.raises(TypeError, match="bytes"):
            tok.decode_batch([data])


@pytest.mark.parametrize("bad", [[1.9, 822.7], [1, "2"], np.array([1.0, 2.0]), np.array([1, 2], dtype=np.float32),
                                 [np.float64(3.0)], np.array([True, False])])
def test_non_integer_ids_are_type_errors(tok, bad):
    with pytest.raises(TypeError, match="int"):
        tok.decode(bad)


@pytest.mark.parametrize("bad", [-1, -(2**40), 2**32, 2**32 + 2, 2**64, 10**30])
def test_any_id_outside_the_vocabulary_is_a_token_id_error(tok, bad):
    for container in (list, tuple, iter):
        with pytest.raises(llamatok.TokenIdError, match="out of range") as e:
            tok.decode(container([5, bad]))
        assert isinstance(e.value, IndexError) and "position 1" in str(e.value) and str(bad) in str(e.value)
    with pytest.raises(llamatok.TokenIdError):
        tok.decode_batch([[5], [bad]])
    with pytest.raises(llamatok.TokenIdError, match=str(bad)):
        tok.id_to_piece(bad)


@pytest.mark.parametrize("dtype,bad", [("i8", -1), ("i2", -7), ("u8", 2**63), ("i8", 2**32), ("u4", 2**32 - 1)])
def test_array_ids_outside_the_vocabulary(tok, dtype, bad):
    with pytest.raises(llamatok.TokenIdError, match=f"{bad} at position 2"):
        tok.decode(np.array([1, 2, bad, 3], dtype=dtype))


def test_numpy_integer_items_are_ids(tok):
    assert tok.decode([np.int64(822), np.uint16(285)]) == tok.decode([822, 285])
    with pytest.raises(llamatok.TokenIdError):
        tok.decode([np.int64(-1)])
    assert tok.id_to_piece(np.int32(5)) == tok.id_to_piece(5)


def test_arrays_of_other_shapes(tok):
    with pytest.raises(ValueError, match="one-dimensional"):
        tok.decode(np.zeros((2, 2), dtype=np.int64))
    assert tok.decode(np.array([], dtype=np.int64)) == ""


def test_a_directory_is_not_a_model_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)) as e:
        llamatok.Tokenizer.from_file(str(tmp_path))
    assert e.value.filename == str(tmp_path)


#: Ints around the boundaries of CPython's digits (15 and 30 bits) and of the vocabularies.
BOUNDARIES = [0, 1, 255, 256, 2**15 - 1, 2**15, 2**15 + 1, 8015, 8016, 32015, 32016, 2**30 - 1, 2**30, 2**31,
              2**32 - 1, 2**32, -1, -(2**15), -(2**30), -(2**30) - 1, 2**60, -(2**60)]


def _outcome(call, arg):
    try:
        return call(arg)
    except Exception as e:  # the same error, type and message, is the point
        return type(e), str(e)


@given(items=st.lists(st.one_of(st.integers(0, 33000), st.sampled_from(BOUNDARIES), st.integers(-2**70, 2**70)),
                      max_size=12))
@settings(max_examples=300)
def test_list_ids_read_like_any_other_sequence(items):
    """A list's exact ints are read from their storage (python/small_int.rs), a tuple's through
    pyo3's conversion: the same ids, or the same error, for ints of any size and sign, on both
    vocabularies."""
    for tok in _both_vocabularies():
        assert _outcome(tok.decode, items) == _outcome(tok.decode, tuple(items))
        got, want = _outcome(tok.decode_batch, [items]), _outcome(lambda t: [tok.decode(t)], tuple(items))  # noqa: B023
        # A batch's error names the sequence it is about.
        assert got == (want if isinstance(want, list) else (want[0], f"sequence 0: {want[1]}"))


_TOKENIZERS: list[llamatok.Tokenizer] = []


def _both_vocabularies() -> list[llamatok.Tokenizer]:
    """The demo vocabulary (8016 ids) and Code Llama's (32016 ids, past 2**15)."""
    if not _TOKENIZERS:
        require(CODELLAMA_DIR / "tokenizer.json")
        for folder in (llamatok.demo_path(), CODELLAMA_DIR):
            _TOKENIZERS.append(llamatok.Tokenizer.from_file(str(folder / "tokenizer.json")))
    return _TOKENIZERS


def test_every_id_of_both_vocabularies_reads_the_same_from_a_list():
    """Each valid id alone, from a list and from a tuple (see above): the fast read is checked on every
    value it can give an id."""
    for tok in _both_vocabularies():
        for i in range(len(tok)):
            assert tok.decode([i]) == tok.decode((i,)), i


class _Shrinking:
    """An id whose ``__index__`` empties or shortens the list it is read from."""

    def __init__(self, ids: list, keep: int) -> None:
        self.ids, self.keep = ids, keep

    def __index__(self) -> int:
        del self.ids[self.keep:]
        return 5


@pytest.mark.parametrize("keep", [0, 1, 2])
def test_a_list_changed_while_its_ids_are_read_is_an_error_not_a_crash(tok, keep):
    """The items after one whose __index__ runs Python code are read from the list as it is then: a list
    that changed size is a RuntimeError (it was read past its end before, and crashed)."""
    for call in (tok.decode, lambda ids: tok.decode_batch([ids])):
        ids: list = [1, 2, 3]
        ids.insert(1, _Shrinking(ids, keep))
        with pytest.raises(RuntimeError, match="changed size while it was read"):
            call(ids)
    ids = [1, _Shrinking([], 0), 2]  # an __index__ that changes another list
    assert tok.decode(ids) == tok.decode([1, 5, 2])
