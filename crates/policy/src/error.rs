//! Errors of loading a policy and the diagnostics of checking one.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Where something is in a policy file: 1-based line and column (in characters).
/// `line == 0` means the position is unknown and only the file is named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file the policy was read from (or the origin given to [`crate::Policy::from_str`]).
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column counted in characters, 0 when unknown.
    pub column: u32,
}

impl Location {
    /// A location naming only the file.
    pub fn file_only(file: &Path) -> Self {
        Location {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The policy says something it probably does not mean; it still loads.
    Warning,
    /// The policy is wrong; [`crate::Policy::from_str`] refuses it.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What a diagnostic is about (stable names for tools and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticKind {
    /// Two zones claim the same addresses (error).
    OverlappingCidrs,
    /// A CIDR repeats or lies inside another CIDR of the same zone (warning).
    RedundantCidr,
    /// A CIDR has host bits set, e.g. `10.1.2.3/24` (warning; the network is used).
    HostBitsSet,
    /// A zone without CIDRs: no address can belong to it (warning).
    EmptyZone,
    /// A conduit, exception or window names a zone that is not defined (error).
    UnknownZone,
    /// Not an IP address or CIDR (error).
    InvalidAddress,
    /// A Purdue level outside 0-5 or not a multiple of 0.5 (error).
    LevelOutOfRange,
    /// A security level target outside 1-4 (error).
    SecurityLevelOutOfRange,
    /// Two zones, conduits, windows or exceptions share a name (error).
    DuplicateName,
    /// A zone named `external`, which is the implicit zone (error).
    ReservedName,
    /// A value that is not one of the allowed words, e.g. `access = "write"` (error).
    InvalidValue,
    /// A conduit client (or writer) outside the `from` zone: it can never match (error).
    ClientOutsideZone,
    /// A conduit server outside every `to` zone: it can never match (error).
    ServerOutsideZone,
    /// A conduit without protocols: it can never match (error).
    EmptyProtocols,
    /// A conduit inside one zone that restricts nothing (warning).
    NoEffect,
    /// A protocol name Sluice does not know (warning).
    UnknownProtocol,
    /// An ICS conduit without `access`: it was given read-only access (warning).
    AccessDefaulted,
    /// A conduit lets a level 4+ zone (or external) reach level 0-2 directly (warning).
    BypassesDmz,
    /// An envelope's device is in no zone (warning).
    EnvelopeOutsideZones,
    /// An envelope with min > max, a non-finite bound or a non-positive step (error).
    InvalidEnvelope,
    /// Two envelopes cover the same register of the same device (warning; the first applies).
    OverlappingEnvelopes,
    /// A register range that does not parse or runs backwards (error).
    InvalidRange,
    /// A date, time or weekly slot that does not parse (error).
    InvalidTime,
    /// An exception past its expiry date: it no longer applies (warning).
    ExpiredException,
    /// An exception without an expiry date (warning).
    PermanentException,
    /// An exception whose match is empty: it waives everything (warning).
    BroadException,
}

/// One finding of [`crate::Policy::check`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub kind: DiagnosticKind,
    /// Where in the file.
    pub location: Location,
    /// One sentence for the operator.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.severity, self.message)
    }
}

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("{}: cannot read policy: {source}", path.display())]
    Io {
        /// The path that was opened.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not TOML, or a value has the wrong type, or a key is unknown.
    #[error("{location}: {message}")]
    Syntax {
        /// Where the parser stopped.
        location: Location,
        /// What it expected.
        message: String,
    },
    /// The policy parsed but [`crate::Policy::check`] found errors; all of them (and the
    /// warnings) are listed, the display shows the first error in the file.
    #[error("{}", invalid_summary(.diagnostics))]
    Invalid {
        /// Every diagnostic, in file order.
        diagnostics: Vec<Diagnostic>,
    },
}

impl PolicyError {
    /// The location of the error (the first error for [`PolicyError::Invalid`]).
    pub fn location(&self) -> Option<&Location> {
        match self {
            PolicyError::Io { .. } => None,
            PolicyError::Syntax { location, .. } => Some(location),
            PolicyError::Invalid { diagnostics } => diagnostics
                .iter()
                .find(|d| d.severity == Severity::Error)
                .map(|d| &d.location),
        }
    }
}

fn invalid_summary(diags: &[Diagnostic]) -> String {
    let mut errors = diags.iter().filter(|d| d.severity == Severity::Error);
    match errors.next() {
        None => "policy has no errors".to_string(),
        Some(first) => {
            let more = errors.count();
            if more == 0 {
                format!("{}: {}", first.location, first.message)
            } else {
                format!(
                    "{}: {} (and {} more error{})",
                    first.location,
                    first.message,
                    more,
                    if more == 1 { "" } else { "s" }
                )
            }
        }
    }
}

/// Maps byte offsets of the source text to lines and columns.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// 1-based (line, column in characters) of byte `offset` in `text`.
    pub(crate) fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        let col = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or_else(|| {
                // `offset` inside a multi-byte character: count bytes instead.
                offset.saturating_sub(start)
            });
        (
            u32::try_from(line + 1).unwrap_or(u32::MAX),
            u32::try_from(col + 1).unwrap_or(u32::MAX),
        )
    }
}
