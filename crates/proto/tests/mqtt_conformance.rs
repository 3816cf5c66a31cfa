//! MQTT on the shared captures: values checked against tshark (hard-coded), and
//! conformance with Zeek (mqtt_connect / mqtt_publish / mqtt_subscribe logs),
//! suricata-verify (mqtt yaml, including the excessive-property-length anomaly) and
//! tshark (TSV). Every oracle fact must be among ours or listed with evidence in
//! `tests/mqtt_allowlist.txt`.
mod it_support;

use it_support::*;
use sluice_proto::mqtt::{Transaction, DESC};
use sluice_proto::{Direction, Output, Record};
use std::collections::{BTreeMap, BTreeSet};

fn mqtt_txns(out: &[Output]) -> Vec<(&sluice_proto::Txn, &Transaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Mqtt(d) => Some((t, &**d)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

const CAPTURES: &[&str] = &[
    "mqtt-sv-311-pub-userpass",
    "mqtt-sv-5-excessive-proplen",
    "mqtt-sv-5-pub-mosquittoprops",
    "mqtt-zeek-mqtt",
];

#[test]
fn userpass_values_without_password() {
    let Some(res) = run_capture(&DESC, "mqtt/mqtt-sv-311-pub-userpass.pcap") else {
        return;
    };
    let out = &res[0].1;
    assert!(anomalies(out).is_empty());
    let t = mqtt_txns(out);
    // tshark: frames 4 Connect, 6 Connect Ack, 8 Publish [topicX], 9 Disconnect
    let types: Vec<_> = t.iter().map(|(_, m)| m.packet_type).collect();
    assert_eq!(types, [1, 3, 14]);
    let c = t[0].1.connect.as_ref().unwrap();
    assert_eq!(c.client_id, "myvoiceismypassport");
    assert_eq!(c.protocol_version, 4);
    assert_eq!(c.username.as_deref(), Some("user"));
    assert!(c.username_present && c.password_present && c.clean_session);
    assert_eq!(c.keep_alive, 60);
    assert_eq!(t[0].1.reply.as_ref().unwrap().reason_code, Some(0));
    let p = t[1].1.publish.as_ref().unwrap();
    assert_eq!((p.topic.as_str(), p.payload_len), ("topicX", 16));
    for (txn, _) in &t {
        let json = serde_json::to_string(&txn.record).unwrap();
        assert!(!json.contains("\"pass\""), "password leaked: {json}");
    }
}

#[test]
fn excessive_property_length_is_an_anomaly() {
    let Some(res) = run_capture(&DESC, "mqtt/mqtt-sv-5-excessive-proplen.pcap") else {
        return;
    };
    let out = &res[0].1;
    let a = anomalies(out);
    // tshark frame 4: "Connect Command[Malformed Packet]"
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].kind, "bad_property_length");
    assert_eq!(a[0].dir, Direction::ToServer);
    // the malformed CONNECT is kept (protocol and level, marked truncated) and paired
    // with its CONNACK; the rest of the flow still parses as MQTT 5 (frames 6, 8, 9)
    let t = mqtt_txns(out);
    let types: Vec<_> = t.iter().map(|(_, m)| m.packet_type).collect();
    assert_eq!(types, [1, 3, 14]);
    assert!(t[0].1.truncated);
    assert_eq!(t[0].1.connect.as_ref().unwrap().protocol_version, 5);
    assert_eq!(t[0].1.reply.as_ref().unwrap().packet_type, 2);
}

