//! The value of an exact Python `int` of at most one digit, read from the int's own storage, for the
//! id readers (`ids.rs`): calling `PyLong_AsLong` for every id was a sixth of decoding a list. The
//! caller asks [`layout_known`] once per list, then [`value`] per item.
//!
//! CPython stores an int as a header and 30-bit digits. Up to 3.11 the header's size field is the
//! digit count with the int's sign; in 3.12 and 3.13 the same word is `lv_tag`, the digit count shifted
//! left by 3 with the sign in the low bits (0 positive, 1 zero, 2 negative). The first digit follows
//! that word. Only 0 and positive one-digit ints (below 2^30: every id) are read here; anything else,
//! and every Python where this layout is not part of the C API (3.14+, PyPy, GraalPy, free-threaded
//! builds, the limited API), goes through the C API. The layout is also checked once at run time
//! against `PyLong_AsLong` (a build with 15-bit digits, for one, fails the check and never uses it).

#[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_GIL_DISABLED, Py_LIMITED_API)))]
mod layout {
    use std::sync::OnceLock;

    use pyo3::ffi;

    /// The header word's value for zero, and for a positive int of one digit.
    #[cfg(not(Py_3_12))]
    const ZERO: isize = 0;
    #[cfg(not(Py_3_12))]
    const ONE_DIGIT: isize = 1;
    #[cfg(Py_3_12)]
    const ZERO: isize = 1;
    #[cfg(Py_3_12)]
    const ONE_DIGIT: isize = 1 << 3;

    /// # Safety
    /// `item` must point to a live object whose exact type is `int`, and [`layout_holds`] must be true.
    pub unsafe fn read(item: *mut ffi::PyObject) -> Option<u32> {
        // SAFETY: an int starts with a variable-size object header (in 3.12+ the word after the object
        // header is `lv_tag`, at the same place as `ob_size`); one digit or more always follows it
        // (CPython allocates a digit even for zero).
        unsafe {
            let word = (*item.cast::<ffi::PyVarObject>()).ob_size;
            let digit = *item.cast::<u8>().add(std::mem::size_of::<ffi::PyVarObject>()).cast::<u32>();
            match word {
                ZERO => Some(0),
                ONE_DIGIT => Some(digit),
                _ => None,
            }
        }
    }

    /// Whether [`read`] agrees with `PyLong_AsLong` here (checked once, on ints around the digit
    /// boundaries).
    pub fn layout_holds() -> bool {
        static HOLDS: OnceLock<bool> = OnceLock::new();
        *HOLDS.get_or_init(|| {
            [0i64, 1, 2, 255, 256, 32_767, 32_768, 65_535, 65_536, 123_456_789, (1 << 30) - 1].iter().all(|&v| {
                // SAFETY: called with the GIL held (from `value`); each int is released after use.
                unsafe {
                    let obj = ffi::PyLong_FromLongLong(v);
                    if obj.is_null() {
                        ffi::PyErr_Clear();
                        return false;
                    }
                    let ok = read(obj) == Some(v as u32) && ffi::PyLong_AsLong(obj) as i64 == v;
                    ffi::Py_DecRef(obj);
                    ok
                }
            })
        })
    }
}

/// Whether this Python's int layout is known and checked (asked once per list; the GIL must be held).
pub fn layout_known() -> bool {
    #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_GIL_DISABLED, Py_LIMITED_API)))]
    return layout::layout_holds();
    #[cfg(any(Py_3_14, PyPy, GraalPy, Py_GIL_DISABLED, Py_LIMITED_API))]
    return false;
}

/// The value of `item`, an exact `int`, when it is 0 or a positive int below 2^30; None otherwise (the
/// caller then asks the C API).
///
/// # Safety
/// [`layout_known`] must have returned true, and `item` must point to a live object whose exact type
/// is `int`.
#[inline]
pub unsafe fn value(item: *mut pyo3::ffi::PyObject) -> Option<u32> {
    #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_GIL_DISABLED, Py_LIMITED_API)))]
    {
        // SAFETY: as this function's own contract.
        unsafe { layout::read(item) }
    }
    #[cfg(any(Py_3_14, PyPy, GraalPy, Py_GIL_DISABLED, Py_LIMITED_API))]
    {
        let _ = item;
        None
    }
}
