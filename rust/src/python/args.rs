//! The bindings' common arguments, checked into Rust values: the special-token mode, the decode style and
//! a batch's thread count. Bad values are `ValueError`s (`TypeError`s for the wrong type) that say what is
//! accepted.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyString};

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

/// A batch's texts: a list (or any iterable) of `str`. A `str` itself, or an item that is not one, is a
/// `TypeError` saying which.
pub(super) fn texts<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyString>>> {
    let kind = |o: &Bound<'_, PyAny>| o.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("texts must be a list of str, not a str (encode takes one text)"));
    }
    let items =
        obj.try_iter().map_err(|_| PyTypeError::new_err(format!("texts must be a list of str, not {}", kind(obj))))?;
    items
        .enumerate()
        .map(|(i, item)| {
            let item = item?;
            if !item.is_instance_of::<PyString>() {
                // Only now: the message runs Python code (`__name__`, `str`), which must not run per text.
                return Err(PyTypeError::new_err(format!("texts[{i}] is {}, not str", kind(&item))));
            }
            item.cast_into::<PyString>().map_err(PyErr::from)
        })
        .collect()
}
