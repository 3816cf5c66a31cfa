//! DNP3 application layer: fragment header, object headers, object data.
use super::names;
use super::objects::{self, Kind, ObjectName, Point, Reader, Size, Value};
use serde::Serialize;
use thiserror::Error;

/// At most this many object headers are kept per fragment.
pub const MAX_OBJECT_HEADERS: usize = 512;
/// At most this many points are decoded per fragment (amplification guard).
pub const MAX_POINTS: usize = 2048;

/// Why an application fragment could not be read at all.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AppError {
    #[error("application fragment of {len} bytes is shorter than its {need}-byte header")]
    TooShort { len: usize, need: usize },
}

/// Application control octet, function code and (responses) internal indications.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppHeader {
    pub control: u8,
    pub function_code: u8,
    /// `IIN1 << 8 | IIN2`, present on responses (129, 130, 131).
    pub iin: Option<u16>,
}

impl AppHeader {
    pub fn fir(&self) -> bool {
        self.control & 0x80 != 0
    }
    pub fn fin(&self) -> bool {
        self.control & 0x40 != 0
    }
    pub fn con(&self) -> bool {
        self.control & 0x20 != 0
    }
    pub fn uns(&self) -> bool {
        self.control & 0x10 != 0
    }
    pub fn seq(&self) -> u8 {
        self.control & 0x0F
    }
    pub fn is_response(&self) -> bool {
        names::is_response_function(self.function_code)
    }
}

/// Read the application header; returns it and the object octets that follow.
pub fn parse_header(frag: &[u8]) -> Result<(AppHeader, &[u8]), AppError> {
    let too_short = |need| AppError::TooShort {
        len: frag.len(),
        need,
    };
    let control = *frag.first().ok_or(too_short(2))?;
    let function_code = *frag.get(1).ok_or(too_short(2))?;
    if names::is_response_function(function_code) {
        let iin = frag.get(2..4).ok_or(too_short(4))?;
        let iin = u16::from_be_bytes([
            iin.first().copied().unwrap_or_default(),
            iin.get(1).copied().unwrap_or_default(),
        ]);
        Ok((
            AppHeader {
                control,
                function_code,
                iin: Some(iin),
            },
            frag.get(4..).unwrap_or_default(),
        ))
    } else {
        Ok((
            AppHeader {
                control,
                function_code,
                iin: None,
            },
            frag.get(2..).unwrap_or_default(),
        ))
    }
}

/// One object header as it appeared in a fragment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectHeader {
    pub group: u8,
    pub variation: u8,
    /// Qualifier octet: prefix code in bits 4-6, range specifier in bits 0-3.
    pub qualifier: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_start: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_stop: Option<u32>,
    /// Number of objects (count ranges, and stop - start + 1 for start-stop ranges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// E.g. `g12v1 crob`.
    pub name: ObjectName,
}

impl ObjectHeader {
    pub fn prefix_code(&self) -> u8 {
        (self.qualifier >> 4) & 0x07
    }
    pub fn range_code(&self) -> u8 {
        self.qualifier & 0x0F
    }
}

/// A problem found while reading objects; parsing of the fragment stopped there
/// (except for `too_many_points`, after which headers are still read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Stable anomaly code.
    pub kind: &'static str,
    pub message: String,
}

fn issue(issues: &mut Vec<Issue>, kind: &'static str, message: String) {
    issues.push(Issue { kind, message });
}

/// Does this object header carry object data (or only a range / index list)?
fn has_data(function_code: u8, response: bool, group: u8, prefix: u8, range: u8) -> bool {
    if range == 6 || group == 60 {
        return false;
    }
    if matches!(prefix, 4..=6) {
        return true;
    }
    if response {
        return true;
    }
    // Freeze-at-time requests carry their time and interval (g50v2).
    if matches!(function_code, 11 | 12) && group == 50 {
        return true;
    }
    // Requests whose headers only name points: read, freezes, (en|dis)able
    // unsolicited, assign class.
    !matches!(function_code, 1 | 7..=12 | 20..=22)
}

