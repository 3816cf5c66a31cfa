//! A small zero-copy BER reader (ITU-T X.690) for MMS, ACSE, the presentation layer,
//! GOOSE and Sampled Values.
//!
//! Bounded by construction: tag numbers fit in 28 bits, definite lengths in four
//! octets, indefinite lengths are resolved by an iterative scan with a nesting limit
//! ([`MAX_DEPTH`]); nothing here recurses.
use thiserror::Error;

/// Deepest nesting of indefinite-length encodings resolved.
pub const MAX_DEPTH: usize = 32;

/// Tag class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Universal,
    Application,
    Context,
    Private,
}

/// Why a TLV could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum BerError {
    #[error("BER element truncated")]
    Truncated,
    #[error("BER length field invalid")]
    BadLength,
    #[error("BER tag number too large")]
    BadTag,
    #[error("BER indefinite length nested too deep or not terminated")]
    Indefinite,
}

/// One tag-length-value element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub class: Class,
    pub constructed: bool,
    pub tag: u32,
    /// The contents octets (without end-of-contents for indefinite lengths).
    pub value: &'a [u8],
    /// Octets of identifier and length.
    pub header_len: usize,
}

impl<'a> Tlv<'a> {
    /// Context-specific tag `n`?
    pub fn is_ctx(&self, n: u32) -> bool {
        self.class == Class::Context && self.tag == n
    }
    /// Universal tag `n`?
    pub fn is_univ(&self, n: u32) -> bool {
        self.class == Class::Universal && self.tag == n
    }
    /// The children of a constructed element.
    pub fn children(&self) -> Iter<'a> {
        Iter::new(self.value)
    }
    /// The first child (explicit tagging).
    pub fn inner(&self) -> Option<Tlv<'a>> {
        read(self.value).ok().map(|(t, _)| t)
    }
}

/// Identifier octets: (class, constructed, tag number, octets used).
pub fn identifier(input: &[u8]) -> Result<(Class, bool, u32, usize), BerError> {
    let first = *input.first().ok_or(BerError::Truncated)?;
    let class = match first >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let constructed = first & 0x20 != 0;
    if first & 0x1f != 0x1f {
        return Ok((class, constructed, u32::from(first & 0x1f), 1));
    }
    let mut tag: u32 = 0;
    for i in 1..=4 {
        let b = *input.get(i).ok_or(BerError::Truncated)?;
        tag = (tag << 7) | u32::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Ok((class, constructed, tag, i + 1));
        }
    }
    Err(BerError::BadTag)
}

/// Length octets: `Some(len)` for a definite length, `None` for indefinite; and the
/// octets used.
pub fn length(input: &[u8]) -> Result<(Option<usize>, usize), BerError> {
    let first = *input.first().ok_or(BerError::Truncated)?;
    if first < 0x80 {
        return Ok((Some(usize::from(first)), 1));
    }
    if first == 0x80 {
        return Ok((None, 1));
    }
    let n = usize::from(first & 0x7f);
    if n > 4 {
        return Err(BerError::BadLength);
    }
    let bytes = input.get(1..1 + n).ok_or(BerError::Truncated)?;
    let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
    Ok((Some(len), 1 + n))
}

/// Reads one element; returns it and the bytes after it.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), BerError> {
    let (class, constructed, tag, id_len) = identifier(input)?;
    let (len, len_len) = length(input.get(id_len..).ok_or(BerError::Truncated)?)?;
    let header_len = id_len + len_len;
    let body = input.get(header_len..).ok_or(BerError::Truncated)?;
    match len {
        Some(n) => {
            let value = body.get(..n).ok_or(BerError::Truncated)?;
            let rest = body.get(n..).ok_or(BerError::Truncated)?;
            Ok((
                Tlv {
                    class,
                    constructed,
                    tag,
                    value,
                    header_len,
                },
                rest,
            ))
        }
        None => {
            if !constructed {
                return Err(BerError::BadLength);
            }
            let n = indefinite_len(body)?;
            let value = body.get(..n).ok_or(BerError::Truncated)?;
            let rest = body.get(n + 2..).ok_or(BerError::Truncated)?;
            Ok((
                Tlv {
                    class,
                    constructed,
                    tag,
                    value,
                    header_len,
                },
                rest,
            ))
        }
    }
}

