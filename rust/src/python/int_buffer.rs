//! Ids from an object with the buffer protocol (numpy arrays, `array.array`, memoryviews): integers of
//! any width, signed or not, in either byte order, contiguous or strided. The format string is read
//! here rather than through pyo3's typed buffers, which take a big-endian `>H` for a native `H` on
//! little-endian machines (a `>u2` numpy array was read byte-swapped).

use std::ffi::{c_int, c_long, c_short, CStr};
use std::mem::{size_of, MaybeUninit};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;

use super::to_py_err;
use crate::error::Error;

/// How one item is stored, from a struct-module format such as `"<H"`, `">q"` or `"l"`.
#[derive(Debug, PartialEq)]
struct IntFormat {
    size: usize,
    signed: bool,
    big_endian: bool,
}

fn int_format(format: &[u8]) -> Option<IntFormat> {
    let (order, code) = match format {
        [code] => (b'@', *code),
        [order @ (b'@' | b'=' | b'<' | b'>' | b'!'), code] => (*order, *code),
        _ => return None,
    };
    // Native order ('@') uses the C types' sizes; the others the standard sizes.
    let native = order == b'@';
    let size = match code {
        b'b' | b'B' => 1,
        b'h' | b'H' if native => size_of::<c_short>(),
        b'h' | b'H' => 2,
        b'i' | b'I' if native => size_of::<c_int>(),
        b'i' | b'I' => 4,
        b'l' | b'L' if native => size_of::<c_long>(),
        b'l' | b'L' => 4,
        b'q' | b'Q' => 8,
        b'n' | b'N' if native => size_of::<isize>(),
        _ => return None,
    };
    let big_endian = match order {
        b'>' | b'!' => true,
        b'<' => false,
        _ => cfg!(target_endian = "big"),
    };
    Some(IntFormat { size, signed: code.is_ascii_lowercase(), big_endian })
}

/// An integer type the items can be read as.
trait Item: Into<i128> {
    const SIZE: usize;
    fn read(bytes: &[u8], big_endian: bool) -> Self;
}

macro_rules! item {
    ($($t:ty),*) => {$(
        impl Item for $t {
            const SIZE: usize = size_of::<$t>();
            fn read(bytes: &[u8], big_endian: bool) -> Self {
                let mut raw = [0u8; size_of::<$t>()];
                raw.copy_from_slice(bytes);
                if big_endian { <$t>::from_be_bytes(raw) } else { <$t>::from_le_bytes(raw) }
            }
        }
    )*};
}

item!(u8, i8, u16, i16, u32, i32, u64, i64);

fn collect<T: Item>(bytes: &[u8], big_endian: bool, vocab_size: usize) -> PyResult<Vec<u32>> {
    bytes
        .chunks_exact(T::SIZE)
        .enumerate()
        .map(|(i, chunk)| {
            let value: i128 = T::read(chunk, big_endian).into();
            match u32::try_from(value) {
                Ok(id) if (id as usize) < vocab_size => Ok(id),
                _ => Err(to_py_err(Error::token_id(value, Some(i), vocab_size))),
            }
        })
        .collect()
}

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
    match (f.size, f.signed) {
        (1, false) => collect::<u8>(&bytes, f.big_endian, vocab_size),
        (1, true) => collect::<i8>(&bytes, f.big_endian, vocab_size),
        (2, false) => collect::<u16>(&bytes, f.big_endian, vocab_size),
        (2, true) => collect::<i16>(&bytes, f.big_endian, vocab_size),
        (4, false) => collect::<u32>(&bytes, f.big_endian, vocab_size),
        (4, true) => collect::<i32>(&bytes, f.big_endian, vocab_size),
        (8, false) => collect::<u64>(&bytes, f.big_endian, vocab_size),
        (8, true) => collect::<i64>(&bytes, f.big_endian, vocab_size),
        _ => Err(PyTypeError::new_err(format!("token ids of {} bytes each are not supported", f.size))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let le = !cfg!(target_endian = "big");
        assert_eq!(int_format(b">H"), Some(IntFormat { size: 2, signed: false, big_endian: true }));
        assert_eq!(int_format(b"<q"), Some(IntFormat { size: 8, signed: true, big_endian: false }));
        assert_eq!(int_format(b"H"), Some(IntFormat { size: 2, signed: false, big_endian: !le }));
        assert_eq!(int_format(b"=l").map(|f| f.size), Some(4));
        assert_eq!(int_format(b"l").map(|f| f.size), Some(size_of::<c_long>()));
        assert_eq!(int_format(b"d"), None);
        assert_eq!(int_format(b"?"), None);
        assert_eq!(int_format(b"<n"), None);
        assert_eq!(int_format(b"2H"), None);
    }

    #[test]
    fn byte_orders() {
        assert_eq!(u16::read(&[0x03, 0x36], true), 822);
        assert_eq!(u16::read(&[0x36, 0x03], false), 822);
        assert_eq!(i16::read(&[0xFF, 0xFF], true), -1);
    }
}
