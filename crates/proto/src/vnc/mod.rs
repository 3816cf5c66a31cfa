//! VNC / RFB (RFC 6143 and the community registry of security types and encodings):
//! protocol versions, offered and chosen security types (with VeNCrypt subtypes),
//! `auth_none`, the security result and its reason, ClientInit (shared flag),
//! ServerInit (framebuffer size, pixel format, desktop name); after that only message
//! counts (key and pointer events, framebuffer updates...).
//!
//! Events: one `handshake` transaction (emitted at ServerInit, at a failed security
//! result, or when the flow ends), then one `session` summary with the message counts
//! at the end of the flow when messages followed the handshake.
//!
//! Counting after the handshake is exact for client messages of RFC 6143 and for server
//! framebuffer updates using Raw, CopyRect, RRE, CoRRE, Hextile, Zlib, ZRLE and the
//! cursor / desktop-size pseudo-encodings. Tight, ZlibHex, vendor encodings and
//! non-standard message types cannot be framed without decoding them: counting of that
//! direction stops there and `framing_lost` is set (counts are then lower bounds).
//!
//! Anomaly kinds: `bad_version`, `unexpected_pdu`, `not_vnc`.
use crate::{Direction, Parser, Probe, ProtoRecord, ProtocolDesc, Transport};
use serde::Serialize;

pub mod names;
pub mod state;

pub use state::VncParser;

/// Longest string kept from the wire.
pub const MAX_STR: usize = 256;
/// Most security types / subtypes kept.
pub const MAX_TYPES: usize = 32;

/// Message counts after the handshake.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counters {
    pub key_events: u32,
    pub pointer_events: u32,
    pub update_requests: u32,
    pub client_cut_texts: u32,
    pub set_encodings: u32,
    pub framebuffer_updates: u32,
    pub rectangles: u32,
    pub bells: u32,
    pub server_cut_texts: u32,
    pub colour_map_updates: u32,
    /// A direction could not be framed any further (counts are lower bounds).
    pub framing_lost: bool,
}

/// One VNC event record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {
    /// `handshake` or `session` (message counts at the end of the flow).
    pub kind: &'static str,
    /// Server ProtocolVersion, e.g. `003.008`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    /// Security types the server offered (3.7+), or the one it imposed (3.3).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_types: Vec<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_type_names: Vec<&'static str>,
    /// The security type in force (chosen by the client, or by a 3.3 server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_type: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_type_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vencrypt_subtypes: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vencrypt_subtype: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vencrypt_subtype_name: Option<&'static str>,
    /// No authentication: security type None, or VeNCrypt TLSNone / X509None.
    pub auth_none: bool,
    /// User name sent in clear (VeNCrypt Plain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_present: bool,
    /// Security result: true OK, false failed; absent when not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The session continues inside TLS (VeNCrypt TLS / X509 subtypes, type 18).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    /// ClientInit shared-desktop flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits_per_pixel: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desktop_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counters: Option<Box<Counters>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Transaction {
    pub fn new(kind: &'static str) -> Self {
        Transaction {
            kind,
            server_version: None,
            client_version: None,
            security_types: Vec::new(),
            security_type_names: Vec::new(),
            security_type: None,
            security_type_name: None,
            vencrypt_subtypes: Vec::new(),
            vencrypt_subtype: None,
            vencrypt_subtype_name: None,
            auth_none: false,
            user: None,
            password_present: false,
            auth_success: None,
            failure_reason: None,
            tls: false,
            shared: None,
            width: None,
            height: None,
            bits_per_pixel: None,
            depth: None,
            desktop_name: None,
            counters: None,
            truncated: false,
        }
    }
}

impl ProtoRecord for Transaction {}

/// A ProtocolVersion message `RFB xxx.yyy\n`: returns (major, minor).
pub fn parse_version(b: &[u8]) -> Option<(u16, u16)> {
    let b = b.get(..12)?;
    if !b.starts_with(b"RFB ") || b[7] != b'.' || b[11] != b'\n' {
        return None;
    }
    let num = |s: &[u8]| -> Option<u16> {
        s.iter().try_fold(0u16, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
        })
    };
    Some((num(&b[4..7])?, num(&b[8..11])?))
}

/// Content probe: the ProtocolVersion message either side sends first.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    let want = b"RFB ";
    let n = data.len().min(4);
    if data.get(..n) != want.get(..n) {
        return Probe::NoMatch;
    }
    if data.len() < 12 {
        return Probe::NeedMore;
    }
    if parse_version(data).is_some() {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(VncParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "vnc",
    transports: &[Transport::Tcp],
    ports: &[5900, 5901, 5902, 5903],
    probe,
    new_parser,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_probe() {
        assert_eq!(parse_version(b"RFB 003.008\n"), Some((3, 8)));
        assert_eq!(parse_version(b"RFB 003.889\n"), Some((3, 889)));
        assert_eq!(parse_version(b"RFB 00x.008\n"), None);
        assert_eq!(probe(Direction::ToClient, b"RFB 003.008\n"), Probe::Match);
        assert_eq!(probe(Direction::ToClient, b"RFB 00"), Probe::NeedMore);
        assert_eq!(probe(Direction::ToClient, b"SSH-2.0-x\r\n"), Probe::NoMatch);
        assert_eq!(probe(Direction::ToClient, b"RFB 003.008\r"), Probe::NoMatch);
    }
}
