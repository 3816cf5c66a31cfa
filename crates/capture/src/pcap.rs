//! Classic libpcap format: 24-byte file header, then 16-byte record headers each followed
//! by the captured bytes. Both byte orders, microsecond and nanosecond magic numbers.
use crate::error::{ErrorKind, Fault};
use crate::input::Input;
use crate::reader::Meta;
use crate::{Interface, LinkType, MAX_PACKET_LEN};

pub(crate) const FILE_HEADER_LEN: usize = 24;
pub(crate) const RECORD_HEADER_LEN: usize = 16;

/// What the pcap file header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PcapHeader {
    pub(crate) big_endian: bool,
    pub(crate) nanosecond: bool,
    pub(crate) snaplen: u32,
    pub(crate) linktype: LinkType,
}

/// Recognises the four pcap magic numbers: (big endian, nanosecond).
pub(crate) fn magic(m: [u8; 4]) -> Option<(bool, bool)> {
    match m {
        [0xd4, 0xc3, 0xb2, 0xa1] => Some((false, false)),
        [0xa1, 0xb2, 0xc3, 0xd4] => Some((true, false)),
        [0x4d, 0x3c, 0xb2, 0xa1] => Some((false, true)),
        [0xa1, 0xb2, 0x3c, 0x4d] => Some((true, true)),
        _ => None,
    }
}

#[inline]
fn u16_of(b: [u8; 2], be: bool) -> u16 {
    if be {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

#[inline]
fn u32_of(b: [u8; 4], be: bool) -> u32 {
    if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// Parses the 24-byte file header.
pub(crate) fn parse_header(h: [u8; FILE_HEADER_LEN]) -> Result<PcapHeader, Fault> {
    let (be, nano) = magic([h[0], h[1], h[2], h[3]]).ok_or_else(|| {
        Fault::new(
            0,
            ErrorKind::NotACapture {
                magic: [h[0], h[1], h[2], h[3]],
            },
        )
    })?;
    let major = u16_of([h[4], h[5]], be);
    let minor = u16_of([h[6], h[7]], be);
    if major != 2 {
        return Err(Fault::new(
            0,
            ErrorKind::UnsupportedVersion {
                format: "pcap",
                major,
                minor,
            },
        ));
    }
    let snaplen = u32_of([h[16], h[17], h[18], h[19]], be);
    // The upper bits of the link-type field carry FCS information; the type is the low 16 bits.
    let linktype = LinkType(u32_of([h[20], h[21], h[22], h[23]], be) & 0xffff);
    Ok(PcapHeader {
        big_endian: be,
        nanosecond: nano,
        snaplen,
        linktype,
    })
}

impl PcapHeader {
    pub(crate) fn interface(&self) -> Interface {
        Interface::new(
            self.linktype,
            self.snaplen,
            if self.nanosecond { 9 } else { 6 },
            0,
        )
    }
}

/// Reads the next record header and makes the whole record available in the buffer.
/// Returns `None` at a clean end of input (on a record boundary).
#[inline]
pub(crate) fn next_record(input: &mut Input, h: &PcapHeader) -> Result<Option<Meta>, Fault> {
    let off = input.pos();
    let mut avail = input.avail();
    if avail < RECORD_HEADER_LEN {
        avail = input.fill(RECORD_HEADER_LEN)?;
        if avail == 0 {
            return Ok(None);
        }
        if avail < RECORD_HEADER_LEN {
            return Err(Fault::truncated(
                off,
                "packet record",
                RECORD_HEADER_LEN as u64,
                avail,
            ));
        }
    }
    let hdr: [u8; RECORD_HEADER_LEN] = input
        .peek(RECORD_HEADER_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Fault::truncated(off, "packet record", RECORD_HEADER_LEN as u64, avail))?;
    let be = h.big_endian;
    let secs = u32_of([hdr[0], hdr[1], hdr[2], hdr[3]], be);
    let frac = u32_of([hdr[4], hdr[5], hdr[6], hdr[7]], be);
    let caplen = u32_of([hdr[8], hdr[9], hdr[10], hdr[11]], be);
    let orig_len = u32_of([hdr[12], hdr[13], hdr[14], hdr[15]], be);
    if caplen > MAX_PACKET_LEN {
        return Err(Fault::new(
            off,
            ErrorKind::AbsurdLength {
                len: caplen.into(),
                why: "more than the maximum packet size",
                limit: MAX_PACKET_LEN.into(),
            },
        ));
    }
    // A snap length of 0 means "unknown" in some writers: only the absolute cap applies.
    if h.snaplen != 0 && caplen > h.snaplen {
        return Err(Fault::new(
            off,
            ErrorKind::AbsurdLength {
                len: caplen.into(),
                why: "more than the file's snap length",
                limit: h.snaplen.into(),
            },
        ));
    }
    let need = RECORD_HEADER_LEN + caplen as usize;
    if avail < need {
        avail = input.fill(need)?;
        if avail < need {
            return Err(Fault::truncated(off, "packet record", need as u64, avail));
        }
    }
    let frac_ns = if h.nanosecond {
        i64::from(frac)
    } else {
        i64::from(frac) * 1000
    };
    let data_start = input.start + RECORD_HEADER_LEN;
    Ok(Some(Meta {
        ts: i64::from(secs) * 1_000_000_000 + frac_ns,
        linktype: h.linktype,
        orig_len,
        interface: 0,
        data_start,
        data_end: data_start + caplen as usize,
        next: input.start + need,
    }))
}
