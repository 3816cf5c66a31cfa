//! Capture sources: pcap and pcapng files (optionally gzip-compressed), read without
//! copying packet bytes, several files merged in time order; and pcap / pcapng writers.
//!
//! ```no_run
//! # fn main() -> Result<(), sluice_capture::CaptureError> {
//! let mut reader = sluice_capture::CaptureReader::open("capture.pcap.gz".as_ref())?;
//! while let Some(packet) = reader.next_packet()? {
//!     println!("{} {:?} {} bytes", packet.ts, packet.linktype, packet.data.len());
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod error;
mod input;
mod merge;
mod pcap;
mod pcapng;
mod reader;
mod writer;

pub use error::{CaptureError, ErrorKind};
pub use merge::MergedReader;
pub use pcapng::{Interface, MAX_BLOCK_LEN};
pub use reader::{CaptureReader, Format};
pub use writer::{ByteOrder, InterfaceOptions, PcapNgWriter, PcapWriter, TsResolution};

/// Largest captured packet the readers accept (and the writers write): 256 KiB, as in
/// libpcap and Wireshark. A longer record is reported as an absurd length, not allocated.
pub const MAX_PACKET_LEN: u32 = 262_144;

/// A libpcap link-layer header type (LINKTYPE_* value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (version from the first nibble).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One captured packet, borrowing the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts: i64,
    pub linktype: LinkType,
    /// Captured bytes (may be shorter than `orig_len` when the snap length cut it).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// Index of the pcapng interface (0 for pcap).
    pub interface: u32,
}
