//! A Python `str` handed to the document cache to hold instead of a copy of its text: a first pass over
//! documents of ASCII (nearly all code) then copies only their ids.

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::HeldText;

/// A reference to an exact, compact ASCII `str`, and its bytes.
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

/// A handle on `s` if its UTF-8 is its own storage (an exact `str`, compact ASCII, on a CPython whose
/// string layout is readable); None otherwise (the cache then copies the text).
pub fn held(s: &Bound<'_, PyString>) -> Option<Box<dyn HeldText>> {
    #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
    {
        use pyo3::ffi;
        use pyo3::types::PyStringMethods;
        let ptr = s.as_ptr();
        // SAFETY: `s` is a live `str` (we hold the GIL and a reference); these read its type and its
        // header, which `storage` made ready before the text was encoded.
        let ascii = unsafe { ffi::PyUnicode_CheckExact(ptr) != 0 && ffi::PyUnicode_IS_COMPACT_ASCII(ptr) != 0 };
        if ascii {
            let text: *const str = s.to_str().ok()?;
            return Some(Box::new(HeldStr { _string: s.clone().unbind(), text }));
        }
    }
    let _ = s;
    None
}
