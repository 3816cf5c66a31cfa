//! MFA approvals for critical writes: approvers enrolled with a TOTP secret
//! (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of skew, each step accepted once)
//! open time-boxed, scope-limited windows (client, unit, registers, duration, number
//! of writes).

use crate::config::{Config, Table};
use crate::ranges::RangeSet;
use crate::state::{Approval, StateDb};
use crate::GateError;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "Sluice gate";

/// Failed codes allowed per approver within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(300);

fn totp(secret: Vec<u8>, user: &str) -> Result<totp_rs::Totp, GateError> {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(user)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| GateError::Approval(format!("TOTP for {user:?}: {e}")))
}

/// Checks an approver name: 1-64 printable characters without `:`.
pub fn check_user(user: &str) -> Result<(), GateError> {
    if user.is_empty()
        || user.chars().count() > 64
        || user.chars().any(|c| c == ':' || c.is_control())
    {
        return Err(GateError::Approval(format!(
            "approver name {user:?} must be 1-64 printable characters without ':'"
        )));
    }
    Ok(())
}

/// Enrols an approver in the state database named by `cfg` and returns the
/// `otpauth://` URI for an authenticator app.
pub fn enroll(cfg: &Config, user: &str, replace: bool) -> Result<String, GateError> {
    check_user(user)?;
    let mut secret = vec![0u8; 20];
    getrandom::fill(&mut secret).map_err(|e| GateError::Approval(format!("no randomness: {e}")))?;
    let t = totp(secret.clone(), user)?;
    let uri = t
        .to_url()
        .map_err(|e| GateError::Approval(format!("otpauth URI: {e}")))?;
    let db = StateDb::open(&cfg.state)?;
    db.enroll(user, &secret, now_ns(), replace)?;
    Ok(uri)
}

/// The TOTP code of `secret` at `unix_s` (for tests and tools).
pub fn code_at(secret: &[u8], unix_s: u64) -> Result<String, GateError> {
    Ok(totp(secret.to_vec(), "x")?.generate(unix_s).to_string())
}

/// Verifies `code` for `user` at `unix_s` and records its step (a code is accepted once).
pub fn verify(db: &StateDb, user: &str, code: &str, unix_s: u64) -> Result<(), String> {
    let Some((secret, _)) = db.approver(user).map_err(|e| e.to_string())? else {
        return Err(format!("{user:?} is not an enrolled approver"));
    };
    let t = totp(secret, user).map_err(|e| e.to_string())?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the code must be 6 digits".into());
    }
    let Some(step) = t.check(code, unix_s) else {
        return Err(format!("wrong code for {user:?}"));
    };
    let step = i64::try_from(step).map_err(|_| "clock out of range".to_string())?;
    if !db.advance_step(user, step).map_err(|e| e.to_string())? {
        return Err(format!(
            "code already used by {user:?}: wait for the next one"
        ));
    }
    Ok(())
}

/// Nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// What an approval request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRequest {
    pub user: String,
    pub code: String,
    pub registers: String,
    pub for_s: Option<u64>,
    pub unit: Option<u8>,
    /// The client whose writes are approved; defaults to the approver's name.
    pub client: Option<String>,
}

