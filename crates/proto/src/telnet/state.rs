//! Per-flow Telnet state: IAC command stripping per direction, bounded line buffers,
//! and the login heuristics. Every decision is taken at a byte of one direction
//! (a line end, or the first byte of a client line, which looks at what the server
//! showed so far), so the result does not depend on how the bytes were chunked.
use super::{is_password_prompt, is_user_prompt, option_name, Transaction, MAX_LINE, MAX_OPTIONS};
use crate::{Anomaly, Direction, Output, Parser, Record, Timestamp, Txn};

/// Longest subnegotiation kept.
const MAX_SB: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Iac {
    #[default]
    Data,
    Command,
    Opt,
    Sb,
    SbCommand,
}

#[derive(Default)]
struct Half {
    iac: Iac,
    sb: Vec<u8>,
    line: String,
    line_cut: bool,
    last_cr: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    User,
    Password,
    Other,
}

struct Attempt {
    ts: Timestamp,
    tx: Transaction,
}

/// The Telnet parser of one flow.
pub struct TelnetParser {
    halves: [Half; 2],
    /// Role of the client line being typed (decided at its first byte).
    role: Option<Role>,
    /// Last complete non-empty server line.
    last_server_line: String,
    attempt: Option<Attempt>,
    options: Vec<&'static str>,
    banner: Option<String>,
    env_user: Option<String>,
    logins: u32,
    long_line_reported: bool,
}

impl Default for TelnetParser {
    fn default() -> Self {
        Self::new()
    }
}

const FAILURE: &[&str] = &[
    "login incorrect",
    "incorrect",
    "authentication fail",
    "access denied",
    "login failed",
    "invalid password",
    "invalid login",
    "bad password",
    "permission denied",
    "% bad",
    "% login invalid",
];

fn is_failure(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    FAILURE.iter().any(|f| l.contains(f))
}

fn is_success_line(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.starts_with("last login") || l.contains("welcome to") || l.starts_with("login successful")
}

fn is_shell_prompt(tail: &str) -> bool {
    let t = tail.trim_end();
    !t.is_empty()
        && t.len() <= 128
        && matches!(t.chars().last(), Some('$' | '#' | '>' | '%'))
        && !is_user_prompt(t)
        && !is_password_prompt(t)
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_LINE).collect()
}

impl TelnetParser {
    pub fn new() -> Self {
        TelnetParser {
            halves: [Half::default(), Half::default()],
            role: None,
            last_server_line: String::new(),
            attempt: None,
            options: Vec::new(),
            banner: None,
            env_user: None,
            logins: 0,
            long_line_reported: false,
        }
    }

    fn emit_attempt(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        if let Some(a) = self.attempt.take() {
            let mut tx = a.tx;
            tx.options = self.options.clone();
            tx.banner = self.banner.clone();
            self.logins += 1;
            out.push(Output::Txn(Txn {
                ts: a.ts,
                ts_end: Some(ts),
                dir: Direction::ToServer,
                record: Record::Telnet(Box::new(tx)),
            }));
        }
    }

    fn verdict(&mut self, ok: bool, line: &str, ts: Timestamp, out: &mut Vec<Output>) {
        if let Some(a) = self.attempt.as_mut() {
            a.tx.login_success = Some(ok);
            a.tx.result_line = Some(clip(line.trim()));
        }
        self.emit_attempt(ts, out);
    }

    /// What the server shows now: its incomplete line, else its last complete line.
    fn server_tail(&self) -> &str {
        let cur = &self.halves[1].line;
        if cur.trim().is_empty() {
            &self.last_server_line
        } else {
            cur
        }
    }

    /// Verdict from a prompt the server is showing (checked when the client types).
    fn check_tail(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        let awaiting = self
            .attempt
            .as_ref()
            .is_some_and(|a| a.tx.password_present && a.tx.login_success.is_none());
        if !awaiting {
            return;
        }
        let tail = self.server_tail().to_string();
        if is_user_prompt(&tail) || is_password_prompt(&tail) {
            self.verdict(false, &tail, ts, out);
        } else if is_shell_prompt(&tail) {
            self.verdict(true, &tail, ts, out);
        }
    }

