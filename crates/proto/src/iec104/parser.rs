//! Pure IEC 60870-5-104 decoding, zero-copy: the APCI (start 0x68, length, four
//! control octets: I, S and U formats), the ASDU header (type, variable structure
//! qualifier, cause of transmission with P/N and test bits, originator address,
//! common address) and information objects with their values.
//!
//! Sizes are the IEC 104 ones: two-octet COT, two-octet common address, three-octet
//! information object address. All multi-octet fields are little-endian.
use super::names;
use serde::Serialize;
use thiserror::Error;

/// Start octet of every APDU.
pub const START: u8 = 0x68;
/// Largest APDU length field (control field + ASDU).
pub const MAX_LENGTH: u8 = 253;
/// Bytes of the ASDU header (type, VSQ, COT, originator, common address).
pub const ASDU_HEADER_LEN: usize = 6;
/// Bytes of an information object address.
pub const IOA_LEN: usize = 3;

/// The control field of an APDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apci {
    /// Information transfer: send and receive sequence numbers N(S), N(R).
    I { send: u16, recv: u16 },
    /// Supervisory: acknowledges up to N(R).
    S { recv: u16 },
    /// Unnumbered control function (the first control octet: 0x07 STARTDT act,
    /// 0x0B STARTDT con, 0x13 STOPDT act, 0x23 STOPDT con, 0x43 TESTFR act, 0x83
    /// TESTFR con).
    U { function: u8 },
}

/// Bytes at a position that cannot start an APDU.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum ApduError {
    #[error("start octet {0:#04x}, expected 0x68")]
    BadStart(u8),
    #[error("APDU length {0} outside 4..=253")]
    BadLength(u8),
    #[error("U-frame control octet {0:#04x} names no single function")]
    BadUFunction(u8),
    #[error("S- or U-frame with length {0}, expected 4")]
    BadControlLength(u8),
}

impl ApduError {
    pub fn kind(&self) -> &'static str {
        match self {
            ApduError::BadStart(_) => "bad_start",
            ApduError::BadLength(_) | ApduError::BadControlLength(_) => "bad_length",
            ApduError::BadUFunction(_) => "bad_control_field",
        }
    }
}

/// What the bytes at a stream position say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// At least this many bytes are needed to decide.
    NeedMore(usize),
    Bad(ApduError),
    /// An APDU of this many bytes (start and length octets included).
    Frame(usize),
}

/// Checks the APDU header at the start of `b` (start, length and control field
/// format). `strict` (resynchronising, probing) additionally requires the
/// reserved bits of I/S frames to be zero and an I-frame to carry a known type.
pub fn check_apdu(b: &[u8], strict: bool) -> Check {
    let Some(&start) = b.first() else {
        return Check::NeedMore(1);
    };
    if start != START {
        return Check::Bad(ApduError::BadStart(start));
    }
    let Some(&len) = b.get(1) else {
        return Check::NeedMore(2);
    };
    if !(4..=MAX_LENGTH).contains(&len) {
        return Check::Bad(ApduError::BadLength(len));
    }
    let Some(&c0) = b.get(2) else {
        return Check::NeedMore(3);
    };
    if c0 & 0x01 == 0 {
        if strict {
            if len < 4 + ASDU_HEADER_LEN as u8 {
                return Check::Bad(ApduError::BadLength(len));
            }
            let (Some(&c2), Some(&ty)) = (b.get(4), b.get(6)) else {
                return Check::NeedMore(7);
            };
            if c2 & 0x01 != 0 {
                return Check::Bad(ApduError::BadUFunction(c0));
            }
            if names::type_name(ty) == "unknown" {
                return Check::Bad(ApduError::BadUFunction(c0));
            }
        }
    } else {
        if len != 4 {
            return Check::Bad(ApduError::BadControlLength(len));
        }
        if c0 & 0x03 == 0x03 && !matches!(c0, 0x07 | 0x0B | 0x13 | 0x23 | 0x43 | 0x83) {
            return Check::Bad(ApduError::BadUFunction(c0));
        }
        if strict {
            let Some(rest) = b.get(3..6) else {
                return Check::NeedMore(6);
            };
            let ok = if c0 & 0x03 == 0x03 {
                rest == [0, 0, 0]
            } else {
                c0 == 0x01 && rest[0] == 0 && rest[1] & 0x01 == 0
            };
            if !ok {
                return Check::Bad(ApduError::BadUFunction(c0));
            }
        }
    }
    Check::Frame(usize::from(len) + 2)
}

