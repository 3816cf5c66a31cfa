//! The fast JSON encoder of events: writes the ECS envelope of an event (timestamps,
//! ids, endpoints, network and flow fields, flow records, anomalies) straight into a
//! byte buffer, without the per-event allocations of the `serde` path (`rfc3339`
//! strings, `format!`ed ids and MACs, `Display` of addresses). The protocol record of a
//! transaction is written by its `Serialize` impl through [`crate::record_json`], and
//! alerts (rare) take the `serde` path whole.
//!
//! The output is byte-identical to `serde_json::to_writer(out, &event)`; the tests
//! compare the two on every event of real captures and of the bundled scenarios.
use crate::event::{AnomalyRecord, Body, Event, FlowRecord, Kind};
use sluice_flow::Endpoint;
use std::net::IpAddr;

/// Appends the JSON object of `e` (no newline) to `out`. Returns false if a protocol
/// record failed to serialise (then `out` is left as it was).
pub(crate) fn write_event(e: &Event, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    out.extend_from_slice(b"{\"@timestamp\":");
    push_time(out, e.ts);
    out.extend_from_slice(b",\"event\":{\"kind\":");
    out.extend_from_slice(match e.kind {
        Kind::Event => b"\"event\"",
        Kind::Alert => b"\"alert\"",
    });
    out.extend_from_slice(b",\"dataset\":");
    push_str(out, e.dataset());
    out.extend_from_slice(b",\"id\":\"");
    push_id(out, e);
    out.push(b'"');
    let flow = match &e.body {
        Body::Flow(f) => Some(f),
        _ => None,
    };
    match &e.body {
        Body::Flow(f) => {
            out.extend_from_slice(b",\"start\":");
            push_time(out, f.start);
            out.extend_from_slice(b",\"end\":");
            push_time(out, f.end);
            out.extend_from_slice(b",\"duration\":");
            push_i64(out, f.end.wrapping_sub(f.start).max(0));
        }
        Body::Txn {
            ts_end: Some(end), ..
        } => {
            out.extend_from_slice(b",\"end\":");
            push_time(out, *end);
            out.extend_from_slice(b",\"duration\":");
            push_i64(out, end.wrapping_sub(e.ts).max(0));
        }
        _ => {}
    }
    out.push(b'}');
    if e.src.is_some() || e.src_mac.is_some() {
        out.extend_from_slice(b",\"source\":");
        push_endpoint(out, e.src.as_ref(), e.src_mac.as_ref(), flow, 0);
    }
    if e.dst.is_some() || e.dst_mac.is_some() {
        out.extend_from_slice(b",\"destination\":");
        push_endpoint(out, e.dst.as_ref(), e.dst_mac.as_ref(), flow, 1);
    }
    out.extend_from_slice(b",\"network\":{");
    let mut first = true;
    if let Some(t) = e.transport {
        key(out, &mut first, b"transport");
        push_str(out, t);
    }
    if let Some(p) = e.protocol {
        key(out, &mut first, b"protocol");
        push_str(out, p);
    }
    if let Some(f) = flow {
        key(out, &mut first, b"packets");
        push_u64(out, f.packets[0].wrapping_add(f.packets[1]));
        key(out, &mut first, b"bytes");
        push_u64(out, f.bytes[0].wrapping_add(f.bytes[1]));
    }
    out.extend_from_slice(b"},\"flow\":{");
    let mut first = true;
    if let Some(u) = e.flow_uid {
        key(out, &mut first, b"id");
        out.extend_from_slice(b"\"F");
        push_hex16(out, u);
        out.push(b'"');
    }
    if let Some(f) = flow {
        push_flow_fields(out, f, &mut first);
    }
    out.push(b'}');
    match &e.body {
        Body::Txn { record, .. } => {
            out.push(b',');
            push_str(out, record.protocol());
            out.push(b':');
            let at = out.len();
            if crate::record_json::write(out, &record.fields()).is_err() {
                // A shape the fast writer leaves to serde_json, or a failing record.
                out.truncate(at);
                if serde_json::to_writer(&mut *out, &record.fields()).is_err() {
                    out.truncate(start);
                    return false;
                }
            }
        }
        Body::Anomaly(a) => push_anomaly(out, a),
        Body::Flow(_) => {}
        Body::Alert(_) => {
            // Callers send alerts to the serde path; never reached with one.
            out.truncate(start);
            return false;
        }
    }
    out.push(b'}');
    true
}