/// Length of the contents of an indefinite-length element, up to (not including)
/// its end-of-contents octets. Iterative: nested indefinite elements raise a depth
/// counter, end-of-contents octets lower it.
fn indefinite_len(body: &[u8]) -> Result<usize, BerError> {
    let mut pos = 0usize;
    let mut depth = 1usize;
    loop {
        let rest = body.get(pos..).ok_or(BerError::Truncated)?;
        if rest.len() < 2 {
            return Err(BerError::Truncated);
        }
        if rest.first() == Some(&0) && rest.get(1) == Some(&0) {
            depth -= 1;
            if depth == 0 {
                return Ok(pos);
            }
            pos += 2;
            continue;
        }
        let (_, constructed, _, id_len) = identifier(rest)?;
        let (len, len_len) = length(rest.get(id_len..).ok_or(BerError::Truncated)?)?;
        pos += id_len + len_len;
        match len {
            Some(n) => {
                if rest.len() < id_len + len_len + n {
                    return Err(BerError::Truncated);
                }
                pos += n;
            }
            None => {
                if !constructed {
                    return Err(BerError::BadLength);
                }
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(BerError::Indefinite);
                }
            }
        }
    }
}

/// Deepest nesting of constructed elements in one PDU before [`check`] reports it
/// (real MMS PDUs with IEC 61850 data nest about a dozen levels).
pub const MAX_NESTING: usize = 32;

/// A structural problem of a whole BER encoding found by [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Structure {
    /// A constructed element at offset `at` opens level `MAX_NESTING + 1`.
    TooDeep { at: usize },
    /// The element at offset `at` declares `declared` content octets but its
    /// enclosing element (or the PDU) has only `room` left.
    Overrun {
        at: usize,
        declared: usize,
        room: usize,
    },
    /// The element at offset `at` has a long-form length of more than four octets
    /// (4 GiB or more).
    LengthField { at: usize },
}

impl Structure {
    /// The anomaly kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Structure::TooDeep { .. } => "nesting_too_deep",
            Structure::Overrun { .. } | Structure::LengthField { .. } => "bad_length",
        }
    }
}

impl std::fmt::Display for Structure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Structure::TooDeep { at } => write!(
                f,
                "BER elements nested more than {MAX_NESTING} deep (offset {at})"
            ),
            Structure::Overrun { at, declared, room } => write!(
                f,
                "BER element at offset {at} declares {declared} octets, {room} left in its enclosing element"
            ),
            Structure::LengthField { at } => write!(
                f,
                "BER element at offset {at} has a length field of more than four octets"
            ),
        }
    }
}

/// Walks every element of `input` once, descending into constructed ones, without
/// recursion or allocation (a fixed stack of [`MAX_NESTING`] ends), and reports the
/// first nesting deeper than [`MAX_NESTING`] or definite length past the end of the
/// enclosing element. Identifier or length octets that cannot be read are left to the
/// decoders (`None`).
pub fn check(input: &[u8]) -> Option<Structure> {
    // End of each open constructed element; an indefinite-length one inherits the
    // end of its parent and closes at its end-of-contents octets.
    let mut ends = [0usize; MAX_NESTING];
    let mut indefinite = [false; MAX_NESTING];
    let mut depth = 0usize;
    let mut pos = 0usize;
    loop {
        while let Some(d) = depth.checked_sub(1) {
            if pos >= ends.get(d).copied().unwrap_or(0) {
                depth = d;
            } else {
                break;
            }
        }
        let limit = match depth.checked_sub(1) {
            Some(d) => ends.get(d).copied().unwrap_or(0),
            None => input.len(),
        };
        let rest = input.get(pos..limit)?;
        if rest.is_empty() {
            return None;
        }
        if let Some(d) = depth.checked_sub(1) {
            if indefinite.get(d) == Some(&true) && rest.starts_with(&[0, 0]) {
                depth = d;
                pos += 2;
                continue;
            }
        }
        let (_, constructed, _, id_len) = identifier(rest).ok()?;
        let (len, len_len) = match length(rest.get(id_len..)?) {
            Ok(l) => l,
            Err(BerError::BadLength) => return Some(Structure::LengthField { at: pos }),
            Err(_) => return None,
        };
        let header = id_len + len_len;
        let room = rest.len().saturating_sub(header);
        let end = match len {
            Some(n) if n > room => {
                return Some(Structure::Overrun {
                    at: pos,
                    declared: n,
                    room,
                })
            }
            Some(n) => pos + header + n,
            None => limit,
        };
        if !constructed {
            // A primitive element with an indefinite length is the decoders' error.
            len?;
            pos = end;
            continue;
        }
        let (Some(e), Some(i)) = (ends.get_mut(depth), indefinite.get_mut(depth)) else {
            return Some(Structure::TooDeep { at: pos });
        };
        *e = end;
        *i = len.is_none();
        depth += 1;
        pos += header;
    }
}

