//! Telnet (RFC 854 / 855): IAC option negotiation (summarised: which options were
//! offered or requested), NEW-ENVIRON `USER` (RFC 1572), and login detection on the
//! data: the server's `login:` / `Username:` prompt followed by the client's next line
//! gives the user; a `Password:` prompt followed by a client line sets
//! `password_present` (the password itself is never kept); success or failure is
//! guessed from what the server says next (a shell prompt or `Last login` versus
//! `Login incorrect` / `Access denied` / a new login prompt).
//!
//! Events: one `login` transaction per login attempt (request = the user line, response
//! = the verdict), and one `session` transaction at the end of a flow in which no
//! login was seen (options and banner only).
//!
//! Anomaly kinds: `long_line`.
use crate::{Direction, Parser, Probe, ProtoRecord, ProtocolDesc, Transport};
use serde::Serialize;

pub mod state;

pub use state::TelnetParser;

/// Longest line / string kept.
pub const MAX_LINE: usize = 256;
/// Most options listed.
pub const MAX_OPTIONS: usize = 32;

/// One Telnet event record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {
    /// `login` or `session`.
    pub kind: &'static str,
    /// The prompt the user answered (e.g. `login:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A password was typed after a password prompt (never stored).
    pub password_present: bool,
    /// Heuristic verdict; absent when undecided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_success: Option<bool>,
    /// The server line that decided the verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_line: Option<String>,
    /// Options negotiated by either side (names).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<&'static str>,
    /// First non-empty line the server sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Transaction {
    pub fn new(kind: &'static str) -> Self {
        Transaction {
            kind,
            prompt: None,
            user: None,
            password_present: false,
            login_success: None,
            result_line: None,
            options: Vec::new(),
            banner: None,
            truncated: false,
        }
    }
}

impl ProtoRecord for Transaction {}

/// Telnet option names (IANA telnet options registry).
pub fn option_name(o: u8) -> &'static str {
    match o {
        0 => "binary",
        1 => "echo",
        3 => "suppress_go_ahead",
        5 => "status",
        6 => "timing_mark",
        24 => "terminal_type",
        31 => "naws",
        32 => "terminal_speed",
        33 => "remote_flow_control",
        34 => "linemode",
        35 => "x_display_location",
        36 => "environ",
        37 => "authentication",
        38 => "encryption",
        39 => "new_environ",
        _ => "other",
    }
}

/// Ends with a login or user-name prompt (case-insensitive, trailing blanks ignored).
pub fn is_user_prompt(line: &str) -> bool {
    let l = line.trim_end().to_ascii_lowercase();
    ["login:", "username:", "user name:", "user:", "login as:"]
        .iter()
        .any(|p| l.ends_with(p))
}

/// Ends with a password prompt.
pub fn is_password_prompt(line: &str) -> bool {
    let l = line.trim_end().to_ascii_lowercase();
    ["password:", "passcode:", "passwd:", "password for"]
        .iter()
        .any(|p| l.ends_with(p) || (p.ends_with("for") && l.contains(p) && l.ends_with(':')))
}

/// Content probe: Telnet option negotiation (IAC WILL/WONT/DO/DONT/SB) from either
/// side, or a server text whose last line is a login prompt.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    match data {
        [] | [0xFF] => Probe::NeedMore,
        [0xFF, 250..=254, ..] => Probe::Match,
        _ if dir == Direction::ToClient => {
            let printable = data
                .iter()
                .all(|&c| c == b'\r' || c == b'\n' || c == b'\t' || (0x20..0x7f).contains(&c));
            if !printable {
                return Probe::NoMatch;
            }
            let text = String::from_utf8_lossy(data);
            let last = text.rsplit(['\n']).next().unwrap_or_default();
            if is_user_prompt(last) {
                Probe::Match
            } else {
                Probe::NoMatch
            }
        }
        _ => Probe::NoMatch,
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(TelnetParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "telnet",
    transports: &[Transport::Tcp],
    ports: &[23],
    probe,
    new_parser,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_and_probe() {
        assert!(is_user_prompt("Debian GNU/Linux 12\r\nhmi login: "));
        assert!(is_user_prompt("Username:"));
        assert!(!is_user_prompt("Last login: Mon"));
        assert!(is_password_prompt("Password: "));
        assert!(!is_password_prompt("password changed"));
        assert_eq!(
            probe(Direction::ToServer, &[0xFF, 0xFD, 0x03]),
            Probe::Match
        );
        assert_eq!(
            probe(Direction::ToClient, b"\r\nrouter login: "),
            Probe::Match
        );
        assert_eq!(
            probe(Direction::ToClient, b"220 FTP ready\r\n"),
            Probe::NoMatch
        );
        assert_eq!(
            probe(Direction::ToServer, b"GET / HTTP/1.1"),
            Probe::NoMatch
        );
    }
}
