//! Reading token ids from Python: lists (the common case, read item by item without the generic
//! sequence machinery), numpy arrays and other buffers of integers (read in place), or any other
//! iterable of ints.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

fn id_from(item: &Bound<'_, PyAny>, position: usize) -> PyResult<u32> {
    match item.extract::<u32>() {
        Ok(id) => Ok(id),
        Err(_) if item.is_instance_of::<pyo3::types::PyInt>() => Err(PyValueError::new_err(format!(
            "token id {item} at position {position} is outside 0..2**32 and cannot be an id"
        ))),
        Err(_) => Err(PyTypeError::new_err(format!(
            "token ids must be ints, found {} at position {position}",
            item.get_type().name()?
        ))),
    }
}

/// Copies a buffer of integers into ids, checking each value.
fn from_buffer<T: pyo3::buffer::Element + Copy + TryInto<u32>>(obj: &Bound<'_, PyAny>) -> Option<PyResult<Vec<u32>>> {
    let buffer = PyBuffer::<T>::get(obj).ok()?;
    if buffer.dimensions() != 1 {
        return Some(Err(PyValueError::new_err("token ids must be a one-dimensional array")));
    }
    let values = match buffer.to_vec(obj.py()) {
        Ok(v) => v,
        Err(e) => return Some(Err(e)),
    };
    let mut ids = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        match v.try_into() {
            Ok(id) => ids.push(id),
            Err(_) => {
                return Some(Err(PyValueError::new_err(format!("token id at position {i} is negative or too large"))))
            }
        }
    }
    Some(Ok(ids))
}

/// The ids of a list. Plain ints in range are read in place, without taking a reference to each
/// (that reference count traffic cost as much as decoding itself); anything else takes the
/// general path, which converts int subclasses and explains bad items.
fn ids_from_list(list: &Bound<'_, PyList>) -> PyResult<Vec<u32>> {
    let mut ids = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        #[cfg(not(any(Py_LIMITED_API, Py_GIL_DISABLED, PyPy, GraalPy)))]
        {
            // SAFETY: `i` is below the length of a list we hold, and nothing in this loop runs
            // Python code that could change the list (PyLong_AsLong on an exact int does not); with
            // the GIL held no other thread can. The item is only read while the list owns it.
            let value = unsafe {
                let item = pyo3::ffi::PyList_GET_ITEM(list.as_ptr(), i as pyo3::ffi::Py_ssize_t);
                if pyo3::ffi::PyLong_CheckExact(item) != 0 {
                    pyo3::ffi::PyLong_AsLong(item)
                } else {
                    -1
                }
            };
            if let Ok(id) = u32::try_from(value) {
                ids.push(id);
                continue;
            }
            // Out of range: PyLong_AsLong may have set OverflowError; the general path says more.
            drop(PyErr::take(list.py()));
        }
        ids.push(id_from(&list.get_item(i)?, i)?);
    }
    Ok(ids)
}

/// Token ids from a list, tuple, numpy array (any integer dtype) or iterable of ints.
pub fn extract_ids(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    if let Ok(list) = obj.cast::<PyList>() {
        return ids_from_list(list);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple.iter().enumerate().map(|(i, item)| id_from(&item, i)).collect();
    }
    if let Some(r) = from_buffer::<u32>(obj)
        .or_else(|| from_buffer::<u16>(obj))
        .or_else(|| from_buffer::<i64>(obj))
        .or_else(|| from_buffer::<i32>(obj))
        .or_else(|| from_buffer::<u64>(obj))
        .or_else(|| from_buffer::<i16>(obj))
        .or_else(|| from_buffer::<u8>(obj))
    {
        return r;
    }
    if obj.is_instance_of::<pyo3::types::PyString>() || obj.is_instance_of::<pyo3::types::PyBytes>() {
        return Err(PyTypeError::new_err("token ids must be a sequence of ints, not a string"));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "token ids must be a list or array of ints, not {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })?;
    iter.enumerate().map(|(i, item)| id_from(&item?, i)).collect()
}
