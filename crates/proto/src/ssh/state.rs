//! SSH flow state: per direction, lines until the identification line (other lines
//! first are allowed, at most [`MAX_PRE_LINES`]), then unencrypted binary packets
//! until NEWKEYS, after which the direction is encrypted and skipped.
//!
//! One transaction per connection, emitted when both sides sent NEWKEYS, or at
//! `finish()`. The server's software version is its identity (`ssh.banner`).
use super::parser::{self, MAX_LINE};
use super::record::{text, Chosen, Endpoint, Hassh, Kex, Transaction};
use crate::tls::fingerprint::md5_hex;
use crate::{Anomaly, Direction, Identity, Output, Parser, Record, Side, Timestamp, Txn};

/// Lines accepted before the identification line.
pub const MAX_PRE_LINES: u32 = 1024;
/// Longest line kept while looking for the identification line.
const MAX_ANY_LINE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Phase {
    #[default]
    Banner,
    Packets,
    /// NEWKEYS sent (or SSH-1): the rest is opaque.
    Encrypted,
    /// Framing lost: the rest is skipped.
    Lost,
}

#[derive(Default)]
struct Half {
    phase: Phase,
    buf: Vec<u8>,
    lines: u32,
    endpoint: Option<Endpoint>,
    /// KEXINIT payload kept for the negotiation.
    kexinit: Option<Vec<u8>>,
}

/// The SSH parser of one flow.
pub struct SshParser {
    halves: [Half; 2],
    start: Option<Timestamp>,
    emitted: bool,
    disabled: bool,
}

impl Default for SshParser {
    fn default() -> Self {
        Self::new()
    }
}

fn idx(dir: Direction) -> usize {
    usize::from(dir == Direction::ToClient)
}

fn anomaly(
    out: &mut Vec<Output>,
    ts: Timestamp,
    dir: Direction,
    kind: &'static str,
    message: String,
) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: "ssh",
        kind,
        message,
        dir,
    }));
}

/// HASSH string of a KEXINIT: `kex;enc;mac;comp` with the lists of the sender's
/// direction (client-to-server for a client, server-to-client for a server).
pub fn hassh(k: &parser::KexInit<'_>, server: bool) -> Hassh {
    let (enc, mac, comp) = if server {
        (k.enc_s2c, k.mac_s2c, k.comp_s2c)
    } else {
        (k.enc_c2s, k.mac_c2s, k.comp_c2s)
    };
    let mut s = Vec::with_capacity(k.kex.len() + enc.len() + mac.len() + comp.len() + 3);
    for (i, l) in [k.kex, enc, mac, comp].iter().enumerate() {
        if i > 0 {
            s.push(b';');
        }
        s.extend_from_slice(l);
    }
    Hassh {
        hash: md5_hex(&s),
        string: text(&s, 4096),
    }
}

impl SshParser {
    pub fn new() -> SshParser {
        SshParser {
            halves: [Half::default(), Half::default()],
            start: None,
            emitted: false,
            disabled: false,
        }
    }

