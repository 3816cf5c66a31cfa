//! Pure decoding of DNS messages (RFC 1035, RFC 2136 for dynamic update): header,
//! names with compression pointers (bounded: at most [`MAX_JUMPS`] pointer hops and
//! [`MAX_NAME`] octets, so a pointer loop ends in [`Error::PointerLoop`]), questions,
//! resource records and the RDATA of the common types.
use std::net::{Ipv4Addr, Ipv6Addr};
use thiserror::Error;

/// Size of the fixed header.
pub const HEADER_LEN: usize = 12;
/// Longest name in octets on the wire (RFC 1035 §3.1).
pub const MAX_NAME: usize = 255;
/// Compression pointers followed in one name before it is called a loop.
pub const MAX_JUMPS: usize = 64;
/// Strings kept from one TXT record.
pub const MAX_TXT_STRINGS: usize = 16;

/// A decoding error; [`Error::kind`] is the anomaly kind.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error("message of {0} bytes is shorter than the 12-byte header")]
    ShortHeader(usize),
    #[error("name at offset {0} runs past the end of the message")]
    TruncatedName(usize),
    #[error("compression pointer loop in the name at offset {0}")]
    PointerLoop(usize),
    #[error("name at offset {0} is longer than 255 octets")]
    NameTooLong(usize),
    #[error("reserved label type 0x{0:02x}")]
    BadLabel(u8),
    #[error("question at offset {0} is truncated")]
    TruncatedQuestion(usize),
    #[error("resource record at offset {0} is truncated")]
    TruncatedRecord(usize),
    #[error("RDATA of a type {rtype} record has a bad length ({len} bytes)")]
    BadRdata { rtype: u16, len: usize },
}

impl Error {
    /// Stable anomaly kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::ShortHeader(_) => "short_message",
            Error::TruncatedName(_) => "truncated_name",
            Error::PointerLoop(_) => "pointer_loop",
            Error::NameTooLong(_) => "name_too_long",
            Error::BadLabel(_) => "bad_label",
            Error::TruncatedQuestion(_) => "truncated_question",
            Error::TruncatedRecord(_) => "truncated_record",
            Error::BadRdata { .. } => "bad_rdata",
        }
    }
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The fixed 12-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    pub fn parse(b: &[u8]) -> Option<Header> {
        Some(Header {
            id: u16_at(b, 0)?,
            flags: u16_at(b, 2)?,
            qdcount: u16_at(b, 4)?,
            ancount: u16_at(b, 6)?,
            nscount: u16_at(b, 8)?,
            arcount: u16_at(b, 10)?,
        })
    }
    /// Response bit.
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }
    pub fn aa(&self) -> bool {
        self.flags & 0x0400 != 0
    }
    pub fn tc(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    pub fn rd(&self) -> bool {
        self.flags & 0x0100 != 0
    }
    pub fn ra(&self) -> bool {
        self.flags & 0x0080 != 0
    }
    /// The reserved Z bit.
    pub fn z(&self) -> bool {
        self.flags & 0x0040 != 0
    }
    pub fn ad(&self) -> bool {
        self.flags & 0x0020 != 0
    }
    pub fn cd(&self) -> bool {
        self.flags & 0x0010 != 0
    }
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x000f) as u8
    }
}

/// Appends one label to `out`, escaping `.`, `\` and non-printable octets
/// (`\DDD`, RFC 4343 presentation format).
fn push_label(out: &mut String, label: &[u8]) {
    for &c in label {
        match c {
            b'.' | b'\\' => {
                out.push('\\');
                out.push(char::from(c));
            }
            0x21..=0x7e => out.push(char::from(c)),
            _ => {
                out.push('\\');
                out.push(char::from(b'0' + c / 100));
                out.push(char::from(b'0' + (c / 10) % 10));
                out.push(char::from(b'0' + c % 10));
            }
        }
    }
}

/// Decodes the name at `off` of `msg`. Returns the name in presentation format
/// (`www.example.com`, `.` for the root) and the offset just after the name where
/// it started (after the first pointer if it is compressed).
pub fn read_name(msg: &[u8], off: usize) -> Result<(String, usize), Error> {
    let mut out = String::new();
    let end = walk_name(msg, off, Some(&mut out))?;
    if out.is_empty() {
        out.push('.');
    }
    Ok((out, end))
}