/// `,"key":` (or `"key":` for the first key of an object).
#[inline]
fn key(out: &mut Vec<u8>, first: &mut bool, k: &[u8]) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(k);
    out.extend_from_slice(b"\":");
}

fn push_endpoint(
    out: &mut Vec<u8>,
    ep: Option<&Endpoint>,
    mac: Option<&[u8; 6]>,
    flow: Option<&FlowRecord>,
    side: usize,
) {
    out.push(b'{');
    let mut first = true;
    if let Some(ep) = ep {
        key(out, &mut first, b"ip");
        out.push(b'"');
        push_ip(out, &ep.ip);
        out.push(b'"');
        key(out, &mut first, b"port");
        push_u64(out, u64::from(ep.port));
    }
    if let Some(m) = mac {
        key(out, &mut first, b"mac");
        out.push(b'"');
        push_mac(out, m);
        out.push(b'"');
    }
    if let Some(f) = flow {
        key(out, &mut first, b"packets");
        push_u64(out, f.packets.get(side).copied().unwrap_or(0));
        key(out, &mut first, b"bytes");
        push_u64(out, f.bytes.get(side).copied().unwrap_or(0));
    }
    out.push(b'}');
}

fn push_flow_fields(out: &mut Vec<u8>, f: &FlowRecord, first: &mut bool) {
    key(out, first, b"history");
    push_str(out, &f.history);
    key(out, first, b"end_reason");
    push_str(out, f.end_reason.as_str());
    key(out, first, b"payload_bytes");
    out.push(b'[');
    push_u64(out, f.payload_bytes[0]);
    out.push(b',');
    push_u64(out, f.payload_bytes[1]);
    out.push(b']');
    key(out, first, b"transactions");
    push_u64(out, f.transactions);
    if f.gaps > 0 {
        key(out, first, b"gaps");
        push_u64(out, f.gaps);
        key(out, first, b"gap_bytes");
        push_u64(out, f.gap_bytes);
    }
    if f.overlap_bytes > 0 {
        key(out, first, b"overlap_bytes");
        push_u64(out, f.overlap_bytes);
    }
    if f.retransmissions > 0 {
        key(out, first, b"retransmissions");
        push_u64(out, f.retransmissions);
    }
    if f.out_of_order > 0 {
        key(out, first, b"out_of_order");
        push_u64(out, f.out_of_order);
    }
}

fn push_anomaly(out: &mut Vec<u8>, a: &AnomalyRecord) {
    out.extend_from_slice(b",\"anomaly\":{\"protocol\":");
    push_str(out, a.protocol);
    out.extend_from_slice(b",\"kind\":");
    push_str(out, a.kind);
    out.extend_from_slice(b",\"message\":");
    push_str(out, &a.message);
    out.push(b'}');
}

/// The event id (see [`Event::write_id`]), unquoted.
pub(crate) fn push_id(out: &mut Vec<u8>, e: &Event) {
    match (&e.body, e.flow_uid) {
        (Body::Alert(a), _) => push_str_contents(out, &a.id),
        (_, Some(u)) => {
            out.push(b'F');
            push_hex16(out, u);
            out.push(b'-');
            push_u64(out, u64::from(e.seq));
        }
        (_, None) => {
            out.push(b'T');
            push_hex(out, e.ts as u64);
            out.push(b'-');
            push_u64(out, u64::from(e.seq));
        }
    }
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// `{:016x}`.
fn push_hex16(out: &mut Vec<u8>, v: u64) {
    for i in (0..16).rev() {
        out.push(HEX_LOWER[((v >> (i * 4)) & 0xf) as usize]);
    }
}

/// `{:x}`: no leading zeros.
fn push_hex(out: &mut Vec<u8>, v: u64) {
    let digits = if v == 0 {
        1
    } else {
        (64 - v.leading_zeros()).div_ceil(4)
    };
    for i in (0..digits).rev() {
        out.push(HEX_LOWER[((v >> (i * 4)) & 0xf) as usize]);
    }
}

/// `00-1B-1B-01-02-03`.
fn push_mac(out: &mut Vec<u8>, m: &[u8; 6]) {
    out.extend_from_slice(crate::event::MacText::new(m).as_str().as_bytes());
}

/// The address as `Display` writes it (no quotes).
pub fn push_ip(out: &mut Vec<u8>, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            for (i, o) in a.octets().iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_u64(out, u64::from(*o));
            }
        }
        IpAddr::V6(a) => {
            use std::io::Write;
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{a}");
        }
    }
}

