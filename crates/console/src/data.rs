//! What the pages and the API show, read from the store. Every list is paginated; no query
//! scans a large table per request except the conversation summary, which is cached until
//! the flows table changes.
use crate::error::Result;
use crate::site::{Judgement, Site};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_store::EVENTS_BY_KEY;
use std::collections::{BTreeMap, HashMap};

/// Rows per page unless asked otherwise.
pub const PER_PAGE: u32 = 50;
/// Most rows one page may ask for.
pub const MAX_PER_PAGE: u32 = 500;

/// A page request (1-based).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Paging {
        Paging {
            page: page.unwrap_or(1).max(1),
            per_page: per_page.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE),
        }
    }
    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)).saturating_mul(i64::from(self.per_page))
    }
    /// Rows to fetch: one more than a page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.per_page) + 1
    }
}

/// One page of a list.
#[derive(Clone, Debug, Serialize)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub has_more: bool,
    /// The number of matching rows, where cheap to know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl<T> PageOf<T> {
    fn from_fetch(mut items: Vec<T>, p: Paging, total: Option<u64>) -> PageOf<T> {
        let has_more = items.len() > p.per_page as usize;
        items.truncate(p.per_page as usize);
        PageOf {
            items,
            page: p.page,
            per_page: p.per_page,
            has_more,
            total,
        }
    }
}

/// Severity classes of alerts (`event.severity` 1-100).
pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// The class of a severity: low 1-39, medium 40-69, high 70-89, critical 90-100.
pub fn severity_class(s: i64) -> usize {
    match s {
        90.. => 3,
        70..=89 => 2,
        40..=69 => 1,
        _ => 0,
    }
}

/// Lowest severity of a class.
pub fn severity_floor(class: &str) -> Option<i64> {
    match class {
        "low" => Some(1),
        "medium" => Some(40),
        "high" => Some(70),
        "critical" => Some(90),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Conversations: flows grouped by (client, server, protocol), judged against the policy.
// ---------------------------------------------------------------------------------------

/// Flows between two addresses with one protocol.
#[derive(Clone, Debug, Serialize)]
pub struct Conversation {
    pub src_ip: String,
    pub dst_ip: String,
    pub protocol: Option<String>,
    pub transport: Option<String>,
    /// Lowest server port seen.
    pub dst_port: Option<u16>,
    pub flows: u64,
    pub bytes: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    /// One of its flows (for evidence links).
    pub sample_flow: String,
    pub from_zone: String,
    pub to_zone: String,
    #[serde(skip)]
    pub from_index: usize,
    #[serde(skip)]
    pub to_index: usize,
    pub judgement: Judgement,
}

impl Conversation {
    /// `modbus` or `tcp/5900` when the protocol is unknown.
    pub fn label(&self) -> String {
        match (&self.protocol, &self.transport, self.dst_port) {
            (Some(p), _, _) => p.clone(),
            (None, Some(t), Some(port)) => format!("{t}/{port}"),
            (None, Some(t), None) => t.clone(),
            (None, None, _) => "ip".into(),
        }
    }
}

/// A stamp that changes when flows are added (the largest rowid and the row count).
pub fn flows_stamp(conn: &Connection) -> Result<(i64, i64)> {
    // Plain `MAX(rowid)` is answered from the end of the b-tree; wrapped in another
    // expression it would scan the table.
    let last: Option<i64> = conn.query_row("SELECT MAX(rowid) FROM flows", [], |r| r.get(0))?;
    let runs: i64 = conn.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))?;
    Ok((last.unwrap_or(0), runs))
}

/// Every conversation, judged; violating ones first, then by flow count.
pub fn conversations(conn: &Connection, site: &Site) -> Result<Vec<Conversation>> {
    let mut st = conn.prepare(
        "SELECT src_ip, dst_ip, protocol, MIN(transport), MIN(dst_port), COUNT(*), SUM(bytes), \
         MIN(ts), MAX(end_ts), MIN(id) FROM flows GROUP BY src_ip, dst_ip, protocol",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, Option<i64>>(6)?,
            r.get::<_, i64>(7)?,
            r.get::<_, i64>(8)?,
            r.get::<_, String>(9)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (src, dst, protocol, transport, port, flows, bytes, first, last, sample) = row?;
        let (Some(src), Some(dst)) = (src, dst) else {
            continue;
        };
        let judgement = site.judge(&src, &dst, protocol.as_deref(), first);
        let from_index = site.zone_index(&src);
        let to_index = site.zone_index(&dst);
        out.push(Conversation {
            from_zone: site.zone_name(&src).to_string(),
            to_zone: site.zone_name(&dst).to_string(),
            src_ip: src,
            dst_ip: dst,
            protocol,
            transport,
            dst_port: port.and_then(|p| u16::try_from(p).ok()),
            flows: u64::try_from(flows).unwrap_or(0),
            bytes: u64::try_from(bytes.unwrap_or(0)).unwrap_or(0),
            first_ts: first,
            last_ts: last,
            sample_flow: sample,
            from_index,
            to_index,
            judgement,
        });
    }
    out.sort_by(|a, b| {
        b.judgement
            .violating()
            .cmp(&a.judgement.violating())
            .then(b.flows.cmp(&a.flows))
            .then(a.src_ip.cmp(&b.src_ip))
            .then(a.dst_ip.cmp(&b.dst_ip))
    });
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------

/// Table sizes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    pub assets: u64,
    pub flows: u64,
    pub events: u64,
    pub alerts: u64,
    pub alerts_open: u64,
    /// Open alerts per severity class (low, medium, high, critical).
    pub open_by_severity: [u64; 4],
}

/// Counts of the store's tables.
pub fn totals(conn: &Connection) -> Result<Totals> {
    let c = |sql: &str| -> Result<u64> {
        Ok(conn
            .query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
            .map(|v| u64::try_from(v.unwrap_or(0)).unwrap_or(0))?)
    };
    // The store never deletes flows: the largest rowid is their count, without a scan of
    // a million rows; events go by whole blocks, whose row ranges add up to theirs.
    let mut t = Totals {
        assets: c("SELECT COUNT(*) FROM assets")?,
        flows: c("SELECT MAX(rowid) FROM flows")?,
        events: c("SELECT SUM(last_row - first_row + 1) FROM event_blocks")?,
        alerts: c("SELECT COUNT(*) FROM alerts")?,
        alerts_open: 0,
        open_by_severity: [0; 4],
    };
    let mut st = conn.prepare(
        "SELECT severity, COUNT(*) FROM alerts WHERE acknowledged = 0 GROUP BY severity",
    )?;
    let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (sev, n) = row?;
        let n = u64::try_from(n).unwrap_or(0);
        if let Some(slot) = t.open_by_severity.get_mut(severity_class(sev)) {
            *slot += n;
        }
        t.alerts_open += n;
    }
    Ok(t)
}

/// Alerts per severity class over time.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timeline {
    pub start: i64,
    pub bucket_ns: i64,
    /// Per bucket: counts for low, medium, high, critical.
    pub buckets: Vec<[u64; 4]>,
}

