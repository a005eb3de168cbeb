//! One error type for the whole core; the bindings map each variant to one Python exception class
//! (`rust/src/python/mod.rs`), by variant and never by the text of the message.

use std::fmt;
use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug)]
pub enum Error {
    /// The model file does not exist.
    NotFound { path: PathBuf },
    /// Reading the file failed for another reason (a directory, permissions, I/O). The OS error is
    /// kept so that the bindings can raise the matching `OSError` subclass.
    Io { path: PathBuf, error: std::io::Error },
    /// The file exists but is malformed, truncated or of a kind this project does not support.
    ModelFile { path: PathBuf, message: String },
    /// A token id outside the vocabulary. `id` is the value as written, because ids from Python may
    /// be negative or larger than any integer type; `position` is its index in the sequence, if any.
    TokenId { id: String, position: Option<usize>, vocab_size: usize },
    /// The worker threads of a batch could not be started (the OS refused to create a thread).
    Threads { threads: usize, message: String },
    /// Text `index` of a batch has no UTF-8 form (a Python `str` holding a lone surrogate); the
    /// bindings raise Python's own `UnicodeEncodeError` for it.
    NotUtf8 { index: usize },
    /// Any other argument that is out of range or inconsistent (an unknown mode, a special token
    /// whose id is past the vocabulary).
    InvalidArgument(String),
}

impl Error {
    pub(crate) fn model_file(path: &std::path::Path, message: impl Into<String>) -> Self {
        Error::ModelFile { path: path.to_path_buf(), message: message.into() }
    }

    pub(crate) fn token_id(id: impl fmt::Display, position: Option<usize>, vocab_size: usize) -> Self {
        Error::TokenId { id: id.to_string(), position, vocab_size }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { path } => write!(f, "no such file: {}", path.display()),
            Error::Io { path, error } if error.kind() == std::io::ErrorKind::IsADirectory => write!(
                f,
                "{} is a directory: give the tokenizer.json or tokenizer.model file in it \
                 (CodeLlamaTokenizerFast.from_pretrained takes a folder)",
                path.display()
            ),
            Error::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            Error::ModelFile { path, message } => write!(f, "{}: {message}", path.display()),
            Error::TokenId { id, position, vocab_size } => {
                write!(f, "id {id}")?;
                if let Some(p) = position {
                    write!(f, " at position {p}")?;
                }
                match vocab_size {
                    0 => write!(f, " is out of range: the vocabulary is empty"),
                    n => write!(f, " is out of range: the vocabulary has {n} ids (0..{})", n - 1),
                }
            }
            Error::Threads { threads, message } => write!(
                f,
                "could not start {threads} worker threads ({message}); ask for fewer with num_threads \
                 (or free some memory or threads)"
            ),
            Error::NotUtf8 { index } => {
                write!(f, "text {index} of the batch has a lone surrogate, which UTF-8 cannot encode")
            }
            Error::InvalidArgument(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// Reads a whole file, telling "missing" apart from other I/O failures.
pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound { path: path.to_path_buf() },
        _ => Error::Io { path: path.to_path_buf(), error },
    })
}
