//! Errors of the console, and how each becomes an HTTP answer.
use std::path::{Path, PathBuf};
use thiserror::Error;

/// What can go wrong in the console.
#[derive(Debug, Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Store(#[from] sluice_store::StoreError),
    #[error("{path}: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Policy(#[from] sluice_policy::PolicyError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    #[error("a user named {0:?} already exists")]
    UserExists(String),
    #[error("invalid user name {0:?}: use 1-64 letters, digits, '.', '_', '-' or '@'")]
    BadUserName(String),
    #[error("unknown role {0:?} (viewer, analyst or admin)")]
    BadRole(String),
    #[error("the password must be at least {min} characters long")]
    WeakPassword { min: usize },
    #[error("no source of randomness: {0}")]
    Random(String),
    #[error("{0}")]
    Internal(String),
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
}

/// Console result.
pub type Result<T, E = ConsoleError> = std::result::Result<T, E>;

impl ConsoleError {
    /// An SQLite error on the store at `path`.
    pub fn sql(path: &Path, source: rusqlite::Error) -> Self {
        ConsoleError::Sql {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<rusqlite::Error> for ConsoleError {
    fn from(source: rusqlite::Error) -> Self {
        ConsoleError::Sql {
            path: PathBuf::from("store"),
            source,
        }
    }
}