/// Decodes the control field of a whole APDU and returns the ASDU bytes.
pub fn parse_apci(apdu: &[u8]) -> Option<(Apci, &[u8])> {
    let c = apdu.get(2..6)?;
    let rest = apdu.get(6..).unwrap_or_default();
    let word = |lo: u8, hi: u8| (u16::from(lo) | u16::from(hi) << 8) >> 1;
    let apci = if c[0] & 0x01 == 0 {
        Apci::I {
            send: word(c[0], c[1]),
            recv: word(c[2], c[3]),
        }
    } else if c[0] & 0x03 == 0x01 {
        Apci::S {
            recv: word(c[2], c[3]),
        }
    } else {
        Apci::U { function: c[0] }
    };
    Some((apci, rest))
}

/// The ASDU header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AsduHeader {
    pub type_id: u8,
    /// SQ bit: the objects are a sequence starting at one address.
    pub sq: bool,
    pub count: u8,
    /// Cause of transmission (6 bits).
    pub cot: u8,
    /// P/N bit: negative confirmation.
    pub negative: bool,
    /// T bit: test.
    pub test: bool,
    pub originator: u8,
    pub common_address: u16,
}

/// An ASDU that cannot be decoded.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum AsduError {
    #[error("ASDU of {0} bytes is shorter than its 6-byte header")]
    TooShort(usize),
    #[error("ASDU type {0} is not known")]
    UnknownType(u8),
    #[error("ASDU {name} with {count} objects needs {need} bytes, {have} present")]
    Truncated {
        name: &'static str,
        count: u8,
        need: usize,
        have: usize,
    },
    #[error("ASDU {name}: {extra} bytes after {count} objects")]
    Trailing {
        name: &'static str,
        count: u8,
        extra: usize,
    },
}

impl AsduError {
    pub fn kind(&self) -> &'static str {
        match self {
            AsduError::TooShort(_) => "truncated_asdu",
            AsduError::UnknownType(_) => "unknown_type",
            AsduError::Truncated { .. } => "truncated_asdu",
            AsduError::Trailing { .. } => "length_mismatch",
        }
    }
}

/// Splits an ASDU into its header and the information objects part.
pub fn parse_asdu_header(b: &[u8]) -> Result<(AsduHeader, &[u8]), AsduError> {
    let h = b
        .get(..ASDU_HEADER_LEN)
        .ok_or(AsduError::TooShort(b.len()))?;
    let header = AsduHeader {
        type_id: h[0],
        sq: h[1] & 0x80 != 0,
        count: h[1] & 0x7F,
        cot: h[2] & 0x3F,
        negative: h[2] & 0x40 != 0,
        test: h[2] & 0x80 != 0,
        originator: h[3],
        common_address: u16::from_le_bytes([h[4], h[5]]),
    };
    Ok((header, b.get(ASDU_HEADER_LEN..).unwrap_or_default()))
}

/// Iterates over the information objects: `(ioa, element bytes)`. With SQ the
/// first address is followed by `count` elements at consecutive addresses.
#[derive(Clone, Debug)]
pub struct Objects<'a> {
    rest: &'a [u8],
    size: usize,
    sq: bool,
    left: u8,
    next_ioa: u32,
    first: bool,
}

fn le24(b: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, 0]))
}

