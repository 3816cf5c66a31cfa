//! The SSH event record: both identification lines, both KEXINITs with their
//! HASSH fingerprints, and the algorithms the two lists agree on.
use super::parser::{self, KexInit, MAX_NAMES};
use serde::Serialize;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Printable text, cut at `max` characters.
pub fn text(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect()
}

fn list(b: &[u8], cut: &mut bool) -> Vec<String> {
    let mut v = Vec::new();
    for n in parser::names(b) {
        if v.len() >= MAX_NAMES {
            *cut = true;
            break;
        }
        v.push(text(n, 128));
    }
    v
}

/// A HASSH fingerprint: MD5 of `kex;enc;mac;comp` (client-to-server lists for the
/// client, server-to-client lists for the server).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hassh {
    pub hash: String,
    pub string: String,
}

/// The algorithm lists of a KEXINIT (each cut at 64 names).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Kex {
    pub kex_algorithms: Vec<String>,
    pub host_key_algorithms: Vec<String>,
    pub encryption_client_to_server: Vec<String>,
    pub encryption_server_to_client: Vec<String>,
    pub mac_client_to_server: Vec<String>,
    pub mac_server_to_client: Vec<String>,
    pub compression_client_to_server: Vec<String>,
    pub compression_server_to_client: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub first_kex_follows: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl Kex {
    pub fn from_kexinit(k: &KexInit<'_>) -> Kex {
        let mut cut = false;
        Kex {
            kex_algorithms: list(k.kex, &mut cut),
            host_key_algorithms: list(k.host_key, &mut cut),
            encryption_client_to_server: list(k.enc_c2s, &mut cut),
            encryption_server_to_client: list(k.enc_s2c, &mut cut),
            mac_client_to_server: list(k.mac_c2s, &mut cut),
            mac_server_to_client: list(k.mac_s2c, &mut cut),
            compression_client_to_server: list(k.comp_c2s, &mut cut),
            compression_server_to_client: list(k.comp_s2c, &mut cut),
            first_kex_follows: k.first_kex_follows,
            truncated: cut,
        }
    }
}

/// One side of the connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Endpoint {
    /// `2.0`, `1.99`.
    pub proto_version: String,
    pub software_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    /// Lines sent before the identification line.
    #[serde(skip_serializing_if = "is_zero")]
    pub pre_banner_lines: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hassh: Option<Hassh>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kex: Option<Box<Kex>>,
}

impl Endpoint {
    /// The full identification line (`SSH-2.0-OpenSSH_7.4 comments`).
    pub fn banner(&self) -> String {
        let mut s = format!("SSH-{}-{}", self.proto_version, self.software_version);
        if let Some(c) = &self.comments {
            s.push(' ');
            s.push_str(c);
        }
        s
    }
}

/// Algorithms both KEXINITs agree on (RFC 4253 §7.1: the client's first choice the
/// server supports).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Chosen {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_client_to_server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_server_to_client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_client_to_server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_server_to_client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression_client_to_server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression_server_to_client: Option<String>,
}

impl Chosen {
    pub fn negotiate(c: &KexInit<'_>, s: &KexInit<'_>) -> Chosen {
        let n = |a: &[u8], b: &[u8]| parser::negotiate(a, b).map(|x| text(x, 128));
        Chosen {
            kex: n(c.kex, s.kex),
            host_key: n(c.host_key, s.host_key),
            cipher_client_to_server: n(c.enc_c2s, s.enc_c2s),
            cipher_server_to_client: n(c.enc_s2c, s.enc_s2c),
            mac_client_to_server: n(c.mac_c2s, s.mac_c2s),
            mac_server_to_client: n(c.mac_s2c, s.mac_s2c),
            compression_client_to_server: n(c.comp_c2s, s.comp_c2s),
            compression_server_to_client: n(c.comp_s2c, s.comp_s2c),
        }
    }
}

/// One SSH connection's cleartext negotiation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// Protocol major version (2, or 1 for SSH-1.x servers not offering 1.99).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Box<Endpoint>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Box<Endpoint>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen: Option<Box<Chosen>>,
    /// Both sides sent NEWKEYS (encryption started).
    pub encrypted: bool,
}
