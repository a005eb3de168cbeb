//! Blocks of whole JSONL lines read from a Python binary stream into buffers of the core's pool
//! (`block_pool.rs`), for `llamatok preprocess`'s reader: `read_jsonl_block` reads a block, and the
//! block goes back to the pool when Python drops it. Reading into `bytes` gave each megabyte fresh
//! memory (and a second copy when the last line was read on).
//!
//! The stream fills the buffer through `readinto` (`read_target.rs`), and the buffer is reused only if
//! nothing in Python held on to it; a block is read-only.

use std::ffi::{c_int, c_void};

use pyo3::exceptions::{PyBufferError, PyOSError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use super::buffer::{fill_view, Layout};
use super::read_target::ReadTarget;

use crate::block_pool::JSONL_BLOCKS;
use crate::jsonl_lines::line_count;

/// Whole JSONL lines of a source, owned by Rust: `len()`, the lines they hold, and their bytes through
/// the buffer protocol (`bytes(block)`, `memoryview(block)`, `io.BytesIO(block)`).
#[pyclass(frozen, module = "llamatok._native")]
pub struct JsonlBlock {
    /// From the pool; only the first `shape[0]` bytes are the block's.
    buf: Vec<u8>,
    /// `shape[0]` (the block's length) for the buffer protocol, which needs it to live as long as the object.
    shape: [ffi::Py_ssize_t; 1],
    lines: usize,
}

impl JsonlBlock {
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.shape[0] as usize]
    }
}

impl Drop for JsonlBlock {
    fn drop(&mut self) {
        JSONL_BLOCKS.give_back(std::mem::take(&mut self.buf));
    }
}

#[pymethods]
impl JsonlBlock {
    fn __len__(&self) -> usize {
        self.bytes().len()
    }

    /// The lines it holds: one per `\n`, and its last one even without one.
    #[getter]
    fn lines(&self) -> usize {
        self.lines
    }

    // SAFETY (for callers): pyo3 declares the buffer slots `unsafe`; the interpreter calls this with
    // a `Py_buffer` it owns and that is valid for writing. `fill_view` checks it is not null.
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
            return Err(PyBufferError::new_err("a JSONL block is read-only"));
        }
        let this = slf.get();
        let layout = Layout {
            buf: this.buf.as_ptr() as *mut c_void,
            itemsize: 1,
            format: c"B",
            shape: &this.shape,
            readonly: true,
        };
        // SAFETY: the buffer and `shape` live as long as `slf`, and the bytes never change: the object
        // is frozen and its buffer goes back to the pool only when it is freed.
        unsafe { fill_view(view, flags, slf.clone().into_any(), layout) }
    }

    // SAFETY (for callers): nothing to release; the view's owner reference is dropped by Python.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}

/// Why a read stopped: an error, or a stream that kept hold of the buffer it read into (which must then
/// never be reused or freed, since the stream may still write to it).
enum ReadFailed {
    Error(PyErr),
    Kept(PyErr),
}

impl From<PyErr> for ReadFailed {
    fn from(err: PyErr) -> ReadFailed {
        ReadFailed::Error(err)
    }
}

/// Fills `buf` from `stream.readinto`, as far as the stream goes; returns the bytes read.
fn read_into(stream: &Bound<'_, PyAny>, buf: &mut [u8]) -> Result<usize, ReadFailed> {
    let py = stream.py();
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: `rest` outlives the target unless `held` says Python still holds it, in which case
        // the caller never reuses or frees the buffer.
        let target = Bound::new(py, unsafe { ReadTarget::new(rest) })?;
        let got = stream.call_method1("readinto", (&target,));
        if ReadTarget::held(&target) {
            // The stream's own error comes first (a traceback that holds the buffer keeps it too).
            return Err(ReadFailed::Kept(got.err().unwrap_or_else(|| {
                PyBufferError::new_err(
                    "the input stream kept hold of the buffer it read into; read this input through a plain binary file",
                )
            })));
        }
        let n = got?;
        if n.is_none() {
            return Err(PyOSError::new_err(
                "the input stream's readinto returned None: non-blocking streams cannot be read",
            )
            .into());
        }
        let n: usize = n.extract()?;
        if n > rest.len() {
            let message =
                format!("the input stream's readinto reported {n} bytes read into a buffer of {}", rest.len());
            return Err(PyOSError::new_err(message).into());
        }
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// The most bytes a block is read in one go (its last line may take it past that): the buffer is
/// allocated before the read, and the reader asks for a MiB.
const MAX_BLOCK_BYTES: usize = 1 << 30;

/// Reads up to `size` bytes of `stream` (a binary file object with `readinto` and `readline`), then on
/// to the end of the line they stop in: what `data = stream.read(size)`, then `data += stream.readline()`
/// unless it ends with `\n`, gives, and None where that is empty (the end of the stream, or `size` 0).
#[pyfunction]
pub fn read_jsonl_block(stream: &Bound<'_, PyAny>, size: usize) -> PyResult<Option<JsonlBlock>> {
    if size > MAX_BLOCK_BYTES {
        let message = format!("a block of {size} bytes was asked for: read at most {MAX_BLOCK_BYTES} at a time");
        return Err(PyValueError::new_err(message));
    }
    let mut buf = JSONL_BLOCKS.take(size);
    let mut len = match read_into(stream, &mut buf[..size]) {
        Ok(len) => len,
        Err(ReadFailed::Error(err)) => {
            JSONL_BLOCKS.give_back(buf);
            return Err(err);
        }
        Err(ReadFailed::Kept(err)) => {
            std::mem::forget(buf);
            return Err(err);
        }
    };
    if len == 0 {
        JSONL_BLOCKS.give_back(buf);
        return Ok(None);
    }
    if buf[len - 1] != b'\n' {
        let rest = match stream.call_method0("readline").and_then(|r| r.cast_into::<PyBytes>().map_err(PyErr::from)) {
            Ok(rest) => rest,
            Err(err) => {
                JSONL_BLOCKS.give_back(buf);
                return Err(err);
            }
        };
        let rest = rest.as_bytes();
        if buf.len() < len + rest.len() {
            buf.resize(len + rest.len(), 0);
        }
        buf[len..len + rest.len()].copy_from_slice(rest);
        len += rest.len();
    }
    let lines = line_count(&buf[..len]);
    Ok(Some(JsonlBlock { buf, shape: [len as ffi::Py_ssize_t], lines }))
}

/// A block of JSONL lines as the core's calls take it: `bytes` (or `bytearray`) or a [`JsonlBlock`].
#[derive(FromPyObject)]
pub enum BlockBytes {
    Read(Py<JsonlBlock>),
    Bytes(PyBackedBytes),
}

impl BlockBytes {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            BlockBytes::Read(block) => block.get().bytes(),
            BlockBytes::Bytes(bytes) => bytes,
        }
    }
}