    fn server_line(&mut self, line: String, ts: Timestamp, out: &mut Vec<Output>) {
        let t = line.trim();
        if t.is_empty() {
            return;
        }
        if self.banner.is_none() {
            self.banner = Some(clip(t));
        }
        let awaiting = self.attempt.as_ref().is_some_and(|a| {
            a.tx.login_success.is_none() && (a.tx.password_present || a.tx.user.is_some())
        });
        if awaiting {
            if is_failure(t) {
                self.verdict(false, t, ts, out);
            } else if is_success_line(t)
                && self.attempt.as_ref().is_some_and(|a| a.tx.password_present)
            {
                self.verdict(true, t, ts, out);
            }
        }
        self.last_server_line = line;
    }

    fn client_line(&mut self, line: String, ts: Timestamp, out: &mut Vec<Output>) {
        let role = self.role.take().unwrap_or(Role::Other);
        let text = line.trim();
        match role {
            Role::User if !text.is_empty() => {
                self.emit_attempt(ts, out);
                let mut tx = Transaction::new("login");
                tx.prompt = Some(clip(self.server_tail().trim()));
                tx.user = Some(clip(text));
                self.attempt = Some(Attempt { ts, tx });
            }
            Role::Password => {
                if self.attempt.as_ref().is_none_or(|a| a.tx.password_present) {
                    self.emit_attempt(ts, out);
                    let mut tx = Transaction::new("login");
                    tx.prompt = Some(clip(self.server_tail().trim()));
                    tx.user = self.env_user.clone();
                    self.attempt = Some(Attempt { ts, tx });
                }
                if let Some(a) = self.attempt.as_mut() {
                    a.tx.password_present = true;
                }
            }
            _ => {}
        }
    }

    fn subnegotiation(&mut self, sb: &[u8]) {
        // NEW-ENVIRON (39) / ENVIRON (36) IS (0) or INFO (2): VAR/USERVAR name VALUE v
        let (Some(&opt), Some(&cmd)) = (sb.first(), sb.get(1)) else {
            return;
        };
        if !(opt == 39 || opt == 36) || !(cmd == 0 || cmd == 2) {
            return;
        }
        let mut name = Vec::new();
        let mut value = Vec::new();
        let mut in_value = false;
        let mut esc = false;
        let flush = |name: &mut Vec<u8>, value: &mut Vec<u8>, this: &mut Self| {
            if name.as_slice() == b"USER" && !value.is_empty() {
                this.env_user = Some(clip(&String::from_utf8_lossy(value)));
            }
            name.clear();
            value.clear();
        };
        for &b in sb.get(2..).unwrap_or_default() {
            if esc {
                esc = false;
                if in_value {
                    value.push(b)
                } else {
                    name.push(b)
                }
                continue;
            }
            match b {
                0 | 3 => {
                    flush(&mut name, &mut value, self);
                    in_value = false;
                }
                1 => in_value = true,
                2 => esc = true,
                _ if name.len() + value.len() < MAX_LINE => {
                    if in_value {
                        value.push(b)
                    } else {
                        name.push(b)
                    }
                }
                _ => {}
            }
        }
        flush(&mut name, &mut value, self);
    }

    fn option(&mut self, opt: u8) {
        let n = option_name(opt);
        if !self.options.contains(&n) && self.options.len() < MAX_OPTIONS {
            self.options.push(n);
        }
    }

