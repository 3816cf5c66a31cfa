//! Zero-copy decoding of BACnet/IP: the BVLC header (Annex J), the NPDU (clause 6)
//! and the APDU header (clause 20.1).
use thiserror::Error;

/// Decoding errors (each has a stable anomaly kind).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum BacnetError {
    #[error("not a BACnet/IP BVLC (type 0x{0:02x})")]
    BadType(u8),
    #[error("{0} truncated")]
    Truncated(&'static str),
    #[error("NPDU version {0} is not 1")]
    BadVersion(u8),
    #[error("unknown BVLC function 0x{0:02x}")]
    UnknownFunction(u8),
}

impl BacnetError {
    pub fn kind(&self) -> &'static str {
        match self {
            BacnetError::BadType(_) => "bad_bvlc_type",
            BacnetError::Truncated(_) => "truncated",
            BacnetError::BadVersion(_) => "bad_npdu_version",
            BacnetError::UnknownFunction(_) => "unknown_bvlc_function",
        }
    }
}

fn u16be(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The BVLC header and what follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bvlc<'a> {
    pub function: u8,
    pub length: u16,
    /// Originating address of a Forwarded-NPDU (IPv4, port).
    pub forwarded_from: Option<([u8; 4], u16)>,
    /// The NPDU of functions that carry one.
    pub npdu: Option<&'a [u8]>,
    /// Bytes after the header (the function's own data).
    pub body: &'a [u8],
}

/// Decodes one BACnet/IP datagram's BVLC.
pub fn parse_bvlc(b: &[u8]) -> Result<Bvlc<'_>, BacnetError> {
    let ty = *b.first().ok_or(BacnetError::Truncated("BVLC header"))?;
    if ty != 0x81 {
        return Err(BacnetError::BadType(ty));
    }
    let function = *b.get(1).ok_or(BacnetError::Truncated("BVLC header"))?;
    let length = u16be(b, 2).ok_or(BacnetError::Truncated("BVLC header"))?;
    // The whole datagram is the message: a length field that disagrees is reported
    // by the caller (some stacks write a wrong one; Wireshark and Zeek decode the
    // datagram anyway).
    let body = b.get(4..).unwrap_or_default();
    let (forwarded_from, npdu) = match function {
        0x04 => {
            let Some(&[a0, a1, a2, a3, p0, p1]) = body.get(..6) else {
                return Err(BacnetError::Truncated("Forwarded-NPDU address"));
            };
            let port = u16::from_be_bytes([p0, p1]);
            (
                Some(([a0, a1, a2, a3], port)),
                Some(body.get(6..).unwrap_or_default()),
            )
        }
        0x09..=0x0B => (None, Some(body)),
        0x00..=0x08 | 0x0C => (None, None),
        f => return Err(BacnetError::UnknownFunction(f)),
    };
    Ok(Bvlc {
        function,
        length,
        forwarded_from,
        npdu,
        body,
    })
}

/// The NPDU header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Npdu<'a> {
    pub control: u8,
    pub dnet: Option<u16>,
    pub dadr: &'a [u8],
    pub snet: Option<u16>,
    pub sadr: &'a [u8],
    pub hop_count: Option<u8>,
    /// Network layer message type (control bit 7).
    pub message_type: Option<u8>,
    pub vendor_id: Option<u16>,
    /// The APDU, or the network layer message's data.
    pub payload: &'a [u8],
}

impl Npdu<'_> {
    pub fn expecting_reply(&self) -> bool {
        self.control & 0x04 != 0
    }
    pub fn priority(&self) -> u8 {
        self.control & 0x03
    }
}

pub fn parse_npdu(b: &[u8]) -> Result<Npdu<'_>, BacnetError> {
    let version = *b.first().ok_or(BacnetError::Truncated("NPDU"))?;
    if version != 1 {
        return Err(BacnetError::BadVersion(version));
    }
    let control = *b.get(1).ok_or(BacnetError::Truncated("NPDU"))?;
    let mut pos = 2usize;
    let t = BacnetError::Truncated("NPDU addresses");
    let empty: &[u8] = &[];
    let (mut dnet, mut dadr, mut snet, mut sadr, mut hop_count) = (None, empty, None, empty, None);
    if control & 0x20 != 0 {
        dnet = Some(u16be(b, pos).ok_or(t.clone())?);
        let len = usize::from(*b.get(pos + 2).ok_or(t.clone())?);
        dadr = b.get(pos + 3..pos + 3 + len).ok_or(t.clone())?;
        pos += 3 + len;
    }
    if control & 0x08 != 0 {
        snet = Some(u16be(b, pos).ok_or(t.clone())?);
        let len = usize::from(*b.get(pos + 2).ok_or(t.clone())?);
        sadr = b.get(pos + 3..pos + 3 + len).ok_or(t.clone())?;
        pos += 3 + len;
    }
    if dnet.is_some() {
        hop_count = Some(*b.get(pos).ok_or(t.clone())?);
        pos += 1;
    }
    let (mut message_type, mut vendor_id) = (None, None);
    if control & 0x80 != 0 {
        let m = *b
            .get(pos)
            .ok_or(BacnetError::Truncated("network message type"))?;
        message_type = Some(m);
        pos += 1;
        if m >= 0x80 {
            vendor_id =
                Some(u16be(b, pos).ok_or(BacnetError::Truncated("network message vendor"))?);
            pos += 2;
        }
    }
    Ok(Npdu {
        control,
        dnet,
        dadr,
        snet,
        sadr,
        hop_count,
        message_type,
        vendor_id,
        payload: b.get(pos..).unwrap_or_default(),
    })
}

