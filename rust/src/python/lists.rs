//! Lists of ids handed to Python. Each is made from the tokenizer's table of one int per id (a
//! reference count per id, no allocation) and left out of Python's cycle collector: it holds only
//! ints, which cannot be part of a cycle, and a caller who keeps many lists (a dataset job) would
//! otherwise have the collector walk all of them again and again (docs/speed.md, "Lists of ids").

use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList};

/// A new list of `ids`, each the int of `ints` at that index.
pub(super) fn id_list<'py>(py: Python<'py>, ints: &[Py<PyInt>], ids: &[u32]) -> PyResult<Bound<'py, PyList>> {
    let list = filled(py, ints, ids)?;
    #[cfg(not(any(Py_GIL_DISABLED, PyPy, GraalPy)))]
    // SAFETY: `list` is a live list this call just made and still owns, with the GIL held; the C
    // API allows untracking a tracked container at any time (CPython does it for tuples and dicts
    // of atomic values). An untracked list is still freed by reference counting.
    unsafe {
        pyo3::ffi::PyObject_GC_UnTrack(list.as_ptr().cast());
    }
    Ok(list)
}

/// The list, its slots written directly: a list of ids is most of what a call on a short text returns,
/// and pyo3's general constructor spends more per item (`benches/results/notes.md`, session 23).
#[cfg(not(any(Py_LIMITED_API, PyPy, GraalPy)))]
fn filled<'py>(py: Python<'py>, ints: &[Py<PyInt>], ids: &[u32]) -> PyResult<Bound<'py, PyList>> {
    use pyo3::ffi;
    // A slice's length fits `isize`, as does every index below it.
    let len = ids.len() as ffi::Py_ssize_t;
    // SAFETY: the GIL is held (`py`); `PyList_New` returns a new reference or null with an exception
    // set, which `from_owned_ptr_or_err` turns into the error, and the object it returns is a list.
    let list = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(len))?.cast_into_unchecked::<PyList>() };
    // A long list's slots are fresh memory that the loop below touches first (huge_pages.rs); a short
    // list's call (most of them) skips this.
    let slot_bytes = ids.len() * std::mem::size_of::<*mut ffi::PyObject>();
    if slot_bytes >= crate::huge_pages::HUGE_PAGE {
        // SAFETY: `list` is a list (above); reading its item pointer reads no item.
        let slots = unsafe { (*list.as_ptr().cast::<ffi::PyListObject>()).ob_item };
        crate::huge_pages::advise(slots.cast(), slot_bytes);
    }
    for (i, &id) in ids.iter().enumerate() {
        let int = ints[id as usize].clone_ref(py).into_ptr();
        // SAFETY: `list` is the new list of `len` empty slots made above, seen by no one else yet; slot
        // `i < len` is written once and takes over the reference `int` holds. (Were the index above to
        // panic, the slots not written yet are null, which a list's deallocation skips.)
        unsafe { ffi::PyList_SET_ITEM(list.as_ptr(), i as ffi::Py_ssize_t, int) };
    }
    Ok(list)
}

#[cfg(any(Py_LIMITED_API, PyPy, GraalPy))]
fn filled<'py>(py: Python<'py>, ints: &[Py<PyInt>], ids: &[u32]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, ids.iter().map(|&id| ints[id as usize].bind(py)))
}
