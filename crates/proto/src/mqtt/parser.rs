//! Pure decoding of MQTT 3.1, 3.1.1 and 5.0 control packets: the fixed header with
//! its bounded remaining-length varint, and the variable header and payload of every
//! packet type, with MQTT 5 properties checked against their declared length.
//!
//! A packet may be decoded from a prefix of its bytes (`full_len` tells the real
//! body length): PUBLISH payloads larger than the state's buffer are never kept.
use thiserror::Error;

/// Largest remaining length the varint can encode (4 bytes).
pub const MAX_REMAINING: usize = 268_435_455;
/// Topics kept from one SUBSCRIBE / UNSUBSCRIBE.
pub const MAX_TOPICS: usize = 64;
/// Properties kept from one property list.
pub const MAX_PROPS: usize = 32;

pub const CONNECT: u8 = 1;
pub const CONNACK: u8 = 2;
pub const PUBLISH: u8 = 3;
pub const PUBACK: u8 = 4;
pub const PUBREC: u8 = 5;
pub const PUBREL: u8 = 6;
pub const PUBCOMP: u8 = 7;
pub const SUBSCRIBE: u8 = 8;
pub const SUBACK: u8 = 9;
pub const UNSUBSCRIBE: u8 = 10;
pub const UNSUBACK: u8 = 11;
pub const PINGREQ: u8 = 12;
pub const PINGRESP: u8 = 13;
pub const DISCONNECT: u8 = 14;
pub const AUTH: u8 = 15;

/// A decoding problem; [`Error::kind`] is the anomaly kind.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error("remaining length varint longer than 4 bytes")]
    BadRemainingLength,
    #[error("reserved packet type {0}")]
    ReservedType(u8),
    #[error("fixed header flags 0x{flags:x} invalid for packet type {ptype}")]
    BadFlags { ptype: u8, flags: u8 },
    #[error("{0} truncated")]
    Truncated(&'static str),
    #[error("property length {declared} exceeds the {left} bytes left in the packet")]
    BadPropertyLength { declared: usize, left: usize },
    #[error("unknown property identifier 0x{0:02x}")]
    UnknownProperty(u8),
    #[error("PUBLISH with QoS 3")]
    BadQos,
    #[error("unknown protocol name or level")]
    BadProtocol,
}

impl Error {
    pub fn kind(&self) -> &'static str {
        match self {
            Error::BadRemainingLength => "bad_remaining_length",
            Error::ReservedType(_) => "reserved_packet_type",
            Error::BadFlags { .. } => "bad_flags",
            Error::Truncated(_) => "truncated_packet",
            Error::BadPropertyLength { .. } => "bad_property_length",
            Error::UnknownProperty(_) => "unknown_property",
            Error::BadQos => "bad_qos",
            Error::BadProtocol => "bad_protocol",
        }
    }
}

/// The packet type name.
pub fn type_name(t: u8) -> &'static str {
    match t {
        CONNECT => "CONNECT",
        CONNACK => "CONNACK",
        PUBLISH => "PUBLISH",
        PUBACK => "PUBACK",
        PUBREC => "PUBREC",
        PUBREL => "PUBREL",
        PUBCOMP => "PUBCOMP",
        SUBSCRIBE => "SUBSCRIBE",
        SUBACK => "SUBACK",
        UNSUBSCRIBE => "UNSUBSCRIBE",
        UNSUBACK => "UNSUBACK",
        PINGREQ => "PINGREQ",
        PINGRESP => "PINGRESP",
        DISCONNECT => "DISCONNECT",
        AUTH => "AUTH",
        _ => "RESERVED",
    }
}

/// The fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedHeader {
    pub ptype: u8,
    pub flags: u8,
    /// Remaining length (variable header + payload).
    pub remaining: usize,
    /// Bytes of the fixed header (2..=5).
    pub header_len: usize,
}

impl FixedHeader {
    pub fn frame_len(&self) -> usize {
        self.header_len + self.remaining
    }
    pub fn qos(&self) -> u8 {
        (self.flags >> 1) & 3
    }
    pub fn retain(&self) -> bool {
        self.flags & 1 != 0
    }
    pub fn dup(&self) -> bool {
        self.flags & 8 != 0
    }
}

