//! Suricata EVE-compatible alert records, so tools that read Suricata's `eve.json`
//! (dashboards, SIEM parsers) take Sluice alerts unchanged: `timestamp`, `flow_id`,
//! `event_type: "alert"`, `src_ip`, `src_port`, `dest_ip`, `dest_port`, `proto`,
//! `app_proto`, and `alert` with `action`, `gid`, `signature_id`, `rev`, `signature`,
//! `category`, `severity` (Suricata's 1 = high .. 4 = informational) and `metadata`
//! (Sluice's own fields as lists of strings, as Suricata rule metadata is).

use serde_json::{json, Map, Value};
use sluice_engine::event::{Body, Event};

/// Suricata's timestamp format: `2021-02-05T13:01:21.123456+0000`.
pub fn timestamp(ts: i64) -> String {
    let s = sluice_engine::time::rfc3339(ts);
    // rfc3339 gives `...T13:01:21.123456789Z` or without fraction; normalise to µs.
    let (main, frac) = match s.trim_end_matches('Z').split_once('.') {
        Some((m, f)) => (m.to_string(), f.to_string()),
        None => (s.trim_end_matches('Z').to_string(), String::new()),
    };
    let mut us: String = frac.chars().filter(char::is_ascii_digit).take(6).collect();
    while us.len() < 6 {
        us.push('0');
    }
    format!("{main}.{us}+0000")
}

/// Suricata severity (1 high .. 4) of a Sluice severity (1-100).
pub fn severity(s: u8) -> u8 {
    match s {
        75..=u8::MAX => 1,
        50..=74 => 2,
        25..=49 => 3,
        _ => 4,
    }
}

/// A Suricata signature id for a rule id: `9` followed by six digits derived from the id.
pub fn signature_id(rule_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rule_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    9_000_000 + h % 1_000_000
}

/// The EVE record of an alert event (`None` for other events).
pub fn alert(e: &Event) -> Option<Value> {
    let Body::Alert(a) = &e.body else {
        return None;
    };
    let mut o = Map::new();
    o.insert("timestamp".into(), Value::String(timestamp(e.ts)));
    if let Some(u) = e.flow_uid {
        // Suricata's flow_id is a positive 51-bit number.
        o.insert("flow_id".into(), Value::from(u & ((1 << 51) - 1)));
    }
    o.insert("event_type".into(), Value::String("alert".into()));
    if let Some(s) = e.src {
        o.insert("src_ip".into(), Value::String(s.ip.to_string()));
        o.insert("src_port".into(), Value::from(s.port));
    }
    if let Some(d) = e.dst {
        o.insert("dest_ip".into(), Value::String(d.ip.to_string()));
        o.insert("dest_port".into(), Value::from(d.port));
    }
    if let Some(t) = e.transport {
        o.insert("proto".into(), Value::String(t.to_ascii_uppercase()));
    }
    if let Some(p) = e.protocol {
        o.insert("app_proto".into(), Value::String(p.to_string()));
    }
    let mut meta = Map::new();
    let list = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    meta.insert(
        "sluice_rule_id".into(),
        list(std::slice::from_ref(&a.rule_id)),
    );
    meta.insert("sluice_alert_id".into(), list(std::slice::from_ref(&a.id)));
    meta.insert("sluice_severity".into(), list(&[a.severity.to_string()]));
    meta.insert("sluice_count".into(), list(&[a.count.to_string()]));
    if let Some(t) = &a.technique_id {
        meta.insert("mitre_technique_id".into(), list(std::slice::from_ref(t)));
    }
    if let Some(t) = &a.technique_name {
        meta.insert("mitre_technique_name".into(), list(std::slice::from_ref(t)));
    }
    if let Some(t) = &a.tactic {
        meta.insert("mitre_tactic_name".into(), list(std::slice::from_ref(t)));
    }
    if let Some(c) = &a.chain_id {
        meta.insert("sluice_chain_id".into(), list(std::slice::from_ref(c)));
    }
    if !a.controls.is_empty() {
        meta.insert("controls".into(), list(&a.controls));
    }
    if !a.asset_ids.is_empty() {
        meta.insert("asset_ids".into(), list(&a.asset_ids));
    }
    o.insert(
        "alert".into(),
        json!({
            "action": "allowed",
            "gid": 1,
            "signature_id": signature_id(&a.rule_id),
            "rev": 1,
            "signature": format!("SLUICE {}", a.rule_name),
            "category": a.tactic.clone().unwrap_or_else(|| "Sluice OT detection".into()),
            "severity": severity(a.severity),
            "metadata": meta,
        }),
    );
    o.insert(
        "sluice".into(),
        json!({"explanation": a.explanation, "details": a.details}),
    );
    Some(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suricata_formats() {
        assert_eq!(
            timestamp(1_612_530_081_123_456_789),
            "2021-02-05T13:01:21.123456+0000"
        );
        assert_eq!(
            timestamp(1_612_530_081_000_000_000),
            "2021-02-05T13:01:21.000000+0000"
        );
        assert_eq!(severity(95), 1);
        assert_eq!(severity(60), 2);
        assert_eq!(severity(10), 4);
        let s = signature_id("SLC-ENV-001");
        assert!((9_000_000..10_000_000).contains(&s));
        assert_eq!(s, signature_id("SLC-ENV-001"));
    }
}
