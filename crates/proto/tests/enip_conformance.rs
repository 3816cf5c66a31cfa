//! Conformance of the EtherNet/IP + CIP parser with Zeek (ICSNPP enip, cip,
//! cip_identity, cip_io logs), Suricata (suricata-verify expectations) and tshark
//! (per-packet dissection) on the shared captures.
//!
//! Each capture is cut into flows with the project's own reader and reassembler and
//! fed to the parser; every transaction becomes its messages, compared with the
//! oracle's as multisets. Every difference must be listed with its reason in
//! `tests/enip_allowlist.txt`; every allowlist line must still be needed. An
//! agreement table is printed (`--nocapture`).
mod enip_support;
mod support;

use enip_support::{add, expected, tshark_rows, zeek_rows, Bag, Report};
use sluice_proto::enip::{self, Cip, Transaction};
use sluice_proto::{Output, Record};

struct Msg<'a> {
    tx: &'a Transaction,
}

fn run(rel: &str) -> Option<Vec<(support::Flow, Vec<Output>)>> {
    let p = support::pcap(rel)?;
    Some(support::run(&enip::DESC, &p))
}

fn txns(res: &[(support::Flow, Vec<Output>)]) -> Vec<Msg<'_>> {
    let mut v = Vec::new();
    for (_, out) in res {
        for o in out {
            if let Output::Txn(t) = o {
                if let Record::Enip(tx) = &t.record {
                    v.push(Msg { tx });
                }
            }
        }
    }
    v
}

fn ctx_hex(c: &[u8; 8]) -> String {
    c.iter().map(|b| format!("{b:02x}")).collect()
}

/// Zeek enip.log rows: (is_orig, command, length, session, status).
fn enip_keys_ours(msgs: &[Msg<'_>]) -> Bag {
    let mut bag = Bag::new();
    for m in msgs {
        let t = m.tx;
        if t.function_code == 0x8002 {
            continue;
        }
        let ctx = ctx_hex(&t.sender_context);
        if t.request {
            add(
                &mut bag,
                format!(
                    "T 0x{:02x} len={} session=0x{:08x} ctx={ctx} status=0",
                    t.function_code,
                    t.length.unwrap_or(0),
                    t.session_handle
                ),
            );
        }
        if t.response {
            add(
                &mut bag,
                format!(
                    "F 0x{:02x} len={} session=0x{:08x} ctx={ctx} status={}",
                    t.function_code,
                    t.response_length.unwrap_or(0),
                    t.session_handle,
                    t.status.unwrap_or(0)
                ),
            );
        }
    }
    bag
}

fn enip_keys_zeek(rows: &[Vec<String>]) -> Bag {
    let mut bag = Bag::new();
    for r in rows {
        let status = match r[15].as_str() {
            "Success" => "0".to_string(),
            s => s.to_string(),
        };
        add(
            &mut bag,
            format!(
                "{} {} len={} session={} ctx={} status={status}",
                r[6],
                r[11],
                r[13],
                r[14],
                r[16].trim_start_matches("0x")
            ),
        );
    }
    bag
}

/// A hex field as a number (Zeek prints the state byte as `0x0003`, we as `0x03`).
fn hex_num(s: &str) -> String {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).map_or(s.to_string(), |v| v.to_string())
}

fn opt_hex(v: Option<u32>) -> String {
    v.map_or("-".into(), |v| format!("0x{v:02x}"))
}

