//! A Python `str` handed to the document cache to hold instead of a copy of its text: a first pass over
//! documents of ASCII (nearly all code) then copies only their ids.

use pyo3::prelude::*;
use pyo3::types::PyString;

#[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
use super::text::{storage, StrStorage};
use crate::HeldText;

/// A reference to an exact, compact ASCII `str`, and its bytes.
#[cfg_attr(
    any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API),
    allow(dead_code, reason = "made where the storage is readable only")
)]
pub struct HeldStr {
    /// Keeps the string alive; and while the cache holds this reference the count is above one, which
    /// CPython requires before it changes a string in place (`s += t` on a sole reference).
    _string: Py<PyString>,
    text: *const str,
}

// SAFETY: `text` points into the storage of `_string`, an immutable object kept alive by this handle, so
// it is valid and unchanged from any thread for the handle's lifetime; `Py<PyString>` is itself Send and
// Sync (dropped without the GIL, it is released later by pyo3).
unsafe impl Send for HeldStr {}
// SAFETY: as for Send; the handle is never written to.
unsafe impl Sync for HeldStr {}

impl HeldText for HeldStr {
    fn text(&self) -> &str {
        // SAFETY: see the Send impl: the string outlives the handle's borrow and never changes.
        unsafe { &*self.text }
    }
}

/// A handle on `s` if `text::storage` borrows its UTF-8 as it is (compact ASCII); None otherwise, and the
/// cache copies the text. CPython never stores an instance of a `str` subclass compactly, so only exact
/// `str`s are held, and letting one go runs no Python code (a subclass could have a `__del__`).
#[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
pub fn held(s: &Bound<'_, PyString>) -> Option<Box<dyn HeldText>> {
    match storage(s).ok()? {
        StrStorage::Utf8(text) => Some(Box::new(HeldStr { _string: s.clone().unbind(), text })),
        _ => None,
    }
}

/// None: where CPython's string storage is not readable, the cache copies every text.
#[cfg(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API))]
pub fn held(_s: &Bound<'_, PyString>) -> Option<Box<dyn HeldText>> {
    None
}
