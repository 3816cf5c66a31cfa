//! [`CaptureReader`]: format detection (pcap, pcapng, gzip around either) and the
//! lending packet loop.
use crate::error::{CaptureError, ErrorKind, Fault};
use crate::input::{Input, RawSource};
use crate::pcap::{self, PcapHeader};
use crate::pcapng::{self, NgState};
use crate::{Interface, LinkType, Packet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A parsed record waiting in the buffer: where its bytes are and what it says.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub(crate) ts: i64,
    pub(crate) linktype: LinkType,
    pub(crate) orig_len: u32,
    pub(crate) interface: u32,
    pub(crate) data_start: usize,
    pub(crate) data_end: usize,
    /// Buffer index just past the record.
    pub(crate) next: usize,
}

/// The container format of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap.
    Pcap {
        /// Timestamps in nanoseconds (magic 0xa1b23c4d) rather than microseconds.
        nanosecond: bool,
        /// Written big endian.
        big_endian: bool,
    },
    /// pcapng (byte order is per section).
    PcapNg,
}

enum State {
    Pcap(PcapHeader, [Interface; 1]),
    PcapNg(NgState),
}

/// Reads one pcap or pcapng capture, optionally gzip-compressed, packet by packet.
///
/// The input is read in large blocks into one buffer; each [`Packet`] borrows that buffer
/// (no copy, no allocation and no system call per packet). Packets come in file order.
///
/// Errors: a fault after some packets is reported by the `next_packet` call that follows
/// the last good packet, so no packet before the fault is lost. After an error (or the end
/// of the input) the reader is finished and `next_packet` returns `Ok(None)`.
pub struct CaptureReader {
    path: PathBuf,
    input: Input,
    state: State,
    pending: Option<Meta>,
    done: bool,
    total_bytes: Option<u64>,
    packets: u64,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("path", &self.path)
            .field("format", &self.format())
            .field("gzip", &self.is_gzip())
            .field("packets", &self.packets)
            .finish_non_exhaustive()
    }
}

