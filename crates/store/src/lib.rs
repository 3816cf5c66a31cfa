//! The embedded store: one SQLite file in WAL mode. Every write happens in a
//! transaction, so an interrupted run leaves a consistent file; event and flow ids are
//! deterministic, so analysing the same capture again adds no duplicate rows.
#![forbid(unsafe_code)]

mod blocks;
mod schema;

pub use schema::SCHEMA_VERSION;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sluice_engine::assets::Asset;
use sluice_engine::event::{Body, Event};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Store errors, naming the database file.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: schema migration failed: {source}")]
    Migration {
        path: PathBuf,
        #[source]
        source: schema::MigrationError,
    },
    #[error("{path}: stored JSON is corrupt: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The run whose events this connection writes (its blocks name it).
    run: Option<i64>,
    /// The event block being filled.
    blocks: blocks::BlockWriter,
}

/// What [`Store::replace_source`] did.
#[derive(Debug, Default)]
pub struct Replaced {
    /// Events of earlier runs removed.
    pub events: u64,
    /// Earlier runs that share some of the files but also had others (run id, inputs):
    /// their events stay, so the shared files' events are now stored twice.
    pub overlapping: Vec<(i64, Vec<String>)>,
}

/// The capture files of a source key: content keys joined by `+`.
fn key_files(key: &str) -> std::collections::BTreeSet<&str> {
    key.split('+').filter(|k| !k.is_empty()).collect()
}

/// The background checkpoint thread of [`Store::background_checkpoints`].
pub struct Checkpointer {
    /// Dropped to stop the thread: it wakes at once, not at its next tick.
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One row of the flows table, as queried.
#[derive(Clone, Debug, Serialize)]
pub struct FlowRow {
    pub id: String,
    pub ts: i64,
    pub end_ts: i64,
    pub src_ip: String,
    pub src_port: u16,
    pub dst_ip: String,
    pub dst_port: u16,
    pub transport: String,
    pub protocol: Option<String>,
    pub packets: u64,
    pub bytes: u64,
    pub end_reason: String,
}

/// One row of the events table (transactions and anomalies), as queried.
#[derive(Clone, Debug, Serialize)]
pub struct EventRow {
    pub id: String,
    pub ts: i64,
    pub dataset: String,
    pub protocol: Option<String>,
    pub src_ip: Option<String>,
    pub dst_ip: Option<String>,
    pub function_code: Option<i64>,
    pub function: Option<String>,
    pub json: String,
}

/// Filters for event queries.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    pub dataset: Option<String>,
    pub protocol: Option<String>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// WAL frames (4 KiB pages: 64 MiB) past which the writer checkpoints after a commit.
pub const WAL_BOUND_PAGES: u32 = 16_384;

/// The writer's own checkpoint, SQLite's automatic one made sure to happen: after a
/// commit that leaves `pages` frames or more in the WAL, a passive checkpoint (it never
/// waits for readers). SQLite's automatic checkpoint gives up when another connection
/// is checkpointing, and the background checkpointer (low priority, every commit of a
/// busy writer racing it) can be preempted for long in the middle of one: the WAL then
/// grew past any bound (3.7 MB against a 256 KiB bound in a loaded CI run). This one
/// waits for that checkpoint to end, then runs its own; the next write restarts the WAL.
fn bound_the_wal(conn: &mut Connection, pages: u32) -> rusqlite::Result<()> {
    let pages = i32::try_from(pages).unwrap_or(i32::MAX);
    conn.wal_hook(Some(
        move |wal: &mut rusqlite::hooks::Wal, frames: std::ffi::c_int| {
            if frames >= pages {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while let Err(rusqlite::Error::SqliteFailure(e, _)) =
                    wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE)
                {
                    if e.code != rusqlite::ErrorCode::DatabaseBusy
                        || std::time::Instant::now() >= deadline
                    {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            // An error here would fail the commit that has already happened; a failed
            // checkpoint is retried after the next commit.
            Ok(())
        },
    ))
}

/// Lowers the calling thread's scheduling priority (nice 10), for threads that write the
/// store behind the analysis: on a machine with few cores the scheduler otherwise lets
/// them run out a time slice (milliseconds) while the engine has packets waiting, and
/// live alerts wait with them. Best effort: a refusal leaves the priority as it was.
pub fn background_priority() {
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        let p = path.to_path_buf();
        let sq = |source| StoreError::Sqlite {
            path: p.clone(),
            source,
        };
        let mut conn = Connection::open(path).map_err(sq)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sq)?;
        // Switching a new database to WAL needs it to itself, and SQLite does not wait
        // for that on its busy handler: another process opening the same new store at
        // that moment gets "database is locked". Retry for the busy timeout.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                r => break r.map_err(sq)?,
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sq)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(sq)?;
        // Bulk analysis writes large batches: fewer WAL checkpoints keep the writer ahead
        // of the parser. 8 MiB of page cache: with narrow event rows and compressed
        // blocks, 16 MiB was no faster (measured on the 2M-packet bench capture).
        conn.pragma_update(None, "cache_size", -8_192).map_err(sq)?;
        bound_the_wal(&mut conn, WAL_BOUND_PAGES).map_err(sq)?;
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(sq)?;
        blocks::register_json_function(&conn, path).map_err(sq)?;
        schema::migrate(&mut conn).map_err(|source| StoreError::Migration {
            path: p.clone(),
            source,
        })?;
        Ok(Store {
            conn,
            path: p,
            run: None,
            blocks: blocks::BlockWriter::default(),
        })
    }

