//! Reading a Python `str` as UTF-8 for one encode call.
//!
//! ASCII strings (nearly all source code) are borrowed as they are. For others, CPython would build a
//! UTF-8 copy and keep it inside the string for the string's lifetime (a measurable part of a
//! non-ASCII call, plus a second copy of the text in memory); instead the string's fixed-width
//! storage (1, 2 or 4 bytes per code point) is transcoded straight into the caller's buffer. A lone
//! surrogate cannot be UTF-8: then CPython itself is asked, so the caller gets exactly its
//! `UnicodeEncodeError`. Where the storage is not part of the C API (Python 3.14+, PyPy, GraalPy, the
//! limited API) CPython's UTF-8 is used as before, and the transcoder is not compiled.

#[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// The UTF-8 encoding of `c` as a little-endian word, and its length in bytes. Computed without
/// branches: CJK mixed with emoji alternates between 3 and 4 bytes at random, where a branch on the
/// length would often be mispredicted.
#[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
#[inline(always)]
fn utf8_word(c: u32) -> (u32, usize) {
    let len = 1 + usize::from(c >= 0x80) + usize::from(c >= 0x800) + usize::from(c >= 0x1_0000);
    let tail = |shift: u32| 0x80 | (c >> shift & 0x3F);
    let words = [
        c,
        (0xC0 | c >> 6) | tail(0) << 8,
        (0xE0 | c >> 12) | tail(6) << 8 | tail(0) << 16,
        (0xF0 | c >> 18) | tail(12) << 8 | tail(6) << 16 | tail(0) << 24,
    ];
    (words[len - 1], len)
}

/// Writes the UTF-8 of fixed-width code units into `out` (replacing its contents) and returns it;
/// None at a surrogate (which UTF-8 cannot hold). `max_len` is the longest encoding of one unit.
#[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
fn transcode<'a, T: Copy + Into<u32>>(units: &[T], max_len: usize, out: &'a mut Vec<u8>) -> Option<&'a str> {
    // Each character is written as a whole word, so the buffer has 4 bytes to spare at the end.
    let capacity = units.len() * max_len + 4;
    out.clear();
    out.reserve(capacity);
    let buf = &mut out.spare_capacity_mut()[..capacity];
    let mut n = 0;
    let mut surrogates = false;
    for &unit in units {
        let c: u32 = unit.into();
        surrogates |= c & !0x7FF == 0xD800;
        let (word, len) = utf8_word(c);
        for (slot, byte) in buf[n..n + 4].iter_mut().zip(word.to_le_bytes()) {
            slot.write(byte);
        }
        n += len;
    }
    if surrogates {
        return None;
    }
    // SAFETY: the loop wrote bytes 0..n, and they are the UTF-8 encoding of code points that are
    // not surrogates (CPython stores none above U+10FFFF), so valid UTF-8.
    unsafe {
        out.set_len(n);
        Some(std::str::from_utf8_unchecked(out))
    }
}

/// The text of `s` as UTF-8: borrowed when `s` is ASCII, else transcoded into `buf`.
#[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
pub fn utf8<'a>(s: &'a Bound<'_, PyString>, buf: &'a mut Vec<u8>) -> PyResult<&'a str> {
    let ptr = s.as_ptr();
    // SAFETY: `s` is a live `str` (we hold the GIL and a reference); CPython strings are immutable,
    // so its storage stays valid and unchanged for the duration of this call. `PyUnicode_READY`
    // makes legacy (pre-3.12) strings expose their canonical storage.
    let (kind, data, len) = unsafe {
        if ffi::PyUnicode_READY(ptr) != 0 {
            return Err(PyErr::fetch(s.py()));
        }
        if ffi::PyUnicode_IS_COMPACT_ASCII(ptr) != 0 {
            return s.to_str();
        }
        (ffi::PyUnicode_KIND(ptr), ffi::PyUnicode_DATA(ptr), ffi::PyUnicode_GET_LENGTH(ptr) as usize)
    };
    let utf8 = match kind {
        ffi::PyUnicode_1BYTE_KIND => {
            // SAFETY: the storage of a 1-byte-kind string is `len` u8 code units at `data`, valid
            // and unchanged while we hold `s` (see above).
            let units = unsafe { std::slice::from_raw_parts(data as *const u8, len) };
            transcode(units, 2, buf)
        }
        ffi::PyUnicode_2BYTE_KIND => {
            // SAFETY: as above, `len` u16 code units.
            let units = unsafe { std::slice::from_raw_parts(data as *const u16, len) };
            transcode(units, 3, buf)
        }
        _ => {
            // SAFETY: as above, `len` u32 code units (the only other kind of a ready string).
            let units = unsafe { std::slice::from_raw_parts(data as *const u32, len) };
            transcode(units, 4, buf)
        }
    };
    match utf8 {
        Some(text) => Ok(text),
        // Raises CPython's own UnicodeEncodeError (position and all).
        None => s.to_str(),
    }
}

/// The text of `s` as UTF-8, from CPython (where its string storage is not part of the C API).
#[cfg(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API))]
pub fn utf8<'a>(s: &'a Bound<'_, PyString>, _buf: &'a mut Vec<u8>) -> PyResult<&'a str> {
    s.to_str()
}
