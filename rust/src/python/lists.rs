//! Lists of ids handed to Python. Each is made from the tokenizer's table of one int per id (a
//! reference count per id, no allocation) and left out of Python's cycle collector: it holds only
//! ints, which cannot be part of a cycle, and a caller who keeps many lists (a dataset job) would
//! otherwise have the collector walk all of them again and again (docs/speed.md, "Lists of ids").

use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList};

/// A new list of `ids`, each the int of `ints` at that index.
pub(super) fn id_list<'py>(py: Python<'py>, ints: &[Py<PyInt>], ids: &[u32]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::new(py, ids.iter().map(|&id| ints[id as usize].bind(py)))?;
    #[cfg(not(any(Py_GIL_DISABLED, PyPy, GraalPy)))]
    // SAFETY: `list` is a live list this call just made and still owns, with the GIL held; the C
    // API allows untracking a tracked container at any time (CPython does it for tuples and dicts
    // of atomic values). An untracked list is still freed by reference counting.
    unsafe {
        pyo3::ffi::PyObject_GC_UnTrack(list.as_ptr().cast());
    }
    Ok(list)
}
