//! BACnet tagged encoding (clause 20.2): tag headers, application-tagged primitive
//! values, and a reader that walks context-tagged service parameters.
use serde::Serialize;
use std::fmt::Write as _;

/// Longest string / octet string kept (characters / bytes).
pub const MAX_STRING: usize = 256;
/// Values kept per property.
pub const MAX_VALUES: usize = 16;

/// A tag header and where its content lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    pub number: u8,
    pub context: bool,
    /// Opening (LVT 6) or closing (LVT 7) context tag.
    pub opening: bool,
    pub closing: bool,
    /// Length/value/type field: the content length, or an application boolean's value.
    pub lvt: u32,
    /// Content start and end in the buffer.
    pub start: usize,
    pub end: usize,
}

/// Deepest nesting of opening context tags in one APDU before it is reported as
/// `nesting_too_deep` (real services nest a handful of levels).
pub const MAX_DEPTH: usize = 32;

/// Decodes the tag at `pos`.
pub fn tag_at(b: &[u8], pos: usize) -> Option<Tag> {
    header_at(b, pos).filter(|t| t.end <= b.len())
}

/// Decodes the tag header at `pos`; `end` is where the declared content ends, which
/// may lie past the buffer.
fn header_at(b: &[u8], pos: usize) -> Option<Tag> {
    let t = *b.get(pos)?;
    let mut p = pos + 1;
    let mut number = t >> 4;
    if number == 15 {
        number = *b.get(p)?;
        p += 1;
    }
    let context = t & 0x08 != 0;
    let lvt3 = t & 0x07;
    if context && (lvt3 == 6 || lvt3 == 7) {
        return Some(Tag {
            number,
            context,
            opening: lvt3 == 6,
            closing: lvt3 == 7,
            lvt: 0,
            start: p,
            end: p,
        });
    }
    let len: u32 = if lvt3 == 5 {
        let e = *b.get(p)?;
        p += 1;
        match e {
            254 => {
                let v = u16::from_be_bytes([*b.get(p)?, *b.get(p + 1)?]);
                p += 2;
                u32::from(v)
            }
            255 => {
                let s = b.get(p..p + 4)?;
                p += 4;
                u32::from_be_bytes([*s.first()?, *s.get(1)?, *s.get(2)?, *s.get(3)?])
            }
            n => u32::from(n),
        }
    } else {
        u32::from(lvt3)
    };
    // An application boolean carries its value in the LVT, no content.
    let content = if !context && number == 1 {
        0
    } else {
        len as usize
    };
    let end = p.checked_add(content)?;
    Some(Tag {
        number,
        context,
        opening: false,
        closing: false,
        lvt: len,
        start: p,
        end,
    })
}

/// A structural problem of tagged service data found by [`scan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagIssue {
    /// More than [`MAX_DEPTH`] opening tags are open at offset `at`.
    TooDeep { at: usize },
    /// The tag at `at` declares `declared` content octets; only `left` remain.
    Overrun {
        at: usize,
        declared: u32,
        left: usize,
    },
}

impl TagIssue {
    /// The anomaly kind.
    pub fn kind(&self) -> &'static str {
        match self {
            TagIssue::TooDeep { .. } => "nesting_too_deep",
            TagIssue::Overrun { .. } => "bad_length",
        }
    }
}

impl std::fmt::Display for TagIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TagIssue::TooDeep { at } => write!(
                f,
                "more than {MAX_DEPTH} nested opening tags at APDU data offset {at}"
            ),
            TagIssue::Overrun { at, declared, left } => write!(
                f,
                "tag at APDU data offset {at} declares {declared} octets, {left} left in the APDU"
            ),
        }
    }
}

/// Walks all tags of service data once (linear, no allocation) and reports the first
/// nesting deeper than [`MAX_DEPTH`] or declared length past the end of the data. A
/// tag header cut by the end of the data is left to the decoders (not reported here).
pub fn scan(b: &[u8]) -> Option<TagIssue> {
    let mut pos = 0usize;
    let mut depth = 0usize;
    while pos < b.len() {
        let t = header_at(b, pos)?;
        if t.end > b.len() {
            return Some(TagIssue::Overrun {
                at: pos,
                declared: t.lvt,
                left: b.len().saturating_sub(t.start),
            });
        }
        if t.opening {
            depth += 1;
            if depth > MAX_DEPTH {
                return Some(TagIssue::TooDeep { at: pos });
            }
        } else if t.closing {
            depth = depth.saturating_sub(1);
        }
        pos = t.end;
    }
    None
}