impl CaptureReader {
    /// Opens a capture file and reads its file header (or first section header).
    /// The format is detected from the magic number; gzip is decompressed on the fly.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let file = File::open(path).map_err(|e| CaptureError {
            path: path.to_path_buf(),
            offset: 0,
            decompressed: false,
            kind: ErrorKind::Open(e),
        })?;
        let total = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        Self::build(path.to_path_buf(), Box::new(file), total)
    }

    /// Reads a capture from any byte stream; `name` is used in error messages.
    pub fn from_reader(
        name: impl Into<PathBuf>,
        r: impl Read + Send + 'static,
    ) -> Result<Self, CaptureError> {
        Self::build(name.into(), Box::new(r), None)
    }

    fn build(path: PathBuf, raw: RawSource, total: Option<u64>) -> Result<Self, CaptureError> {
        let mut input = Input::new(raw, total);
        let fail = |input: &Input, f: Fault| CaptureError {
            path: path.clone(),
            offset: f.offset,
            decompressed: input.is_gzip(),
            kind: f.kind,
        };
        let mut avail = input.fill(4).map_err(|f| fail(&input, f))?;
        if input.peek(2) == Some(&[0x1f, 0x8b][..]) {
            input.switch_to_gzip();
            avail = input.fill(4).map_err(|f| fail(&input, f))?;
        }
        if avail == 0 {
            return Err(fail(&input, Fault::new(0, ErrorKind::Empty)));
        }
        let magic: [u8; 4] = match input.peek(4).and_then(|m| m.try_into().ok()) {
            Some(m) => m,
            None => {
                return Err(fail(&input, Fault::truncated(0, "file header", 4, avail)));
            }
        };
        let state = if pcap::magic(magic).is_some() {
            let avail = input
                .fill(pcap::FILE_HEADER_LEN)
                .map_err(|f| fail(&input, f))?;
            let header: [u8; pcap::FILE_HEADER_LEN] = match input
                .peek(pcap::FILE_HEADER_LEN)
                .and_then(|h| h.try_into().ok())
            {
                Some(h) => h,
                None => {
                    let f = Fault::truncated(0, "pcap file header", 24, avail);
                    return Err(fail(&input, f));
                }
            };
            let h = pcap::parse_header(header).map_err(|f| fail(&input, f))?;
            input.start += pcap::FILE_HEADER_LEN;
            State::Pcap(h, [h.interface()])
        } else if magic == pcapng::SHB.to_be_bytes() {
            let mut st = NgState::default();
            pcapng::read_shb(&mut input, &mut st).map_err(|f| fail(&input, f))?;
            State::PcapNg(st)
        } else {
            return Err(fail(
                &input,
                Fault::new(0, ErrorKind::NotACapture { magic }),
            ));
        };
        Ok(CaptureReader {
            path,
            input,
            state,
            pending: None,
            done: false,
            total_bytes: total,
            packets: 0,
        })
    }

    /// Parses the next record into `pending` unless one is waiting.
    fn advance(&mut self) -> Result<Option<Meta>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let r = match &mut self.state {
            State::Pcap(h, _) => pcap::next_record(&mut self.input, h),
            State::PcapNg(st) => pcapng::next_record(&mut self.input, st),
        };
        match r {
            Ok(Some(m)) => Ok(Some(m)),
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(f) => {
                self.done = true;
                Err(self.error(f))
            }
        }
    }

    fn error(&self, f: Fault) -> CaptureError {
        CaptureError {
            path: self.path.clone(),
            offset: f.offset,
            decompressed: self.input.is_gzip(),
            kind: f.kind,
        }
    }

    /// The next packet, borrowing the reader's buffer; `Ok(None)` at the end.
    #[inline]
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        let m = match self.pending.take() {
            Some(m) => m,
            None => match self.advance()? {
                Some(m) => m,
                None => return Ok(None),
            },
        };
        self.input.start = m.next;
        self.packets += 1;
        let data = self
            .input
            .buf
            .get(m.data_start..m.data_end)
            .unwrap_or_default();
        Ok(Some(Packet {
            ts: m.ts,
            linktype: m.linktype,
            data,
            orig_len: m.orig_len,
            interface: m.interface,
        }))
    }

    /// The timestamp of the next packet without consuming it (the record stays in the
    /// buffer and the following `next_packet` returns it); `Ok(None)` at the end.
    pub fn peek_ts(&mut self) -> Result<Option<i64>, CaptureError> {
        if self.pending.is_none() {
            self.pending = self.advance()?;
        }
        Ok(self.pending.map(|m| m.ts))
    }

    /// The file name (or the name given to [`CaptureReader::from_reader`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The container format.
    pub fn format(&self) -> Format {
        match &self.state {
            State::Pcap(h, _) => Format::Pcap {
                nanosecond: h.nanosecond,
                big_endian: h.big_endian,
            },
            State::PcapNg(_) => Format::PcapNg,
        }
    }

    /// Whether the input is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.input.is_gzip()
    }

    /// Interfaces known so far: the pcap file's one, or the current pcapng section's
    /// interfaces described up to the read position.
    pub fn interfaces(&self) -> &[Interface] {
        match &self.state {
            State::Pcap(_, i) => i,
            State::PcapNg(st) => &st.interfaces,
        }
    }

    /// The pcap file's link type, or that of pcapng interface 0 once described.
    pub fn linktype(&self) -> Option<LinkType> {
        self.interfaces().first().map(|i| i.linktype)
    }

    /// The pcap file's snap length, or that of pcapng interface 0 once described (0: none).
    pub fn snaplen(&self) -> Option<u32> {
        self.interfaces().first().map(|i| i.snaplen)
    }

    /// Number of packets returned so far.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// Bytes of the input file consumed so far, comparable with [`Self::total_bytes`]:
    /// for gzip input the compressed bytes read from the file, otherwise the read position.
    pub fn bytes_read(&self) -> u64 {
        self.input
            .compressed_read()
            .unwrap_or_else(|| self.input.pos())
    }

    /// Read position in the (decompressed) capture stream.
    pub fn position(&self) -> u64 {
        self.input.pos()
    }

    /// Size of the file, when opened from a regular file.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total_bytes
    }
}