/// Iterator over consecutive elements; stops at the first malformed one (and
/// remembers it in [`Iter::failed`]).
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    rest: &'a [u8],
    failed: Option<BerError>,
}

impl<'a> Iter<'a> {
    pub fn new(input: &'a [u8]) -> Iter<'a> {
        Iter {
            rest: input,
            failed: None,
        }
    }
    /// The error that stopped the iteration, if any.
    pub fn failed(&self) -> Option<BerError> {
        self.failed
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Tlv<'a>;
    fn next(&mut self) -> Option<Tlv<'a>> {
        if self.rest.is_empty() || self.failed.is_some() {
            return None;
        }
        match read(self.rest) {
            Ok((t, rest)) => {
                self.rest = rest;
                Some(t)
            }
            Err(e) => {
                self.failed = Some(e);
                None
            }
        }
    }
}

/// Unsigned integer contents (at most 8 significant octets).
pub fn uint(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v;
    while s.len() > 1 && s.first() == Some(&0) {
        s = s.get(1..)?;
    }
    if s.len() > 8 {
        return None;
    }
    Some(s.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
}

/// Two's complement integer contents (at most 8 octets).
pub fn int(v: &[u8]) -> Option<i64> {
    let first = *v.first()?;
    if v.len() > 8 {
        // Accept sign-extension octets beyond eight.
        let extra = v.len() - 8;
        let pad = if first & 0x80 != 0 { 0xff } else { 0 };
        if v.get(..extra)?.iter().any(|&b| b != pad) {
            return None;
        }
        return int(v.get(extra..)?);
    }
    let init: i64 = if first & 0x80 != 0 { -1 } else { 0 };
    Some(v.iter().fold(init, |a, &b| (a << 8) | i64::from(b)))
}

/// Unsigned 32-bit integer contents.
pub fn u32_of(v: &[u8]) -> Option<u32> {
    uint(v).and_then(|n| u32::try_from(n).ok())
}

/// Boolean contents (one octet, any non-zero is true).
pub fn boolean(v: &[u8]) -> Option<bool> {
    match v {
        [b] => Some(*b != 0),
        _ => None,
    }
}

/// Most characters kept from a string on the wire.
pub const MAX_STRING: usize = 256;

/// Text of a string type, lossily decoded, control characters replaced, cut at
/// [`MAX_STRING`] characters. The flag is set when it was cut.
pub fn text(v: &[u8]) -> (String, bool) {
    let cut = v.len() > MAX_STRING;
    let bytes = v.get(..MAX_STRING).unwrap_or(v);
    let s: String = String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    (s, cut)
}

/// Text of a string type (see [`text`]) without the cut flag.
pub fn string(v: &[u8]) -> String {
    text(v).0
}

/// Dotted form of an OBJECT IDENTIFIER (`None` when malformed).
pub fn oid(v: &[u8]) -> Option<String> {
    if v.is_empty() || v.len() > 64 {
        return None;
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    let mut in_arc = false;
    for &b in v {
        if acc > (u64::MAX >> 8) {
            return None;
        }
        acc = (acc << 7) | u64::from(b & 0x7f);
        in_arc = true;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (a, b) = match acc {
                    0..=39 => (0, acc),
                    40..=79 => (1, acc - 40),
                    _ => (2, acc - 80),
                };
                arcs.push(a);
                arcs.push(b);
            } else {
                arcs.push(acc);
            }
            acc = 0;
            in_arc = false;
        }
    }
    if in_arc {
        return None;
    }
    Some(
        arcs.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// Lowercase hex of at most `max` octets (a trailing `...` marks a cut).
pub fn hex(v: &[u8], max: usize) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(v.len().min(max) * 2 + 3);
    for b in v.iter().take(max) {
        let _ = write!(s, "{b:02x}");
    }
    if v.len() > max {
        s.push_str("...");
    }
    s
}

/// Encoder helpers for tests and traffic generators.
pub mod enc {
    /// Encodes a length.
    pub fn len(n: usize, out: &mut Vec<u8>) {
        if n < 0x80 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0x81, n as u8]);
        } else if n <= 0xffff {
            out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
        } else {
            out.extend_from_slice(&[
                0x84,
                (n >> 24) as u8,
                (n >> 16) as u8,
                (n >> 8) as u8,
                n as u8,
            ]);
        }
    }
    /// A TLV with a one-octet identifier (tags below 31) or a two/three-octet one.
    pub fn tlv(id: u8, tag_high: Option<u32>, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(value.len() + 6);
        match tag_high {
            None => out.push(id),
            Some(t) => {
                out.push(id | 0x1f);
                if t >= 128 {
                    out.push(0x80 | ((t >> 7) as u8 & 0x7f));
                }
                out.push(t as u8 & 0x7f);
            }
        }
        len(value.len(), &mut out);
        out.extend_from_slice(value);
        out
    }
    /// Context-specific tag `n` (primitive or constructed).
    pub fn ctx(n: u32, constructed: bool, value: &[u8]) -> Vec<u8> {
        let id = 0x80 | if constructed { 0x20 } else { 0 };
        if n < 31 {
            tlv(id | n as u8, None, value)
        } else {
            tlv(id, Some(n), value)
        }
    }
    /// Minimal two's complement contents of an integer.
    pub fn int(v: i64) -> Vec<u8> {
        let bytes = v.to_be_bytes();
        let mut start = 0;
        while start < 7 {
            let b = bytes[start];
            let next = bytes[start + 1];
            if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        bytes[start..].to_vec()
    }
    /// Minimal contents of an unsigned integer (a leading zero keeps it positive).
    pub fn uint(v: u64) -> Vec<u8> {
        let bytes = v.to_be_bytes();
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(7);
        let mut out = Vec::with_capacity(9);
        if bytes[start] & 0x80 != 0 {
            out.push(0);
        }
        out.extend_from_slice(&bytes[start..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `depth` levels of constructed context tag 2 (definite lengths) around `leaf`.
    fn nest(depth: usize, leaf: &[u8]) -> Vec<u8> {
        let mut v = leaf.to_vec();
        for _ in 0..depth {
            let n = v.len();
            let mut w = vec![0xa2];
            if n < 0x80 {
                w.push(n as u8);
            } else {
                w.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
            }
            w.extend(v);
            v = w;
        }
        v
    }

    #[test]
    fn check_reports_deep_nesting_and_overruns() {
        assert_eq!(check(&nest(MAX_NESTING, &[0x80, 1, 0])), None);
        let deep = nest(MAX_NESTING + 1, &[0x80, 1, 0]);
        let s = check(&deep).unwrap();
        assert!(matches!(s, Structure::TooDeep { .. }), "{s:?}");
        assert_eq!(s.kind(), "nesting_too_deep");
        // 10,000 levels: found at level 33 without walking further.
        assert!(matches!(
            check(&nest(10_000, &[0x80, 1, 0])),
            Some(Structure::TooDeep { .. })
        ));
        // Siblings do not add up.
        let flat: Vec<u8> = std::iter::repeat_n(nest(3, &[0x80, 1, 0]), 500)
            .flatten()
            .collect();
        assert_eq!(check(&flat), None);
        // An inner element claiming more than its parent holds (but not more than
        // the buffer): a0 05 { 80 10 ... }.
        let mut b = vec![0xa0, 0x05, 0x80, 0x10, 1, 2, 3];
        b.extend([0u8; 20]);
        let s = check(&b).unwrap();
        assert_eq!(
            s,
            Structure::Overrun {
                at: 2,
                declared: 16,
                room: 3
            }
        );
        assert_eq!(s.kind(), "bad_length");
        // A 4-octet length of 4 GiB at the top.
        let s = check(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0]).unwrap();
        assert!(matches!(s, Structure::Overrun { room: 1, .. }), "{s:?}");
        // Indefinite lengths: siblings closed by end-of-contents do not add up,
        // nesting does.
        let mut sibs = vec![0x30, 0x80];
        for _ in 0..100 {
            sibs.extend([0xa1, 0x80, 0x80, 1, 7, 0, 0]);
        }
        sibs.extend([0, 0]);
        assert_eq!(check(&sibs), None);
        let mut deep = vec![];
        for _ in 0..=MAX_NESTING {
            deep.extend([0xa1, 0x80]);
        }
        assert!(matches!(check(&deep), Some(Structure::TooDeep { .. })));
        // A length field of five octets.
        let s = check(&[0x30, 0x85, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(
            (s, s.kind()),
            (Structure::LengthField { at: 0 }, "bad_length")
        );
        // Cut identifier or length octets are the decoders' business.
        assert_eq!(check(&[0x30, 0x82, 1]), None);
        assert_eq!(check(&[0x1f, 0x81]), None);
        assert_eq!(check(&[]), None);
    }

    #[test]
    fn reads_short_long_and_high_tags() {
        let (t, rest) = read(&[0x80, 0x02, 0x6d, 0x75, 0xff]).unwrap();
        assert!(t.is_ctx(0) && !t.constructed);
        assert_eq!(t.value, b"mu");
        assert_eq!(rest, &[0xff]);
        let mut long = vec![0x30, 0x81, 0x80];
        long.extend(std::iter::repeat_n(0u8, 128));
        let (t, rest) = read(&long).unwrap();
        assert_eq!(t.value.len(), 128);
        assert!(rest.is_empty());
        // [39] = 0x9f 0x27 (deleteProgramInvocation)
        let (t, _) = read(&[0x9f, 0x27, 0x01, 0x41]).unwrap();
        assert!(t.is_ctx(39));
        assert_eq!(t.header_len, 3);
        assert_eq!(read(&[0x30, 0x05, 0x01]), Err(BerError::Truncated));
        assert_eq!(read(&[0x30, 0x85, 1, 1, 1, 1, 1]), Err(BerError::BadLength));
    }

    #[test]
    fn indefinite_lengths_resolve_iteratively() {
        // 30 80 { 30 80 { 02 01 05 } 00 00 } 00 00 04 00
        let b = [
            0x30, 0x80, 0x30, 0x80, 0x02, 0x01, 0x05, 0, 0, 0, 0, 0x04, 0x00,
        ];
        let (t, rest) = read(&b).unwrap();
        assert_eq!(t.value, &[0x30, 0x80, 0x02, 0x01, 0x05, 0, 0]);
        assert_eq!(rest, &[0x04, 0x00]);
        let inner = t.inner().unwrap();
        assert_eq!(inner.value, &[0x02, 0x01, 0x05]);
        // too deep
        let mut deep = Vec::new();
        for _ in 0..40 {
            deep.extend_from_slice(&[0x30, 0x80]);
        }
        assert!(read(&deep).is_err());
    }

    #[test]
    fn integers_strings_oids() {
        assert_eq!(int(&[0xff]), Some(-1));
        assert_eq!(int(&[0x00, 0x80]), Some(128));
        assert_eq!(uint(&[0x00, 0xff, 0xff, 0xff, 0xff]), Some(0xffff_ffff));
        assert_eq!(u32_of(&[0x01, 0x00, 0x00, 0x00, 0x00]), None);
        assert_eq!(
            oid(&[0x28, 0xca, 0x22, 0x02, 0x01]).unwrap(),
            "1.0.9506.2.1"
        );
        assert_eq!(oid(&[0x52, 0x01, 0x00, 0x01]).unwrap(), "2.2.1.0.1");
        assert_eq!(oid(&[0x81]), None);
        assert_eq!(text(b"a\x01b"), ("a.b".to_string(), false));
        assert_eq!(hex(&[1, 2, 3], 2), "0102...");
        for v in [0i64, 1, -1, 127, 128, -128, -129, i64::MAX, i64::MIN] {
            assert_eq!(int(&enc::int(v)), Some(v));
        }
        for v in [0u64, 127, 128, 255, 256, u64::MAX] {
            assert_eq!(uint(&enc::uint(v)), Some(v));
        }
    }
}
