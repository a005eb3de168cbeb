//! The bindings' common arguments, checked into Rust values: the special-token mode, the decode style and
//! a batch's thread count. Bad values are `ValueError`s (`TypeError`s for the wrong type) that say what is
//! accepted.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBool;

use crate::batch;
use crate::decoder::DecodeStyle;
use crate::special::SpecialMode;
use crate::tokenizer::EncodeOptions;

pub(super) fn options(mode: &str, dummy_prefix: bool) -> PyResult<EncodeOptions> {
    let mode = SpecialMode::parse(mode).ok_or_else(|| {
        PyValueError::new_err(format!("mode must be 'legacy', 'non_legacy' or 'literal', not {mode:?}"))
    })?;
    Ok(EncodeOptions { mode, dummy_prefix })
}

pub(super) fn style(name: &str) -> PyResult<DecodeStyle> {
    DecodeStyle::parse(name)
        .ok_or_else(|| PyValueError::new_err(format!("style must be 'transformers' or 'sentencepiece', not {name:?}")))
}

/// The thread count of a `num_threads` argument: None for all cores, else an int from 1 to
/// [`batch::MAX_THREADS`]; anything else is a `ValueError` (`TypeError` for a non-int) that says so.
pub(super) fn threads(num_threads: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let Some(given) = num_threads.filter(|n| !n.is_none()) else { return Ok(batch::default_threads()) };
    // An int or anything with `__index__` (a numpy integer), as Python's own int arguments take.
    let as_int = if given.is_instance_of::<PyBool>() { None } else { given.call_method0("__index__").ok() };
    let Some(given) = as_int else {
        return Err(PyTypeError::new_err(format!(
            "num_threads must be an int or None, not {}",
            given.get_type().name()?
        )));
    };
    // Any int, however large or negative, is compared before it is converted.
    if given.lt(1)? {
        return Err(PyValueError::new_err(format!(
            "num_threads must be at least 1 (or None for all cores), not {given}"
        )));
    }
    if given.gt(batch::MAX_THREADS)? {
        return Err(PyValueError::new_err(format!(
            "num_threads={given} is more than llamatok's limit of {} threads; this machine has {} cores \
             (None uses them all)",
            batch::MAX_THREADS,
            batch::default_threads()
        )));
    }
    given.extract()
}
