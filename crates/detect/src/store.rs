//! Detection's tables in the store: learned baselines (every version), a trigger that
//! keeps the `alerts.chain_id` / `severity` columns in step with the JSON when an alert
//! is updated (an attack chain found later), and the queries of the CLI.

use std::net::IpAddr;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::baseline::{intern, Baseline};
use crate::util::{is_write_function, protocols_on_port};
use crate::DetectError;

fn sq(e: rusqlite::Error) -> DetectError {
    DetectError::Sqlite(e.to_string())
}

/// Creates the detection tables and triggers if missing (idempotent).
pub fn ensure_schema(conn: &Connection) -> Result<(), DetectError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS baselines (
            id INTEGER PRIMARY KEY,
            created INTEGER NOT NULL,
            source TEXT,
            pairs INTEGER NOT NULL,
            first_ts INTEGER NOT NULL,
            last_ts INTEGER NOT NULL,
            json TEXT NOT NULL
        );
        CREATE TRIGGER IF NOT EXISTS alerts_sync_columns AFTER UPDATE OF json ON alerts
        BEGIN
            UPDATE alerts SET
                chain_id = json_extract(NEW.json, '$.sluice.chain_id'),
                severity = COALESCE(json_extract(NEW.json, '$.event.severity'), severity)
            WHERE id = NEW.id;
        END;",
    )
    .map_err(sq)
}

/// A stored baseline version.
#[derive(Debug, Clone)]
pub struct StoredBaseline {
    /// Version id (increasing).
    pub id: i64,
    /// When it was saved (ns since the epoch).
    pub created: i64,
    /// What it was learned from.
    pub source: Option<String>,
    /// The model.
    pub baseline: Baseline,
}

/// Saves a new baseline version; returns its id.
pub fn save_baseline(
    conn: &Connection,
    b: &Baseline,
    created: i64,
    source: &str,
) -> Result<i64, DetectError> {
    ensure_schema(conn)?;
    let json = serde_json::to_string(b).map_err(|e| DetectError::Baseline(e.to_string()))?;
    conn.execute(
        "INSERT INTO baselines (created, source, pairs, first_ts, last_ts, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![created, source, b.pairs.len() as i64, b.first_ts, b.last_ts, json],
    )
    .map_err(sq)?;
    Ok(conn.last_insert_rowid())
}

fn row_to(
    id: i64,
    created: i64,
    source: Option<String>,
    json: String,
) -> Result<StoredBaseline, DetectError> {
    let baseline = serde_json::from_str(&json)
        .map_err(|e| DetectError::Baseline(format!("version {id} is corrupt: {e}")))?;
    Ok(StoredBaseline {
        id,
        created,
        source,
        baseline,
    })
}

/// The newest `n` baseline versions, newest first.
pub fn baselines(conn: &Connection, n: usize) -> Result<Vec<StoredBaseline>, DetectError> {
    ensure_schema(conn)?;
    let mut st = conn
        .prepare("SELECT id, created, source, json FROM baselines ORDER BY id DESC LIMIT ?1")
        .map_err(sq)?;
    let rows = st
        .query_map(params![n as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(sq)?;
    let mut out = Vec::new();
    for r in rows {
        let (id, created, source, json) = r.map_err(sq)?;
        out.push(row_to(id, created, source, json)?);
    }
    Ok(out)
}

/// One baseline version by id.
pub fn baseline(conn: &Connection, id: i64) -> Result<Option<StoredBaseline>, DetectError> {
    ensure_schema(conn)?;
    let row = conn
        .query_row(
            "SELECT id, created, source, json FROM baselines WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .optional()
        .map_err(sq)?;
    row.map(|(id, created, source, json)| row_to(id, created, source, json))
        .transpose()
}

/// One row of the alerts table.
#[derive(Debug, Clone)]
pub struct AlertRow {
    /// The alert event as stored (ECS JSON).
    pub json: Value,
    /// Acknowledged.
    pub acknowledged: bool,
    /// Assignee.
    pub assignee: Option<String>,
}

/// Alerts, oldest first, at least `min_severity`.
pub fn alerts(
    conn: &Connection,
    min_severity: u8,
    limit: Option<u64>,
) -> Result<Vec<AlertRow>, DetectError> {
    let mut st = conn
        .prepare(
            "SELECT json, acknowledged, assignee FROM alerts WHERE severity >= ?1 ORDER BY ts, id LIMIT ?2",
        )
        .map_err(sq)?;
    let lim = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let rows = st
        .query_map(params![i64::from(min_severity), lim], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .map_err(sq)?;
    let mut out = Vec::new();
    for r in rows {
        let (j, ack, assignee) = r.map_err(sq)?;
        out.push(AlertRow {
            json: serde_json::from_str(&j).unwrap_or(Value::Null),
            acknowledged: ack != 0,
            assignee,
        });
    }
    Ok(out)
}

/// One observed conversation for `sluice policy suggest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Requester.
    pub client: IpAddr,
    /// Responder.
    pub server: IpAddr,
    /// Protocol (identified, or guessed from the server port).
    pub protocol: &'static str,
    /// Whether the client wrote.
    pub is_write: bool,
}

/// Conversations in the store: transactions (with whether they write) and flows that
/// carried data (protocol guessed from the port when unidentified).
pub fn observations(conn: &Connection) -> Result<Vec<Observation>, DetectError> {
    let mut out = Vec::new();
    let mut st = conn
        .prepare(
            "SELECT src_ip, dst_ip, protocol, function_code FROM events \
             WHERE kind = 'event' AND dataset != 'sluice.anomaly' AND src_ip IS NOT NULL \
             AND dst_ip IS NOT NULL AND protocol IS NOT NULL GROUP BY 1, 2, 3, 4",
        )
        .map_err(sq)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .map_err(sq)?;
    for r in rows {
        let (c, s, p, fc) = r.map_err(sq)?;
        let (Ok(client), Ok(server), Some(protocol)) = (c.parse(), s.parse(), intern(&p)) else {
            continue;
        };
        let is_write = fc
            .and_then(|f| u32::try_from(f).ok())
            .is_some_and(|f| is_write_function(protocol, f));
        out.push(Observation {
            client,
            server,
            protocol,
            is_write,
        });
    }
    let mut st = conn
        .prepare(
            "SELECT src_ip, dst_ip, protocol, transport, dst_port FROM flows \
             WHERE src_ip IS NOT NULL AND dst_ip IS NOT NULL \
             AND COALESCE(json_extract(json, '$.flow.payload_bytes[0]'), 0) \
               + COALESCE(json_extract(json, '$.flow.payload_bytes[1]'), 0) > 0 \
             GROUP BY 1, 2, 3, 4, 5",
        )
        .map_err(sq)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .map_err(sq)?;
    for r in rows {
        let (c, s, p, t, port) = r.map_err(sq)?;
        let (Ok(client), Ok(server)) = (c.parse(), s.parse()) else {
            continue;
        };
        let protocol = match p.as_deref().and_then(intern) {
            Some(p) => Some(p),
            None => port
                .and_then(|p| u16::try_from(p).ok())
                .and_then(|port| protocols_on_port(t.as_deref(), port).next()),
        };
        if let Some(protocol) = protocol {
            out.push(Observation {
                client,
                server,
                protocol,
                is_write: false,
            });
        }
    }
    out.sort_by(|a, b| {
        (a.client, a.server, a.protocol, a.is_write)
            .cmp(&(b.client, b.server, b.protocol, b.is_write))
    });
    out.dedup();
    Ok(out)
}