/// Alerts per class in `n` buckets between the first and the last alert.
pub fn alert_timeline(conn: &Connection, n: i64) -> Result<Timeline> {
    let range: Option<(i64, i64)> = conn
        .query_row("SELECT MIN(ts), MAX(ts) FROM alerts", [], |r| {
            Ok(
                match (r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?) {
                    (Some(a), Some(b)) => Some((a, b)),
                    _ => None,
                },
            )
        })
        .optional()?
        .flatten();
    let Some((start, end)) = range else {
        return Ok(Timeline::default());
    };
    let n = n.max(1);
    let span = end.saturating_sub(start).max(1);
    // Round the bucket up to a whole second (at least one).
    let bucket = (span / n + 1).max(1_000_000_000);
    let buckets_needed = (span / bucket + 1).clamp(1, n);
    let mut buckets = vec![[0u64; 4]; usize::try_from(buckets_needed).unwrap_or(1)];
    let mut st = conn.prepare(
        "SELECT (ts - ?1) / ?2 AS b, severity, COUNT(*) FROM alerts GROUP BY b, severity",
    )?;
    let rows = st.query_map(params![start, bucket], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (b, sev, cnt) = row?;
        let idx = usize::try_from(b).unwrap_or(0).min(buckets.len() - 1);
        if let Some(slot) = buckets
            .get_mut(idx)
            .and_then(|x| x.get_mut(severity_class(sev)))
        {
            *slot += u64::try_from(cnt).unwrap_or(0);
        }
    }
    Ok(Timeline {
        start,
        bucket_ns: bucket,
        buckets,
    })
}

/// Health of the sensor, from the runs table.
#[derive(Clone, Debug, Serialize)]
pub struct Health {
    pub runs: u64,
    pub last_status: String,
    pub last_started: i64,
    pub last_finished: Option<i64>,
    pub packets: u64,
    pub bytes: u64,
    pub flows: u64,
    pub drops: u64,
    pub decode_errors: u64,
    pub tcp_gaps: u64,
    pub anomalies: u64,
    /// Capture time covered by the last run (first to last packet), ns.
    pub capture_span_ns: i64,
    /// Wall-clock duration of the last run, ns.
    pub duration_ns: i64,
    pub inputs: Vec<String>,
}

/// The last run's statistics.
pub fn health(conn: &Connection) -> Result<Option<Health>> {
    let runs: i64 = conn.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))?;
    type RunRow = (i64, Option<i64>, String, String, Option<String>);
    let row: Option<RunRow> = conn
        .query_row(
            "SELECT started, finished, inputs, status, stats FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((started, finished, inputs, status, stats)) = row else {
        return Ok(None);
    };
    let s: Value = stats
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(Value::Null);
    let n = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
    let i = |k: &str| s.get(k).and_then(Value::as_i64).unwrap_or(0);
    Ok(Some(Health {
        runs: u64::try_from(runs).unwrap_or(0),
        last_status: status,
        last_started: started,
        last_finished: finished,
        packets: n("packets"),
        bytes: n("bytes"),
        flows: n("flows"),
        drops: n("flows_evicted") + n("reassembly_overflows") + n("fragments_dropped"),
        decode_errors: n("decode_errors"),
        tcp_gaps: n("tcp_gaps"),
        anomalies: n("anomalies"),
        capture_span_ns: i("last_ts").saturating_sub(i("first_ts")).max(0),
        duration_ns: finished.map_or(0, |f| f.saturating_sub(started).max(0)),
        inputs: serde_json::from_str(&inputs).unwrap_or_default(),
    }))
}

// ---------------------------------------------------------------------------------------
// Assets
// ---------------------------------------------------------------------------------------

/// An asset as listed.
#[derive(Clone, Debug, Serialize)]
pub struct AssetRow {
    pub id: String,
    pub ip: String,
    pub mac: Option<String>,
    pub vendor: Option<String>,
    pub role: Option<String>,
    pub zone: String,
    pub product: Option<String>,
    pub firmware: Option<String>,
    pub protocols: Vec<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub open_alerts: u64,
}