#[test]
fn zeek_capture_values() {
    let Some(res) = run_capture(&DESC, "mqtt/mqtt-zeek-mqtt.pcap") else {
        return;
    };
    assert_eq!(res.len(), 2);
    let all: Vec<_> = res
        .iter()
        .flat_map(|(_, o)| mqtt_txns(o))
        .map(|(t, m)| (t.dir, m.clone()))
        .collect();
    // tshark: 2 Connect, 1 Subscribe (id=1), 3 Publish, 6 Ping Request, 1 Disconnect
    let count = |ty: u8| all.iter().filter(|(_, m)| m.packet_type == ty).count();
    assert_eq!(
        (count(1), count(8), count(3), count(12), count(14)),
        (2, 1, 3, 5, 1)
    );
    let sub = all.iter().find(|(_, m)| m.packet_type == 8).unwrap();
    assert_eq!(sub.1.packet_id, Some(1));
    assert_eq!(sub.1.topics[0].topic, "SampleTopic");
    assert_eq!(sub.1.reply.as_ref().unwrap().reason_codes, [0]);
    let from_server = all
        .iter()
        .filter(|(d, m)| *d == Direction::ToClient && m.packet_type == 3)
        .count();
    assert_eq!(from_server, 2);
}

fn tf(b: bool) -> &'static str {
    if b {
        "T"
    } else {
        "F"
    }
}

fn zeek_version(level: u8) -> &'static str {
    match level {
        3 => "3.1",
        4 => "3.1.1",
        5 => "5.0",
        _ => "-",
    }
}

fn qos_name(q: u8) -> &'static str {
    match q {
        0 => "at most once",
        1 => "at least once",
        2 => "exactly once",
        _ => "-",
    }
}

fn zeek_facts(out: &[Output]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for (txn, m) in mqtt_txns(out) {
        if let Some(c) = &m.connect {
            let status = match m.reply.as_ref().and_then(|r| r.reason_code) {
                Some(0) => "Connection Accepted",
                Some(_) => "Connection Refused",
                None => "-",
            };
            s.insert(format!(
                "connect {} {} {} {status}",
                c.protocol_name,
                zeek_version(c.protocol_version),
                c.client_id
            ));
        }
        if let Some(p) = &m.publish {
            s.insert(format!(
                "publish from_client={} retain={} qos={} topic={} payload={} len={}",
                tf(txn.dir == Direction::ToServer),
                tf(m.retain),
                qos_name(m.qos),
                p.topic,
                p.payload.as_deref().unwrap_or("-"),
                p.payload_len
            ));
        }
        if m.packet_type == 8 || m.packet_type == 10 {
            let action = if m.packet_type == 8 {
                "MQTT::SUBSCRIBE"
            } else {
                "MQTT::UNSUBSCRIBE"
            };
            let topics: Vec<_> = m.topics.iter().map(|t| t.topic.clone()).collect();
            let qos: Vec<_> = m
                .topics
                .iter()
                .map(|t| t.qos.unwrap_or(0).to_string())
                .collect();
            let granted = m
                .reply
                .as_ref()
                .and_then(|r| r.reason_codes.first())
                .map_or("-".to_string(), |g| g.to_string());
            s.insert(format!(
                "subscribe {action} {} {} {granted} {}",
                topics.join(","),
                qos.join(","),
                tf(m.reply.is_some())
            ));
        }
    }
    s
}

fn zeek_expected(kind: &str, rows: &Rows) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for r in rows {
        let g = |k: &str| r.get(k).cloned().unwrap_or("-".into());
        match kind {
            "connect" => {
                s.insert(format!(
                    "connect {} {} {} {}",
                    g("proto_name"),
                    g("proto_version"),
                    g("client_id"),
                    g("connect_status")
                ));
            }
            "publish" => {
                s.insert(format!(
                    "publish from_client={} retain={} qos={} topic={} payload={} len={}",
                    g("from_client"),
                    g("retain"),
                    g("qos"),
                    g("topic"),
                    g("payload"),
                    g("payload_len")
                ));
            }
            _ => {
                s.insert(format!(
                    "subscribe {} {} {} {} {}",
                    g("action"),
                    g("topics"),
                    g("qos_levels"),
                    g("granted_qos_level"),
                    g("ack")
                ));
            }
        }
    }
    s
}

