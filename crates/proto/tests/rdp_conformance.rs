//! RDP against Zeek (rdp.log) and Suricata (rdp-protocol test) field by field.
mod remote_support;
mod support;
use remote_support::{check, records, zeek_log, Row};
use sluice_proto::rdp::DESC;

#[test]
fn against_zeek_rdp_log() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let mut rows = Vec::new();
    for name in [
        "rdp-zeek-to-ssl",
        "rdp-zeek-x509",
        "rdp-zeek-no-cookie-mstshash",
    ] {
        let Some(p) = support::pcap(&format!("rdp/{name}.pcap")) else {
            return;
        };
        let log = zeek_log(&data.join(format!("expected/zeek/{name}.rdp.log")));
        let ours: Vec<Vec<serde_json::Value>> = support::run(&DESC, &p)
            .into_iter()
            .map(|(_, o)| records(&o))
            .collect();
        assert_eq!(ours.len(), log.len(), "{name}: one Zeek row per RDP flow");
        for (z, recs) in log.iter().zip(&ours) {
            let last = recs.last().cloned().unwrap_or_default();
            let s = |v: &serde_json::Value| {
                v.as_str().map(str::to_string).unwrap_or_else(|| "-".into())
            };
            let zeek = |f: &str| z.get(f).cloned().unwrap_or_default();
            let cookie = s(&recs[0]["cookie"]);
            rows.push(Row::new(
                name,
                "cookie",
                if cookie == "-" {
                    "(empty)".into()
                } else {
                    cookie
                },
                zeek("cookie"),
            ));
            let result = match s(&last["result"]).as_str() {
                "success" => "Success".to_string(),
                other => other.to_string(),
            };
            rows.push(Row::new(name, "result", result, zeek("result")));
            rows.push(Row::new(
                name,
                "security_protocol",
                s(&recs[0]["security_protocol"]),
                zeek("security_protocol"),
            ));
            let c = &last["client"];
            if !c.is_null() {
                rows.push(Row::new(
                    name,
                    "client_name",
                    s(&c["name"]),
                    zeek("client_name"),
                ));
                rows.push(Row::new(
                    name,
                    "keyboard_layout",
                    s(&c["keyboard_layout_name"]),
                    zeek("keyboard_layout"),
                ));
                let build = match c["build"].as_u64() {
                    Some(9600) => "RDP 8.1",
                    Some(9200) => "RDP 8.0",
                    Some(7601) => "RDP 7.1",
                    _ => "?",
                };
                rows.push(Row::new(name, "client_build", build, zeek("client_build")));
                rows.push(Row::new(
                    name,
                    "client_dig_product_id",
                    s(&c["dig_product_id"]),
                    zeek("client_dig_product_id"),
                ));
                rows.push(Row::new(
                    name,
                    "desktop_width",
                    &c["desktop_width"],
                    zeek("desktop_width"),
                ));
                rows.push(Row::new(
                    name,
                    "desktop_height",
                    &c["desktop_height"],
                    zeek("desktop_height"),
                ));
                rows.push(Row::new(
                    name,
                    "requested_color_depth",
                    format!("{}bit", c["color_depth"]),
                    zeek("requested_color_depth"),
                ));
                let ch: Vec<String> = c["channels"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                rows.push(Row::new(
                    name,
                    "client_channels",
                    ch.join(","),
                    zeek("client_channels"),
                ));
                let sv = &last["server"];
                rows.push(Row::new(
                    name,
                    "cert_type",
                    s(&sv["cert_type"]),
                    zeek("cert_type"),
                ));
                rows.push(Row::new(
                    name,
                    "cert_count",
                    &sv["cert_count"],
                    zeek("cert_count"),
                ));
                rows.push(Row::new(
                    name,
                    "cert_permanent",
                    if sv["cert_permanent"] == true {
                        "T"
                    } else {
                        "F"
                    },
                    zeek("cert_permanent"),
                ));
                rows.push(Row::new(
                    name,
                    "encryption_level",
                    s(&sv["encryption_level"]),
                    zeek("encryption_level"),
                ));
                rows.push(Row::new(
                    name,
                    "encryption_method",
                    s(&sv["encryption_method"]),
                    zeek("encryption_method"),
                ));
            }
        }
    }
    check("rdp", "zeek", &rows);
}

#[test]
fn against_suricata_rdp_protocol() {
    let Some(p) = support::pcap("rdp/rdp-sv-rdp-003.pcap") else {
        return;
    };
    let recs: Vec<serde_json::Value> = support::run(&DESC, &p)
        .into_iter()
        .flat_map(|(_, o)| records(&o))
        .collect();
    let n = "rdp-sv-rdp-003";
    let c = &recs[1]["client"];
    let rows = vec![
        Row::new(
            n,
            "rdp.cookie",
            recs[0]["cookie"].as_str().unwrap_or("-"),
            "A70067",
        ),
        Row::new(
            n,
            "rdp.client.version",
            c["version"].as_str().unwrap_or("-"),
            "v5",
        ),
        Row::new(
            n,
            "rdp.client.build",
            c["build_name"].as_str().unwrap_or("-"),
            "Windows XP",
        ),
        Row::new(n, "rdp.client.desktop_height", &c["desktop_height"], 864),
        Row::new(
            n,
            "rdp.client.client_name",
            c["name"].as_str().unwrap_or("-"),
            "ISD2-KM84178",
        ),
        Row::new(
            n,
            "rdp.client.id",
            c["dig_product_id"].as_str().unwrap_or("-"),
            "55274-OEM-0011903-00107",
        ),
        Row::new(
            n,
            "rdp.channels[0]",
            c["channels"][0].as_str().unwrap_or("-"),
            "rdpdr",
        ),
        Row::new(
            n,
            "rdp.channels[1]",
            c["channels"][1].as_str().unwrap_or("-"),
            "cliprdr",
        ),
        Row::new(
            n,
            "rdp.channels[2]",
            c["channels"][2].as_str().unwrap_or("-"),
            "rdpsnd",
        ),
    ];
    check("rdp", "suricata", &rows);
}
