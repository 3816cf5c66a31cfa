//! Typed errors of the assessment.
use std::fmt;
use std::path::PathBuf;

/// One problem at a line of an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line (0 when the whole file is concerned).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

fn lines(path: &std::path::Path, errors: &[LineError]) -> String {
    errors
        .iter()
        .map(|e| {
            if e.line == 0 {
                format!("{}: {}", path.display(), e.message)
            } else {
                format!("{}:{}: {}", path.display(), e.line, e.message)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why an assessment could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A data file (catalogue, rules, questions, answers) is malformed.
    #[error("{}", lines(path, errors))]
    Data {
        /// The file (or `builtin:NAME` for embedded data).
        path: PathBuf,
        /// Every problem found, with its line.
        errors: Vec<LineError>,
    },
    /// A usage problem (unknown framework, missing catalogue...).
    #[error("{0}")]
    Usage(String),
    /// The store could not be read or written.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored or given assessment is not valid JSON.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl AssessError {
    /// A data error with one line.
    pub fn data(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        AssessError::Data {
            path: path.into(),
            errors: vec![LineError {
                line,
                message: message.into(),
            }],
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AssessError::Io {
            path: path.into(),
            source,
        }
    }
}

/// 1-based line of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()
        .get(..end)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count() + 1)
        .unwrap_or(1)
}

/// A TOML syntax error as a line error.
pub fn toml_error(text: &str, e: &toml::de::Error) -> LineError {
    let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
    LineError {
        line,
        message: e.message().trim().to_string(),
    }
}
