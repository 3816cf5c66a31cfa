//! The TLS event record: one handshake (ClientHello, ServerHello, certificates,
//! alerts) per transaction.
use super::cert::Certificate;
use super::fingerprint::{self, Ja4Input};
use super::names;
use super::parser::{ClientHello, ServerHello};
use serde::Serialize;

/// Entries kept of each list from the wire.
pub const MAX_LIST: usize = 128;
/// Certificates summarised per chain.
pub const MAX_CERTS: usize = 8;
/// Alerts kept.
pub const MAX_ALERTS: usize = 8;

fn is_false(b: &bool) -> bool {
    !*b
}

fn capped<T: Copy>(v: &[T], cut: &mut bool) -> Vec<T> {
    if v.len() > MAX_LIST {
        *cut = true;
    }
    v.iter().take(MAX_LIST).copied().collect()
}

/// Printable text of a wire string, cut at 256 characters.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .filter(|c| !c.is_control())
        .take(256)
        .collect()
}

/// What the client offered.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Client {
    /// Legacy version of the ClientHello (771 = TLS 1.2).
    pub version: u16,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_versions: Vec<u16>,
    pub cipher_suites: Vec<u16>,
    pub extensions: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_groups: Vec<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signature_algorithms: Vec<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ec_point_formats: Vec<u8>,
    pub session_id_len: u8,
    pub ja3: String,
    pub ja3_hash: String,
    pub ja4: String,
    /// A list was cut at [`MAX_LIST`] (the fingerprints use the whole lists).
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl Client {
    pub fn from_hello(h: &ClientHello<'_>) -> Client {
        let exts = h.extension_types();
        let groups = h.groups();
        let sigs = h.signature_algorithms();
        let versions = h.supported_versions();
        let alpn = h.alpn();
        let ja3 = fingerprint::ja3(h.version, &h.ciphers, &exts, &groups, h.point_formats());
        let (ja4, _) = fingerprint::ja4(&Ja4Input {
            transport: 't',
            legacy_version: h.version,
            supported_versions: &versions,
            ciphers: &h.ciphers,
            extensions: &exts,
            has_sni: h.has(super::parser::EXT_SNI),
            first_alpn: alpn.first().copied(),
            signature_algorithms: &sigs,
        });
        let mut cut = false;
        Client {
            version: h.version,
            supported_versions: capped(&versions, &mut cut),
            cipher_suites: capped(&h.ciphers, &mut cut),
            extensions: capped(&exts, &mut cut),
            sni: h.sni().map(text),
            alpn: alpn.iter().take(16).map(|a| text(a)).collect(),
            supported_groups: capped(&groups, &mut cut),
            signature_algorithms: capped(&sigs, &mut cut),
            ec_point_formats: capped(h.point_formats(), &mut cut),
            session_id_len: u8::try_from(h.session_id.len()).unwrap_or(u8::MAX),
            ja3_hash: fingerprint::md5_hex(ja3.as_bytes()),
            ja3,
            ja4,
            truncated: cut,
        }
    }
}

/// What the server chose.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Server {
    /// Legacy version of the ServerHello.
    pub version: u16,
    /// Version chosen with supported_versions (TLS 1.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_version: Option<u16>,
    pub cipher_suite: u16,
    pub compression: u8,
    pub extensions: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_share_group: Option<u16>,
    pub session_id_len: u8,
    pub ja3s: String,
    pub ja3s_hash: String,
}

impl Server {
    pub fn from_hello(h: &ServerHello<'_>) -> Server {
        let exts = h.extension_types();
        let ja3s = fingerprint::ja3s(h.version, h.cipher, &exts);
        let mut cut = false;
        Server {
            version: h.version,
            selected_version: h.selected_version(),
            cipher_suite: h.cipher,
            compression: h.compression,
            extensions: capped(&exts, &mut cut),
            alpn: h.alpn().map(text),
            key_share_group: h.key_share_group(),
            session_id_len: u8::try_from(h.session_id.len()).unwrap_or(u8::MAX),
            ja3s_hash: fingerprint::md5_hex(ja3s.as_bytes()),
            ja3s,
        }
    }
}

/// A cleartext alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// `client` or `server`.
    pub from: &'static str,
    /// 1 warning, 2 fatal.
    pub level: u8,
    pub description: u8,
    pub name: &'static str,
}

/// One TLS handshake.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// Negotiated version name (`TLSv12`, `TLSv13`), else the offered one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Chosen cipher suite name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher: Option<&'static str>,
    /// Key exchange group (ECDHE ServerKeyExchange or TLS 1.3 key share).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Box<Client>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Box<Server>>,
    /// The server's certificate chain (TLS ≤ 1.2, in clear), leaf first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Certificate>,
    /// The client sent a certificate.
    #[serde(skip_serializing_if = "is_false")]
    pub client_certificate: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<Alert>,
    /// Both sides switched to encrypted traffic.
    pub established: bool,
    /// Abbreviated handshake (session resumption).
    #[serde(skip_serializing_if = "is_false")]
    pub resumed: bool,
    /// The server answered with a HelloRetryRequest.
    #[serde(skip_serializing_if = "is_false")]
    pub hello_retry: bool,
    /// Certificates or alerts were cut.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl Transaction {
    /// Fills the chosen version and cipher from the server's hello.
    pub fn set_server(&mut self, s: Server) {
        let v = s.selected_version.unwrap_or(s.version);
        self.version = Some(names::version_name(v));
        self.cipher = names::cipher_name(s.cipher_suite);
        if let Some(g) = s.key_share_group {
            self.curve = Some(names::group_name(g));
        }
        self.server = Some(Box::new(s));
    }

    /// The chosen cipher suite id.
    pub fn cipher_suite(&self) -> Option<u16> {
        self.server.as_ref().map(|s| s.cipher_suite)
    }
}
