//! Capture writers: classic pcap (micro- or nanosecond, either byte order) and a minimal
//! pcapng writer. Both write straight to `out`: wrap files in a `BufWriter`.
use crate::pcapng::{TsScale, BYTE_ORDER_MAGIC, EPB, IDB, SHB, SPB};
use crate::LinkType;
use std::io::{self, Write};

/// Timestamp resolution of a classic pcap file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TsResolution {
    /// Magic 0xa1b2c3d4: microseconds.
    Micro,
    /// Magic 0xa1b23c4d: nanoseconds.
    #[default]
    Nano,
}

/// Byte order of the written file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ByteOrder {
    #[default]
    Little,
    Big,
}

impl ByteOrder {
    fn u16(self, v: u16) -> [u8; 2] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    fn u32(self, v: u32) -> [u8; 4] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    fn u64(self, v: u64) -> [u8; 8] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Captured length for `data` under `snaplen` (0: unlimited).
fn cap_len(data: &[u8], snaplen: u32) -> io::Result<usize> {
    let len = if snaplen != 0 {
        data.len().min(snaplen as usize)
    } else {
        data.len()
    };
    if len > crate::MAX_PACKET_LEN as usize {
        return Err(invalid("packet longer than the 262144-byte maximum"));
    }
    Ok(len)
}

/// Writes classic pcap. [`PcapWriter::new`] writes nanosecond little-endian files
/// (magic 0xa1b23c4d); [`PcapWriter::with_options`] chooses resolution and byte order.
/// Packets longer than the snap length are cut to it (the wire length is kept).
pub struct PcapWriter<W: Write> {
    out: W,
    resolution: TsResolution,
    order: ByteOrder,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header of a nanosecond, little-endian file.
    pub fn new(out: W, linktype: LinkType, snaplen: u32) -> io::Result<Self> {
        Self::with_options(
            out,
            linktype,
            snaplen,
            TsResolution::Nano,
            ByteOrder::Little,
        )
    }

    /// Writes the global header of a microsecond, little-endian file.
    pub fn new_micro(out: W, linktype: LinkType, snaplen: u32) -> io::Result<Self> {
        Self::with_options(
            out,
            linktype,
            snaplen,
            TsResolution::Micro,
            ByteOrder::Little,
        )
    }

    /// Writes the global header with the given resolution and byte order.
    pub fn with_options(
        mut out: W,
        linktype: LinkType,
        snaplen: u32,
        resolution: TsResolution,
        order: ByteOrder,
    ) -> io::Result<Self> {
        let magic = match resolution {
            TsResolution::Micro => 0xa1b2_c3d4u32,
            TsResolution::Nano => 0xa1b2_3c4d,
        };
        let mut hdr = [0u8; 24];
        hdr[0..4].copy_from_slice(&order.u32(magic));
        hdr[4..6].copy_from_slice(&order.u16(2));
        hdr[6..8].copy_from_slice(&order.u16(4));
        hdr[16..20].copy_from_slice(&order.u32(snaplen));
        hdr[20..24].copy_from_slice(&order.u32(linktype.0));
        out.write_all(&hdr)?;
        Ok(PcapWriter {
            out,
            resolution,
            order,
            snaplen,
        })
    }

