//! Users, passwords (argon2id), TOTP (RFC 6238), sessions, API tokens, lockout and the
//! audit log. Everything here works on a plain SQLite connection so that the CLI
//! (`sluice user add`, `sluice user token`) and the server share it.
use crate::error::{ConsoleError, Result};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::OnceLock;

/// Consecutive failed logins (password or TOTP) before a user is locked out.
pub const MAX_FAILURES: i64 = 5;
/// How long a lockout lasts, in seconds.
pub const LOCKOUT_SECS: i64 = 15 * 60;
/// A signed-in session ends after this long without a request (seconds).
pub const SESSION_IDLE_SECS: i64 = 60 * 60;
/// A signed-in session ends this long after login whatever happens (seconds).
pub const SESSION_MAX_SECS: i64 = 12 * 60 * 60;
/// A half-done login (password given, TOTP not yet) lasts this long (seconds).
pub const PENDING_SECS: i64 = 10 * 60;
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// Issuer shown by authenticator apps.
pub const ISSUER: &str = "Sluice";

/// What a user may do. Ordered: each role can do everything the previous one can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads every page and API list.
    Viewer,
    /// Also acknowledges and assigns alerts.
    Analyst,
    /// Also manages users and reads the audit log.
    Admin,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Result<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            _ => Err(ConsoleError::BadRole(s.to_string())),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user as listed (no secrets).
#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub mfa_enrolled: bool,
    pub disabled: bool,
    pub locked_until: Option<i64>,
    pub failed_logins: i64,
    pub created: i64,
    pub last_login: Option<i64>,
}

/// What a new user needs to enrol their authenticator.
#[derive(Clone, Debug, Serialize)]
pub struct Enrolment {
    pub user: String,
    /// The TOTP secret, base32.
    pub secret: String,
    /// `otpauth://totp/...` for authenticator apps.
    pub uri: String,
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| ConsoleError::Random(e.to_string()))?;
    Ok(b)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> Result<String> {
    Ok(hex(&random_bytes(n)?))
}

/// SHA-256 of a secret, hex (sessions and API tokens are stored only hashed).
pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An argon2id hash (PHC string) of a password, with a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ConsoleError::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash verified for unknown users, so that a wrong name costs as much as a wrong
/// password (no user enumeration by timing).
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash_password("sluice-dummy-password").unwrap_or_default())
}

fn totp(name: &str, secret_b32: &str) -> Result<totp_rs::Totp> {
    let secret = totp_rs::Secret::try_from_base32(secret_b32)
        .map_err(|e| ConsoleError::Internal(format!("stored TOTP secret is unreadable: {e}")))?;
    // Authenticator apps reject ':' in the label.
    let account = name.replace(':', "_");
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| ConsoleError::Internal(format!("TOTP: {e}")))
}

/// The `otpauth://` URI of a user's secret.
pub fn otpauth_uri(name: &str, secret_b32: &str) -> Result<String> {
    totp(name, secret_b32)?
        .to_url()
        .map_err(|e| ConsoleError::Internal(format!("TOTP: {e}")))
}

/// The 6-digit code of a secret at `unix` seconds (for `sluice demo` and tests).
pub fn totp_code_at(secret_b32: &str, unix: i64) -> Result<String> {
    let t = totp("code", secret_b32)?;
    Ok(t.generate(u64::try_from(unix).unwrap_or(0)).to_string())
}

/// A new random 160-bit TOTP secret, base32.
pub fn new_totp_secret() -> Result<String> {
    let raw = random_bytes(20)?;
    Ok(totp_rs::Secret::from(raw).to_base32())
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

/// Checks a new password's length.
pub fn check_password_strength(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(ConsoleError::WeakPassword { min: MIN_PASSWORD });
    }
    Ok(())
}

/// Creates a user with a fresh TOTP secret; returns the enrolment.
pub fn add_user(conn: &Connection, name: &str, role: Role, password: &str) -> Result<Enrolment> {
    if !valid_name(name) {
        return Err(ConsoleError::BadUserName(name.to_string()));
    }
    check_password_strength(password)?;
    let exists: bool = conn
        .query_row(
            "SELECT 1 FROM console_users WHERE name = ?1",
            params![name],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if exists {
        return Err(ConsoleError::UserExists(name.to_string()));
    }
    let hash = hash_password(password)?;
    let secret = new_totp_secret()?;
    let uri = otpauth_uri(name, &secret)?;
    conn.execute(
        "INSERT INTO console_users (name, role, password_hash, totp_secret, created) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, role.as_str(), hash, secret, now()],
    )?;
    Ok(Enrolment {
        user: name.to_string(),
        secret,
        uri,
    })
}

/// Number of users.
pub fn user_count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM console_users", [], |r| r.get(0))?)
}

