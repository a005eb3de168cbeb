//! Ids of a batch as flat buffers (what `encode_batch_flat` and `encode_jsonl_flat` return): one buffer of
//! every text's ids in the asked width, and the offsets, both read by numpy without a copy.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::buffer::IdBuffer;
use super::signals::Signals;
use super::to_py_err;
use super::tokenizer::Tokenizer;
use crate::batch;
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

    /// The flat ids and offsets of `strs`, encoded on `threads` threads without the GIL.
    pub(super) fn flat(
        &self,
        py: Python<'_>,
        strs: &[&str],
        opts: EncodeOptions,
        threads: usize,
        narrow: bool,
    ) -> PyResult<(IdBuffer, IdBuffer)> {
        let signals = Signals::default();
        let flat = py.detach(|| -> crate::Result<_> {
            let stop = &mut || signals.raised();
            let flat = if narrow {
                // The vocabulary was checked to fit 16 bits (`narrow`).
                batch::encode_batch_parts(&self.inner, strs, opts, threads, stop, |id| id as u16)?.map(|parts| {
                    let (ids, offsets) = parts.flatten();
                    (IdBuffer::u16(ids), offsets)
                })
            } else {
                batch::encode_batch_parts(&self.inner, strs, opts, threads, stop, |id| id)?.map(|parts| {
                    let (ids, offsets) = parts.flatten();
                    (IdBuffer::u32(ids), offsets)
                })
            };
            Ok(flat.map(|(ids, offsets)| (ids, IdBuffer::u64(offsets))))
        });
        signals.result()?;
        let (ids, offsets) = flat.map_err(to_py_err)?.expect("a batch stops only when a signal handler raised");
        Ok((ids, offsets))
    }
}
