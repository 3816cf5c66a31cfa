//! Per-flow FTP control channel state: bounded line buffers per direction, reply
//! assembly (single and multi-line), in-order pairing of commands with final replies.
use super::{parse_eprt, parse_host_port, Transaction, MAX_FEATURES, MAX_TEXT};
use crate::{Anomaly, Direction, Output, Parser, Record, Timestamp, Txn};
use std::collections::VecDeque;

/// Longest line buffered (the rest of a longer line is dropped).
pub const MAX_LINE: usize = 2048;
/// Commands waiting for a reply.
pub const MAX_PENDING: usize = 64;
/// Bad lines from the server before giving up on a flow that never looked like FTP.
pub const MAX_BAD: u32 = 4;

#[derive(Default)]
struct Half {
    line: Vec<u8>,
    cut: bool,
}

struct Pending {
    ts: Timestamp,
    tx: Transaction,
}

/// The FTP parser of one flow.
pub struct FtpParser {
    halves: [Half; 2],
    pending: VecDeque<Pending>,
    /// Multi-line reply being assembled: code and lines.
    multi: Option<(u16, Vec<String>, bool)>,
    user: Option<String>,
    good: bool,
    bad: u32,
    /// Control channel switched to TLS, or the flow is not FTP.
    stopped: bool,
    long_reported: bool,
}

impl Default for FtpParser {
    fn default() -> Self {
        Self::new()
    }
}

fn clip(s: &str) -> (String, bool) {
    if s.chars().count() > MAX_TEXT {
        (s.chars().take(MAX_TEXT).collect(), true)
    } else {
        (s.to_string(), false)
    }
}

fn anomaly(out: &mut Vec<Output>, ts: Timestamp, dir: Direction, kind: &'static str, m: String) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: "ftp",
        kind,
        message: m,
        dir,
    }));
}

fn emit(
    out: &mut Vec<Output>,
    ts: Timestamp,
    end: Option<Timestamp>,
    dir: Direction,
    tx: Transaction,
) {
    out.push(Output::Txn(Txn {
        ts,
        ts_end: end,
        dir,
        record: Record::Ftp(Box::new(tx)),
    }));
}

const FILE_COMMANDS: &[&str] = &[
    "RETR", "STOR", "STOU", "APPE", "DELE", "RNFR", "RNTO", "MKD", "XMKD", "RMD", "XRMD", "CWD",
    "XCWD", "SIZE", "MDTM", "SMNT",
];

impl FtpParser {
    pub fn new() -> Self {
        FtpParser {
            halves: [Half::default(), Half::default()],
            pending: VecDeque::new(),
            multi: None,
            user: None,
            good: false,
            bad: 0,
            stopped: false,
            long_reported: false,
        }
    }