fn tshark_facts(out: &[Output]) -> BTreeSet<String> {
    let mut counts: BTreeMap<u8, usize> = BTreeMap::new();
    let mut s = BTreeSet::new();
    for (_, m) in mqtt_txns(out) {
        *counts.entry(m.packet_type).or_default() += 1;
        if let Some(r) = &m.reply {
            if r.packet_type != m.packet_type {
                *counts.entry(r.packet_type).or_default() += 1;
            }
        }
        if let Some(c) = &m.connect {
            s.insert(format!("clientid {}", c.client_id));
        }
        if let Some(p) = &m.publish {
            s.insert(format!("topic {}", p.topic));
        }
        for t in &m.topics {
            s.insert(format!("topic {}", t.topic));
        }
    }
    for (t, n) in counts {
        s.insert(format!("msgtype {t} x{n}"));
    }
    s
}

fn tshark_expected(rows: &Rows) -> BTreeSet<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut s = BTreeSet::new();
    for r in rows {
        let g = |k: &str| r.get(k).cloned().unwrap_or_default();
        for t in g("mqtt.msgtype").split(',').filter(|t| !t.is_empty()) {
            *counts.entry(t.to_string()).or_default() += 1;
        }
        for c in g("mqtt.clientid").split(',').filter(|t| !t.is_empty()) {
            s.insert(format!("clientid {c}"));
        }
        for t in g("mqtt.topic").split(',').filter(|t| !t.is_empty()) {
            s.insert(format!("topic {t}"));
        }
    }
    for (t, n) in counts {
        s.insert(format!("msgtype {t} x{n}"));
    }
    s
}

/// Our transaction in Suricata's EVE `mqtt.*` terms (one event holds a request and
/// its answer). The password is never kept: `connect.password` has no counterpart.
fn suricata_view(m: &Transaction) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let mut put = |k: String, val: String| {
        v.insert(k, val);
    };
    let props =
        |p: &sluice_proto::mqtt::Properties, prefix: &str, put: &mut dyn FnMut(String, String)| {
            let json = serde_json::to_value(p).unwrap();
            for (k, val) in flatten(&json) {
                put(format!("{prefix}.properties.{k}"), val);
            }
        };
    let fixed =
        |name: &str, qos: u8, retain: bool, dup: bool, put: &mut dyn FnMut(String, String)| {
            put(format!("{name}.qos"), qos.to_string());
            put(format!("{name}.retain"), retain.to_string());
            put(format!("{name}.dup"), dup.to_string());
        };
    if let Some(c) = &m.connect {
        fixed("connect", m.qos, m.retain, m.dup, &mut put);
        put("connect.protocol_string".into(), c.protocol_name.clone());
        put(
            "connect.protocol_version".into(),
            c.protocol_version.to_string(),
        );
        put(
            "connect.flags.username".into(),
            c.username_present.to_string(),
        );
        put(
            "connect.flags.password".into(),
            c.password_present.to_string(),
        );
        put("connect.flags.will".into(), c.will.is_some().to_string());
        put(
            "connect.flags.will_retain".into(),
            c.will.as_ref().is_some_and(|w| w.retain).to_string(),
        );
        put(
            "connect.flags.clean_session".into(),
            c.clean_session.to_string(),
        );
        put("connect.client_id".into(), c.client_id.clone());
        if let Some(u) = &c.username {
            put("connect.username".into(), u.clone());
        }
        if let Some(w) = &c.will {
            put("connect.will.topic".into(), w.topic.clone());
            put(
                "connect.will.message".into(),
                format!("<{} bytes>", w.payload_len),
            );
            props(&w.properties, "connect.will", &mut put);
        }
        props(&c.properties, "connect", &mut put);
    }
    if let Some(p) = &m.publish {
        fixed("publish", m.qos, m.retain, m.dup, &mut put);
        put("publish.topic".into(), p.topic.clone());
        if let Some(pl) = &p.payload {
            put("publish.message".into(), pl.clone());
        }
        if let Some(id) = m.packet_id {
            put("publish.message_id".into(), id.to_string());
        }
        props(&p.properties, "publish", &mut put);
    }
    if m.packet_type == 14 {
        fixed("disconnect", m.qos, m.retain, m.dup, &mut put);
        if let Some(r) = m.reason_code {
            put("disconnect.reason_code".into(), r.to_string());
        }
        props(&m.properties, "disconnect", &mut put);
    }
    if let Some(r) = &m.reply {
        let name = r.packet_type_name.to_ascii_lowercase();
        // acknowledgements have fixed header flags 0 (the parser rejects others)
        fixed(&name, 0, false, false, &mut put);
        if let Some(sp) = r.session_present {
            put(format!("{name}.session_present"), sp.to_string());
        }
        if let Some(code) = r.reason_code {
            let key = if name == "connack" {
                "return_code"
            } else {
                "reason_code"
            };
            put(format!("{name}.{key}"), code.to_string());
        }
        if let Some(id) = m.packet_id {
            put(format!("{name}.message_id"), id.to_string());
        }
        props(&r.properties, &name, &mut put);
    }
    v
}

