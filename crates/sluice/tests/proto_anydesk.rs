//! End to end: an AnyDesk direct connection (TLS toward TCP 7070 whose server
//! certificate is `CN=AnyDesk Client`; a self-signed test certificate made for this
//! test), through the `sluice` binary.
use sluice_synth::session::{Clock, Dir, Endpoint, Host, TcpSession, Trace, MS};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

const SEED_TIME: i64 = 1_612_166_400_000_000_000;
const SEED: u64 = 13;
const NET: (u8, u8, u8) = (10, 20, 5);

/// DER of a self-signed P-256 certificate with subject and issuer `CN=AnyDesk Client`.
const CERT: &[&str] = &[
    "308201863082012da00302010202147855bb33e36402de26a6db8f9ce60126302f1ce0300a06082a8648ce3d",
    "04030230193117301506035504030c0e416e794465736b20436c69656e74301e170d32363131323532313034",
    "30315a170d3336313132323231303430315a30193117301506035504030c0e416e794465736b20436c69656e",
    "743059301306072a8648ce3d020106082a8648ce3d03010703420004f0f0364403257a1c38ab1ab2f30f27c1",
    "240b0fd198766c0709ff4fb5a1e21e8b6656ad2f37f98f1791621e0779f4dc774a20350b2553cd12c916ff2d",
    "bb906231a3533051301d0603551d0e041604143077b307cbef22f830c8efe0e87002f5c5d106d9301f060355",
    "1d230418301680143077b307cbef22f830c8efe0e87002f5c5d106d9300f0603551d130101ff040530030101",
    "ff300a06082a8648ce3d0403020347003044022051835067ccbc359055b390121bd2fdf40067664221b0ebcb",
    "ed243b1f45faeccf022007372e26bb535902fbd69fc2310691027c76a6e718c6bd2a3b88a593644de779",
];

fn hex(parts: &[&str]) -> Vec<u8> {
    let s: String = parts.concat();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn u24(n: usize) -> [u8; 3] {
    [(n >> 16) as u8, (n >> 8) as u8, n as u8]
}

fn record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ty, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// TLS 1.2 ClientHello without SNI (two ECDHE-RSA-AES-GCM suites, one signature
/// algorithm extension).
pub fn client_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend((0..32u8).map(|i| i.wrapping_mul(7)));
    b.push(0);
    b.extend_from_slice(&[0, 4, 0xc0, 0x2f, 0xc0, 0x30, 1, 0]);
    b.extend_from_slice(&[0, 8, 0, 0x0d, 0, 4, 0, 2, 4, 1]);
    let mut h = vec![1];
    h.extend_from_slice(&u24(b.len()));
    h.extend_from_slice(&b);
    let mut r = vec![22, 3, 1];
    r.extend_from_slice(&(h.len() as u16).to_be_bytes());
    r.extend_from_slice(&h);
    r
}

/// ServerHello + Certificate + ServerHelloDone in one record.
pub fn server_flight() -> Vec<u8> {
    let cert = hex(CERT);
    let mut sh = vec![3, 3];
    sh.extend((0..32u8).map(|i| i.wrapping_mul(11)));
    sh.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    let mut hs = vec![2];
    hs.extend_from_slice(&u24(sh.len()));
    hs.extend_from_slice(&sh);
    let mut certs = u24(cert.len()).to_vec();
    certs.extend_from_slice(&cert);
    let mut cmsg = u24(certs.len()).to_vec();
    cmsg.extend_from_slice(&certs);
    hs.push(11);
    hs.extend_from_slice(&u24(cmsg.len()));
    hs.extend_from_slice(&cmsg);
    hs.extend_from_slice(&[14, 0, 0, 0]);
    record(22, &hs)
}

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

#[test]
fn anydesk_in_the_pipeline() {
    use Dir::*;
    let ch = client_hello();
    let sf = server_flight();
    let mut finish = record(20, &[1]);
    finish.extend(record(23, &[0x5a; 48]));
    let steps: &[(Dir, &[u8])] = &[
        (ToServer, &ch),
        (ToClient, &sf),
        (ToServer, &finish),
        (ToClient, &finish),
    ];
    let path = conversation("anydesk.pcap", 7070, steps);
    let ev = events(&path, "anydesk");
    assert_eq!(ev.len(), 1, "{ev:#?}");
    let a = &ev[0]["anydesk"];
    assert_eq!(a["detected_by"], "certificate");
    assert_eq!(a["certificate_anydesk"], true);
    assert_eq!(a["tls_version"], "TLS 1.2");
    assert!(a.get("sni").is_none());
    assert_eq!(ev[0]["destination"]["port"], 7070);
}
