//! Ids from an object with the buffer protocol (numpy arrays, `array.array`, memoryviews): integers of
//! any width, signed or not, in either byte order, contiguous or strided. The format string is read
//! by the core (`id_bytes.rs`) rather than through pyo3's typed buffers, which take a big-endian `>H`
//! for a native `H` on little-endian machines (a `>u2` numpy array was read byte-swapped); this file
//! only gets the view, its format and a contiguous copy of its bytes from Python.

use std::ffi::CStr;
use std::mem::MaybeUninit;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;

use super::to_py_err;
use crate::id_bytes::{ids_from_bytes, int_format};

/// A buffer view, released when dropped.
struct View(Box<ffi::Py_buffer>);

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: the view was filled by a successful PyObject_GetBuffer and is released once; the
        // GIL is held, as it is wherever a `View` lives (it is made from a `Bound`).
        unsafe { ffi::PyBuffer_Release(&mut *self.0) }
    }
}

/// The ids of `obj`'s buffer, each checked to be below `vocab_size`; `None` when `obj` has no
/// buffer interface.
pub fn read(obj: &Bound<'_, PyAny>, vocab_size: usize) -> Option<PyResult<Vec<u32>>> {
    // SAFETY: `obj` is a live object and the GIL is held (we have a `Bound`).
    if unsafe { ffi::PyObject_CheckBuffer(obj.as_ptr()) } == 0 {
        return None;
    }
    let mut raw = Box::new(MaybeUninit::<ffi::Py_buffer>::zeroed());
    // SAFETY: `raw` is writable memory for one Py_buffer; on success the interpreter filled it.
    let view = unsafe {
        if ffi::PyObject_GetBuffer(obj.as_ptr(), raw.as_mut_ptr(), ffi::PyBUF_FULL_RO) == -1 {
            return Some(Err(PyErr::fetch(obj.py())));
        }
        View(Box::from_raw(Box::into_raw(raw).cast::<ffi::Py_buffer>()))
    };
    Some(ids(obj.py(), &view, vocab_size))
}

fn ids(py: Python<'_>, view: &View, vocab_size: usize) -> PyResult<Vec<u32>> {
    let v = &*view.0;
    if v.ndim != 1 {
        return Err(PyValueError::new_err(format!(
            "token ids must be a one-dimensional array, not a {}-dimensional one",
            v.ndim
        )));
    }
    let format: &[u8] = if v.format.is_null() {
        b"B" // the protocol's default: unsigned bytes
    } else {
        // SAFETY: a non-null format is a NUL-terminated string that lives as long as the view.
        unsafe { CStr::from_ptr(v.format) }.to_bytes()
    };
    let described = String::from_utf8_lossy(format).into_owned();
    let Some(f) = int_format(format) else {
        return Err(PyTypeError::new_err(format!(
            "token ids must be integers, not a buffer of {described:?} items (numpy: use an integer dtype)"
        )));
    };
    if f.size as isize != v.itemsize {
        return Err(PyValueError::new_err(format!(
            "the buffer's items of format {described:?} claim {} bytes each, not {}",
            v.itemsize, f.size
        )));
    }
    let len = usize::try_from(v.len).unwrap_or(0);
    let mut bytes = vec![0u8; len];
    // SAFETY: `bytes` holds exactly `len` bytes, the view's length; the view is valid (held by `view`).
    let copied = unsafe {
        ffi::PyBuffer_ToContiguous(bytes.as_mut_ptr().cast(), &*view.0 as *const _ as *mut _, v.len, b'C' as _)
    };
    if copied == -1 {
        return Err(PyErr::fetch(py));
    }
    match ids_from_bytes(&bytes, f, vocab_size) {
        Some(ids) => ids.map_err(to_py_err),
        None => Err(PyTypeError::new_err(format!("token ids of {} bytes each are not supported", f.size))),
    }
}
