//! TLS flow state: record framing per direction, handshake message reassembly
//! across records (bounded by [`MAX_HANDSHAKE`]), and one transaction per handshake.
//!
//! Both layers frame with [`Framer`]: whole records and whole handshake messages are
//! parsed in place from the segment; only a record header, a cleartext record or a
//! handshake message cut by a segment boundary is copied. Records whose body is never
//! looked at (application data, ChangeCipherSpec, anything protected) are skipped by
//! count once their header is read, their body never buffered; such a record takes
//! effect when its last octet has arrived, as if it had been read whole.
//!
//! The side that sends the ClientHello is the TLS client, whatever the flow's
//! orientation. A direction is encrypted once it sent ChangeCipherSpec; for TLS 1.3
//! everything after the ServerHello travels in application-data records. The
//! transaction is emitted when the handshake is established (both sides sent
//! ChangeCipherSpec, or for TLS 1.3 the client's first protected record), at a
//! fatal cleartext alert, or at `finish()`.
//!
//! A malformed record header loses the record boundaries of its direction: the
//! direction is no longer parsed (its bytes are skipped). A TCP gap does the same.
//! A well-formed header declaring a record longer than [`MAX_RECORD`], or a
//! handshake message declaring more than [`MAX_HANDSHAKE`], is reported and its
//! declared octets are skipped (counted, not buffered); parsing goes on after it.
use super::cert;
use super::names;
use super::parser::{self, ClientHello, ServerHello, MAX_RECORD, RECORD_HEADER};
use super::record::{Alert, Client, Server, Transaction, MAX_ALERTS, MAX_CERTS};
use crate::stream::Framer;
use crate::{Anomaly, Direction, Identity, Output, Parser, Record, Side, Timestamp, Txn};

/// Largest handshake message reassembled (certificate chains included).
pub const MAX_HANDSHAKE: usize = 64 * 1024;
/// Malformed records that end TLS parsing of a flow.
pub const MAX_BAD: u32 = 4;

#[derive(Default)]
struct Half {
    /// Record framing (a partial header or cleartext record).
    records: Framer,
    /// Handshake message framing (a partial message).
    hs: Framer,
    /// Sent ChangeCipherSpec: its handshake records are protected now.
    encrypted: bool,
    /// Sent an application-data record.
    app_data: bool,
    /// Record boundaries lost (bad header or gap): the direction is skipped.
    lost: bool,
    /// Handshake octets still to skip: the rest of a message too long to reassemble.
    hs_skip: usize,
    /// Record octets still to skip: the rest of a record longer than [`MAX_RECORD`],
    /// or of a record whose body is not needed.
    skip: usize,
    /// Content type of the record being skipped, to act on when its last octet
    /// arrives (`None` for an oversized record).
    skipping: Option<u8>,
}

/// The TLS parser of one flow.
pub struct TlsParser {
    halves: [Half; 2],
    tx: Transaction,
    /// Time of the first handshake message.
    start: Option<Timestamp>,
    /// Direction of the ClientHello.
    client_dir: Option<Direction>,
    tls13: bool,
    emitted: bool,
    /// Which side sent ChangeCipherSpec first (abbreviated handshake: the server).
    first_ccs: Option<Direction>,
    identity_sent: bool,
    confirmed: bool,
    bad_streak: u32,
    disabled: bool,
}

impl Default for TlsParser {
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
        protocol: "tls",
        kind,
        message,
        dir,
    }));
}

impl TlsParser {
    pub fn new() -> TlsParser {
        TlsParser {
            halves: [Half::default(), Half::default()],
            tx: Transaction::default(),
            start: None,
            client_dir: None,
            tls13: false,
            emitted: false,
            first_ccs: None,
            identity_sent: false,
            confirmed: false,
            bad_streak: 0,
            disabled: false,
        }
    }

