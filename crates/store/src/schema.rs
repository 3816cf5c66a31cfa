//! Schema migrations (in code) and the merged asset view.
use rusqlite::{params, Connection, Transaction};
use serde_json::{Map, Value};

/// Schema versions, in order; `PRAGMA user_version` records how many were applied.
pub(crate) const MIGRATIONS: &[&str] = &[
        "CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started INTEGER NOT NULL,
            finished INTEGER,
            inputs TEXT NOT NULL,
            source_key TEXT NOT NULL,
            status TEXT NOT NULL,
            stats TEXT
        );
        CREATE TABLE flows (
            id TEXT PRIMARY KEY,
            ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            src_ip TEXT, src_port INTEGER, dst_ip TEXT, dst_port INTEGER,
            transport TEXT, protocol TEXT,
            packets INTEGER NOT NULL, bytes INTEGER NOT NULL,
            end_reason TEXT,
            json TEXT NOT NULL
        );
        CREATE INDEX flows_ts ON flows (ts);
        CREATE TABLE events (
            id TEXT PRIMARY KEY,
            ts INTEGER NOT NULL,
            dataset TEXT NOT NULL,
            kind TEXT NOT NULL,
            protocol TEXT,
            flow_id TEXT,
            src_ip TEXT, src_port INTEGER, dst_ip TEXT, dst_port INTEGER,
            function_code INTEGER, function TEXT,
            json TEXT NOT NULL
        );
        CREATE INDEX events_ts ON events (ts);
        CREATE INDEX events_dataset ON events (dataset, ts);
        CREATE INDEX events_flow ON events (flow_id);
        CREATE VIEW transactions AS SELECT * FROM events WHERE dataset != 'sluice.anomaly' AND kind = 'event';
        CREATE VIEW anomalies AS SELECT * FROM events WHERE dataset = 'sluice.anomaly';
        CREATE TABLE asset_observations (
            source_key TEXT NOT NULL,
            asset_id TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            json TEXT NOT NULL,
            PRIMARY KEY (source_key, asset_id)
        );
        CREATE TABLE assets (
            id TEXT PRIMARY KEY,
            sort_key BLOB NOT NULL,
            ip TEXT NOT NULL,
            mac TEXT,
            vendor TEXT,
            role TEXT,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            json TEXT NOT NULL
        );
        CREATE INDEX assets_sort ON assets (sort_key);",
    "CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        ts INTEGER NOT NULL,
        rule_id TEXT NOT NULL,
        rule_name TEXT NOT NULL,
        severity INTEGER NOT NULL,
        technique_id TEXT,
        src_ip TEXT, dst_ip TEXT,
        chain_id TEXT,
        count INTEGER NOT NULL DEFAULT 1,
        acknowledged INTEGER NOT NULL DEFAULT 0,
        acknowledged_by TEXT,
        acknowledged_at INTEGER,
        assignee TEXT,
        json TEXT NOT NULL
    );
    CREATE INDEX alerts_ts ON alerts (ts);
    CREATE INDEX alerts_rule ON alerts (rule_id, ts);
    CREATE INDEX alerts_chain ON alerts (chain_id);",
    // Governance assessments (sluice-assess): one row per assessment with its full JSON,
    // and each control's status for trend queries (console compliance page, diff).
    "CREATE TABLE assessments (
        id INTEGER PRIMARY KEY,
        uuid TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        frameworks TEXT NOT NULL,
        site TEXT,
        assessed INTEGER NOT NULL,
        satisfied INTEGER NOT NULL,
        partial INTEGER NOT NULL,
        not_satisfied INTEGER NOT NULL,
        summary TEXT NOT NULL,
        json TEXT NOT NULL
    );
    CREATE INDEX assessments_created ON assessments (created);
    CREATE TABLE assessment_controls (
        assessment_id INTEGER NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
        control TEXT NOT NULL,
        framework TEXT NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (assessment_id, control)
    );
    CREATE INDEX assessment_controls_control ON assessment_controls (control, assessment_id);",
    // Events written once: a narrow row per event (the columns queries filter on, no
    // secondary index to maintain per row) and the JSON lines zstd-compressed in blocks
    // of up to a few thousand events; `event_keys` finds the blocks of a flow, an address
    // or a flowless event id. `events` stays the view every query reads, its `json`
    // column decompressed on demand by the `sluice_event_json` function that
    // `Store::open` registers. Existing rows move over, one uncompressed block each.
    "CREATE TABLE event_blocks (
        id INTEGER PRIMARY KEY,
        run INTEGER,
        first_row INTEGER NOT NULL,
        last_row INTEGER NOT NULL,
        codec INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX event_blocks_run ON event_blocks (run);
    CREATE TABLE event_keys (
        key TEXT NOT NULL,
        block INTEGER NOT NULL,
        PRIMARY KEY (key, block)
    ) WITHOUT ROWID;
    CREATE TABLE event_rows (
        n INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        dataset TEXT NOT NULL,
        kind TEXT NOT NULL,
        protocol TEXT,
        flow_id TEXT,
        src_ip TEXT, src_port INTEGER, dst_ip TEXT, dst_port INTEGER,
        function_code INTEGER, function TEXT,
        block INTEGER NOT NULL,
        seq INTEGER NOT NULL
    );
    CREATE INDEX event_rows_ts ON event_rows (ts);
    INSERT INTO event_rows (n, id, ts, dataset, kind, protocol, flow_id, src_ip, src_port, dst_ip,
        dst_port, function_code, function, block, seq)
        SELECT rowid, id, ts, dataset, kind, protocol, flow_id, src_ip, src_port, dst_ip, dst_port,
        function_code, function, rowid, 0 FROM events;
    INSERT INTO event_blocks (id, run, first_row, last_row, codec, data)
        SELECT rowid, NULL, rowid, rowid, 0, CAST(json || char(10) AS BLOB) FROM events;
    INSERT OR IGNORE INTO event_keys (key, block)
        SELECT flow_id, rowid FROM events WHERE flow_id IS NOT NULL
        UNION SELECT src_ip, rowid FROM events WHERE src_ip IS NOT NULL
        UNION SELECT dst_ip, rowid FROM events WHERE dst_ip IS NOT NULL
        UNION SELECT id, rowid FROM events WHERE flow_id IS NULL;
    DROP VIEW transactions;
    DROP VIEW anomalies;
    DROP TABLE events;
    CREATE VIEW events AS SELECT n, id, ts, dataset, kind, protocol, flow_id, src_ip, src_port,
        dst_ip, dst_port, function_code, function, block, seq,
        sluice_event_json(block, seq) AS json FROM event_rows;
    CREATE VIEW transactions AS SELECT * FROM events WHERE dataset != 'sluice.anomaly' AND kind = 'event';
    CREATE VIEW anomalies AS SELECT * FROM events WHERE dataset = 'sluice.anomaly';
    -- A row inserted into the view by SQL (tools, fixtures) becomes an event of its own
    -- one-line uncompressed block.
    CREATE TRIGGER events_insert INSTEAD OF INSERT ON events BEGIN
        INSERT INTO event_blocks (run, first_row, last_row, codec, data)
            VALUES (NULL, 0, 0, 0, CAST(COALESCE(NEW.json, '') || char(10) AS BLOB));
        INSERT INTO event_rows (id, ts, dataset, kind, protocol, flow_id, src_ip, src_port,
            dst_ip, dst_port, function_code, function, block, seq)
            VALUES (NEW.id, NEW.ts, NEW.dataset, NEW.kind, NEW.protocol, NEW.flow_id, NEW.src_ip,
            NEW.src_port, NEW.dst_ip, NEW.dst_port, NEW.function_code, NEW.function,
            last_insert_rowid(), 0);
        UPDATE event_blocks SET first_row = last_insert_rowid(), last_row = last_insert_rowid()
            WHERE id = (SELECT block FROM event_rows WHERE n = last_insert_rowid());
        INSERT OR IGNORE INTO event_keys (key, block)
            SELECT k, (SELECT block FROM event_rows WHERE n = last_insert_rowid()) FROM
            (SELECT NEW.flow_id AS k UNION SELECT NEW.src_ip UNION SELECT NEW.dst_ip
             UNION SELECT CASE WHEN NEW.flow_id IS NULL THEN NEW.id END)
            WHERE k IS NOT NULL;
    END;",
];

