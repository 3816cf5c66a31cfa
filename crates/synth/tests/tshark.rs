//! Wireshark (tshark) as the oracle: every scenario dissects without malformed packets,
//! bad checksums or warnings, and the fields that tell each story are where they belong.
mod common;
use common::{tmp, tshark, tshark_available};
use sluice_synth::scenario::{write_scenario, SCENARIOS};
use std::path::{Path, PathBuf};

const WARN: u32 = 0x60_0000;

/// Writes scenario `name`; `test` keeps the files of tests running in parallel apart.
fn scenario_file(name: &str, test: &str) -> PathBuf {
    let path = tmp(&format!("tshark-{test}-{name}.pcap"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write_scenario(name, 11, &mut f).unwrap();
    path
}

fn fields(file: &Path, filter: &str, names: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec![
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
    ];
    for n in names {
        args.push("-e");
        args.push(n);
    }
    tshark(file, &args)
        .into_iter()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn every_scenario_dissects_cleanly() {
    if !tshark_available() {
        return;
    }
    for name in SCENARIOS {
        let file = scenario_file(name, "clean");
        let rows = fields(
            &file,
            "frame",
            &[
                "frame.number",
                "_ws.col.Protocol",
                "_ws.expert.severity",
                "_ws.expert.message",
                "_ws.malformed",
                "tcp.checksum.status",
                "udp.checksum.status",
                "ip.checksum.status",
            ],
        );
        assert!(rows.len() > 500, "{name}: {} rows", rows.len());
        let mut protocols = std::collections::BTreeSet::new();
        for r in &rows {
            let get = |i: usize| r.get(i).map(String::as_str).unwrap_or("");
            protocols.insert(get(1).to_string());
            assert!(
                get(4).is_empty(),
                "{name}: frame {} malformed: {}",
                get(0),
                get(3)
            );
            for i in 5..=7 {
                assert!(
                    get(i).split('|').all(|s| s != "0"),
                    "{name}: frame {} bad checksum",
                    get(0)
                );
            }
            let sev: Vec<&str> = get(2).split('|').collect();
            let msg: Vec<&str> = get(3).split('|').collect();
            for (k, s) in sev.iter().enumerate() {
                let s: u32 = s.parse().unwrap_or(0);
                let m = msg.get(k).copied().unwrap_or("");
                let allowed = *name == "recon" && m == "Connection reset (RST)";
                assert!(s < WARN || allowed, "{name}: frame {}: {m}", get(0));
            }
        }
        assert!(protocols.contains("Modbus/TCP"), "{name}: {protocols:?}");
        if *name != "recon" {
            for p in ["S7COMM", "DNS", "TLSv1.3", "ARP", "ICMP"] {
                assert!(protocols.contains(p), "{name}: no {p} in {protocols:?}");
            }
        }
    }
}

#[test]
fn oldsmar_fields() {
    if !tshark_available() {
        return;
    }
    let file = scenario_file("oldsmar", "fields");
    let writes = fields(
        &file,
        "modbus.func_code==6 && tcp.dstport==502",
        &[
            "ip.src",
            "ip.dst",
            "mbtcp.unit_id",
            "modbus.reference_num",
            "modbus.data",
            "modbus.regval_uint16",
        ],
    );
    // Wireshark 4.0 shows the FC6 value as data; newer versions also as regval_uint16.
    let is_11100 = |r: &Vec<String>| {
        r.get(4).map(String::as_str) == Some("2b5c")
            || r.get(5).map(String::as_str) == Some("11100")
    };
    let high: Vec<_> = writes.iter().filter(|r| is_11100(r)).collect();
    assert_eq!(high.len(), 1, "{writes:?}");
    assert_eq!(high[0][..4], ["10.10.2.20", "10.10.1.10", "1", "5"]);
    let vnc = fields(
        &file,
        "vnc",
        &[
            "ip.src",
            "ip.dst",
            "vnc.server_proto_ver",
            "vnc.security_type",
            "vnc.client_security_type",
            "vnc.desktop_name",
        ],
    );
    assert!(vnc
        .iter()
        .any(|r| r[0] == "10.10.2.20" && r[2] == "003.008"));
    assert!(
        vnc.iter().any(|r| r[0] == "10.10.2.20" && r[3] == "1"),
        "None offered"
    );
    assert!(
        vnc.iter().any(|r| r[0] == "203.0.113.66" && r[4] == "1"),
        "None chosen"
    );
    assert!(vnc.iter().any(|r| r[5] == "RIVERSIDE-HMI1"));
}

#[test]
fn benign_fields() {
    if !tshark_available() {
        return;
    }
    let file = scenario_file("benign", "fields");
    let ids = fields(
        &file,
        "modbus.func_code==43 && tcp.srcport==502",
        &["ip.src", "modbus.object_str_value"],
    );
    let plc1: Vec<_> = ids.iter().filter(|r| r[0] == "10.10.1.10").collect();
    assert_eq!(plc1.len(), 1);
    assert_eq!(plc1[0][1], "Schneider Electric|BMX P34 2020|v3.10");
    let sni = fields(
        &file,
        "tls.handshake.type==1",
        &["tls.handshake.extensions_server_name"],
    );
    assert!(
        !sni.is_empty()
            && sni.iter().all(|r| r[0].ends_with("example.com")
                || r[0].ends_with("example.net")
                || r[0].ends_with("example.org"))
    );
    let http = fields(&file, "http.response", &["http.server"]);
    assert!(http.iter().all(|r| r[0] == "nginx/1.18.0"));
    let dns = fields(&file, "dns.flags.response==1", &["dns.qry.name", "dns.a"]);
    assert!(!dns.is_empty() && dns.iter().all(|r| !r[1].is_empty()));
    // No remote access on a benign day; the vendor session is in `vendor_day`.
    let vnc = fields(&file, "vnc.security_type", &["ip.src", "vnc.security_type"]);
    assert!(vnc.is_empty(), "{vnc:?}");
    let vendor = scenario_file("vendor_day", "fields");
    let vnc = fields(
        &vendor,
        "vnc.security_type",
        &["ip.src", "vnc.security_type"],
    );
    assert_eq!(
        vnc,
        vec![vec!["10.30.0.5".to_string(), "2".to_string()]],
        "VNC auth to the jump host"
    );
    let s7 = fields(
        &file,
        "s7comm.param.func==0x04 && s7comm.header.rosctr==3",
        &["s7comm.data.returncode"],
    );
    assert!(!s7.is_empty() && s7.iter().all(|r| r[0].split('|').all(|c| c == "0xff")));
}

#[test]
fn attack_fields() {
    if !tshark_available() {
        return;
    }
    let s7 = fields(
        &scenario_file("s7_stop", "fields"),
        "s7comm.param.func==0x29",
        &[
            "ip.src",
            "ip.dst",
            "s7comm.header.rosctr",
            "s7comm.param.pistart.servicename",
        ],
    );
    assert_eq!(s7.len(), 2, "{s7:?}");
    assert_eq!(s7[0][..3], ["10.10.2.99", "10.10.1.20", "1"]);
    assert_eq!(s7[0][3], "P_PROGRAM");
    assert_eq!(s7[1][..3], ["10.10.1.20", "10.10.2.99", "3"]);
    let pivot = fields(
        &scenario_file("pivot", "fields"),
        "ip.src==10.20.5.23 && modbus",
        &["modbus.func_code"],
    );
    let fcs: Vec<&str> = pivot.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(fcs, ["3", "5", "15", "16"]);
    let recon = scenario_file("recon", "fields");
    let syns = fields(
        &recon,
        "ip.src==10.10.2.99 && tcp.flags==0x002",
        &["ip.dst", "tcp.dstport"],
    );
    assert_eq!(syns.len(), 254 * 4 + 2);
    let exc = fields(&recon, "modbus.exception_code==11", &["ip.src"]);
    assert_eq!(
        exc.len(),
        2 * 247,
        "unit sweep answered with gateway exceptions"
    );
}

#[test]
fn ipv6_vlan_udp_icmp_frames_check_out() {
    use sluice_synth::session::{
        ping, Clock, Dir, Endpoint, Host, Rng, TcpSession, Trace, UdpFlow, SEC,
    };
    if !tshark_available() {
        return;
    }
    let a = Host::new(
        [0x00, 0x14, 0x22, 1, 2, 3],
        "2001:db8::20".parse().unwrap(),
        64,
    );
    let b = Host::new(
        [0x00, 0x80, 0xf4, 4, 5, 6],
        "2001:db8::10".parse().unwrap(),
        64,
    );
    let mut rng = Rng::new(9);
    let mut clk = Clock::new(1_700_000_000 * SEC, 9);
    let mut t = Trace::new();
    let mut s = TcpSession::new(Endpoint::new(a, 50_000), Endpoint::new(b, 502), &mut rng)
        .unwrap()
        .with_vlan(20)
        .unwrap();
    s.connect(&mut clk, &mut t).unwrap();
    s.exchange(
        &[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2],
        1_000_000,
        &[0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2],
        &mut clk,
        &mut t,
    )
    .unwrap();
    s.send(Dir::ToClient, &[7u8; 5000], &mut clk, &mut t)
        .unwrap();
    clk.advance(SEC);
    s.close(Dir::ToServer, &mut clk, &mut t).unwrap();
    let mut u = UdpFlow::new(Endpoint::new(a, 5353), Endpoint::new(b, 53), &mut rng).unwrap();
    u.send(
        Dir::ToServer,
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01",
        &clk,
        &mut t,
    )
    .unwrap();
    ping(&a, &b, 2, &mut clk, &mut t).unwrap();
    let path = tmp("ipv6.pcap");
    t.write_pcap(std::fs::File::create(&path).unwrap()).unwrap();
    let rows = fields(
        &path,
        "frame",
        &[
            "_ws.col.Protocol",
            "vlan.id",
            "tcp.checksum.status",
            "udp.checksum.status",
            "icmpv6.checksum.status",
            "_ws.malformed",
            "_ws.expert.severity",
        ],
    );
    assert_eq!(rows.len(), 3 + 3 + 5 + 3 + 1 + 4);
    for r in &rows {
        assert!(r[2..5].iter().all(|c| c.is_empty() || c == "1"), "{r:?}");
        assert!(r[5].is_empty(), "{r:?}");
        assert!(
            r[6].split('|')
                .all(|s| s.parse::<u32>().unwrap_or(0) < WARN),
            "{r:?}"
        );
    }
    assert!(rows.iter().filter(|r| r[1] == "20").count() == 3 + 3 + 5 + 3);
    assert!(rows.iter().any(|r| r[0] == "Modbus/TCP"));
    assert!(rows.iter().filter(|r| r[0] == "ICMPv6").count() == 4);
}
