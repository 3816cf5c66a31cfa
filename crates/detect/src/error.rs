//! Errors of loading rules, the ATT&CK catalogue and baselines.

use std::path::PathBuf;

/// Why detection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A rule file is not valid TOML of the rule format, or a rule is wrong.
    #[error("{file}:{line}:{column}: {message}")]
    Rule {
        /// The rule file (`builtin:NAME.toml` for embedded ones).
        file: String,
        /// 1-based line (0 when unknown).
        line: u32,
        /// 1-based column (0 when unknown).
        column: u32,
        /// What is wrong.
        message: String,
    },
    /// The ATT&CK data could not be parsed.
    #[error("{}: {message}", path.display())]
    Attack {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A stored baseline could not be read or written.
    #[error("baseline: {0}")]
    Baseline(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] sluice_store::StoreError),
    /// SQLite failed on the detection tables.
    #[error("store: {0}")]
    Sqlite(String),
}
