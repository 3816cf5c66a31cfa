//! Pure S7comm-plus decoding of the frame and message headers, zero-copy. Payloads
//! (objects, attributes, values) are not decoded: from V2 on they are integrity
//! protected and from V3 the session is keyed.
//!
//! Frame (inside one COTP TSDU): `72 version length(2) data[length]`, then a
//! trailer `72 version 00 00` on the last frame of a message. A message larger than
//! one frame is split: every frame has its own 4-byte header, only the last has the
//! trailer.
//!
//! Data of the first frame of a message (V3: preceded by the integrity part, a
//! digest length byte and the digest):
//! - request: `31 reserved(2) function(2) reserved(2) sequence(2) session_id(4)
//!   transport_flags ...`
//! - response: `32 reserved(2) function(2) reserved(2) sequence(2) transport_flags
//!   ...` (opcode 0x02 is a second response form with the same header)
//! - notification: `33 subscription_object_id(4) ...`
use thiserror::Error;

/// Protocol id of S7comm-plus.
pub const PROTOCOL_ID: u8 = 0x72;
/// Length of the V3 integrity digest (HMAC-SHA256).
pub const DIGEST_LEN: u8 = 32;

/// One S7comm-plus frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub version: u8,
    pub data_len: u16,
    pub data: &'a [u8],
    /// The frame ends with the `72 vv 00 00` trailer (last frame of a message).
    pub trailer: bool,
    pub issue: Option<FrameIssue>,
}

/// A TSDU that is not an S7comm-plus frame.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("protocol id {0:#04x}, expected 0x72")]
    NotS7Plus(u8),
    #[error("S7comm-plus frame of {0} bytes is shorter than its header")]
    TooShort(usize),
}

impl FrameError {
    pub fn kind(&self) -> &'static str {
        match self {
            FrameError::NotS7Plus(_) => "bad_protocol_id",
            FrameError::TooShort(_) => "truncated_pdu",
        }
    }
}

/// A length disagreement in a frame that could still be decoded.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum FrameIssue {
    #[error("header announces {declared} data bytes but {present} are present")]
    Truncated { declared: usize, present: usize },
    #[error("{0} bytes after the data are not a trailer")]
    Trailing(usize),
}

impl FrameIssue {
    pub fn kind(&self) -> &'static str {
        match self {
            FrameIssue::Truncated { .. } => "length_mismatch",
            FrameIssue::Trailing(_) => "trailing_bytes",
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Splits a TSDU into an S7comm-plus frame.
pub fn parse_frame(b: &[u8]) -> Result<Frame<'_>, FrameError> {
    let Some(&pid) = b.first() else {
        return Err(FrameError::TooShort(0));
    };
    if pid != PROTOCOL_ID {
        return Err(FrameError::NotS7Plus(pid));
    }
    let (Some(&version), Some(len)) = (b.get(1), be16(b, 2)) else {
        return Err(FrameError::TooShort(b.len()));
    };
    let body = b.get(4..).unwrap_or_default();
    let n = usize::from(len);
    let data = body.get(..n).unwrap_or(body);
    let rest = body.get(n..).unwrap_or_default();
    let trailer =
        rest.len() == 4 && rest.first() == Some(&PROTOCOL_ID) && rest.get(2..4) == Some(&[0, 0]);
    let issue = if data.len() < n {
        Some(FrameIssue::Truncated {
            declared: n,
            present: data.len(),
        })
    } else if !rest.is_empty() && !trailer {
        Some(FrameIssue::Trailing(rest.len()))
    } else {
        None
    };
    Ok(Frame {
        version,
        data_len: len,
        data,
        trailer,
        issue,
    })
}

/// The header of a message (first frame).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Body {
    pub opcode: u8,
    pub function: Option<u16>,
    pub sequence: Option<u16>,
    pub session_id: Option<u32>,
    pub transport_flags: Option<u8>,
    /// Subscription object id of a notification.
    pub subscription_id: Option<u32>,
    /// An integrity part was found: V3 digest before the data; V2 a digest
    /// (`integrity id, 0x20, 32 bytes`) ending the data (heuristic). `None` for V1.
    pub integrity: Option<bool>,
}

/// V2 integrity part at the end of a message's data: `integrity id, 0x20, digest`
/// (heuristic: the byte 33 from the end is the digest length and the message is
/// longer than a bare header). `data` is the whole message data or its last 33
/// bytes preceded by enough to tell the length.
pub fn v2_integrity(data: &[u8]) -> bool {
    let n = data.len();
    n > 33 + 10 && data.get(n - 33) == Some(&DIGEST_LEN)
}

/// Decodes the message header of a first frame's data.
pub fn parse_body(version: u8, data: &[u8]) -> Option<Body> {
    let mut d = data;
    let mut integrity = None;
    if version == 3 {
        let has = d.first() == Some(&DIGEST_LEN) && d.len() > usize::from(DIGEST_LEN);
        integrity = Some(has);
        if has {
            d = d.get(1 + usize::from(DIGEST_LEN)..).unwrap_or_default();
        }
    } else if version == 2 {
        integrity = Some(v2_integrity(d));
    }
    let opcode = *d.first()?;
    let mut b = Body {
        opcode,
        integrity,
        ..Body::default()
    };
    match opcode {
        0x31 => {
            b.function = be16(d, 3);
            b.sequence = be16(d, 7);
            b.session_id = be32(d, 9);
            b.transport_flags = d.get(13).copied();
        }
        0x32 | 0x02 => {
            b.function = be16(d, 3);
            b.sequence = be16(d, 7);
            b.transport_flags = d.get(9).copied();
        }
        0x33 => b.subscription_id = be32(d, 1),
        _ => {}
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn v2_response_with_trailer() {
        // s7commplus-iti-s7-1200-uploading-ob1.pcap frame 11 (after COTP)
        let b = hex("720200103200000542000000023400000000000072020000");
        let f = parse_frame(&b).unwrap();
        assert_eq!(
            (f.version, f.data_len, f.trailer, f.issue),
            (2, 16, true, None)
        );
        let body = parse_body(f.version, f.data).unwrap();
        assert_eq!(body.opcode, 0x32);
        assert_eq!(body.function, Some(0x0542));
        assert_eq!(body.sequence, Some(2));
        assert_eq!(body.transport_flags, Some(0x34));
        assert_eq!(body.integrity, Some(false));
    }

    #[test]
    fn v3_with_integrity() {
        // s7commplus-icsnpp-s7comm-plus.pcap frame 31 (after COTP), a
        // GetMultiVariables response behind its digest
        let b = hex("72030043203dcac8ee113108f0defe64eff4faf6106fe1fa3d75064cde9b8314d9f1e276a3320000054c0000831d3400010004010200088372030008be04000083a1100000000072030000");
        let f = parse_frame(&b).unwrap();
        assert!(f.trailer);
        let body = parse_body(3, f.data).unwrap();
        assert_eq!(body.integrity, Some(true));
        assert_eq!(body.opcode, 0x32);
        assert_eq!(body.function, Some(0x054c));
        assert_eq!(body.sequence, Some(0x831d));
    }

    #[test]
    fn errors() {
        assert_eq!(parse_frame(&[0x32, 1]), Err(FrameError::NotS7Plus(0x32)));
        assert_eq!(parse_frame(&[0x72, 1, 0]), Err(FrameError::TooShort(3)));
        let f = parse_frame(&[0x72, 1, 0, 9, 0x31]).unwrap();
        assert!(matches!(
            f.issue,
            Some(FrameIssue::Truncated {
                declared: 9,
                present: 1
            })
        ));
        assert_eq!(parse_body(1, &[]), None);
    }
}