/// Zeek cip.log rows: one per CIP message and per embedded service.
fn cip_keys_ours(msgs: &[Msg<'_>]) -> Bag {
    let mut bag = Bag::new();
    for m in msgs {
        let t = m.tx;
        let Some(c) = t.cip.as_deref() else { continue };
        let seq = t.sequence.map_or("-".into(), |s| s.to_string());
        let rows: Vec<&Cip> = std::iter::once(c).chain(c.services.iter()).collect();
        if t.request {
            for r in &rows {
                add(
                    &mut bag,
                    format!(
                        "{seq} request 0x{:02x} class={} instance={}",
                        r.service,
                        opt_hex(r.class),
                        opt_hex(r.instance)
                    ),
                );
            }
        }
        if t.response {
            for r in rows.iter().filter(|r| r.status.is_some()) {
                add(
                    &mut bag,
                    format!(
                        "{seq} response 0x{:02x} status=0x{:02x}",
                        r.service,
                        r.status.unwrap_or(0)
                    ),
                );
            }
        }
    }
    bag
}

fn cip_keys_zeek(rows: &[Vec<String>]) -> Bag {
    let mut bag = Bag::new();
    for r in rows {
        let key = if r[12] == "request" {
            format!(
                "{} request {} class={} instance={}",
                r[11], r[13], r[19], r[21]
            )
        } else {
            format!("{} response {} status={}", r[11], r[13], r[15])
        };
        add(&mut bag, key);
    }
    bag
}

#[test]
fn zeek_icsnpp_enip_cip_example() {
    let Some(res) = run("enip-cip/enip-icsnpp-cip-example.pcap") else {
        return;
    };
    let (Some(enip_log), Some(cip_log), Some(id_log), Some(io_log)) = (
        expected("zeek-icsnpp/enip-icsnpp-cip-example.enip.log"),
        expected("zeek-icsnpp/enip-icsnpp-cip-example.cip.log"),
        expected("zeek-icsnpp/enip-icsnpp-cip-example.cip_identity.log"),
        expected("zeek-icsnpp/enip-icsnpp-cip-example.cip_io.log"),
    ) else {
        return;
    };
    let msgs = txns(&res);
    let mut rep = Report::new("enip");
    rep.compare(
        "zeek enip.log cip-example",
        &enip_keys_ours(&msgs),
        &enip_keys_zeek(&zeek_rows(&enip_log)),
    );
    rep.compare(
        "zeek cip.log cip-example",
        &cip_keys_ours(&msgs),
        &cip_keys_zeek(&zeek_rows(&cip_log)),
    );

    // cip_identity.log: every field of the identity item.
    let mut ours = Bag::new();
    for m in &msgs {
        for i in &m.tx.identity {
            add(
                &mut ours,
                format!(
                    "{} {} {} {} {} {} {} {} {} {} {} {} {}",
                    i.encapsulation_version.unwrap_or(0),
                    i.socket_address.clone().unwrap_or_default(),
                    i.socket_port.unwrap_or(0),
                    i.vendor_id,
                    i.vendor_name.unwrap_or("-"),
                    i.device_type,
                    i.product_code,
                    i.revision,
                    i.status,
                    i.serial_number,
                    i.product_name,
                    hex_num(&i.state.clone().unwrap_or_default()),
                    i.device_type_name,
                ),
            );
        }
    }
    let mut theirs = Bag::new();
    for r in zeek_rows(&id_log) {
        // Zeek names device types in words; ours are snake_case of the same names.
        let dt = r[17].to_lowercase().replace(' ', "_");
        add(
            &mut theirs,
            format!(
                "{} {} {} {} {} {} {} {} {} {} {} {} {dt}",
                r[11],
                r[12],
                r[13],
                r[14],
                r[15],
                r[16],
                r[18],
                r[19],
                r[20],
                r[21],
                r[22],
                hex_num(&r[23])
            ),
        );
    }
    rep.compare("zeek cip_identity.log cip-example", &ours, &theirs);

    // cip_io.log: packets and bytes per connection id.
    let mut ours = Bag::new();
    for m in &msgs {
        if let (Some(io), Some(id)) = (m.tx.io.as_deref(), m.tx.connection_id) {
            add(
                &mut ours,
                format!("0x{id:08x} packets={} bytes={}", io.packets, io.bytes),
            );
        }
    }
    let mut per: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for r in zeek_rows(&io_log) {
        let e = per.entry(r[11].clone()).or_default();
        e.0 += 1;
        e.1 += r[13].parse::<u64>().unwrap_or(0);
    }
    let mut theirs = Bag::new();
    for (id, (p, b)) in per {
        add(&mut theirs, format!("{id} packets={p} bytes={b}"));
    }
    rep.compare(
        "zeek cip_io.log cip-example (per connection)",
        &ours,
        &theirs,
    );
    rep.finish();
}

#[test]
fn zeek_icsnpp_multiple_service_packet() {
    let Some(res) = run("enip-cip/enip-icsnpp-multiple-service-packet.pcapng") else {
        return;
    };
    let (Some(enip_log), Some(cip_log)) = (
        expected("zeek-icsnpp/enip-icsnpp-multiple-service-packet.enip.log"),
        expected("zeek-icsnpp/enip-icsnpp-multiple-service-packet.cip.log"),
    ) else {
        return;
    };
    let msgs = txns(&res);
    let mut rep = Report::new("enip");
    rep.compare(
        "zeek enip.log multiple-service-packet",
        &enip_keys_ours(&msgs),
        &enip_keys_zeek(&zeek_rows(&enip_log)),
    );
    rep.compare(
        "zeek cip.log multiple-service-packet",
        &cip_keys_ours(&msgs),
        &cip_keys_zeek(&zeek_rows(&cip_log)),
    );
    rep.finish();
}

#[test]
fn suricata_verify() {
    let Some(res) = run("enip-cip/enip-icsnpp-cip-example.pcap") else {
        return;
    };
    let Some(id_res) = run("enip-cip/enip-sv-list-identity-udp.pcap") else {
        return;
    };
    let msgs = txns(&res);
    let mut rep = Report::new("enip");
    // enip-frames: 41 enip events with a Multiple Service Packet to class 2 instance 1.
    let msp = msgs
        .iter()
        .filter(|m| {
            m.tx.request
                && m.tx.cip.as_deref().is_some_and(|c| {
                    c.service == 0x0A && c.class == Some(2) && c.instance == Some(1)
                })
        })
        .count();
    rep.equal(
        "suricata enip-frames MSP class 2 instance 1",
        &msp.to_string(),
        "41",
    );
    // enip-frames signature 4: cip.rr == 0 && cip.attribute == 5 && cip.class == 1.
    let attr5 = msgs
        .iter()
        .filter(|m| {
            m.tx.request
                && m.tx.cip.as_deref().is_some_and(|c| {
                    c.all()
                        .iter()
                        .any(|s| s.class == Some(1) && s.attributes.contains(&5))
                })
        })
        .count();
    rep.equal(
        "suricata enip-frames class 1 attribute 5 requests",
        &attr5.to_string(),
        "41",
    );
    // enip-keywords: 267 SendUnitData messages, 2 ListIdentity messages.
    let count = |cmd: u16| -> usize {
        msgs.iter()
            .filter(|m| m.tx.function_code == cmd)
            .map(|m| usize::from(m.tx.request) + usize::from(m.tx.response))
            .sum()
    };
    rep.equal(
        "suricata enip-keywords send_unit_data messages",
        &count(0x70).to_string(),
        "267",
    );
    rep.equal(
        "suricata enip-keywords list_identity messages",
        &count(0x63).to_string(),
        "2",
    );
    // enip-log-identity: one list_identity event with its identity.
    let ids = txns(&id_res);
    let li: Vec<&Msg<'_>> = ids.iter().filter(|m| m.tx.is_list_identity()).collect();
    rep.equal(
        "suricata enip-log-identity events",
        &li.len().to_string(),
        "1",
    );
    if let Some(m) = li.first() {
        let i = m.tx.identity.first();
        rep.equal(
            "suricata enip-log-identity status",
            m.tx.status_name.unwrap_or("-"),
            "success",
        );
        rep.equal(
            "suricata enip-log-identity revision",
            &i.map(|i| i.revision.clone()).unwrap_or_default(),
            "4.3",
        );
        rep.equal(
            "suricata enip-log-identity product_name",
            &i.map(|i| i.product_name.clone()).unwrap_or_default(),
            "1756-ENBT/A",
        );
        rep.equal(
            "suricata enip-log-identity vendor",
            i.and_then(|i| i.vendor_name).unwrap_or("-"),
            "Rockwell Automation/Allen-Bradley",
        );
    }
    // enip-stats-udp: one ENIP flow, over TCP.
    let flows: Vec<_> = id_res
        .iter()
        .filter(|(_, out)| out.iter().any(|o| matches!(o, Output::Txn(_))))
        .map(|(f, _)| format!("{:?}", f.transport))
        .collect();
    rep.equal("suricata enip-stats-udp flows", &flows.join(","), "Tcp");
    rep.finish();
}

/// CIP service codes of one message, as tshark lists them (`cip.sc`).
fn services_of(t: &Transaction, response: bool, out: &mut Vec<u8>) {
    let Some(c) = t.cip.as_deref() else { return };
    if !response && c.route_path.is_some() {
        out.push(0x52);
    }
    if response
        && c.route_path.is_some()
        && c.status.is_some_and(|s| s != 0)
        && c.services.is_empty()
    {
        // A routing failure answers with the Unconnected_Send service itself.
        out.push(c.service);
        return;
    }
    out.push(c.service);
    for s in &c.services {
        if !response || s.status.is_some() {
            out.push(s.service);
        }
    }
}

#[test]
fn tshark_commands_and_services() {
    let captures = [
        "enip-icsnpp-cip-example",
        "enip-icsnpp-multiple-service-packet",
        "enip-iti-cip-eth-set-2",
        "enip-iti-cip-multiple-1",
        "enip-iti-cip-multiple-2",
        "enip-iti-cip-start-plc",
        "enip-iti-enip-test",
        "enip-iti-ethernetip-cip-large",
        "enip-quickdraw-change-date-attempt",
        "enip-quickdraw-reboot-or-restart",
        "enip-quickdraw-software-download-failure",
        "enip-sv-list-identity-udp",
    ];
    let mut rep = Report::new("enip");
    let mut ran = false;
    for name in captures {
        let ext = if name.ends_with("packet") {
            "pcapng"
        } else {
            "pcap"
        };
        let Some(res) = run(&format!("enip-cip/{name}.{ext}")) else {
            continue;
        };
        let Some(tsv) = expected(&format!("tshark/{name}.tsv")) else {
            continue;
        };
        ran = true;
        let msgs = txns(&res);
        let (mut oc, mut os) = (Bag::new(), Bag::new());
        for m in &msgs {
            let t = m.tx;
            if t.function_code == 0x8002 {
                continue;
            }
            for (seen, resp) in [(t.request, false), (t.response, true)] {
                if !seen {
                    continue;
                }
                add(&mut oc, format!("0x{:04x}", t.function_code));
                let mut svc = Vec::new();
                services_of(t, resp, &mut svc);
                for s in svc {
                    add(&mut os, format!("0x{s:02x}"));
                }
            }
        }
        let (mut tc, mut ts) = (Bag::new(), Bag::new());
        for r in tshark_rows(&tsv) {
            for c in r.get("enip.command").into_iter().flat_map(|v| v.split(',')) {
                if !c.is_empty() {
                    add(&mut tc, c);
                }
            }
            for s in r.get("cip.sc").into_iter().flat_map(|v| v.split(',')) {
                if !s.is_empty() {
                    add(&mut ts, s);
                }
            }
        }
        rep.compare(&format!("tshark enip.command {name}"), &oc, &tc);
        rep.compare(&format!("tshark cip.sc {name}"), &os, &ts);
    }
    if ran {
        rep.finish();
    }
}
