//! Zero-copy decoding of CIP messages: request and response headers, padded EPATHs
//! (port, logical, electronic key, network, symbolic and data segments), and the
//! data layouts of the services Sluice interprets.
use super::names;
use super::parser::{u16le, u32le};
use std::fmt::Write as _;

/// Segments decoded per path.
pub const MAX_SEGMENTS: usize = 32;

/// A CIP request: service, request path, service data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub service: u8,
    pub path: &'a [u8],
    pub data: &'a [u8],
}

/// A CIP response: service (response bit cleared), status, extended status words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    pub service: u8,
    pub status: u8,
    pub extended: &'a [u8],
    pub data: &'a [u8],
}

/// Is this CIP message a response (service bit 7)?
pub fn is_response(msg: &[u8]) -> bool {
    msg.first().is_some_and(|s| s & 0x80 != 0)
}

pub fn parse_request(msg: &[u8]) -> Option<Request<'_>> {
    let service = *msg.first()?;
    let words = usize::from(*msg.get(1)?);
    let end = 2 + words * 2;
    Some(Request {
        service,
        path: msg.get(2..end)?,
        data: msg.get(end..).unwrap_or_default(),
    })
}

pub fn parse_response(msg: &[u8]) -> Option<Response<'_>> {
    let service = *msg.first()? & 0x7F;
    let status = *msg.get(2)?;
    let words = usize::from(*msg.get(3)?);
    let end = 4 + words * 2;
    Some(Response {
        service,
        status,
        extended: msg.get(4..end)?,
        data: msg.get(end..).unwrap_or_default(),
    })
}

/// Kind of a logical segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logical {
    Class,
    Instance,
    Member,
    ConnectionPoint,
    Attribute,
    ServiceId,
}

/// One EPATH segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    Port {
        port: u16,
        link: &'a [u8],
    },
    Logical(Logical, u32),
    /// Electronic key (logical special segment, format 4).
    Key {
        vendor: u16,
        device_type: u16,
        product_code: u16,
        major: u8,
        minor: u8,
        compatibility: bool,
    },
    /// Network segment (type byte, data).
    Network(u8, &'a [u8]),
    /// Symbolic segment or ANSI extended symbol segment.
    Symbol(&'a [u8]),
    /// Simple data segment.
    Data(&'a [u8]),
    /// Data type segment (elementary type code).
    DataType(u8),
}

/// A decoded path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path<'a> {
    pub segments: Vec<Segment<'a>>,
    /// Bytes that could not be decoded (unknown or truncated segment).
    pub error: bool,
    /// More than [`MAX_SEGMENTS`] segments.
    pub truncated: bool,
}

fn logical_value(b: &[u8], pos: usize, format: u8) -> Option<(u32, usize)> {
    match format {
        0 => Some((u32::from(*b.get(pos + 1)?), 2)),
        1 => Some((u32::from(u16le(b, pos + 2)?), 4)),
        2 => Some((u32le(b, pos + 2)?, 6)),
        _ => None,
    }
}

/// Decodes a padded EPATH.
pub fn parse_path(b: &[u8]) -> Path<'_> {
    let mut p = Path::default();
    let mut pos = 0usize;
    while pos < b.len() {
        if p.segments.len() >= MAX_SEGMENTS {
            p.truncated = true;
            break;
        }
        match segment(b, pos) {
            Some((seg, n)) if n > 0 => {
                p.segments.push(seg);
                pos += n;
            }
            _ => {
                p.error = true;
                break;
            }
        }
    }
    p
}