    /// Moves WAL checkpoints off the writer: a thread with its own connection copies the
    /// WAL into the database every `every` (a passive checkpoint never blocks the
    /// writer), so a commit rarely stalls on copying and syncing tens of megabytes. The
    /// writer's own checkpoint stays as a backstop ([`WAL_BOUND_PAGES`]): a writer that
    /// never pauses keeps the WAL from restarting, and at 64 MiB the writer checkpoints
    /// the remainder itself (the WAL grew to 272 MB on a 177 MB store without it).
    /// Dropping the handle stops the thread after a last checkpoint.
    pub fn background_checkpoints(&self, every: std::time::Duration) -> Result<Checkpointer> {
        let conn = Connection::open(&self.path).map_err(self.err())?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(self.err())?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sluice-checkpoint".into())
            .spawn(move || {
                background_priority();
                let checkpoint = || {
                    // A failed passive checkpoint is retried at the next tick; the WAL
                    // keeps every commit meanwhile.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                };
                // Sleeping the whole interval made every run wait up to one at its end
                // (100 ms for `analyze`, 500 ms for `sense`).
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(every)
                {
                    checkpoint();
                }
                checkpoint();
            })
            .map_err(|e| StoreError::Sqlite {
                path: self.path.clone(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Sets the WAL size, in frames, past which the writer checkpoints after a commit
    /// ([`WAL_BOUND_PAGES`] unless changed).
    pub fn bound_wal(&mut self, pages: u32) -> Result<()> {
        let path = self.path.clone();
        bound_the_wal(&mut self.conn, pages).map_err(|source| StoreError::Sqlite { path, source })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The underlying connection (for crates that add their own tables).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Records the start of an analysis run.
    pub fn begin_run(&mut self, started: i64, inputs: &[String], source_key: &str) -> Result<i64> {
        let inputs = serde_json::to_string(inputs).unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO runs (started, inputs, source_key, status) VALUES (?1, ?2, ?3, 'running')",
                params![started, inputs, source_key],
            )
            .map_err(self.err())?;
        let run = self.conn.last_insert_rowid();
        self.run = Some(run);
        Ok(run)
    }

    /// Deletes the events of earlier runs over the same inputs or a part of them: every
    /// run whose capture files (the `+`-joined content keys of `source_key`) are all among
    /// this run's, finished or interrupted. Re-analysing a capture, alone or with more
    /// files, replaces its events instead of adding them again. An earlier run that shares
    /// some files but also had others keeps its events (the other files' would go with
    /// them): it is reported in [`Replaced::overlapping`], as the shared files' events
    /// will then be stored twice. Call before [`Store::begin_run`].
    pub fn replace_source(&mut self, source_key: &str) -> Result<Replaced> {
        let path = self.path.clone();
        let sq = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let new = key_files(source_key);
        let tx = self.conn.transaction().map_err(sq)?;
        let mut replaced = Replaced::default();
        let mut runs = Vec::new();
        let mut overlapping = Vec::new();
        {
            let mut st = tx
                .prepare("SELECT id, source_key, inputs FROM runs ORDER BY id")
                .map_err(sq)?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(sq)?;
            for row in rows {
                let (id, key, inputs) = row.map_err(sq)?;
                let old = key_files(&key);
                if old.is_subset(&new) {
                    runs.push(id);
                } else if !old.is_disjoint(&new) {
                    overlapping.push((id, inputs));
                }
            }
        }
        // (Only runs that still hold events: one replaced since holds none.)
        for (id, inputs) in overlapping {
            let holds: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM event_blocks WHERE run = ?1)",
                    params![id],
                    |r| r.get(0),
                )
                .map_err(sq)?;
            if holds {
                let inputs: Vec<String> = serde_json::from_str(&inputs).unwrap_or_default();
                replaced.overlapping.push((id, inputs));
            }
        }
        let mut blocks: Vec<(i64, i64, i64)> = Vec::new();
        {
            let mut st = tx
                .prepare("SELECT id, first_row, last_row FROM event_blocks WHERE run = ?1")
                .map_err(sq)?;
            for run in &runs {
                let rows = st
                    .query_map(params![run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(sq)?;
                for b in rows {
                    blocks.push(b.map_err(sq)?);
                }
            }
        }
        let mut gone = 0u64;
        {
            let mut rows = tx
                .prepare("DELETE FROM event_rows WHERE n BETWEEN ?1 AND ?2 AND block = ?3")
                .map_err(sq)?;
            let mut block = tx
                .prepare("DELETE FROM event_blocks WHERE id = ?1")
                .map_err(sq)?;
            for &(id, first, last) in &blocks {
                gone += rows.execute(params![first, last, id]).map_err(sq)? as u64;
                block.execute(params![id]).map_err(sq)?;
            }
        }
        if !blocks.is_empty() {
            tx.execute(
                "DELETE FROM event_keys WHERE block NOT IN (SELECT id FROM event_blocks)",
                [],
            )
            .map_err(sq)?;
        }
        tx.commit().map_err(sq)?;
        replaced.events = gone;
        Ok(replaced)
    }

    /// Records the end of a run with its statistics.
    pub fn finish_run(
        &mut self,
        run: i64,
        finished: i64,
        status: &str,
        stats_json: &str,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET finished = ?1, status = ?2, stats = ?3 WHERE id = ?4",
                params![finished, status, stats_json, run],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Compresses event blocks on a thread of their own from now on (bulk analysis:
    /// inserting rows goes on meanwhile; every block is written before each commit).
    pub fn compress_in_background(&mut self) {
        self.blocks.compress_in_background();
    }

    /// Opens a transaction that the following [`Store::insert_events`] calls join until
    /// [`Store::commit`]: bulk analysis commits many batches at once (fewer rewrites of
    /// each index page); an interrupted run still leaves only whole transactions.
    pub fn begin(&mut self) -> Result<()> {
        if self.conn.is_autocommit() {
            self.conn.execute_batch("BEGIN").map_err(self.err())?;
        }
        Ok(())
    }

    /// Commits the transaction opened by [`Store::begin`], if any.
    pub fn commit(&mut self) -> Result<()> {
        if !self.conn.is_autocommit() {
            if let Err(e) = self.blocks.finish(&self.conn) {
                self.rollback();
                return Err(self.err()(e));
            }
            self.conn.execute_batch("COMMIT").map_err(self.err())?;
        }
        Ok(())
    }

    /// Abandons the open transaction and the event block it was filling.
    fn rollback(&mut self) {
        self.blocks.reset();
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    /// Inserts a batch of events: in its own transaction, or in the one opened by
    /// [`Store::begin`]. `json[i]` is the JSON line of `events[i]`. Rows already present
    /// (same id) are left as they are. (The lines are taken as bytes: most go into
    /// compressed blocks as they are, read back as text; flows and alerts, stored as
    /// text, are checked to be UTF-8.)
    pub fn insert_events<J: AsRef<[u8]>>(&mut self, events: &[Event], json: &[J]) -> Result<()> {
        let own = self.conn.is_autocommit();
        if own {
            self.conn.execute_batch("BEGIN").map_err(self.err())?;
        }
        let result = self.insert_rows(events, json);
        if own {
            if result.is_err() {
                self.rollback();
                return result;
            }
            return self.commit();
        }
        if result.is_err() {
            self.rollback();
        }
        result
    }

    fn insert_rows<J: AsRef<[u8]>>(&mut self, events: &[Event], json: &[J]) -> Result<()> {
        let Store {
            conn: tx,
            path,
            run,
            blocks,
        } = self;
        let sq = &|source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let run = *run;
        {
            let mut flow_st = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO flows (id, ts, end_ts, src_ip, src_port, dst_ip, dst_port, \
                     transport, protocol, packets, bytes, end_reason, json) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(sq)?;
            let mut ev_st = tx
                .prepare_cached(
                    "INSERT INTO event_rows (id, ts, dataset, kind, protocol, flow_id, src_ip, \
                     src_port, dst_ip, dst_port, function_code, function, block, seq) \
                     VALUES (?1, ?2, ?3, 'event', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(sq)?;
            let mut alert_st = tx
                .prepare_cached(
                    "INSERT INTO alerts (id, ts, rule_id, rule_name, severity, technique_id, src_ip, \
                     dst_ip, chain_id, count, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
                     ON CONFLICT(id) DO UPDATE SET count = excluded.count, json = excluded.json",
                )
                .map_err(sq)?;
            // Reused text buffers: no allocation per row. (The encoders write ASCII.)
            let (mut id_buf, mut src_buf, mut dst_buf) = (Vec::new(), Vec::new(), Vec::new());
            fn text(b: &[u8]) -> &str {
                std::str::from_utf8(b).unwrap_or_default()
            }
            for (e, j) in events.iter().zip(json) {
                let j = j.as_ref();
                // Flows and alerts keep their JSON as text (the encoders write UTF-8).
                let text_json = || String::from_utf8_lossy(j);
                id_buf.clear();
                e.write_id_bytes(&mut id_buf);
                let id = text(&id_buf);
                let src_ip = e.src.map(|s| {
                    src_buf.clear();
                    sluice_engine::write_ip(&mut src_buf, &s.ip);
                    text(&src_buf)
                });
                let dst_ip = e.dst.map(|s| {
                    dst_buf.clear();
                    sluice_engine::write_ip(&mut dst_buf, &s.ip);
                    text(&dst_buf)
                });
                // The block key of a transaction or anomaly: its flow id (its id up to the
                // `-`) in a flow, else its own id.
                let key = event_key(id);
                let flow = e.flow_uid.map(|_| key);
                let src_port = e.src.map(|s| s.port);
                let dst_port = e.dst.map(|s| s.port);
                // A transaction or anomaly: its narrow row, its JSON line into the block.
                let mut event_row = |(protocol, function_code, function): (
                    Option<&str>,
                    Option<i64>,
                    Option<&str>,
                )|
                 -> Result<()> {
                    let (block, seq) = blocks.slot(tx, run).map_err(sq)?;
                    ev_st
                        .execute(params![
                            id,
                            e.ts,
                            e.dataset(),
                            protocol,
                            flow,
                            src_ip,
                            src_port,
                            dst_ip,
                            dst_port,
                            function_code,
                            function,
                            block,
                            seq
                        ])
                        .map_err(sq)?;
                    blocks
                        .push(tx, tx.last_insert_rowid(), j, [Some(key), src_ip, dst_ip])
                        .map_err(sq)
                };
                match &e.body {
                    Body::Flow(f) => {
                        flow_st
                            .execute(params![
                                id,
                                f.start,
                                f.end,
                                src_ip,
                                src_port,
                                dst_ip,
                                dst_port,
                                e.transport,
                                e.protocol,
                                (f.packets[0] + f.packets[1]) as i64,
                                (f.bytes[0] + f.bytes[1]) as i64,
                                f.end_reason.as_str(),
                                text_json()
                            ])
                            .map_err(sq)?;
                    }
                    Body::Txn { record, .. } => event_row((
                        e.protocol,
                        record.function_code().map(i64::from),
                        record.function(),
                    ))?,
                    Body::Alert(a) => {
                        alert_st
                            .execute(params![
                                id,
                                e.ts,
                                a.rule_id,
                                a.rule_name,
                                i64::from(a.severity),
                                a.technique_id,
                                src_ip,
                                dst_ip,
                                a.chain_id,
                                a.count as i64,
                                text_json()
                            ])
                            .map_err(sq)?;
                    }
                    Body::Anomaly(a) => event_row((Some(a.protocol), None, Some(a.kind)))?,
                }
            }
        }
        Ok(())
    }

    /// Replaces the asset observations of one source (a set of capture files) and
    /// rebuilds the merged inventory, in one transaction.
    pub fn put_assets(&mut self, source_key: &str, assets: &[Asset]) -> Result<()> {
        let path = self.path.clone();
        let sq = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sq)?;
        // Observations of these inputs or of a part of them (as `replace_source`).
        let new = key_files(source_key);
        let old: Vec<String> = {
            let mut st = tx
                .prepare("SELECT DISTINCT source_key FROM asset_observations")
                .map_err(sq)?;
            let keys = st.query_map([], |r| r.get::<_, String>(0)).map_err(sq)?;
            keys.collect::<std::result::Result<_, _>>().map_err(sq)?
        };
        for k in old.iter().filter(|k| key_files(k).is_subset(&new)) {
            tx.execute(
                "DELETE FROM asset_observations WHERE source_key = ?1",
                params![k],
            )
            .map_err(sq)?;
        }
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO asset_observations (source_key, asset_id, first_seen, last_seen, json) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sq)?;
            for a in assets {
                let j = serde_json::to_string(a).unwrap_or_default();
                st.execute(params![source_key, a.id, a.first_seen, a.last_seen, j])
                    .map_err(sq)?;
            }
        }
        schema::rebuild_assets(&tx).map_err(sq)?;
        tx.commit().map_err(sq)
    }

    /// Merged assets, ordered by address.
    pub fn assets(&self) -> Result<Vec<serde_json::Value>> {
        let mut st = self
            .conn
            .prepare("SELECT json FROM assets ORDER BY sort_key")
            .map_err(self.err())?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(self.err())?;
        let mut out = Vec::new();
        for r in rows {
            let j = r.map_err(self.err())?;
            out.push(serde_json::from_str(&j).map_err(|source| StoreError::Json {
                path: self.path.clone(),
                source,
            })?);
        }
        Ok(out)
    }

    /// Flows, oldest first.
    pub fn flows(&self, limit: Option<u64>, offset: u64) -> Result<Vec<FlowRow>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, ts, end_ts, src_ip, src_port, dst_ip, dst_port, transport, protocol, \
                 packets, bytes, end_reason FROM flows ORDER BY ts, id LIMIT ?1 OFFSET ?2",
            )
            .map_err(self.err())?;
        let lim = limit.map_or(-1, |l| l as i64);
        let rows = st
            .query_map(params![lim, offset as i64], |r| {
                Ok(FlowRow {
                    id: r.get(0)?,
                    ts: r.get(1)?,
                    end_ts: r.get(2)?,
                    src_ip: r.get(3)?,
                    src_port: r.get(4)?,
                    dst_ip: r.get(5)?,
                    dst_port: r.get(6)?,
                    transport: r.get(7)?,
                    protocol: r.get(8)?,
                    packets: r.get::<_, i64>(9)? as u64,
                    bytes: r.get::<_, i64>(10)? as u64,
                    end_reason: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
                })
            })
            .map_err(self.err())?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(self.err())
    }

    /// Events (transactions and anomalies), oldest first.
    pub fn events(&self, q: &EventQuery) -> Result<Vec<EventRow>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, ts, dataset, protocol, src_ip, dst_ip, function_code, function, block, seq \
                 FROM event_rows WHERE (?1 IS NULL OR dataset = ?1) AND (?2 IS NULL OR protocol = ?2) \
                 ORDER BY ts, id LIMIT ?3 OFFSET ?4",
            )
            .map_err(self.err())?;
        let lim = q.limit.map_or(-1, |l| l as i64);
        let rows = st
            .query_map(params![q.dataset, q.protocol, lim, q.offset as i64], |r| {
                Ok((
                    EventRow {
                        id: r.get(0)?,
                        ts: r.get(1)?,
                        dataset: r.get(2)?,
                        protocol: r.get(3)?,
                        src_ip: r.get(4)?,
                        dst_ip: r.get(5)?,
                        function_code: r.get(6)?,
                        function: r.get(7)?,
                        json: String::new(),
                    },
                    r.get::<_, i64>(8)?,
                    r.get::<_, i64>(9)?,
                ))
            })
            .map_err(self.err())?;
        let mut reader = blocks::BlockReader::default();
        let mut out = Vec::new();
        for row in rows {
            let (mut e, block, seq) = row.map_err(self.err())?;
            e.json = reader
                .line(&self.conn, block, seq)
                .map_err(self.err())?
                .unwrap_or_default();
            out.push(e);
        }
        Ok(out)
    }

    /// The JSON line of the event with id `id`, if stored.
    pub fn event_json(&self, id: &str) -> Result<Option<String>> {
        let at: Option<(i64, i64)> = self
            .conn
            .query_row(
                &format!("SELECT e.block, e.seq FROM {EVENTS_BY_KEY} AND e.id = ?2 LIMIT 1"),
                params![event_key(id), id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err())?;
        match at {
            Some((block, seq)) => blocks::BlockReader::default()
                .line(&self.conn, block, seq)
                .map_err(self.err()),
            None => Ok(None),
        }
    }

    /// Row counts per table (for summaries and tests).
    pub fn counts(&self) -> Result<Counts> {
        let c = |sql: &str| -> Result<u64> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|v| v as u64)
                .map_err(self.err())
        };
        Ok(Counts {
            flows: c("SELECT COUNT(*) FROM flows")?,
            transactions: c("SELECT COUNT(*) FROM event_rows WHERE dataset != 'sluice.anomaly'")?,
            anomalies: c("SELECT COUNT(*) FROM event_rows WHERE dataset = 'sluice.anomaly'")?,
            assets: c("SELECT COUNT(*) FROM assets")?,
            runs: c("SELECT COUNT(*) FROM runs")?,
            alerts: c("SELECT COUNT(*) FROM alerts")?,
        })
    }

    /// The last run's status, if any.
    pub fn last_run_status(&self) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT status FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }
}

