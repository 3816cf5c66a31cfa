//! Small helpers: stable hashing, protocol guesses by port, write classification.

use std::net::IpAddr;

use sluice_proto::registry::REGISTRY;
use sluice_proto::Transport;

/// FNV-1a over `parts` with a separator, 64 bits, from `seed`.
fn fnv(seed: u64, parts: &[&str]) -> u64 {
    let mut h = seed;
    for p in parts {
        for b in p.as_bytes().iter().chain(std::iter::once(&0x1f)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// A stable 128-bit hex id of `parts` (two FNV-1a streams with different offsets).
pub fn stable_id(prefix: &str, parts: &[&str]) -> String {
    let a = fnv(0xcbf2_9ce4_8422_2325, parts);
    let b = fnv(0x8422_2325_cbf2_9ce4 ^ 0x5bd1_e995, parts);
    format!("{prefix}{a:016x}{b:016x}")
}

/// Protocols registered on a server port for a transport, in registry order. Used for
/// flows whose protocol the engine could not identify (no parser yet, handshake only,
/// encrypted): the port is the best evidence left.
pub fn protocols_on_port(transport: Option<&str>, port: u16) -> impl Iterator<Item = &'static str> {
    let tr = match transport {
        Some("tcp") => Some(Transport::Tcp),
        Some("udp") => Some(Transport::Udp),
        _ => None,
    };
    REGISTRY
        .iter()
        .filter(move |d| tr.is_some_and(|t| d.transports.contains(&t)) && d.ports.contains(&port))
        .map(|d| d.name)
}

/// The remote-access protocols.
pub const REMOTE_ACCESS: &[&str] = &["vnc", "rdp", "ssh", "teamviewer", "anydesk", "telnet"];

/// Whether `p` is a remote-access protocol.
pub fn is_remote_access(p: &str) -> bool {
    REMOTE_ACCESS.iter().any(|r| r.eq_ignore_ascii_case(p))
}

/// Whether a function code of a protocol changes the device (a write, a control, a
/// program or configuration change). Used where only the stored function code is known
/// (`sluice policy suggest` from the store).
pub fn is_write_function(protocol: &str, fc: u32) -> bool {
    match protocol {
        "modbus" => matches!(fc, 5 | 6 | 8 | 15 | 16 | 21 | 22 | 23 | 90),
        "dnp3" => matches!(fc, 2..=31),
        // S7 job functions: write var, download, PI service, PLC stop.
        "s7comm" => matches!(fc, 0x05 | 0x1a..=0x1c | 0x28 | 0x29),
        // ASDU type ids of commands and parameters, reset process, file transfer.
        "iec104" => matches!(fc, 45..=69 | 101 | 105 | 110..=113 | 120..=127),
        // Confirmed services that write or control a device.
        "bacnet" => matches!(fc, 8..=10 | 15..=17 | 19 | 20 | 22..=24),
        "mms" => matches!(fc, 5 | 8..=13 | 25 | 27 | 28 | 38 | 41..=48 | 65..=70 | 72),
        _ => false,
    }
}

/// Whether an address is private, loopback or link-local (inside a site).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_private() || a.is_loopback() || a.is_link_local(),
        IpAddr::V6(a) => {
            a.is_loopback()
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Parses a duration: `90`, `90s`, `5m`, `2h`, `250ms` into nanoseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let t = text.trim();
    let (num, mult): (&str, i64) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1_000_000)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1_000_000_000)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000_000_000)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3_600_000_000_000)
    } else {
        (t, 1_000_000_000)
    };
    let v: f64 = num.trim().parse().ok()?;
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    let ns = v * mult as f64;
    (ns < 9.0e18).then_some(ns as i64)
}

/// A duration for humans: `5 min`, `90 s`, `250 ms`.
pub fn human_duration(ns: i64) -> String {
    const S: i64 = 1_000_000_000;
    if ns >= 3600 * S && ns % (3600 * S) == 0 {
        format!("{} h", ns / (3600 * S))
    } else if ns >= 60 * S && ns % (60 * S) == 0 {
        format!("{} min", ns / (60 * S))
    } else if ns >= S {
        format!("{} s", ns / S)
    } else {
        format!("{} ms", ns / 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Some(60_000_000_000));
        assert_eq!(parse_duration("5m"), Some(300_000_000_000));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("2"), Some(2_000_000_000));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("x"), None);
        assert_eq!(human_duration(300_000_000_000), "5 min");
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(stable_id("A", &["x", "y"]), stable_id("A", &["x", "y"]));
        assert_ne!(stable_id("A", &["x", "y"]), stable_id("A", &["xy", ""]));
        assert_eq!(stable_id("A", &["x"]).len(), 33);
    }

    #[test]
    fn port_guesses() {
        assert_eq!(
            protocols_on_port(Some("tcp"), 502).collect::<Vec<_>>(),
            ["modbus"]
        );
        assert_eq!(
            protocols_on_port(Some("udp"), 53).collect::<Vec<_>>(),
            ["dns"]
        );
        assert!(protocols_on_port(Some("udp"), 502).next().is_none());
        assert!(protocols_on_port(None, 502).next().is_none());
    }
}