fn segment(b: &[u8], pos: usize) -> Option<(Segment<'_>, usize)> {
    let t = *b.get(pos)?;
    match t >> 5 {
        0 => {
            // Port segment.
            let extended_link = t & 0x10 != 0;
            let mut port = u16::from(t & 0x0F);
            let mut at = pos + 1;
            let link_len = if extended_link {
                let n = usize::from(*b.get(at)?);
                at += 1;
                n
            } else {
                1
            };
            if port == 15 {
                port = u16le(b, at)?;
                at += 2;
            }
            let link = b.get(at..at + link_len)?;
            at += link_len;
            let mut n = at - pos;
            if n % 2 == 1 {
                n += 1;
            }
            Some((Segment::Port { port, link }, n))
        }
        1 => {
            let kind = (t >> 2) & 0x07;
            let format = t & 0x03;
            if kind == 5 {
                // Special: electronic key, format 4.
                if *b.get(pos + 1)? != 4 {
                    return None;
                }
                let k = b.get(pos + 2..pos + 10)?;
                let rev = *k.get(6)?;
                return Some((
                    Segment::Key {
                        vendor: u16le(k, 0)?,
                        device_type: u16le(k, 2)?,
                        product_code: u16le(k, 4)?,
                        major: rev & 0x7F,
                        minor: *k.get(7)?,
                        compatibility: rev & 0x80 != 0,
                    },
                    10,
                ));
            }
            let which = match kind {
                0 => Logical::Class,
                1 => Logical::Instance,
                2 => Logical::Member,
                3 => Logical::ConnectionPoint,
                4 => Logical::Attribute,
                6 => Logical::ServiceId,
                _ => return None,
            };
            let (v, n) = logical_value(b, pos, format)?;
            Some((Segment::Logical(which, v), n))
        }
        2 => {
            // Network segment: 0x5X carry a word count.
            if t & 0x10 != 0 {
                let words = usize::from(*b.get(pos + 1)?);
                let data = b.get(pos + 2..pos + 2 + words * 2)?;
                Some((Segment::Network(t, data), 2 + words * 2))
            } else {
                let data = b.get(pos + 1..pos + 2)?;
                Some((Segment::Network(t, data), 2))
            }
        }
        3 => {
            // Symbolic segment: size in the low 5 bits (extended format unsupported).
            let len = usize::from(t & 0x1F);
            if len == 0 {
                return None;
            }
            let s = b.get(pos + 1..pos + 1 + len)?;
            let mut n = 1 + len;
            if n % 2 == 1 {
                n += 1;
            }
            Some((Segment::Symbol(s), n))
        }
        4 => match t {
            0x80 => {
                let words = usize::from(*b.get(pos + 1)?);
                let data = b.get(pos + 2..pos + 2 + words * 2)?;
                Some((Segment::Data(data), 2 + words * 2))
            }
            0x91 => {
                let len = usize::from(*b.get(pos + 1)?);
                let s = b.get(pos + 2..pos + 2 + len)?;
                let mut n = 2 + len;
                if n % 2 == 1 {
                    n += 1;
                }
                Some((Segment::Symbol(s), n))
            }
            _ => None,
        },
        6 => Some((Segment::DataType(t), 1)),
        _ => None,
    }
}

/// Longest rendered tag or path kept.
pub const MAX_TEXT: usize = 256;

fn push_symbol(out: &mut String, s: &[u8]) {
    for &c in s {
        if out.len() >= MAX_TEXT {
            break;
        }
        let ch = char::from(c);
        if ch.is_ascii_graphic() || ch == ' ' {
            out.push(ch);
        } else {
            out.push('?');
        }
    }
}

/// What a request path addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub class: Option<u32>,
    pub instance: Option<u32>,
    pub attribute: Option<u32>,
    pub member: Option<u32>,
    pub connection_point: Option<u32>,
    /// Logix tag name: symbols joined with `.`, member (element) ids as `[n]`.
    pub tag: Option<String>,
}

