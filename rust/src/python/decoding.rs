//! `decode_batch`'s work: the sequences decoded on the pool in groups of about [`GROUP_IDS`] ids, with
//! Python's signal handlers run between groups, so that Ctrl-C stops a long batch.

use pyo3::prelude::*;

use super::signals::Signals;
use super::to_py_err;
use crate::batch;
use crate::decoder::DecodeStyle;
use crate::error::Result;

/// Ids decoded between two looks at Python's signals (a few milliseconds of work).
const GROUP_IDS: usize = 1 << 20;

/// The texts of `batch`, or the exception a signal handler raised; run without the GIL.
pub fn decode_groups(
    tokenizer: &crate::Tokenizer,
    batch: &[Vec<u32>],
    style: DecodeStyle,
    skip_special_tokens: bool,
    threads: usize,
) -> PyResult<Vec<String>> {
    let signals = Signals::default();
    let mut texts = Vec::with_capacity(batch.len());
    let mut start = 0;
    while start < batch.len() {
        let mut end = start;
        let mut ids = 0;
        while end < batch.len() && (end == start || ids < GROUP_IDS) {
            ids += batch[end].len();
            end += 1;
        }
        let group: Vec<Result<String>> =
            batch::map_ordered(&batch[start..end], threads, |seq| tokenizer.decode(seq, style, skip_special_tokens))
                .map_err(to_py_err)?;
        for text in group {
            texts.push(text.map_err(to_py_err)?);
        }
        start = end;
        if start < batch.len() && signals.raised() {
            break;
        }
    }
    signals.result().map(|()| texts)
}

/// `err`, about one sequence of a batch, with that sequence's index before its message.
pub fn in_sequence(py: Python<'_>, err: PyErr, index: usize) -> PyErr {
    let message = format!("sequence {index}: {}", err.value(py));
    PyErr::from_type(err.get_type(py), message)
}