/// The objects of an ASDU and the decoding problem, if any (the objects that fit
/// are still iterated).
pub fn objects<'a>(h: &AsduHeader, body: &'a [u8]) -> (Objects<'a>, Option<AsduError>) {
    let name = names::type_name(h.type_id);
    let Some(size) = names::element_size(h.type_id) else {
        let err = if name == "unknown" {
            AsduError::UnknownType(h.type_id)
        } else {
            // variable sized (segment) or reserved types: the first address only
            AsduError::Trailing {
                name,
                count: h.count,
                extra: 0,
            }
        };
        let o = Objects {
            rest: body,
            size: body.len().saturating_sub(IOA_LEN),
            sq: false,
            left: u8::from(body.len() >= IOA_LEN && name != "unknown"),
            next_ioa: 0,
            first: true,
        };
        return (o, (name == "unknown").then_some(err));
    };
    let n = usize::from(h.count);
    let need = if h.sq {
        if n == 0 {
            0
        } else {
            IOA_LEN + n * size
        }
    } else {
        n * (IOA_LEN + size)
    };
    let issue = if body.len() < need {
        Some(AsduError::Truncated {
            name,
            count: h.count,
            need,
            have: body.len(),
        })
    } else if body.len() > need {
        Some(AsduError::Trailing {
            name,
            count: h.count,
            extra: body.len() - need,
        })
    } else {
        None
    };
    (
        Objects {
            rest: body,
            size,
            sq: h.sq,
            left: h.count,
            next_ioa: 0,
            first: true,
        },
        issue,
    )
}

impl<'a> Iterator for Objects<'a> {
    type Item = (u32, &'a [u8]);
    fn next(&mut self) -> Option<(u32, &'a [u8])> {
        if self.left == 0 {
            return None;
        }
        let ioa = if self.sq && !self.first {
            self.next_ioa
        } else {
            let ioa = le24(self.rest)?;
            self.rest = self.rest.get(IOA_LEN..).unwrap_or_default();
            ioa
        };
        self.first = false;
        let elem = self.rest.get(..self.size)?;
        self.rest = self.rest.get(self.size..).unwrap_or_default();
        self.left -= 1;
        self.next_ioa = ioa.wrapping_add(1) & 0x00FF_FFFF;
        Some((ioa, elem))
    }
}

/// CP56Time2a (7 octets) or CP24Time2a (3 octets: minutes, seconds, ms only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Time {
    pub ms: u16,
    pub minute: u8,
    pub hour: Option<u8>,
    pub day: Option<u8>,
    pub month: Option<u8>,
    pub year: Option<u16>,
    /// IV bit: the time is invalid.
    pub invalid: bool,
    /// SU bit: summer time.
    pub summer: bool,
}

impl Time {
    pub fn cp56(b: &[u8]) -> Option<Time> {
        let t = b.get(..7)?;
        Some(Time {
            ms: u16::from_le_bytes([t[0], t[1]]),
            minute: t[2] & 0x3F,
            invalid: t[2] & 0x80 != 0,
            hour: Some(t[3] & 0x1F),
            summer: t[3] & 0x80 != 0,
            day: Some(t[4] & 0x1F),
            month: Some(t[5] & 0x0F),
            // 7 bits of year: 0-69 are 2000-2069; some stations count from 1900
            // (109 = 2009), read as 1970-2027 like Wireshark does
            year: Some(match u16::from(t[6] & 0x7F) {
                y @ 0..=69 => 2000 + y,
                y => 1900 + y,
            }),
        })
    }
    pub fn cp24(b: &[u8]) -> Option<Time> {
        let t = b.get(..3)?;
        Some(Time {
            ms: u16::from_le_bytes([t[0], t[1]]),
            minute: t[2] & 0x3F,
            invalid: t[2] & 0x80 != 0,
            ..Time::default()
        })
    }
}

impl std::fmt::Display for Time {
    /// `YYYY-MM-DDTHH:MM:SS.mmm` (CP56, the station's local time) or `MM:SS.mmm`
    /// (CP24).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (s, ms) = (self.ms / 1000, self.ms % 1000);
        match (self.year, self.month, self.day, self.hour) {
            (Some(y), Some(mo), Some(d), Some(h)) => write!(
                f,
                "{y:04}-{mo:02}-{d:02}T{h:02}:{:02}:{s:02}.{ms:03}",
                self.minute
            ),
            _ => write!(f, "{:02}:{s:02}.{ms:03}", self.minute),
        }
    }
}

