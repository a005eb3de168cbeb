"""Ids handed to the core from Python (python/ids.rs, python/int_buffer.rs): lists, tuples, numpy arrays
of every integer dtype in either byte order, iterables. Bytes are not ids, floats and strings are not
ids, and an id outside the vocabulary is a TokenIdError (an IndexError) whatever its size or sign."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import llamatok


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
