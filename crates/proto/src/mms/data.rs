//! MMS `Data` values (ISO 9506-2 `Data` CHOICE), shared by MMS reads, writes and
//! reports and by GOOSE `allData`.
//!
//! Decoding is bounded: at most [`MAX_DEPTH`] levels of arrays/structures and a
//! caller-given budget of values; what does not fit is left out and flagged.
use super::ber::{self, Class, Tlv};
use serde::Serialize;

/// Deepest nesting of arrays and structures decoded.
pub const MAX_DEPTH: usize = 8;
/// Most bits rendered of a bit string.
pub const MAX_BITS: usize = 128;
/// Most octets of an octet string rendered as hex.
pub const MAX_OCTETS: usize = 64;

/// One decoded value. Serialises externally tagged: `{"integer": 5}`,
/// `{"structure": [...]}`, `{"bit_string": "0100"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Array(Vec<Value>),
    Structure(Vec<Value>),
    Boolean(bool),
    /// Bits as `0`/`1` characters, first bit first.
    BitString(String),
    Integer(i64),
    Unsigned(u64),
    Float(f64),
    /// Lowercase hex.
    OctetString(String),
    VisibleString(String),
    GeneralizedTime(String),
    /// RFC 3339 when the date is present, else the time of day.
    BinaryTime(String),
    Bcd(i64),
    BooleanArray(String),
    ObjId(String),
    MmsString(String),
    /// RFC 3339 with microseconds.
    UtcTime(String),
    /// An access result that failed (DataAccessError name).
    Failure(&'static str),
    /// A write result that succeeded.
    Success,
    /// A tag the decoder does not know (its number).
    Unknown(u32),
}

impl Value {
    /// The MMS type name (`boolean`, `bit_string`, `integer`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Array(_) => "array",
            Value::Structure(_) => "structure",
            Value::Boolean(_) => "boolean",
            Value::BitString(_) => "bit_string",
            Value::Integer(_) => "integer",
            Value::Unsigned(_) => "unsigned",
            Value::Float(_) => "float",
            Value::OctetString(_) => "octet_string",
            Value::VisibleString(_) => "visible_string",
            Value::GeneralizedTime(_) => "generalized_time",
            Value::BinaryTime(_) => "binary_time",
            Value::Bcd(_) => "bcd",
            Value::BooleanArray(_) => "boolean_array",
            Value::ObjId(_) => "obj_id",
            Value::MmsString(_) => "mms_string",
            Value::UtcTime(_) => "utc_time",
            Value::Failure(_) => "failure",
            Value::Success => "success",
            Value::Unknown(_) => "unknown",
        }
    }

    /// A number for safety-envelope checks (booleans as 0/1); `None` for
    /// non-numeric values.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Integer(i) => Some(*i as f64),
            Value::Unsigned(u) => Some(*u as f64),
            Value::Float(f) => Some(*f),
            Value::Bcd(i) => Some(*i as f64),
            _ => None,
        }
    }
}

/// How many values may still be decoded; set `truncated` when some were left out.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub left: usize,
    pub truncated: bool,
}

impl Budget {
    pub fn new(n: usize) -> Budget {
        Budget {
            left: n,
            truncated: false,
        }
    }
    fn take(&mut self) -> bool {
        if self.left == 0 {
            self.truncated = true;
            false
        } else {
            self.left -= 1;
            true
        }
    }
}

/// Names of `DataAccessError` codes.
pub fn data_access_error(code: i64) -> &'static str {
    match code {
        0 => "object_invalidated",
        1 => "hardware_fault",
        2 => "temporarily_unavailable",
        3 => "object_access_denied",
        4 => "object_undefined",
        5 => "invalid_address",
        6 => "type_unsupported",
        7 => "type_inconsistent",
        8 => "object_attribute_inconsistent",
        9 => "object_access_unsupported",
        10 => "object_non_existent",
        11 => "object_value_invalid",
        _ => "unknown",
    }
}

/// Decodes one `Data` element. `None` when the budget is used up (the caller
/// stops adding values).
pub fn decode(t: &Tlv<'_>, budget: &mut Budget) -> Option<Value> {
    decode_at(t, 0, budget)
}

