//! End to end: TeamViewer recognised by its message magic on TCP 5938 (bytes built
//! here after the public DPI signatures the parser relies on; see
//! `sluice_proto::teamviewer`), through the `sluice` binary.
use sluice_synth::session::{Clock, Dir, Endpoint, Host, TcpSession, Trace, MS};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

const SEED_TIME: i64 = 1_612_166_400_000_000_000;
const SEED: u64 = 11;
const NET: (u8, u8, u8) = (10, 10, 2);

fn conversation(name: &str, port: u16, steps: &[(Dir, &[u8])]) -> PathBuf {
    let mut clk = Clock::new(SEED_TIME, SEED);
    let host = |last: u8, mac: u8| {
        Host::new(
            [2, 0, 0, 0, 0, mac],
            IpAddr::V4(Ipv4Addr::new(NET.0, NET.1, NET.2, last)),
            64,
        )
    };
    let client = Endpoint::new(host(30, 1), 50_200);
    let server = Endpoint::new(host(40, 2), port);
    let mut trace = Trace::new();
    let mut s = TcpSession::new(client, server, &mut clk.rng).expect("session");
    s.connect(&mut clk, &mut trace).expect("connect");
    for (dir, bytes) in steps {
        clk.advance(15 * MS);
        s.send(*dir, bytes, &mut clk, &mut trace).expect("send");
    }
    clk.advance(15 * MS);
    s.close(Dir::ToServer, &mut clk, &mut trace).expect("close");
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create pcap"));
    trace.write_pcap(f).expect("write pcap");
    path
}

fn events(path: &Path, proto: &str) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "analyze",
            path.to_str().unwrap(),
            "--no-db",
            "--events",
            "-",
        ])
        .output()
        .expect("sluice runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e.get(proto).is_some())
        .collect()
}

fn first_message(fill: u8) -> Vec<u8> {
    // magic 17 24, command 0x0a, 16-bit LE length 32, then 32 payload bytes
    let mut m = vec![0x17, 0x24, 0x0a, 0x20, 0x00];
    m.extend(std::iter::repeat_n(fill, 32));
    m
}

#[test]
fn teamviewer_in_the_pipeline() {
    use Dir::*;
    let c1 = first_message(0x11);
    let s1 = first_message(0x22);
    let opaque: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
    let steps: &[(Dir, &[u8])] = &[(ToServer, &c1), (ToClient, &s1), (ToServer, &opaque)];
    let path = conversation("teamviewer.pcap", 5938, steps);
    let ev = events(&path, "teamviewer");
    let hs = ev
        .iter()
        .find(|e| e["teamviewer"]["kind"] == "handshake")
        .unwrap_or_else(|| panic!("no handshake in {ev:#?}"));
    assert_eq!(hs["teamviewer"]["detected_by"], "content");
    assert_eq!(hs["teamviewer"]["magic"], "1724");
    assert_eq!(hs["teamviewer"]["client_command"], 10);
    assert_eq!(hs["teamviewer"]["server_command"], 10);
    assert_eq!(hs["destination"]["port"], 5938);
    let session = ev
        .iter()
        .find(|e| e["teamviewer"]["kind"] == "session")
        .expect("session");
    assert_eq!(session["teamviewer"]["framing_lost"], true);
    assert_eq!(
        session["teamviewer"]["client_commands"],
        serde_json::json!([10])
    );
}
