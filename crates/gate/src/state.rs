//! The gate's state database (`state = "gate.db"`): a Sluice store (so that the
//! gate's alerts sit in its `alerts` table, readable with `sluice alerts --db`) plus
//! the gate's own tables: approvers and their TOTP secrets, approvals, and the audit
//! trail of every decision.

use crate::config::Table;
use crate::ranges::RangeSet;
use crate::GateError;
use rusqlite::{params, OptionalExtension};
use sluice_store::Store;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS gate_approvers (
    user TEXT PRIMARY KEY,
    secret BLOB NOT NULL,
    created INTEGER NOT NULL,
    last_step INTEGER NOT NULL DEFAULT -1
);
CREATE TABLE IF NOT EXISTS gate_approvals (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    client TEXT NOT NULL,
    unit INTEGER,
    tbl TEXT NOT NULL,
    registers TEXT NOT NULL,
    opened INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    max_writes INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS gate_audit (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    action TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT,
    identity TEXT,
    role TEXT,
    fingerprint TEXT,
    src_ip TEXT,
    src_port INTEGER,
    unit INTEGER,
    function_code INTEGER,
    transaction_id INTEGER,
    address INTEGER,
    quantity INTEGER,
    exception INTEGER,
    approval_id INTEGER,
    json TEXT
);
CREATE INDEX IF NOT EXISTS gate_audit_ts ON gate_audit (ts);
";

/// An approval window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    pub id: i64,
    /// The approver who submitted the code.
    pub user: String,
    /// The client identity whose writes it allows (certificate name or plain address).
    pub client: String,
    /// The unit, or any unit.
    pub unit: Option<u8>,
    pub table: Table,
    pub registers: RangeSet,
    /// Nanoseconds since the epoch.
    pub opened: i64,
    pub expires: i64,
    pub max_writes: u32,
    pub used: u32,
}

/// One row of the audit table. `json` (the audit log's line) is kept for every
/// decision but allowed requests, whose rows hold the facts in columns: a busy gate
/// allows far more than it refuses, and the audit log has their lines.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow<'a> {
    pub ts: i64,
    pub action: &'a str,
    pub decision: &'a str,
    pub reason: Option<&'a str>,
    pub identity: &'a str,
    pub role: Option<&'a str>,
    pub fingerprint: Option<&'a str>,
    pub src_ip: String,
    pub src_port: u16,
    pub unit: Option<u8>,
    pub function_code: Option<u8>,
    pub transaction_id: Option<u16>,
    pub address: Option<u16>,
    pub quantity: Option<u16>,
    pub exception: Option<u8>,
    pub approval_id: Option<i64>,
    pub json: Option<&'a str>,
}

/// An audit row as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditSummary {
    pub action: String,
    pub decision: String,
    pub identity: Option<String>,
    pub function_code: Option<u8>,
    pub address: Option<u16>,
    pub json: Option<String>,
}

/// The open state database.
pub struct StateDb {
    store: Store,
}

fn table_name(t: Table) -> &'static str {
    t.name()
}

fn table_of(s: &str) -> Table {
    if s == "coil" {
        Table::Coil
    } else {
        Table::HoldingRegister
    }
}

impl StateDb {
    /// Opens (creating and migrating) the state database; a new file is made
    /// readable by its owner only (it holds TOTP secrets).
    pub fn open(path: &Path) -> Result<StateDb, GateError> {
        let existed = path.exists();
        let store = Store::open(path).map_err(|e| GateError::State(e.to_string()))?;
        if !existed {
            restrict(path);
        }
        store
            .conn()
            .execute_batch(SCHEMA)
            .map_err(|e| db(path, e))?;
        Ok(StateDb { store })
    }

    pub fn path(&self) -> &Path {
        self.store.path()
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> GateError + '_ {
        move |e| db(self.store.path(), e)
    }

    /// The underlying connection.
    pub fn conn(&self) -> &rusqlite::Connection {
        self.store.conn()
    }