    fn data_byte(&mut self, dir: Direction, c: u8, ts: Timestamp, out: &mut Vec<Output>) {
        let idx = usize::from(dir == Direction::ToClient);
        let end = match c {
            b'\n' => {
                if std::mem::take(&mut self.halves[idx].last_cr) {
                    // the LF of a CR LF pair: the line already ended at the CR
                    return;
                }
                true
            }
            b'\r' => {
                self.halves[idx].last_cr = true;
                true
            }
            0 => return,
            _ => {
                self.halves[idx].last_cr = false;
                false
            }
        };
        if end {
            let h = &mut self.halves[idx];
            let line = std::mem::take(&mut h.line);
            h.line_cut = false;
            match dir {
                Direction::ToClient => self.server_line(line, ts, out),
                Direction::ToServer => self.client_line(line, ts, out),
            }
            return;
        }
        if dir == Direction::ToServer && self.halves[0].line.is_empty() && self.role.is_none() {
            // First byte of a client line: what is the server asking for?
            self.check_tail(ts, out);
            let tail = self.server_tail();
            self.role = Some(if is_password_prompt(tail) {
                Role::Password
            } else if is_user_prompt(tail) {
                Role::User
            } else {
                Role::Other
            });
        }
        let h = &mut self.halves[idx];
        if c == 0x08 || c == 0x7f {
            h.line.pop();
            return;
        }
        if h.line.len() < MAX_LINE {
            h.line.push(if c.is_ascii() {
                char::from(c)
            } else {
                '\u{fffd}'
            });
        } else if !h.line_cut {
            h.line_cut = true;
            if !self.long_line_reported {
                self.long_line_reported = true;
                out.push(Output::Anomaly(Anomaly {
                    ts,
                    protocol: "telnet",
                    kind: "long_line",
                    message: format!("line longer than {MAX_LINE} bytes (cut)"),
                    dir,
                }));
            }
        }
    }
}

impl Parser for TelnetParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let idx = usize::from(dir == Direction::ToClient);
        for &c in data {
            let state = self.halves[idx].iac;
            match state {
                Iac::Data => {
                    if c == 0xFF {
                        self.halves[idx].iac = Iac::Command;
                    } else {
                        self.data_byte(dir, c, ts, out);
                    }
                }
                Iac::Command => {
                    self.halves[idx].iac = match c {
                        0xFF => {
                            self.data_byte(dir, c, ts, out);
                            Iac::Data
                        }
                        251..=254 => Iac::Opt,
                        250 => {
                            self.halves[idx].sb.clear();
                            Iac::Sb
                        }
                        _ => Iac::Data,
                    };
                }
                Iac::Opt => {
                    self.option(c);
                    self.halves[idx].iac = Iac::Data;
                }
                Iac::Sb => {
                    if c == 0xFF {
                        self.halves[idx].iac = Iac::SbCommand;
                    } else if self.halves[idx].sb.len() < MAX_SB {
                        self.halves[idx].sb.push(c);
                    }
                }
                Iac::SbCommand => {
                    if c == 240 {
                        let sb = std::mem::take(&mut self.halves[idx].sb);
                        self.subnegotiation(&sb);
                        self.halves[idx].iac = Iac::Data;
                    } else {
                        if c == 0xFF && self.halves[idx].sb.len() < MAX_SB {
                            self.halves[idx].sb.push(c);
                        }
                        self.halves[idx].iac = Iac::Sb;
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        let idx = usize::from(dir == Direction::ToClient);
        let h = &mut self.halves[idx];
        h.iac = Iac::Data;
        h.sb.clear();
        h.line.clear();
        if dir == Direction::ToServer {
            self.role = None;
        }
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        // A partial client line still counts (the capture may end mid-login).
        if !self.halves[0].line.is_empty() {
            let line = std::mem::take(&mut self.halves[0].line);
            self.client_line(line, ts, out);
        }
        self.check_tail(ts, out);
        if let Some(a) = self.attempt.as_ref() {
            if a.tx.user.is_none() && !a.tx.password_present {
                self.attempt = None;
            }
        }
        self.emit_attempt(ts, out);
        if self.logins == 0
            && (self.banner.is_some() || !self.options.is_empty() || self.env_user.is_some())
        {
            let mut tx = Transaction::new("session");
            tx.options = std::mem::take(&mut self.options);
            tx.banner = self.banner.take();
            tx.user = self.env_user.take();
            out.push(Output::Txn(Txn {
                ts,
                ts_end: None,
                dir: Direction::ToServer,
                record: Record::Telnet(Box::new(tx)),
            }));
        }
    }
}
