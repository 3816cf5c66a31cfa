//! Commands that read the store: `assets`, `flows`, `events`.
use crate::table::render;
use crate::Format;
use anyhow::Result;
use serde_json::Value;
use sluice_store::{EventQuery, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct QueryArgs {
    /// The store to read.
    #[arg(long, default_value = "sluice.db")]
    pub db: PathBuf,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// At most this many rows.
    #[arg(long)]
    pub limit: Option<u64>,
}

#[derive(clap::Args)]
pub struct EventArgs {
    #[command(flatten)]
    pub q: QueryArgs,
    /// Only this dataset (e.g. `sluice.modbus`, `sluice.anomaly`).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Only this protocol (e.g. `modbus`).
    #[arg(long)]
    pub protocol: Option<String>,
}

fn open(db: &Path) -> Result<Store> {
    if !db.exists() {
        anyhow::bail!(
            "{}: no such store (run `sluice analyze CAPTURE --db {}` first)",
            db.display(),
            db.display()
        );
    }
    Ok(Store::open(db)?)
}

fn out(s: &str) -> Result<ExitCode> {
    let mut o = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error.
    if let Err(e) = o.write_all(s.as_bytes()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn ts(ns: i64) -> String {
    sluice_engine::time::rfc3339(ns)
}

fn join(v: Option<&Value>) -> String {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    }
}

pub fn assets(a: QueryArgs) -> Result<ExitCode> {
    let store = open(&a.db)?;
    let mut assets = store.assets()?;
    if let Some(l) = a.limit {
        assets.truncate(l as usize);
    }
    if a.format == Format::Json {
        let mut s = String::new();
        for x in &assets {
            s.push_str(&x.to_string());
            s.push('\n');
        }
        return out(&s);
    }
    let rows: Vec<Vec<String>> = assets
        .iter()
        .map(|x| {
            let s = |k: &str| x.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let ident = x
                .get("identity")
                .and_then(Value::as_object)
                .map(|m| {
                    m.values()
                        .map(|i| {
                            ["vendor", "product", "firmware"]
                                .iter()
                                .filter_map(|k| i.get(*k).and_then(Value::as_str))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            vec![
                s("ip"),
                s("mac"),
                s("vendor"),
                s("role"),
                join(x.get("protocols_server")),
                join(x.get("protocols_client")),
                ident,
            ]
        })
        .collect();
    out(&render(
        &[
            "IP",
            "MAC",
            "VENDOR",
            "ROLE",
            "SERVES",
            "CLIENT OF",
            "IDENTITY",
        ],
        &rows,
    ))
}

pub fn flows(a: QueryArgs) -> Result<ExitCode> {
    let store = open(&a.db)?;
    let flows = store.flows(a.limit, 0)?;
    if a.format == Format::Json {
        let mut s = String::new();
        for f in &flows {
            s.push_str(&serde_json::to_string(f)?);
            s.push('\n');
        }
        return out(&s);
    }
    let rows: Vec<Vec<String>> = flows
        .iter()
        .map(|f| {
            vec![
                ts(f.ts),
                format!("{}:{}", f.src_ip, f.src_port),
                format!("{}:{}", f.dst_ip, f.dst_port),
                f.transport.clone(),
                f.protocol.clone().unwrap_or_else(|| "-".into()),
                f.packets.to_string(),
                f.bytes.to_string(),
                f.end_reason.clone(),
            ]
        })
        .collect();
    out(&render(
        &[
            "START",
            "SOURCE",
            "DESTINATION",
            "TRANSPORT",
            "PROTOCOL",
            "PACKETS",
            "BYTES",
            "END",
        ],
        &rows,
    ))
}

pub fn events(a: EventArgs) -> Result<ExitCode> {
    let store = open(&a.q.db)?;
    let evs = store.events(&EventQuery {
        dataset: a.dataset,
        protocol: a.protocol,
        limit: a.q.limit,
        offset: 0,
    })?;
    if a.q.format == Format::Json {
        let mut s = String::new();
        for e in &evs {
            s.push_str(&e.json);
            s.push('\n');
        }
        return out(&s);
    }
    let rows: Vec<Vec<String>> = evs
        .iter()
        .map(|e| {
            vec![
                ts(e.ts),
                e.dataset.clone(),
                e.src_ip.clone().unwrap_or_default(),
                e.dst_ip.clone().unwrap_or_default(),
                e.function_code.map(|c| c.to_string()).unwrap_or_default(),
                e.function.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out(&render(
        &["TIME", "DATASET", "SOURCE", "DESTINATION", "FC", "FUNCTION"],
        &rows,
    ))
}
