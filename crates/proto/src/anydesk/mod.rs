//! AnyDesk recognition (direct connections on TCP 7070; relayed ones on 80/443).
//!
//! AnyDesk wraps its own protocol in TLS; its framing inside is not public, so this
//! module does not invent a signature. What it relies on:
//! - the probe accepts a TLS ClientHello (record type 22, handshake type 1) that has no
//!   server name, or a server name under `anydesk` (browsers and most TLS clients send
//!   SNI; a direct AnyDesk connection to an address does not need one). The engine
//!   tries the protocols registered on a flow's port first, so this labels TLS toward
//!   port 7070 as AnyDesk (`detected_by: "port"`); elsewhere the TLS parser, earlier in
//!   the registry, claims ClientHellos first;
//! - upgrades `detected_by` to `sni` when the server name contains `anydesk`, and to
//!   `certificate` when the server's certificate (cleartext before TLS 1.3) contains
//!   `AnyDesk` — AnyDesk's self-signed certificates on 7070 carry the subject
//!   `CN=AnyDesk Client` (as scanners such as sslscan / nmap report them).
//!
//! Events: one `session` record per flow, emitted when the server's handshake
//! flight ends (first ChangeCipherSpec / application data record), or at the end.
use crate::{
    Direction, Output, Parser, Probe, ProtoRecord, ProtocolDesc, Record, Timestamp, Transport, Txn,
};
use serde::Serialize;

/// Server handshake bytes kept while looking for the certificate.
pub const MAX_SERVER_BYTES: usize = 16 * 1024;

/// One AnyDesk event record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {
    /// `port`, `sni` or `certificate` (see the module documentation).
    pub detected_by: &'static str,
    /// The ClientHello's server name, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// TLS version the ServerHello selected (legacy version field), e.g. `TLS 1.2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<&'static str>,
    /// The server certificate names AnyDesk.
    pub certificate_anydesk: bool,
}

impl ProtoRecord for Transaction {}

/// The ClientHello's SNI: `Ok(None)` when it has none, `Err(())` when `data` is not a
/// (complete enough) ClientHello.
pub fn client_hello_sni(data: &[u8]) -> Result<Option<String>, Option<()>> {
    // record header
    let hdr = data.get(..5).ok_or(None)?;
    if hdr[0] != 22 || hdr[1] != 3 || hdr[2] > 4 {
        return Err(Some(()));
    }
    let rec_len = usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
    let rec = data.get(5..5 + rec_len).ok_or(None)?;
    if rec.first() != Some(&1) {
        return Err(Some(()));
    }
    let mut p = 4 + 2 + 32;
    let sid = usize::from(*rec.get(p).ok_or(Some(()))?);
    p += 1 + sid;
    let cs = usize::from(u16::from_be_bytes([
        *rec.get(p).ok_or(Some(()))?,
        *rec.get(p + 1).ok_or(Some(()))?,
    ]));
    p += 2 + cs;
    let comp = usize::from(*rec.get(p).ok_or(Some(()))?);
    p += 1 + comp;
    let Some(el) = rec.get(p..p + 2) else {
        return Ok(None); // no extensions
    };
    let ext_len = usize::from(u16::from_be_bytes([el[0], el[1]]));
    let exts = rec.get(p + 2..p + 2 + ext_len).ok_or(Some(()))?;
    let mut q = 0;
    while let Some(h) = exts.get(q..q + 4) {
        let ty = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let body = exts.get(q + 4..q + 4 + len).ok_or(Some(()))?;
        if ty == 0 {
            // server_name_list: len(2) type(1) name_len(2) name
            let n = usize::from(u16::from_be_bytes([
                *body.get(3).ok_or(Some(()))?,
                *body.get(4).ok_or(Some(()))?,
            ]));
            let name = body.get(5..5 + n).ok_or(Some(()))?;
            return Ok(Some(
                String::from_utf8_lossy(&name[..name.len().min(255)]).into_owned(),
            ));
        }
        q += 4 + len;
    }
    Ok(None)
}