/// Decimal, as `itoa` (and so serde_json) writes it. Values under 100 (most register
/// values, quantities, unit ids) take a fixed-size copy; larger ones are written two
/// digits at a time from the end.
pub(crate) fn push_u64(out: &mut Vec<u8>, v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    if v < 100 {
        let i = v as usize * 2;
        out.extend_from_slice(&[DIGIT_PAIRS[i], DIGIT_PAIRS[i + 1]]);
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i] = DIGIT_PAIRS[d];
        buf[i + 1] = DIGIT_PAIRS[d + 1];
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        buf[i] = DIGIT_PAIRS[d];
        buf[i + 1] = DIGIT_PAIRS[d + 1];
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// "00" to "99", two bytes each.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        t[2 * n] = b'0' + (n / 10) as u8;
        t[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    t
};

fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// `"YYYY-MM-DDTHH:MM:SS.ffffffZ"` (quoted), as [`crate::time::rfc3339`] formats it.
fn push_time(out: &mut Vec<u8>, ts: i64) {
    thread_local! {
        /// The last second written and its `YYYY-MM-DDTHH:MM:SS` text: events come in
        /// time order, most in the second of the event before.
        static LAST: std::cell::Cell<(i64, [u8; 19])> = const { std::cell::Cell::new((i64::MIN, [0; 19])) };
    }
    let secs = ts.div_euclid(1_000_000_000);
    let nanos = ts.rem_euclid(1_000_000_000) as u64;
    let (last, mut text) = LAST.get();
    if secs != last {
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u64;
        let (y, m, d) = crate::time::civil_from_days(days);
        if !(0..=9999).contains(&y) {
            // Years the fixed layout cannot hold: the general formatter.
            out.push(b'"');
            out.extend_from_slice(crate::time::rfc3339(ts).as_bytes());
            out.push(b'"');
            return;
        }
        fill_pairs(&mut text[0..4], y as u64);
        fill_pairs(&mut text[5..7], u64::from(m));
        fill_pairs(&mut text[8..10], u64::from(d));
        fill_pairs(&mut text[11..13], sod / 3600);
        fill_pairs(&mut text[14..16], (sod % 3600) / 60);
        fill_pairs(&mut text[17..19], sod % 60);
        for (i, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
            text[i] = c;
        }
        LAST.set((secs, text));
    }
    out.push(b'"');
    out.extend_from_slice(&text);
    out.push(b'.');
    if nanos.is_multiple_of(1000) {
        let mut f = [0u8; 6];
        fill_pairs(&mut f, nanos / 1000);
        out.extend_from_slice(&f);
    } else {
        let mut f = [0u8; 9];
        fill_pairs(&mut f[1..], nanos % 100_000_000);
        f[0] = b'0' + (nanos / 100_000_000) as u8;
        out.extend_from_slice(&f);
    }
    out.extend_from_slice(b"Z\"");
}

/// The last `buf.len()` (even) decimal digits of `v`, zero-padded, two at a time.
#[inline]
fn fill_pairs(buf: &mut [u8], mut v: u64) {
    for pair in buf.rchunks_exact_mut(2) {
        let d = (v % 100) as usize * 2;
        v /= 100;
        pair[0] = DIGIT_PAIRS[d];
        pair[1] = DIGIT_PAIRS[d + 1];
    }
}

/// A JSON string, quoted and escaped as serde_json escapes it.
#[inline]
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    if needs_escape(s.as_bytes()) {
        push_str_contents(out, s);
    } else {
        // Nearly every string: names, addresses, field names.
        out.extend_from_slice(s.as_bytes());
    }
    out.push(b'"');
}

/// Whether any byte of `b` is a control character, `"` or `\\`. No short-circuit: a
/// fold over every byte compiles to vector compares (an eight-bytes-at-a-time word
/// test measured slower on the field names and function names written most).
#[inline]
fn needs_escape(b: &[u8]) -> bool {
    !b.iter()
        .fold(true, |ok, &c| ok & (c >= 0x20) & (c != b'"') & (c != b'\\'))
}

