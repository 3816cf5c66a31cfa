//! The block buffer under the readers: the input is read in large blocks into one
//! buffer and records are handed out as slices of it. A record that spans the end of
//! the buffer is moved to the front (compaction) and the rest read behind it.
use crate::error::{ErrorKind, Fault};
use flate2::read::MultiGzDecoder;
use std::io::{self, Cursor, Read};

/// Size of one read from the input (and of the buffer unless a record needs more).
pub(crate) const BLOCK: usize = 1 << 20;
/// Smallest buffer, for tiny files.
const MIN_BUFFER: usize = 4096;

pub(crate) type RawSource = Box<dyn Read + Send>;

/// Counts the bytes read through it (the compressed bytes under a gzip decoder).
pub(crate) struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count = self.count.saturating_add(n as u64);
        Ok(n)
    }
}

type GzSource = MultiGzDecoder<Counting<io::Chain<Cursor<Vec<u8>>, RawSource>>>;

pub(crate) enum Source {
    Plain(RawSource),
    Gzip(Box<GzSource>),
    /// Placeholder while the source is being swapped.
    Gone,
}

impl Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let r = match self {
                Source::Plain(r) => r.read(buf),
                Source::Gzip(r) => r.read(buf),
                Source::Gone => Ok(0),
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

pub(crate) struct Input {
    src: Source,
    pub(crate) buf: Vec<u8>,
    /// First unconsumed byte in `buf`.
    pub(crate) start: usize,
    /// End of valid data in `buf`.
    pub(crate) end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    gzip: bool,
}

impl Input {
    pub(crate) fn new(raw: RawSource, size_hint: Option<u64>) -> Self {
        let size = match size_hint {
            Some(n) => usize::try_from(n)
                .unwrap_or(BLOCK)
                .saturating_add(1)
                .clamp(MIN_BUFFER, BLOCK),
            None => BLOCK,
        };
        Input {
            src: Source::Plain(raw),
            buf: vec![0; size],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            gzip: false,
        }
    }

    /// Replaces the plain source by a gzip decoder over the bytes read so far followed by
    /// the rest of the source, and starts over at decompressed offset 0.
    pub(crate) fn switch_to_gzip(&mut self) {
        let prefix = self
            .buf
            .get(self.start..self.end)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let raw: RawSource = match std::mem::replace(&mut self.src, Source::Gone) {
            Source::Plain(r) => r,
            other => {
                self.src = other;
                return;
            }
        };
        let counting = Counting {
            inner: Cursor::new(prefix).chain(raw),
            count: 0,
        };
        self.src = Source::Gzip(Box::new(MultiGzDecoder::new(counting)));
        if self.buf.len() < BLOCK {
            self.buf.resize(BLOCK, 0);
        }
        self.start = 0;
        self.end = 0;
        self.base = 0;
        self.eof = false;
        self.gzip = true;
    }

    pub(crate) fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Stream offset of the next unconsumed byte.
    #[inline]
    pub(crate) fn pos(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Compressed bytes read from the underlying source (gzip only).
    pub(crate) fn compressed_read(&self) -> Option<u64> {
        match &self.src {
            Source::Gzip(d) => Some(d.get_ref().count),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn avail(&self) -> usize {
        self.end - self.start
    }

    /// The `n` bytes at the read position, if buffered.
    #[inline]
    pub(crate) fn peek(&self, n: usize) -> Option<&[u8]> {
        let stop = self.start.checked_add(n)?;
        if stop > self.end {
            return None;
        }
        self.buf.get(self.start..stop)
    }

    /// Makes at least `need` bytes available from the read position unless the input ends
    /// first; returns how many are available. The buffer grows only as far as data
    /// actually arrives (doubling), so a lying length field costs no big allocation.
    pub(crate) fn fill(&mut self, need: usize) -> Result<usize, Fault> {
        while self.end - self.start < need && !self.eof {
            if self.end == self.buf.len() {
                if self.start > 0 {
                    self.buf.copy_within(self.start..self.end, 0);
                    self.base += self.start as u64;
                    self.end -= self.start;
                    self.start = 0;
                } else {
                    let grown = self.buf.len().saturating_mul(2).min(need).max(MIN_BUFFER);
                    self.buf.resize(grown, 0);
                }
            }
            let Some(room) = self.buf.get_mut(self.end..) else {
                break;
            };
            match self.src.read(room) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) => return Err(self.io_fault(e)),
            }
        }
        Ok(self.end - self.start)
    }

    /// Consumes `n` bytes without keeping them (may read and drop whole blocks);
    /// returns how many were skipped (fewer only at the end of the input).
    pub(crate) fn skip(&mut self, n: u64) -> Result<u64, Fault> {
        let avail = self.avail() as u64;
        if n <= avail {
            self.start += n as usize;
            return Ok(n);
        }
        let mut left = n - avail;
        self.base += self.end as u64;
        self.start = 0;
        self.end = 0;
        while left > 0 && !self.eof {
            let r = match self.src.read(&mut self.buf) {
                Ok(r) => r,
                Err(e) => return Err(self.io_fault(e)),
            };
            if r == 0 {
                self.eof = true;
            } else if r as u64 > left {
                self.start = left as usize;
                self.end = r;
                left = 0;
            } else {
                self.base += r as u64;
                left -= r as u64;
            }
        }
        Ok(n - left)
    }

    fn io_fault(&self, e: io::Error) -> Fault {
        let offset = self.base + self.end as u64;
        let gz_error = matches!(
            e.kind(),
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
        );
        if self.gzip && gz_error {
            Fault::new(offset, ErrorKind::Gzip(e))
        } else {
            Fault::new(offset, ErrorKind::Io(e))
        }
    }
}