fn row_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(1)?;
    let locked: i64 = r.get(5)?;
    Ok(User {
        name: r.get(0)?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        mfa_enrolled: r.get::<_, i64>(2)? != 0,
        disabled: r.get::<_, i64>(3)? != 0,
        failed_logins: r.get(4)?,
        locked_until: (locked > now()).then_some(locked),
        created: r.get(6)?,
        last_login: r.get(7)?,
    })
}

const USER_COLS: &str =
    "name, role, totp_confirmed, disabled, failed_logins, locked_until, created, last_login";

/// Every user, by name.
pub fn list_users(conn: &Connection) -> Result<Vec<User>> {
    let mut st = conn.prepare(&format!(
        "SELECT {USER_COLS} FROM console_users ORDER BY name"
    ))?;
    let rows = st.query_map([], row_user)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One user.
pub fn get_user(conn: &Connection, name: &str) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLS} FROM console_users WHERE name = ?1"),
            params![name],
            row_user,
        )
        .optional()?)
}

fn must_change(n: usize, name: &str) -> Result<()> {
    if n == 0 {
        Err(ConsoleError::NoSuchUser(name.to_string()))
    } else {
        Ok(())
    }
}

/// Changes a user's role.
pub fn set_role(conn: &Connection, name: &str, role: Role) -> Result<()> {
    let n = conn.execute(
        "UPDATE console_users SET role = ?2 WHERE name = ?1",
        params![name, role.as_str()],
    )?;
    must_change(n, name)?;
    end_sessions(conn, name)
}

/// Disables or re-enables a user (disabling ends their sessions and tokens' use).
pub fn set_disabled(conn: &Connection, name: &str, disabled: bool) -> Result<()> {
    let n = conn.execute(
        "UPDATE console_users SET disabled = ?2 WHERE name = ?1",
        params![name, i64::from(disabled)],
    )?;
    must_change(n, name)?;
    if disabled {
        end_sessions(conn, name)?;
    }
    Ok(())
}

/// Clears a lockout.
pub fn unlock(conn: &Connection, name: &str) -> Result<()> {
    let n = conn.execute(
        "UPDATE console_users SET failed_logins = 0, locked_until = 0 WHERE name = ?1",
        params![name],
    )?;
    must_change(n, name)
}

/// Sets a new password.
pub fn set_password(conn: &Connection, name: &str, password: &str) -> Result<()> {
    check_password_strength(password)?;
    let hash = hash_password(password)?;
    let n = conn.execute(
        "UPDATE console_users SET password_hash = ?2 WHERE name = ?1",
        params![name, hash],
    )?;
    must_change(n, name)?;
    end_sessions(conn, name)
}

/// Gives a user a new TOTP secret, to enrol again at next login.
pub fn reset_mfa(conn: &Connection, name: &str) -> Result<Enrolment> {
    let secret = new_totp_secret()?;
    let n = conn.execute(
        "UPDATE console_users SET totp_secret = ?2, totp_confirmed = 0, totp_last_step = 0 \
         WHERE name = ?1",
        params![name, secret],
    )?;
    must_change(n, name)?;
    end_sessions(conn, name)?;
    Ok(Enrolment {
        user: name.to_string(),
        uri: otpauth_uri(name, &secret)?,
        secret,
    })
}

/// Marks the authenticator enrolled (for `sluice demo`, whose user gets the code printed).
pub fn confirm_mfa(conn: &Connection, name: &str) -> Result<()> {
    let n = conn.execute(
        "UPDATE console_users SET totp_confirmed = 1 WHERE name = ?1",
        params![name],
    )?;
    must_change(n, name)
}

/// A user's TOTP secret and whether it is enrolled.
pub fn totp_secret(conn: &Connection, name: &str) -> Result<Option<(String, bool)>> {
    Ok(conn
        .query_row(
            "SELECT totp_secret, totp_confirmed FROM console_users WHERE name = ?1",
            params![name],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? != 0)),
        )
        .optional()?)
}

/// Deletes a user with their sessions and tokens.
pub fn delete_user(conn: &Connection, name: &str) -> Result<()> {
    end_sessions(conn, name)?;
    conn.execute("DELETE FROM console_tokens WHERE user = ?1", params![name])?;
    let n = conn.execute("DELETE FROM console_users WHERE name = ?1", params![name])?;
    must_change(n, name)
}