impl Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Quality bits in one common layout (whatever the element's own encoding):
/// 0x80 invalid, 0x40 not topical, 0x20 substituted, 0x10 blocked, 0x01 overflow,
/// 0x04 counter adjusted, 0x02 carry, 0x08 elapsed time invalid (protection).
/// Serialises as the list of the names of the bits set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quality(pub u8);

impl Quality {
    pub const IV: u8 = 0x80;
    pub const NT: u8 = 0x40;
    pub const SB: u8 = 0x20;
    pub const BL: u8 = 0x10;
    pub const EI: u8 = 0x08;
    pub const CA: u8 = 0x04;
    pub const CY: u8 = 0x02;
    pub const OV: u8 = 0x01;

    /// From a QDS / SIQ / DIQ octet (IV NT SB BL in the high bits, OV in bit 0 for
    /// QDS; SIQ/DIQ keep their value in the low bits, masked out here).
    pub fn from_qds(b: u8, has_ov: bool) -> Quality {
        Quality(b & 0xF0 | if has_ov { b & 0x01 } else { 0 })
    }
    /// From the flags of a binary counter reading (IV CA CY).
    pub fn from_bcr(b: u8) -> Quality {
        let mut q = b & 0x80;
        if b & 0x40 != 0 {
            q |= Self::CA;
        }
        if b & 0x20 != 0 {
            q |= Self::CY;
        }
        Quality(q)
    }
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    /// Names of the bits set.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            (Self::IV, "invalid"),
            (Self::NT, "not_topical"),
            (Self::SB, "substituted"),
            (Self::BL, "blocked"),
            (Self::EI, "elapsed_time_invalid"),
            (Self::CA, "counter_adjusted"),
            (Self::CY, "carry"),
            (Self::OV, "overflow"),
        ]
        .into_iter()
        .filter(|(b, _)| self.0 & b != 0)
        .map(|(_, n)| n)
    }
}

