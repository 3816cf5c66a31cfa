//! DNP3 data link layer (IEEE 1815-2012 clause 9): frame header, CRCs.
//!
//! A frame is `05 64 LEN CTRL DST(2) SRC(2) CRC(2)` followed by `LEN - 5` bytes of
//! user data cut in blocks of at most 16 bytes, each followed by its CRC.  Addresses
//! and CRCs are little endian.
use thiserror::Error;

/// The two start octets of every link frame.
pub const START: [u8; 2] = [0x05, 0x64];
/// Length of the link header including its CRC.
pub const HEADER_LEN: usize = 10;
/// Largest amount of user data one frame carries (LEN = 255).
pub const MAX_USER_DATA: usize = 250;
/// Largest link frame on the wire: header, 250 data bytes and 16 block CRCs.
pub const MAX_FRAME_LEN: usize = 292;

const CRC_TABLE: [u16; 256] = crc_table();

const fn crc_table() -> [u16; 256] {
    // DNP3 polynomial 0x3D65, bit-reflected: 0xA6BC.
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u16;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xA6BC
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// DNP3 CRC-16 (reflected polynomial 0x3D65, initial value 0, result inverted).
/// It is transmitted least significant octet first.
pub fn crc(data: &[u8]) -> u16 {
    let mut c: u16 = 0;
    for &b in data {
        c = (c >> 8) ^ CRC_TABLE[usize::from((c ^ u16::from(b)) & 0xFF)];
    }
    !c
}

/// Why a link frame was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LinkError {
    #[error("frame does not start with 0x05 0x64")]
    NoStart,
    #[error("frame truncated: {need} bytes needed, {have} available")]
    Truncated { need: usize, have: usize },
    #[error("link header CRC 0x{actual:04x} does not match computed 0x{expected:04x}")]
    BadHeaderCrc { expected: u16, actual: u16 },
    #[error("link length {0} is below the minimum of 5")]
    BadLength(u8),
    #[error("CRC of user data block {block} is wrong")]
    BadDataCrc { block: usize },
}

/// The link header of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkHeader {
    /// LEN: octets of control, addresses and user data (5 + user data).
    pub length: u8,
    pub control: u8,
    pub destination: u16,
    pub source: u16,
}

impl LinkHeader {
    /// DIR bit: set on frames sent by the master.
    pub fn dir(&self) -> bool {
        self.control & 0x80 != 0
    }
    /// PRM bit: set on primary (initiating) frames.
    pub fn prm(&self) -> bool {
        self.control & 0x40 != 0
    }
    /// FCB bit (primary frames).
    pub fn fcb(&self) -> bool {
        self.control & 0x20 != 0
    }
    /// FCV bit (primary frames); DFC on secondary frames.
    pub fn fcv(&self) -> bool {
        self.control & 0x10 != 0
    }
    /// Link function code (low nibble of the control byte).
    pub fn function(&self) -> u8 {
        self.control & 0x0F
    }
    /// Number of user data octets the frame carries.
    pub fn user_data_len(&self) -> usize {
        usize::from(self.length).saturating_sub(5)
    }
    /// Size of the whole frame on the wire.
    pub fn frame_len(&self) -> usize {
        frame_len(self.length).unwrap_or(HEADER_LEN)
    }
}

/// Size on the wire of a frame whose LEN octet is `length`; `None` if LEN < 5.
pub fn frame_len(length: u8) -> Option<usize> {
    let user = usize::from(length).checked_sub(5)?;
    Some(HEADER_LEN + user + 2 * user.div_ceil(16))
}

fn le16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at + 2)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

/// Parse and check the 10-octet link header at the start of `buf`.
pub fn parse_header(buf: &[u8]) -> Result<LinkHeader, LinkError> {
    let head = buf.get(..HEADER_LEN).ok_or(LinkError::Truncated {
        need: HEADER_LEN,
        have: buf.len(),
    })?;
    if head.get(..2) != Some(&START[..]) {
        return Err(LinkError::NoStart);
    }
    let expected = crc(head.get(..8).unwrap_or_default());
    let actual = le16(head, 8).unwrap_or_default();
    if expected != actual {
        return Err(LinkError::BadHeaderCrc { expected, actual });
    }
    let length = head.get(2).copied().unwrap_or_default();
    if length < 5 {
        return Err(LinkError::BadLength(length));
    }
    Ok(LinkHeader {
        length,
        control: head.get(3).copied().unwrap_or_default(),
        destination: le16(head, 4).unwrap_or_default(),
        source: le16(head, 6).unwrap_or_default(),
    })
}

