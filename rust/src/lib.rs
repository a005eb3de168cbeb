//! llamatok: exact SentencePiece-style BPE for the Llama family (Code Llama first).
//!
//! The pipeline, one file per stage:
//! - model files: [`model_proto`] (SentencePiece `tokenizer.model`) and [`hf_json`] (`tokenizer.json`)
//!   both produce a [`vocab::Vocab`];
//! - [`merges`] turns the vocabulary into a pair table, [`bpe`] runs the merge loop on one chunk,
//!   [`chunker`] cuts normalized text where no merge can cross, [`cache`] remembers chunk results;
//! - [`encoder`] ties those together for plain text, [`special`] splits special-token text out in the
//!   three transformers/sentencepiece modes (Code Llama's infill prompts are built in Python on top);
//! - [`decoder`] turns ids back into text in sentencepiece's or transformers' style;
//! - [`tokenizer`] is the immutable, thread-safe object users hold; [`batch`] runs it on all cores.

pub mod batch;
pub mod bpe;
pub mod cache;
pub mod chunker;
pub mod decoder;
pub mod encoder;
pub mod error;
pub mod hf_json;
pub mod merges;
pub mod model_proto;
pub mod special;
pub mod tokenizer;
pub mod vocab;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
pub use special::SpecialMode;
pub use tokenizer::Tokenizer;
pub use vocab::{PieceKind, Vocab};