/// Decodes a fixed header (`Ok(None)`: more bytes needed). Type 0 and (before
/// MQTT 5) type 15 are reserved; the flags of non-PUBLISH packets are fixed.
pub fn fixed_header(b: &[u8], v5: bool) -> Result<Option<FixedHeader>, Error> {
    let Some(&first) = b.first() else {
        return Ok(None);
    };
    let (ptype, flags) = (first >> 4, first & 0x0f);
    let mut remaining = 0usize;
    let mut i = 1usize;
    loop {
        let Some(&byte) = b.get(i) else {
            return Ok(None);
        };
        remaining |= usize::from(byte & 0x7f) << (7 * (i - 1));
        i += 1;
        if byte & 0x80 == 0 {
            break;
        }
        if i > 4 {
            return Err(Error::BadRemainingLength);
        }
    }
    if ptype == 0 || (ptype == AUTH && !v5) {
        return Err(Error::ReservedType(ptype));
    }
    let want = match ptype {
        PUBLISH => None,
        PUBREL | SUBSCRIBE | UNSUBSCRIBE => Some(2),
        _ => Some(0),
    };
    if want.is_some_and(|w| w != flags) {
        return Err(Error::BadFlags { ptype, flags });
    }
    Ok(Some(FixedHeader {
        ptype,
        flags,
        remaining,
        header_len: i,
    }))
}

/// A cursor over a packet body; every read is checked.
#[derive(Clone, Copy)]
struct Reader<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.b.len() {
            return Err(Error::Truncated(self.what));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Error> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, Error> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn varint(&mut self) -> Result<usize, Error> {
        let mut v = 0usize;
        for i in 0..4 {
            let b = self.u8()?;
            v |= usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Error::BadRemainingLength)
    }
    /// Length-prefixed bytes (UTF-8 string or binary data).
    fn bin(&mut self) -> Result<&'a [u8], Error> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
}

/// A property value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropValue<'a> {
    Int(u32),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Pair(&'a [u8], &'a [u8]),
}

/// One MQTT 5 property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prop<'a> {
    pub id: u8,
    pub value: PropValue<'a>,
}

/// Property name by identifier (MQTT 5.0 §2.2.2.2), `None` when unknown.
pub fn prop_name(id: u8) -> Option<&'static str> {
    Some(match id {
        0x01 => "payload_format_indicator",
        0x02 => "message_expiry_interval",
        0x03 => "content_type",
        0x08 => "response_topic",
        0x09 => "correlation_data",
        0x0b => "subscription_identifier",
        0x11 => "session_expiry_interval",
        0x12 => "assigned_client_identifier",
        0x13 => "server_keep_alive",
        0x15 => "authentication_method",
        0x16 => "authentication_data",
        0x17 => "request_problem_information",
        0x18 => "will_delay_interval",
        0x19 => "request_response_information",
        0x1a => "response_information",
        0x1c => "server_reference",
        0x1f => "reason_string",
        0x21 => "receive_maximum",
        0x22 => "topic_alias_maximum",
        0x23 => "topic_alias",
        0x24 => "maximum_qos",
        0x25 => "retain_available",
        0x26 => "user_property",
        0x27 => "maximum_packet_size",
        0x28 => "wildcard_subscription_available",
        0x29 => "subscription_identifier_available",
        0x2a => "shared_subscription_available",
        _ => return None,
    })
}

/// Properties of a list (`Err` on a bad length or an unknown identifier).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Props<'a> {
    pub list: Vec<Prop<'a>>,
    /// More than [`MAX_PROPS`] (the rest was checked, not kept).
    pub more: bool,
}

fn read_props<'a>(r: &mut Reader<'a>) -> Result<Props<'a>, Error> {
    let declared = r.varint()?;
    if declared > r.b.len() {
        return Err(Error::BadPropertyLength {
            declared,
            left: r.b.len(),
        });
    }
    let mut p = Reader {
        b: r.take(declared)?,
        what: "properties",
    };
    let mut out = Props::default();
    while !p.b.is_empty() {
        let id = u8::try_from(p.varint()?).map_err(|_| Error::UnknownProperty(0xff))?;
        let value = match id {
            0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2a => {
                PropValue::Int(u32::from(p.u8()?))
            }
            0x13 | 0x21 | 0x22 | 0x23 => PropValue::Int(u32::from(p.u16()?)),
            0x02 | 0x11 | 0x18 | 0x27 => PropValue::Int(p.u32()?),
            0x0b => PropValue::Int(u32::try_from(p.varint()?).unwrap_or(u32::MAX)),
            0x03 | 0x08 | 0x12 | 0x15 | 0x1a | 0x1c | 0x1f => PropValue::Str(p.bin()?),
            0x09 | 0x16 => PropValue::Bin(p.bin()?),
            0x26 => {
                let k = p.bin()?;
                PropValue::Pair(k, p.bin()?)
            }
            other => return Err(Error::UnknownProperty(other)),
        };
        if out.list.len() < MAX_PROPS {
            out.list.push(Prop { id, value });
        } else {
            out.more = true;
        }
    }
    Ok(out)
}

