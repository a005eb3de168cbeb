//! `llamatok._native.Tokenizer`: the core tokenizer as seen from Python (ids as lists or buffers).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString};

use super::aligned::{self, Aligned, Tokens, WithOffsets};
use super::args::{self, options, style, threads};
use super::buffer::IdBuffer;
use super::decoding::{decode_groups, in_sequence};
use super::flat::JsonlBatch;
use super::held_text;
use super::ids::{extract_ids, id_from};
use super::jsonl_block::BlockBytes;
use super::lists;
use super::scratch::{with_scratch, Scratch};
use super::signals::{stoppable, Signals};
use super::text::{batch_error, storages, utf8};
use super::to_py_err;
use crate::batch;
use crate::error::Error;
use crate::interrupt;
use crate::tokenizer::EncodeOptions;
use crate::NewToken;

/// Texts shorter than this are encoded without releasing the GIL: releasing costs more than it saves.
const DETACH_BYTES: usize = 4096;

/// An added token as Python passes it: `(content, special, normalized, lstrip, rstrip, single_word)`.
type TokenTuple = (String, bool, bool, bool, bool, bool);

/// What `__reduce__` returns: the function that rebuilds a tokenizer, and its arguments (the
/// file's bytes, the special tokens it was given or None for the file's, the added tokens of each
/// `with_added_tokens` call since, the chunk memo's setting and the document cache's capacity).
type Reduced<'py> =
    (Bound<'py, PyAny>, (Bound<'py, PyBytes>, Option<Vec<(String, u32)>>, Vec<Vec<TokenTuple>>, bool, usize));

fn new_token((content, special, normalized, lstrip, rstrip, single_word): TokenTuple) -> NewToken {
    NewToken { content, special, normalized, lstrip, rstrip, single_word }
}

fn token_tuple(t: &NewToken) -> TokenTuple {
    (t.content.clone(), t.special, t.normalized, t.lstrip, t.rstrip, t.single_word)
}

/// An immutable tokenizer; safe to share between threads.
#[pyclass(frozen, module = "llamatok._native")]
pub struct Tokenizer {
    pub(super) inner: crate::Tokenizer,
    /// One Python int per id, made on first use and shared by every list returned: building a
    /// list of ids is then a reference count per id instead of an allocation.
    ints: Arc<OnceLock<Vec<Py<PyInt>>>>,
}

impl Tokenizer {
    /// A new Python-side tokenizer; its int table is built now, as part of loading, so the first
    /// encode call is not charged for it.
    fn wrap(py: Python<'_>, inner: crate::Tokenizer) -> Tokenizer {
        let tok = Tokenizer { inner, ints: Arc::default() };
        tok.ints(py);
        tok
    }

    fn ints(&self, py: Python<'_>) -> &[Py<PyInt>] {
        self.ints.get_or_init(|| {
            (0..self.inner.len() as u32).map(|i| i.into_pyobject(py).expect("ints convert").unbind()).collect()
        })
    }

    /// A derived tokenizer with as many ids shares the int table.
    fn derive(&self, py: Python<'_>, inner: crate::Tokenizer) -> Tokenizer {
        if inner.len() == self.inner.len() {
            Tokenizer { inner, ints: self.ints.clone() }
        } else {
            Tokenizer::wrap(py, inner)
        }
    }