impl Serialize for Quality {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// One decoded information object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Object {
    pub ioa: u32,
    /// The value: point state (single 0/1; double 0-3: 1 off, 2 on), step position,
    /// bitstring, normalised (-1..1), scaled or float measured value, counter
    /// reading, command state (single 0/1, double / regulating step 0-3), setpoint,
    /// test sequence counter, parameter value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Quality::is_empty")]
    pub quality: Quality,
    /// Time tag (CP56Time2a or CP24Time2a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
    /// Commands and setpoints: select (true) or execute (false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub select: Option<bool>,
    /// Qualifier: QU of commands, QL of setpoints, QOI, QCC, QRP, QPM, QPA, COI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<u8>,
    /// Step position: the equipment is in transient state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transient: Option<bool>,
    /// Counter reading sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u8>,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

fn nva(b: &[u8], at: usize) -> Option<f64> {
    Some(f64::from(le16(b, at)? as i16) / 32768.0)
}

fn sva(b: &[u8], at: usize) -> Option<f64> {
    Some(f64::from(le16(b, at)? as i16))
}

fn float(b: &[u8], at: usize) -> Option<f64> {
    Some(f64::from(f32::from_bits(le32(b, at)?)))
}

/// Decodes one information element of `type_id` (the bytes after its IOA).
pub fn decode_element(type_id: u8, ioa: u32, e: &[u8]) -> Object {
    let mut o = Object {
        ioa,
        ..Object::default()
    };
    let b0 = e.first().copied().unwrap_or(0);
    let tail = |n: usize| e.get(n..).unwrap_or_default();
    match type_id {
        // single / double points
        1 | 2 | 30 => {
            o.value = Some(f64::from(b0 & 0x01));
            o.quality = Quality::from_qds(b0, false);
        }
        3 | 4 | 31 => {
            o.value = Some(f64::from(b0 & 0x03));
            o.quality = Quality::from_qds(b0, false);
        }
        // step position: VTI (7-bit signed value, transient bit), QDS
        5 | 6 | 32 => {
            let v = ((b0 & 0x7F) << 1) as i8 >> 1;
            o.value = Some(f64::from(v));
            o.transient = Some(b0 & 0x80 != 0);
            o.quality = Quality::from_qds(e.get(1).copied().unwrap_or(0), true);
        }
        // bitstring of 32 bits, QDS
        7 | 8 | 33 => {
            o.value = le32(e, 0).map(f64::from);
            o.quality = Quality::from_qds(e.get(4).copied().unwrap_or(0), true);
        }
        9 | 10 | 34 => {
            o.value = nva(e, 0);
            o.quality = Quality::from_qds(e.get(2).copied().unwrap_or(0), true);
        }
        11 | 12 | 35 => {
            o.value = sva(e, 0);
            o.quality = Quality::from_qds(e.get(2).copied().unwrap_or(0), true);
        }
        13 | 14 | 36 => {
            o.value = float(e, 0);
            o.quality = Quality::from_qds(e.get(4).copied().unwrap_or(0), true);
        }
        // integrated totals: BCR (i32 counter, sequence / CY / CA / IV)
        15 | 16 | 37 => {
            o.value = le32(e, 0).map(|v| f64::from(v as i32));
            let f = e.get(4).copied().unwrap_or(0);
            o.sequence = Some(f & 0x1F);
            o.quality = Quality::from_bcr(f);
        }
        // packed single points with status change detection: status bits
        20 => {
            o.value = le16(e, 0).map(f64::from);
            o.quality = Quality::from_qds(e.get(4).copied().unwrap_or(0), true);
        }
        21 => o.value = nva(e, 0),
        // protection equipment events: quality only
        17 | 38 => {
            o.value = Some(f64::from(b0 & 0x03));
            o.quality = Quality(b0 & 0xF0 | if b0 & 0x08 != 0 { Quality::EI } else { 0 });
        }
        18 | 19 | 39 | 40 => {
            o.value = Some(f64::from(b0 & 0x3F));
            let q = e.get(1).copied().unwrap_or(0);
            o.quality = Quality(q & 0xF0 | if q & 0x08 != 0 { Quality::EI } else { 0 });
        }
        // single / double / regulating step commands: state, QU, S/E
        45 | 58 => {
            o.value = Some(f64::from(b0 & 0x01));
            o.qualifier = Some((b0 >> 2) & 0x1F);
            o.select = Some(b0 & 0x80 != 0);
        }
        46 | 47 | 59 | 60 => {
            o.value = Some(f64::from(b0 & 0x03));
            o.qualifier = Some((b0 >> 2) & 0x1F);
            o.select = Some(b0 & 0x80 != 0);
        }
        // setpoints: value, QOS (QL, S/E)
        48 | 49 | 61 | 62 => {
            o.value = if matches!(type_id, 48 | 61) {
                nva(e, 0)
            } else {
                sva(e, 0)
            };
            let q = e.get(2).copied().unwrap_or(0);
            o.qualifier = Some(q & 0x7F);
            o.select = Some(q & 0x80 != 0);
        }
        50 | 63 => {
            o.value = float(e, 0);
            let q = e.get(4).copied().unwrap_or(0);
            o.qualifier = Some(q & 0x7F);
            o.select = Some(q & 0x80 != 0);
        }
        51 | 64 => o.value = le32(e, 0).map(f64::from),
        // end of initialisation, interrogations, reset process, parameter activation
        70 | 100 | 101 | 105 | 113 => o.qualifier = Some(b0),
        104 | 107 => o.value = le16(e, 0).map(f64::from),
        106 => o.value = le16(e, 0).map(f64::from),
        110 => {
            o.value = nva(e, 0);
            o.qualifier = e.get(2).copied();
        }
        111 => {
            o.value = sva(e, 0);
            o.qualifier = e.get(2).copied();
        }
        112 => {
            o.value = float(e, 0);
            o.qualifier = e.get(4).copied();
        }
        _ => {}
    }
    o.time = match type_id {
        2 | 4 => Time::cp24(tail(1)),
        6 => Time::cp24(tail(2)),
        8 | 14 | 16 => Time::cp24(tail(5)),
        10 | 12 => Time::cp24(tail(3)),
        17 => Time::cp24(tail(3)),
        18 | 19 => Time::cp24(tail(4)),
        30 | 31 => Time::cp56(tail(1)),
        32 => Time::cp56(tail(2)),
        33 | 36 | 37 => Time::cp56(tail(5)),
        34 | 35 => Time::cp56(tail(3)),
        38 => Time::cp56(tail(3)),
        39 | 40 => Time::cp56(tail(4)),
        58..=60 => Time::cp56(tail(1)),
        61 | 62 => Time::cp56(tail(3)),
        63 => Time::cp56(tail(5)),
        64 => Time::cp56(tail(4)),
        103 => Time::cp56(e),
        107 => Time::cp56(tail(2)),
        126 => Time::cp56(tail(6)),
        _ => None,
    };
    o
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
    fn setpoint_float_select() {
        // iec104-iti-090813-diverse.pcap frame 51: C_SE_NC_1 act, IOA 5020, 12.0, S/E=1
        let b = hex("68123400b0003201060003009c13000000404180");
        assert_eq!(check_apdu(&b, true), Check::Frame(20));
        let (apci, asdu) = parse_apci(&b).unwrap();
        assert_eq!(apci, Apci::I { send: 26, recv: 88 });
        let (h, body) = parse_asdu_header(asdu).unwrap();
        assert_eq!((h.type_id, h.count, h.cot, h.common_address), (50, 1, 6, 3));
        let (objs, issue) = objects(&h, body);
        assert_eq!(issue, None);
        let v: Vec<_> = objs.map(|(i, e)| decode_element(h.type_id, i, e)).collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].ioa, 5020);
        assert_eq!(v[0].value, Some(12.0));
        assert_eq!(v[0].select, Some(true));
        assert_eq!(v[0].qualifier, Some(0));
    }

    #[test]
    fn sq_sequence_and_u_frames() {
        // 10 objects M_SP_NA_1 with SQ: one address then elements
        let mut b = vec![0x68, 0, 0, 0, 0, 0, 1, 0x8A, 20, 0, 0x1E, 0x04, 0, 0, 0];
        b.extend_from_slice(&[0, 1, 0, 1, 0x81, 0, 0, 1, 0, 1]);
        b[1] = (b.len() - 2) as u8;
        let (_, asdu) = parse_apci(&b).unwrap();
        let (h, body) = parse_asdu_header(asdu).unwrap();
        assert!(h.sq);
        let (objs, issue) = objects(&h, body);
        assert_eq!(issue, None);
        let v: Vec<_> = objs.map(|(i, e)| decode_element(1, i, e)).collect();
        assert_eq!(v.len(), 10);
        assert_eq!(v[9].ioa, 9);
        assert_eq!(v[4].quality, Quality(0x80));
        assert_eq!(check_apdu(&[0x68, 4, 0x07, 0, 0, 0], true), Check::Frame(6));
        assert_eq!(
            check_apdu(&[0x68, 4, 0x0F, 0, 0, 0], false),
            Check::Bad(ApduError::BadUFunction(0x0F))
        );
        assert_eq!(
            check_apdu(&[0x68, 2], false),
            Check::Bad(ApduError::BadLength(2))
        );
        assert_eq!(check_apdu(&[0x68], false), Check::NeedMore(2));
    }

    #[test]
    fn cp56() {
        // C_CS_NA_1 from stacks/iec104.pcap frame 16: 4b75 03 13 19 0b 1a
        let t = Time::cp56(&hex("4b750313190b1a")).unwrap();
        assert_eq!(t.to_string(), "2026-11-25T19:03:30.027");
    }
}
