//! Reading token ids from Python: lists (the common case, read item by item without the generic
//! sequence machinery), numpy arrays and other buffers of integers (`int_buffer.rs`), or any other
//! iterable of ints. Every id is checked against the vocabulary here: an id out of range, whatever
//! its sign or size, is `Error::TokenId`; an item that is not an integer is a `TypeError`.

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyList, PyString, PyTuple};

use super::int_buffer;
#[cfg(not(any(Py_LIMITED_API, Py_GIL_DISABLED, PyPy, GraalPy)))]
use super::small_int;
use super::to_py_err;
use crate::error::Error;

/// One id: a Python int, or anything with `__index__` (numpy's integers, 0-d integer tensors).
/// Floats, strings and other objects are a `TypeError`, as in transformers: never truncated or parsed.
pub fn id_from(item: &Bound<'_, PyAny>, position: Option<usize>, vocab_size: usize) -> PyResult<u32> {
    if let Ok(id) = item.extract::<u32>() {
        if (id as usize) < vocab_size {
            return Ok(id);
        }
        return Err(to_py_err(Error::token_id(id, position, vocab_size)));
    }
    // An integer that is not a u32 (negative, or 2**32 and above) is an id out of range.
    let index = if item.is_instance_of::<PyInt>() {
        Some(item.clone())
    } else if item.hasattr("__index__").unwrap_or(false) {
        item.call_method0("__index__").ok()
    } else {
        None
    };
    match index {
        Some(value) => Err(to_py_err(Error::token_id(value.str()?, position, vocab_size))),
        None => {
            let at = position.map(|p| format!(" at position {p}")).unwrap_or_default();
            Err(PyTypeError::new_err(format!("token ids must be ints, found {}{at}", item.get_type().name()?)))
        }
    }
}

/// The ids of a list. Plain ints in range are read in place, without taking a reference to each
/// (that reference count traffic cost as much as decoding itself); anything else takes the
/// general path, which converts int subclasses and explains bad items.
fn ids_from_list(list: &Bound<'_, PyList>, vocab_size: usize) -> PyResult<Vec<u32>> {
    let len = list.len();
    let mut ids = Vec::with_capacity(len);
    #[cfg(not(any(Py_LIMITED_API, Py_GIL_DISABLED, PyPy, GraalPy)))]
    let small_ints = small_int::layout_known();
    for i in 0..len {
        #[cfg(not(any(Py_LIMITED_API, Py_GIL_DISABLED, PyPy, GraalPy)))]
        {
            // SAFETY: the list still has `len` items: only the general path below runs Python code (an
            // int subclass's or an object's `__index__`, during which other threads may run too), and
            // the length is checked again after it. Reading an exact int runs none, and the item is
            // only read while the list owns it.
            let value: i64 = unsafe {
                let item = pyo3::ffi::PyList_GET_ITEM(list.as_ptr(), i as pyo3::ffi::Py_ssize_t);
                if pyo3::ffi::PyLong_CheckExact(item) == 0 {
                    -1
                } else if let Some(small) = small_ints.then(|| small_int::value(item)).flatten() {
                    i64::from(small)
                } else {
                    pyo3::ffi::PyLong_AsLongLong(item)
                }
            };
            if let Ok(id) = u32::try_from(value) {
                if (id as usize) < vocab_size {
                    ids.push(id);
                    continue;
                }
            }
            // Out of range: PyLong_AsLongLong may have set OverflowError; the general path says more.
            drop(PyErr::take(list.py()));
        }
        ids.push(id_from(&list.get_item(i)?, Some(i), vocab_size)?);
        if list.len() != len {
            return Err(PyRuntimeError::new_err(
                "the list of token ids changed size while it was read (an item's __index__, or another \
                 thread, changed it): pass a list that nothing changes during the call",
            ));
        }
    }
    Ok(ids)
}

/// Token ids from a list, tuple, numpy array (any integer dtype, either byte order) or iterable of
/// ints, each below `vocab_size`.
pub fn extract_ids(obj: &Bound<'_, PyAny>, vocab_size: usize) -> PyResult<Vec<u32>> {
    if let Ok(list) = obj.cast::<PyList>() {
        return ids_from_list(list, vocab_size);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple.iter().enumerate().map(|(i, item)| id_from(&item, Some(i), vocab_size)).collect();
    }
    // Bytes hold text or data, not ids: reading them as uint8 ids would decode b"\x01\x02" as "<s></s>".
    if obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<PyByteArray>() {
        return Err(PyTypeError::new_err(format!(
            "token ids must be a sequence of ints, not {} (if these bytes really are ids, pass list(data))",
            obj.get_type().name()?
        )));
    }
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("token ids must be a sequence of ints, not a string"));
    }
    if let Some(ids) = int_buffer::read(obj, vocab_size) {
        return ids;
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "token ids must be a list or array of ints, not {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })?;
    iter.enumerate().map(|(i, item)| id_from(&item?, Some(i), vocab_size)).collect()
}
