//! FTP control channel (RFC 959, RFC 2228 AUTH, RFC 2428 EPRT/EPSV, RFC 2389 FEAT):
//! commands paired in order with their final replies (preliminary 1xx replies are
//! noted), the user name (USER), `password_present` for PASS (the password itself is
//! never kept), the login verdict (230 / 530), file names of transfer commands, the
//! data channel endpoint (PORT / EPRT / PASV / EPSV), SYST and FEAT answers, and the
//! switch to TLS (AUTH TLS accepted: the rest of the control channel is opaque).
//!
//! Events: one transaction per command with its reply; the server greeting (and any
//! reply without a command) is its own transaction.
//!
//! Anomaly kinds: `long_line`, `bad_reply`, `unexpected_reply`, `not_ftp`.
use crate::{Direction, Parser, Probe, ProtoRecord, ProtocolDesc, Transport};
use serde::Serialize;

pub mod state;

pub use state::FtpParser;

/// Longest argument / reply text kept.
pub const MAX_TEXT: usize = 256;
/// Most FEAT lines kept.
pub const MAX_FEATURES: usize = 32;

/// One FTP event record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {
    /// Command verb (upper case); absent for the greeting / an unsolicited reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Argument (never for PASS / ACCT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arg: Option<String>,
    /// The session's user (from USER), on USER, PASS and every later command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_present: bool,
    /// USER / PASS outcome (230 true, 530 false; absent when the server asks for more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_success: Option<bool>,
    /// Final reply code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    /// Reply text (lines joined with `\n`, bounded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_text: Option<String>,
    /// A preliminary 1xx reply came before the final one (e.g. 150 for a transfer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preliminary_code: Option<u16>,
    /// File or directory named by a transfer / file-system command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Data channel endpoint: `active` (PORT / EPRT) or `passive` (PASV / EPSV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_port: Option<u16>,
    /// SYST answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// FEAT answer lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// AUTH TLS/SSL accepted: the control channel continues inside TLS.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Transaction {
    pub fn new() -> Self {
        Transaction {
            command: None,
            arg: None,
            user: None,
            password_present: false,
            login_success: None,
            reply_code: None,
            reply_text: None,
            preliminary_code: None,
            file: None,
            data_mode: None,
            data_host: None,
            data_port: None,
            system: None,
            features: Vec::new(),
            tls: false,
            truncated: false,
        }
    }
}

impl Default for Transaction {
    fn default() -> Self {
        Self::new()
    }
}

impl ProtoRecord for Transaction {
    fn function(&self) -> Option<&str> {
        self.command.as_deref()
    }
}

/// Parses `h1,h2,h3,h4,p1,p2` (PORT argument, PASV reply) into host and port.
pub fn parse_host_port(s: &str) -> Option<(String, u16)> {
    let nums: Vec<u16> = s
        .trim()
        .split(',')
        .map(|p| p.trim().parse::<u16>().ok().filter(|v| *v < 256))
        .collect::<Option<Vec<_>>>()?;
    let [a, b, c, d, p1, p2] = nums.as_slice() else {
        return None;
    };
    Some((format!("{a}.{b}.{c}.{d}"), p1 * 256 + p2))
}

/// Parses an EPRT argument `|proto|addr|port|` (any delimiter).
pub fn parse_eprt(s: &str) -> Option<(String, u16)> {
    let s = s.trim();
    let d = s.chars().next()?;
    let parts: Vec<&str> = s.split(d).collect();
    let [_, _, addr, port, ..] = parts.as_slice() else {
        return None;
    };
    let port = port.parse().ok()?;
    addr.parse::<std::net::IpAddr>().ok()?;
    Some((addr.to_string(), port))
}

/// Content probe: the server greeting (`220` that is not an SMTP banner), or a
/// client command only FTP uses first (FEAT, AUTH TLS/SSL, SYST).
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToClient => {
            let want = b"220";
            let n = data.len().min(3);
            if data.get(..n) != want.get(..n) {
                return Probe::NoMatch;
            }
            let Some(&sep) = data.get(3) else {
                return Probe::NeedMore;
            };
            if sep != b' ' && sep != b'-' {
                return Probe::NoMatch;
            }
            let end = data.iter().position(|&c| c == b'\n');
            let Some(end) = end else {
                return if data.len() < 256 {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                };
            };
            let line =
                String::from_utf8_lossy(data.get(..end).unwrap_or_default()).to_ascii_uppercase();
            if ["SMTP", "MAIL", "POSTFIX", "EXIM", "SENDMAIL", "NNTP"]
                .iter()
                .any(|w| line.contains(w))
            {
                Probe::NoMatch
            } else {
                Probe::Match
            }
        }
        Direction::ToServer => {
            let cmds: [&[u8]; 5] = [
                b"FEAT\r\n",
                b"AUTH TLS\r\n",
                b"AUTH SSL\r\n",
                b"SYST\r\n",
                b"OPTS UTF8 ON\r\n",
            ];
            if cmds.iter().any(|c| data.starts_with(c)) {
                Probe::Match
            } else if cmds.iter().any(|c| c.starts_with(data)) {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            }
        }
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(FtpParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "ftp",
    transports: &[Transport::Tcp],
    ports: &[21],
    probe,
    new_parser,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_and_probe() {
        assert_eq!(
            parse_host_port("10,10,1,5,195,80"),
            Some(("10.10.1.5".into(), 50000))
        );
        assert_eq!(parse_host_port("10,10,1,5,300,80"), None);
        assert_eq!(
            parse_eprt("|1|10.0.0.2|6446|"),
            Some(("10.0.0.2".into(), 6446))
        );
        assert_eq!(
            probe(Direction::ToClient, b"220 (vsFTPd 3.0.3)\r\n"),
            Probe::Match
        );
        assert_eq!(
            probe(Direction::ToClient, b"220 mx ESMTP Postfix\r\n"),
            Probe::NoMatch
        );
        assert_eq!(probe(Direction::ToClient, b"22"), Probe::NeedMore);
        assert_eq!(probe(Direction::ToServer, b"AUTH TLS\r\n"), Probe::Match);
        assert_eq!(probe(Direction::ToServer, b"EHLO x\r\n"), Probe::NoMatch);
    }
}