    /// Writes one packet captured at `ts_ns` nanoseconds since the epoch (a microsecond
    /// file rounds down). The timestamp must lie in 1970..2106.
    pub fn write(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()> {
        let orig = u32::try_from(data.len()).map_err(|_| invalid("packet too large"))?;
        self.write_packet(ts_ns, data, orig)
    }

    /// Writes one packet whose length on the wire was `orig_len`.
    pub fn write_packet(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        if ts_ns < 0 {
            return Err(invalid("pcap cannot store a timestamp before 1970"));
        }
        let secs = u32::try_from(ts_ns / 1_000_000_000)
            .map_err(|_| invalid("pcap cannot store a timestamp after 2106"))?;
        let nanos = (ts_ns % 1_000_000_000) as u32;
        let frac = match self.resolution {
            TsResolution::Micro => nanos / 1000,
            TsResolution::Nano => nanos,
        };
        let len = cap_len(data, self.snaplen)?;
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&self.order.u32(secs));
        rec[4..8].copy_from_slice(&self.order.u32(frac));
        rec[8..12].copy_from_slice(&self.order.u32(len as u32));
        rec[12..16].copy_from_slice(&self.order.u32(orig_len.max(len as u32)));
        self.out.write_all(&rec)?;
        self.out.write_all(data.get(..len).unwrap_or(data))
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// How a pcapng interface is described (see [`PcapNgWriter::add_interface_with`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceOptions {
    pub linktype: LinkType,
    /// Snap length (0: unlimited).
    pub snaplen: u32,
    /// `if_tsresol`: 9 = nanoseconds, 6 = microseconds, `0x80 | k` = 2^-k seconds.
    pub tsresol: u8,
    /// `if_tsoffset` in seconds (written only when not 0).
    pub tsoffset: i64,
    /// `if_name`, if any.
    pub name: Option<String>,
}

impl InterfaceOptions {
    /// Nanosecond resolution, no offset, no name.
    pub fn new(linktype: LinkType, snaplen: u32) -> Self {
        InterfaceOptions {
            linktype,
            snaplen,
            tsresol: 9,
            tsoffset: 0,
            name: None,
        }
    }
}

struct WrittenInterface {
    linktype: LinkType,
    snaplen: u32,
    scale: TsScale,
    tsoffset: i64,
}

/// Writes pcapng: a Section Header Block, Interface Description Blocks (nanosecond
/// `if_tsresol` unless asked otherwise) and Enhanced or Simple Packet Blocks.
///
/// [`PcapNgWriter::write`] creates one interface per link type on first use, which is
/// all a traffic generator needs; the other methods exist to produce every variant the
/// reader must handle.
pub struct PcapNgWriter<W: Write> {
    out: W,
    order: ByteOrder,
    interfaces: Vec<WrittenInterface>,
}

impl<W: Write> PcapNgWriter<W> {
    /// Starts a little-endian file with its Section Header Block.
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_byte_order(out, ByteOrder::Little)
    }

    /// Starts a file in the given byte order.
    pub fn with_byte_order(out: W, order: ByteOrder) -> io::Result<Self> {
        let mut w = PcapNgWriter {
            out,
            order,
            interfaces: Vec::new(),
        };
        w.write_shb()?;
        Ok(w)
    }

    fn write_shb(&mut self) -> io::Result<()> {
        let mut body = [0u8; 16];
        body[0..4].copy_from_slice(&self.order.u32(BYTE_ORDER_MAGIC));
        body[4..6].copy_from_slice(&self.order.u16(1));
        body[6..8].copy_from_slice(&self.order.u16(0));
        // Section length unknown: -1.
        body[8..16].copy_from_slice(&self.order.u64(u64::MAX));
        self.write_block(SHB, &body)
    }

    /// Starts a new section (a new SHB); interfaces must be described again.
    pub fn new_section(&mut self) -> io::Result<()> {
        self.interfaces.clear();
        self.write_shb()
    }

    /// Describes a nanosecond interface; returns its id.
    pub fn add_interface(&mut self, linktype: LinkType, snaplen: u32) -> io::Result<u32> {
        self.add_interface_with(&InterfaceOptions::new(linktype, snaplen))
    }