/// A BACnet object identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectId {
    #[serde(rename = "type")]
    pub object_type: u16,
    pub type_name: &'static str,
    pub instance: u32,
}

impl ObjectId {
    pub fn from_u32(v: u32) -> ObjectId {
        let t = (v >> 22) as u16;
        ObjectId {
            object_type: t,
            type_name: super::names::object_type_name(t),
            instance: v & 0x3F_FFFF,
        }
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{}", self.type_name, self.instance)
    }
}

/// An application-tagged primitive value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Null,
    Boolean(bool),
    Unsigned(u64),
    Signed(i64),
    Real(f32),
    Double(f64),
    /// Hex, at most [`MAX_STRING`] bytes.
    OctetString(String),
    CharacterString(String),
    /// Bits as `0`/`1`, first bit first.
    BitString(String),
    Enumerated(u32),
    /// `YYYY-MM-DD` (`*` for unspecified fields), with the weekday number.
    Date(String),
    /// `HH:MM:SS.hh` (`*` for unspecified fields).
    Time(String),
    ObjectId(ObjectId),
    /// Application tags 13-15.
    Reserved(u8),
}

impl Value {
    /// The value as a number (writes checked against safety envelopes).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Boolean(b) => Some(if b { 1.0 } else { 0.0 }),
            Value::Unsigned(v) => Some(v as f64),
            Value::Signed(v) => Some(v as f64),
            Value::Real(v) => Some(f64::from(v)),
            Value::Double(v) => Some(v),
            Value::Enumerated(v) => Some(f64::from(v)),
            _ => None,
        }
    }

    /// The value as text (character strings).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::CharacterString(s) => Some(s),
            _ => None,
        }
    }
}

