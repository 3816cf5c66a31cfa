//! Conformance of the OPC UA parser with Zeek (ICSNPP opcua_binary logs) and
//! tshark (per-packet dissection) on the shared captures.
//!
//! Differences must be listed with their reason in `tests/opcua_allowlist.txt`; an
//! agreement table is printed (`--nocapture`).
#[path = "enip_support/mod.rs"]
mod conf;
mod support;

use conf::{add, expected, tshark_rows, zeek_rows, Bag, Report};
use sluice_proto::opcua::{self, names, Transaction};
use sluice_proto::{Output, Record};

fn run(rel: &str) -> Option<Vec<Transaction>> {
    let p = support::pcap(rel)?;
    Some(
        support::run(&opcua::DESC, &p)
            .into_iter()
            .flat_map(|(_, out)| out)
            .filter_map(|o| match o {
                Output::Txn(t) => match t.record {
                    Record::Opcua(b) => Some(*b),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
    )
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

/// Encoding id of the request body (OPN and CLO carry theirs too).
fn request_type(t: &Transaction) -> Option<u32> {
    match t.message_type {
        "MSG" => Some(t.function_code),
        "OPN"
            if t.channel
                .as_deref()
                .is_some_and(|c| c.request_type.is_some()) =>
        {
            Some(446)
        }
        "CLO" if !t.encrypted => Some(452),
        _ => None,
    }
}

/// opcua_binary.log: one row per request/response pair; HEL and ACK apart.
fn binary_log_ours(txs: &[Transaction]) -> Bag {
    let mut bag = Bag::new();
    for t in txs {
        match t.message_type {
            "HEL" => {
                add(&mut bag, "HEL - - - - -");
                if t.response {
                    add(&mut bag, "ACK - - - - -");
                }
            }
            "ACK" | "ERR" => add(&mut bag, format!("{} - - - - -", t.message_type)),
            _ => {
                let req = if t.request {
                    request_type(t).and_then(names::service_type_name)
                } else {
                    None
                };
                let res = t.response_type.and_then(names::service_type_name);
                let handle = t.request_handle;
                add(
                    &mut bag,
                    format!(
                        "{} {} {} {} {} {}",
                        t.message_type,
                        opt(t.request_id),
                        req.unwrap_or("-".into()),
                        res.unwrap_or("-".into()),
                        opt(handle.filter(|_| t.request)),
                        opt(handle.filter(|_| t.response)),
                    ),
                );
            }
        }
    }
    bag
}

fn binary_log_zeek(rows: &[Vec<String>]) -> Bag {
    let mut bag = Bag::new();
    for r in rows {
        add(
            &mut bag,
            format!("{} {} {} {} {} {}", r[6], r[24], r[30], r[49], r[38], r[51]),
        );
    }
    bag
}

/// A Zeek node id (encoding mask, namespace, numeric, string) in text form.
fn zeek_node(mask: &str, ns: &str, num: &str, s: &str) -> String {
    let prefix = if ns == "0" || ns == "-" {
        String::new()
    } else {
        format!("ns={ns};")
    };
    match mask {
        "0x03" => format!("{prefix}s={s}"),
        _ => format!("{prefix}i={num}"),
    }
}

fn services(name: &str, txs: &[Transaction], rep: &mut Report) {
    let log = |s: &str| expected(&format!("zeek-icsnpp/{name}.opcua_binary_{s}.log"));
    let (Some(cs), Some(act), Some(rd), Some(wr), Some(ep)) = (
        log("create_session"),
        log("activate_session"),
        log("read_nodes_to_read"),
        log("write"),
        log("get_endpoints_description"),
    ) else {
        return;
    };
    // CreateSession request: client application URI, product URI, endpoint URL.
    let mut ours = Bag::new();
    for t in txs
        .iter()
        .filter(|t| t.function == "create_session" && t.request)
    {
        let s = t.session.as_deref();
        let c = s.and_then(|s| s.client.as_ref());
        add(
            &mut ours,
            format!(
                "{} {} {} {}",
                opt(c.and_then(|c| c.application_uri.clone())),
                opt(c.and_then(|c| c.product_uri.clone())),
                opt(t.endpoint_url.as_deref()),
                opt(s.and_then(|s| s.session_name.clone())),
            ),
        );
    }
    let mut theirs = Bag::new();
    for r in zeek_rows(&cs).iter().filter(|r| r[6] == "T") {
        add(
            &mut theirs,
            format!("{} {} {} {}", r[11], r[12], r[20], r[21]),
        );
    }
    rep.compare(
        &format!("zeek create_session client {name}"),
        &ours,
        &theirs,
    );

    // ActivateSession: token type, policy id, user name.
    let mut ours = Bag::new();
    for t in txs
        .iter()
        .filter(|t| t.function == "activate_session" && t.request)
    {
        let s = t.session.as_deref();
        add(
            &mut ours,
            format!(
                "{} {} {}",
                opt(s.and_then(|s| s.user_token)),
                opt(s.and_then(|s| s.policy_id.clone())),
                opt(s.and_then(|s| s.user_name.clone())),
            ),
        );
    }
    let mut theirs = Bag::new();
    for r in zeek_rows(&act).iter().filter(|r| r[6] == "T") {
        let kind = match r[19].as_str() {
            "AnonymousIdentityToken" => "anonymous",
            "UserNameIdentityToken" => "username",
            "X509IdentityToken" => "certificate",
            "IssuedIdentityToken" => "issued",
            _ => "-",
        };
        add(&mut theirs, format!("{kind} {} {}", r[21], r[22]));
    }
    rep.compare(
        &format!("zeek activate_session token {name}"),
        &ours,
        &theirs,
    );

    // Read nodes and written nodes.
    for (service, file, attr_col) in [("read", &rd, 18usize), ("write", &wr, 18)] {
        let mut ours = Bag::new();
        for t in txs.iter().filter(|t| t.function == service && t.request) {
            for n in &t.nodes {
                add(
                    &mut ours,
                    format!("{} {}", n.node_id, n.attribute.unwrap_or("-")),
                );
            }
        }
        let mut theirs = Bag::new();
        for r in zeek_rows(file).iter().filter(|r| r[6] == "T") {
            add(
                &mut theirs,
                format!(
                    "{} {}",
                    zeek_node(&r[11], &r[12], &r[13], &r[14]),
                    r[attr_col]
                ),
            );
        }
        rep.compare(&format!("zeek {service} nodes {name}"), &ours, &theirs);
    }

    // GetEndpoints answers: endpoint URL, server application, mode, policy, level.
    let mut ours = Bag::new();
    for t in txs
        .iter()
        .filter(|t| t.function == "get_endpoints" && t.response)
    {
        let srv = t.session.as_deref().and_then(|s| s.server.as_ref());
        for e in t.endpoints.iter() {
            add(
                &mut ours,
                format!(
                    "{} {} {} {} {} {} {}",
                    opt(e.endpoint_url.clone()),
                    opt(srv.and_then(|s| s.application_uri.clone())),
                    opt(srv.and_then(|s| s.product_uri.clone())),
                    opt(srv.and_then(|s| s.application_name.clone())),
                    e.security_mode,
                    opt(e.security_policy_uri.clone()),
                    e.security_level
                ),
            );
        }
    }
    let mut theirs = Bag::new();
    for r in zeek_rows(&ep) {
        let mode = r[23].parse::<u32>().map_or("?", names::security_mode_name);
        add(
            &mut theirs,
            format!(
                "{} {} {} {} {mode} {} {}",
                r[11], r[12], r[13], r[16], r[24], r[26]
            ),
        );
    }
    rep.compare(
        &format!("zeek get_endpoints description {name}"),
        &ours,
        &theirs,
    );
}

#[test]
fn zeek_icsnpp() {
    let mut rep = Report::new("opcua");
    let mut ran = false;
    for (name, ext) in [
        ("opcua-icsnpp-open62541-mainloop", "pcap"),
        ("opcua-icsnpp-open62541-no-handshake", "pcapng"),
    ] {
        let Some(txs) = run(&format!("opcua/{name}.{ext}")) else {
            continue;
        };
        let Some(log) = expected(&format!("zeek-icsnpp/{name}.opcua_binary.log")) else {
            continue;
        };
        ran = true;
        rep.compare(
            &format!("zeek opcua_binary.log {name}"),
            &binary_log_ours(&txs),
            &binary_log_zeek(&zeek_rows(&log)),
        );
        services(name, &txs, &mut rep);
    }
    if ran {
        rep.finish();
    }
}

#[test]
fn tshark_messages() {
    let mut rep = Report::new("opcua");
    let mut ran = false;
    for (name, ext) in [
        ("opcua-icsnpp-open62541-mainloop", "pcap"),
        ("opcua-icsnpp-open62541-no-handshake", "pcapng"),
        ("opcua-icsnpp-pending-overflow", "pcap"),
    ] {
        let Some(txs) = run(&format!("opcua/{name}.{ext}")) else {
            continue;
        };
        let Some(tsv) = expected(&format!("tshark/{name}.tsv")) else {
            continue;
        };
        ran = true;
        let mut ours = Bag::new();
        for t in &txs {
            match t.message_type {
                "HEL" => {
                    add(&mut ours, "HEL -");
                    if t.response {
                        add(&mut ours, "ACK -");
                    }
                }
                "ACK" | "ERR" | "RHE" => add(&mut ours, format!("{} -", t.message_type)),
                mt => {
                    if t.request {
                        add(&mut ours, format!("{mt} {}", opt(request_type(t))));
                    }
                    if t.response {
                        add(&mut ours, format!("{mt} {}", opt(t.response_type)));
                    }
                }
            }
        }
        let mut theirs = Bag::new();
        for r in tshark_rows(&tsv) {
            let ty = r.get("opcua.transport.type").cloned().unwrap_or_default();
            if ty.is_empty() {
                continue;
            }
            let ids = r
                .get("opcua.servicenodeid.numeric")
                .cloned()
                .unwrap_or_default();
            let ids: Vec<&str> = ids.split(',').collect();
            for (i, t) in ty.split(',').enumerate() {
                let id = ids.get(i).copied().filter(|s| !s.is_empty()).unwrap_or("-");
                add(&mut theirs, format!("{t} {id}"));
            }
        }
        rep.compare(&format!("tshark type/service {name}"), &ours, &theirs);
    }
    if ran {
        rep.finish();
    }
}