/// The will of a CONNECT.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Will<'a> {
    pub qos: u8,
    pub retain: bool,
    pub topic: &'a [u8],
    pub payload: &'a [u8],
    pub properties: Props<'a>,
}

/// A CONNECT. The password is skipped: only its presence is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connect<'a> {
    pub protocol_name: &'a [u8],
    pub level: u8,
    pub flags: u8,
    pub keep_alive: u16,
    pub properties: Props<'a>,
    pub client_id: &'a [u8],
    pub will: Option<Will<'a>>,
    pub username: Option<&'a [u8]>,
    pub password_present: bool,
}

impl Connect<'_> {
    pub fn clean_session(&self) -> bool {
        self.flags & 0x02 != 0
    }
    pub fn will_flag(&self) -> bool {
        self.flags & 0x04 != 0
    }
    pub fn username_flag(&self) -> bool {
        self.flags & 0x80 != 0
    }
    pub fn password_flag(&self) -> bool {
        self.flags & 0x40 != 0
    }
    pub fn will_retain(&self) -> bool {
        self.flags & 0x20 != 0
    }
    pub fn will_qos(&self) -> u8 {
        (self.flags >> 3) & 3
    }
}

/// Protocol name and level at the start of a CONNECT body (for the probe and to
/// learn the version even when the rest is malformed).
pub fn connect_level(body: &[u8]) -> Option<(&[u8], u8)> {
    let mut r = Reader {
        b: body,
        what: "CONNECT",
    };
    let name = r.bin().ok()?;
    let level = r.u8().ok()?;
    Some((name, level))
}

/// A decoded packet body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    Connect(Box<Connect<'a>>),
    Connack {
        session_present: bool,
        code: u8,
        properties: Props<'a>,
    },
    Publish {
        topic: &'a [u8],
        packet_id: Option<u16>,
        properties: Props<'a>,
        /// Payload bytes available (a prefix when the packet was cut).
        payload: &'a [u8],
        payload_len: usize,
    },
    /// PUBACK, PUBREC, PUBREL, PUBCOMP.
    Ack {
        packet_id: u16,
        code: Option<u8>,
        properties: Props<'a>,
    },
    /// SUBSCRIBE (with options) and UNSUBSCRIBE (options 0).
    Subscribe {
        packet_id: u16,
        properties: Props<'a>,
        topics: Vec<(&'a [u8], u8)>,
        more: bool,
    },
    /// SUBACK, UNSUBACK.
    SubAck {
        packet_id: u16,
        properties: Props<'a>,
        codes: Vec<u8>,
    },
    Ping,
    /// DISCONNECT, AUTH.
    Reason {
        code: Option<u8>,
        properties: Props<'a>,
    },
}