    /// Encodes a Python `str` into `scratch.ids` (without the GIL when the text is long), through the
    /// tokenizer's document cache if it has one.
    fn encode_text(
        &self,
        py: Python<'_>,
        string: &Bound<'_, PyString>,
        opts: EncodeOptions,
        scratch: &mut Scratch,
    ) -> PyResult<()> {
        let text = utf8(string, &mut scratch.text)?;
        let ids = &mut scratch.ids;
        debug_assert!(ids.is_empty(), "the scratch ids start empty");
        if self.inner.recall_document(text, opts, ids) {
            return Ok(());
        }
        if text.len() < DETACH_BYTES {
            self.inner.encode_into(text, opts, ids);
        } else {
            // At most an id per byte, besides BOS, EOS and the dummy prefix: room for them now (address
            // space; pages are touched as ids are written), in one buffer that asked for huge pages
            // (huge_pages.rs). Without the room, or past it, the buffer grows as usual.
            let _ = ids.try_reserve(text.len() + 3);
            crate::huge_pages::advise(ids.as_ptr().cast(), ids.capacity() * std::mem::size_of::<u32>());
            // Without the GIL, and stopping when a signal handler raises (Ctrl-C): the core asks once per MiB.
            py.detach(|| {
                let signals = Signals::default();
                let asker = signals.clone();
                interrupt::with_check(move || asker.raised(), || self.inner.encode_into(text, opts, ids));
                signals.result()
            })?;
        }
        // Only now: an interrupted call returned above, its ids incomplete.
        self.inner.remember_document(text, opts, ids, || held_text::held(string));
        Ok(())
    }

    fn id_list<'py>(&self, py: Python<'py>, ids: &[u32]) -> PyResult<Bound<'py, PyList>> {
        lists::id_list(py, self.ints(py), ids)
    }
}

