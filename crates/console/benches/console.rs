//! Console benchmark (not a test): a store with 10,000 assets, 100,000 flows, 1,000,000
//! events and 20,000 alerts; every page and API list is requested through the router (the
//! server-side work: authentication, queries, rendering) and timed, p50 and p99.
//! Budget from the issue: pages under 200 ms, API list pages under 50 ms.
//!
//! `bench/console.sh` runs it; `SLUICE_BENCH_EVENTS` and `SLUICE_BENCH_ASSETS` scale it.
use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use rusqlite::params;
use sluice_console::auth::{self, Role, Stage};
use sluice_console::{Console, ConsoleConfig};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const POLICY: &str = r#"[site]
name = "Benchmark plant"
[[zone]]
name = "control"
level = 1
cidrs = ["10.10.0.0/16"]
[[zone]]
name = "supervisory"
level = 2
cidrs = ["10.11.0.0/16"]
[[zone]]
name = "operations"
level = 3
cidrs = ["10.12.0.0/16"]
[[zone]]
name = "enterprise"
level = 4
cidrs = ["10.20.0.0/16"]
[[conduit]]
name = "hmi-to-plc"
from = "supervisory"
to = "control"
protocols = ["modbus", "s7comm", "enip"]
access = "read-write"
[[conduit]]
name = "historian-reads"
from = "operations"
to = ["supervisory", "control"]
protocols = ["modbus"]
access = "read"
[[conduit]]
name = "office-internet"
from = "enterprise"
to = "external"
protocols = ["http", "tls", "dns"]
"#;