impl Path<'_> {
    /// Class, instance, attribute, member and tag addressed by the path.
    pub fn target(&self) -> Target {
        let mut t = Target::default();
        let mut tag = String::new();
        let mut after_symbol = false;
        for seg in &self.segments {
            match *seg {
                Segment::Symbol(s) => {
                    if !tag.is_empty() {
                        tag.push('.');
                    }
                    push_symbol(&mut tag, s);
                    after_symbol = true;
                }
                Segment::Logical(Logical::Member, v) if after_symbol => {
                    if tag.ends_with(']') {
                        tag.pop();
                        let _ = write!(tag, ",{v}]");
                    } else {
                        let _ = write!(tag, "[{v}]");
                    }
                }
                Segment::Logical(kind, v) => {
                    after_symbol = false;
                    let slot = match kind {
                        Logical::Class => &mut t.class,
                        Logical::Instance => &mut t.instance,
                        Logical::Attribute => &mut t.attribute,
                        Logical::Member => &mut t.member,
                        Logical::ConnectionPoint => &mut t.connection_point,
                        Logical::ServiceId => continue,
                    };
                    if slot.is_none() {
                        *slot = Some(v);
                    }
                }
                _ => after_symbol = false,
            }
        }
        if !tag.is_empty() {
            tag.truncate(MAX_TEXT);
            t.tag = Some(tag);
        }
        t
    }

    pub fn has_symbol(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Symbol(_)))
    }

    /// Human-readable rendering, e.g. `port 1 link 0, class 0x02, instance 1`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for seg in &self.segments {
            if out.len() >= MAX_TEXT {
                break;
            }
            if !out.is_empty() {
                out.push_str(", ");
            }
            match *seg {
                Segment::Port { port, link } => {
                    let _ = write!(out, "port {port} link ");
                    if link.len() == 1 {
                        let _ = write!(out, "{}", link.first().copied().unwrap_or(0));
                    } else {
                        push_symbol(&mut out, link);
                    }
                }
                Segment::Logical(kind, v) => {
                    let _ = match kind {
                        Logical::Class => write!(out, "class 0x{v:02x}"),
                        Logical::Instance => write!(out, "instance {v}"),
                        Logical::Member => write!(out, "member {v}"),
                        Logical::ConnectionPoint => write!(out, "connection_point {v}"),
                        Logical::Attribute => write!(out, "attribute {v}"),
                        Logical::ServiceId => write!(out, "service 0x{v:02x}"),
                    };
                }
                Segment::Key {
                    vendor,
                    device_type,
                    product_code,
                    major,
                    minor,
                    ..
                } => {
                    let _ = write!(
                        out,
                        "key vendor {vendor} device_type {device_type} product {product_code} revision {major}.{minor}"
                    );
                }
                Segment::Network(t, d) => {
                    let _ = write!(out, "network 0x{t:02x}");
                    if let Some(v) = d.first().filter(|_| d.len() == 1) {
                        let _ = write!(out, " {v}");
                    }
                }
                Segment::Symbol(s) => {
                    out.push_str("symbol ");
                    push_symbol(&mut out, s);
                }
                Segment::Data(d) => {
                    let _ = write!(out, "data {} bytes", d.len());
                }
                Segment::DataType(t) => {
                    let _ = write!(out, "data_type 0x{t:02x}");
                }
            }
        }
        if self.error {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str("undecoded");
        }
        out.truncate(MAX_TEXT);
        out
    }
}

/// Unconnected_Send request data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnconnectedSend<'a> {
    pub priority_time_tick: u8,
    pub timeout_ticks: u8,
    pub message: &'a [u8],
    pub route_path: &'a [u8],
}

pub fn parse_unconnected_send(d: &[u8]) -> Option<UnconnectedSend<'_>> {
    let size = usize::from(u16le(d, 2)?);
    let message = d.get(4..4 + size)?;
    let mut at = 4 + size;
    if size % 2 == 1 {
        at += 1;
    }
    let words = usize::from(d.get(at).copied().unwrap_or(0));
    let route_path = d.get(at + 2..at + 2 + words * 2).unwrap_or_default();
    Some(UnconnectedSend {
        priority_time_tick: *d.first()?,
        timeout_ticks: *d.get(1)?,
        message,
        route_path,
    })
}