/// Content probe (see the module documentation).
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    if dir != Direction::ToServer {
        return Probe::NoMatch;
    }
    match client_hello_sni(data) {
        Ok(None) => Probe::Match,
        Ok(Some(sni)) if sni.to_ascii_lowercase().contains("anydesk") => Probe::Match,
        Ok(Some(_)) => Probe::NoMatch,
        Err(None) if data.len() < 512 && data.first().is_none_or(|&b| b == 22) => Probe::NeedMore,
        Err(_) => Probe::NoMatch,
    }
}

/// The AnyDesk parser of one flow.
#[derive(Default)]
pub struct AnydeskParser {
    client_head: Vec<u8>,
    hello_done: bool,
    server: Vec<u8>,
    sni: Option<String>,
    tls_version: Option<&'static str>,
    cert: bool,
    start: Option<Timestamp>,
    emitted: bool,
    handshake_done: bool,
}

fn tls_version(v: u16) -> Option<&'static str> {
    Some(match v {
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => return None,
    })
}

impl AnydeskParser {
    pub fn new() -> Self {
        Self::default()
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        if self.emitted {
            return;
        }
        self.emitted = true;
        let sni_anydesk = self
            .sni
            .as_deref()
            .is_some_and(|s| s.to_ascii_lowercase().contains("anydesk"));
        let tx = Transaction {
            detected_by: if self.cert {
                "certificate"
            } else if sni_anydesk {
                "sni"
            } else {
                "port"
            },
            sni: self.sni.clone(),
            tls_version: self.tls_version,
            certificate_anydesk: self.cert,
        };
        out.push(Output::Txn(Txn {
            ts: self.start.unwrap_or(ts),
            ts_end: Some(ts),
            dir: Direction::ToServer,
            record: Record::Anydesk(Box::new(tx)),
        }));
    }

    /// Walks the server's TLS records seen so far.
    fn scan_server(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        let mut p = 0;
        while let Some(h) = self.server.get(p..p + 5) {
            let ty = h[0];
            let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
            if ty != 22 {
                self.handshake_done = true;
                break;
            }
            let Some(body) = self.server.get(p + 5..p + 5 + len) else {
                break;
            };
            if self.tls_version.is_none() && body.first() == Some(&2) {
                if let Some(v) = body.get(4..6) {
                    self.tls_version = tls_version(u16::from_be_bytes([v[0], v[1]]));
                }
            }
            if body.windows(7).any(|w| w == b"AnyDesk") {
                self.cert = true;
            }
            p += 5 + len;
        }
        if self.handshake_done || self.server.len() >= MAX_SERVER_BYTES {
            self.handshake_done = true;
            self.server = Vec::new();
            self.emit(ts, out);
        }
    }
}

impl Parser for AnydeskParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        self.start.get_or_insert(ts);
        match dir {
            Direction::ToServer => {
                if !self.hello_done {
                    let take = 4096usize
                        .saturating_sub(self.client_head.len())
                        .min(data.len());
                    self.client_head
                        .extend_from_slice(data.get(..take).unwrap_or_default());
                    match client_hello_sni(&self.client_head) {
                        Ok(s) => {
                            self.sni = s;
                            self.hello_done = true;
                        }
                        Err(Some(())) => self.hello_done = true,
                        Err(None) => self.hello_done = self.client_head.len() >= 4096,
                    }
                    if self.hello_done {
                        self.client_head = Vec::new();
                    }
                }
            }
            Direction::ToClient => {
                if !self.handshake_done {
                    let room = MAX_SERVER_BYTES.saturating_sub(self.server.len());
                    self.server
                        .extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
                    self.scan_server(ts, out);
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        if dir == Direction::ToClient {
            self.handshake_done = true;
            self.server = Vec::new();
        }
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        self.emit(ts, out);
        self.client_head = Vec::new();
        self.server = Vec::new();
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(AnydeskParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "anydesk",
    transports: &[Transport::Tcp],
    ports: &[7070],
    probe,
    new_parser,
};