/// Parse one whole frame at the start of `buf`, check every CRC and copy the user
/// data (without the block CRCs) into `out`.  Returns the header, the frame's size on
/// the wire and the user data.
pub fn parse_frame<'o>(
    buf: &[u8],
    out: &'o mut [u8; MAX_USER_DATA],
) -> Result<(LinkHeader, usize, &'o [u8]), LinkError> {
    let header = parse_header(buf)?;
    let total = header.frame_len();
    let frame = buf.get(..total).ok_or(LinkError::Truncated {
        need: total,
        have: buf.len(),
    })?;
    let user_len = header.user_data_len();
    let body = frame.get(HEADER_LEN..).unwrap_or_default();
    let mut copied = 0usize;
    for (block, chunk) in body.chunks(18).enumerate() {
        let data_len = chunk.len().saturating_sub(2);
        let (data, tail) = chunk.split_at(data_len);
        let actual = le16(tail, 0).ok_or(LinkError::BadDataCrc { block })?;
        if crc(data) != actual {
            return Err(LinkError::BadDataCrc { block });
        }
        let dst = out
            .get_mut(copied..copied + data_len)
            .ok_or(LinkError::BadLength(header.length))?;
        dst.copy_from_slice(data);
        copied += data_len;
    }
    let user = out.get(..copied.min(user_len)).unwrap_or_default();
    Ok((header, total, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        // CRC-16/DNP check value over "123456789".
        assert_eq!(crc(b"123456789"), 0xEA82);
    }

    #[test]
    fn real_link_only_frames() {
        // dnp3-zeek-link-only.pcap frames 1 and 2 (tshark: control 0x49 / 0x8b, len 5).
        let req = [0x05, 0x64, 0x05, 0x49, 0x64, 0x00, 0x01, 0x00, 0x7e, 0x5f];
        let h = parse_header(&req).unwrap();
        assert_eq!(h.function(), 9);
        assert!(h.prm() && !h.dir());
        assert_eq!((h.destination, h.source), (100, 1));
        assert_eq!(h.frame_len(), 10);
        let rsp = [0x05, 0x64, 0x05, 0x8b, 0x01, 0x00, 0x64, 0x00, 0xa0, 0x97];
        let h = parse_header(&rsp).unwrap();
        assert_eq!(h.function(), 11);
        assert!(!h.prm() && h.dir());
        let mut bad = rsp;
        bad[9] ^= 1;
        assert!(matches!(
            parse_header(&bad),
            Err(LinkError::BadHeaderCrc { .. })
        ));
    }

    #[test]
    fn real_frame_with_user_data() {
        // dnp3-zeek-read.pcap frame 4: READ class 0123 from 3 to 2, one data block.
        let frame = [
            0x05, 0x64, 0x14, 0xc4, 0x02, 0x00, 0x03, 0x00, 0x45, 0x03, 0xc7, 0xc8, 0x01, 0x3c,
            0x02, 0x06, 0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06, 0x3c, 0x01, 0x06, 0x42, 0xac,
        ];
        let mut out = [0u8; MAX_USER_DATA];
        let (h, total, user) = parse_frame(&frame, &mut out).unwrap();
        assert_eq!(total, frame.len());
        assert_eq!(h.length, 0x14);
        assert_eq!(
            user,
            &[
                0xc7, 0xc8, 0x01, 0x3c, 0x02, 0x06, 0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06, 0x3c, 0x01,
                0x06
            ]
        );
        let mut bad = frame;
        bad[20] ^= 0x10;
        assert_eq!(
            parse_frame(&bad, &mut out).unwrap_err(),
            LinkError::BadDataCrc { block: 0 }
        );
        assert!(matches!(
            parse_frame(&frame[..20], &mut out),
            Err(LinkError::Truncated { need: 27, have: 20 })
        ));
    }

    #[test]
    fn frame_sizes() {
        assert_eq!(frame_len(5), Some(10));
        assert_eq!(frame_len(255), Some(MAX_FRAME_LEN));
        assert_eq!(frame_len(4), None);
        assert_eq!(frame_len(6), Some(13));
        assert_eq!(frame_len(21), Some(28));
        assert_eq!(frame_len(22), Some(31));
    }
}
