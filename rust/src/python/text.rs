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

/// Code units [`transcode`] checks for ASCII at a time.
#[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
const ASCII_BLOCK: usize = 32;

/// Writes the UTF-8 of `units` from `buf[n]` on, each character as a whole word (4 bytes, of which the
/// next character overwrites what it did not use), and returns where it ended; sets `surrogates` at one.
#[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
#[inline(always)]
fn write_each<T: Copy + Into<u32>>(
    units: &[T],
    buf: &mut [std::mem::MaybeUninit<u8>],
    mut n: usize,
    surrogates: &mut bool,
) -> usize {
    for &unit in units {
        let c: u32 = unit.into();
        *surrogates |= c & !0x7FF == 0xD800;
        let (word, len) = utf8_word(c);
        for (slot, byte) in buf[n..n + 4].iter_mut().zip(word.to_le_bytes()) {
            slot.write(byte);
        }
        n += len;
    }
    n
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
    // Non-ASCII text is mostly ASCII (code with a name or a symbol in it): a block of ASCII units is
    // copied as bytes, a loop the compiler turns into vector instructions.
    let mut blocks = units.chunks_exact(ASCII_BLOCK);
    for block in &mut blocks {
        // The first unit alone first: text that is mostly not ASCII (CJK) skips the block's check.
        let first: u32 = block[0].into();
        if first < 0x80 && block.iter().fold(0u32, |acc, &unit| acc | unit.into()) < 0x80 {
            for (slot, &unit) in buf[n..n + ASCII_BLOCK].iter_mut().zip(block) {
                let c: u32 = unit.into();
                slot.write(c as u8);
            }
            n += ASCII_BLOCK;
        } else {
            n = write_each(block, buf, n, &mut surrogates);
        }
    }
    n = write_each(blocks.remainder(), buf, n, &mut surrogates);
    if surrogates {
        return None;
    }
    // SAFETY: the loops wrote bytes 0..n, and they are the UTF-8 encoding of code points that are
    // not surrogates (CPython stores none above U+10FFFF), so valid UTF-8.
    unsafe {
        out.set_len(n);
        Some(std::str::from_utf8_unchecked(out))
    }
}

/// A Python `str` as a batch's worker reads it, without the GIL: ASCII (and, where the storage is not
/// part of the C API, CPython's UTF-8) as it is, other strings as their fixed-width code units, which
/// the worker transcodes into its own buffer. The calling thread, which alone holds the GIL, then does
/// no per-text work but this look, and no UTF-8 copy is left inside each string (CPython keeps the one
/// it makes for as long as the string lives).
#[derive(Clone, Copy)]
pub enum StrStorage<'a> {
    Utf8(&'a str),
    #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
    Units1(&'a [u8]),
    #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
    Units2(&'a [u16]),
    #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
    Units4(&'a [u32]),
}

/// The storage of `s`, valid while `s` is held.
#[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
pub fn storage<'a>(s: &'a Bound<'_, PyString>) -> PyResult<StrStorage<'a>> {
    let ptr = s.as_ptr();
    // SAFETY: `s` is a live `str` (we hold the GIL and a reference); CPython strings are immutable,
    // so its storage stays valid and unchanged for as long as `s` is held, whichever thread reads it.
    // `PyUnicode_READY` makes legacy (pre-3.12) strings expose their canonical storage.
    unsafe {
        if ffi::PyUnicode_READY(ptr) != 0 {
            return Err(PyErr::fetch(s.py()));
        }
        if ffi::PyUnicode_IS_COMPACT_ASCII(ptr) != 0 {
            return s.to_str().map(StrStorage::Utf8);
        }
        let (data, len) = (ffi::PyUnicode_DATA(ptr), ffi::PyUnicode_GET_LENGTH(ptr) as usize);
        // SAFETY (each arm): the storage of a ready string of this kind is `len` code units of that
        // width at `data`, valid and unchanged while `s` is held (see above).
        Ok(match ffi::PyUnicode_KIND(ptr) {
            ffi::PyUnicode_1BYTE_KIND => StrStorage::Units1(std::slice::from_raw_parts(data as *const u8, len)),
            ffi::PyUnicode_2BYTE_KIND => StrStorage::Units2(std::slice::from_raw_parts(data as *const u16, len)),
            _ => StrStorage::Units4(std::slice::from_raw_parts(data as *const u32, len)),
        })
    }
}

/// The storage of `s`: CPython's UTF-8 (where its string storage is not part of the C API).
#[cfg(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API))]
pub fn storage<'a>(s: &'a Bound<'_, PyString>) -> PyResult<StrStorage<'a>> {
    s.to_str().map(StrStorage::Utf8)
}

impl<'a> StrStorage<'a> {
    /// The text as UTF-8, borrowed or transcoded into `buf`; None at a lone surrogate.
    pub fn utf8<'b>(self, buf: &'b mut Vec<u8>) -> Option<&'b str>
    where
        'a: 'b,
    {
        match self {
            StrStorage::Utf8(text) => Some(text),
            #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
            StrStorage::Units1(units) => transcode(units, 2, buf),
            #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
            StrStorage::Units2(units) => transcode(units, 3, buf),
            #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
            StrStorage::Units4(units) => transcode(units, 4, buf),
        }
    }

    /// About the size of its UTF-8 in bytes (to share a batch's work out).
    pub fn size(&self) -> usize {
        match *self {
            StrStorage::Utf8(text) => text.len(),
            #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
            StrStorage::Units1(units) => units.len(),
            #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
            StrStorage::Units2(units) => 3 * units.len(),
            #[cfg(not(any(Py_3_14, PyPy, GraalPy, Py_LIMITED_API)))]
            StrStorage::Units4(units) => 4 * units.len(),
        }
    }
}

impl crate::batch::BatchText for StrStorage<'_> {
    fn size(&self) -> usize {
        StrStorage::size(self)
    }

    fn utf8<'b>(&'b self, buf: &'b mut Vec<u8>) -> Option<&'b str> {
        StrStorage::utf8(*self, buf)
    }
}

/// The storage of every text of a batch, read while the GIL is held.
pub fn storages<'a>(texts: &'a [Bound<'_, PyString>]) -> PyResult<Vec<StrStorage<'a>>> {
    texts.iter().map(storage).collect()
}

/// The Python error for a batch's core error: for a text without UTF-8, CPython's own
/// `UnicodeEncodeError` (position and all), as `encode` raises it.
pub fn batch_error(texts: &[Bound<'_, PyString>], err: crate::Error) -> PyErr {
    if let crate::Error::NotUtf8 { index } = err {
        if let Err(cpythons) = texts[index].to_str() {
            return cpythons;
        }
    }
    super::to_py_err(err)
}

/// The text of `s` as UTF-8: borrowed when `s` is ASCII, else transcoded into `buf`. A lone surrogate
/// raises CPython's own `UnicodeEncodeError` (position and all).
pub fn utf8<'a>(s: &'a Bound<'_, PyString>, buf: &'a mut Vec<u8>) -> PyResult<&'a str> {
    match storage(s)?.utf8(buf) {
        Some(text) => Ok(text),
        None => s.to_str(),
    }
}