/// Forward_Open / Large_Forward_Open request data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardOpenReq<'a> {
    pub priority_time_tick: u8,
    pub timeout_ticks: u8,
    pub o_t_connection_id: u32,
    pub t_o_connection_id: u32,
    pub connection_serial: u16,
    pub originator_vendor: u16,
    pub originator_serial: u32,
    pub timeout_multiplier: u8,
    pub o_t_rpi: u32,
    /// Network connection parameters (16 bits, or 32 bits for Large_Forward_Open).
    pub o_t_params: u32,
    pub t_o_rpi: u32,
    pub t_o_params: u32,
    pub transport: u8,
    pub path: &'a [u8],
}

pub fn parse_forward_open(d: &[u8], large: bool) -> Option<ForwardOpenReq<'_>> {
    let (o_t_params, t_o_rpi, t_o_params, next) = if large {
        (u32le(d, 26)?, u32le(d, 30)?, u32le(d, 34)?, 38)
    } else {
        (
            u32::from(u16le(d, 26)?),
            u32le(d, 28)?,
            u32::from(u16le(d, 32)?),
            34,
        )
    };
    let transport = *d.get(next)?;
    let words = usize::from(*d.get(next + 1)?);
    let path = d
        .get(next + 2..next + 2 + words * 2)
        .or_else(|| d.get(next + 2..))
        .unwrap_or_default();
    Some(ForwardOpenReq {
        priority_time_tick: *d.first()?,
        timeout_ticks: *d.get(1)?,
        o_t_connection_id: u32le(d, 2)?,
        t_o_connection_id: u32le(d, 6)?,
        connection_serial: u16le(d, 10)?,
        originator_vendor: u16le(d, 12)?,
        originator_serial: u32le(d, 14)?,
        timeout_multiplier: *d.get(18)?,
        o_t_rpi: u32le(d, 22)?,
        o_t_params,
        t_o_rpi,
        t_o_params,
        transport,
        path,
    })
}

/// Successful Forward_Open reply data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardOpenReply {
    pub o_t_connection_id: u32,
    pub t_o_connection_id: u32,
    pub connection_serial: u16,
    pub originator_vendor: u16,
    pub originator_serial: u32,
    pub o_t_api: u32,
    pub t_o_api: u32,
}

pub fn parse_forward_open_reply(d: &[u8]) -> Option<ForwardOpenReply> {
    Some(ForwardOpenReply {
        o_t_connection_id: u32le(d, 0)?,
        t_o_connection_id: u32le(d, 4)?,
        connection_serial: u16le(d, 8)?,
        originator_vendor: u16le(d, 10)?,
        originator_serial: u32le(d, 12)?,
        o_t_api: u32le(d, 16)?,
        t_o_api: u32le(d, 20)?,
    })
}

/// Forward_Close request data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardCloseReq<'a> {
    pub connection_serial: u16,
    pub originator_vendor: u16,
    pub originator_serial: u32,
    pub path: &'a [u8],
}

pub fn parse_forward_close(d: &[u8]) -> Option<ForwardCloseReq<'_>> {
    let words = usize::from(*d.get(10)?);
    Some(ForwardCloseReq {
        connection_serial: u16le(d, 2)?,
        originator_vendor: u16le(d, 4)?,
        originator_serial: u32le(d, 6)?,
        path: d
            .get(12..12 + words * 2)
            .or_else(|| d.get(12..))
            .unwrap_or_default(),
    })
}

/// Multiple_Service_Packet data: the embedded messages (at most `max`).
pub fn parse_multiple(d: &[u8], max: usize) -> Option<(Vec<&[u8]>, bool)> {
    let count = usize::from(u16le(d, 0)?);
    let mut offsets = Vec::with_capacity(count.min(max));
    for i in 0..count.min(max) {
        offsets.push(usize::from(u16le(d, 2 + i * 2)?));
    }
    let mut out = Vec::with_capacity(offsets.len());
    for (i, &start) in offsets.iter().enumerate() {
        let end = offsets
            .get(i + 1)
            .copied()
            .filter(|&e| e >= start)
            .unwrap_or(d.len())
            .min(d.len());
        if let Some(m) = d.get(start..end) {
            out.push(m);
        } else {
            return Some((out, true));
        }
    }
    Some((out, count > max))
}

