//! The Python extension `llamatok._native`. Every binding converts its arguments into Rust data,
//! runs the core (without the GIL for anything sizeable), and converts the result back.
//! Core errors become Python exceptions in exactly one place: [`to_py_err`].
//! See docs/architecture-core.md, "The bindings".

use pyo3::buffer::PyBuffer;
use pyo3::create_exception;
use pyo3::exceptions::{PyFileNotFoundError, PyIndexError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::error::Error;

mod args;
mod buffer;
mod flat;
mod ids;
mod int_buffer;
mod lists;
mod scratch;
mod signals;
mod small_int;
mod text;
mod tokenizer;

create_exception!(
    _native,
    ModelFileError,
    PyValueError,
    "A tokenizer file is malformed, truncated, or of a kind llamatok does not support."
);
create_exception!(_native, TokenIdError, PyIndexError, "A token id is outside the vocabulary.");

pub(crate) fn to_py_err(err: Error) -> PyErr {
    let message = err.to_string();
    match err {
        Error::NotFound { path } => PyFileNotFoundError::new_err((2, message, path.display().to_string())),
        // OSError(errno, ...) builds the subclass of that errno: IsADirectoryError, PermissionError...
        Error::Io { path, error } => match error.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, message, path.display().to_string())),
            None => PyOSError::new_err(message),
        },
        Error::ModelFile { .. } => ModelFileError::new_err(message),
        Error::TokenId { .. } => TokenIdError::new_err(message),
        Error::Threads { .. } => PyRuntimeError::new_err(message),
        // The batch calls raise CPython's own UnicodeEncodeError instead (`text::batch_error`).
        Error::NotUtf8 { .. } | Error::InvalidArgument(_) => PyValueError::new_err(message),
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tokenizer::Tokenizer>()?;
    m.add_class::<buffer::IdBuffer>()?;
    m.add("ModelFileError", m.py().get_type::<ModelFileError>())?;
    m.add("TokenIdError", m.py().get_type::<TokenIdError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_THREADS", crate::batch::MAX_THREADS)?;
    m.add_function(wrap_pyfunction!(default_threads, m)?)?;
    m.add_function(wrap_pyfunction!(npy_metadata_rows, m)?)?;
    m.add_function(wrap_pyfunction!(mds_samples_into, m)?)?;
    m.add_function(wrap_pyfunction!(parquet_list_levels, m)?)?;
    Ok(())
}

/// The number of threads batch calls use when not told: all cores.
#[pyfunction]
fn default_threads() -> usize {
    crate::batch::default_threads()
}

/// dolma's metadata lines `start,end,number,,` for the documents whose columns are given as the bytes of
/// little-endian `uint64` arrays of one length (`llamatok.preprocess.writers.npy`).
#[pyfunction]
fn npy_metadata_rows<'py>(
    py: Python<'py>,
    starts: &[u8],
    ends: &[u8],
    numbers: &[u8],
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    if !starts.len().is_multiple_of(8) || starts.len() != ends.len() || starts.len() != numbers.len() {
        return Err(PyValueError::new_err(format!(
            "npy_metadata_rows takes three uint64 columns of one length, not {}, {} and {} bytes",
            starts.len(),
            ends.len(),
            numbers.len()
        )));
    }
    let column = |bytes: &[u8]| -> Vec<u64> {
        bytes.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().expect("chunks of 8"))).collect()
    };
    let (starts, ends, numbers) = (column(starts), column(ends), column(numbers));
    let mut out = Vec::new();
    py.detach(|| crate::document_rows::append_rows(&starts, &ends, &numbers, &mut out));
    Ok(pyo3::types::PyBytes::new(py, &out))
}

/// MosaicML Streaming's samples: each document's byte size (the bytes of little-endian `uint32` `sizes`)
/// and then its bytes, taken in order from `data`, written at the start of `out` (a writable `uint8`
/// buffer the writer keeps, so that no fresh memory is touched for every piece); returns the bytes
/// written (`llamatok.preprocess.writers.mds`).
#[pyfunction]
fn mds_samples_into(data: PyBuffer<u8>, sizes: &[u8], out: PyBuffer<u8>) -> PyResult<usize> {
    let refused = |what: String| PyValueError::new_err(format!("mds_samples_into: {what}"));
    if !data.is_c_contiguous() || !out.is_c_contiguous() || out.readonly() {
        return Err(refused("data and out must be contiguous buffers of bytes, out writable".into()));
    }
    if !sizes.len().is_multiple_of(4) {
        return Err(refused(format!("{} bytes of sizes are not whole uint32s", sizes.len())));
    }
    let needed = data.len_bytes() + sizes.len();
    if out.len_bytes() < needed {
        return Err(refused(format!("out holds {} bytes, the samples take {needed}", out.len_bytes())));
    }
    let (src, dst) = (data.buf_ptr() as usize, out.buf_ptr() as usize);
    if src < dst + out.len_bytes() && dst < src + data.len_bytes() {
        return Err(refused("data and out overlap".into()));
    }
    let sizes: Vec<u32> =
        sizes.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().expect("chunks of 4"))).collect();
    // Empty views are taken as empty slices: their pointer may be null, which a slice's may not.
    let data: &[u8] = if data.len_bytes() == 0 {
        &[]
    } else {
        // SAFETY: `data` is a C-contiguous view of `len_bytes()` bytes that stays exported (so neither freed
        // nor resized) while the `PyBuffer` lives, which is past this slice's use (the binding is only
        // shadowed); the GIL is held throughout, so no Python code changes it meanwhile.
        unsafe { std::slice::from_raw_parts(data.buf_ptr().cast::<u8>(), data.len_bytes()) }
    };
    let out: &mut [u8] = if out.len_bytes() == 0 {
        &mut []
    } else {
        // SAFETY: as for `data`, and `out` is writable and does not overlap `data` (both checked above), so
        // this is the only reference to its bytes.
        unsafe { std::slice::from_raw_parts_mut(out.buf_ptr().cast::<u8>(), out.len_bytes()) }
    };
    crate::mds_samples::write_samples(data, &sizes, out)
        .ok_or_else(|| refused(format!("the sizes do not add up to the data's {} bytes", data.len())))
}

/// A Parquet data page's repetition and definition levels (each with its u32 length first) for documents
/// of the given numbers of values (the bytes of little-endian `uint64` lengths)
/// (`llamatok.preprocess.parquet_format`).
#[pyfunction]
fn parquet_list_levels<'py>(
    py: Python<'py>,
    lengths: &[u8],
) -> PyResult<(Bound<'py, pyo3::types::PyBytes>, Bound<'py, pyo3::types::PyBytes>)> {
    if !lengths.len().is_multiple_of(8) {
        return Err(PyValueError::new_err(format!(
            "parquet_list_levels takes uint64 lengths, not {} bytes",
            lengths.len()
        )));
    }
    let lengths: Vec<u64> =
        lengths.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().expect("chunks of 8"))).collect();
    let (repetition, definition) = py.detach(|| crate::parquet_levels::list_levels(&lengths));
    Ok((pyo3::types::PyBytes::new(py, &repetition), pyo3::types::PyBytes::new(py, &definition)))
}
