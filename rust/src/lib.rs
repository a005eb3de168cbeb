//! llamatok: exact SentencePiece-style BPE for the Llama family (Code Llama first).
//!
//! The public API is [`Tokenizer`] and the types its methods take and return; every stage behind it
//! is internal. The pipeline, one file per stage (docs/architecture-core.md describes it in full):
//! - model files: `model_proto` (SentencePiece `tokenizer.model`) and `hf_json` (`tokenizer.json`)
//!   both produce a [`Vocab`];
//! - `merges` turns the vocabulary into a pair table, `bpe` runs the merge loop on one chunk,
//!   `chunker` cuts normalized text where no merge can cross, `cache` remembers chunk results;
//! - `user_defined` cuts SentencePiece's user-defined pieces out of the text, `unused` encodes the
//!   vocabularies with unused pieces whole;
//! - `encoder` ties those together for plain text, `special` splits special-token text out in the
//!   three modes of [`SpecialMode`] (Code Llama's infill prompts are built in Python on top);
//! - `decoder` turns ids back into text in either [`DecodeStyle`];
//! - `added` keeps the added vocabulary (tokens matched before BPE, ids past the model's), as
//!   `tokenizers` keeps it;
//! - `tokenizer` holds the immutable, thread-safe [`Tokenizer`]; with the `python` feature, `batch`
//!   runs it on all cores for the bindings in `python/`;
//! - [`id_bytes`] reads ids stored as raw integers of any width and byte order (the pure part of the
//!   bindings' buffer reader; public so that the fuzz targets in `rust/fuzz/` reach it).
//! - [`document_rows`], [`gzip_members`], [`mds_samples`] and [`parquet_levels`] do the per-document
//!   work of `llamatok preprocess`'s writers.
//! - [`jsonl`] takes the text fields out of a JSONL line, for `llamatok preprocess` to parse lines
//!   where it encodes them.

pub(crate) mod added;
pub(crate) mod ascii_stops;
#[cfg(feature = "python")]
pub(crate) mod batch;
pub mod block_pool;
pub(crate) mod bpe;
pub(crate) mod cache;
pub(crate) mod chunker;
pub(crate) mod cut_check;
pub(crate) mod decoder;
pub mod document_rows;
pub(crate) mod documents;
pub(crate) mod encoder;
pub(crate) mod error;
pub mod gzip_members;
pub(crate) mod hf_json;
pub(crate) mod huffman_only;
#[cfg(any(feature = "python", test))]
pub(crate) mod huge_pages;
pub mod id_bytes;
pub mod interrupt;
pub mod jsonl;
pub mod jsonl_lines;
pub mod mds_samples;
pub(crate) mod merges;
pub(crate) mod model_proto;
pub mod parquet_levels;
#[cfg(test)]
mod proptests;
#[cfg(feature = "python")]
pub(crate) mod python;
#[cfg(target_arch = "x86_64")]
pub(crate) mod scan_narrow;
pub(crate) mod special;
pub(crate) mod tiny_chunks;
pub(crate) mod tokenizer;
pub(crate) mod unused;
pub(crate) mod user_defined;
pub(crate) mod vocab;
pub(crate) mod windows;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod windows_check;

pub use added::NewToken;
pub use decoder::DecodeStyle;
pub use documents::HeldText;
pub use error::{Error, Result};
pub use special::SpecialMode;
pub use tokenizer::{Aligned, EncodeOptions, Origin, Tokenizer};
pub use vocab::{AddedToken, Piece, PieceKind, Template, Vocab};
