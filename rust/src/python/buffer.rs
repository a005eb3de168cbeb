//! Ids handed to Python without a copy: an object that owns the Rust vector and exposes it through
//! the buffer protocol, so `numpy.frombuffer` / `memoryview` read it in place.

use std::ffi::{c_int, c_void, CStr};

use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;

enum Data {
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
}

/// A read-only, one-dimensional buffer of unsigned integers owned by Rust.
#[pyclass(frozen, module = "llamatok._native")]
pub struct IdBuffer {
    data: Data,
    /// `shape[0]` for the buffer protocol; lives as long as the object, as the protocol needs.
    shape: [ffi::Py_ssize_t; 1],
}

impl IdBuffer {
    pub fn u32(ids: Vec<u32>) -> IdBuffer {
        let n = ids.len() as ffi::Py_ssize_t;
        IdBuffer { data: Data::U32(ids), shape: [n] }
    }

    pub fn u64(values: Vec<u64>) -> IdBuffer {
        let n = values.len() as ffi::Py_ssize_t;
        IdBuffer { data: Data::U64(values), shape: [n] }
    }

    pub fn u16(ids: Vec<u16>) -> IdBuffer {
        let n = ids.len() as ffi::Py_ssize_t;
        IdBuffer { data: Data::U16(ids), shape: [n] }
    }

    fn raw(&self) -> (*const c_void, usize, &'static CStr) {
        match &self.data {
            Data::U16(v) => (v.as_ptr().cast(), 2, c"H"),
            Data::U32(v) => (v.as_ptr().cast(), 4, c"I"),
            Data::U64(v) => (v.as_ptr().cast(), 8, c"Q"),
        }
    }
}

#[pymethods]
impl IdBuffer {
    fn __len__(&self) -> usize {
        self.shape[0] as usize
    }

    /// The numpy dtype string of the items: `"uint16"`, `"uint32"` or `"uint64"`.
    #[getter]
    fn dtype(&self) -> &'static str {
        match self.data {
            Data::U16(_) => "uint16",
            Data::U32(_) => "uint32",
            Data::U64(_) => "uint64",
        }
    }

    /// The address of the first item in memory: what every buffer view of this object points at, so
    /// a test can check that numpy reads this very vector rather than a copy.
    #[getter]
    fn address(&self) -> usize {
        self.raw().0 as usize
    }

    // SAFETY (for callers): pyo3 declares the buffer slots `unsafe`; the interpreter calls this with
    // a `Py_buffer` it owns and that is valid for writing. `fill_view` checks it is not null.
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
            return Err(PyBufferError::new_err("llamatok id buffers are read-only"));
        }
        let this = slf.get();
        let (ptr, itemsize, format) = this.raw();
        let layout = Layout { buf: ptr as *mut c_void, itemsize, format, shape: &this.shape, readonly: true };
        // SAFETY: the vector and `shape` live as long as `slf`, and the vector never changes (frozen).
        unsafe { fill_view(view, flags, slf.clone().into_any(), layout) }
    }

    // SAFETY (for callers): nothing to release; the view's owner reference is dropped by Python.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}

/// Where a one-dimensional buffer's items are and what they are, for [`fill_view`].
pub(super) struct Layout<'a> {
    pub buf: *mut c_void,
    pub itemsize: usize,
    pub format: &'static CStr,
    /// The number of items; the protocol needs it to live as long as the owner.
    pub shape: &'a [ffi::Py_ssize_t; 1],
    pub readonly: bool,
}

/// Fills `view` (from a `__getbuffer__` call with `flags`) for `layout`'s items, owned by `owner`,
/// which the view keeps alive.
///
/// # Safety
/// `view` is null or a `Py_buffer` valid for writing, and `layout.buf` (its `shape[0] * itemsize`
/// bytes) and `layout.shape` stay valid as long as `owner` lives.
pub(super) unsafe fn fill_view(
    view: *mut ffi::Py_buffer,
    flags: c_int,
    owner: Bound<'_, PyAny>,
    layout: Layout<'_>,
) -> PyResult<()> {
    if view.is_null() {
        return Err(PyBufferError::new_err("a null Py_buffer was passed"));
    }
    // SAFETY: `view` is a valid Py_buffer (the caller's promise, and not null); every pointer stored in
    // it lives as long as `owner` (the caller's promise), which the view holds a reference to in `obj`.
    unsafe {
        (*view).obj = owner.into_ptr();
        (*view).buf = layout.buf;
        (*view).len = layout.shape[0] * layout.itemsize as ffi::Py_ssize_t;
        (*view).readonly = c_int::from(layout.readonly);
        (*view).itemsize = layout.itemsize as ffi::Py_ssize_t;
        (*view).format = if flags & ffi::PyBUF_FORMAT == ffi::PyBUF_FORMAT {
            layout.format.as_ptr() as *mut _
        } else {
            std::ptr::null_mut()
        };
        (*view).ndim = 1;
        (*view).shape =
            if flags & ffi::PyBUF_ND == ffi::PyBUF_ND { layout.shape.as_ptr() as *mut _ } else { std::ptr::null_mut() };
        (*view).strides =
            if flags & ffi::PyBUF_STRIDES == ffi::PyBUF_STRIDES { &mut (*view).itemsize } else { std::ptr::null_mut() };
        (*view).suboffsets = std::ptr::null_mut();
        (*view).internal = std::ptr::null_mut();
    }
    Ok(())
}
