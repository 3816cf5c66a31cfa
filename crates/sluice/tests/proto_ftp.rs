//! End to end: an FTP session (failed then good login, passive download, active
//! upload) built with the project's traffic synthesiser, analysed by the `sluice`
//! binary.
use sluice_synth::session::{Clock, Dir, Endpoint, Host, TcpSession, Trace, MS};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

fn conversation(name: &str, port: u16, steps: &[(Dir, &[u8])]) -> PathBuf {
    let mut clk = Clock::new(1_612_166_400_000_000_000, 9);
    let host = |last: u8, mac: u8| {
        Host::new(
            [2, 0, 0, 0, 0, mac],
            IpAddr::V4(Ipv4Addr::new(10, 10, 3, last)),
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
fn ftp_session_in_the_pipeline() {
    use Dir::*;
    let steps: &[(Dir, &[u8])] = &[
        (ToClient, b"220 (vsFTPd 3.0.3)\r\n"),
        (ToServer, b"USER anonymous\r\n"),
        (ToClient, b"331 Please specify the password.\r\n"),
        (ToServer, b"PASS guest@\r\n"),
        (ToClient, b"530 Login incorrect.\r\n"),
        (ToServer, b"USER operator\r\n"),
        (ToClient, b"331 Please specify the password.\r\n"),
        (ToServer, b"PASS Sup3rSecret\r\n"),
        (ToClient, b"230 Login successful.\r\n"),
        (ToServer, b"SYST\r\n"),
        (ToClient, b"215 UNIX Type: L8\r\n"),
        (ToServer, b"FEAT\r\n"),
        (
            ToClient,
            b"211-Features:\r\n EPRT\r\n EPSV\r\n PASV\r\n211 End\r\n",
        ),
        (ToServer, b"CWD /recipes\r\n"),
        (ToClient, b"250 Directory successfully changed.\r\n"),
        (ToServer, b"PASV\r\n"),
        (
            ToClient,
            b"227 Entering Passive Mode (10,10,3,40,195,80).\r\n",
        ),
        (ToServer, b"RETR dosing.csv\r\n"),
        (
            ToClient,
            b"150 Opening BINARY mode data connection for dosing.csv (42 bytes).\r\n",
        ),
        (ToClient, b"226 Transfer complete.\r\n"),
        (ToServer, b"PORT 10,10,3,30,200,10\r\n"),
        (
            ToClient,
            b"200 PORT command successful. Consider using PASV.\r\n",
        ),
        (ToServer, b"STOR plc_backup.bin\r\n"),
        (
            ToClient,
            b"150 Ok to send data.\r\n226 Transfer complete.\r\n",
        ),
        (ToServer, b"QUIT\r\n"),
        (ToClient, b"221 Goodbye.\r\n"),
    ];
    let path = conversation("ftp_session.pcap", 21, steps);
    let ev = events(&path, "ftp");
    let find = |cmd: &str, nth: usize| {
        ev.iter()
            .filter(|e| e["ftp"]["command"] == cmd)
            .nth(nth)
            .unwrap_or_else(|| panic!("no {cmd} #{nth} in {ev:#?}"))
            .clone()
    };
    let greeting = ev
        .iter()
        .find(|e| e["ftp"]["reply_code"] == 220)
        .expect("greeting");
    assert!(greeting["ftp"].get("command").is_none());
    let bad = find("PASS", 0);
    assert_eq!(bad["ftp"]["user"], "anonymous");
    assert_eq!(bad["ftp"]["password_present"], true);
    assert_eq!(bad["ftp"]["login_success"], false);
    let good = find("PASS", 1);
    assert_eq!(good["ftp"]["user"], "operator");
    assert_eq!(good["ftp"]["login_success"], true);
    assert_eq!(good["ftp"]["reply_code"], 230);
    assert_eq!(find("SYST", 0)["ftp"]["system"], "UNIX Type: L8");
    assert_eq!(
        find("FEAT", 0)["ftp"]["features"],
        serde_json::json!(["EPRT", "EPSV", "PASV"])
    );
    let pasv = find("PASV", 0);
    assert_eq!(pasv["ftp"]["data_host"], "10.10.3.40");
    assert_eq!(pasv["ftp"]["data_port"], 50000);
    let retr = find("RETR", 0);
    assert_eq!(retr["ftp"]["file"], "dosing.csv");
    assert_eq!(retr["ftp"]["preliminary_code"], 150);
    assert_eq!(retr["ftp"]["reply_code"], 226);
    assert_eq!(find("PORT", 0)["ftp"]["data_port"], 51210);
    assert_eq!(find("STOR", 0)["ftp"]["file"], "plc_backup.bin");
    assert_eq!(find("STOR", 0)["ftp"]["user"], "operator");
    let all = serde_json::to_string(&ev).unwrap();
    assert!(
        !all.contains("Sup3rSecret") && !all.contains("guest@"),
        "a password leaked"
    );
}