    /// The parser gave up on the flow.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    fn lose(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        let h = &mut self.halves[idx(dir)];
        h.phase = Phase::Lost;
        h.buf = Vec::new();
        if self
            .halves
            .iter()
            .all(|h| h.endpoint.is_none() && h.phase == Phase::Lost)
        {
            self.disabled = true;
            anomaly(
                out,
                ts,
                dir,
                "not_ssh",
                "no SSH identification line: no longer parsing this flow as SSH".to_string(),
            );
        }
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        if self.emitted {
            return;
        }
        let [c, s] = &mut self.halves;
        if c.endpoint.is_none() && s.endpoint.is_none() {
            return;
        }
        self.emitted = true;
        let chosen = match (&c.kexinit, &s.kexinit) {
            (Some(a), Some(b)) => match (parser::kexinit(a), parser::kexinit(b)) {
                (Ok(a), Ok(b)) => Some(Box::new(Chosen::negotiate(&a, &b))),
                _ => None,
            },
            _ => None,
        };
        let major = |e: &Endpoint| {
            if e.proto_version.starts_with("2.") || e.proto_version == "1.99" {
                2
            } else if e.proto_version.starts_with("1.") {
                1
            } else {
                0
            }
        };
        let version = match (&c.endpoint, &s.endpoint) {
            (Some(a), Some(b)) => Some(major(a).min(major(b))),
            (Some(a), None) | (None, Some(a)) => Some(major(a)),
            _ => None,
        }
        .filter(|v| *v > 0);
        let tx = Transaction {
            version,
            client: c.endpoint.clone().map(Box::new),
            server: s.endpoint.clone().map(Box::new),
            chosen,
            encrypted: c.phase == Phase::Encrypted && s.phase == Phase::Encrypted,
        };
        out.push(Output::Txn(Txn {
            ts: self.start.unwrap_or(ts),
            ts_end: Some(ts),
            dir: Direction::ToServer,
            record: Record::Ssh(Box::new(tx)),
        }));
    }

    /// One line in the banner phase.
    fn line(&mut self, dir: Direction, line: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.starts_with(b"SSH-") {
            let h = &mut self.halves[idx(dir)];
            h.lines += 1;
            if h.lines > MAX_PRE_LINES {
                anomaly(
                    out,
                    ts,
                    dir,
                    "no_banner",
                    format!("more than {MAX_PRE_LINES} lines before the identification line"),
                );
                self.lose(dir, ts, out);
            }
            return;
        }
        if line.len() > MAX_LINE {
            anomaly(
                out,
                ts,
                dir,
                "banner_too_long",
                format!(
                    "identification line of {} bytes (at most {MAX_LINE})",
                    line.len()
                ),
            );
        }
        let b = match parser::banner(line) {
            Ok(b) => b,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), format!("{e}: {:?}", text(line, 64)));
                self.lose(dir, ts, out);
                return;
            }
        };
        self.start.get_or_insert(ts);
        let h = &mut self.halves[idx(dir)];
        let ep = Endpoint {
            proto_version: text(b.proto_version, 16),
            software_version: text(b.software, 128),
            comments: b.comments.map(|c| text(c, 128)),
            pre_banner_lines: h.lines,
            ..Endpoint::default()
        };
        let v1 = ep.proto_version.starts_with("1.") && ep.proto_version != "1.99";
        h.phase = if v1 { Phase::Encrypted } else { Phase::Packets };
        if dir == Direction::ToClient && !ep.software_version.is_empty() {
            out.push(Output::Identity(Identity {
                side: Some(Side::Server),
                source: "ssh.banner",
                product: Some(ep.software_version.clone()),
                ..Identity::default()
            }));
        }
        h.endpoint = Some(ep);
    }

    /// One unencrypted binary packet.
    fn packet(&mut self, dir: Direction, pkt: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let payload = match parser::payload(pkt) {
            Ok(p) => p,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.lose(dir, ts, out);
                return;
            }
        };
        match payload.first().copied() {
            Some(parser::MSG_KEXINIT) => match parser::kexinit(payload) {
                Ok(k) => {
                    let server = dir == Direction::ToClient;
                    let h = &mut self.halves[idx(dir)];
                    if h.kexinit.is_none() {
                        if let Some(ep) = h.endpoint.as_mut() {
                            ep.hassh = Some(hassh(&k, server));
                            ep.kex = Some(Box::new(Kex::from_kexinit(&k)));
                        }
                        h.kexinit = Some(payload.to_vec());
                    }
                }
                Err(e) => anomaly(out, ts, dir, e.kind(), e.to_string()),
            },
            Some(parser::MSG_NEWKEYS) => {
                self.halves[idx(dir)].phase = Phase::Encrypted;
                if self.halves.iter().all(|h| h.phase == Phase::Encrypted) {
                    self.emit(ts, out);
                }
            }
            _ => {}
        }
    }

    /// Consumes a prefix of `input`; returns the bytes consumed.
    fn step(
        &mut self,
        dir: Direction,
        input: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> usize {
        let i = idx(dir);
        match self.halves[i].phase {
            Phase::Encrypted | Phase::Lost => input.len(),
            Phase::Banner => {
                let h = &mut self.halves[i];
                match input.iter().position(|&b| b == b'\n') {
                    Some(nl) => {
                        let mut line = std::mem::take(&mut h.buf);
                        line.extend_from_slice(input.get(..nl).unwrap_or_default());
                        self.line(dir, &line, ts, out);
                        nl + 1
                    }
                    None => {
                        h.buf.extend_from_slice(input);
                        if h.buf.len() > MAX_ANY_LINE {
                            anomaly(
                                out,
                                ts,
                                dir,
                                "banner_too_long",
                                format!("no line end within {MAX_ANY_LINE} bytes before the identification line"),
                            );
                            self.lose(dir, ts, out);
                        }
                        input.len()
                    }
                }
            }
            Phase::Packets => {
                let h = &mut self.halves[i];
                let old = h.buf.len();
                // take at most what completes the current packet
                let need = match parser::packet_len(&h.buf) {
                    Ok(Some(n)) => n,
                    Ok(None) => 4,
                    Err(_) => 4,
                };
                let take = need
                    .saturating_sub(old)
                    .min(input.len())
                    .max(1)
                    .min(input.len());
                h.buf
                    .extend_from_slice(input.get(..take).unwrap_or_default());
                match parser::packet_len(&h.buf) {
                    Ok(None) => take,
                    Err(e) => {
                        anomaly(out, ts, dir, e.kind(), e.to_string());
                        self.lose(dir, ts, out);
                        input.len()
                    }
                    Ok(Some(n)) if h.buf.len() >= n => {
                        let pkt = std::mem::take(&mut h.buf);
                        self.packet(dir, &pkt, ts, out);
                        take
                    }
                    Ok(Some(_)) => take,
                }
            }
        }
    }
}

impl Parser for SshParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let mut used = 0usize;
        while used < data.len() && !self.disabled {
            let n = self.step(dir, data.get(used..).unwrap_or_default(), ts, out);
            if n == 0 {
                break;
            }
            used += n;
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, ts: Timestamp, out: &mut Vec<Output>) {
        let i = idx(dir);
        if self.disabled || matches!(self.halves[i].phase, Phase::Encrypted | Phase::Lost) {
            return;
        }
        anomaly(
            out,
            ts,
            dir,
            "gap",
            format!("{len} bytes missing before encryption: direction no longer parsed"),
        );
        let h = &mut self.halves[i];
        h.phase = Phase::Lost;
        h.buf = Vec::new();
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        if !self.disabled {
            self.emit(ts, out);
        }
        self.halves = [Half::default(), Half::default()];
    }
}
