//! `llamatok._native.Tokenizer`: the core tokenizer as seen from Python (ids as lists or buffers).

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyDict;

use super::buffer::IdBuffer;
use super::to_py_err;
use crate::batch;
use crate::decoder::DecodeStyle;
use crate::special::SpecialMode;
use crate::tokenizer::EncodeOptions;

/// Texts shorter than this are encoded without releasing the GIL: releasing costs more than it saves.
const DETACH_BYTES: usize = 4096;

fn options(mode: &str, dummy_prefix: bool) -> PyResult<EncodeOptions> {
    let mode = SpecialMode::parse(mode).ok_or_else(|| {
        PyValueError::new_err(format!("mode must be 'legacy', 'non_legacy' or 'literal', not {mode:?}"))
    })?;
    Ok(EncodeOptions { mode, dummy_prefix })
}

fn style(name: &str) -> PyResult<DecodeStyle> {
    DecodeStyle::parse(name).ok_or_else(|| {
        PyValueError::new_err(format!("style must be 'transformers' or 'sentencepiece', not {name:?}"))
    })
}

fn threads(num_threads: Option<usize>) -> PyResult<usize> {
    match num_threads {
        Some(0) => Err(PyValueError::new_err("num_threads must be at least 1 (or None for all cores)")),
        Some(n) => Ok(n),
        None => Ok(batch::default_threads()),
    }
}

/// An immutable tokenizer; safe to share between threads.
#[pyclass(frozen, module = "llamatok._native")]
pub struct Tokenizer {
    inner: crate::Tokenizer,
}