/// Skips the name at `off`, checking it like [`read_name`] without rendering it.
pub fn skip_name(msg: &[u8], off: usize) -> Result<usize, Error> {
    walk_name(msg, off, None)
}

fn walk_name(msg: &[u8], start: usize, mut out: Option<&mut String>) -> Result<usize, Error> {
    let mut pos = start;
    let mut end = None;
    let mut jumps = 0usize;
    let mut octets = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(Error::TruncatedName(start))?;
        match len & 0xc0 {
            0x00 => {
                let n = usize::from(len);
                if n == 0 {
                    return Ok(end.unwrap_or(pos + 1));
                }
                octets += n + 1;
                if octets > MAX_NAME {
                    return Err(Error::NameTooLong(start));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + n)
                    .ok_or(Error::TruncatedName(start))?;
                if let Some(o) = out.as_deref_mut() {
                    if !o.is_empty() {
                        o.push('.');
                    }
                    push_label(o, label);
                }
                pos += 1 + n;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(Error::TruncatedName(start))?;
                let target = usize::from(len & 0x3f) << 8 | usize::from(lo);
                if end.is_none() {
                    end = Some(pos + 2);
                }
                jumps += 1;
                if jumps > MAX_JUMPS || target >= msg.len() {
                    return Err(if jumps > MAX_JUMPS {
                        Error::PointerLoop(start)
                    } else {
                        Error::TruncatedName(start)
                    });
                }
                pos = target;
            }
            other => return Err(Error::BadLabel(other)),
        }
    }
}

/// One question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawQuestion {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

/// SOA RDATA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoaData {
    pub mname: String,
    pub rname: String,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

/// Decoded RDATA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rdata<'a> {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// NS, CNAME, PTR, DNAME, MB, MG, MR.
    Name(String),
    Mx {
        preference: u16,
        exchange: String,
    },
    /// Character strings (at most [`MAX_TXT_STRINGS`]; `more` when cut).
    Txt {
        strings: Vec<&'a [u8]>,
        more: bool,
    },
    Soa(Box<SoaData>),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    /// No RDATA (update deletions, prerequisites).
    Empty,
    /// Any other type: the raw bytes.
    Other(&'a [u8]),
}

/// One resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecord<'a> {
    pub name: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: Rdata<'a>,
}

/// A decoded message. Sections keep at most `max` entries each (the header counts
/// tell how many there were); `error` is the first problem met, after which the
/// rest of the message was not decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub header: Header,
    pub questions: Vec<RawQuestion>,
    pub answers: Vec<RawRecord<'a>>,
    pub authorities: Vec<RawRecord<'a>>,
    pub additionals: Vec<RawRecord<'a>>,
    pub error: Option<Error>,
    /// Bytes after the last record.
    pub trailing: usize,
    /// Some section had more entries than `max`.
    pub capped: bool,
}