/// Turns a request into an approval window (not yet stored) under the critical
/// entries of `cfg`: every register must be critical, the window at most the
/// shortest `approval_window_s`, the writes the fewest `max_writes` of the entries.
pub fn scope(cfg: &Config, req: &ApprovalRequest, now: i64) -> Result<Approval, String> {
    let regs = RangeSet::parse(&req.registers)
        .map_err(|e| format!("registers {:?}: {e}", req.registers))?;
    let mut chosen: Option<(Table, Duration, u32)> = None;
    for table in [Table::HoldingRegister, Table::Coil] {
        let entries: Vec<_> = cfg
            .critical
            .iter()
            .filter(|c| c.table == table && req.unit.is_none_or(|u| u == c.unit))
            .filter(|c| {
                regs.spans()
                    .iter()
                    .any(|&(lo, hi)| c.registers.intersects(lo, hi - lo + 1))
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        let union = RangeSet::from_spans(entries.iter().flat_map(|c| c.registers.spans().to_vec()));
        if !union.contains_set(&regs) {
            continue;
        }
        let window = entries.iter().map(|c| c.window).min().unwrap_or_default();
        let writes = entries.iter().map(|c| c.max_writes).min().unwrap_or(1);
        chosen = Some((table, window, writes));
        break;
    }
    let Some((table, window, max_writes)) = chosen else {
        return Err(format!(
            "registers {regs} are not all critical{}: only [[critical]] registers take approvals",
            req.unit
                .map(|u| format!(" on unit {u}"))
                .unwrap_or_default()
        ));
    };
    let secs = req.for_s.unwrap_or(window.as_secs());
    if secs == 0 {
        return Err("an approval window must last at least 1 s".into());
    }
    if secs > window.as_secs() {
        return Err(format!(
            "--for {secs} exceeds the {} s approval window of registers {regs}",
            window.as_secs()
        ));
    }
    let client = req.client.clone().unwrap_or_else(|| req.user.clone());
    if client.trim().is_empty() {
        return Err("empty client".into());
    }
    Ok(Approval {
        id: 0,
        user: req.user.clone(),
        client,
        unit: req.unit,
        table,
        registers: regs,
        opened: now,
        expires: now.saturating_add(
            i64::try_from(secs)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000_000),
        ),
        max_writes,
        used: 0,
    })
}

/// The open approvals, in memory.
#[derive(Debug, Default)]
pub struct Approvals {
    list: Vec<Approval>,
    failures: HashMap<String, Vec<Instant>>,
}

impl Approvals {
    pub fn new(list: Vec<Approval>) -> Approvals {
        Approvals {
            list,
            failures: HashMap::new(),
        }
    }

    pub fn add(&mut self, a: Approval) {
        self.list.push(a);
    }

    /// Open approvals (expired and used-up ones are dropped).
    pub fn open(&mut self, now: i64) -> &[Approval] {
        self.list
            .retain(|a| a.expires > now && a.used < a.max_writes);
        &self.list
    }

    /// The id of an approval covering a write of `regs` (table, unit) by `client`.
    pub fn find(
        &mut self,
        client: &str,
        unit: u8,
        table: Table,
        regs: &RangeSet,
        now: i64,
    ) -> Option<i64> {
        self.open(now)
            .iter()
            .find(|a| {
                a.client == client
                    && a.table == table
                    && a.unit.is_none_or(|u| u == unit)
                    && a.registers.contains_set(regs)
            })
            .map(|a| a.id)
    }

    /// Uses one write of approval `id`; returns the new use count, or `None` when it
    /// is no longer open.
    pub fn consume(&mut self, id: i64, now: i64) -> Option<u32> {
        let a = self
            .list
            .iter_mut()
            .find(|a| a.id == id && a.expires > now && a.used < a.max_writes)?;
        a.used += 1;
        Some(a.used)
    }

    /// Records a failed code; false when the approver is locked out.
    pub fn note_failure(&mut self, user: &str) -> bool {
        let now = Instant::now();
        let v = self.failures.entry(user.to_string()).or_default();
        v.retain(|t| now.duration_since(*t) < FAILURE_WINDOW);
        v.push(now);
        v.len() <= MAX_FAILURES
    }

    /// True when the approver has used up its failed attempts.
    pub fn locked_out(&mut self, user: &str) -> bool {
        let now = Instant::now();
        match self.failures.get_mut(user) {
            Some(v) => {
                v.retain(|t| now.duration_since(*t) < FAILURE_WINDOW);
                v.len() >= MAX_FAILURES
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg() -> Config {
        let text = r#"
[gate]
listen_plain = "127.0.0.1:0"
upstream = "127.0.0.1:5020"
[[role]]
name = "operator"
units = [1]
functions = [6]
write = ["0-19"]
[[critical]]
unit = 1
registers = "5-6"
approval_window_s = 300
max_writes = 2
[[critical]]
unit = 1
registers = "7"
approval_window_s = 60
max_writes = 1
"#;
        Config::parse(text, Path::new("/tmp/gate.toml")).unwrap()
    }

    fn req(regs: &str, for_s: Option<u64>) -> ApprovalRequest {
        ApprovalRequest {
            user: "alice".into(),
            code: "000000".into(),
            registers: regs.into(),
            for_s,
            unit: None,
            client: None,
        }
    }

    #[test]
    fn scopes_follow_the_critical_entries() {
        let c = cfg();
        let a = scope(&c, &req("5", None), 0).unwrap();
        assert_eq!(
            (a.max_writes, a.expires, a.client.as_str()),
            (2, 300_000_000_000, "alice")
        );
        let a = scope(&c, &req("5-7", Some(30)), 0).unwrap();
        assert_eq!((a.max_writes, a.expires), (1, 30_000_000_000));
        assert!(scope(&c, &req("5-7", Some(61)), 0)
            .unwrap_err()
            .contains("exceeds the 60 s"));
        assert!(scope(&c, &req("8", None), 0)
            .unwrap_err()
            .contains("not all critical"));
        assert!(scope(&c, &req("4-5", None), 0).is_err());
        assert!(scope(&c, &req("5", Some(0)), 0).is_err());
        assert!(scope(&c, &req("x", None), 0).is_err());
        let mut r = req("5", None);
        r.unit = Some(2);
        assert!(scope(&c, &r, 0).is_err());
    }

    #[test]
    fn windows_are_used_up_and_expire() {
        let mut a = scope(&cfg(), &req("5-6", Some(10)), 0).unwrap();
        a.id = 1;
        a.client = "op1".into();
        let mut ap = Approvals::new(vec![a]);
        let five = RangeSet::parse("5").unwrap();
        assert_eq!(ap.find("op2", 1, Table::HoldingRegister, &five, 1), None);
        assert_eq!(ap.find("op1", 1, Table::Coil, &five, 1), None);
        assert_eq!(
            ap.find(
                "op1",
                1,
                Table::HoldingRegister,
                &RangeSet::parse("5-7").unwrap(),
                1
            ),
            None
        );
        assert_eq!(ap.find("op1", 1, Table::HoldingRegister, &five, 1), Some(1));
        assert_eq!(ap.consume(1, 1), Some(1));
        assert_eq!(ap.consume(1, 1), Some(2));
        assert_eq!(ap.consume(1, 1), None, "max_writes reached");
        assert_eq!(ap.find("op1", 1, Table::HoldingRegister, &five, 1), None);
        let mut b = scope(&cfg(), &req("5", Some(10)), 0).unwrap();
        b.id = 2;
        ap.add(b);
        assert_eq!(
            ap.find("alice", 1, Table::HoldingRegister, &five, 10_000_000_001),
            None,
            "expired"
        );
    }

    #[test]
    fn totp_codes_are_checked_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("g.db")).unwrap();
        let secret = [42u8; 20];
        db.enroll("alice", &secret, 0, false).unwrap();
        let t = 1_700_000_000u64;
        let code = code_at(&secret, t).unwrap();
        assert_eq!(code.len(), 6);
        assert!(verify(&db, "bob", &code, t)
            .unwrap_err()
            .contains("not an enrolled"));
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert!(verify(&db, "alice", &wrong, t)
            .unwrap_err()
            .contains("wrong code"));
        assert!(verify(&db, "alice", "12ab56", t).is_err());
        verify(&db, "alice", &code, t).unwrap();
        assert!(verify(&db, "alice", &code, t)
            .unwrap_err()
            .contains("already used"));
        // the previous step's code is inside the skew but older than the one used
        let older = code_at(&secret, t - 30).unwrap();
        assert!(verify(&db, "alice", &older, t).is_err());
        let next = code_at(&secret, t + 30).unwrap();
        verify(&db, "alice", &next, t + 30).unwrap();
        // RFC 6238 appendix B vector (SHA-1, 8 digits 94287082 at T=59): 6 digits are its tail
        let rfc = b"12345678901234567890";
        assert_eq!(code_at(rfc, 59).unwrap(), "287082");
    }

    #[test]
    fn lockout_after_repeated_failures() {
        let mut ap = Approvals::default();
        for _ in 0..MAX_FAILURES {
            assert!(!ap.locked_out("alice"));
            assert!(ap.note_failure("alice"));
        }
        assert!(ap.locked_out("alice"));
        assert!(!ap.note_failure("alice"));
        assert!(!ap.locked_out("bob"));
    }
}
