//! RDP (MS-RDPBCGR) connection sequence: the X.224 Connection Request with the
//! routing cookie (`Cookie: mstshash=USER`) and RDP_NEG_REQ, the Connection Confirm
//! with RDP_NEG_RSP / RDP_NEG_FAILURE, the switch to TLS / CredSSP, and, for standard
//! RDP security (still in clear), the MCS Connect Initial client data (build, name,
//! keyboard, desktop size, channels) and the Connect Response (encryption, certificate).
//!
//! Events: one `negotiation` transaction (request + confirm) and, when visible, one
//! `mcs_connect` transaction (Connect Initial + Connect Response). After a switch to
//! TLS/CredSSP the rest of the flow is opaque and ignored.
//!
//! Anomaly kinds: `bad_tpkt`, `bad_length`, `truncated_pdu`, `unexpected_pdu`,
//! `not_rdp`.
use crate::{Direction, Parser, Probe, ProtoRecord, ProtocolDesc, Transport};
use serde::Serialize;

pub mod parser;
pub mod state;

pub use state::RdpParser;

/// Longest string kept from the wire.
pub const MAX_STR: usize = 256;

/// Client core data as seen in MCS Connect Initial (standard RDP security only).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Client {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyboard_layout: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyboard_layout_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desktop_width: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desktop_height: Option<u16>,
    /// Requested colour depth in bits per pixel (highColorDepth).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_depth: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dig_product_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

/// Server security data from MCS Connect Response.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Server {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_level: Option<&'static str>,
    /// `proprietary` or `X.509`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_permanent: Option<bool>,
}

/// One RDP event record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {
    /// `negotiation` (X.224 request/confirm) or `mcs_connect` (client/server data).
    pub kind: &'static str,
    /// The `mstshash` cookie value as sent (often the user name, cut to 9 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// User name from the cookie (trimmed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A load-balancing routing token (`Cookie: msts=...`), when sent instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_token: Option<String>,
    /// Security protocols the client offered (RDP_NEG_REQ); absent for old clients.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requested_protocols: Vec<&'static str>,
    /// Security protocol in force: `RDP` (standard RDP security), `TLS`, `HYBRID`
    /// (CredSSP), `RDSTLS`, `HYBRID_EX`, `RDSAAD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_protocol: Option<&'static str>,
    /// RDP_NEG_FAILURE code name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<&'static str>,
    /// `success` (standard RDP security), `encrypted` (switched to TLS/CredSSP),
    /// `failure` (negotiation refused or disconnect), absent when unanswered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// The session switches to TLS after the confirm (everything after is opaque).
    pub tls: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Box<Client>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Box<Server>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Transaction {
    pub fn new(kind: &'static str) -> Self {
        Transaction {
            kind,
            cookie: None,
            user: None,
            routing_token: None,
            requested_protocols: Vec::new(),
            security_protocol: None,
            failure: None,
            result: None,
            tls: false,
            client: None,
            server: None,
            truncated: false,
        }
    }
}

impl ProtoRecord for Transaction {}

/// Content probe: a TPKT frame holding an X.224 Connection Request (to the server)
/// or Confirm (to the client) whose variable part is empty, a `Cookie:` line or an
/// RDP negotiation block. S7comm / MMS COTP requests carry TSAP parameters instead
/// (0xC0..0xC2) and do not match.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    let len = match parser::tpkt_len(data) {
        Ok(None) => return Probe::NeedMore,
        Err(_) => return Probe::NoMatch,
        Ok(Some(n)) => n,
    };
    if data.len() < 11.min(len) {
        return Probe::NeedMore;
    }
    let frame = data.get(..len).unwrap_or(data);
    let code = match dir {
        Direction::ToServer => parser::X224_CR,
        Direction::ToClient => parser::X224_CC,
    };
    if data.len() < len {
        // Partial: decide on what is there when the cookie or negotiation started.
        if data.len() < 19 {
            return Probe::NeedMore;
        }
    }
    if parser::plausible_connection(frame, code) {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(RdpParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "rdp",
    transports: &[Transport::Tcp],
    ports: &[3389],
    probe,
    new_parser,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_decisions() {
        use Direction::*;
        // RDP CR with cookie
        let mut cr = vec![3, 0, 0, 0, 0, 0xE0, 0, 0, 0, 0, 0];
        cr.extend_from_slice(b"Cookie: mstshash=x\r\n");
        let n = cr.len();
        cr[3] = n as u8;
        cr[4] = (n - 5) as u8;
        assert_eq!(probe(ToServer, &cr), Probe::Match);
        assert_eq!(probe(ToServer, &cr[..3]), Probe::NeedMore);
        // S7comm COTP CR with TSAP parameters
        let s7 = [
            3, 0, 0, 22, 17, 0xE0, 0, 0, 0, 1, 0, 0xC0, 1, 0x0A, 0xC1, 2, 1, 0, 0xC2, 2, 1, 2,
        ];
        assert_eq!(probe(ToServer, &s7), Probe::NoMatch);
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        // CC with NEG_RSP
        let cc = [
            3, 0, 0, 19, 14, 0xD0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 1, 0, 0, 0,
        ];
        assert_eq!(probe(ToClient, &cc), Probe::Match);
    }
}
