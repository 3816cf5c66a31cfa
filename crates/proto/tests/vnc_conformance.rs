//! VNC against Zeek (rfb.log) and Suricata (rfb-parser test) field by field.
mod remote_support;
mod support;
use remote_support::{check, records, zeek_log, Row};
use sluice_proto::vnc::DESC;

fn s(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    }
}

#[test]
fn against_zeek_rfb_log() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let mut rows = Vec::new();
    for name in ["vnc-zeek-mac-to-linux", "vnc-zeek-scanner"] {
        let Some(p) = support::pcap(&format!("vnc/{name}.pcap")) else {
            return;
        };
        let log = zeek_log(&data.join(format!("expected/zeek/{name}.rfb.log")));
        let ours: Vec<(std::net::SocketAddr, serde_json::Value)> = support::run(&DESC, &p)
            .into_iter()
            .filter_map(|(f, o)| records(&o).into_iter().next().map(|r| (f.client, r)))
            .collect();
        assert_eq!(
            ours.len(),
            log.len(),
            "{name}: one Zeek row per RFB session"
        );
        for z in &log {
            let port: u16 = z["id.orig_p"].parse().unwrap();
            let r = &ours
                .iter()
                .find(|(c, _)| c.port() == port)
                .expect("same session")
                .1;
            let zf = |f: &str| z.get(f).cloned().unwrap_or_default();
            let sv = s(&r["server_version"]);
            let cv = s(&r["client_version"]);
            rows.push(Row::new(
                name,
                "server_minor_version",
                sv.get(4..).unwrap_or("-"),
                zf("server_minor_version"),
            ));
            rows.push(Row::new(
                name,
                "client_minor_version",
                cv.get(4..).unwrap_or("-"),
                zf("client_minor_version"),
            ));
            let method = match r["security_type"].as_u64() {
                Some(2) => "VNC",
                Some(1) => "None",
                _ => "?",
            };
            rows.push(Row::new(
                name,
                "authentication_method",
                method,
                zf("authentication_method"),
            ));
            let auth = match r["auth_success"].as_bool() {
                Some(true) => "T",
                Some(false) => "F",
                None => "-",
            };
            rows.push(Row::new(name, "auth", auth, zf("auth")));
            let share = match r["shared"].as_bool() {
                Some(true) => "T",
                Some(false) => "F",
                None => "-",
            };
            rows.push(Row::new(name, "share_flag", share, zf("share_flag")));
            rows.push(Row::new(
                name,
                "desktop_name",
                s(&r["desktop_name"]),
                zf("desktop_name"),
            ));
            rows.push(Row::new(name, "width", s(&r["width"]), zf("width")));
            rows.push(Row::new(name, "height", s(&r["height"]), zf("height")));
        }
    }
    check("vnc", "zeek", &rows);
}

#[test]
fn against_suricata_rfb_parser() {
    let Some(p) = support::pcap("vnc/vnc-sv-rfb-parser.pcap") else {
        return;
    };
    let recs: Vec<serde_json::Value> = support::run(&DESC, &p)
        .into_iter()
        .flat_map(|(_, o)| records(&o))
        .collect();
    let r = &recs[0];
    let n = "vnc-sv-rfb-parser";
    let rows = vec![
        Row::new(
            n,
            "rfb.server_protocol_version",
            s(&r["server_version"]),
            "003.007",
        ),
        Row::new(
            n,
            "rfb.client_protocol_version",
            s(&r["client_version"]),
            "003.007",
        ),
        Row::new(
            n,
            "rfb.authentication.security_type",
            s(&r["security_type"]),
            1,
        ),
        Row::new(n, "rfb.screen_shared", s(&r["shared"]), true),
        Row::new(n, "rfb.framebuffer.width", s(&r["width"]), 1280),
        Row::new(n, "rfb.framebuffer.height", s(&r["height"]), 800),
        Row::new(
            n,
            "rfb.framebuffer.name",
            s(&r["desktop_name"]),
            "aneagles@localhost.localdomain",
        ),
    ];
    check("vnc", "suricata", &rows);
}