/// Everything decoded from the objects of one fragment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Objects {
    pub headers: Vec<ObjectHeader>,
    pub points: Vec<Point>,
    pub issues: Vec<Issue>,
}

/// Read the object headers (and decode their points) of a fragment body.
/// `function_code` and `response` say whether headers carry data.
pub fn parse_objects(function_code: u8, response: bool, body: &[u8]) -> Objects {
    let mut o = Objects::default();
    let mut r = Reader::new(body);
    let mut capped = false;
    while r.remaining() > 0 {
        if o.headers.len() >= MAX_OBJECT_HEADERS {
            issue(
                &mut o.issues,
                "too_many_objects",
                format!("more than {MAX_OBJECT_HEADERS} object headers in one fragment"),
            );
            break;
        }
        let (Some(group), Some(variation), Some(qualifier)) = (r.u8(), r.u8(), r.u8()) else {
            issue(
                &mut o.issues,
                "truncated_object",
                "object header cut short".into(),
            );
            break;
        };
        let prefix = (qualifier >> 4) & 0x07;
        let range = qualifier & 0x0F;
        let name = ObjectName::new(group, variation);
        // Range: (start, stop) or count.
        let parsed: Option<(Option<u32>, Option<u32>, u64)> = match range {
            0 | 3 => r
                .u8()
                .zip(r.u8())
                .map(|(a, b)| (Some(u32::from(a)), Some(u32::from(b)), 0)),
            1 | 4 => r
                .u16()
                .zip(r.u16())
                .map(|(a, b)| (Some(u32::from(a)), Some(u32::from(b)), 0)),
            2 | 5 => r.u32().zip(r.u32()).map(|(a, b)| (Some(a), Some(b), 0)),
            6 => Some((None, None, 0)),
            7 | 0x0B => r.u8().map(|c| (None, None, u64::from(c))),
            8 => r.u16().map(|c| (None, None, u64::from(c))),
            9 => r.u32().map(|c| (None, None, u64::from(c))),
            _ => {
                o.headers.push(ObjectHeader {
                    group,
                    variation,
                    qualifier,
                    range_start: None,
                    range_stop: None,
                    count: None,
                    name,
                });
                issue(
                    &mut o.issues,
                    "bad_qualifier",
                    format!("{name}: reserved range specifier 0x{range:x}"),
                );
                break;
            }
        };
        let Some((start, stop, mut count)) = parsed else {
            issue(
                &mut o.issues,
                "truncated_object",
                format!("{name}: range field cut short"),
            );
            break;
        };
        if let (Some(a), Some(b)) = (start, stop) {
            if b < a {
                o.headers.push(ObjectHeader {
                    group,
                    variation,
                    qualifier,
                    range_start: start,
                    range_stop: stop,
                    count: None,
                    name,
                });
                issue(
                    &mut o.issues,
                    "bad_range",
                    format!("{name}: range stop {b} below start {a}"),
                );
                break;
            }
            count = u64::from(b - a) + 1;
        }
        o.headers.push(ObjectHeader {
            group,
            variation,
            qualifier,
            range_start: start,
            range_stop: stop,
            count: if range == 6 {
                None
            } else {
                Some(u32::try_from(count).unwrap_or(u32::MAX))
            },
            name,
        });
        if prefix == 7 {
            issue(
                &mut o.issues,
                "bad_qualifier",
                format!("{name}: reserved prefix code 7"),
            );
            break;
        }
        let index_prefix: u64 = match prefix {
            1 => 1,
            2 => 2,
            3 => 4,
            _ => 0,
        };
        if !has_data(function_code, response, group, prefix, range) {
            // Only an index list (or nothing) follows the header.
            let skip = count.saturating_mul(index_prefix);
            if r.take(usize::try_from(skip).unwrap_or(usize::MAX))
                .is_none()
            {
                issue(
                    &mut o.issues,
                    "truncated_object",
                    format!("{name}: {count} indexes announced, fewer present"),
                );
                break;
            }
            continue;
        }
        let ctx = ObjCtx {
            group,
            variation,
            prefix,
            start: start.unwrap_or(0),
            count,
            name,
        };
        if let Err(stop) = read_objects(&ctx, &mut r, &mut o, &mut capped) {
            issue(&mut o.issues, stop.0, stop.1);
            break;
        }
    }
    o
}

