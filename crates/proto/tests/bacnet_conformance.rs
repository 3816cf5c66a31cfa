//! Conformance of the BACnet/IP parser with Zeek (ICSNPP bacnet, bacnet_discovery,
//! bacnet_property logs) and tshark (per-packet dissection) on the shared captures.
//!
//! Every transaction becomes its messages, compared with the oracle's as multisets;
//! differences must be listed with their reason in `tests/bacnet_allowlist.txt`.
//! An agreement table is printed (`--nocapture`).
#[path = "enip_support/mod.rs"]
mod conf;
mod support;

use conf::{add, expected, tshark_rows, zeek_rows, Bag, Report};
use sluice_proto::bacnet::{self, Transaction, Value};
use sluice_proto::{Output, Record};

fn run(rel: &str) -> Option<Vec<Transaction>> {
    let p = support::pcap(rel)?;
    Some(
        support::run(&bacnet::DESC, &p)
            .into_iter()
            .flat_map(|(_, out)| out)
            .filter_map(|o| match o {
                Output::Txn(t) => match t.record {
                    Record::Bacnet(b) => Some(*b),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
    )
}

fn pdu_zeek(p: &str) -> String {
    p.to_lowercase().trim_end_matches("_pdu").to_string()
}

/// bacnet.log: (bvlc function, pdu type, service, invoke id, result) per message.
fn bacnet_log_ours(txs: &[Transaction]) -> Bag {
    let mut bag = Bag::new();
    for t in txs {
        let Some(pdu) = t.pdu_type else { continue };
        let inv = t.invoke_id.map_or("-".into(), |i| i.to_string());
        if t.request {
            add(
                &mut bag,
                format!("{} {pdu} {} {inv} -", t.bvlc_function, t.function),
            );
        }
        if let (true, Some(rp)) = (t.response, t.response_pdu_type) {
            let result = t.error_code.or(t.reason).unwrap_or("-");
            let service = match rp {
                "reject" | "abort" => rp,
                _ => t.function,
            };
            add(
                &mut bag,
                format!(
                    "{} {rp} {service} {inv} {result}",
                    t.response_bvlc_function.unwrap_or(t.bvlc_function)
                ),
            );
        }
        if !t.request && !t.response {
            add(
                &mut bag,
                format!("{} {pdu} {} {inv} -", t.bvlc_function, t.function),
            );
        }
    }
    bag
}

fn bacnet_log_zeek(rows: &[Vec<String>]) -> Bag {
    let mut bag = Bag::new();
    for r in rows {
        add(
            &mut bag,
            format!(
                "{} {} {} {} {}",
                r[11].to_lowercase(),
                pdu_zeek(&r[12]),
                r[13],
                r[14],
                r[15]
            ),
        );
    }
    bag
}

fn discovery_ours(txs: &[Transaction]) -> Bag {
    let mut bag = Bag::new();
    for t in txs {
        let Some(d) = t.detail.as_deref() else {
            continue;
        };
        let range = match (d.low_limit, d.high_limit) {
            (Some(l), Some(h)) => format!("{l}-{h}"),
            _ => "All".into(),
        };
        let obj = |o: Option<bacnet::ObjectId>| {
            o.map_or("- -".to_string(), |o| {
                format!("{} {}", o.type_name, o.instance)
            })
        };
        let key = match t.function {
            "who_is" => format!("who-is - - - - {range} -"),
            "i_am" => format!(
                "i-am - - {} {} -",
                obj(d.device),
                // Zeek's vendor table drops the commas of the ASHRAE names.
                d.vendor_name
                    .map(|v| v.replace(',', ""))
                    .unwrap_or_else(|| format!("Unknown Vendor-0x{:x}", d.vendor_id.unwrap_or(0)))
            ),
            "who_has" => format!(
                "who-has - - {} {range} {}",
                obj(d.object),
                d.object_name.clone().unwrap_or("-".into())
            ),
            "i_have" => format!(
                "i-have {} {} - {}",
                obj(d.device),
                obj(d.object),
                d.object_name.clone().unwrap_or("-".into())
            ),
            _ => continue,
        };
        add(&mut bag, key);
    }
    bag
}

fn discovery_zeek(rows: &[Vec<String>]) -> Bag {
    let mut bag = Bag::new();
    for r in rows {
        let key = match r[11].as_str() {
            "who-is" => format!("who-is - - - - {} -", r[17]),
            "i-am" => format!("i-am - - {} {} {} -", r[14], r[15], r[16]),
            "who-has" => format!("who-has - - {} {} {} {}", r[14], r[15], r[17], r[18]),
            "i-have" => format!("i-have {} {} {} {} - {}", r[12], r[13], r[14], r[15], r[18]),
            _ => r[11..].join(" "),
        };
        add(&mut bag, key);
    }
    bag
}

/// Properties whose values Zeek names (enumerations): compared without the value.
const ENUMERATED: &[&str] = &[
    "event-state",
    "units",
    "reliability",
    "polarity",
    "notify-type",
];

fn value_text(v: &Value) -> String {
    match v {
        Value::Real(f) => format!("{f:.6}"),
        Value::Double(f) => format!("{f:.6}"),
        Value::Boolean(b) => b.to_string(),
        Value::Unsigned(u) => u.to_string(),
        Value::Signed(s) => s.to_string(),
        Value::CharacterString(s) => s.clone(),
        Value::Enumerated(_) => "<enum>".into(),
        Value::ObjectId(o) => format!("{},{}", o.type_name, o.instance),
        other => format!("{other:?}"),
    }
}

fn property_ours(txs: &[Transaction]) -> Bag {
    let mut bag = Bag::new();
    for t in txs {
        if t.function != "read_property" || t.pdu_type != Some("confirmed_request") {
            continue;
        }
        let Some(d) = t.detail.as_deref() else {
            continue;
        };
        let inv = t.invoke_id.unwrap_or(0);
        for p in &d.properties {
            let o = p.object.or(d.object);
            let obj = o.map_or("- -".into(), |o| format!("{} {}", o.type_name, o.instance));
            let idx = p.array_index.map_or("-".into(), |i| i.to_string());
            if t.request {
                add(
                    &mut bag,
                    format!(
                        "{inv} read-property-request {obj} {} {idx} -",
                        p.property_name
                    ),
                );
            }
            if t.response && t.response_pdu_type == Some("complex_ack") {
                let v = if ENUMERATED.contains(&p.property_name) {
                    "<enum>".to_string()
                } else {
                    p.values.first().map_or("-".into(), value_text)
                };
                // Zeek names the object of the request.
                let obj = d
                    .object
                    .map_or(obj.clone(), |o| format!("{} {}", o.type_name, o.instance));
                add(
                    &mut bag,
                    format!(
                        "{inv} read-property-ack {obj} {} {idx} {v}",
                        p.property_name
                    ),
                );
            }
        }
    }
    bag
}

fn property_zeek(rows: &[Vec<String>]) -> Bag {
    let mut bag = Bag::new();
    for r in rows {
        if !r[12].starts_with("read-property-") || r[12].contains("multiple") {
            continue;
        }
        let v = if r[12].ends_with("ack") && ENUMERATED.contains(&r[15].as_str()) {
            "<enum>".to_string()
        } else {
            r[17].clone()
        };
        add(
            &mut bag,
            format!(
                "{} {} {} {} {} {} {v}",
                r[11], r[12], r[13], r[14], r[15], r[16]
            ),
        );
    }
    bag
}

#[test]
fn zeek_icsnpp() {
    let mut rep = Report::new("bacnet");
    let mut ran = false;
    for name in ["bacnet-icsnpp-example", "bacnet-icsnpp-error-reject-abort"] {
        let Some(txs) = run(&format!("bacnet/{name}.pcap")) else {
            continue;
        };
        let (Some(log), Some(disc), Some(prop)) = (
            expected(&format!("zeek-icsnpp/{name}.bacnet.log")),
            expected(&format!("zeek-icsnpp/{name}.bacnet_discovery.log")),
            expected(&format!("zeek-icsnpp/{name}.bacnet_property.log")),
        ) else {
            continue;
        };
        ran = true;
        rep.compare(
            &format!("zeek bacnet.log {name}"),
            &bacnet_log_ours(&txs),
            &bacnet_log_zeek(&zeek_rows(&log)),
        );
        rep.compare(
            &format!("zeek bacnet_discovery.log {name}"),
            &discovery_ours(&txs),
            &discovery_zeek(&zeek_rows(&disc)),
        );
        rep.compare(
            &format!("zeek bacnet_property.log read-property {name}"),
            &property_ours(&txs),
            &property_zeek(&zeek_rows(&prop)),
        );
    }
    if ran {
        rep.finish();
    }
}

#[test]
fn tshark_messages() {
    let captures = [
        ("bacnet-automayt-exception-schedule-property-1", "pcapng"),
        ("bacnet-automayt-schedule-rpm", "pcapng"),
        ("bacnet-icsnpp-error-reject-abort", "pcap"),
        ("bacnet-icsnpp-example", "pcap"),
        ("bacnet-iti-bacnet-test", "pcap"),
    ];
    let mut rep = Report::new("bacnet");
    let mut ran = false;
    for (name, ext) in captures {
        let Some(txs) = run(&format!("bacnet/{name}.{ext}")) else {
            continue;
        };
        let Some(tsv) = expected(&format!("tshark/{name}.tsv")) else {
            continue;
        };
        ran = true;
        let mut ours = Bag::new();
        for t in &txs {
            let svc = |c: bool| {
                if t.function_code >= 256 {
                    "-".to_string()
                } else if c {
                    format!("c{}", t.function_code)
                } else {
                    format!("u{}", t.function_code)
                }
            };
            let bv = |f: &str| f.to_string();
            if t.request {
                let ty = match t.pdu_type {
                    Some("confirmed_request") => "0",
                    Some("unconfirmed_request") => "1",
                    _ => "-",
                };
                add(
                    &mut ours,
                    format!("{} {ty} {}", bv(t.bvlc_function), svc(ty == "0")),
                );
            }
            if t.response {
                let rp = t.response_pdu_type;
                let ty = match rp {
                    Some("simple_ack") => "2",
                    Some("complex_ack") => "3",
                    Some("error") => "5",
                    Some("reject") => "6",
                    Some("abort") => "7",
                    _ => "-",
                };
                let s = if matches!(ty, "2" | "3" | "5") {
                    svc(true)
                } else {
                    "-".into()
                };
                add(
                    &mut ours,
                    format!(
                        "{} {ty} {s}",
                        bv(t.response_bvlc_function.unwrap_or(t.bvlc_function))
                    ),
                );
            }
        }
        let mut theirs = Bag::new();
        for r in tshark_rows(&tsv) {
            let f = r.get("bvlc.function").cloned().unwrap_or_default();
            if f.is_empty() {
                continue;
            }
            let code = u8::from_str_radix(f.trim_start_matches("0x"), 16).unwrap_or(0xFF);
            let ty = r.get("bacapp.type").cloned().unwrap_or_default();
            let cs = r
                .get("bacapp.confirmed_service")
                .cloned()
                .unwrap_or_default();
            let us = r
                .get("bacapp.unconfirmed_service")
                .cloned()
                .unwrap_or_default();
            let s = if !cs.is_empty() {
                format!("c{cs}")
            } else if !us.is_empty() {
                format!("u{us}")
            } else {
                "-".into()
            };
            let ty = if ty.is_empty() { "-".to_string() } else { ty };
            add(
                &mut theirs,
                format!("{} {ty} {s}", bacnet::names::bvlc_function_name(code)),
            );
        }
        rep.compare(&format!("tshark bvlc/apdu/service {name}"), &ours, &theirs);
    }
    if ran {
        rep.finish();
    }
}