/// Unsigned big-endian integer of 1..=8 bytes.
pub fn unsigned(c: &[u8]) -> Option<u64> {
    if c.is_empty() || c.len() > 8 {
        return None;
    }
    Some(c.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
}

fn signed(c: &[u8]) -> Option<i64> {
    let u = unsigned(c)?;
    let bits = c.len() * 8;
    if bits >= 64 {
        return Some(u as i64);
    }
    let shift = 64 - bits;
    Some(((u << shift) as i64) >> shift)
}

fn hex(b: &[u8]) -> String {
    let mut s = String::new();
    for x in b.iter().take(MAX_STRING) {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Decodes a character string (first byte: character set).
pub fn character_string(c: &[u8]) -> String {
    let Some((&set, body)) = c.split_first() else {
        return String::new();
    };
    let s: String = match set {
        // UCS-2 big endian
        4 => {
            let units: Vec<u16> = body
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        // ISO 8859-1
        5 => body.iter().map(|&b| char::from(b)).collect(),
        // UTF-8 (0) and the rest, lossily
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_STRING)
        .collect()
}

fn date(c: &[u8]) -> Option<String> {
    let &[y, m, d, _w] = c else { return None };
    let f = |v: u8, w: usize| {
        if v == 255 {
            "*".to_string()
        } else {
            format!("{v:0w$}")
        }
    };
    let year = if y == 255 {
        "*".to_string()
    } else {
        (1900 + u32::from(y)).to_string()
    };
    Some(format!("{year}-{}-{}", f(m, 2), f(d, 2)))
}

fn time(c: &[u8]) -> Option<String> {
    let &[h, m, s, hs] = c else { return None };
    let f = |v: u8| {
        if v == 255 {
            "*".to_string()
        } else {
            format!("{v:02}")
        }
    };
    Some(format!("{}:{}:{}.{}", f(h), f(m), f(s), f(hs)))
}

/// Decodes an application-tagged value.
pub fn app_value(b: &[u8], t: &Tag) -> Option<Value> {
    let c = b.get(t.start..t.end)?;
    Some(match t.number {
        0 => Value::Null,
        1 => Value::Boolean(t.lvt != 0),
        2 => Value::Unsigned(unsigned(c)?),
        3 => Value::Signed(signed(c)?),
        4 => Value::Real(f32::from_be_bytes(c.try_into().ok()?)),
        5 => Value::Double(f64::from_be_bytes(c.try_into().ok()?)),
        6 => Value::OctetString(hex(c)),
        7 => Value::CharacterString(character_string(c)),
        8 => {
            let (&unused, bits) = c.split_first()?;
            let mut s = String::new();
            let total = (bits.len() * 8).saturating_sub(usize::from(unused.min(7)));
            for i in 0..total.min(MAX_STRING) {
                let byte = bits.get(i / 8).copied().unwrap_or(0);
                s.push(if byte & (0x80 >> (i % 8)) != 0 {
                    '1'
                } else {
                    '0'
                });
            }
            Value::BitString(s)
        }
        9 => Value::Enumerated(u32::try_from(unsigned(c)?).ok()?),
        10 => Value::Date(date(c)?),
        11 => Value::Time(time(c)?),
        12 => Value::ObjectId(ObjectId::from_u32(u32::try_from(unsigned(c)?).ok()?)),
        n => Value::Reserved(n),
    })
}

/// Walks the tags of service parameters.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    pub b: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, pos: 0 }
    }

    pub fn done(&self) -> bool {
        self.pos >= self.b.len()
    }

    pub fn peek(&self) -> Option<Tag> {
        tag_at(self.b, self.pos)
    }

    /// The content of context tag `n` (primitive) when it comes next.
    pub fn context(&mut self, n: u8) -> Option<&'a [u8]> {
        let t = self.peek()?;
        if t.context && t.number == n && !t.opening && !t.closing {
            self.pos = t.end;
            return self.b.get(t.start..t.end);
        }
        None
    }

    pub fn context_unsigned(&mut self, n: u8) -> Option<u64> {
        let save = self.pos;
        let v = self.context(n).and_then(unsigned);
        if v.is_none() {
            self.pos = save;
        }
        v
    }

    pub fn context_signed(&mut self, n: u8) -> Option<i64> {
        let save = self.pos;
        let v = self.context(n).and_then(signed);
        if v.is_none() {
            self.pos = save;
        }
        v
    }

    pub fn context_object(&mut self, n: u8) -> Option<ObjectId> {
        let save = self.pos;
        let v = self
            .context(n)
            .and_then(unsigned)
            .and_then(|v| u32::try_from(v).ok())
            .map(ObjectId::from_u32);
        if v.is_none() {
            self.pos = save;
        }
        v
    }

    /// Consumes opening tag `n` when it comes next.
    pub fn opening(&mut self, n: u8) -> bool {
        match self.peek() {
            Some(t) if t.context && t.opening && t.number == n => {
                self.pos = t.end;
                true
            }
            _ => false,
        }
    }

    /// Consumes closing tag `n` when it comes next.
    pub fn closing(&mut self, n: u8) -> bool {
        match self.peek() {
            Some(t) if t.context && t.closing && t.number == n => {
                self.pos = t.end;
                true
            }
            _ => false,
        }
    }

    /// The next application-tagged value.
    pub fn app(&mut self) -> Option<Value> {
        let t = self.peek()?;
        if t.context || t.opening || t.closing {
            return None;
        }
        let v = app_value(self.b, &t)?;
        self.pos = t.end;
        Some(v)
    }

    /// Skips one tag (a whole constructed value for an opening tag).
    pub fn skip(&mut self) -> bool {
        let Some(t) = self.peek() else {
            return false;
        };
        self.pos = t.end;
        if t.opening {
            let mut depth = 1u32;
            while depth > 0 {
                let Some(n) = self.peek() else {
                    return false;
                };
                self.pos = n.end;
                if n.opening {
                    depth += 1;
                } else if n.closing {
                    depth -= 1;
                }
            }
        }
        true
    }

    /// The application-tagged primitive values up to closing tag `n` (consumed);
    /// nested constructed values are walked, context-tagged primitives skipped.
    /// Returns the values (at most [`MAX_VALUES`]) and whether some were dropped.
    pub fn values_until(&mut self, n: u8) -> (Vec<Value>, bool) {
        let mut v = Vec::new();
        let mut cut = false;
        let mut depth = 0u32;
        while let Some(t) = self.peek() {
            if t.closing && depth == 0 {
                if t.number == n {
                    self.pos = t.end;
                }
                break;
            }
            self.pos = t.end;
            if t.opening {
                depth += 1;
            } else if t.closing {
                depth = depth.saturating_sub(1);
            } else if !t.context {
                match app_value(self.b, &t) {
                    Some(x) if v.len() < MAX_VALUES => v.push(x),
                    Some(_) => cut = true,
                    None => {}
                }
            }
        }
        (v, cut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_values() {
        // object identifier device,4194303 (application tag 12, 4 bytes)
        let b = [0xC4, 0x02, 0x3F, 0xFF, 0xFF];
        let t = tag_at(&b, 0).unwrap();
        assert_eq!((t.number, t.context, t.end), (12, false, 5));
        let Value::ObjectId(o) = app_value(&b, &t).unwrap() else {
            panic!()
        };
        assert_eq!((o.type_name, o.instance), ("device", 4_194_303));
        // real 60.092587 (0x42705ed0 approx)
        let r = 60.092_587f32.to_be_bytes();
        let b = [0x44, r[0], r[1], r[2], r[3]];
        let v = app_value(&b, &tag_at(&b, 0).unwrap()).unwrap();
        assert_eq!(v, Value::Real(60.092_587));
        // boolean true carries its value in the LVT
        let b = [0x11];
        assert_eq!(
            app_value(&b, &tag_at(&b, 0).unwrap()),
            Some(Value::Boolean(true))
        );
        // extended length character string
        let mut b = vec![0x75, 12, 0];
        b.extend_from_slice(b"Hello World");
        assert_eq!(
            app_value(&b, &tag_at(&b, 0).unwrap()),
            Some(Value::CharacterString("Hello World".into()))
        );
        // signed -2 in one byte
        let b = [0x31, 0xFE];
        assert_eq!(
            app_value(&b, &tag_at(&b, 0).unwrap()),
            Some(Value::Signed(-2))
        );
        // truncated content
        assert!(tag_at(&[0x44, 1, 2], 0).is_none());
        // bit string 10110 (3 unused bits)
        let b = [0x82, 0x03, 0xB0];
        assert_eq!(
            app_value(&b, &tag_at(&b, 0).unwrap()),
            Some(Value::BitString("10110".into()))
        );
    }

    #[test]
    fn scan_reports_deep_nesting_and_overruns() {
        // [3] { real 1.0 } [4] 8: fine
        let one = 1.0f32.to_be_bytes();
        let ok = [0x3E, 0x44, one[0], one[1], one[2], one[3], 0x3F, 0x49, 0x08];
        assert_eq!(scan(&ok), None);
        // MAX_DEPTH opening tags (then closed) are fine, one more is not.
        let mut b = vec![0x0E; MAX_DEPTH];
        b.extend(vec![0x0F; MAX_DEPTH]);
        assert_eq!(scan(&b), None);
        let b = vec![0x0E; MAX_DEPTH + 1];
        let issue = scan(&b).unwrap();
        assert_eq!(issue, TagIssue::TooDeep { at: MAX_DEPTH });
        assert_eq!(issue.kind(), "nesting_too_deep");
        // Siblings do not add up: 1,000 opening/closing pairs in a row.
        let b: Vec<u8> = std::iter::repeat_n([0x0E, 0x0F], 1_000).flatten().collect();
        assert_eq!(scan(&b), None);
        // An octet string (application tag 6) declaring 65,000 octets with 3 present.
        let b = [0x21, 0x05, 0x65, 0xFE, 0xFD, 0xE8, 1, 2, 3];
        let issue = scan(&b).unwrap();
        assert_eq!(
            issue,
            TagIssue::Overrun {
                at: 2,
                declared: 65_000,
                left: 3
            }
        );
        assert_eq!(issue.kind(), "bad_length");
        // A 4-byte extended length of 4 GiB.
        let b = [0x1D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0];
        assert!(matches!(
            scan(&b),
            Some(TagIssue::Overrun {
                declared: u32::MAX,
                ..
            })
        ));
        // A header cut short is the decoders' business.
        assert_eq!(scan(&[0x21, 0x05, 0x65, 0xFE]), None);
        // The reader still refuses the overrunning tag.
        assert!(tag_at(&[0x65, 0xFE, 0xFD, 0xE8, 1], 0).is_none());
    }

    #[test]
    fn reader_walks_constructed_values() {
        // [3] { real 1.0, [0] { unsigned 2 } , null } [4] 8
        let one = 1.0f32.to_be_bytes();
        let b = [
            0x3E, 0x44, one[0], one[1], one[2], one[3], 0x0E, 0x21, 0x02, 0x0F, 0x00, 0x3F, 0x49,
            0x08,
        ];
        let mut r = Reader::new(&b);
        assert!(r.opening(3));
        let (v, cut) = r.values_until(3);
        assert!(!cut);
        assert_eq!(v, vec![Value::Real(1.0), Value::Unsigned(2), Value::Null]);
        assert_eq!(r.context_unsigned(4), Some(8));
        assert!(r.done());
    }
}