/// The APDU header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Apdu<'a> {
    pub pdu_type: u8,
    /// Segmented message (confirmed request, complex ACK).
    pub segmented: bool,
    pub more_follows: bool,
    pub invoke_id: Option<u8>,
    pub sequence: Option<u8>,
    /// Service choice (not in segment ACK, reject and abort).
    pub service: Option<u8>,
    /// Max APDU length accepted (confirmed request), octets.
    pub max_apdu: Option<u16>,
    /// Sent by the server (abort, segment ACK).
    pub server: bool,
    /// Reject / abort reason.
    pub reason: Option<u8>,
    /// Service data after the header.
    pub data: &'a [u8],
}

fn max_apdu_octets(code: u8) -> u16 {
    match code & 0x0F {
        0 => 50,
        1 => 128,
        2 => 206,
        3 => 480,
        4 => 1024,
        5 => 1476,
        _ => 0,
    }
}

pub fn parse_apdu(b: &[u8]) -> Result<Apdu<'_>, BacnetError> {
    let t = BacnetError::Truncated("APDU header");
    let b0 = *b.first().ok_or(t.clone())?;
    let pdu_type = b0 >> 4;
    let byte = |i: usize| b.get(i).copied().ok_or(t.clone());
    let mut a = Apdu {
        pdu_type,
        ..Apdu::default()
    };
    let data_at;
    match pdu_type {
        0 => {
            a.segmented = b0 & 0x08 != 0;
            a.more_follows = b0 & 0x04 != 0;
            a.max_apdu = Some(max_apdu_octets(byte(1)?));
            a.invoke_id = Some(byte(2)?);
            let mut p = 3;
            if a.segmented {
                a.sequence = Some(byte(3)?);
                p = 5;
            }
            a.service = Some(byte(p)?);
            data_at = p + 1;
        }
        1 => {
            a.service = Some(byte(1)?);
            data_at = 2;
        }
        2 => {
            a.invoke_id = Some(byte(1)?);
            a.service = Some(byte(2)?);
            data_at = 3;
        }
        3 => {
            a.segmented = b0 & 0x08 != 0;
            a.more_follows = b0 & 0x04 != 0;
            a.invoke_id = Some(byte(1)?);
            let mut p = 2;
            if a.segmented {
                a.sequence = Some(byte(2)?);
                p = 4;
            }
            a.service = Some(byte(p)?);
            data_at = p + 1;
        }
        4 => {
            a.server = b0 & 0x01 != 0;
            a.invoke_id = Some(byte(1)?);
            a.sequence = Some(byte(2)?);
            data_at = 4;
        }
        5 => {
            a.invoke_id = Some(byte(1)?);
            a.service = Some(byte(2)?);
            data_at = 3;
        }
        6 => {
            a.invoke_id = Some(byte(1)?);
            a.reason = Some(byte(2)?);
            data_at = 3;
        }
        7 => {
            a.server = b0 & 0x01 != 0;
            a.invoke_id = Some(byte(1)?);
            a.reason = Some(byte(2)?);
            data_at = 3;
        }
        _ => {
            data_at = 1;
        }
    }
    a.data = b.get(data_at..).unwrap_or_default();
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_property_request() {
        // bacnet-iti-bacnet-test.pcap frame 3: readProperty device,4194303 object-identifier.
        let b = [
            0x81, 0x0a, 0x00, 0x11, 0x01, 0x04, 0x00, 0x05, 0x01, 0x0c, 0x0c, 0x02, 0x3f, 0xff,
            0xff, 0x19, 0x4b,
        ];
        let bv = parse_bvlc(&b).unwrap();
        assert_eq!(bv.function, 0x0a);
        let n = parse_npdu(bv.npdu.unwrap()).unwrap();
        assert!(n.expecting_reply());
        let a = parse_apdu(n.payload).unwrap();
        assert_eq!(a.pdu_type, 0);
        assert_eq!(a.invoke_id, Some(1));
        assert_eq!(a.service, Some(12));
        assert_eq!(a.max_apdu, Some(1476));
        assert_eq!(a.data.len(), 7);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_bvlc(&[0x82, 0, 0, 4]).unwrap_err().kind(),
            "bad_bvlc_type"
        );
        assert_eq!(
            parse_bvlc(&[0x81, 0x0a, 0]).unwrap_err().kind(),
            "truncated"
        );
        assert_eq!(parse_npdu(&[2, 0]).unwrap_err().kind(), "bad_npdu_version");
        assert!(parse_npdu(&[1, 0x20, 0, 1]).is_err());
    }
}