fn decode_at(t: &Tlv<'_>, depth: usize, budget: &mut Budget) -> Option<Value> {
    if !budget.take() {
        return None;
    }
    if t.class != Class::Context {
        return Some(Value::Unknown(t.tag));
    }
    let v = t.value;
    Some(match (t.tag, t.constructed) {
        (1, true) | (2, true) => {
            let mut items = Vec::new();
            if depth + 1 >= MAX_DEPTH {
                budget.truncated = true;
            } else {
                for c in t.children() {
                    match decode_at(&c, depth + 1, budget) {
                        Some(x) => items.push(x),
                        None => break,
                    }
                }
            }
            if t.tag == 1 {
                Value::Array(items)
            } else {
                Value::Structure(items)
            }
        }
        (3, false) => Value::Boolean(v.first().is_some_and(|&b| b != 0)),
        (4, false) => Value::BitString(bits(v)),
        (5, false) => match ber::int(v) {
            Some(i) => Value::Integer(i),
            None => Value::OctetString(ber::hex(v, MAX_OCTETS)),
        },
        (6, false) => match ber::uint(v) {
            Some(u) => Value::Unsigned(u),
            None => Value::OctetString(ber::hex(v, MAX_OCTETS)),
        },
        (7, false) => match float(v) {
            Some(f) => Value::Float(f),
            None => Value::OctetString(ber::hex(v, MAX_OCTETS)),
        },
        (8, false) => match real(v) {
            Some(f) => Value::Float(f),
            None => Value::OctetString(ber::hex(v, MAX_OCTETS)),
        },
        (9, false) => Value::OctetString(ber::hex(v, MAX_OCTETS)),
        (10, false) => Value::VisibleString(ber::string(v)),
        (11, false) => Value::GeneralizedTime(ber::string(v)),
        (12, false) => Value::BinaryTime(binary_time(v).unwrap_or_else(|| ber::hex(v, 8))),
        (13, false) => Value::Bcd(ber::int(v).unwrap_or(0)),
        (14, false) => Value::BooleanArray(bits(v)),
        (15, false) => Value::ObjId(ber::oid(v).unwrap_or_default()),
        (16, false) => Value::MmsString(ber::string(v)),
        (17, false) => match UtcTime::parse(v) {
            Some(u) => Value::UtcTime(u.rfc3339()),
            None => Value::OctetString(ber::hex(v, MAX_OCTETS)),
        },
        (tag, _) => Value::Unknown(tag),
    })
}

/// Decodes an `AccessResult` (`failure [0] DataAccessError` or a `Data`).
pub fn decode_access_result(t: &Tlv<'_>, budget: &mut Budget) -> Option<Value> {
    if t.is_ctx(0) && !t.constructed {
        if !budget.take() {
            return None;
        }
        return Some(Value::Failure(data_access_error(
            ber::int(t.value).unwrap_or(-1),
        )));
    }
    decode(t, budget)
}

/// Bits of a BIT STRING's contents as `0`/`1` characters.
pub fn bits(v: &[u8]) -> String {
    let Some((&unused, data)) = v.split_first() else {
        return String::new();
    };
    let total = (data.len() * 8).saturating_sub(usize::from(unused.min(7)));
    let n = total.min(MAX_BITS);
    let mut s = String::with_capacity(n);
    for i in 0..n {
        let byte = data.get(i / 8).copied().unwrap_or(0);
        s.push(if byte & (0x80 >> (i % 8)) != 0 {
            '1'
        } else {
            '0'
        });
    }
    s
}

/// Positions of the bits set in a BIT STRING's contents (at most `max`).
pub fn set_bits(v: &[u8], max: usize) -> Vec<usize> {
    bits(v)
        .char_indices()
        .filter(|(_, c)| *c == '1')
        .map(|(i, _)| i)
        .take(max)
        .collect()
}