#[pymethods]
impl Tokenizer {
    /// Loads a `tokenizer.json` or a SentencePiece `tokenizer.model`.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Tokenizer> {
        let inner = py.detach(|| crate::Tokenizer::from_file(&path)).map_err(to_py_err)?;
        Ok(Tokenizer { inner })
    }

    /// The same vocabulary, matching exactly these `(text, id)` special tokens in text.
    fn with_special_tokens(&self, tokens: Vec<(String, u32)>) -> PyResult<Tokenizer> {
        Ok(Tokenizer { inner: self.inner.with_special_tokens(tokens).map_err(to_py_err)? })
    }

    /// The same tokenizer with the chunk cache on or off (the ids are the same either way).
    fn with_cache(&self, enabled: bool) -> Tokenizer {
        Tokenizer { inner: self.inner.with_cache(enabled) }
    }

    #[pyo3(signature = (text, mode = "legacy", dummy_prefix = true))]
    fn encode(&self, py: Python<'_>, text: &str, mode: &str, dummy_prefix: bool) -> PyResult<Vec<u32>> {
        let opts = options(mode, dummy_prefix)?;
        if text.len() < DETACH_BYTES {
            return Ok(self.inner.encode(text, opts));
        }
        Ok(py.detach(|| self.inner.encode(text, opts)))
    }

    /// The number of ids `encode` would return, without building them in Python.
    #[pyo3(signature = (text, mode = "legacy", dummy_prefix = true))]
    fn count(&self, py: Python<'_>, text: &str, mode: &str, dummy_prefix: bool) -> PyResult<usize> {
        let opts = options(mode, dummy_prefix)?;
        Ok(py.detach(|| self.inner.encode(text, opts).len()))
    }

    #[pyo3(signature = (texts, mode = "legacy", dummy_prefix = true, num_threads = None))]
    fn encode_batch(
        &self,
        py: Python<'_>,
        texts: Vec<PyBackedStr>,
        mode: &str,
        dummy_prefix: bool,
        num_threads: Option<usize>,
    ) -> PyResult<Vec<Vec<u32>>> {
        let opts = options(mode, dummy_prefix)?;
        let threads = threads(num_threads)?;
        let strs: Vec<&str> = texts.iter().map(|t| &**t).collect();
        Ok(py.detach(|| batch::encode_batch(&self.inner, &strs, opts, threads)))
    }

    /// All ids of a batch as one flat buffer plus `len(texts) + 1` offsets (uint64), both readable
    /// by `numpy.frombuffer` without a copy. `dtype` is `"uint32"` or `"uint16"`.
    #[pyo3(signature = (texts, mode = "legacy", dummy_prefix = true, num_threads = None, dtype = "uint32"))]
    fn encode_batch_flat(
        &self,
        py: Python<'_>,
        texts: Vec<PyBackedStr>,
        mode: &str,
        dummy_prefix: bool,
        num_threads: Option<usize>,
        dtype: &str,
    ) -> PyResult<(IdBuffer, IdBuffer)> {
        let opts = options(mode, dummy_prefix)?;
        let threads = threads(num_threads)?;
        let narrow = match dtype {
            "uint32" => false,
            "uint16" if self.inner.vocab().len() <= 1 << 16 => true,
            "uint16" => {
                return Err(PyValueError::new_err(format!(
                    "dtype 'uint16' cannot hold this vocabulary's {} ids; use 'uint32'",
                    self.inner.vocab().len()
                )))
            }
            other => return Err(PyValueError::new_err(format!("dtype must be 'uint32' or 'uint16', not {other:?}"))),
        };
        let strs: Vec<&str> = texts.iter().map(|t| &**t).collect();
        let (ids, offsets) = py.detach(|| {
            let (ids, offsets) = batch::encode_batch_flat(&self.inner, &strs, opts, threads);
            let ids = if narrow { IdBuffer::u16_from(&ids) } else { IdBuffer::u32(ids) };
            (ids, IdBuffer::u64(offsets))
        });
        Ok((ids, offsets))
    }

    #[pyo3(signature = (ids, style = "transformers", skip_special_tokens = false))]
    fn decode(&self, py: Python<'_>, ids: Vec<u32>, style: &str, skip_special_tokens: bool) -> PyResult<String> {
        let style = self::style(style)?;
        let run = || self.inner.decode(&ids, style, skip_special_tokens);
        let text = if ids.len() < DETACH_BYTES / 4 { run() } else { py.detach(run) };
        text.map_err(to_py_err)
    }

    #[pyo3(signature = (batch, style = "transformers", skip_special_tokens = false, num_threads = None))]
    fn decode_batch(
        &self,
        py: Python<'_>,
        batch: Vec<Vec<u32>>,
        style: &str,
        skip_special_tokens: bool,
        num_threads: Option<usize>,
    ) -> PyResult<Vec<String>> {
        let style = self::style(style)?;
        let threads = threads(num_threads)?;
        let results = py.detach(|| {
            batch::map_ordered(&batch, threads, |ids| self.inner.decode(ids, style, skip_special_tokens))
        });
        results.into_iter().collect::<Result<_, _>>().map_err(to_py_err)
    }

    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab().len()
    }

    fn __len__(&self) -> usize {
        self.inner.vocab().len()
    }

    fn id_to_piece(&self, id: u32) -> PyResult<String> {
        match self.inner.vocab().piece(id) {
            Some(p) => Ok(p.text.clone()),
            None => Err(super::TokenIdError::new_err(format!(
                "id {id} is out of range: the vocabulary has {} ids",
                self.inner.vocab().len()
            ))),
        }
    }

    fn piece_to_id(&self, piece: &str) -> Option<u32> {
        self.inner.vocab().id(piece)
    }

    /// Every piece as `(text, score, kind)`; kind is one of normal, unknown, control,
    /// user_defined, unused, byte.
    fn pieces(&self) -> Vec<(String, f32, &'static str)> {
        self.inner.vocab().pieces().iter().map(|p| (p.text.clone(), p.score, p.kind.name())).collect()
    }

    fn get_vocab<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (i, p) in self.inner.vocab().pieces().iter().enumerate() {
            dict.set_item(&p.text, i)?;
        }
        Ok(dict)
    }

    /// The file's own added tokens as `(content, id, special)`.
    #[getter]
    fn added_tokens(&self) -> Vec<(String, u32, bool)> {
        self.inner.vocab().added_tokens.iter().map(|t| (t.content.clone(), t.id, t.special)).collect()
    }

    /// The `(text, id)` pairs matched in text by this tokenizer.
    #[getter]
    fn special_tokens(&self) -> Vec<(String, u32)> {
        self.inner.special_tokens().to_vec()
    }

    #[getter]
    fn bos_id(&self) -> Option<u32> {
        self.inner.vocab().bos_id
    }

    #[getter]
    fn eos_id(&self) -> Option<u32> {
        self.inner.vocab().eos_id
    }

    #[getter]
    fn unk_id(&self) -> Option<u32> {
        self.inner.vocab().unk_id
    }

    #[getter]
    fn pad_id(&self) -> Option<u32> {
        self.inner.vocab().pad_id
    }

    /// Ids the file's post-processor puts before and after a single sequence.
    #[getter]
    fn template(&self) -> (Vec<u32>, Vec<u32>) {
        let t = &self.inner.vocab().template;
        (t.before.clone(), t.after.clone())
    }

    #[getter]
    fn add_dummy_prefix(&self) -> bool {
        self.inner.vocab().add_dummy_prefix
    }

    #[getter]
    fn byte_fallback(&self) -> bool {
        self.inner.vocab().has_byte_fallback()
    }

    fn __repr__(&self) -> String {
        format!("<llamatok._native.Tokenizer with {} ids>", self.inner.vocab().len())
    }
}