/// Creates an API token for a user; only its hash is kept. Returns the token.
pub fn create_token(conn: &Connection, name: &str, label: Option<&str>) -> Result<String> {
    if get_user(conn, name)?.is_none() {
        return Err(ConsoleError::NoSuchUser(name.to_string()));
    }
    let token = format!("slc_{}", random_hex(32)?);
    conn.execute(
        "INSERT INTO console_tokens (hash, user, label, created) VALUES (?1, ?2, ?3, ?4)",
        params![sha256_hex(&token), name, label, now()],
    )?;
    Ok(token)
}

/// Who an API token belongs to (disabled users' tokens do not work).
pub fn token_user(conn: &Connection, token: &str) -> Result<Option<(String, Role)>> {
    let hash = sha256_hex(token);
    let found: Option<(String, String)> = conn
        .query_row(
            "SELECT u.name, u.role FROM console_tokens t JOIN console_users u ON u.name = t.user \
             WHERE t.hash = ?1 AND u.disabled = 0",
            params![hash],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match found {
        Some((name, role)) => {
            conn.execute(
                "UPDATE console_tokens SET last_used = ?2 WHERE hash = ?1",
                params![hash, now()],
            )?;
            Ok(Some((name, Role::parse(&role)?)))
        }
        None => Ok(None),
    }
}

/// The outcome of a password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    /// Right password: go on to TOTP (or to enrolment when `enrolled` is false).
    Ok { enrolled: bool },
    /// Wrong name or password (the same answer for both).
    Wrong,
    /// Too many failures: locked until this time.
    Locked(i64),
    /// The account is disabled.
    Disabled,
}

/// Checks a password, counting failures and locking after [`MAX_FAILURES`].
pub fn check_password(conn: &Connection, name: &str, password: &str) -> Result<PasswordCheck> {
    let row: Option<(String, i64, i64, i64)> = conn
        .query_row(
            "SELECT password_hash, totp_confirmed, disabled, locked_until FROM console_users \
             WHERE name = ?1",
            params![name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((hash, enrolled, disabled, locked_until)) = row else {
        let _ = verify_password(dummy_hash(), password);
        return Ok(PasswordCheck::Wrong);
    };
    let t = now();
    if locked_until > t {
        return Ok(PasswordCheck::Locked(locked_until));
    }
    if !verify_password(&hash, password) {
        return Ok(match record_failure(conn, name)? {
            Some(until) => PasswordCheck::Locked(until),
            None => PasswordCheck::Wrong,
        });
    }
    if disabled != 0 {
        return Ok(PasswordCheck::Disabled);
    }
    Ok(PasswordCheck::Ok {
        enrolled: enrolled != 0,
    })
}

/// Counts a failed login; returns the lockout end when this failure locks the user.
pub fn record_failure(conn: &Connection, name: &str) -> Result<Option<i64>> {
    let t = now();
    conn.execute(
        "UPDATE console_users SET failed_logins = failed_logins + 1 WHERE name = ?1",
        params![name],
    )?;
    let failures: i64 = conn
        .query_row(
            "SELECT failed_logins FROM console_users WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    if failures >= MAX_FAILURES {
        let until = t.saturating_add(LOCKOUT_SECS);
        conn.execute(
            "UPDATE console_users SET locked_until = ?2, failed_logins = 0 WHERE name = ?1",
            params![name, until],
        )?;
        return Ok(Some(until));
    }
    Ok(None)
}

/// The outcome of a TOTP check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    Ok,
    Wrong,
    /// The code of a time step already used (RFC 6238 §5.2: accept each code once).
    Replayed,
    Locked(i64),
}

/// Checks a TOTP code at `unix` seconds: ±1 step of skew, each step accepted once.
pub fn check_code(conn: &Connection, name: &str, code: &str, unix: i64) -> Result<CodeCheck> {
    let row: Option<(String, i64, i64)> = conn
        .query_row(
            "SELECT totp_secret, totp_last_step, locked_until FROM console_users WHERE name = ?1",
            params![name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((secret, last_step, locked_until)) = row else {
        return Ok(CodeCheck::Wrong);
    };
    if locked_until > now() {
        return Ok(CodeCheck::Locked(locked_until));
    }
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let valid = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let step = if valid {
        totp(name, &secret)?.check(&code, u64::try_from(unix).unwrap_or(0))
    } else {
        None
    };
    match step.and_then(|s| i64::try_from(s).ok()) {
        Some(s) if s > last_step => {
            conn.execute(
                "UPDATE console_users SET totp_last_step = ?2, totp_confirmed = 1, \
                 failed_logins = 0, last_login = ?3 WHERE name = ?1",
                params![name, s, now()],
            )?;
            Ok(CodeCheck::Ok)
        }
        Some(_) => Ok(CodeCheck::Replayed),
        None => Ok(match record_failure(conn, name)? {
            Some(until) => CodeCheck::Locked(until),
            None => CodeCheck::Wrong,
        }),
    }
}

/// How far a session got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Password given; the TOTP code is next.
    Totp,
    /// Password given; the authenticator must be enrolled first.
    Enrol,
    /// Fully signed in.
    Full,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Totp => "totp",
            Stage::Enrol => "enrol",
            Stage::Full => "full",
        }
    }
    fn parse(s: &str) -> Option<Stage> {
        match s {
            "totp" => Some(Stage::Totp),
            "enrol" => Some(Stage::Enrol),
            "full" => Some(Stage::Full),
            _ => None,
        }
    }
}