/// Number of schema versions this build knows.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Brings the schema up to date, each step in its own transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrationError> {
    let too_new = |found: usize| MigrationError::TooNew {
        found,
        known: MIGRATIONS.len(),
    };
    let version = |c: &Connection| -> Result<usize, rusqlite::Error> {
        let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok(usize::try_from(v).unwrap_or(usize::MAX))
    };
    let current = version(conn)?;
    if current > MIGRATIONS.len() {
        return Err(too_new(current));
    }
    // Each step takes the write lock first and reads the version again under it: two
    // processes opening a new store at once (an analysis and the console) run each
    // migration once, the second waiting (busy timeout) and then finding it done.
    while current < MIGRATIONS.len() {
        // (Ends at `break`: the version read under the lock is the last one.)
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let v = version(&tx)?;
        if v > MIGRATIONS.len() {
            return Err(too_new(v));
        }
        let Some(sql) = MIGRATIONS.get(v) else {
            break;
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (v + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("the store was written by a newer Sluice (schema version {found}, this build knows {known})")]
    TooNew { found: usize, known: usize },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Specificity of a role when observations disagree (higher wins).
fn role_rank(r: &str) -> u8 {
    match r {
        "plc" => 7,
        "rtu" => 6,
        "engineering_workstation" => 5,
        "hmi" => 4,
        "historian" => 3,
        "it_host" => 2,
        _ => 1,
    }
}

fn union_strings(a: &mut Value, b: &Value) {
    if let (Value::Array(x), Value::Array(y)) = (a, b) {
        for v in y {
            if !x.contains(v) {
                x.push(v.clone());
            }
        }
        x.sort_by_key(|p| p.to_string());
    }
}

fn merge(into: &mut Map<String, Value>, o: &Map<String, Value>) {
    let num = |v: Option<&Value>| v.and_then(Value::as_i64).unwrap_or(0);
    for (k, f) in [
        ("first_seen", i64::min as fn(i64, i64) -> i64),
        ("last_seen", i64::max),
    ] {
        let v = f(num(into.get(k)), num(o.get(k)));
        into.insert(k.into(), Value::from(v));
    }
    for k in ["packets_sent", "bytes_sent"] {
        let v = num(into.get(k)) + num(o.get(k));
        into.insert(k.into(), Value::from(v));
    }
    for k in ["protocols_server", "protocols_client", "peers"] {
        if let (Some(a), Some(b)) = (into.get_mut(k), o.get(k)) {
            union_strings(a, b);
        }
    }
    let ra = into
        .get("role")
        .and_then(Value::as_str)
        .map(role_rank)
        .unwrap_or(0);
    let rb = o
        .get("role")
        .and_then(Value::as_str)
        .map(role_rank)
        .unwrap_or(0);
    if rb > ra {
        if let Some(r) = o.get("role") {
            into.insert("role".into(), r.clone());
        }
    }
    // Identity facts and MAC history: union, the later observation wins per source.
    if let (Some(Value::Object(a)), Some(Value::Object(b))) =
        (into.get_mut("identity"), o.get("identity"))
    {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
    if let (Some(Value::Array(a)), Some(Value::Array(b))) =
        (into.get_mut("mac_history"), o.get("mac_history"))
    {
        for m in b {
            let mac = m.get("mac");
            match a.iter_mut().find(|x| x.get("mac") == mac) {
                Some(x) => {
                    let f = num(x.get("first_seen")).min(num(m.get("first_seen")));
                    let l = num(x.get("last_seen")).max(num(m.get("last_seen")));
                    x["first_seen"] = Value::from(f);
                    x["last_seen"] = Value::from(l);
                }
                None => a.push(m.clone()),
            }
        }
        a.sort_by_key(|x| num(x.get("first_seen")));
    }
    if num(o.get("last_seen")) >= num(into.get("last_seen")) {
        for k in ["mac", "vendor"] {
            if let Some(v) = o.get(k).filter(|v| !v.is_null()) {
                into.insert(k.into(), v.clone());
            }
        }
    }
}

fn sort_key(ip: &str) -> Vec<u8> {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => {
            let mut v = vec![4];
            v.extend_from_slice(&a.octets());
            v
        }
        Ok(std::net::IpAddr::V6(a)) => {
            let mut v = vec![6];
            v.extend_from_slice(&a.octets());
            v
        }
        Err(_) => ip.as_bytes().to_vec(),
    }
}

/// Rebuilds the `assets` table from all observations. The observations are read in
/// order of device, so that one device's are merged and written before the next is
/// read: parsed all at once, the tens of thousands of devices of a long capture took
/// 50 MB beside the rest of a run (its peak).
pub fn rebuild_assets(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM assets", [])?;
    let mut insert = tx.prepare(
        "INSERT INTO assets (id, sort_key, ip, mac, vendor, role, first_seen, last_seen, json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut put = |id: &str, a: Map<String, Value>| -> rusqlite::Result<()> {
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
        let n = |k: &str| a.get(k).and_then(Value::as_i64).unwrap_or(0);
        let ip = s("ip").unwrap_or_default();
        let (mac, vendor, role) = (s("mac"), s("vendor"), s("role"));
        let (first, last) = (n("first_seen"), n("last_seen"));
        let j = Value::Object(a).to_string();
        insert.execute(params![
            id,
            sort_key(&ip),
            ip,
            mac,
            vendor,
            role,
            first,
            last,
            j
        ])?;
        Ok(())
    };
    let mut st = tx.prepare(
        "SELECT asset_id, json FROM asset_observations ORDER BY asset_id, last_seen, rowid",
    )?;
    let mut rows = st.query([])?;
    let mut current: Option<(String, Map<String, Value>)> = None;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let j: String = row.get(1)?;
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&j) else {
            continue;
        };
        match &mut current {
            Some((cid, m)) if *cid == id => merge(m, &o),
            _ => {
                if let Some((cid, m)) = current.replace((id, o)) {
                    put(&cid, m)?;
                }
            }
        }
    }
    if let Some((cid, m)) = current {
        put(&cid, m)?;
    }
    Ok(())
}