fn rdata<'a>(msg: &'a [u8], rtype: u16, off: usize, len: usize) -> Result<Rdata<'a>, Error> {
    let data = msg.get(off..off + len).ok_or(Error::TruncatedRecord(off))?;
    let bad = || Error::BadRdata { rtype, len };
    if len == 0 {
        return Ok(Rdata::Empty);
    }
    // A name inside RDATA must end inside the RDATA.
    let name_in = |at: usize| -> Result<(String, usize), Error> {
        let (n, end) = read_name(msg, at)?;
        if end > off + len {
            return Err(bad());
        }
        Ok((n, end))
    };
    Ok(match rtype {
        1 => {
            let a: [u8; 4] = data.try_into().map_err(|_| bad())?;
            Rdata::A(Ipv4Addr::from(a))
        }
        28 => {
            let a: [u8; 16] = data.try_into().map_err(|_| bad())?;
            Rdata::Aaaa(Ipv6Addr::from(a))
        }
        2 | 5 | 7 | 8 | 9 | 12 | 39 => Rdata::Name(name_in(off)?.0),
        15 => {
            let preference = u16_at(data, 0).ok_or_else(bad)?;
            Rdata::Mx {
                preference,
                exchange: name_in(off + 2)?.0,
            }
        }
        16 | 99 => {
            let mut strings = Vec::new();
            let mut more = false;
            let mut p = 0usize;
            while p < data.len() {
                let n = usize::from(data[p]);
                let s = data.get(p + 1..p + 1 + n).ok_or_else(bad)?;
                if strings.len() < MAX_TXT_STRINGS {
                    strings.push(s);
                } else {
                    more = true;
                }
                p += 1 + n;
            }
            Rdata::Txt { strings, more }
        }
        6 => {
            let (mname, e1) = name_in(off)?;
            let (rname, e2) = name_in(e1)?;
            let n = |i: usize| u32_at(msg, e2 + 4 * i).filter(|_| e2 + 4 * i + 4 <= off + len);
            Rdata::Soa(Box::new(SoaData {
                mname,
                rname,
                serial: n(0).ok_or_else(bad)?,
                refresh: n(1).ok_or_else(bad)?,
                retry: n(2).ok_or_else(bad)?,
                expire: n(3).ok_or_else(bad)?,
                minimum: n(4).ok_or_else(bad)?,
            }))
        }
        33 => {
            if len < 7 {
                return Err(bad());
            }
            Rdata::Srv {
                priority: u16_at(data, 0).ok_or_else(bad)?,
                weight: u16_at(data, 2).ok_or_else(bad)?,
                port: u16_at(data, 4).ok_or_else(bad)?,
                target: name_in(off + 6)?.0,
            }
        }
        _ => Rdata::Other(data),
    })
}

/// Decodes a question or record section starting at `pos`; returns the offset after it.
fn section<'a>(
    msg: &'a [u8],
    mut pos: usize,
    count: u16,
    max: usize,
    out: &mut Vec<RawRecord<'a>>,
    capped: &mut bool,
) -> Result<usize, Error> {
    for _ in 0..count {
        let start = pos;
        let keep = out.len() < max;
        let (name, after) = if keep {
            read_name(msg, pos)?
        } else {
            (String::new(), skip_name(msg, pos)?)
        };
        let rtype = u16_at(msg, after).ok_or(Error::TruncatedRecord(start))?;
        let class = u16_at(msg, after + 2).ok_or(Error::TruncatedRecord(start))?;
        let ttl = u32_at(msg, after + 4).ok_or(Error::TruncatedRecord(start))?;
        let rdlen = usize::from(u16_at(msg, after + 8).ok_or(Error::TruncatedRecord(start))?);
        let rd_off = after + 10;
        if rd_off + rdlen > msg.len() {
            return Err(Error::TruncatedRecord(start));
        }
        if keep {
            out.push(RawRecord {
                name,
                rtype,
                class,
                ttl,
                rdata: rdata(msg, rtype, rd_off, rdlen)?,
            });
        } else {
            *capped = true;
        }
        pos = rd_off + rdlen;
    }
    Ok(pos)
}

/// Decodes a whole message. `Err` only when even the header is missing; other
/// problems stop decoding and are reported in [`Message::error`].
pub fn parse_message(msg: &[u8], max: usize) -> Result<Message<'_>, Error> {
    let header = Header::parse(msg).ok_or(Error::ShortHeader(msg.len()))?;
    let mut m = Message {
        header,
        questions: Vec::new(),
        answers: Vec::new(),
        authorities: Vec::new(),
        additionals: Vec::new(),
        error: None,
        trailing: 0,
        capped: false,
    };
    let mut pos = HEADER_LEN;
    let r = (|| -> Result<usize, Error> {
        for _ in 0..header.qdcount {
            let start = pos;
            let keep = m.questions.len() < max;
            let (name, after) = if keep {
                read_name(msg, pos)?
            } else {
                (String::new(), skip_name(msg, pos)?)
            };
            let qtype = u16_at(msg, after).ok_or(Error::TruncatedQuestion(start))?;
            let qclass = u16_at(msg, after + 2).ok_or(Error::TruncatedQuestion(start))?;
            if keep {
                m.questions.push(RawQuestion {
                    name,
                    qtype,
                    qclass,
                });
            } else {
                m.capped = true;
            }
            pos = after + 4;
        }
        pos = section(msg, pos, header.ancount, max, &mut m.answers, &mut m.capped)?;
        pos = section(
            msg,
            pos,
            header.nscount,
            max,
            &mut m.authorities,
            &mut m.capped,
        )?;
        pos = section(
            msg,
            pos,
            header.arcount,
            max,
            &mut m.additionals,
            &mut m.capped,
        )?;
        Ok(pos)
    })();
    match r {
        Ok(end) => m.trailing = msg.len().saturating_sub(end),
        Err(e) => m.error = Some(e),
    }
    Ok(m)
}

