//! `/metrics` in the Prometheus text format (0.0.4): what the store holds (events, alerts,
//! flows, assets), what the last analysis run counted (packets, drops, decode errors, its
//! duration), and the console's own request counts and latency.
//!
//! It needs authentication like the API (a Bearer token of any role): the numbers describe
//! the plant's security state.
use crate::data;
use crate::Console;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Request counters of the console itself.
#[derive(Default)]
pub struct HttpMetrics {
    by_class: [AtomicU64; 5],
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl HttpMetrics {
    /// Counts one answered request.
    pub fn observe(&self, status: u16, took: Duration) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        if let Some(c) = self.by_class.get(class) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let secs = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                if let Some(c) = self.buckets.get(i) {
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

fn gauge(o: &mut String, name: &str, help: &str, kind: &str, v: impl std::fmt::Display) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
}

/// `GET /metrics`.
pub async fn metrics(State(c): State<Console>) -> Response {
    let r = c
        .db()
        .run(|conn| {
            Ok((
                data::totals(conn)?,
                data::health(conn)?,
                count_events(conn)?,
            ))
        })
        .await;
    let (t, h, by_dataset) = match r {
        Ok(x) => x,
        Err(e) => {
            tracing::error!("metrics: {e}");
            return (StatusCode::INTERNAL_SERVER_ERROR, "store unavailable\n").into_response();
        }
    };
    let mut o = String::with_capacity(4096);
    let _ = writeln!(
        o,
        "# HELP sluice_events Transactions and anomalies written by the recorded runs, per dataset.\n# TYPE sluice_events gauge"
    );
    for (ds, n) in &by_dataset {
        let _ = writeln!(o, "sluice_events{{dataset=\"{}\"}} {n}", label(ds));
    }
    gauge(
        &mut o,
        "sluice_flows",
        "Flows in the store.",
        "gauge",
        t.flows,
    );
    gauge(
        &mut o,
        "sluice_assets",
        "Assets in the store.",
        "gauge",
        t.assets,
    );
    let _ = writeln!(
        o,
        "# HELP sluice_alerts Alerts in the store, per severity class and status.\n# TYPE sluice_alerts gauge"
    );
    for (i, s) in data::SEVERITIES.iter().enumerate() {
        let _ = writeln!(
            o,
            "sluice_alerts{{severity=\"{s}\",status=\"open\"}} {}",
            t.open_by_severity.get(i).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(
        o,
        "sluice_alerts{{severity=\"any\",status=\"acknowledged\"}} {}",
        t.alerts.saturating_sub(t.alerts_open)
    );
    if let Some(h) = &h {
        gauge(
            &mut o,
            "sluice_runs",
            "Analysis runs recorded.",
            "gauge",
            h.runs,
        );
        gauge(
            &mut o,
            "sluice_last_run_packets",
            "Packets read by the last run.",
            "gauge",
            h.packets,
        );
        gauge(
            &mut o,
            "sluice_last_run_bytes",
            "Bytes read by the last run.",
            "gauge",
            h.bytes,
        );
        gauge(
            &mut o,
            "sluice_last_run_drops",
            "Flows evicted, reassembly overflows and fragments dropped in the last run.",
            "gauge",
            h.drops,
        );
        gauge(
            &mut o,
            "sluice_last_run_decode_errors",
            "Frames that did not decode in the last run.",
            "gauge",
            h.decode_errors,
        );
        gauge(
            &mut o,
            "sluice_last_run_tcp_gaps",
            "TCP sequence gaps in the last run.",
            "gauge",
            h.tcp_gaps,
        );
        gauge(
            &mut o,
            "sluice_last_run_duration_seconds",
            "Wall-clock duration of the last analysis run.",
            "gauge",
            format!("{:.3}", h.duration_ns as f64 / 1e9),
        );
        gauge(
            &mut o,
            "sluice_last_run_complete",
            "1 when the last run completed without an input error.",
            "gauge",
            u8::from(h.last_status == "complete"),
        );
    }
    let m = &c.inner.metrics;
    let _ = writeln!(
        o,
        "# HELP sluice_console_requests_total Requests answered by the console, per status class.\n# TYPE sluice_console_requests_total counter"
    );
    for (i, cls) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
        let _ = writeln!(
            o,
            "sluice_console_requests_total{{code=\"{cls}\"}} {}",
            m.by_class.get(i).map_or(0, |c| c.load(Ordering::Relaxed))
        );
    }
    let _ = writeln!(
        o,
        "# HELP sluice_console_request_duration_seconds Time to answer a request.\n# TYPE sluice_console_request_duration_seconds histogram"
    );
    for (i, b) in BUCKETS.iter().enumerate() {
        let _ = writeln!(
            o,
            "sluice_console_request_duration_seconds_bucket{{le=\"{b}\"}} {}",
            m.buckets.get(i).map_or(0, |c| c.load(Ordering::Relaxed))
        );
    }
    let count = m.count.load(Ordering::Relaxed);
    let _ = writeln!(
        o,
        "sluice_console_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
         sluice_console_request_duration_seconds_sum {:.6}\n\
         sluice_console_request_duration_seconds_count {count}",
        m.sum_us.load(Ordering::Relaxed) as f64 / 1e6
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        o,
    )
        .into_response()
}

/// Events written per dataset, summed over the runs' statistics (a scrape must not count a
/// million rows): `sluice.<protocol>` transactions and `sluice.anomaly`.
fn count_events(conn: &rusqlite::Connection) -> crate::Result<Vec<(String, u64)>> {
    let mut st = conn.prepare("SELECT stats FROM runs WHERE stats IS NOT NULL")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for row in rows {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&row?) else {
            continue;
        };
        if let Some(m) = v.get("transactions").and_then(|t| t.as_object()) {
            for (proto, n) in m {
                *out.entry(format!("sluice.{proto}")).or_insert(0) += n.as_u64().unwrap_or(0);
            }
        }
        *out.entry("sluice.anomaly".into()).or_insert(0) +=
            v.get("anomalies").and_then(|n| n.as_u64()).unwrap_or(0);
    }
    Ok(out.into_iter().collect())
}

/// Escapes a label value.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