/// Number of bits set in a BIT STRING's contents (all of them, not cut at
/// [`MAX_BITS`]).
pub fn count_set(v: &[u8]) -> usize {
    let Some((&unused, data)) = v.split_first() else {
        return 0;
    };
    let mask = 0xffu8.checked_shl(u32::from(unused.min(7))).unwrap_or(0);
    let n = data.len();
    data.iter()
        .enumerate()
        .map(|(i, &b)| (if i + 1 == n { b & mask } else { b }).count_ones() as usize)
        .sum()
}

/// Is bit `n` of a BIT STRING's contents set?
pub fn bit(v: &[u8], n: usize) -> bool {
    v.get(1 + n / 8)
        .is_some_and(|byte| byte & (0x80 >> (n % 8)) != 0)
}

/// MMS `FloatingPoint`: an exponent-width octet (8 single, 11 double) then the
/// IEEE 754 value.
pub fn float(v: &[u8]) -> Option<f64> {
    match v {
        [8, a, b, c, d] => Some(f64::from(f32::from_be_bytes([*a, *b, *c, *d]))),
        [11, rest @ ..] if rest.len() == 8 => {
            let mut x = [0u8; 8];
            x.copy_from_slice(rest);
            Some(f64::from_be_bytes(x))
        }
        [a, b, c, d] => Some(f64::from(f32::from_be_bytes([*a, *b, *c, *d]))),
        _ => None,
    }
}

/// ASN.1 REAL contents (X.690 8.5): zero, the special values and the binary
/// encodings; decimal encodings when they parse. `None` otherwise.
pub fn real(v: &[u8]) -> Option<f64> {
    let Some((&first, rest)) = v.split_first() else {
        return Some(0.0);
    };
    if first & 0x80 == 0 {
        return match first {
            0x40 => Some(f64::INFINITY),
            0x41 => Some(f64::NEG_INFINITY),
            0x42 => Some(f64::NAN),
            0x43 => Some(-0.0),
            0x01..=0x03 => std::str::from_utf8(rest)
                .ok()?
                .trim()
                .replace(',', ".")
                .parse()
                .ok(),
            _ => None,
        };
    }
    let sign = if first & 0x40 != 0 { -1.0 } else { 1.0 };
    let base: f64 = match (first >> 4) & 0x03 {
        0 => 2.0,
        1 => 8.0,
        2 => 16.0,
        _ => return None,
    };
    let scale = i32::from((first >> 2) & 0x03);
    let (exp_len, exp_start) = match first & 0x03 {
        0 => (1, 0),
        1 => (2, 0),
        2 => (3, 0),
        _ => (usize::from(*rest.first()?), 1),
    };
    let exp_bytes = rest.get(exp_start..exp_start + exp_len)?;
    let exponent = ber::int(exp_bytes)?;
    let mantissa = ber::uint(rest.get(exp_start + exp_len..)?).unwrap_or(0);
    let e = i32::try_from(exponent.clamp(-2000, 2000)).ok()?;
    Some(sign * mantissa as f64 * 2f64.powi(scale) * base.powi(e))
}

/// IEC 61850 / MMS `UtcTime`: seconds since 1970, a 24-bit binary fraction of a
/// second and a quality octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    pub secs: u32,
    pub fraction: u32,
    pub quality: u8,
}

impl UtcTime {
    pub fn parse(v: &[u8]) -> Option<UtcTime> {
        match v {
            [a, b, c, d, e, f, g, q] => Some(UtcTime {
                secs: u32::from_be_bytes([*a, *b, *c, *d]),
                fraction: u32::from_be_bytes([0, *e, *f, *g]),
                quality: *q,
            }),
            _ => None,
        }
    }
    /// Microseconds of the fraction, rounded.
    pub fn micros(&self) -> u32 {
        let us = (u64::from(self.fraction) * 1_000_000 + (1 << 23)) >> 24;
        u32::try_from(us.min(999_999)).unwrap_or(999_999)
    }
    /// Seconds since 1970 as a float (microsecond resolution).
    pub fn epoch(&self) -> f64 {
        f64::from(self.secs) + f64::from(self.micros()) / 1e6
    }
    /// RFC 3339 with microseconds, UTC.
    pub fn rfc3339(&self) -> String {
        let (date, tod) = civil(i64::from(self.secs));
        format!("{date}T{tod}.{:06}Z", self.micros())
    }
}

