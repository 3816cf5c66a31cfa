//! The console's tables (users, sessions, API tokens, audit log) beside the store's, the
//! indexes its pages need, and a small pool of store connections used from blocking tasks.
use crate::error::{ConsoleError, Result};
use rusqlite::Connection;
use sluice_store::Store;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Tables of the console. `IF NOT EXISTS`: they live in the store file without touching its
/// migration version, so `sluice analyze` and the console can open the same file in any order.
const AUTH_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS console_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT NOT NULL,
    totp_confirmed INTEGER NOT NULL DEFAULT 0,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    last_login INTEGER
);
CREATE TABLE IF NOT EXISTS console_sessions (
    id_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    stage TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    ip TEXT
);
CREATE INDEX IF NOT EXISTS console_sessions_user ON console_sessions (user);
CREATE TABLE IF NOT EXISTS console_tokens (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    label TEXT,
    created INTEGER NOT NULL,
    last_used INTEGER
);
CREATE TABLE IF NOT EXISTS console_audit (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    user TEXT,
    ip TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS console_audit_ts ON console_audit (ts);
";

/// Indexes the pages' queries rely on (asset detail, alert filters; covering indexes for the
/// overview's counts and the map's nodes). Built once, the first time the console serves a
/// store; on a store of a million events this takes several seconds.
const QUERY_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS console_flows_src ON flows (src_ip);
CREATE INDEX IF NOT EXISTS console_flows_dst ON flows (dst_ip);
CREATE INDEX IF NOT EXISTS console_alerts_src ON alerts (src_ip);
CREATE INDEX IF NOT EXISTS console_alerts_dst ON alerts (dst_ip);
CREATE INDEX IF NOT EXISTS console_alerts_sev ON alerts (severity, ts);
DROP INDEX IF EXISTS console_alerts_ack;
CREATE INDEX IF NOT EXISTS console_alerts_open ON alerts (acknowledged, severity);
CREATE INDEX IF NOT EXISTS console_alerts_ts_sev ON alerts (ts, severity);
CREATE INDEX IF NOT EXISTS console_assets_nodes ON assets (sort_key, id, ip, role, vendor);
";

/// Creates the console's tables if they are missing.
pub fn ensure_auth_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(AUTH_SCHEMA)
}

/// Creates the indexes the console's queries use.
pub fn ensure_query_indexes(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(QUERY_INDEXES)
}

/// Opens the store (creating and migrating it) with the console's tables.
pub fn open_store(path: &Path) -> Result<Store> {
    let store = Store::open(path)?;
    ensure_auth_schema(store.conn()).map_err(|e| ConsoleError::sql(path, e))?;
    Ok(store)
}

/// Connections to one store file, reused across requests. Queries run on tokio's blocking
/// pool; every connection is used by one task at a time.
#[derive(Clone)]
pub struct Db {
    path: Arc<PathBuf>,
    idle: Arc<Mutex<Vec<Store>>>,
}

/// Idle connections kept open.
const MAX_IDLE: usize = 8;

impl Db {
    /// Opens the store once (migrating it and adding the console's tables and indexes).
    pub fn open(path: &Path) -> Result<Db> {
        let store = open_store(path)?;
        ensure_query_indexes(store.conn()).map_err(|e| ConsoleError::sql(path, e))?;
        Ok(Db {
            path: Arc::new(path.to_path_buf()),
            idle: Arc::new(Mutex::new(vec![store])),
        })
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn take(&self) -> Result<Store> {
        let pooled = self.idle.lock().ok().and_then(|mut v| v.pop());
        match pooled {
            Some(s) => Ok(s),
            None => Ok(Store::open(&self.path)?),
        }
    }

    fn give_back(&self, s: Store) {
        if let Ok(mut v) = self.idle.lock() {
            if v.len() < MAX_IDLE {
                v.push(s);
            }
        }
    }

    /// Runs `f` with a connection on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let store = db.take()?;
            let out = f(store.conn());
            db.give_back(store);
            out
        })
        .await
        .map_err(|e| ConsoleError::Internal(format!("query task failed: {e}")))?
    }

    /// Runs `f` with a connection, synchronously (CLI and tests).
    pub fn run_sync<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let store = self.take()?;
        let out = f(store.conn());
        self.give_back(store);
        out
    }
}