/// A live session.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    pub role: Role,
    pub stage: Stage,
    pub csrf: String,
}

/// Starts a session; returns the cookie value (only its hash is stored).
pub fn create_session(conn: &Connection, user: &str, stage: Stage, ip: &str) -> Result<String> {
    let token = random_hex(32)?;
    let csrf = random_hex(32)?;
    let t = now();
    conn.execute(
        "INSERT INTO console_sessions (id_hash, user, stage, csrf, created, last_seen, ip) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
        params![sha256_hex(&token), user, stage.as_str(), csrf, t, ip],
    )?;
    // Housekeeping: drop expired sessions.
    conn.execute(
        "DELETE FROM console_sessions WHERE last_seen < ?1 OR created < ?2",
        params![t - SESSION_IDLE_SECS, t - SESSION_MAX_SECS],
    )?;
    Ok(token)
}

/// The session of a cookie value, if live; refreshes its idle timer.
pub fn load_session(conn: &Connection, token: &str) -> Result<Option<Session>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let hash = sha256_hex(token);
    let row: Option<(String, String, String, String, i64, i64)> = conn
        .query_row(
            "SELECT s.user, u.role, s.stage, s.csrf, s.created, s.last_seen \
             FROM console_sessions s JOIN console_users u ON u.name = s.user \
             WHERE s.id_hash = ?1 AND u.disabled = 0",
            params![hash],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let Some((user, role, stage, csrf, created, last_seen)) = row else {
        return Ok(None);
    };
    let Some(stage) = Stage::parse(&stage) else {
        return Ok(None);
    };
    let t = now();
    let expired = match stage {
        Stage::Full => t - last_seen > SESSION_IDLE_SECS || t - created > SESSION_MAX_SECS,
        Stage::Totp | Stage::Enrol => t - created > PENDING_SECS,
    };
    if expired {
        conn.execute(
            "DELETE FROM console_sessions WHERE id_hash = ?1",
            params![hash],
        )?;
        return Ok(None);
    }
    if t - last_seen >= 30 {
        conn.execute(
            "UPDATE console_sessions SET last_seen = ?2 WHERE id_hash = ?1",
            params![hash, t],
        )?;
    }
    Ok(Some(Session {
        user,
        role: Role::parse(&role)?,
        stage,
        csrf,
    }))
}

/// Ends one session.
pub fn end_session(conn: &Connection, token: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM console_sessions WHERE id_hash = ?1",
        params![sha256_hex(token)],
    )?;
    Ok(())
}

/// Ends every session of a user.
pub fn end_sessions(conn: &Connection, name: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM console_sessions WHERE user = ?1",
        params![name],
    )?;
    Ok(())
}

/// One line of the audit log.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub ts: i64,
    pub user: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub outcome: String,
    pub detail: Option<String>,
}

/// Appends to the audit log.
pub fn audit(
    conn: &Connection,
    user: Option<&str>,
    ip: &str,
    action: &str,
    outcome: &str,
    detail: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO console_audit (ts, user, ip, action, outcome, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![now(), user, ip, action, outcome, detail],
    )?;
    Ok(())
}

/// The audit log, newest first.
pub fn audit_log(conn: &Connection, limit: i64, offset: i64) -> Result<Vec<AuditEntry>> {
    let mut st = conn.prepare(
        "SELECT id, ts, user, ip, action, outcome, detail FROM console_audit \
         ORDER BY id DESC LIMIT ?1 OFFSET ?2",
    )?;
    let rows = st.query_map(params![limit, offset], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            ts: r.get(1)?,
            user: r.get(2)?,
            ip: r.get(3)?,
            action: r.get(4)?,
            outcome: r.get(5)?,
            detail: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