/// The escaped contents of a JSON string: `"` and `\` backslashed, control characters
/// as `\b \t \n \f \r` or `\u00XX` (lowercase hex); everything else verbatim.
fn push_str_contents(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(run..i).unwrap_or_default());
        run = i + 1;
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX_LOWER[usize::from(b >> 4)]);
            out.push(HEX_LOWER[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(esc);
        }
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    /// The escape test agrees with a byte-by-byte one for every byte value at every
    /// position of strings of 0 to 19 bytes.
    #[test]
    fn escape_check_finds_every_byte_to_escape() {
        let slow = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        for len in 0..20 {
            for at in 0..len {
                for v in 0..=255u8 {
                    let mut b = vec![b'a'; len];
                    b[at] = v;
                    assert_eq!(needs_escape(&b), slow(&b), "{len} {at} {v:#x}");
                    // The same among bytes from 0x80 up (UTF-8 continuations).
                    let mut h = vec![0xffu8; len];
                    h[at] = v;
                    assert_eq!(needs_escape(&h), slow(&h), "high {len} {at} {v:#x}");
                }
            }
            assert!(!needs_escape(&vec![b'z'; len]));
        }
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        for t in [
            "",
            "plain",
            "q\"b\\s/",
            "\u{0}\u{1}\u{7}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}",
            "é ü 漢字 🦀",
            "ShADadFf",
        ] {
            assert_eq!(
                s(|o| push_str(o, t)),
                serde_json::to_string(t).unwrap(),
                "{t:?}"
            );
        }
    }

    /// Every value below 100,000, every power of ten and its neighbours, and a sweep of
    /// large values, as `to_string` writes them.
    #[test]
    fn decimals_as_std_writes_them() {
        let mut vals: Vec<u64> = (0..100_000).collect();
        let mut p = 1u64;
        while let Some(n) = p.checked_mul(10) {
            vals.extend([n - 1, n, n + 1]);
            p = n;
        }
        vals.extend((0..64).map(|k| (1u64 << k).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        for v in vals {
            assert_eq!(s(|o| push_u64(o, v)), v.to_string());
        }
    }

    /// Times within one second, across seconds, days and years, and back again (the
    /// second's text is kept from one call to the next), as `rfc3339` writes them.
    #[test]
    fn times_in_a_row_match_rfc3339() {
        let base = 1_612_531_800_000_000_000i64;
        for ts in [
            base,
            base + 1,
            base + 999,
            base + 1_000,
            base + 999_999_999,
            base + 1_000_000_000,
            base - 1,
            base,
            base + 86_400_000_000_000,
            base + 86_400_000_000_123,
            0,
            -1,
            i64::MIN,
            base + 7,
        ] {
            assert_eq!(
                s(|o| push_time(o, ts)),
                format!("\"{}\"", crate::time::rfc3339(ts)),
                "{ts}"
            );
        }
    }

    #[test]
    fn numbers_times_and_addresses_match_std() {
        for v in [
            0u64,
            1,
            9,
            10,
            99,
            100,
            12345,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            assert_eq!(s(|o| push_u64(o, v)), v.to_string());
            assert_eq!(s(|o| push_hex(o, v)), format!("{v:x}"));
            assert_eq!(s(|o| push_hex16(o, v)), format!("{v:016x}"));
        }
        for v in [0i64, -1, i64::MIN, i64::MAX, 42] {
            assert_eq!(s(|o| push_i64(o, v)), v.to_string());
            assert_eq!(s(|o| push_hex(o, v as u64)), format!("{v:x}"));
        }
        for ts in [
            0i64,
            -1_000,
            -1,
            1_612_531_800_000_000_000,
            951_782_400_123_456_789,
            9_000_000_000_123_456_000,
            i64::MAX,
            i64::MIN,
            -62_135_596_800_000_000,
        ] {
            assert_eq!(
                s(|o| push_time(o, ts)),
                format!("\"{}\"", crate::time::rfc3339(ts)),
                "{ts}"
            );
        }
        let m = [0x00, 0x1b, 0x1b, 0xa0, 0xff, 0x03];
        assert_eq!(s(|o| push_mac(o, &m)), "00-1B-1B-A0-FF-03");
        for m in [[0u8; 6], [0xff; 6], [0x0a, 0xb0, 0xc1, 0x2d, 0x9e, 0xf7]] {
            let by_fmt = format!(
                "{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            );
            assert_eq!(s(|o| push_mac(o, &m)), by_fmt);
            assert_eq!(crate::event::mac_string(&m), by_fmt);
        }
        for ip in [
            "0.0.0.0",
            "10.10.1.255",
            "::",
            "::ffff:1.2.3.4",
            "fe80::1:2",
            "2001:db8::",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(s(|o| push_ip(o, &ip)), ip.to_string());
        }
    }
}