    /// Describes an interface with the given options; returns its id.
    pub fn add_interface_with(&mut self, opts: &InterfaceOptions) -> io::Result<u32> {
        let scale = TsScale::from_tsresol(opts.tsresol)
            .ok_or_else(|| invalid("if_tsresol finer than 10^-19 s"))?;
        let linktype =
            u16::try_from(opts.linktype.0).map_err(|_| invalid("pcapng link types are 16-bit"))?;
        let id =
            u32::try_from(self.interfaces.len()).map_err(|_| invalid("too many interfaces"))?;
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&self.order.u16(linktype));
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&self.order.u32(opts.snaplen));
        if let Some(name) = &opts.name {
            let len = u16::try_from(name.len()).map_err(|_| invalid("interface name too long"))?;
            self.push_option(&mut body, 2, len, name.as_bytes());
        }
        self.push_option(&mut body, 9, 1, &[opts.tsresol]);
        if opts.tsoffset != 0 {
            let v = self.order.u64(opts.tsoffset as u64);
            self.push_option(&mut body, 14, 8, &v);
        }
        body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        self.write_block(IDB, &body)?;
        self.interfaces.push(WrittenInterface {
            linktype: opts.linktype,
            snaplen: opts.snaplen,
            scale,
            tsoffset: opts.tsoffset,
        });
        Ok(id)
    }

    fn push_option(&self, body: &mut Vec<u8>, code: u16, len: u16, value: &[u8]) {
        body.extend_from_slice(&self.order.u16(code));
        body.extend_from_slice(&self.order.u16(len));
        body.extend_from_slice(value);
        let pad = (4 - value.len() % 4) % 4;
        body.extend_from_slice(&[0u8; 3][..pad]);
    }

    /// The id of the first interface with this link type, describing a nanosecond
    /// interface (no snap length) if there is none yet.
    pub fn interface_for(&mut self, linktype: LinkType) -> io::Result<u32> {
        match self.interfaces.iter().position(|i| i.linktype == linktype) {
            Some(i) => u32::try_from(i).map_err(|_| invalid("too many interfaces")),
            None => self.add_interface(linktype, 0),
        }
    }

    /// Writes a packet of the given link type (interface chosen by [`Self::interface_for`]).
    pub fn write(&mut self, ts_ns: i64, linktype: LinkType, data: &[u8]) -> io::Result<()> {
        let id = self.interface_for(linktype)?;
        let orig = u32::try_from(data.len()).map_err(|_| invalid("packet too large"))?;
        self.write_epb(id, ts_ns, data, orig)
    }

    /// Writes an Enhanced Packet Block on interface `interface`.
    pub fn write_epb(
        &mut self,
        interface: u32,
        ts_ns: i64,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        let iface = self
            .interfaces
            .get(interface as usize)
            .ok_or_else(|| invalid("no such interface"))?;
        let rel = i128::from(ts_ns) - i128::from(iface.tsoffset) * 1_000_000_000;
        let units = iface
            .scale
            .units_of(rel)
            .ok_or_else(|| invalid("timestamp out of range for the interface"))?;
        let len = cap_len(data, iface.snaplen)?;
        let mut hdr = [0u8; 20];
        hdr[0..4].copy_from_slice(&self.order.u32(interface));
        hdr[4..8].copy_from_slice(&self.order.u32((units >> 32) as u32));
        hdr[8..12].copy_from_slice(&self.order.u32(units as u32));
        hdr[12..16].copy_from_slice(&self.order.u32(len as u32));
        hdr[16..20].copy_from_slice(&self.order.u32(orig_len.max(len as u32)));
        self.write_block_parts(EPB, &hdr, data.get(..len).unwrap_or(data))
    }

    /// Writes a Simple Packet Block (interface 0, no timestamp of its own).
    pub fn write_spb(&mut self, data: &[u8], orig_len: u32) -> io::Result<()> {
        let snaplen = self
            .interfaces
            .first()
            .ok_or_else(|| invalid("a simple packet block needs interface 0"))?
            .snaplen;
        let len = cap_len(data, snaplen)?;
        let hdr = self.order.u32(orig_len.max(len as u32));
        self.write_block_parts(SPB, &hdr, data.get(..len).unwrap_or(data))
    }

    /// Writes any block: type, length, `body` padded to 4 bytes, length.
    pub fn write_block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        self.write_block_parts(block_type, &[], body)
    }

    fn write_block_parts(&mut self, block_type: u32, head: &[u8], data: &[u8]) -> io::Result<()> {
        let pad = (4 - data.len() % 4) % 4;
        let total = 12 + head.len() + data.len() + pad;
        let total = u32::try_from(total).map_err(|_| invalid("block too large"))?;
        let mut start = [0u8; 8];
        start[0..4].copy_from_slice(&self.order.u32(block_type));
        start[4..8].copy_from_slice(&self.order.u32(total));
        self.out.write_all(&start)?;
        self.out.write_all(head)?;
        self.out.write_all(data)?;
        self.out.write_all(&[0u8; 3][..pad])?;
        self.out.write_all(&self.order.u32(total))
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