/// Tag values: data type and element values converted to `f64`, at most `max`.
pub fn decode_values(ty: u16, data: &[u8], max: usize) -> (Vec<f64>, bool) {
    let Some(size) = names::data_type_size(ty) else {
        return (Vec::new(), false);
    };
    let mut v = Vec::with_capacity((data.len() / size.max(1)).min(max));
    let mut chunks = data.chunks_exact(size);
    for c in chunks.by_ref() {
        if v.len() >= max {
            return (v, true);
        }
        let x = match (ty, c) {
            (0xC1, [b]) => f64::from(u8::from(*b != 0)),
            (0xC2, [b]) => f64::from(*b as i8),
            (0xC6 | 0xD1, [b]) => f64::from(*b),
            (0xC3, [a, b]) => f64::from(i16::from_le_bytes([*a, *b])),
            (0xC7 | 0xD2, [a, b]) => f64::from(u16::from_le_bytes([*a, *b])),
            (0xC4 | 0xCC | 0xCD | 0xCE, [a, b, c2, d]) => {
                f64::from(i32::from_le_bytes([*a, *b, *c2, *d]))
            }
            (0xC8 | 0xD3, [a, b, c2, d]) => f64::from(u32::from_le_bytes([*a, *b, *c2, *d])),
            (0xCA, [a, b, c2, d]) => f64::from(f32::from_le_bytes([*a, *b, *c2, *d])),
            (0xC5 | 0xCF, s) => match <[u8; 8]>::try_from(s) {
                Ok(a) => i64::from_le_bytes(a) as f64,
                Err(_) => continue,
            },
            (0xC9 | 0xD4, s) => match <[u8; 8]>::try_from(s) {
                Ok(a) => u64::from_le_bytes(a) as f64,
                Err(_) => continue,
            },
            (0xCB, s) => match <[u8; 8]>::try_from(s) {
                Ok(a) => f64::from_le_bytes(a),
                Err(_) => continue,
            },
            _ => continue,
        };
        v.push(x);
    }
    (v, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        // class 0x02 instance 1
        let p = parse_path(&[0x20, 0x02, 0x24, 0x01]);
        let t = p.target();
        assert_eq!((t.class, t.instance), (Some(2), Some(1)));
        assert_eq!(p.render(), "class 0x02, instance 1");
        // 16-bit instance with pad byte, attribute
        let p = parse_path(&[0x20, 0x68, 0x25, 0x00, 0x20, 0x24, 0x30, 0x03]);
        let t = p.target();
        assert_eq!(
            (t.class, t.instance, t.attribute),
            (Some(0x68), Some(0x2420), Some(3))
        );
        // ANSI symbol "SCADA" (padded) with element 5 then member "X"
        let p = parse_path(&[
            0x91, 0x05, b'S', b'C', b'A', b'D', b'A', 0x00, 0x28, 0x05, 0x91, 0x01, b'X', 0x00,
        ]);
        assert_eq!(p.target().tag.as_deref(), Some("SCADA[5].X"));
        assert!(p.has_symbol());
        // port segment backplane slot 0 then class/instance
        let p = parse_path(&[0x01, 0x00, 0x20, 0x02, 0x24, 0x01]);
        assert_eq!(p.render(), "port 1 link 0, class 0x02, instance 1");
        // extended link address (IP as text)
        let p = parse_path(b"\x12\x0910.0.0.12\x00");
        assert_eq!(p.render(), "port 2 link 10.0.0.12");
        // garbage
        let p = parse_path(&[0xE0, 0x01]);
        assert!(p.error);
    }

    #[test]
    fn values() {
        assert_eq!(
            decode_values(0xC4, &[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], 64).0,
            vec![1.0, -1.0]
        );
        assert_eq!(decode_values(0xCA, &1.5f32.to_le_bytes(), 64).0, vec![1.5]);
        assert_eq!(decode_values(0xA0, &[1, 2], 64).0, Vec::<f64>::new());
    }
}