/// Decodes the body of a packet. `body` may be a prefix of the real body, whose
/// length is `full_len`; `v5` selects MQTT 5 (properties, reason codes).
pub fn packet<'a>(
    h: &FixedHeader,
    body: &'a [u8],
    full_len: usize,
    v5: bool,
) -> Result<Packet<'a>, Error> {
    let mut r = Reader {
        b: body,
        what: type_name(h.ptype),
    };
    Ok(match h.ptype {
        CONNECT => {
            let protocol_name = r.bin()?;
            let level = r.u8()?;
            let flags = r.u8()?;
            let keep_alive = r.u16()?;
            let v5 = level == 5;
            let properties = if v5 {
                read_props(&mut r)?
            } else {
                Props::default()
            };
            let client_id = r.bin()?;
            let mut c = Connect {
                protocol_name,
                level,
                flags,
                keep_alive,
                properties,
                client_id,
                ..Connect::default()
            };
            if c.will_flag() {
                let wp = if v5 {
                    read_props(&mut r)?
                } else {
                    Props::default()
                };
                let topic = r.bin()?;
                let payload = r.bin()?;
                c.will = Some(Will {
                    qos: c.will_qos(),
                    retain: c.will_retain(),
                    topic,
                    payload,
                    properties: wp,
                });
            }
            if c.username_flag() {
                c.username = Some(r.bin()?);
            }
            if c.password_flag() {
                // skipped, never kept
                let _ = r.bin()?;
                c.password_present = true;
            }
            Packet::Connect(Box::new(c))
        }
        CONNACK => {
            let ack = r.u8()?;
            let code = r.u8()?;
            let properties = if v5 && !r.b.is_empty() {
                read_props(&mut r)?
            } else {
                Props::default()
            };
            Packet::Connack {
                session_present: ack & 1 != 0,
                code,
                properties,
            }
        }
        PUBLISH => {
            if h.qos() == 3 {
                return Err(Error::BadQos);
            }
            let start = r.b.len();
            let topic = r.bin()?;
            let packet_id = if h.qos() > 0 { Some(r.u16()?) } else { None };
            let properties = if v5 {
                read_props(&mut r)?
            } else {
                Props::default()
            };
            let header = start - r.b.len();
            Packet::Publish {
                topic,
                packet_id,
                properties,
                payload: r.b,
                payload_len: full_len.saturating_sub(header),
            }
        }
        PUBACK | PUBREC | PUBREL | PUBCOMP => {
            let packet_id = r.u16()?;
            let code = if v5 && !r.b.is_empty() {
                Some(r.u8()?)
            } else {
                None
            };
            let properties = if v5 && !r.b.is_empty() {
                read_props(&mut r)?
            } else {
                Props::default()
            };
            Packet::Ack {
                packet_id,
                code,
                properties,
            }
        }
        SUBSCRIBE | UNSUBSCRIBE => {
            let packet_id = r.u16()?;
            let properties = if v5 {
                read_props(&mut r)?
            } else {
                Props::default()
            };
            let mut topics = Vec::new();
            let mut more = false;
            while !r.b.is_empty() {
                let t = r.bin()?;
                let o = if h.ptype == SUBSCRIBE { r.u8()? } else { 0 };
                if topics.len() < MAX_TOPICS {
                    topics.push((t, o));
                } else {
                    more = true;
                }
            }
            Packet::Subscribe {
                packet_id,
                properties,
                topics,
                more,
            }
        }
        SUBACK | UNSUBACK => {
            let packet_id = r.u16()?;
            let properties = if v5 {
                read_props(&mut r)?
            } else {
                Props::default()
            };
            let codes = r.b.iter().take(MAX_TOPICS).copied().collect();
            Packet::SubAck {
                packet_id,
                properties,
                codes,
            }
        }
        PINGREQ | PINGRESP => Packet::Ping,
        DISCONNECT | AUTH => {
            let code = if r.b.is_empty() { None } else { Some(r.u8()?) };
            let properties = if v5 && !r.b.is_empty() {
                read_props(&mut r)?
            } else {
                Props::default()
            };
            Packet::Reason { code, properties }
        }
        other => return Err(Error::ReservedType(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_headers() {
        let h = fixed_header(&[0x30, 0x19], false).unwrap().unwrap();
        assert_eq!((h.ptype, h.remaining, h.header_len), (3, 25, 2));
        let h = fixed_header(&[0x10, 0xcc, 0x01], true).unwrap().unwrap();
        assert_eq!((h.remaining, h.header_len), (204, 3));
        let h = fixed_header(&[0x30, 0xff, 0xff, 0xff, 0x7f], false)
            .unwrap()
            .unwrap();
        assert_eq!(h.remaining, MAX_REMAINING);
        assert_eq!(
            fixed_header(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01], false),
            Err(Error::BadRemainingLength)
        );
        assert_eq!(fixed_header(&[0x30, 0x80], false), Ok(None));
        assert_eq!(
            fixed_header(&[0x00, 0x00], false),
            Err(Error::ReservedType(0))
        );
        assert_eq!(
            fixed_header(&[0xf0, 0x00], false),
            Err(Error::ReservedType(15))
        );
        assert!(fixed_header(&[0xf0, 0x00], true).unwrap().is_some());
        assert_eq!(
            fixed_header(&[0x80, 0x00], false),
            Err(Error::BadFlags { ptype: 8, flags: 0 })
        );
    }

    #[test]
    fn property_bounds() {
        // CONNECT v5 whose property length (4351) exceeds the packet
        let body = [
            0, 4, b'M', b'Q', b'T', b'T', 5, 0xc2, 0, 60, 0xff, 0x21, 0, 0x14, 0, 1, b'x',
        ];
        let h = FixedHeader {
            ptype: CONNECT,
            flags: 0,
            remaining: body.len(),
            header_len: 2,
        };
        assert_eq!(
            packet(&h, &body, body.len(), true),
            Err(Error::BadPropertyLength {
                declared: 4351,
                left: 5
            })
        );
        assert_eq!(connect_level(&body), Some((&b"MQTT"[..], 5)));
    }
}