/// Is `msg` a whole, well-formed DNS message (the probe's test)? Every count is
/// honoured, nothing is left over, the opcode is assigned and the message holds at
/// least one question or record.
pub fn plausible(msg: &[u8]) -> bool {
    let Ok(m) = parse_message(msg, 0) else {
        return false;
    };
    let h = m.header;
    let total =
        u32::from(h.qdcount) + u32::from(h.ancount) + u32::from(h.nscount) + u32::from(h.arcount);
    m.error.is_none()
        && !netbios(msg)
        && m.trailing == 0
        && matches!(h.opcode(), 0 | 1 | 2 | 4 | 5 | 6)
        && h.qdcount <= 16
        && total > 0
        && (h.qr() || h.rcode() == 0 || h.opcode() == 5)
}

/// Does the first name of the message look like a NetBIOS name (RFC 1002 first-level
/// encoding: one 32-character label of `A`..`P`)? NetBIOS Name Service (UDP 137)
/// borrows the DNS layout but is not DNS.
pub fn netbios(msg: &[u8]) -> bool {
    match msg.get(HEADER_LEN..HEADER_LEN + 33) {
        Some([32, rest @ ..]) => rest.iter().all(|c| (b'A'..=b'P').contains(c)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_pointers() {
        // header + "a.b" at 12, then a pointer to it at 17
        let mut m = vec![0u8; 12];
        m.extend_from_slice(&[1, b'a', 1, b'b', 0, 0xc0, 12]);
        assert_eq!(read_name(&m, 12).unwrap(), ("a.b".to_string(), 17));
        assert_eq!(read_name(&m, 17).unwrap(), ("a.b".to_string(), 19));
        // self-pointing loop
        let mut l = vec![0u8; 12];
        l.extend_from_slice(&[0xc0, 12]);
        assert_eq!(read_name(&l, 12), Err(Error::PointerLoop(12)));
        // two pointers pointing at each other
        let mut l2 = vec![0u8; 12];
        l2.extend_from_slice(&[1, b'x', 0xc0, 16, 0xc0, 12]);
        assert_eq!(read_name(&l2, 12), Err(Error::PointerLoop(12)));
        // pointer past the end
        let mut p = vec![0u8; 12];
        p.extend_from_slice(&[0xc0, 200]);
        assert_eq!(read_name(&p, 12), Err(Error::TruncatedName(12)));
        // escapes and root
        let mut e = vec![0u8; 12];
        e.extend_from_slice(&[3, b'a', b'.', 7, 0, 0]);
        assert_eq!(read_name(&e, 12).unwrap().0, "a\\.\\007");
        assert_eq!(read_name(&e, 17).unwrap().0, ".");
        assert_eq!(read_name(&[0x40], 0), Err(Error::BadLabel(0x40)));
    }

    #[test]
    fn header_bits() {
        let h = Header::parse(&[0x12, 0x34, 0xad, 0x83, 0, 1, 0, 2, 0, 3, 0, 4]).unwrap();
        assert_eq!(h.id, 0x1234);
        assert!(h.qr() && h.aa() && h.rd() && h.ra() && !h.tc());
        assert_eq!(h.opcode(), 5);
        assert_eq!(h.rcode(), 3);
        assert_eq!((h.qdcount, h.ancount, h.nscount, h.arcount), (1, 2, 3, 4));
        assert!(Header::parse(&[0; 11]).is_none());
    }
}