/// `(YYYY-MM-DD, HH:MM:SS)` of seconds since 1970.
pub fn civil(secs: i64) -> (String, String) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = date_of_days(days);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", sod / 3600, (sod / 60) % 60, sod % 60),
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
fn date_of_days(days: i64) -> (i64, i64, i64) {
    // Shift to an era starting on 0000-03-01 so that leap days end a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// MMS `TimeOfDay` (binary time): milliseconds since midnight, optionally days
/// since 1984-01-01.
pub fn binary_time(v: &[u8]) -> Option<String> {
    let ms = |a: u8, b: u8, c: u8, d: u8| i64::from(u32::from_be_bytes([a, b, c, d]));
    match v {
        [a, b, c, d] => {
            let ms = ms(*a, *b, *c, *d);
            let (_, tod) = civil(ms / 1000);
            Some(format!("{tod}.{:03}", ms % 1000))
        }
        [a, b, c, d, e, f] => {
            let ms = ms(*a, *b, *c, *d);
            let days = i64::from(u16::from_be_bytes([*e, *f]));
            // 1984-01-01 is day 5113 after 1970-01-01.
            let secs = (days + 5113) * 86_400 + ms / 1000;
            let (date, tod) = civil(secs);
            Some(format!("{date}T{tod}.{:03}Z", ms % 1000))
        }
        _ => None,
    }
}

/// Encoders of `Data` elements (tests and traffic generators).
pub mod enc {
    use super::super::ber::enc;
    use super::Value;

    /// Encodes a value (strings in their own type; `OctetString` takes hex).
    pub fn data(v: &Value) -> Vec<u8> {
        match v {
            Value::Array(items) | Value::Structure(items) => {
                let tag = if matches!(v, Value::Array(_)) { 1 } else { 2 };
                let body: Vec<u8> = items.iter().flat_map(data).collect();
                enc::ctx(tag, true, &body)
            }
            Value::Boolean(b) => enc::ctx(3, false, &[u8::from(*b)]),
            Value::BitString(bits) => enc::ctx(4, false, &bit_string(bits)),
            Value::Integer(i) => enc::ctx(5, false, &enc::int(*i)),
            Value::Unsigned(u) => enc::ctx(6, false, &enc::uint(*u)),
            Value::Float(f) => {
                let mut b = vec![8];
                b.extend_from_slice(&(*f as f32).to_be_bytes());
                enc::ctx(7, false, &b)
            }
            Value::OctetString(h) => enc::ctx(9, false, &unhex(h)),
            Value::VisibleString(s) => enc::ctx(10, false, s.as_bytes()),
            Value::MmsString(s) => enc::ctx(16, false, s.as_bytes()),
            Value::Bcd(i) => enc::ctx(13, false, &enc::int(*i)),
            Value::Failure(_) => enc::ctx(0, false, &[10]),
            Value::Success => enc::ctx(1, false, &[]),
            _ => enc::ctx(9, false, &[]),
        }
    }

    /// Contents of a BIT STRING from `0`/`1` characters.
    pub fn bit_string(bits: &str) -> Vec<u8> {
        let n = bits.len();
        let mut out = vec![((8 - n % 8) % 8) as u8];
        let mut byte = 0u8;
        for (i, c) in bits.chars().enumerate() {
            if c == '1' {
                byte |= 0x80 >> (i % 8);
            }
            if i % 8 == 7 {
                out.push(byte);
                byte = 0;
            }
        }
        if !n.is_multiple_of(8) {
            out.push(byte);
        }
        out
    }

    /// An 8-octet UtcTime.
    pub fn utc_time(secs: u32, fraction: u32, quality: u8) -> Vec<u8> {
        let mut b = secs.to_be_bytes().to_vec();
        b.extend_from_slice(&fraction.to_be_bytes()[1..]);
        b.push(quality);
        b
    }

    fn unhex(h: &str) -> Vec<u8> {
        (0..h.len() / 2)
            .filter_map(|i| h.get(2 * i..2 * i + 2))
            .filter_map(|s| u8::from_str_radix(s, 16).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(b: &[u8]) -> Value {
        let (t, _) = ber::read(b).unwrap();
        decode(&t, &mut Budget::new(64)).unwrap()
    }

    #[test]
    fn decodes_primitives_from_a_real_report() {
        // Values from Sample_File_MMS_and_GOOSE frame 3 (checked with tshark).
        assert_eq!(
            one(&[0x87, 0x05, 0x08, 0x3e, 0x5a, 0x95, 0xfc]),
            Value::Float(f64::from(0.21346277f32))
        );
        assert_eq!(one(&[0x85, 0x01, 0x01]), Value::Integer(1));
        assert_eq!(
            one(&[0x84, 0x03, 0x03, 0x00, 0x00]),
            Value::BitString("0000000000000".into())
        );
        assert_eq!(
            one(&[0x91, 0x08, 0x48, 0x80, 0x8d, 0xc9, 0x8a, 0x7e, 0xfa, 0x0a]),
            Value::UtcTime("2008-07-18T12:34:17.541000Z".into())
        );
        assert_eq!(one(&[0x83, 0x01, 0x00]), Value::Boolean(false));
        assert_eq!(
            one(&[0x8a, 0x02, b'o', b'k']),
            Value::VisibleString("ok".into())
        );
        assert_eq!(one(&[0x86, 0x02, 0x00, 0x80]), Value::Unsigned(128));
    }

    #[test]
    fn structures_nest_within_bounds() {
        let v = Value::Structure(vec![
            Value::Integer(-5),
            Value::Array(vec![Value::Boolean(true)]),
        ]);
        let b = enc::data(&v);
        assert_eq!(one(&b), v);
        // a value budget cuts long lists
        let long = Value::Array((0..10).map(Value::Integer).collect());
        let b = enc::data(&long);
        let (t, _) = ber::read(&b).unwrap();
        let mut budget = Budget::new(4);
        let got = decode(&t, &mut budget).unwrap();
        assert_eq!(got, Value::Array((0..3).map(Value::Integer).collect()));
        assert!(budget.truncated);
        // deep nesting is cut, not recursed into
        let mut deep = enc::data(&Value::Integer(1));
        for _ in 0..20 {
            deep = super::super::ber::enc::ctx(2, true, &deep);
        }
        let (t, _) = ber::read(&deep).unwrap();
        let mut budget = Budget::new(64);
        assert!(decode(&t, &mut budget).is_some());
        assert!(budget.truncated);
    }

    #[test]
    fn times() {
        let u = UtcTime::parse(&enc::utc_time(946_781_171, 0x42_17_00, 0x0a)).unwrap();
        assert_eq!(u.quality, 0x0a);
        assert_eq!(u.rfc3339(), "2000-01-02T02:46:11.258163Z");
        assert_eq!(civil(0), ("1970-01-01".into(), "00:00:00".into()));
        assert_eq!(civil(951_782_400).0, "2000-02-29");
        assert_eq!(
            binary_time(&[0, 0, 0x0e, 0x10, 0, 0]).unwrap(),
            "1984-01-01T00:00:03.600Z"
        );
        assert_eq!(binary_time(&[0, 0, 0x0e, 0x10]).unwrap(), "00:00:03.600");
        assert_eq!(bits(&[0x06, 0x50, 0x00]), "0101000000");
        assert_eq!(set_bits(&[0x06, 0x50, 0x00], 8), vec![1, 3]);
        assert!(bit(&[0x06, 0x50, 0x00], 3));
        assert_eq!(count_set(&[0x05, 0x01, 0x00]), 1);
        assert_eq!(count_set(&[0x03, 0xff, 0xff]), 13);
        assert_eq!(count_set(&[0x00]), 0);
        let mut big = vec![0x00];
        big.extend([0xffu8; 40]);
        assert_eq!(count_set(&big), 320);
        assert_eq!(enc::bit_string("0101000000"), vec![0x06, 0x50, 0x00]);
    }
}