fn env_n(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn ip_of(i: u64) -> String {
    // 40 % control, 20 % supervisory, 10 % operations, 25 % enterprise, 5 % external.
    let b = (i / 250) % 250;
    let c = i % 250 + 1;
    match i % 20 {
        0..=7 => format!("10.10.{b}.{c}"),
        8..=11 => format!("10.11.{b}.{c}"),
        12..=13 => format!("10.12.{b}.{c}"),
        14..=18 => format!("10.20.{b}.{c}"),
        _ => format!("198.51.{}.{c}", b % 100),
    }
}

fn fill(db: &std::path::Path, assets: u64, flows: u64, events: u64, alerts: u64) {
    let store = sluice_console::db::open_store(db).expect("store");
    let conn = store.conn();
    conn.execute_batch("PRAGMA synchronous = OFF; BEGIN")
        .expect("begin");
    let t0: i64 = 1_612_530_000_000_000_000;
    {
        let mut st = conn
            .prepare("INSERT INTO assets (id, sort_key, ip, mac, vendor, role, first_seen, last_seen, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
            .expect("prepare");
        for i in 0..assets {
            let ip = ip_of(i);
            let addr: std::net::Ipv4Addr = ip.parse().expect("ip");
            let mut key = vec![4u8];
            key.extend_from_slice(&addr.octets());
            let role = match i % 20 {
                0..=7 => "plc",
                8..=9 => "hmi",
                10..=11 => "engineering_workstation",
                12..=13 => "historian",
                _ => "it_host",
            };
            let mac = format!(
                "00-80-F4-{:02X}-{:02X}-{:02X}",
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255
            );
            let json = serde_json::json!({
                "id": format!("ip:{ip}"), "ip": ip, "mac": mac, "vendor": "Schneider Electric",
                "role": role, "first_seen": t0, "last_seen": t0 + 3_600_000_000_000i64,
                "packets_sent": 1000 + i, "bytes_sent": 64_000 + i,
                "protocols_server": if role == "plc" { vec!["modbus"] } else { vec![] },
                "protocols_client": if role == "plc" { vec![] } else { vec!["modbus"] },
                "peers": [], "identity": {"modbus.fc43": {"vendor": "Schneider Electric", "product": "BMX P34 2020", "firmware": "v3.10", "source": "modbus.fc43"}},
                "mac_history": [{"mac": mac, "first_seen": t0, "last_seen": t0 + 1}]
            });
            st.execute(params![
                format!("ip:{ip}"),
                key,
                ip,
                mac,
                "Schneider Electric",
                role,
                t0,
                t0 + 3_600_000_000_000i64,
                json.to_string()
            ])
            .expect("asset");
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut flow_ends: Vec<(String, String, String, i64)> = Vec::with_capacity(flows as usize);
    {
        let mut st = conn
            .prepare("INSERT INTO flows (id, ts, end_ts, src_ip, src_port, dst_ip, dst_port, transport, protocol, packets, bytes, end_reason, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 502, 'tcp', ?7, ?8, ?9, 'fin', ?10)")
            .expect("prepare");
        for i in 0..flows {
            // Clients mostly in supervisory, servers in control; some odd pairs.
            let src = ip_of(rng.below(assets));
            let dst = ip_of(rng.below(assets));
            let proto = ["modbus", "modbus", "modbus", "s7comm", "http", "dns"][(i % 6) as usize];
            let uid = format!("F{:016x}", rng.next());
            let ts = t0 + (i as i64) * 36_000_000;
            let id = format!("{uid}-0");
            let json = format!(
                r#"{{"event":{{"kind":"event","dataset":"sluice.flow","id":"{id}"}},"source":{{"ip":"{src}"}},"destination":{{"ip":"{dst}","port":502}},"network":{{"transport":"tcp","protocol":"{proto}"}}}}"#
            );
            st.execute(params![
                id,
                ts,
                ts + 1_000_000_000,
                src,
                40_000 + (i % 20_000) as i64,
                dst,
                proto,
                20,
                2_000,
                json
            ])
            .expect("flow");
            flow_ends.push((uid, src, dst, ts));
        }
    }
    {
        // As the store writes them: a narrow row per event, the JSON lines of 4,096
        // consecutive events in one zstd block, the block filed under its flows and
        // addresses.
        let mut row = conn
            .prepare("INSERT INTO event_rows (n, id, ts, dataset, kind, protocol, flow_id, src_ip, src_port, dst_ip, dst_port, function_code, function, block, seq) VALUES (?1, ?2, ?3, 'sluice.modbus', 'event', 'modbus', ?4, ?5, 40000, ?6, 502, ?7, ?8, ?9, ?10)")
            .expect("prepare");
        let mut block = conn
            .prepare("INSERT INTO event_blocks (id, run, first_row, last_row, codec, data) VALUES (?1, NULL, ?2, ?3, 1, ?4)")
            .expect("prepare");
        let mut key = conn
            .prepare("INSERT OR IGNORE INTO event_keys (key, block) VALUES (?1, ?2)")
            .expect("prepare");
        let mut lines = String::new();
        let mut keys = std::collections::HashSet::new();
        for i in 0..events {
            let (uid, src, dst, ts) = &flow_ends[(i % flows.max(1)) as usize];
            let (fc, name) = [
                (3, "read_holding_registers"),
                (4, "read_input_registers"),
                (6, "write_single_register"),
                (16, "write_multiple_registers"),
            ][(i % 4) as usize];
            let id = format!("{uid}-{}", i / flows.max(1) + 1);
            let ets = ts + (i / flows.max(1)) as i64 * 1_000_000;
            let json = format!(
                r#"{{"event":{{"kind":"event","dataset":"sluice.modbus","id":"{id}"}},"source":{{"ip":"{src}","port":40000}},"destination":{{"ip":"{dst}","port":502}},"network":{{"transport":"tcp","protocol":"modbus"}},"flow":{{"id":"{uid}"}},"modbus":{{"transaction_id":{},"unit_id":1,"function_code":{fc},"function":"{name}","address":5,"quantity":2,"request":true,"response":true}}}}"#,
                i % 65_536
            );
            let (b, seq) = (i as i64 / 4096 + 1, i as i64 % 4096);
            row.execute(params![
                i as i64 + 1,
                id,
                ets,
                uid,
                src,
                dst,
                fc,
                name,
                b,
                seq
            ])
            .expect("event");
            lines.push_str(&json);
            lines.push('\n');
            keys.extend([uid.clone(), src.clone(), dst.clone()]);
            if seq == 4095 || i + 1 == events {
                let data = zstd::bulk::compress(lines.as_bytes(), 1).expect("zstd");
                block
                    .execute(params![b, (b - 1) * 4096 + 1, i as i64 + 1, data])
                    .expect("block");
                for k in keys.drain() {
                    key.execute(params![k, b]).expect("key");
                }
                lines.clear();
            }
        }
    }
    {
        let mut st = conn
            .prepare("INSERT INTO alerts (id, ts, rule_id, rule_name, severity, technique_id, src_ip, dst_ip, chain_id, count, json) VALUES (?1, ?2, ?3, ?4, ?5, 'T0836', ?6, ?7, ?8, 1, ?9)")
            .expect("prepare");
        for i in 0..alerts {
            let (uid, src, dst, ts) = &flow_ends[rng.below(flows) as usize];
            let sev = 10 + (i % 91) as i64;
            let rule = format!("SLC-BEN-{:03}", i % 40);
            let id = format!("A{i:08}");
            let json = serde_json::json!({"event": {"kind": "alert", "id": id, "severity": sev},
                "rule": {"id": rule, "name": "Benchmark rule"},
                "sluice": {"explanation": "A benchmark alert.", "evidence": [format!("{uid}-1"), format!("{uid}-0")], "controls": [], "asset_ids": []}});
            st.execute(params![
                id,
                ts,
                rule,
                format!("Benchmark rule {}", i % 40),
                sev,
                src,
                dst,
                Option::<String>::None,
                json.to_string()
            ])
            .expect("alert");
        }
    }
    conn.execute(
        "INSERT INTO runs (started, finished, inputs, source_key, status, stats) VALUES (?1, ?2, '[\"bench.pcap\"]', 'bench', 'complete', '{\"packets\":1000000,\"transactions\":{\"modbus\":1000000}}')",
        params![t0, t0 + 60_000_000_000i64],
    )
    .expect("run");
    conn.execute_batch("COMMIT").expect("commit");
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let assets = env_n("SLUICE_BENCH_ASSETS", 10_000);
    let events = env_n("SLUICE_BENCH_EVENTS", 1_000_000);
    let flows = (events / 10).max(1);
    let alerts = env_n("SLUICE_BENCH_ALERTS", 20_000);
    let reps = env_n("SLUICE_BENCH_REPS", 30) as usize;
    let dir = tempfile::tempdir().expect("tempdir");
    // SLUICE_BENCH_DB keeps the store for a look with sqlite3 afterwards.
    let db = std::env::var_os("SLUICE_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.db"));
    // SLUICE_BENCH_REUSE=1 keeps a store filled by an earlier run.
    let reuse = std::env::var_os("SLUICE_BENCH_REUSE").is_some() && db.exists();
    if !reuse {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
    let policy = dir.path().join("sluice.toml");
    std::fs::write(&policy, POLICY).expect("policy");
    let t = Instant::now();
    if !reuse {
        fill(&db, assets, flows, events, alerts);
    }
    eprintln!(
        "filled {assets} assets, {flows} flows, {events} events, {alerts} alerts in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut cfg = ConsoleConfig::new(&db);
    cfg.policy = Some(policy);
    let console = Console::open(&cfg).expect("console");
    eprintln!(
        "opened (indexes built) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let (cookie, token) = console
        .db()
        .run_sync(|conn| {
            if auth::get_user(conn, "bench")?.is_none() {
                auth::add_user(conn, "bench", Role::Admin, "benchmark password")?;
            }
            let s = auth::create_session(conn, "bench", Stage::Full, "bench")?;
            let t = auth::create_token(conn, "bench", None)?;
            Ok((s, t))
        })
        .expect("user");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let router = console.router();
    let plc = format!("/assets/ip:{}", ip_of(0));
    let api_plc = format!("/api/assets/ip:{}", ip_of(0));
    let pages: Vec<(&str, String, u128)> = vec![
        ("page", "/".into(), 200),
        ("page", "/map".into(), 200),
        ("page", "/map?f=1&violations=1&conduits=1".into(), 200),
        ("page", "/assets".into(), 200),
        ("page", "/assets?q=10.10.3&page=3".into(), 200),
        ("page", "/assets?zone=supervisory".into(), 200),
        ("page", plc.clone(), 200),
        ("page", "/alerts".into(), 200),
        ("page", "/alerts?status=all&severity=high".into(), 200),
        ("page", "/alerts/A00000007".into(), 200),
        ("page", "/flows".into(), 200),
        ("page", "/policy".into(), 200),
        ("page", "/compliance".into(), 200),
        ("page", "/admin/audit".into(), 200),
        ("api", "/api/overview".into(), 200),
        ("api", "/api/assets".into(), 50),
        ("api", "/api/assets?page=100".into(), 50),
        ("api", api_plc, 200),
        ("api", "/api/alerts".into(), 50),
        ("api", "/api/alerts?status=all&page=50".into(), 50),
        ("api", "/api/flows".into(), 50),
        ("api", "/api/flows?page=100".into(), 50),
        ("api", "/api/events".into(), 50),
        ("api", "/api/events?page=100".into(), 50),
        ("api", "/api/conversations".into(), 50),
        ("api", "/api/matrix".into(), 200),
        ("api", "/api/map".into(), 200),
        ("api", "/api/policy".into(), 200),
        ("api", "/api/compliance".into(), 200),
        ("api", "/metrics".into(), 200),
    ];
    println!(
        "{:<48} {:>10} {:>10} {:>8}  budget",
        "route", "p50 ms", "p99 ms", "bytes"
    );
    let mut over = 0;
    for (kind, path, budget) in &pages {
        let mut times = Vec::with_capacity(reps);
        let mut size = 0;
        // One warm-up request (the conversation summary is cached after it).
        for i in 0..=reps {
            let mut b = Request::builder().uri(path.as_str());
            b = if *kind == "page" {
                b.header(header::COOKIE, format!("sluice_session={cookie}"))
            } else {
                b.header(header::AUTHORIZATION, format!("Bearer {token}"))
            };
            let req = b.body(Body::empty()).expect("request");
            let r = router.clone();
            let t = Instant::now();
            let (status, body) = rt.block_on(async move {
                let res = r.oneshot(req).await.expect("infallible");
                let status = res.status();
                let body = res
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                (status, body)
            });
            let took = t.elapsed();
            assert!(status.is_success(), "{path}: {status}");
            size = body.len();
            if i > 0 {
                times.push(took);
            }
        }
        times.sort();
        let (p50, p99) = (pct(&times, 0.5), pct(&times, 0.99));
        let ok = p99.as_millis() < *budget;
        if !ok {
            over += 1;
        }
        println!(
            "{:<48} {:>10.1} {:>10.1} {:>8}  < {budget} ms {}",
            path,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            size,
            if ok { "ok" } else { "OVER" }
        );
    }
    println!("{} routes over budget", over);
}
