//! Errors carry the position of the offending document so a user can find it.

use std::fmt;

/// Where in the input stream a problem was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocRef {
    /// Zero-based position of the document in the input stream.
    pub index: usize,
    /// Helm's `# Source:` path, when present.
    pub source: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
}

impl fmt::Display for DocRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}", self.index)?;
        if let Some(source) = &self.source {
            write!(f, " ({source})")?;
        }
        match (&self.kind, &self.name) {
            (Some(k), Some(n)) => write!(f, " {k}/{n}"),
            (Some(k), None) => write!(f, " {k}"),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A document could not be parsed or has the wrong shape.
    #[error("{doc}: {message}")]
    Document { doc: DocRef, message: String },
    /// A field of a document has a value the engine cannot work with.
    #[error("{doc}: field `{field}`: {message}")]
    Field {
        doc: DocRef,
        field: String,
        message: String,
    },
    /// The engine configuration is invalid.
    #[error("config: {0}")]
    Config(String),
    /// The input as a whole is unusable (encoding, size limits).
    #[error("input: {0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, Error>;