    /// The underlying Sluice store.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Adds an approver (or replaces its secret when `replace`).
    pub fn enroll(
        &self,
        user: &str,
        secret: &[u8],
        now: i64,
        replace: bool,
    ) -> Result<(), GateError> {
        let sql = if replace {
            "INSERT INTO gate_approvers (user, secret, created, last_step) VALUES (?1, ?2, ?3, -1) \
             ON CONFLICT(user) DO UPDATE SET secret = excluded.secret, created = excluded.created, last_step = -1"
        } else {
            "INSERT INTO gate_approvers (user, secret, created, last_step) VALUES (?1, ?2, ?3, -1)"
        };
        match self.store.conn().execute(sql, params![user, secret, now]) {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(GateError::Approval(format!(
                    "approver {user:?} is already enrolled (use --force to replace the secret)"
                )))
            }
            Err(e) => Err(self.err()(e)),
        }
    }

    /// An approver's secret and last accepted TOTP step.
    pub fn approver(&self, user: &str) -> Result<Option<(Vec<u8>, i64)>, GateError> {
        self.store
            .conn()
            .query_row(
                "SELECT secret, last_step FROM gate_approvers WHERE user = ?1",
                params![user],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err())
    }

    /// Records `step` as the approver's last accepted step; false when it is not newer
    /// than the one recorded (a replayed code).
    pub fn advance_step(&self, user: &str, step: i64) -> Result<bool, GateError> {
        let n = self
            .store
            .conn()
            .execute(
                "UPDATE gate_approvers SET last_step = ?2 WHERE user = ?1 AND last_step < ?2",
                params![user, step],
            )
            .map_err(self.err())?;
        Ok(n == 1)
    }

    /// Stores a new approval and returns its id.
    pub fn insert_approval(&self, a: &Approval) -> Result<i64, GateError> {
        self.store
            .conn()
            .execute(
                "INSERT INTO gate_approvals (user, client, unit, tbl, registers, opened, expires, max_writes, used) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    a.user,
                    a.client,
                    a.unit,
                    table_name(a.table),
                    a.registers.to_string(),
                    a.opened,
                    a.expires,
                    a.max_writes,
                    a.used
                ],
            )
            .map_err(self.err())?;
        Ok(self.store.conn().last_insert_rowid())
    }

    /// Approvals still open at `now` with writes left.
    pub fn open_approvals(&self, now: i64) -> Result<Vec<Approval>, GateError> {
        let mut st = self
            .store
            .conn()
            .prepare(
                "SELECT id, user, client, unit, tbl, registers, opened, expires, max_writes, used \
                 FROM gate_approvals WHERE expires > ?1 AND used < max_writes ORDER BY id",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![now], |r| {
                let regs: String = r.get(5)?;
                let tbl: String = r.get(4)?;
                Ok(Approval {
                    id: r.get(0)?,
                    user: r.get(1)?,
                    client: r.get(2)?,
                    unit: r.get(3)?,
                    table: table_of(&tbl),
                    registers: RangeSet::parse(&regs).unwrap_or_default(),
                    opened: r.get(6)?,
                    expires: r.get(7)?,
                    max_writes: r.get(8)?,
                    used: r.get(9)?,
                })
            })
            .map_err(self.err())?;
        let mut out = Vec::new();
        for a in rows {
            let a = a.map_err(self.err())?;
            if !a.registers.is_empty() {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Records how many writes an approval has allowed.
    pub fn approval_used(&self, id: i64, used: u32) -> Result<(), GateError> {
        self.store
            .conn()
            .execute(
                "UPDATE gate_approvals SET used = MAX(used, ?2) WHERE id = ?1",
                params![id, used],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Appends audit rows in one transaction.
    pub fn insert_audit(&mut self, rows: &[AuditRow<'_>]) -> Result<(), GateError> {
        let path = self.store.path().to_path_buf();
        let e = |x| db(&path, x);
        let tx = self.store.conn_mut().transaction().map_err(e)?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO gate_audit (ts, action, decision, reason, identity, role, fingerprint, \
                     src_ip, src_port, unit, function_code, transaction_id, address, quantity, \
                     exception, approval_id, json) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                )
                .map_err(e)?;
            for r in rows {
                st.execute(params![
                    r.ts,
                    r.action,
                    r.decision,
                    r.reason,
                    r.identity,
                    r.role,
                    r.fingerprint,
                    r.src_ip,
                    r.src_port,
                    r.unit,
                    r.function_code,
                    r.transaction_id,
                    r.address,
                    r.quantity,
                    r.exception,
                    r.approval_id,
                    r.json
                ])
                .map_err(e)?;
            }
        }
        tx.commit().map_err(e)
    }

    /// Number of audit rows (for tests and status).
    pub fn audit_count(&self) -> Result<i64, GateError> {
        self.store
            .conn()
            .query_row("SELECT COUNT(*) FROM gate_audit", [], |r| r.get(0))
            .map_err(self.err())
    }

    /// The audit rows' action, decision, identity and JSON, oldest first.
    pub fn audit_rows(&self) -> Result<Vec<AuditSummary>, GateError> {
        let mut st = self
            .store
            .conn()
            .prepare(
                "SELECT action, decision, identity, function_code, address, json FROM gate_audit ORDER BY id",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map([], |r| {
                Ok(AuditSummary {
                    action: r.get(0)?,
                    decision: r.get(1)?,
                    identity: r.get(2)?,
                    function_code: r.get(3)?,
                    address: r.get(4)?,
                    json: r.get(5)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }
}

fn db(path: &Path, e: rusqlite::Error) -> GateError {
    GateError::State(format!("{}: {e}", path.display()))
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvers_approvals_and_audit_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gate.db");
        let mut db = StateDb::open(&p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        db.enroll("alice", &[7; 20], 1, false).unwrap();
        assert!(db.enroll("alice", &[8; 20], 2, false).is_err());
        assert_eq!(db.approver("alice").unwrap(), Some((vec![7; 20], -1)));
        db.enroll("alice", &[8; 20], 2, true).unwrap();
        assert_eq!(db.approver("alice").unwrap(), Some((vec![8; 20], -1)));
        assert_eq!(db.approver("bob").unwrap(), None);
        assert!(db.advance_step("alice", 10).unwrap());
        assert!(
            !db.advance_step("alice", 10).unwrap(),
            "a step is accepted once"
        );
        assert!(!db.advance_step("alice", 9).unwrap());
        let a = Approval {
            id: 0,
            user: "alice".into(),
            client: "op1".into(),
            unit: Some(1),
            table: Table::HoldingRegister,
            registers: RangeSet::parse("5").unwrap(),
            opened: 100,
            expires: 200,
            max_writes: 1,
            used: 0,
        };
        let id = db.insert_approval(&a).unwrap();
        assert_eq!(db.open_approvals(150).unwrap().len(), 1);
        assert_eq!(db.open_approvals(200).unwrap().len(), 0);
        db.approval_used(id, 1).unwrap();
        assert_eq!(db.open_approvals(150).unwrap().len(), 0);
        db.insert_audit(&[AuditRow {
            ts: 1,
            action: "request",
            decision: "deny",
            reason: Some("x"),
            identity: "op1",
            role: Some("operator"),
            fingerprint: None,
            src_ip: "127.0.0.1".into(),
            src_port: 5,
            unit: Some(1),
            function_code: Some(6),
            transaction_id: Some(1),
            address: Some(5),
            quantity: Some(1),
            exception: Some(2),
            approval_id: None,
            json: Some("{}"),
        }])
        .unwrap();
        assert_eq!(db.audit_count().unwrap(), 1);
        drop(db);
        // reopening keeps everything and migrates nothing twice
        let db = StateDb::open(&p).unwrap();
        assert_eq!(db.audit_count().unwrap(), 1);
    }
}