    /// The parser gave up on the flow.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    fn client_dir(&self) -> Direction {
        self.client_dir.unwrap_or(Direction::ToServer)
    }

    fn side_name(&self, dir: Direction) -> &'static str {
        if dir == self.client_dir() {
            "client"
        } else {
            "server"
        }
    }

    fn emit(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        if self.emitted || (self.tx.client.is_none() && self.tx.server.is_none()) {
            return;
        }
        self.emitted = true;
        let tx = std::mem::take(&mut self.tx);
        let start = self.start.unwrap_or(ts);
        out.push(Output::Txn(Txn {
            ts: start,
            ts_end: Some(ts),
            dir: self.client_dir(),
            record: Record::Tls(Box::new(tx)),
        }));
    }

    fn bad(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.bad_streak += 1;
        let h = &mut self.halves[idx(dir)];
        h.lost = true;
        h.records.release();
        h.hs.release();
        h.skip = 0;
        h.skipping = None;
        if self.bad_streak >= MAX_BAD || !self.confirmed {
            self.disabled = true;
            self.halves = [Half::default(), Half::default()];
            anomaly(
                out,
                ts,
                dir,
                "not_tls",
                format!(
                    "{} malformed records{}: no longer parsing this flow as TLS",
                    self.bad_streak,
                    if self.confirmed {
                        ""
                    } else {
                        " and no valid one"
                    }
                ),
            );
        }
    }

    fn check_established(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        let c = &self.halves[idx(self.client_dir())];
        let s = &self.halves[idx(self.client_dir().reverse())];
        let done = if self.tls13 {
            c.app_data
        } else {
            c.encrypted && s.encrypted
        };
        if done && self.tx.server.is_some() {
            self.tx.established = true;
            if !self.tls13 {
                self.tx.resumed = self.tx.certificates.is_empty()
                    && self.first_ccs == Some(self.client_dir().reverse());
            }
            self.emit(ts, out);
        }
    }

    /// One whole record.
    fn record(
        &mut self,
        dir: Direction,
        ct: u8,
        body: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let i = idx(dir);
        match ct {
            parser::CT_CCS => {
                if !self.halves[i].encrypted && self.first_ccs.is_none() {
                    self.first_ccs = Some(dir);
                }
                self.halves[i].encrypted = true;
                self.check_established(ts, out);
            }
            parser::CT_ALERT => {
                let (false, [level, description]) = (self.halves[i].encrypted, body) else {
                    return;
                };
                let (level, description) = (*level, *description);
                if self.tx.alerts.len() < MAX_ALERTS {
                    self.tx.alerts.push(Alert {
                        from: self.side_name(dir),
                        level,
                        description,
                        name: names::alert_name(description),
                    });
                } else {
                    self.tx.truncated = true;
                }
                if level == 2 {
                    self.emit(ts, out);
                }
            }
            parser::CT_HANDSHAKE => {
                if self.halves[i].encrypted {
                    return;
                }
                self.handshake_bytes(dir, body, ts, out);
            }
            parser::CT_APPLICATION => {
                self.halves[i].app_data = true;
                self.check_established(ts, out);
            }
            // type(1) payload_length(2) payload padding(>=16)
            parser::CT_HEARTBEAT if !self.halves[i].encrypted => {
                if let Some(l) = body.get(1..3) {
                    let claimed = usize::from(u16::from_be_bytes([l[0], l[1]]));
                    if claimed + 3 + 16 > body.len() {
                        anomaly(
                            out,
                            ts,
                            dir,
                            "heartbeat_overflow",
                            format!(
                                "heartbeat claims a {claimed}-byte payload in a {}-byte record (Heartbleed)",
                                body.len()
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// One decision of the record layer on `rest`, the stream of `dir` from its next
    /// undecided octet: octets consumed, 0 to wait for more, `None` when the direction
    /// (or the flow) is no longer parsed.
    fn record_step(
        &mut self,
        dir: Direction,
        rest: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> Option<usize> {
        let i = idx(dir);
        let h = &mut self.halves[i];
        if h.skip > 0 {
            let n = h.skip.min(rest.len());
            h.skip -= n;
            if h.skip == 0 {
                if let Some(ct) = h.skipping.take() {
                    self.record(dir, ct, &[], ts, out);
                }
            }
            return (!self.disabled).then_some(n);
        }
        let hdr = match parser::record_header(rest) {
            Ok(Some(h)) => h,
            Ok(None) => return Some(0),
            Err(e @ parser::Error::RecordTooLong(len)) => {
                // A well-formed header declaring an oversized record: report it,
                // skip the declared octets without buffering them, and go on at the
                // next record boundary.
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.halves[i].skip = len;
                self.halves[i].skipping = None;
                return Some(RECORD_HEADER);
            }
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.bad(dir, ts, out);
                return None;
            }
        };
        let ct = hdr.content_type;
        let Some(body) = rest.get(RECORD_HEADER..RECORD_HEADER + hdr.length) else {
            // Only cleartext handshake, alert and heartbeat records are read; the
            // others are counted past.
            let h = &mut self.halves[i];
            if ct == parser::CT_APPLICATION || ct == parser::CT_CCS || h.encrypted {
                h.skip = hdr.length;
                h.skipping = Some(ct);
                return Some(RECORD_HEADER);
            }
            return Some(0);
        };
        self.record(dir, ct, body, ts, out);
        (!self.disabled).then_some(RECORD_HEADER + hdr.length)
    }

    fn handshake_bytes(
        &mut self,
        dir: Direction,
        body: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let i = idx(dir);
        let mut hs = std::mem::take(&mut self.halves[i].hs);
        hs.feed(body, 4 + MAX_HANDSHAKE, |rest| {
            Some(self.handshake_step(dir, rest, ts, out))
        });
        self.halves[i].hs = hs;
    }

    /// One decision of the handshake layer on `rest`, the handshake stream of `dir`
    /// from its next undecided octet: octets consumed, 0 to wait for more.
    fn handshake_step(
        &mut self,
        dir: Direction,
        rest: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> usize {
        let h = &mut self.halves[idx(dir)];
        if h.hs_skip > 0 {
            let n = h.hs_skip.min(rest.len());
            h.hs_skip -= n;
            return n;
        }
        let Some(&[t, l0, l1, l2]) = rest.get(..4) else {
            return 0;
        };
        let len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
        if len > MAX_HANDSHAKE {
            anomaly(
                out,
                ts,
                dir,
                "handshake_too_long",
                format!(
                    "handshake message type {t} declares {len} bytes (more than {MAX_HANDSHAKE}): skipped, not reassembled"
                ),
            );
            // Skip the declared message (the records carrying it are counted, never
            // buffered) and parse what follows it.
            self.halves[idx(dir)].hs_skip = len;
            return 4;
        }
        let Some(msg) = rest.get(4..4 + len) else {
            return 0;
        };
        self.handshake(dir, t, msg, ts, out);
        4 + len
    }

    fn handshake(
        &mut self,
        dir: Direction,
        t: u8,
        msg: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        if self.emitted {
            return;
        }
        match t {
            parser::HS_CLIENT_HELLO => match ClientHello::parse(msg) {
                Ok(h) => {
                    self.confirmed = true;
                    self.bad_streak = 0;
                    if self.tx.client.is_none() {
                        self.start.get_or_insert(ts);
                        self.client_dir = Some(dir);
                        let c = Client::from_hello(&h);
                        self.tx.server_name = c.sni.clone();
                        if self.tx.version.is_none() {
                            self.tx.version = Some(names::version_name(c.version));
                        }
                        self.tx.client = Some(Box::new(c));
                    }
                }
                Err(e) => anomaly(out, ts, dir, e.kind(), e.to_string()),
            },
            parser::HS_SERVER_HELLO => match ServerHello::parse(msg) {
                Ok(h) => {
                    self.confirmed = true;
                    self.bad_streak = 0;
                    self.start.get_or_insert(ts);
                    if self.client_dir.is_none() {
                        self.client_dir = Some(dir.reverse());
                    }
                    if h.is_hello_retry() {
                        self.tx.hello_retry = true;
                    }
                    let s = Server::from_hello(&h);
                    let v = s.selected_version.unwrap_or(s.version);
                    self.tls13 = v == 0x0304 || v >> 8 == 0x7f;
                    if self.tls13 && h.has(parser::EXT_PRE_SHARED_KEY) {
                        self.tx.resumed = true;
                    }
                    self.tx.set_server(s);
                }
                Err(e) => anomaly(out, ts, dir, e.kind(), e.to_string()),
            },
            parser::HS_CERTIFICATE if !self.tls13 => {
                if dir == self.client_dir() {
                    self.tx.client_certificate = true;
                    return;
                }
                match parser::certificates(msg) {
                    Ok(ders) => {
                        if ders.len() > MAX_CERTS {
                            self.tx.truncated = true;
                        }
                        for der in ders.iter().take(MAX_CERTS) {
                            match cert::summarize(der) {
                                Some(c) => self.tx.certificates.push(c),
                                None => anomaly(
                                    out,
                                    ts,
                                    dir,
                                    "bad_certificate",
                                    format!(
                                        "a {}-byte certificate does not decode as X.509",
                                        der.len()
                                    ),
                                ),
                            }
                        }
                        self.identity(dir, out);
                    }
                    Err(e) => anomaly(out, ts, dir, e.kind(), e.to_string()),
                }
            }
            parser::HS_SERVER_KEY_EXCHANGE => {
                let ecdhe = self.tx.cipher.is_some_and(|c| c.contains("ECDHE"));
                if ecdhe {
                    if let Some(g) = parser::ske_named_curve(msg) {
                        self.tx.curve = Some(names::group_name(g));
                    }
                }
            }
            _ => {}
        }
    }

    fn identity(&mut self, dir: Direction, out: &mut Vec<Output>) {
        if self.identity_sent {
            return;
        }
        let Some(cn) = self
            .tx
            .certificates
            .first()
            .and_then(|c| c.common_name.clone())
            .filter(|c| !c.is_empty())
        else {
            return;
        };
        self.identity_sent = true;
        out.push(Output::Identity(Identity {
            side: Some(if dir == Direction::ToClient {
                Side::Server
            } else {
                Side::Client
            }),
            source: "tls.certificate",
            name: Some(cn),
            ..Identity::default()
        }));
    }
}

impl Parser for TlsParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let i = idx(dir);
        if self.disabled || self.halves[i].lost || data.is_empty() {
            return;
        }
        let mut records = std::mem::take(&mut self.halves[i].records);
        records.feed(data, RECORD_HEADER + MAX_RECORD, |rest| {
            self.record_step(dir, rest, ts, out)
        });
        if !self.disabled && !self.halves[i].lost {
            self.halves[i].records = records;
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, ts: Timestamp, out: &mut Vec<Output>) {
        let i = idx(dir);
        if self.disabled || self.halves[i].lost {
            return;
        }
        if !self.emitted {
            anomaly(
                out,
                ts,
                dir,
                "gap",
                format!("{len} bytes missing during the handshake: record boundaries lost"),
            );
        }
        let h = &mut self.halves[i];
        h.lost = true;
        h.records.release();
        h.hs.release();
        h.skip = 0;
        h.skipping = None;
        h.hs_skip = 0;
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        self.emit(ts, out);
        self.halves = [Half::default(), Half::default()];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ct: u8, body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes();
        let mut r = vec![ct, 3, 3, len[0], len[1]];
        r.extend_from_slice(body);
        r
    }

    #[test]
    fn protected_records_are_counted_not_buffered() {
        let mut p = TlsParser::new();
        let mut out = Vec::new();
        let dir = Direction::ToServer;
        let mut stream = rec(parser::CT_CCS, &[1]);
        stream.extend(rec(parser::CT_APPLICATION, &[0xAA; 16384]));
        stream.extend(rec(parser::CT_HANDSHAKE, &[0xBB; 3000]));
        for (n, chunk) in stream.chunks(1460).enumerate() {
            p.parse(dir, chunk, Timestamp::default(), &mut out);
            let h = &p.halves[idx(dir)];
            // never more than a cut header (or a short chunk's tail) is kept
            assert!(h.records.buffered() < RECORD_HEADER, "chunk {n}");
            assert!(h.encrypted);
        }
        let h = &p.halves[idx(dir)];
        assert!(h.app_data);
        assert_eq!((h.skip, h.skipping), (0, None));
        assert!(out.is_empty());
    }

    #[test]
    fn a_skipped_record_acts_when_whole() {
        let mut p = TlsParser::new();
        let mut out = Vec::new();
        let dir = Direction::ToClient;
        let r = rec(parser::CT_APPLICATION, &[0; 100]);
        p.parse(dir, &r[..50], Timestamp::default(), &mut out);
        assert!(!p.halves[idx(dir)].app_data);
        assert_eq!(p.halves[idx(dir)].skip, 55);
        p.parse(dir, &r[50..], Timestamp::default(), &mut out);
        assert!(p.halves[idx(dir)].app_data);
    }

    #[test]
    fn cleartext_handshake_waits_for_the_whole_record() {
        let mut p = TlsParser::new();
        let mut out = Vec::new();
        let dir = Direction::ToServer;
        // a handshake message of an unknown type, in one record cut in three
        let mut body = vec![99, 0, 0, 200];
        body.extend_from_slice(&[7; 200]);
        let r = rec(parser::CT_HANDSHAKE, &body);
        for c in r.chunks(80) {
            p.parse(dir, c, Timestamp::default(), &mut out);
        }
        let h = &p.halves[idx(dir)];
        assert_eq!((h.records.buffered(), h.hs.buffered()), (0, 0));
        // a message cut across two records is kept until whole
        let (a, b) = body.split_at(100);
        p.parse(
            dir,
            &rec(parser::CT_HANDSHAKE, a),
            Timestamp::default(),
            &mut out,
        );
        assert_eq!(p.halves[idx(dir)].hs.buffered(), 100);
        p.parse(
            dir,
            &rec(parser::CT_HANDSHAKE, b),
            Timestamp::default(),
            &mut out,
        );
        assert_eq!(p.halves[idx(dir)].hs.buffered(), 0);
        assert!(out.is_empty());
    }
}