/// SQL: the event rows (`e`) of the blocks filed under key `?1` (see [`event_key`]), for
/// `SELECT ... FROM {EVENTS_BY_KEY} AND ...`: the store keeps no per-event index on flow
/// ids, addresses or ids, `event_keys` files whole blocks under them.
pub const EVENTS_BY_KEY: &str = "event_keys k JOIN event_blocks b ON b.id = k.block \
     JOIN event_rows e ON e.n BETWEEN b.first_row AND b.last_row WHERE k.key = ?1";

/// The `event_keys` key under which the blocks holding event `id` are found: its flow
/// id (`F<uid>-<seq>` → `F<uid>`), or the id itself for an event outside any flow.
pub fn event_key(id: &str) -> &str {
    match id.rsplit_once('-') {
        Some((flow, _)) if id.starts_with('F') => flow,
        _ => id,
    }
}

/// Row counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub flows: u64,
    pub transactions: u64,
    pub anomalies: u64,
    pub assets: u64,
    pub runs: u64,
    pub alerts: u64,
}

#[cfg(test)]
mod tests {
    use sluice_flow::EndReason;

    /// Two processes (here threads with their own connections) opening a new store at
    /// the same moment both succeed: each migration runs once, under the write lock.
    #[test]
    fn concurrent_opens_of_a_new_store_both_migrate_it() {
        let dir = std::env::temp_dir().join(format!("sluice-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for round in 0..20 {
            let path = dir.join(format!("s{round}.db"));
            let opens: Vec<_> = (0..3)
                .map(|_| {
                    let p = path.clone();
                    std::thread::spawn(move || super::Store::open(&p).map(|_| ()))
                })
                .collect();
            for h in opens {
                let r = h.join().unwrap();
                assert!(r.is_ok(), "round {round}: {r:?}");
            }
            let v: i64 = rusqlite::Connection::open(&path)
                .unwrap()
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(v as usize, crate::schema::SCHEMA_VERSION);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// With background checkpoints, commits land in the WAL and the thread copies them
    /// into the database file: once the handle is dropped, the database file alone
    /// (without its WAL) holds every row. Dropping it wakes the thread at once for that
    /// last checkpoint: a run does not wait out the interval at its end (an hour here,
    /// so the thread never ticks before the drop; the old sleeping loop held the drop
    /// for the whole hour, and the bound leaves any loaded machine room).
    #[test]
    fn background_checkpoints_copy_the_wal_into_the_database_and_stop_at_once() {
        let dir = std::env::temp_dir().join(format!("sluice-ckpt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.db");
        let count = |p: &std::path::Path| -> i64 {
            let c = rusqlite::Connection::open(p).unwrap();
            // No table yet counts as no row: the schema itself may still be in the WAL.
            c.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
                .unwrap_or(0)
        };
        let mut store = super::Store::open(&path).unwrap();
        let ck = store
            .background_checkpoints(std::time::Duration::from_secs(3600))
            .unwrap();
        for i in 0..50 {
            store.begin_run(i, &[format!("f{i}")], "k").unwrap();
        }
        // Before the checkpoint thread ran, the file alone lacks the new rows.
        std::fs::copy(&path, dir.join("before.db")).unwrap();
        let t = std::time::Instant::now();
        drop(ck);
        assert!(t.elapsed() < std::time::Duration::from_secs(60));
        std::fs::copy(&path, dir.join("after.db")).unwrap();
        assert!(count(&dir.join("before.db")) < 50);
        assert_eq!(count(&dir.join("after.db")), 50);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// With checkpoints on their own thread, the writer's own checkpoint stays on as the
    /// backstop that keeps the WAL bounded while the writer never pauses (here shrunk to
    /// 64 pages, 256 KiB, so that a short test crosses it many times), even with the
    /// low-priority checkpointer racing every commit (1 ms interval): SQLite's automatic
    /// checkpoint gave up whenever that one was mid-checkpoint, and on a loaded CI
    /// machine the WAL reached 3.7 MB.
    #[test]
    fn the_wal_stays_bounded_beside_background_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store_in(dir.path());
        let ck = store
            .background_checkpoints(std::time::Duration::from_millis(1))
            .unwrap();
        // SQLite's own automatic checkpoint is replaced, not added to.
        let auto: i64 = store
            .conn()
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(auto, 0);
        store.bound_wal(64).unwrap();
        store.begin_run(1, &["x".into()], "k").unwrap();
        let wal = dir.path().join("s.db-wal");
        let mut max_wal = 0;
        let mut written = 0u64;
        for batch in 0..60u32 {
            let evs: Vec<Event> = (0..1_000)
                .map(|i| anomaly(Some(u64::from(batch) + 1), i, "wal"))
                .collect();
            let json: Vec<String> = evs.iter().map(Event::to_json).collect();
            store.insert_events(&evs, &json).unwrap();
            written += evs.len() as u64;
            max_wal = max_wal.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        }
        drop(ck);
        assert_eq!(store.counts().unwrap().anomalies, written);
        let db = std::fs::metadata(dir.path().join("s.db")).unwrap().len();
        // The store grew past several times the bound; the WAL did not.
        assert!(db > 4 << 20, "store {db} bytes");
        // (Measured: 0.85 MB with the backstop, 5.6 MB without it; the bound plus one
        // batch's frames when it waits for the background checkpoint.)
        assert!(
            max_wal < 3 << 19,
            "WAL reached {max_wal} bytes (store {db})"
        );
    }

    use sluice_engine::event::{AnomalyRecord, Body, Event, Kind};
    use sluice_flow::Endpoint;

    /// An anomaly event of flow `uid` (any flowless when `None`), sequence `seq`.
    fn anomaly(uid: Option<u64>, seq: u32, msg: &str) -> Event {
        Event {
            ts: 1_000 + i64::from(seq),
            kind: Kind::Event,
            flow_uid: uid,
            seq,
            src: Some(Endpoint {
                ip: "10.0.0.1".parse().unwrap(),
                port: 40_000,
            }),
            dst: Some(Endpoint {
                ip: "10.0.0.2".parse().unwrap(),
                port: 502,
            }),
            src_mac: None,
            dst_mac: None,
            transport: Some("tcp"),
            protocol: Some("modbus"),
            body: Body::Anomaly(AnomalyRecord {
                protocol: "modbus",
                kind: "test",
                message: msg.to_string(),
            }),
        }
    }

    fn store_in(dir: &std::path::Path) -> super::Store {
        super::Store::open(&dir.join("s.db")).unwrap()
    }

    /// Events spread over several compressed blocks read back in order with their own
    /// JSON, through the query API, the `events` view's `json` column (the SQL function)
    /// and by id; the block count is that of full blocks plus one. Blocks compressed
    /// where they close, and on the compression thread (bulk analysis).
    #[test]
    fn event_json_round_trips_through_compressed_blocks() {
        round_trip(false);
        round_trip(true);
    }

    fn round_trip(background: bool) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store_in(dir.path());
        if background {
            store.compress_in_background();
        }
        store.begin_run(1, &["x".into()], "k").unwrap();
        let n = super::blocks::MAX_EVENTS as u32 * 2 + 5;
        let events: Vec<Event> = (0..n)
            .map(|i| anomaly(Some(7), i, &format!("m{i}")))
            .collect();
        let json: Vec<String> = events.iter().map(Event::to_json).collect();
        store.begin().unwrap();
        for (e, j) in events.chunks(1000).zip(json.chunks(1000)) {
            store.insert_events(e, j).unwrap();
        }
        store.commit().unwrap();
        let blocks: i64 = store
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM event_blocks WHERE codec = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(blocks, 3);
        let rows = store.events(&super::EventQuery::default()).unwrap();
        assert_eq!(rows.len(), n as usize);
        for (r, j) in rows.iter().zip(&json) {
            assert_eq!(&r.json, j);
        }
        let via_sql: Vec<String> = store
            .conn()
            .prepare("SELECT json FROM events ORDER BY n")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(via_sql, json);
        let id = events[4100].id();
        assert_eq!(
            store.event_json(&id).unwrap().as_deref(),
            Some(json[4100].as_str())
        );
        assert_eq!(store.event_json("F00-99999").unwrap(), None);
        // A flowless event is found by its own id.
        let lone = anomaly(None, 3, "alone");
        store
            .insert_events(std::slice::from_ref(&lone), &[lone.to_json()])
            .unwrap();
        assert_eq!(store.event_json(&lone.id()).unwrap(), Some(lone.to_json()));
        assert_eq!(store.counts().unwrap().anomalies, u64::from(n) + 1);
    }

    /// A failed batch leaves neither its rows nor a half-written block behind, and the
    /// next batch writes a whole block of its own (also with blocks compressed on the
    /// compression thread, several of them in flight when the commit fails).
    #[test]
    fn a_rolled_back_batch_leaves_no_block() {
        rolled_back(false);
        rolled_back(true);
    }

    fn rolled_back(background: bool) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store_in(dir.path());
        if background {
            store.compress_in_background();
            // Two full blocks go to the thread before the commit.
            let full: Vec<Event> = (0..super::blocks::MAX_EVENTS as u32 * 2)
                .map(|i| anomaly(Some(9), i, "x"))
                .collect();
            let json: Vec<String> = full.iter().map(Event::to_json).collect();
            store.begin().unwrap();
            store.insert_events(&full, &json).unwrap();
            store.conn().execute_batch("DROP TABLE event_keys").unwrap();
            assert!(store.commit().is_err());
            assert!(store.conn().is_autocommit());
        }
        let e = anomaly(Some(1), 0, "a");
        // The block cannot be filed at commit (its key table is gone): the commit fails.
        store.begin().unwrap();
        store
            .insert_events(std::slice::from_ref(&e), &[e.to_json()])
            .unwrap();
        store.conn().execute_batch("DROP TABLE event_keys").unwrap();
        assert!(store.commit().is_err());
        assert!(store.conn().is_autocommit());
        let b: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM event_blocks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(b, 0);
        store
            .insert_events(std::slice::from_ref(&e), &[e.to_json()])
            .unwrap();
        assert_eq!(store.event_json(&e.id()).unwrap(), Some(e.to_json()));
    }

    /// Re-analysing the same inputs replaces their events (also those of an interrupted
    /// run); other inputs' events stay.
    #[test]
    fn replace_source_removes_only_that_sources_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store_in(dir.path());
        for (key, uid) in [("a", 1), ("b", 2), ("a", 3)] {
            assert_eq!(store.replace_source(key).unwrap().events > 0, uid == 3);
            store.begin_run(1, &[key.into()], key).unwrap();
            let evs: Vec<Event> = (0..10).map(|i| anomaly(Some(uid), i, key)).collect();
            let json: Vec<String> = evs.iter().map(Event::to_json).collect();
            store.insert_events(&evs, &json).unwrap();
        }
        assert_eq!(store.counts().unwrap().anomalies, 20);
        let flows: Vec<String> = store
            .conn()
            .prepare("SELECT DISTINCT flow_id FROM events ORDER BY 1")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            flows,
            [
                sluice_engine::event::uid_string(2),
                sluice_engine::event::uid_string(3)
            ]
        );
        let keys: i64 = store
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM event_keys WHERE key = ?1",
                [sluice_engine::event::uid_string(1)],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(keys, 0);
    }

