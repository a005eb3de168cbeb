//! JSONL blocks to Python strings, for the stages of `llamatok preprocess` that need the documents' texts
//! in Python (FIM, `--dedup`): the lines are cut (`jsonl_lines.rs`) and parsed (`jsonl.rs`) without the
//! GIL, and only the strings are made with it, instead of Python reading and parsing each line.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::buffer::IdBuffer;
use super::jsonl_block::BlockBytes;
use crate::jsonl::text_fields;
use crate::jsonl_lines::split_blocks;

/// What `jsonl_texts` gives: per key, every document's text; each document's line start; the blank lines.
type JsonlTexts<'py> = (Vec<Vec<Bound<'py, PyString>>>, IdBuffer, usize);

/// The texts of `keys` in every line of whole-line JSONL `blocks` that is not blank, as
/// `Tokenizer.encode_jsonl_flat` reads them (the same starts and blank lines); None when some line is
/// not a JSON object whose fields `keys` are all strings (the caller then reads the lines with Python's
/// `json`).
#[pyfunction]
pub fn jsonl_texts<'py>(
    py: Python<'py>,
    blocks: Vec<BlockBytes>,
    keys: Vec<String>,
) -> PyResult<Option<JsonlTexts<'py>>> {
    let blocks: Vec<&[u8]> = blocks.iter().map(BlockBytes::as_slice).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let parsed = py.detach(|| {
        let split = split_blocks(&blocks);
        let fields: Option<Vec<Vec<Cow<'_, str>>>> = split.lines.iter().map(|line| text_fields(line, &keys)).collect();
        fields.map(|fields| (fields, split.starts, split.blank))
    });
    let Some((fields, starts, blank)) = parsed else { return Ok(None) };
    let mut per_key: Vec<Vec<Bound<'py, PyString>>> = keys.iter().map(|_| Vec::with_capacity(fields.len())).collect();
    for line in &fields {
        for (texts, text) in per_key.iter_mut().zip(line) {
            texts.push(PyString::new(py, text));
        }
    }
    Ok(Some((per_key, IdBuffer::u64(starts), blank)))
}
