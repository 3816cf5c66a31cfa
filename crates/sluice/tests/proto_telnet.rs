//! End to end: a Telnet login (failed, then successful) built with the project's
//! traffic synthesiser, analysed by the `sluice` binary; the events carry the users,
//! `password_present` and the verdicts, never the passwords.
use sluice_synth::session::{Clock, Dir, Endpoint, Host, TcpSession, Trace, MS};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

const IAC: u8 = 255;

fn conversation(name: &str, port: u16, steps: &[(Dir, Vec<u8>)]) -> PathBuf {
    let mut clk = Clock::new(1_612_166_400_000_000_000, 7);
    let host = |last: u8, mac: u8| {
        Host::new(
            [2, 0, 0, 0, 0, mac],
            IpAddr::V4(Ipv4Addr::new(10, 10, 2, last)),
            64,
        )
    };
    let client = Endpoint::new(host(50, 1), 50_123);
    let server = Endpoint::new(host(20, 2), port);
    let mut trace = Trace::new();
    let mut s = TcpSession::new(client, server, &mut clk.rng).expect("session");
    s.connect(&mut clk, &mut trace).expect("connect");
    for (dir, bytes) in steps {
        clk.advance(20 * MS);
        s.send(*dir, bytes, &mut clk, &mut trace).expect("send");
    }
    clk.advance(20 * MS);
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

/// The Telnet conversation used here (also documented in the proto tests).
pub fn telnet_login() -> Vec<(Dir, Vec<u8>)> {
    use Dir::*;
    vec![
        (ToClient, vec![IAC, 253, 24, IAC, 251, 1, IAC, 251, 3]),
        (ToServer, vec![IAC, 251, 24, IAC, 253, 1, IAC, 253, 3]),
        (
            ToClient,
            b"\r\nDebian GNU/Linux 12\r\nhmi01 login: ".to_vec(),
        ),
        (ToServer, b"operator\r\n".to_vec()),
        (ToClient, b"Password: ".to_vec()),
        (ToServer, b"wrong-one\r\n".to_vec()),
        (ToClient, b"\r\nLogin incorrect\r\nhmi01 login: ".to_vec()),
        (ToServer, b"root\r\n".to_vec()),
        (ToClient, b"Password: ".to_vec()),
        (ToServer, b"toor\r\n".to_vec()),
        (
            ToClient,
            b"\r\nLast login: Mon Feb  1 08:00:00 2021\r\nroot@hmi01:~# ".to_vec(),
        ),
        (ToServer, b"id\r\n".to_vec()),
        (
            ToClient,
            b"uid=0(root) gid=0(root)\r\nroot@hmi01:~# ".to_vec(),
        ),
    ]
}

#[test]
fn telnet_logins_in_the_pipeline() {
    let path = conversation("telnet_login.pcap", 23, &telnet_login());
    let ev = events(&path, "telnet");
    let logins: Vec<_> = ev
        .iter()
        .filter(|e| e["telnet"]["kind"] == "login")
        .collect();
    assert_eq!(logins.len(), 2, "{ev:#?}");
    assert_eq!(logins[0]["telnet"]["user"], "operator");
    assert_eq!(logins[0]["telnet"]["password_present"], true);
    assert_eq!(logins[0]["telnet"]["login_success"], false);
    assert_eq!(logins[1]["telnet"]["user"], "root");
    assert_eq!(logins[1]["telnet"]["login_success"], true);
    assert_eq!(logins[1]["event"]["dataset"], "sluice.telnet");
    assert_eq!(logins[1]["destination"]["port"], 23);
    let all = serde_json::to_string(&ev).unwrap();
    assert!(
        !all.contains("toor") && !all.contains("wrong-one"),
        "a password leaked: {all}"
    );
}