    fn command(&mut self, line: &str, ts: Timestamp, out: &mut Vec<Output>) {
        let line = line.trim_start();
        if line.is_empty() {
            return;
        }
        let (verb, arg) = match line.split_once(' ') {
            Some((v, a)) => (v, a.trim()),
            None => (line, ""),
        };
        let verb = verb.to_ascii_uppercase();
        let mut tx = Transaction::new();
        if verb.len() > 8 || !verb.chars().all(|c| c.is_ascii_alphabetic()) {
            anomaly(
                out,
                ts,
                Direction::ToServer,
                "bad_command",
                format!("not an FTP command: {:?}", clip(&verb).0),
            );
        }
        let (v, cut) = clip(&verb);
        tx.truncated |= cut;
        match verb.as_str() {
            "PASS" | "ACCT" => {
                tx.password_present = !arg.is_empty();
            }
            _ if !arg.is_empty() => {
                let (a, cut) = clip(arg);
                tx.truncated |= cut;
                tx.arg = Some(a);
            }
            _ => {}
        }
        match verb.as_str() {
            "USER" => {
                self.user = tx.arg.clone();
            }
            "PORT" => {
                if let Some((h, p)) = parse_host_port(arg) {
                    tx.data_mode = Some("active");
                    tx.data_host = Some(h);
                    tx.data_port = Some(p);
                }
            }
            "EPRT" => {
                if let Some((h, p)) = parse_eprt(arg) {
                    tx.data_mode = Some("active");
                    tx.data_host = Some(h);
                    tx.data_port = Some(p);
                }
            }
            v if FILE_COMMANDS.contains(&v) => tx.file = tx.arg.clone(),
            _ => {}
        }
        tx.user = self.user.clone();
        tx.command = Some(v);
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                anomaly(
                    out,
                    ts,
                    Direction::ToServer,
                    "unanswered_request",
                    format!("more than {MAX_PENDING} commands without a reply"),
                );
                emit(out, old.ts, None, Direction::ToServer, old.tx);
            }
        }
        self.pending.push_back(Pending { ts, tx });
    }

    fn reply(
        &mut self,
        code: u16,
        lines: Vec<String>,
        cut: bool,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        self.good = true;
        self.bad = 0;
        if (100..200).contains(&code) {
            if let Some(p) = self.pending.front_mut() {
                p.tx.preliminary_code = Some(code);
                return;
            }
        }
        let (start, mut tx, dir) = match self.pending.pop_front() {
            Some(p) => (p.ts, p.tx, Direction::ToServer),
            None => (ts, Transaction::new(), Direction::ToClient),
        };
        let joined = lines.join("\n");
        let (text, c2) = clip(joined.trim());
        tx.truncated |= cut || c2;
        tx.reply_code = Some(code);
        tx.reply_text = Some(text.clone());
        let first = lines.first().map(String::as_str).unwrap_or_default();
        match tx.command.as_deref() {
            Some("USER") => {
                tx.login_success = match code {
                    230 | 232 => Some(true),
                    331 | 332 | 336 => None,
                    400..=599 => Some(false),
                    _ => None,
                }
            }
            Some("PASS") => {
                tx.login_success = match code {
                    230 | 202 => Some(true),
                    332 => None,
                    400..=599 => Some(false),
                    _ => None,
                }
            }
            Some("PASV") if code == 227 => {
                let inner = first
                    .find('(')
                    .and_then(|a| first.get(a + 1..).map(|r| r.split(')').next().unwrap_or(r)))
                    .or_else(|| {
                        first
                            .split_whitespace()
                            .find(|w| w.matches(',').count() == 5)
                    });
                if let Some((h, p)) = inner.and_then(parse_host_port) {
                    tx.data_mode = Some("passive");
                    tx.data_host = Some(h);
                    tx.data_port = Some(p);
                }
            }
            Some("EPSV") if code == 229 => {
                let port = first
                    .find('(')
                    .and_then(|a| first.get(a + 1..))
                    .and_then(|r| r.split(')').next())
                    .and_then(|r| {
                        r.trim_matches(|c: char| !c.is_ascii_digit())
                            .parse::<u16>()
                            .ok()
                    });
                if let Some(p) = port {
                    tx.data_mode = Some("passive");
                    tx.data_port = Some(p);
                }
            }
            Some("SYST") if code == 215 => {
                tx.system = Some(clip(first.trim()).0);
            }
            Some("FEAT") if code == 211 => {
                let n = lines.len();
                tx.features = lines
                    .iter()
                    .skip(1)
                    .take(n.saturating_sub(2).min(MAX_FEATURES))
                    .map(|l| clip(l.trim()).0)
                    .collect();
                tx.truncated |= n.saturating_sub(2) > MAX_FEATURES;
            }
            Some("AUTH") if code == 234 => {
                tx.tls = true;
                self.stopped = true;
            }
            _ => {}
        }
        emit(out, start, Some(ts), dir, tx);
    }

    fn server_line(&mut self, line: &str, cut: bool, ts: Timestamp, out: &mut Vec<Output>) {
        if let Some((code, lines, c)) = self.multi.as_mut() {
            let end = line.len() >= 4
                && line.get(..3).and_then(|d| d.parse::<u16>().ok()) == Some(*code)
                && line.as_bytes().get(3) == Some(&b' ');
            if lines.len() < MAX_FEATURES + 2 {
                lines.push(if end {
                    line.get(4..).unwrap_or_default().to_string()
                } else {
                    line.to_string()
                });
            } else {
                *c = true;
            }
            *c |= cut;
            if end {
                if let Some((code, lines, c)) = self.multi.take() {
                    self.reply(code, lines, c, ts, out);
                }
            }
            return;
        }
        let code = line
            .get(..3)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u16>().ok())
            .filter(|c| (100..600).contains(c));
        match (code, line.as_bytes().get(3)) {
            (Some(code), Some(b'-')) => {
                self.multi = Some((
                    code,
                    vec![line.get(4..).unwrap_or_default().to_string()],
                    cut,
                ));
            }
            (Some(code), Some(b' ') | None) => {
                self.reply(
                    code,
                    vec![line.get(4..).unwrap_or_default().to_string()],
                    cut,
                    ts,
                    out,
                );
            }
            _ => {
                anomaly(
                    out,
                    ts,
                    Direction::ToClient,
                    "bad_reply",
                    format!("not an FTP reply line: {:?}", clip(line).0),
                );
                self.bad += 1;
                if !self.good && self.bad >= MAX_BAD {
                    self.stopped = true;
                    anomaly(
                        out,
                        ts,
                        Direction::ToClient,
                        "not_ftp",
                        "no FTP reply seen: no longer parsing this flow as FTP".into(),
                    );
                }
            }
        }
    }
}

impl Parser for FtpParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let idx = usize::from(dir == Direction::ToClient);
        for &c in data {
            if self.stopped {
                return;
            }
            if c == b'\n' {
                let h = &mut self.halves[idx];
                let mut line = std::mem::take(&mut h.line);
                let cut = std::mem::take(&mut h.cut);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let text = String::from_utf8_lossy(&line).into_owned();
                match dir {
                    Direction::ToServer => self.command(&text, ts, out),
                    Direction::ToClient => self.server_line(&text, cut, ts, out),
                }
                continue;
            }
            let h = &mut self.halves[idx];
            if h.line.len() < MAX_LINE {
                h.line.push(c);
            } else if !h.cut {
                h.cut = true;
                if !self.long_reported {
                    self.long_reported = true;
                    anomaly(
                        out,
                        ts,
                        dir,
                        "long_line",
                        format!("line longer than {MAX_LINE} bytes (cut)"),
                    );
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        let idx = usize::from(dir == Direction::ToClient);
        self.halves[idx] = Half::default();
        if dir == Direction::ToClient {
            self.multi = None;
        }
    }

    fn finish(&mut self, _ts: Timestamp, out: &mut Vec<Output>) {
        while let Some(p) = self.pending.pop_front() {
            emit(out, p.ts, None, Direction::ToServer, p.tx);
        }
        self.halves = [Half::default(), Half::default()];
    }
}