#[pymethods]
impl Tokenizer {
    /// Loads a `tokenizer.json` or a SentencePiece `tokenizer.model`.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Tokenizer> {
        let inner = py.detach(|| crate::Tokenizer::from_file(&path)).map_err(to_py_err)?;
        Ok(Tokenizer::wrap(py, inner))
    }

    /// Builds from the bytes of a tokenizer.json or tokenizer.model (`name` appears in errors).
    #[staticmethod]
    #[pyo3(signature = (data, name = "<bytes>"))]
    fn from_bytes(py: Python<'_>, data: Vec<u8>, name: &str) -> PyResult<Tokenizer> {
        let path = PathBuf::from(name);
        let inner = py.detach(|| crate::Tokenizer::from_bytes(data, &path)).map_err(to_py_err)?;
        Ok(Tokenizer::wrap(py, inner))
    }

    /// The bytes of the file this tokenizer was read from.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.source())
    }

    /// Pickles as the source file's bytes plus the special tokens and cache setting, so a copy in
    /// another process (multiprocessing, Ray, datasets) is exactly the same tokenizer.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        let this = slf.get();
        let restore = py.get_type::<Tokenizer>().getattr("_restore")?;
        let origin = this.inner.origin();
        let added = origin.added.iter().map(|call| call.iter().map(token_tuple).collect()).collect();
        let documents = this.inner.document_cache_bytes();
        Ok((restore, (this.to_bytes(py), origin.special_tokens.clone(), added, this.inner.uses_cache(), documents)))
    }

    #[staticmethod]
    #[pyo3(signature = (data, special_tokens, added, use_cache, document_cache_bytes = 0))]
    fn _restore(
        py: Python<'_>,
        data: Vec<u8>,
        special_tokens: Option<Vec<(String, u32)>>,
        added: Vec<Vec<TokenTuple>>,
        use_cache: bool,
        document_cache_bytes: usize,
    ) -> PyResult<Tokenizer> {
        let path = PathBuf::from("<pickle>");
        let mut inner = py.detach(|| crate::Tokenizer::from_bytes(data, &path)).map_err(to_py_err)?;
        if let Some(tokens) = special_tokens {
            inner = inner.with_special_tokens(tokens).map_err(to_py_err)?;
        }
        for call in added {
            let tokens: Vec<NewToken> = call.into_iter().map(new_token).collect();
            inner = inner.with_added_tokens(&tokens).map_err(to_py_err)?.0;
        }
        Ok(Tokenizer::wrap(py, inner.with_cache(use_cache).with_document_cache(document_cache_bytes)))
    }

    /// The same vocabulary, matching exactly these `(text, id)` special tokens in text.
    fn with_special_tokens(&self, py: Python<'_>, tokens: Vec<(String, u32)>) -> PyResult<Tokenizer> {
        Ok(self.derive(py, self.inner.with_special_tokens(tokens).map_err(to_py_err)?))
    }

    /// A new tokenizer with these tokens added as `tokenizers`' `add_tokens` adds them, each
    /// `(content, special, normalized, lstrip, rstrip, single_word)`, and how many were added. This
    /// tokenizer does not change.
    fn with_added_tokens(&self, py: Python<'_>, tokens: Vec<TokenTuple>) -> PyResult<(Tokenizer, usize)> {
        let tokens: Vec<NewToken> = tokens.into_iter().map(new_token).collect();
        let (inner, count) = self.inner.with_added_tokens(&tokens).map_err(to_py_err)?;
        Ok((self.derive(py, inner), count))
    }

    /// Every added token by id: `(id, content, special, normalized, lstrip, rstrip, single_word)`, the
    /// flags of the token that holds the id now (`decode` skips a text ever added as special).
    #[getter]
    fn added_vocab(&self) -> Vec<(u32, String, bool, bool, bool, bool, bool)> {
        self.inner
            .added_tokens()
            .into_iter()
            .map(|(id, t)| (id, t.content.clone(), t.special, t.normalized, t.lstrip, t.rstrip, t.single_word))
            .collect()
    }

    /// The same tokenizer with the chunk memo and any document cache on or off (the ids are the same
    /// either way).
    fn with_cache(&self, py: Python<'_>, enabled: bool) -> Tokenizer {
        self.derive(py, self.inner.with_cache(enabled))
    }

    /// The same tokenizer with a new document cache of at most `max_bytes` (0: none): texts of 1 KiB
    /// to `max_bytes / 16` given to `encode` or `count` are kept with their ids, and encoding one
    /// again copies them (see the README).
    // 64 MiB, written out so that `help()` and the stub show it (README, "Memory").
    #[pyo3(signature = (max_bytes = 67108864))]
    fn with_document_cache(&self, py: Python<'_>, max_bytes: i64) -> PyResult<Tokenizer> {
        let max_bytes = usize::try_from(max_bytes).map_err(|_| {
            PyValueError::new_err(format!("max_bytes must be 0 (no document cache) or more, not {max_bytes}"))
        })?;
        Ok(self.derive(py, self.inner.with_document_cache(max_bytes)))
    }

    /// The document cache's capacity in bytes (0: none).
    #[getter]
    fn document_cache_bytes(&self) -> usize {
        self.inner.document_cache_bytes()
    }

    #[pyo3(signature = (text, mode = "legacy", dummy_prefix = true))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyString>,
        mode: &str,
        dummy_prefix: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let opts = options(mode, dummy_prefix)?;
        with_scratch(|scratch| {
            self.encode_text(py, text, opts, scratch)?;
            self.id_list(py, &scratch.ids)
        })
    }

    /// Ids plus, for each, its `(start, end)` character offsets in `text` (see the README).
    #[pyo3(signature = (text, mode = "legacy", dummy_prefix = true))]
    fn encode_with_offsets(&self, py: Python<'_>, text: &str, mode: &str, dummy_prefix: bool) -> PyResult<WithOffsets> {
        let opts = options(mode, dummy_prefix)?;
        stoppable(py, text.len() >= DETACH_BYTES, || aligned::with_offsets(&self.inner, text, opts))
    }

    /// Ids with their character offsets, words and matched token texts, as `tokenizers`' `Encoding`
    /// holds them (what the transformers-style class's alignment methods read).
    #[pyo3(signature = (text, mode = "legacy", dummy_prefix = true))]
    fn encode_aligned(&self, py: Python<'_>, text: &str, mode: &str, dummy_prefix: bool) -> PyResult<Aligned> {
        let opts = options(mode, dummy_prefix)?;
        stoppable(py, text.len() >= DETACH_BYTES, || aligned::aligned(&self.inner, text, opts))
    }

    /// The ids of `text` with their tokens as `tokenizers` gives them (an added token: the text it
    /// matched, whitespace it took in included).
    #[pyo3(signature = (text, mode = "legacy", dummy_prefix = true))]
    fn encode_tokens(&self, py: Python<'_>, text: &str, mode: &str, dummy_prefix: bool) -> PyResult<Tokens> {
        let opts = options(mode, dummy_prefix)?;
        stoppable(py, text.len() >= DETACH_BYTES, || self.inner.encode_tokens(text, opts))
    }

    /// The number of ids `encode` would return, without building them in Python.
    #[pyo3(signature = (text, mode = "legacy", dummy_prefix = true))]
    fn count(&self, py: Python<'_>, text: &Bound<'_, PyString>, mode: &str, dummy_prefix: bool) -> PyResult<usize> {
        let opts = options(mode, dummy_prefix)?;
        with_scratch(|scratch| {
            self.encode_text(py, text, opts, scratch)?;
            Ok(scratch.ids.len())
        })
    }

    #[pyo3(signature = (texts, mode = "legacy", dummy_prefix = true, num_threads = None))]
    fn encode_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        mode: &str,
        dummy_prefix: bool,
        num_threads: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<Bound<'py, PyList>>> {
        let opts = options(mode, dummy_prefix)?;
        let threads = threads(num_threads)?;
        let texts = args::texts(texts)?;
        let strs = storages(&texts)?;
        let signals = Signals::default();
        let all = py.detach(|| batch::encode_batch(&self.inner, &strs, opts, threads, &mut || signals.raised()));
        signals.result()?;
        let all = all.map_err(|e| batch_error(&texts, e))?.expect("a batch stops only when a signal handler raised");
        all.iter().map(|ids| self.id_list(py, ids)).collect()
    }

    /// All ids of a batch as one flat buffer plus `len(texts) + 1` offsets (uint64), both readable
    /// by `numpy.frombuffer` without a copy. `dtype` is `"uint32"` or `"uint16"`. With `bos_id`, every
    /// text's ids start with it; with `eos_id`, every text with at least one id (BOS counts) ends with it.
    #[pyo3(signature = (texts, mode = "legacy", dummy_prefix = true, num_threads = None, dtype = "uint32",
                        *, bos_id = None, eos_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn encode_batch_flat<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        mode: &str,
        dummy_prefix: bool,
        num_threads: Option<&Bound<'_, PyAny>>,
        dtype: &str,
        bos_id: Option<i64>,
        eos_id: Option<i64>,
    ) -> PyResult<(IdBuffer, IdBuffer)> {
        let opts = options(mode, dummy_prefix)?;
        let threads = threads(num_threads)?;
        let narrow = self.narrow(dtype)?;
        let frame = self.frame(bos_id, eos_id)?;
        self.flat(py, &args::texts(texts)?, opts, frame, threads, narrow)
    }

    /// Blocks of whole JSONL lines to ids, split, parsed and encoded on all cores (for `llamatok
    /// preprocess`): per key, what `encode_batch_flat` gives for that field of every line that is not
    /// blank; then each such line's start in the blocks taken one after another, and the number of blank
    /// lines. None when some line is not a JSON object whose fields `keys` are all strings (the caller
    /// then reads the lines with Python's `json`).
    #[pyo3(signature = (blocks, keys, mode = "legacy", dummy_prefix = true, num_threads = None, dtype = "uint32",
                        *, bos_id = None, eos_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn encode_jsonl_flat(
        &self,
        py: Python<'_>,
        blocks: Vec<BlockBytes>,
        keys: Vec<String>,
        mode: &str,
        dummy_prefix: bool,
        num_threads: Option<&Bound<'_, PyAny>>,
        dtype: &str,
        bos_id: Option<i64>,
        eos_id: Option<i64>,
    ) -> PyResult<Option<JsonlBatch>> {
        let opts = options(mode, dummy_prefix)?;
        let threads = threads(num_threads)?;
        let narrow = self.narrow(dtype)?;
        let frame = self.frame(bos_id, eos_id)?;
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let blocks: Vec<&[u8]> = blocks.iter().map(BlockBytes::as_slice).collect();
        self.flat_jsonl(py, &blocks, &keys, opts, frame, threads, narrow)
    }

    #[pyo3(signature = (ids, style = "transformers", skip_special_tokens = false))]
    fn decode(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        style: &str,
        skip_special_tokens: bool,
    ) -> PyResult<String> {
        let style = self::style(style)?;
        let ids = extract_ids(ids, self.inner.len())?;
        let run = || self.inner.decode(&ids, style, skip_special_tokens);
        let text = if ids.len() < DETACH_BYTES / 4 { run() } else { py.detach(run) };
        text.map_err(to_py_err)
    }

    #[pyo3(signature = (batch, style = "transformers", skip_special_tokens = false, num_threads = None))]
    fn decode_batch(
        &self,
        py: Python<'_>,
        batch: &Bound<'_, PyAny>,
        style: &str,
        skip_special_tokens: bool,
        num_threads: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<String>> {
        let style = self::style(style)?;
        let vocab_size = self.inner.len();
        let batch: Vec<Vec<u32>> = batch
            .try_iter()?
            .enumerate()
            .map(|(i, seq)| extract_ids(&seq?, vocab_size).map_err(|e| in_sequence(py, e, i)))
            .collect::<PyResult<_>>()?;
        let threads = threads(num_threads)?;
        py.detach(|| decode_groups(&self.inner, &batch, style, skip_special_tokens, threads))
    }

    /// The number of ids of the model's vocabulary (without the added ids after it).
    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab().len()
    }

    /// The number of ids, added ones included.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The text of one id (an int, or a numpy integer): a piece, or an added token; a
    /// `TokenIdError` if it is outside the vocabulary, whatever its sign or size.
    fn id_to_piece(&self, id: &Bound<'_, PyAny>) -> PyResult<String> {
        let id = id_from(id, None, self.inner.len())?;
        match self.inner.id_to_token(id) {
            Some(p) => Ok(p.to_string()),
            None => Err(to_py_err(Error::token_id(id, None, self.inner.len()))),
        }
    }

    /// The id of a text: an added token first, else a piece (as `tokenizers`).
    fn piece_to_id(&self, piece: &str) -> Option<u32> {
        self.inner.token_to_id(piece)
    }

    /// Every piece of the model as `(text, score, kind)`; kind is one of normal, unknown, control,
    /// user_defined, unused, byte. Added ids past the model's are not pieces (see `added_vocab`).
    fn pieces(&self) -> Vec<(String, f32, &'static str)> {
        self.inner.vocab().pieces().iter().map(|p| (p.text.clone(), p.score, p.kind.name())).collect()
    }

    fn get_vocab<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (i, p) in self.inner.vocab().pieces().iter().enumerate() {
            dict.set_item(&p.text, i)?;
        }
        for (id, t) in self.inner.added_tokens() {
            dict.set_item(&t.content, id)?;
        }
        Ok(dict)
    }

    /// The file's own added tokens as `(content, id, special)`.
    #[getter]
    fn added_tokens(&self) -> Vec<(String, u32, bool)> {
        self.inner.vocab().added_tokens.iter().map(|t| (t.content.clone(), t.id, t.special)).collect()
    }

    /// The `(text, id)` pairs matched in the raw text by this tokenizer (not the added tokens
    /// matched in the normalized text: see `added_vocab`).
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

    /// None, as `tokenizers` gives for the Llama files: llamatok reads no pre-tokenizer (it refuses a file
    /// that has one), so there is none to configure (transformers' `add_prefix_space` looks here).
    #[getter]
    fn pre_tokenizer(&self) -> Option<bool> {
        None
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
        format!("<llamatok._native.Tokenizer with {} ids>", self.inner.len())
    }
}
