//! Errors of the capture readers.
use std::fmt;
use std::io;
use std::path::PathBuf;

/// A failure while opening or reading a capture, located by file and byte offset.
///
/// Display: `"{path}: byte offset {offset}: {what}"`, e.g.
/// `capture.pcap: byte offset 4123: truncated packet record (need 60 bytes, 17 left)`.
/// For gzip-compressed input, `offset` counts bytes of the decompressed stream and the
/// message says so (`byte offset 4123 in the decompressed stream`).
#[derive(Debug, thiserror::Error)]
#[error(
    "{}: byte offset {}{}: {}",
    path.display(),
    offset,
    if *decompressed { " in the decompressed stream" } else { "" },
    kind
)]
pub struct CaptureError {
    /// The file (or the name given to [`crate::CaptureReader::from_reader`]).
    pub path: PathBuf,
    /// Where the fault is: the start of the faulty record or block, or where reading failed.
    pub offset: u64,
    /// True when the input is gzip-compressed: `offset` is then in the decompressed stream.
    pub decompressed: bool,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong while reading a capture.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be opened.
    #[error("cannot open: {0}")]
    Open(io::Error),
    /// The input holds no byte at all.
    #[error("empty file: not a capture")]
    Empty,
    /// The first four bytes are no pcap, pcapng or gzip magic number.
    #[error("not a pcap or pcapng capture (starts with {})", Hex(magic))]
    NotACapture {
        /// The first four bytes of the input.
        magic: [u8; 4],
    },
    /// A pcap or pcapng version this reader does not know.
    #[error("unsupported {format} version {major}.{minor}")]
    UnsupportedVersion {
        /// `"pcap"` or `"pcapng"`.
        format: &'static str,
        major: u16,
        minor: u16,
    },
    /// The input ends inside a header, record or block.
    #[error("truncated {what} (need {need} bytes, {left} left)")]
    Truncated {
        /// What was cut: `"file header"`, `"pcap file header"`, `"packet record"`, `"pcapng block"`.
        what: &'static str,
        /// Bytes the structure needs from `offset`.
        need: u64,
        /// Bytes the input still had from `offset`.
        left: u64,
    },
    /// A length field no sane capture holds; the reader did not try to allocate it.
    #[error("absurd record length {len} ({why} {limit})")]
    AbsurdLength {
        /// The length found in the file.
        len: u64,
        /// Which limit it breaks, e.g. `"more than the snap length"`.
        why: &'static str,
        /// The limit.
        limit: u64,
    },
    /// A pcapng block that breaks the format (length fields, interface ids, options).
    #[error("bad pcapng block of type 0x{block_type:08x}: {reason}")]
    BadBlock { block_type: u32, reason: String },
    /// Reading the input failed.
    #[error("read error: {0}")]
    Io(io::Error),
    /// The gzip stream is corrupt or cut short.
    #[error("gzip decompression failed: {0}")]
    Gzip(io::Error),
}

/// Formats bytes as space-separated hex.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// An error located in the stream but not yet in a file: the reader adds the path.
#[derive(Debug)]
pub(crate) struct Fault {
    pub(crate) offset: u64,
    pub(crate) kind: ErrorKind,
}

impl Fault {
    pub(crate) fn new(offset: u64, kind: ErrorKind) -> Self {
        Fault { offset, kind }
    }

    pub(crate) fn bad_block(offset: u64, block_type: u32, reason: impl Into<String>) -> Self {
        Fault::new(
            offset,
            ErrorKind::BadBlock {
                block_type,
                reason: reason.into(),
            },
        )
    }

    pub(crate) fn truncated(offset: u64, what: &'static str, need: u64, left: usize) -> Self {
        Fault::new(
            offset,
            ErrorKind::Truncated {
                what,
                need,
                left: left as u64,
            },
        )
    }
}