#[test]
fn conformance() {
    if shared_data().is_none() {
        return;
    }
    let mut allow = Allowlist::load("mqtt");
    let mut agree = Agreement::default();
    for cap in CAPTURES {
        let Some(res) = run_capture(&DESC, &format!("mqtt/{cap}.pcap")) else {
            continue;
        };
        let out: Vec<Output> = res.iter().flat_map(|(_, o)| o.clone()).collect();
        for kind in ["connect", "publish", "subscribe"] {
            if let Some(p) = expected(&format!("zeek/{cap}.mqtt_{kind}.log")) {
                let ours: BTreeSet<String> = zeek_facts(&out)
                    .into_iter()
                    .filter(|f| f.starts_with(kind))
                    .collect();
                agree.check(
                    "zeek",
                    cap,
                    &zeek_expected(kind, &zeek_log(&p)),
                    &ours,
                    &mut allow,
                );
            }
        }
        if let Some(p) = expected(&format!("tshark/{cap}.tsv")) {
            agree.check(
                "tshark",
                cap,
                &tshark_expected(&tshark_tsv(&p)),
                &tshark_facts(&out),
                &mut allow,
            );
        }
        let views: Vec<_> = mqtt_txns(&out)
            .iter()
            .map(|(_, m)| suricata_view(m))
            .collect();
        for path in suricata_files(cap) {
            for (i, c) in suricata_checks(&path).iter().enumerate() {
                match c.get("event_type") {
                    Some("mqtt") => {}
                    Some("anomaly") => {
                        let n = anomalies(&out)
                            .iter()
                            .filter(|a| a.protocol == "mqtt")
                            .count();
                        agree.single(
                            "suricata",
                            cap,
                            n == c.count,
                            &format!("check{i} anomalies={n} expected={}", c.count),
                            &mut allow,
                        );
                        continue;
                    }
                    _ => continue,
                }
                let mut keys = Vec::new();
                for (k, v) in &c.keys {
                    let Some(k) = k.strip_prefix("mqtt.") else {
                        continue;
                    };
                    if k == "connect.password" {
                        // never stored: one allowlisted fact per check
                        agree.single(
                            "suricata",
                            cap,
                            false,
                            &format!("check{i} {k}={v}"),
                            &mut allow,
                        );
                        continue;
                    }
                    let v = if k == "connect.will.message" {
                        format!("<{} bytes>", v.len())
                    } else {
                        v.clone()
                    };
                    keys.push((k.to_string(), v));
                }
                let n = views
                    .iter()
                    .filter(|f| keys.iter().all(|(k, v)| f.get(k) == Some(v)))
                    .count();
                agree.single(
                    "suricata",
                    cap,
                    n == c.count,
                    &format!("check{i} count={n} expected={}", c.count),
                    &mut allow,
                );
            }
        }
    }
    agree.finish("mqtt", &allow);
}
