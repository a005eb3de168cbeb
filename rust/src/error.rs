//! One error type for the whole core; the bindings map each variant to one Python exception class.

use std::fmt;
use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug)]
pub enum Error {
    /// The model file does not exist.
    NotFound { path: PathBuf },
    /// Reading the file failed for another reason (permissions, I/O).
    Io { path: PathBuf, message: String },
    /// The file exists but is malformed, truncated or of a kind this project does not support.
    ModelFile { path: PathBuf, message: String },
    /// An argument is out of range or inconsistent (an id past the vocabulary, an unknown mode).
    InvalidArgument(String),
}

impl Error {
    pub(crate) fn model_file(path: &std::path::Path, message: impl Into<String>) -> Self {
        Error::ModelFile { path: path.to_path_buf(), message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { path } => write!(f, "no such file: {}", path.display()),
            Error::Io { path, message } => write!(f, "cannot read {}: {message}", path.display()),
            Error::ModelFile { path, message } => write!(f, "{}: {message}", path.display()),
            Error::InvalidArgument(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// Reads a whole file, telling "missing" apart from other I/O failures.
pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound { path: path.to_path_buf() },
        _ => Error::Io { path: path.to_path_buf(), message: e.to_string() },
    })
}
