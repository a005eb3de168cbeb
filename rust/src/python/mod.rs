//! The Python extension `llamatok._native`. Every binding converts its arguments into Rust data,
//! runs the core (without the GIL for anything sizeable), and converts the result back.
//! Core errors become Python exceptions in exactly one place: [`to_py_err`].
//! See docs/architecture-core.md, "The bindings".

use pyo3::create_exception;
use pyo3::exceptions::{PyFileNotFoundError, PyIndexError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::error::Error;

mod aligned;
mod args;
mod buffer;
mod decoding;
mod flat;
mod held_text;
mod ids;
mod int_buffer;
mod jsonl_block;
mod jsonl_texts;
mod lists;
mod read_target;
mod scratch;
mod signals;
mod small_int;
mod text;
mod tokenizer;
mod writers;

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
    m.add_function(wrap_pyfunction!(jsonl_texts::jsonl_texts, m)?)?;
    m.add_class::<jsonl_block::JsonlBlock>()?;
    m.add_function(wrap_pyfunction!(jsonl_block::read_jsonl_block, m)?)?;
    m.add_class::<writers::NpyMetadata>()?;
    m.add_function(wrap_pyfunction!(writers::mds_samples_into, m)?)?;
    m.add_function(wrap_pyfunction!(writers::parquet_list_levels, m)?)?;
    Ok(())
}

/// The number of threads batch calls use when not told: all cores.
#[pyfunction]
fn default_threads() -> usize {
    crate::batch::default_threads()
}