/// Asset list filters.
#[derive(Clone, Debug, Default)]
pub struct AssetFilter {
    /// Matches address, MAC, vendor, role, product or any identity text.
    pub q: Option<String>,
    pub zone: Option<String>,
    pub role: Option<String>,
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The first identity fact named `key` (identity sources are objects of facts).
pub fn identity_fact(asset: &Value, key: &str) -> Option<String> {
    asset
        .get("identity")
        .and_then(Value::as_object)?
        .values()
        .find_map(|src| src.get(key).and_then(Value::as_str).map(str::to_owned))
}

fn asset_row(site: &Site, json: &str, open: &HashMap<String, u64>) -> Option<AssetRow> {
    let a: Value = serde_json::from_str(json).ok()?;
    let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
    let ip = s("ip").unwrap_or_default();
    let mut protocols = strs(a.get("protocols_server"));
    for p in strs(a.get("protocols_client")) {
        if !protocols.contains(&p) {
            protocols.push(p);
        }
    }
    Some(AssetRow {
        id: s("id").unwrap_or_default(),
        zone: site.zone_name(&ip).to_string(),
        open_alerts: open.get(&ip).copied().unwrap_or(0),
        mac: s("mac"),
        vendor: identity_fact(&a, "vendor").or_else(|| s("vendor")),
        role: s("role"),
        product: identity_fact(&a, "product").or_else(|| identity_fact(&a, "model")),
        firmware: identity_fact(&a, "firmware"),
        protocols,
        first_seen: a.get("first_seen").and_then(Value::as_i64).unwrap_or(0),
        last_seen: a.get("last_seen").and_then(Value::as_i64).unwrap_or(0),
        ip,
    })
}

/// Open alerts per address (either end).
fn open_alerts_by_ip(conn: &Connection, ips: &[String]) -> Result<HashMap<String, u64>> {
    let mut out = HashMap::new();
    if ips.is_empty() {
        return Ok(out);
    }
    let mut st = conn.prepare_cached(
        // `+acknowledged`: look rows up by address, never by the (unselective) status.
        "SELECT (SELECT COUNT(*) FROM alerts WHERE src_ip = ?1 AND +acknowledged = 0) + \
         (SELECT COUNT(*) FROM alerts WHERE dst_ip = ?1 AND +acknowledged = 0 \
          AND (src_ip IS NULL OR src_ip != ?1))",
    )?;
    for ip in ips {
        let n: i64 = st.query_row(params![ip], |r| r.get(0))?;
        if n > 0 {
            out.insert(ip.clone(), u64::try_from(n).unwrap_or(0));
        }
    }
    Ok(out)
}

fn like_pattern(q: &str) -> String {
    let mut p = String::from("%");
    for c in q.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A page of assets (ordered by address).
pub fn assets(
    conn: &Connection,
    site: &Site,
    f: &AssetFilter,
    p: Paging,
) -> Result<PageOf<AssetRow>> {
    let q =
        f.q.as_deref()
            .filter(|q| !q.trim().is_empty())
            .map(like_pattern);
    let role = f.role.as_deref().filter(|r| !r.is_empty());
    let zone = f.zone.as_deref().filter(|z| !z.is_empty());
    let where_sql = "WHERE (?1 IS NULL OR json LIKE ?1 ESCAPE '\\') AND (?2 IS NULL OR role = ?2)";
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM assets {where_sql}"),
        params![q, role],
        |r| r.get(0),
    )?;
    let jsons: Vec<String> = if let Some(zone) = zone {
        // Zones come from the policy, not the table: filter addresses first, then fetch.
        let mut st = conn.prepare(&format!(
            "SELECT ip, json FROM assets {where_sql} ORDER BY sort_key"
        ))?;
        let rows = st.query_map(params![q, role], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut matched = Vec::new();
        let skip = usize::try_from(p.offset()).unwrap_or(usize::MAX);
        let take = usize::try_from(p.fetch()).unwrap_or(usize::MAX);
        let mut seen = 0usize;
        for row in rows {
            let (ip, json) = row?;
            if site.zone_name(&ip) != zone {
                continue;
            }
            if seen >= skip && matched.len() < take {
                matched.push(json);
            }
            seen += 1;
        }
        let items = matched;
        let open = open_alerts_by_ip(conn, &ips_of(&items))?;
        let rows: Vec<AssetRow> = items
            .iter()
            .filter_map(|j| asset_row(site, j, &open))
            .collect();
        return Ok(PageOf::from_fetch(
            rows,
            p,
            Some(u64::try_from(seen).unwrap_or(0)),
        ));
    } else {
        let mut st = conn.prepare(&format!(
            "SELECT json FROM assets {where_sql} ORDER BY sort_key LIMIT ?3 OFFSET ?4"
        ))?;
        let rows = st.query_map(params![q, role, p.fetch(), p.offset()], |r| {
            r.get::<_, String>(0)
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let open = open_alerts_by_ip(conn, &ips_of(&jsons))?;
    let rows: Vec<AssetRow> = jsons
        .iter()
        .filter_map(|j| asset_row(site, j, &open))
        .collect();
    Ok(PageOf::from_fetch(
        rows,
        p,
        Some(u64::try_from(total).unwrap_or(0)),
    ))
}

fn ips_of(jsons: &[String]) -> Vec<String> {
    jsons
        .iter()
        .filter_map(|j| {
            serde_json::from_str::<Value>(j)
                .ok()
                .and_then(|v| v.get("ip").and_then(Value::as_str).map(str::to_owned))
        })
        .collect()
}

/// Every asset's id, address, role and NIC vendor (for the map), at most `limit`.
#[allow(clippy::type_complexity)]
pub fn asset_nodes(
    conn: &Connection,
    limit: i64,
) -> Result<Vec<(String, String, Option<String>, Option<String>)>> {
    let mut st =
        conn.prepare("SELECT id, ip, role, vendor FROM assets ORDER BY sort_key LIMIT ?1")?;
    let rows = st.query_map(params![limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A peer of an asset.
#[derive(Clone, Debug, Serialize)]
pub struct Talker {
    pub peer: String,
    pub peer_zone: String,
    /// `out`: the asset opened the flows; `in`: the peer did.
    pub direction: String,
    pub protocol: Option<String>,
    pub flows: u64,
    pub bytes: u64,
    pub violating: bool,
}

/// An asset with what the console knows about it.
#[derive(Clone, Debug, Serialize)]
pub struct AssetDetail {
    pub asset: Value,
    pub zone: String,
    pub level: Option<f64>,
    pub talkers: Vec<Talker>,
    pub alerts: Vec<AlertRow>,
    pub recent_events: Vec<EventSummary>,
}

/// One asset by id (`ip:10.10.1.10`) or address.
pub fn asset_detail(conn: &Connection, site: &Site, id: &str) -> Result<Option<AssetDetail>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT json FROM assets WHERE id = ?1 OR ip = ?1 LIMIT 1",
            params![id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(json) = json else {
        return Ok(None);
    };
    let asset: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
    let ip = asset
        .get("ip")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut st = conn.prepare(
        "SELECT peer, dir, protocol, COUNT(*), SUM(bytes) FROM ( \
           SELECT dst_ip AS peer, 'out' AS dir, protocol, bytes FROM flows WHERE src_ip = ?1 \
           UNION ALL \
           SELECT src_ip AS peer, 'in' AS dir, protocol, bytes FROM flows WHERE dst_ip = ?1) \
         GROUP BY peer, dir, protocol ORDER BY COUNT(*) DESC, peer LIMIT 50",
    )?;
    let rows = st.query_map(params![ip], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut talkers = Vec::new();
    for row in rows {
        let (peer, dir, protocol, n, bytes) = row?;
        let peer = peer.unwrap_or_default();
        let (c, s) = if dir == "out" {
            (ip.as_str(), peer.as_str())
        } else {
            (peer.as_str(), ip.as_str())
        };
        let violating = site.judge(c, s, protocol.as_deref(), 0).violating();
        talkers.push(Talker {
            peer_zone: site.zone_name(&peer).to_string(),
            peer,
            direction: dir,
            protocol,
            flows: u64::try_from(n).unwrap_or(0),
            bytes: u64::try_from(bytes.unwrap_or(0)).unwrap_or(0),
            violating,
        });
    }
    let filter = AlertFilter {
        ip: Some(ip.clone()),
        status: Some("all".into()),
        ..AlertFilter::default()
    };
    let alerts = alerts(conn, site, &filter, Paging::new(Some(1), Some(50)))?.items;
    let recent_events = events_of_ip(conn, &ip, 20)?;
    let zi = site.zone_index(&ip);
    Ok(Some(AssetDetail {
        zone: site.zone_name(&ip).to_string(),
        level: site.zones().get(zi).and_then(|z| z.level),
        asset,
        talkers,
        alerts,
        recent_events,
    }))
}

// ---------------------------------------------------------------------------------------
// Events (transactions, anomalies) and flows
// ---------------------------------------------------------------------------------------

/// An event as listed.
#[derive(Clone, Debug, Serialize)]
pub struct EventSummary {
    pub id: String,
    pub ts: i64,
    pub dataset: String,
    pub protocol: Option<String>,
    pub src_ip: Option<String>,
    pub dst_ip: Option<String>,
    pub function_code: Option<i64>,
    pub function: Option<String>,
    pub flow_id: Option<String>,
}

const EVENT_COLS: &str =
    "e.id, e.ts, e.dataset, e.protocol, e.src_ip, e.dst_ip, e.function_code, e.function, e.flow_id";

fn event_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventSummary> {
    Ok(EventSummary {
        id: r.get(0)?,
        ts: r.get(1)?,
        dataset: r.get(2)?,
        protocol: r.get(3)?,
        src_ip: r.get(4)?,
        dst_ip: r.get(5)?,
        function_code: r.get(6)?,
        function: r.get(7)?,
        flow_id: r.get(8)?,
    })
}

fn events_of_ip(conn: &Connection, ip: &str, n: i64) -> Result<Vec<EventSummary>> {
    let mut st = conn.prepare(&format!(
        "SELECT {EVENT_COLS} FROM {EVENTS_BY_KEY} AND (e.src_ip = ?1 OR e.dst_ip = ?1) \
         ORDER BY e.ts DESC LIMIT ?2"
    ))?;
    let rows = st.query_map(params![ip, n], event_summary)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Event list filters.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub dataset: Option<String>,
    pub protocol: Option<String>,
    pub flow: Option<String>,
}

/// A page of events, newest first.
pub fn events(conn: &Connection, f: &EventFilter, p: Paging) -> Result<PageOf<EventSummary>> {
    let nz = |s: &Option<String>| s.as_deref().filter(|x| !x.is_empty()).map(str::to_owned);
    let flow = nz(&f.flow).map(|id| sluice_store::event_key(&id).to_owned());
    let filters = "(?2 IS NULL OR e.dataset = ?2) AND (?3 IS NULL OR e.protocol = ?3)";
    let order = "ORDER BY e.ts DESC, e.id LIMIT ?4 OFFSET ?5";
    let sql = if flow.is_some() {
        format!("SELECT {EVENT_COLS} FROM {EVENTS_BY_KEY} AND e.flow_id = ?1 AND {filters} {order}")
    } else {
        format!("SELECT {EVENT_COLS} FROM event_rows e WHERE ?1 IS NULL AND {filters} {order}")
    };
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(
        params![flow, nz(&f.dataset), nz(&f.protocol), p.fetch(), p.offset()],
        event_summary,
    )?;
    let items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(PageOf::from_fetch(items, p, None))
}

/// One event with its JSON.
#[derive(Clone, Debug, Serialize)]
pub struct EventDetail {
    pub summary: EventSummary,
    pub json: Value,
    /// The flow row the event belongs to.
    pub flow: Option<String>,
}

/// One event by id.
pub fn event(conn: &Connection, id: &str) -> Result<Option<EventDetail>> {
    let row = conn
        .query_row(
            &format!(
                "SELECT {EVENT_COLS}, sluice_event_json(e.block, e.seq) FROM {EVENTS_BY_KEY} \
                 AND e.id = ?2"
            ),
            params![sluice_store::event_key(id), id],
            // (A block that cannot be read gives no JSON, shown as null.)
            |r| {
                Ok((
                    event_summary(r)?,
                    r.get::<_, Option<String>>(9)?.unwrap_or_default(),
                ))
            },
        )
        .optional()?;
    let Some((summary, json)) = row else {
        return Ok(None);
    };
    let flow = match &summary.flow_id {
        Some(uid) => flow_row_of_uid(conn, uid)?,
        None => None,
    };
    Ok(Some(EventDetail {
        summary,
        json: serde_json::from_str(&json).unwrap_or(Value::Null),
        flow,
    }))
}

/// The flow row of a flow uid (the most recent record if several).
fn flow_row_of_uid(conn: &Connection, uid: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT id FROM flows WHERE id > ?1 || '-' AND id < ?1 || '.' ORDER BY ts DESC LIMIT 1",
            params![uid],
            |r| r.get(0),
        )
        .optional()?)
}

/// A flow as listed.
#[derive(Clone, Debug, Serialize)]
pub struct FlowSummary {
    pub id: String,
    pub ts: i64,
    pub end_ts: i64,
    pub src_ip: Option<String>,
    pub src_port: Option<i64>,
    pub dst_ip: Option<String>,
    pub dst_port: Option<i64>,
    pub transport: Option<String>,
    pub protocol: Option<String>,
    pub packets: i64,
    pub bytes: i64,
    pub end_reason: Option<String>,
}

const FLOW_COLS: &str =
    "id, ts, end_ts, src_ip, src_port, dst_ip, dst_port, transport, protocol, packets, bytes, end_reason";

fn flow_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<FlowSummary> {
    Ok(FlowSummary {
        id: r.get(0)?,
        ts: r.get(1)?,
        end_ts: r.get(2)?,
        src_ip: r.get(3)?,
        src_port: r.get(4)?,
        dst_ip: r.get(5)?,
        dst_port: r.get(6)?,
        transport: r.get(7)?,
        protocol: r.get(8)?,
        packets: r.get(9)?,
        bytes: r.get(10)?,
        end_reason: r.get(11)?,
    })
}

/// Flow list filters.
#[derive(Clone, Debug, Default)]
pub struct FlowFilter {
    pub ip: Option<String>,
    pub protocol: Option<String>,
}

/// A page of flows, newest first.
pub fn flows(conn: &Connection, f: &FlowFilter, p: Paging) -> Result<PageOf<FlowSummary>> {
    let ip = f.ip.as_deref().filter(|x| !x.is_empty());
    let proto = f.protocol.as_deref().filter(|x| !x.is_empty());
    let sql = if ip.is_some() {
        format!(
            "SELECT * FROM (SELECT {FLOW_COLS} FROM flows WHERE src_ip = ?1 UNION \
             SELECT {FLOW_COLS} FROM flows WHERE dst_ip = ?1) \
             WHERE (?2 IS NULL OR protocol = ?2) ORDER BY ts DESC, id LIMIT ?3 OFFSET ?4"
        )
    } else {
        format!(
            "SELECT {FLOW_COLS} FROM flows WHERE (?1 IS NULL OR 1) AND (?2 IS NULL OR protocol = ?2) \
             ORDER BY ts DESC, id LIMIT ?3 OFFSET ?4"
        )
    };
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(params![ip, proto, p.fetch(), p.offset()], flow_summary)?;
    let items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(PageOf::from_fetch(items, p, None))
}

/// One flow with its judgement and its transactions.
#[derive(Clone, Debug, Serialize)]
pub struct FlowDetail {
    pub flow: FlowSummary,
    pub json: Value,
    pub from_zone: String,
    pub to_zone: String,
    pub judgement: Judgement,
    pub events: Vec<EventSummary>,
    pub alerts: Vec<AlertRow>,
}

/// One flow by id (`F…-N`, or the flow uid `F…`).
pub fn flow(conn: &Connection, site: &Site, id: &str) -> Result<Option<FlowDetail>> {
    let id = match conn
        .query_row("SELECT id FROM flows WHERE id = ?1", params![id], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
    {
        Some(i) => i,
        None => match flow_row_of_uid(conn, id)? {
            Some(i) => i,
            None => return Ok(None),
        },
    };
    let row = conn
        .query_row(
            &format!("SELECT {FLOW_COLS}, json FROM flows WHERE id = ?1"),
            params![id],
            |r| Ok((flow_summary(r)?, r.get::<_, String>(12)?)),
        )
        .optional()?;
    let Some((flow, json)) = row else {
        return Ok(None);
    };
    let uid = sluice_store::event_key(&flow.id);
    let mut st = conn.prepare(&format!(
        "SELECT {EVENT_COLS} FROM {EVENTS_BY_KEY} AND e.flow_id = ?1 ORDER BY e.ts LIMIT 200"
    ))?;
    let events = st
        .query_map(params![uid], event_summary)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let src = flow.src_ip.clone().unwrap_or_default();
    let dst = flow.dst_ip.clone().unwrap_or_default();
    let judgement = site.judge(&src, &dst, flow.protocol.as_deref(), flow.ts);
    // Alerts citing this flow or one of its transactions.
    let mut st = conn.prepare(&format!(
        "SELECT {ALERT_COLS} FROM alerts WHERE json LIKE ?1 ESCAPE '\\' ORDER BY ts DESC LIMIT 20"
    ))?;
    let alerts = st
        .query_map(params![like_pattern(uid)], |r| alert_row(r, site))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(FlowDetail {
        from_zone: site.zone_name(&src).to_string(),
        to_zone: site.zone_name(&dst).to_string(),
        flow,
        json: serde_json::from_str(&json).unwrap_or(Value::Null),
        judgement,
        events,
        alerts,
    }))
}

// ---------------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------------

/// An alert as listed.
#[derive(Clone, Debug, Serialize)]
pub struct AlertRow {
    pub id: String,
    pub ts: i64,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: i64,
    pub severity_class: &'static str,
    pub technique_id: Option<String>,
    pub src_ip: Option<String>,
    pub dst_ip: Option<String>,
    pub src_zone: Option<String>,
    pub dst_zone: Option<String>,
    pub chain_id: Option<String>,
    pub count: i64,
    pub acknowledged: bool,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<i64>,
    pub assignee: Option<String>,
}

const ALERT_COLS: &str = "id, ts, rule_id, rule_name, severity, technique_id, src_ip, dst_ip, \
     chain_id, count, acknowledged, acknowledged_by, acknowledged_at, assignee";

fn alert_row(r: &rusqlite::Row<'_>, site: &Site) -> rusqlite::Result<AlertRow> {
    let sev: i64 = r.get(4)?;
    let src: Option<String> = r.get(6)?;
    let dst: Option<String> = r.get(7)?;
    Ok(AlertRow {
        id: r.get(0)?,
        ts: r.get(1)?,
        rule_id: r.get(2)?,
        rule_name: r.get(3)?,
        severity: sev,
        severity_class: SEVERITIES
            .get(severity_class(sev))
            .copied()
            .unwrap_or("low"),
        technique_id: r.get(5)?,
        src_zone: src.as_deref().map(|s| site.zone_name(s).to_string()),
        dst_zone: dst.as_deref().map(|s| site.zone_name(s).to_string()),
        src_ip: src,
        dst_ip: dst,
        chain_id: r.get(8)?,
        count: r.get(9)?,
        acknowledged: r.get::<_, i64>(10)? != 0,
        acknowledged_by: r.get(11)?,
        acknowledged_at: r.get(12)?,
        assignee: r.get(13)?,
    })
}

/// Alert list filters.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    /// `open` (default), `acknowledged` or `all`.
    pub status: Option<String>,
    /// Lowest severity class shown.
    pub severity: Option<String>,
    pub rule: Option<String>,
    /// Either end.
    pub ip: Option<String>,
    pub assignee: Option<String>,
    pub chain: Option<String>,
}

/// A page of alerts, newest first.
pub fn alerts(
    conn: &Connection,
    site: &Site,
    f: &AlertFilter,
    p: Paging,
) -> Result<PageOf<AlertRow>> {
    fn nz(s: &Option<String>) -> Option<&str> {
        s.as_deref().map(str::trim).filter(|x| !x.is_empty())
    }
    let ack: Option<i64> = match nz(&f.status).unwrap_or("open") {
        "acknowledged" | "acked" => Some(1),
        "all" => None,
        _ => Some(0),
    };
    let floor = nz(&f.severity).and_then(severity_floor);
    let ip = nz(&f.ip);
    let src_filter = if ip.is_some() {
        "AND (src_ip = ?3 OR dst_ip = ?3)"
    } else {
        "AND (?3 IS NULL)"
    };
    let where_sql = format!(
        "WHERE (?1 IS NULL OR acknowledged = ?1) AND (?2 IS NULL OR severity >= ?2) {src_filter} \
         AND (?4 IS NULL OR rule_id = ?4) AND (?5 IS NULL OR assignee = ?5) \
         AND (?6 IS NULL OR chain_id = ?6)"
    );
    let args = params![
        ack,
        floor,
        ip,
        nz(&f.rule),
        nz(&f.assignee),
        nz(&f.chain),
        p.fetch(),
        p.offset()
    ];
    let mut st = conn.prepare(&format!(
        "SELECT {ALERT_COLS} FROM alerts {where_sql} ORDER BY ts DESC, id LIMIT ?7 OFFSET ?8"
    ))?;
    let items = st
        .query_map(args, |r| alert_row(r, site))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(PageOf::from_fetch(items, p, None))
}

/// Distinct rule ids with their names and counts (for the filter).
pub fn alert_rules(conn: &Connection) -> Result<Vec<(String, String, u64)>> {
    let mut st = conn.prepare(
        "SELECT rule_id, MIN(rule_name), COUNT(*) FROM alerts GROUP BY rule_id ORDER BY rule_id LIMIT 500",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One piece of evidence an alert cites.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub id: String,
    /// `event`, `flow` or `missing`.
    pub kind: String,
    pub summary: String,
    /// The flow the evidence belongs to.
    pub flow: Option<String>,
}

/// An alert with its evidence.
#[derive(Clone, Debug, Serialize)]
pub struct AlertDetail {
    pub alert: AlertRow,
    pub json: Value,
    pub explanation: Option<String>,
    pub technique_name: Option<String>,
    pub tactic: Option<String>,
    pub controls: Vec<String>,
    pub asset_ids: Vec<String>,
    pub evidence: Vec<Evidence>,
    pub chain: Vec<AlertRow>,
}

/// One alert by id.
pub fn alert(conn: &Connection, site: &Site, id: &str) -> Result<Option<AlertDetail>> {
    let row = conn
        .query_row(
            &format!("SELECT {ALERT_COLS}, json FROM alerts WHERE id = ?1"),
            params![id],
            |r| Ok((alert_row(r, site)?, r.get::<_, String>(14)?)),
        )
        .optional()?;
    let Some((alert, json)) = row else {
        return Ok(None);
    };
    let v: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
    let sl = v.get("sluice");
    let mut evidence = Vec::new();
    for eid in strs(sl.and_then(|s| s.get("evidence")))
        .into_iter()
        .take(100)
    {
        evidence.push(evidence_of(conn, &eid)?);
    }
    let chain = match &alert.chain_id {
        Some(c) => alerts(
            conn,
            site,
            &AlertFilter {
                chain: Some(c.clone()),
                status: Some("all".into()),
                ..AlertFilter::default()
            },
            Paging::new(Some(1), Some(50)),
        )?
        .items
        .into_iter()
        .filter(|a| a.id != alert.id)
        .collect(),
        None => Vec::new(),
    };
    let technique = v.get("threat");
    Ok(Some(AlertDetail {
        explanation: sl
            .and_then(|s| s.get("explanation"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        technique_name: technique
            .and_then(|t| t.pointer("/technique/name"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        tactic: technique
            .and_then(|t| t.pointer("/tactic/name"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        controls: strs(sl.and_then(|s| s.get("controls"))),
        asset_ids: strs(sl.and_then(|s| s.get("asset_ids"))),
        alert,
        json: v,
        evidence,
        chain,
    }))
}

fn evidence_of(conn: &Connection, id: &str) -> Result<Evidence> {
    if let Some(e) = conn
        .query_row(
            &format!("SELECT {EVENT_COLS} FROM {EVENTS_BY_KEY} AND e.id = ?2"),
            params![sluice_store::event_key(id), id],
            event_summary,
        )
        .optional()?
    {
        let flow = match &e.flow_id {
            Some(uid) => flow_row_of_uid(conn, uid)?,
            None => None,
        };
        return Ok(Evidence {
            id: id.to_string(),
            kind: "event".into(),
            summary: format!(
                "{} {} {} → {}",
                e.protocol.as_deref().unwrap_or(&e.dataset),
                e.function.as_deref().unwrap_or(""),
                e.src_ip.as_deref().unwrap_or("?"),
                e.dst_ip.as_deref().unwrap_or("?")
            ),
            flow,
        });
    }
    let fid = match conn
        .query_row("SELECT id FROM flows WHERE id = ?1", params![id], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
    {
        Some(f) => Some(f),
        None => flow_row_of_uid(conn, id)?,
    };
    if let Some(fid) = fid {
        let f = conn.query_row(
            &format!("SELECT {FLOW_COLS} FROM flows WHERE id = ?1"),
            params![fid],
            flow_summary,
        )?;
        return Ok(Evidence {
            id: id.to_string(),
            kind: "flow".into(),
            summary: format!(
                "{} {}:{} → {}:{}",
                f.protocol
                    .as_deref()
                    .or(f.transport.as_deref())
                    .unwrap_or("flow"),
                f.src_ip.as_deref().unwrap_or("?"),
                f.src_port.unwrap_or(0),
                f.dst_ip.as_deref().unwrap_or("?"),
                f.dst_port.unwrap_or(0)
            ),
            flow: Some(fid),
        });
    }
    Ok(Evidence {
        id: id.to_string(),
        kind: "missing".into(),
        summary: "not in this store".into(),
        flow: None,
    })
}

/// Acknowledges an alert; returns false if there is no such alert.
pub fn acknowledge(conn: &Connection, id: &str, by: &str, at_ns: i64) -> Result<bool> {
    let n = conn.execute(
        "UPDATE alerts SET acknowledged = 1, acknowledged_by = ?2, acknowledged_at = ?3 \
         WHERE id = ?1",
        params![id, by, at_ns],
    )?;
    Ok(n > 0)
}

/// Reopens an acknowledged alert.
pub fn reopen(conn: &Connection, id: &str) -> Result<bool> {
    let n = conn.execute(
        "UPDATE alerts SET acknowledged = 0, acknowledged_by = NULL, acknowledged_at = NULL \
         WHERE id = ?1",
        params![id],
    )?;
    Ok(n > 0)
}

/// Assigns an alert (`None` clears).
pub fn assign(conn: &Connection, id: &str, to: Option<&str>) -> Result<bool> {
    let n = conn.execute(
        "UPDATE alerts SET assignee = ?2 WHERE id = ?1",
        params![id, to],
    )?;
    Ok(n > 0)
}

// ---------------------------------------------------------------------------------------
// Zone matrix and policy
// ---------------------------------------------------------------------------------------

/// What was seen from one zone to another.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Seen {
    pub from: usize,
    pub to: usize,
    /// Flows per protocol label.
    pub protocols: BTreeMap<String, u64>,
    pub flows: u64,
    pub violating_flows: u64,
}

/// The zone × zone matrix: allowed (from the policy) against seen.
#[derive(Clone, Debug, Serialize)]
pub struct MatrixView {
    pub zones: Vec<crate::site::ZoneInfo>,
    pub allowed: Vec<AllowedCell>,
    pub seen: Vec<Seen>,
}

/// One conduit's permission from one zone to another.
#[derive(Clone, Debug, Serialize)]
pub struct AllowedCell {
    pub from: usize,
    pub to: usize,
    pub conduit: String,
    pub protocols: Vec<String>,
    pub access: String,
    pub requires_mfa: bool,
}

/// Builds the matrix from the conversations.
pub fn matrix(site: &Site, convs: &[Conversation]) -> MatrixView {
    // Count per cell and protocol without building a label per conversation.
    type Key<'a> = (Option<&'a str>, Option<&'a str>, Option<u16>);
    type Cell<'a> = (HashMap<Key<'a>, u64>, u64, u64);
    let mut cells: HashMap<(usize, usize), Cell<'_>> = HashMap::new();
    for c in convs {
        let cell = cells.entry((c.from_index, c.to_index)).or_default();
        let key = match &c.protocol {
            Some(p) => (Some(p.as_str()), None, None),
            None => (None, c.transport.as_deref(), c.dst_port),
        };
        *cell.0.entry(key).or_insert(0) += c.flows;
        cell.1 += c.flows;
        if c.judgement.violating() {
            cell.2 += c.flows;
        }
    }
    let mut seen: Vec<Seen> = cells
        .into_iter()
        .map(|((from, to), (protos, flows, violating_flows))| {
            let mut protocols = BTreeMap::new();
            for ((p, t, port), n) in protos {
                let label = match (p, t, port) {
                    (Some(p), _, _) => p.to_string(),
                    (None, Some(t), Some(port)) => format!("{t}/{port}"),
                    (None, Some(t), None) => t.to_string(),
                    (None, None, _) => "ip".to_string(),
                };
                *protocols.entry(label).or_insert(0) += n;
            }
            Seen {
                from,
                to,
                protocols,
                flows,
                violating_flows,
            }
        })
        .collect();
    seen.sort_by_key(|s| (s.from, s.to));
    let allowed = match site.policy() {
        Some(p) => {
            let m = p.matrix();
            m.allowed
                .iter()
                .map(|e| AllowedCell {
                    from: e.from,
                    to: e.to,
                    conduit: e.conduit.to_string(),
                    protocols: e.protocols.iter().map(|p| p.to_string()).collect(),
                    access: format!("{:?}", e.access).to_ascii_lowercase(),
                    requires_mfa: e.requires_mfa,
                })
                .collect()
        }
        None => Vec::new(),
    };
    MatrixView {
        zones: site.zones().to_vec(),
        allowed,
        seen,
    }
}

/// A conduit with what crossed it.
#[derive(Clone, Debug, Serialize)]
pub struct ConduitView {
    pub name: String,
    pub from: String,
    pub to: Vec<String>,
    pub protocols: Vec<String>,
    pub access: String,
    pub clients: Option<Vec<String>>,
    pub servers: Option<Vec<String>>,
    pub requires_mfa: bool,
    pub description: Option<String>,
    /// Flows it allowed.
    pub allowed_flows: u64,
    /// Flows that broke it (it was the closest conduit).
    pub violating_flows: u64,
    /// Violating conversations charged to it.
    pub violations: Vec<ViolationView>,
}

/// A violating conversation, as listed.
#[derive(Clone, Debug, Serialize)]
pub struct ViolationView {
    pub src_ip: String,
    pub dst_ip: String,
    pub label: String,
    pub from_zone: String,
    pub to_zone: String,
    pub kinds: Vec<String>,
    pub explanation: String,
    pub flows: u64,
    pub sample_flow: String,
}

impl ViolationView {
    pub fn of(c: &Conversation) -> ViolationView {
        let mut kinds: Vec<String> = c
            .judgement
            .breaches
            .iter()
            .map(|b| b.kind.clone())
            .collect();
        kinds.dedup();
        ViolationView {
            src_ip: c.src_ip.clone(),
            dst_ip: c.dst_ip.clone(),
            label: c.label(),
            from_zone: c.from_zone.clone(),
            to_zone: c.to_zone.clone(),
            kinds,
            explanation: c
                .judgement
                .breaches
                .first()
                .map(|b| b.explanation.clone())
                .unwrap_or_default(),
            flows: c.flows,
            sample_flow: c.sample_flow.clone(),
        }
    }
}

/// The policy as shown: zones with asset counts, conduits with their traffic, and the
/// violations no conduit comes close to allowing.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyView {
    pub site: String,
    pub loaded: bool,
    pub origin: Option<String>,
    pub zones: Vec<(crate::site::ZoneInfo, u64)>,
    pub conduits: Vec<ConduitView>,
    /// Violations charged to no conduit.
    pub unmatched: Vec<ViolationView>,
    pub envelopes: Vec<Value>,
}

/// Builds the policy view.
pub fn policy_view(conn: &Connection, site: &Site, convs: &[Conversation]) -> Result<PolicyView> {
    let mut zone_assets = vec![0u64; site.zones().len()];
    let mut st = conn.prepare("SELECT ip FROM assets")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    for ip in rows {
        let i = site.zone_index(&ip?);
        if let Some(n) = zone_assets.get_mut(i) {
            *n += 1;
        }
    }
    let mut conduits: Vec<ConduitView> = match site.policy() {
        Some(p) => p
            .conduits()
            .iter()
            .map(|c| ConduitView {
                name: c.name.to_string(),
                from: c.from.to_string(),
                to: c.to.iter().map(|t| t.to_string()).collect(),
                protocols: c.protocols.iter().map(|p| p.to_string()).collect(),
                access: format!("{:?}", c.access).to_ascii_lowercase(),
                clients: c
                    .clients
                    .as_ref()
                    .map(|v| v.iter().map(|n| n.to_string()).collect()),
                servers: c
                    .servers
                    .as_ref()
                    .map(|v| v.iter().map(|n| n.to_string()).collect()),
                requires_mfa: c.requires_mfa,
                description: c.description.clone(),
                allowed_flows: 0,
                violating_flows: 0,
                violations: Vec::new(),
            })
            .collect(),
        None => Vec::new(),
    };
    let mut unmatched = Vec::new();
    for c in convs {
        if let Some(name) = &c.judgement.conduit {
            if let Some(cv) = conduits.iter_mut().find(|x| &x.name == name) {
                cv.allowed_flows += c.flows;
            }
            continue;
        }
        if !c.judgement.violating() {
            continue;
        }
        let charged = c.judgement.breaches.iter().find_map(|b| b.conduit.clone());
        match charged.and_then(|n| conduits.iter_mut().find(|x| x.name == n)) {
            Some(cv) => {
                cv.violating_flows += c.flows;
                if cv.violations.len() < 100 {
                    cv.violations.push(ViolationView::of(c));
                }
            }
            None => {
                if unmatched.len() < 200 {
                    unmatched.push(ViolationView::of(c));
                }
            }
        }
    }
    let envelopes = match site.policy() {
        Some(p) => p
            .envelopes()
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "device": e.device.to_string(),
                    "unit": e.unit,
                    "registers": format!("{}-{}", e.registers.first, e.registers.last),
                    "min": e.min,
                    "max": e.max,
                    "max_step": e.max_step,
                })
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(PolicyView {
        site: site.name().to_string(),
        loaded: site.policy().is_some(),
        origin: site.policy().map(|p| p.origin().display().to_string()),
        zones: site.zones().iter().cloned().zip(zone_assets).collect(),
        conduits,
        unmatched,
        envelopes,
    })
}

/// The worst violations for the overview: remote access into the control levels first,
/// then by flow count.
pub fn top_violations(convs: &[Conversation], n: usize) -> Vec<ViolationView> {
    let weight = |c: &Conversation| {
        c.judgement
            .breaches
            .iter()
            .map(|b| match b.kind.as_str() {
                "direct_enterprise_to_control" => 3u8,
                "remote_access_without_mfa" | "write_on_read_only" | "writer_not_allowed" => 2,
                _ => 1,
            })
            .max()
            .unwrap_or(0)
    };
    // Rank cheaply first, build the n views after.
    let mut v: Vec<(u8, &Conversation)> = convs
        .iter()
        .filter(|c| c.judgement.violating())
        .map(|c| (weight(c), c))
        .collect();
    let order = |a: &(u8, &Conversation), b: &(u8, &Conversation)| {
        b.0.cmp(&a.0)
            .then(b.1.flows.cmp(&a.1.flows))
            .then(a.1.src_ip.cmp(&b.1.src_ip))
            .then(a.1.dst_ip.cmp(&b.1.dst_ip))
    };
    if v.len() > n && n > 0 {
        v.select_nth_unstable_by(n - 1, order);
        v.truncate(n);
    }
    v.sort_by(order);
    v.truncate(n);
    v.into_iter().map(|(_, c)| ViolationView::of(c)).collect()
}

// ---------------------------------------------------------------------------------------
// Compliance: assessments kept by `sluice assess` (tables `assessments` and
// `assessment_controls`). Read through SQL only; an older store without the tables, or a
// row whose JSON cannot be read, gives an empty or partial view, never an error.
// ---------------------------------------------------------------------------------------

/// Most assessments the trend and the list show (the newest).
pub const MAX_ASSESSMENTS: i64 = 1000;
/// Roadmap steps the compliance summary lists.
pub const TOP_GAPS: usize = 10;

/// Whether a table exists.
fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        params![name],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Whether the store can hold assessments (an old store may lack the tables).
pub fn has_assessment_tables(conn: &Connection) -> Result<bool> {
    table_exists(conn, "assessments")
}

/// RFC 3339 with the fraction as `sluice assess list` prints it (microseconds, or
/// nanoseconds when needed).
fn rfc3339_ns(ns: i64) -> String {
    let base = sluice_policy::format_rfc3339(ns);
    let nanos = ns.rem_euclid(1_000_000_000);
    let frac = if nanos % 1000 == 0 {
        format!(".{:06}", nanos / 1000)
    } else {
        format!(".{nanos:09}")
    };
    format!("{}{frac}Z", base.trim_end_matches('Z'))
}

fn count_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Percent with one decimal; 0 when `total` is 0.
fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    (part as f64 * 1000.0 / total as f64).round() / 10.0
}

/// One stored assessment (a point of the trend, a row of the list).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AssessmentRow {
    pub id: i64,
    pub uuid: String,
    /// When made, ns since the epoch.
    pub created_ns: i64,
    /// When made, RFC 3339.
    pub created: String,
    pub frameworks: Vec<String>,
    pub site: Option<String>,
    /// Controls in scope (every assessable control of the frameworks).
    pub total: u64,
    /// Decided by evidence or answers (satisfied + partial + not satisfied).
    pub assessed: u64,
    pub satisfied: u64,
    pub partial: u64,
    pub not_satisfied: u64,
    /// satisfied / total, percent (one decimal).
    pub satisfied_pct: f64,
}

/// The stored assessments, oldest first (the newest [`MAX_ASSESSMENTS`]); empty when the
/// store has no assessment tables.
pub fn assessment_rows(conn: &Connection) -> Result<Vec<AssessmentRow>> {
    if !has_assessment_tables(conn)? {
        return Ok(Vec::new());
    }
    let total_sql = if table_exists(conn, "assessment_controls")? {
        "(SELECT COUNT(*) FROM assessment_controls c WHERE c.assessment_id = a.id)"
    } else {
        "NULL"
    };
    let sql = format!(
        "SELECT id, uuid, created, frameworks, site, assessed, satisfied, partial, not_satisfied, {total_sql} \
         FROM assessments a ORDER BY created DESC, id DESC LIMIT ?1"
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(params![MAX_ASSESSMENTS], |r| {
        let created: i64 = r.get(2)?;
        let frameworks: String = r.get(3)?;
        let assessed = count_of(r.get(5)?);
        let satisfied = count_of(r.get(6)?);
        let total = r
            .get::<_, Option<i64>>(9)?
            .map(count_of)
            .unwrap_or(assessed);
        Ok(AssessmentRow {
            id: r.get(0)?,
            uuid: r.get(1)?,
            created_ns: created,
            created: rfc3339_ns(created),
            frameworks: frameworks
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            site: r.get(4)?,
            total,
            assessed,
            satisfied,
            partial: count_of(r.get(7)?),
            not_satisfied: count_of(r.get(8)?),
            satisfied_pct: percent(satisfied, total),
        })
    })?;
    let mut v = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    v.reverse();
    Ok(v)
}

/// Controls by status.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct StatusCounts {
    pub total: u64,
    pub satisfied: u64,
    pub partial: u64,
    pub not_satisfied: u64,
    pub not_assessed: u64,
    pub not_applicable: u64,
}

/// Coverage of one framework (as the assessment computed it).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CoverageView {
    pub framework: String,
    pub name: String,
    pub total: u64,
    pub assessed: u64,
    pub satisfied: u64,
    pub partial: u64,
    pub not_satisfied: u64,
    /// satisfied (+ half of partial) / total, percent.
    pub score: f64,
}

/// IEC 62443: one foundational requirement in a zone.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct FrView {
    pub fr: String,
    pub title: Option<String>,
    pub sl_achieved: u8,
    pub sl_possible: u8,
}

/// IEC 62443: one zone, achieved (SL-A) against target (SL-T).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ZoneView {
    pub zone: String,
    pub level: Option<f64>,
    pub sl_target: Option<u8>,
    pub sl_achieved: u8,
    pub below_target: Vec<String>,
    pub frs: Vec<FrView>,
}

/// NIST CSF: the tier of one function.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CsfView {
    pub function: String,
    pub title: Option<String>,
    pub tier: u8,
    pub tier_name: String,
    pub score: f64,
    pub outcomes: u64,
    pub met: u64,
    pub partial: u64,
}

/// One roadmap step (a failing check to fix) with its phase.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct GapView {
    pub check: String,
    pub title: String,
    pub status: String,
    pub phase: String,
    pub priority: f64,
    pub risk: u8,
    pub effort: u8,
    pub controls: Vec<String>,
    pub role: Option<String>,
    pub remediation: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StoredControl {
    status: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StoredScores {
    coverage: Vec<CoverageView>,
    iec62443: Vec<ZoneView>,
    csf: Vec<CsfView>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StoredPhase {
    name: String,
    items: Vec<GapView>,
}

/// The parts of a stored assessment's JSON the console shows (see `sluice_assess::model`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct StoredAssessment {
    created: Option<String>,
    site: Option<String>,
    frameworks: Vec<String>,
    controls: Vec<StoredControl>,
    scores: StoredScores,
    gaps: Vec<serde::de::IgnoredAny>,
    roadmap: Vec<StoredPhase>,
    notes: Vec<String>,
}

/// One assessment as the compliance page shows it.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ComplianceSummary {
    pub id: i64,
    pub uuid: String,
    /// When made, RFC 3339.
    pub created: String,
    pub site: Option<String>,
    pub frameworks: Vec<String>,
    /// Every assessable control of the frameworks, by status.
    pub counts: StatusCounts,
    /// satisfied / total, percent.
    pub satisfied_pct: f64,
    pub coverage: Vec<CoverageView>,
    /// IEC 62443 SL-A against SL-T per zone.
    pub iec62443: Vec<ZoneView>,
    /// NIST CSF tier per function.
    pub csf: Vec<CsfView>,
    /// Controls not (fully) met.
    pub gaps: u64,
    /// Roadmap steps in all.
    pub roadmap_steps: u64,
    /// The first [`TOP_GAPS`] roadmap steps, in roadmap order (phase by phase).
    pub top_gaps: Vec<GapView>,
    /// Caveats from the assessment (and from reading it).
    pub notes: Vec<String>,
}

fn summary_of(row: &AssessmentRow, json: Option<&str>) -> ComplianceSummary {
    let mut notes = Vec::new();
    let parsed: Option<StoredAssessment> = json.and_then(|j| match serde_json::from_str(j) {
        Ok(a) => Some(a),
        Err(e) => {
            notes.push(format!(
                "the stored assessment JSON could not be read ({e}); only the counts kept beside it are shown"
            ));
            None
        }
    });
    let Some(a) = parsed else {
        return ComplianceSummary {
            id: row.id,
            uuid: row.uuid.clone(),
            created: row.created.clone(),
            site: row.site.clone(),
            frameworks: row.frameworks.clone(),
            counts: StatusCounts {
                total: row.total,
                satisfied: row.satisfied,
                partial: row.partial,
                not_satisfied: row.not_satisfied,
                not_assessed: row.total.saturating_sub(row.assessed),
                not_applicable: 0,
            },
            satisfied_pct: row.satisfied_pct,
            notes,
            ..ComplianceSummary::default()
        };
    };
    let mut counts = StatusCounts::default();
    for c in &a.controls {
        counts.total += 1;
        match c.status.as_str() {
            "satisfied" => counts.satisfied += 1,
            "partial" => counts.partial += 1,
            "not-satisfied" => counts.not_satisfied += 1,
            "not-applicable" => counts.not_applicable += 1,
            _ => counts.not_assessed += 1,
        }
    }
    let roadmap_steps = a.roadmap.iter().map(|p| p.items.len() as u64).sum();
    let top_gaps = a
        .roadmap
        .into_iter()
        .flat_map(|p| {
            let name = p.name;
            p.items.into_iter().map(move |mut i| {
                if i.phase.is_empty() {
                    i.phase = name.clone();
                }
                i
            })
        })
        .take(TOP_GAPS)
        .collect();
    notes.extend(a.notes);
    ComplianceSummary {
        id: row.id,
        uuid: row.uuid.clone(),
        created: a.created.unwrap_or_else(|| row.created.clone()),
        site: a.site.or_else(|| row.site.clone()),
        frameworks: if a.frameworks.is_empty() {
            row.frameworks.clone()
        } else {
            a.frameworks
        },
        satisfied_pct: percent(counts.satisfied, counts.total),
        counts,
        coverage: a.scores.coverage,
        iec62443: a.scores.iec62443,
        csf: a.scores.csf,
        gaps: a.gaps.len() as u64,
        roadmap_steps,
        top_gaps,
        notes,
    }
}

/// The compliance view: one assessment's summary (`id`, or the newest) and the trend over
/// every stored assessment (oldest first).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Compliance {
    /// Whether the store has the assessment tables at all.
    pub tables: bool,
    /// The chosen (or newest) assessment; `None` when there is none (or no such id).
    pub latest: Option<ComplianceSummary>,
    /// One point per stored assessment, oldest first.
    pub trend: Vec<AssessmentRow>,
}

/// The compliance view; `id` picks an assessment other than the newest.
pub fn compliance(conn: &Connection, id: Option<i64>) -> Result<Compliance> {
    if !has_assessment_tables(conn)? {
        return Ok(Compliance::default());
    }
    let trend = assessment_rows(conn)?;
    let pick = match id {
        Some(n) => trend.iter().find(|r| r.id == n),
        None => trend.last(),
    };
    let latest = match pick {
        Some(row) => {
            let json: Option<String> = conn
                .query_row(
                    "SELECT json FROM assessments WHERE id = ?1",
                    params![row.id],
                    |r| r.get(0),
                )
                .optional()?;
            Some(summary_of(row, json.as_deref()))
        }
        None => None,
    };
    Ok(Compliance {
        tables: true,
        latest,
        trend,
    })
}

/// One stored assessment's JSON (as `sluice assess --format json` writes it), by store id
/// or UUID. `None` when there is no such assessment or no assessment table.
pub fn assessment_json(conn: &Connection, id: &str) -> Result<Option<Value>> {
    if !has_assessment_tables(conn)? {
        return Ok(None);
    }
    let id = id.trim();
    let row: Option<(i64, String, String)> = match id.parse::<i64>() {
        Ok(n) => conn
            .query_row(
                "SELECT id, uuid, json FROM assessments WHERE id = ?1",
                params![n],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?,
        Err(_) => conn
            .query_row(
                "SELECT id, uuid, json FROM assessments WHERE uuid = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?,
    };
    Ok(row.map(|(id, uuid, json)| {
        serde_json::from_str(&json).unwrap_or_else(|e| {
            serde_json::json!({
                "id": id,
                "uuid": uuid,
                "error": format!("the stored assessment JSON could not be read: {e}"),
            })
        })
    }))
}
