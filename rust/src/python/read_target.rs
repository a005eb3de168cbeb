//! The object a stream's `readinto` writes into when `read_jsonl_block` reads a block: a writable
//! buffer over part of a pooled Rust buffer that knows whether Python still holds it afterwards.
//!
//! A plain memoryview of the memory would not tell: `memoryview.release()` succeeds while a slice of it
//! lives on (the slice shares the view's underlying buffer). Every view of this object's buffer holds a
//! reference to the object until it is released (`Py_buffer.obj`), and so does a numpy array made from
//! it: once `readinto` has returned, a reference count of one (the caller's) means nothing in Python can
//! reach the memory. A raw stream under an `io.BufferedReader` is handed a view the reader made of the
//! memory itself; what it does with it is beyond this check, as it is for a `bytearray`.

use std::ffi::{c_int, c_void};

use pyo3::ffi;
use pyo3::prelude::*;

use super::buffer::{fill_view, Layout};

/// A writable, one-dimensional buffer of bytes that Rust owns, lent to a `readinto` call.
#[pyclass(frozen, module = "llamatok._native")]
pub struct ReadTarget {
    /// The first byte's address (a pointer kept as an integer, which is `Send` and `Sync`).
    addr: usize,
    /// `shape[0]`, the buffer's length, for the buffer protocol.
    shape: [ffi::Py_ssize_t; 1],
}

impl ReadTarget {
    /// # Safety
    /// `buf` must outlive the object, unless [`held`](Self::held) says Python holds it, in which case
    /// the memory must never be freed or used for anything else.
    pub unsafe fn new(buf: &mut [u8]) -> ReadTarget {
        ReadTarget { addr: buf.as_mut_ptr() as usize, shape: [buf.len() as ffi::Py_ssize_t] }
    }

    /// Whether anything besides `this` (the caller's own reference to this object) can still reach
    /// the buffer: a reference to the object, or a view of its buffer (a memoryview, a slice of one).
    pub fn held(this: &Bound<'_, ReadTarget>) -> bool {
        this.get_refcnt() > 1
    }
}

#[pymethods]
impl ReadTarget {
    fn __len__(&self) -> usize {
        self.shape[0] as usize
    }

    // SAFETY (for callers): pyo3 declares the buffer slots `unsafe`; the interpreter calls this with
    // a `Py_buffer` it owns and that is valid for writing. `fill_view` checks it is not null.
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        let this = slf.get();
        let layout =
            Layout { buf: this.addr as *mut c_void, itemsize: 1, format: c"B", shape: &this.shape, readonly: false };
        // SAFETY: the memory outlives the object (`new`'s contract) and `shape` is part of it; the view
        // holds a reference to the object until it is released, which `held` sees.
        unsafe { fill_view(view, flags, slf.clone().into_any(), layout) }
    }

    // SAFETY (for callers): nothing to release; the view's owner reference is dropped by Python.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}
