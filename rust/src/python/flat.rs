//! Ids of a batch as flat buffers (what `encode_batch_flat` and `encode_jsonl_flat` return): one buffer of
//! every text's ids in the asked width, and the offsets, both read by numpy without a copy.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use pyo3::types::PyString;

use super::buffer::IdBuffer;
use super::signals::Signals;
use super::text::{batch_error, storages};
use super::to_py_err;
use super::tokenizer::Tokenizer;
use crate::batch::{self, FlatParts, Frame, JsonlParts};
use crate::jsonl_lines::split_blocks;
use crate::tokenizer::EncodeOptions;

impl Tokenizer {
    /// Whether ids go out as uint16 (`dtype`), checked against the vocabulary's size.
    pub(super) fn narrow(&self, dtype: &str) -> PyResult<bool> {
        match dtype {
            "uint32" => Ok(false),
            "uint16" if self.inner.len() <= 1 << 16 => Ok(true),
            "uint16" => Err(PyValueError::new_err(format!(
                "dtype 'uint16' cannot hold this vocabulary's {} ids; use 'uint32'",
                self.inner.len()
            ))),
            other => Err(PyValueError::new_err(format!("dtype must be 'uint32' or 'uint16', not {other:?}"))),
        }
    }

    /// The frame of a flat batch from Python's `bos_id`/`eos_id`: each an id of the vocabulary or None.
    pub(super) fn frame(&self, bos_id: Option<i64>, eos_id: Option<i64>) -> PyResult<Frame> {
        let check = |name: &str, id: Option<i64>| -> PyResult<Option<u32>> {
            match id {
                None => Ok(None),
                Some(id) if (0..self.inner.len() as i64).contains(&id) => Ok(Some(id as u32)),
                Some(id) => Err(PyValueError::new_err(format!(
                    "{name} {id} is not an id of this vocabulary (0 to {}); pass an id or None",
                    self.inner.len() - 1
                ))),
            }
        };
        Ok(Frame { bos: check("bos_id", bos_id)?, eos: check("eos_id", eos_id)? })
    }

    /// The flat ids and offsets of `texts`, each framed by `frame`, encoded on `threads` threads without
    /// the GIL.
    pub(super) fn flat(
        &self,
        py: Python<'_>,
        texts: &[Bound<'_, PyString>],
        opts: EncodeOptions,
        frame: Frame,
        threads: usize,
        narrow: bool,
    ) -> PyResult<(IdBuffer, IdBuffer)> {
        let strs = storages(texts)?;
        let signals = Signals::default();
        let flat = py.detach(|| -> crate::Result<_> {
            let stop = &mut || signals.raised();
            Ok(if narrow {
                // The vocabulary was checked to fit 16 bits (`narrow`).
                batch::encode_batch_parts(&self.inner, &strs, opts, frame, threads, stop, |id| id as u16)?
                    .map(|parts| buffers(parts, IdBuffer::u16, threads))
                    .transpose()?
            } else {
                batch::encode_batch_parts(&self.inner, &strs, opts, frame, threads, stop, |id| id)?
                    .map(|parts| buffers(parts, IdBuffer::u32, threads))
                    .transpose()?
            })
        });
        signals.result()?;
        Ok(flat.map_err(|e| batch_error(texts, e))?.expect("a batch stops only when a signal handler raised"))
    }

    /// The documents of whole-line JSONL `blocks`, split, parsed and encoded on `threads` threads without
    /// the GIL: per key, the flat ids and offsets of that field of every line that is not blank, then
    /// each such line's start (an offset in the blocks taken one after another) and the number of blank
    /// lines. None when some line is not a plain JSON object.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn flat_jsonl(
        &self,
        py: Python<'_>,
        blocks: &[&[u8]],
        keys: &[&str],
        opts: EncodeOptions,
        frame: Frame,
        threads: usize,
        narrow: bool,
    ) -> PyResult<Option<JsonlBatch>> {
        type PerKey = Option<Vec<(IdBuffer, IdBuffer)>>;
        fn per_key<T: Copy + Send>(
            got: JsonlParts<T>,
            ids: fn(Vec<T>) -> IdBuffer,
            threads: usize,
        ) -> crate::Result<PerKey> {
            match got {
                JsonlParts::Encoded(keys) => {
                    keys.into_iter().map(|parts| buffers(parts, ids, threads)).collect::<crate::Result<_>>().map(Some)
                }
                JsonlParts::NotPlain => Ok(None),
            }
        }
        let signals = Signals::default();
        let got = py.detach(|| -> crate::Result<_> {
            let stop = &mut || signals.raised();
            let split = split_blocks(blocks);
            let lines = &split.lines;
            let encoded = if narrow {
                // The vocabulary was checked to fit 16 bits (`narrow`).
                batch::encode_jsonl_parts(&self.inner, lines, keys, opts, frame, threads, stop, |id| id as u16)?
                    .map(|got| per_key(got, IdBuffer::u16, threads))
                    .transpose()?
            } else {
                batch::encode_jsonl_parts(&self.inner, lines, keys, opts, frame, threads, stop, |id| id)?
                    .map(|got| per_key(got, IdBuffer::u32, threads))
                    .transpose()?
            };
            Ok(encoded.map(|per_key| per_key.map(|keys| (keys, IdBuffer::u64(split.starts), split.blank))))
        });
        signals.result()?;
        Ok(got.map_err(to_py_err)?.expect("a batch stops only when a signal handler raised"))
    }
}

/// What `encode_jsonl_flat` gives for blocks of plain lines: per key `(ids, offsets)`, the lines'
/// starts, the blank lines.
pub(super) type JsonlBatch = (Vec<(IdBuffer, IdBuffer)>, IdBuffer, usize);

/// A batch's runs as one ids buffer and its offsets buffer.
fn buffers<T: Copy + Send>(
    parts: FlatParts<T>,
    ids: fn(Vec<T>) -> IdBuffer,
    threads: usize,
) -> crate::Result<(IdBuffer, IdBuffer)> {
    let (flat, offsets) = parts.flatten(threads)?;
    Ok((ids(flat), IdBuffer::u64(offsets)))
}