struct ObjCtx {
    group: u8,
    variation: u8,
    prefix: u8,
    start: u32,
    count: u64,
    name: ObjectName,
}

type Stop = (&'static str, String);

fn truncated(name: ObjectName, i: u64, count: u64) -> Stop {
    (
        "truncated_object",
        format!("{name}: object {i} of {count} cut short"),
    )
}

fn read_prefix(r: &mut Reader<'_>, code: u8) -> Option<u32> {
    match code {
        1 | 4 => r.u8().map(u32::from),
        2 | 5 => r.u16().map(u32::from),
        3 | 6 => r.u32(),
        _ => Some(0),
    }
}

fn push_point(o: &mut Objects, capped: &mut bool, p: Point) -> bool {
    if o.points.len() >= MAX_POINTS {
        if !*capped {
            *capped = true;
            issue(
                &mut o.issues,
                "too_many_points",
                format!("more than {MAX_POINTS} points in one fragment: the rest is not decoded"),
            );
        }
        return false;
    }
    o.points.push(p);
    true
}

/// Read (and decode) the `count` objects that follow one header.
fn read_objects(
    c: &ObjCtx,
    r: &mut Reader<'_>,
    o: &mut Objects,
    capped: &mut bool,
) -> Result<(), Stop> {
    let desc = objects::describe(c.group, c.variation);
    let size_prefixed = matches!(c.prefix, 4..=6);
    let index_prefixed = matches!(c.prefix, 1..=3);
    match (desc.size, size_prefixed) {
        (Some(Size::Packed(bits)), false) if !index_prefixed => {
            let total_bits = c.count.saturating_mul(u64::from(bits));
            let bytes = usize::try_from(total_bits.div_ceil(8)).unwrap_or(usize::MAX);
            let data = r.take(bytes).ok_or_else(|| {
                (
                    "truncated_object",
                    format!("{}: {} packed points need {bytes} octets", c.name, c.count),
                )
            })?;
            for i in 0..c.count {
                let bit = i.saturating_mul(u64::from(bits));
                let byte = usize::try_from(bit / 8).unwrap_or(usize::MAX);
                let Some(&octet) = data.get(byte) else { break };
                let v = (octet >> (bit % 8)) & if bits == 2 { 0x03 } else { 0x01 };
                let mut p = Point::new(c.group, c.variation, index_of_pos(c, i));
                p.value = Some(if desc.kind == Kind::DoubleBit {
                    Value::Int(i64::from(v))
                } else {
                    Value::Bool(v != 0)
                });
                if !push_point(o, capped, p) {
                    break;
                }
            }
            Ok(())
        }
        (_, true) => {
            // Every object is preceded by its size: decodable or not, it can be skipped.
            for i in 0..c.count {
                let size = read_prefix(r, c.prefix).ok_or_else(|| truncated(c.name, i, c.count))?;
                let obj = r
                    .take(usize::try_from(size).unwrap_or(usize::MAX))
                    .ok_or_else(|| truncated(c.name, i, c.count))?;
                decode_into(c, desc.kind, obj, index_of_pos(c, i), o, capped);
            }
            Ok(())
        }
        (Some(Size::Fixed(size)), false) => {
            let prefix_len: usize = match c.prefix {
                1 => 1,
                2 => 2,
                3 => 4,
                _ => 0,
            };
            let cost = size.saturating_add(prefix_len);
            if cost == 0 {
                return Ok(());
            }
            let decodes = desc.kind != Kind::Skip;
            if decodes && !*capped {
                // Exactly the points the fragment can hold: a vector grown by doubling
                // holds up to twice their memory for as long as the event lives.
                let fit = (r.remaining() / cost)
                    .min(usize::try_from(c.count).unwrap_or(usize::MAX))
                    .min(MAX_POINTS.saturating_sub(o.points.len()));
                o.points.reserve_exact(fit);
            }
            let mut i = 0u64;
            while i < c.count {
                if !decodes || *capped {
                    // Skip the remaining objects in one step.
                    let rest = (c.count - i).saturating_mul(cost as u64);
                    r.take(usize::try_from(rest).unwrap_or(usize::MAX))
                        .ok_or_else(|| truncated(c.name, i, c.count))?;
                    return Ok(());
                }
                let index = if index_prefixed {
                    read_prefix(r, c.prefix).ok_or_else(|| truncated(c.name, i, c.count))?
                } else {
                    index_of_pos(c, i)
                };
                let obj = r.take(size).ok_or_else(|| truncated(c.name, i, c.count))?;
                decode_into(c, desc.kind, obj, index, o, capped);
                i += 1;
            }
            Ok(())
        }
        (Some(Size::Attribute), false) => {
            for i in 0..c.count {
                let index = if index_prefixed {
                    read_prefix(r, c.prefix).ok_or_else(|| truncated(c.name, i, c.count))?
                } else {
                    index_of_pos(c, i)
                };
                let len = r
                    .peek(2)
                    .and_then(|h| h.get(1))
                    .map(|&l| 2 + usize::from(l))
                    .ok_or_else(|| truncated(c.name, i, c.count))?;
                let obj = r.take(len).ok_or_else(|| truncated(c.name, i, c.count))?;
                decode_into(c, Kind::Attribute, obj, index, o, capped);
            }
            Ok(())
        }
        _ => Err((
            "unknown_object_size",
            format!(
                "{}: size unknown with qualifier prefix {}; objects after it not decoded",
                c.name, c.prefix
            ),
        )),
    }
}

/// Index of the i-th object when no index prefix is present.
fn index_of_pos(c: &ObjCtx, i: u64) -> u32 {
    u32::try_from(u64::from(c.start).saturating_add(i)).unwrap_or(u32::MAX)
}

fn decode_into(c: &ObjCtx, kind: Kind, obj: &[u8], index: u32, o: &mut Objects, capped: &mut bool) {
    if kind == Kind::Skip || *capped {
        return;
    }
    let mut p = Point::new(c.group, c.variation, index);
    if objects::decode(kind, c.variation, obj, &mut p).is_none() {
        issue(
            &mut o.issues,
            "truncated_object",
            format!(
                "{}: object of {} octets too short to decode",
                c.name,
                obj.len()
            ),
        );
        return;
    }
    push_point(o, capped, p);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_request_headers() {
        // dnp3-zeek-read.pcap frame 4, application part: READ class 1, 2, 3, 0.
        let frag = [
            0xc8, 0x01, 0x3c, 0x02, 0x06, 0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06, 0x3c, 0x01, 0x06,
        ];
        let (h, body) = parse_header(&frag).unwrap();
        assert_eq!(
            (h.function_code, h.seq(), h.fir(), h.fin()),
            (1, 8, true, true)
        );
        let o = parse_objects(1, false, body);
        assert!(o.issues.is_empty());
        let gv: Vec<(u8, u8, u8)> = o
            .headers
            .iter()
            .map(|x| (x.group, x.variation, x.qualifier))
            .collect();
        assert_eq!(gv, vec![(60, 2, 6), (60, 3, 6), (60, 4, 6), (60, 1, 6)]);
        assert_eq!(o.headers[0].count, None);
        assert!(o.points.is_empty());
    }

    #[test]
    fn response_too_short() {
        assert_eq!(
            parse_header(&[0xc0, 0x81, 0x00]).unwrap_err(),
            AppError::TooShort { len: 3, need: 4 }
        );
        assert!(parse_header(&[0xc0]).is_err());
    }

    #[test]
    fn packed_and_bad_ranges() {
        // g1v1 start 0 stop 9: 10 bits in 2 octets.
        let body = [0x01, 0x01, 0x00, 0x00, 0x09, 0b0000_0101, 0b0000_0010];
        let o = parse_objects(129, true, &body);
        assert!(o.issues.is_empty(), "{:?}", o.issues);
        assert_eq!(o.points.len(), 10);
        assert_eq!(o.points[0].value, Some(Value::Bool(true)));
        assert_eq!(o.points[1].value, Some(Value::Bool(false)));
        assert_eq!(o.points[9].value, Some(Value::Bool(true)));
        // stop < start
        let o = parse_objects(129, true, &[0x1e, 0x01, 0x00, 0x05, 0x01]);
        assert_eq!(o.issues[0].kind, "bad_range");
        // unknown group with data
        let o = parse_objects(129, true, &[0xc8, 0x01, 0x00, 0x00, 0x00, 0x01]);
        assert_eq!(o.issues[0].kind, "unknown_object_size");
        assert_eq!(o.headers.len(), 1);
    }

    #[test]
    fn freeze_at_time_carries_its_time() {
        // g50v2 count 1 (time 6 + interval 4), then all counters g20v0.
        let body = [
            0x32, 0x02, 0x07, 0x01, 0x10, 0x27, 0, 0, 0, 0, 0x60, 0xea, 0, 0, 0x14, 0x00, 0x06,
        ];
        let o = parse_objects(11, false, &body);
        assert!(o.issues.is_empty(), "{:?}", o.issues);
        assert_eq!(o.headers.len(), 2);
        assert_eq!(o.points[0].value, Some(Value::Int(10_000)));
        let o = parse_objects(7, false, &[0x14, 0x00, 0x06, 0x15, 0x01, 0x00, 0x00, 0x03]);
        assert!(o.issues.is_empty());
        assert_eq!(o.headers.len(), 2);
    }

    /// Fixed-size objects get exactly the room they take (events keep their points for
    /// as long as they wait for the writer); a header announcing more objects than the
    /// fragment holds reserves only what is there.
    #[test]
    fn points_take_exactly_their_room() {
        // g30v2 (16-bit analog input with flag: 3 octets) start 0 stop 9, then g30v2 count
        // 65535 with only two objects present.
        let mut body = vec![0x1e, 0x02, 0x00, 0x00, 0x09];
        for i in 0..10u8 {
            body.extend_from_slice(&[0x01, i, 0x00]);
        }
        let o = parse_objects(129, true, &body);
        assert!(o.issues.is_empty(), "{:?}", o.issues);
        assert_eq!((o.points.len(), o.points.capacity()), (10, 10));
        assert_eq!(o.points[9].value, Some(Value::Int(9)));
        body.extend_from_slice(&[0x1e, 0x02, 0x01, 0x00, 0x00, 0xfe, 0xff, 1, 2, 0, 1, 3, 0]);
        let o = parse_objects(129, true, &body);
        assert_eq!(o.points.len(), 12);
        assert_eq!(o.points.capacity(), 12);
        assert_eq!(o.issues[0].kind, "truncated_object");
    }

    #[test]
    fn zero_size_objects_do_not_loop() {
        // g112v0 start 0 stop 0xffff: 65536 objects of zero octets.
        let o = parse_objects(2, false, &[0x70, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff]);
        assert!(o.issues.is_empty());
        assert_eq!(o.headers[0].count, Some(65536));
    }

    #[test]
    fn point_cap() {
        // g1v1 with 0xffff points announced via 2-byte start/stop over 8192 octets.
        let mut body = vec![0x01, 0x01, 0x01, 0x00, 0x00, 0xff, 0x3f];
        body.extend(std::iter::repeat_n(0xffu8, 2048));
        let o = parse_objects(129, true, &body);
        assert_eq!(o.points.len(), MAX_POINTS);
        assert_eq!(o.issues.len(), 1);
        assert_eq!(o.issues[0].kind, "too_many_points");
    }
}