    /// A store written before event blocks (schema version N-1, one JSON row per event)
    /// migrates: every event keeps its columns and its JSON.
    #[test]
    fn old_event_rows_migrate_into_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            let old = &crate::schema::MIGRATIONS[..crate::schema::MIGRATIONS.len() - 1];
            for sql in old {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", old.len() as i64)
                .unwrap();
            c.execute_batch(
                "INSERT INTO events (id, ts, dataset, kind, protocol, flow_id, src_ip, dst_ip, json) VALUES
                 ('F01-0', 5, 'sluice.modbus', 'event', 'modbus', 'F01', '10.0.0.1', '10.0.0.2', '{\"a\":1}'),
                 ('T5-0', 6, 'sluice.anomaly', 'event', 'goose', NULL, NULL, NULL, '{\"b\":2}');",
            )
            .unwrap();
        }
        let store = super::Store::open(&path).unwrap();
        let rows = store.events(&super::EventQuery::default()).unwrap();
        let got: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.id.as_str(), r.json.as_str()))
            .collect();
        assert_eq!(got, [("F01-0", "{\"a\":1}"), ("T5-0", "{\"b\":2}")]);
        assert_eq!(
            store.event_json("T5-0").unwrap().as_deref(),
            Some("{\"b\":2}")
        );
        assert_eq!(
            store.event_json("F01-0").unwrap().as_deref(),
            Some("{\"a\":1}")
        );
        let c = store.counts().unwrap();
        assert_eq!((c.transactions, c.anomalies), (1, 1));
    }

    /// A row inserted into the `events` view by SQL is stored as an event of its own and
    /// reads back with its JSON, by query and by id.
    #[test]
    fn sql_inserts_into_the_events_view_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        store
            .conn()
            .execute_batch(
                "INSERT INTO events (id, ts, dataset, kind, protocol, flow_id, src_ip, dst_ip, json) VALUES
                 ('F02-0', 5, 'sluice.modbus', 'event', 'modbus', 'F02', '10.0.0.1', '10.0.0.2', '{\"a\":1}'),
                 ('F02-1', 6, 'sluice.modbus', 'event', 'modbus', 'F02', '10.0.0.1', '10.0.0.2', '{\"a\":2}');",
            )
            .unwrap();
        let rows = store.events(&super::EventQuery::default()).unwrap();
        let got: Vec<&str> = rows.iter().map(|r| r.json.as_str()).collect();
        assert_eq!(got, ["{\"a\":1}", "{\"a\":2}"]);
        assert_eq!(
            store.event_json("F02-1").unwrap().as_deref(),
            Some("{\"a\":2}")
        );
        let keys: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM event_keys", [], |r| r.get(0))
            .unwrap();
        // (F02, 10.0.0.1, 10.0.0.2) for each of the two blocks.
        assert_eq!(keys, 6);
    }

    /// A corrupt block reads as missing JSON (the row is still there), never as a panic
    /// or a failed query.
    #[test]
    fn a_corrupt_block_reads_as_missing_json() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store_in(dir.path());
        let e = anomaly(Some(1), 0, "a");
        store
            .insert_events(std::slice::from_ref(&e), &[e.to_json()])
            .unwrap();
        store
            .conn()
            .execute("UPDATE event_blocks SET data = x'28b52ffd0000ff'", [])
            .unwrap();
        let rows = store.events(&super::EventQuery::default()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].json, "");
        // A valid frame that inflates past any block Sluice writes (65 MiB of zeros).
        let bomb = zstd::bulk::compress(&vec![0u8; 65 << 20], 3).unwrap();
        store
            .conn()
            .execute("UPDATE event_blocks SET data = ?1", [bomb])
            .unwrap();
        assert_eq!(
            store.events(&super::EventQuery::default()).unwrap()[0].json,
            ""
        );
        let j: Option<String> = store
            .conn()
            .query_row("SELECT json FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(j, None);
    }

    /// `background_priority` lowers the calling thread only (nice 10), not the process:
    /// the engine and the writer keep their priority.
    #[test]
    fn background_priority_lowers_only_the_calling_thread() {
        use rustix::process::getpriority_process;
        use rustix::thread::gettid;
        let before = getpriority_process(Some(gettid())).unwrap();
        let lowered = std::thread::spawn(|| {
            super::background_priority();
            getpriority_process(Some(gettid())).unwrap()
        })
        .join()
        .unwrap();
        // (Without privilege, a thread already above nice 10 stays where it is.)
        assert!(
            lowered == 10 || (before > 10 && lowered == before),
            "{before} -> {lowered}"
        );
        assert_eq!(getpriority_process(Some(gettid())).unwrap(), before);
    }

    /// The store's `end_reason` column uses the same names as the JSON events.
    #[test]
    fn end_reason_names_match_the_events() {
        for r in [
            EndReason::Fin,
            EndReason::Rst,
            EndReason::IdleTimeout,
            EndReason::ActiveTimeout,
            EndReason::Evicted,
            EndReason::EndOfCapture,
        ] {
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json.as_str(), Some(r.as_str()));
        }
    }
}
