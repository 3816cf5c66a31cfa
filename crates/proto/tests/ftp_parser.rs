//! FTP on byte streams built here (see `crates/sluice/tests/proto_ftp.rs` for the
//! same kind of session through the pipeline; tshark dissects it as FTP with the same
//! commands, reply codes and PASV / PORT endpoints).
mod remote_support;
mod support;
use remote_support::{anomalies, assert_chunk_invariant, feed_chunked, records};
use sluice_proto::ftp::DESC;
use sluice_proto::Direction::{self, ToClient, ToServer};
use sluice_proto::Probe;

fn s(d: Direction, b: &[u8]) -> (Direction, Vec<u8>) {
    (d, b.to_vec())
}

#[test]
fn login_transfers_and_channels() {
    let steps = vec![
        s(ToClient, b"220-Welcome\r\n220 ProFTPD Server (plant)\r\n"),
        s(ToServer, b"USER operator\r\n"),
        s(ToClient, b"331 Password required for operator\r\n"),
        s(ToServer, b"PASS hunter2\r\n"),
        s(ToClient, b"230 User operator logged in\r\n"),
        s(ToServer, b"EPSV\r\n"),
        s(
            ToClient,
            b"229 Entering Extended Passive Mode (|||40001|)\r\n",
        ),
        s(ToServer, b"RETR /plc/program.bin\r\n"),
        s(ToClient, b"150 Opening BINARY mode data connection\r\n"),
        s(ToClient, b"226 Transfer complete\r\n"),
        s(ToServer, b"EPRT |1|10.10.3.30|6446|\r\n"),
        s(ToClient, b"200 EPRT command successful\r\n"),
        s(ToServer, b"DELE old.bin\r\n"),
        s(ToClient, b"550 old.bin: No such file or directory\r\n"),
        s(ToServer, b"NOOP\r\n"),
    ];
    let out = feed_chunked(&DESC, &steps, 0);
    let recs = records(&out);
    assert_eq!(recs.len(), 8, "{recs:#?}");
    assert!(recs[0].get("command").is_none());
    assert_eq!(recs[0]["reply_code"], 220);
    assert_eq!(recs[0]["reply_text"], "Welcome\nProFTPD Server (plant)");
    assert_eq!(recs[1]["command"], "USER");
    assert!(recs[1].get("login_success").is_none());
    assert_eq!(recs[2]["command"], "PASS");
    assert!(recs[2].get("arg").is_none());
    assert_eq!(recs[2]["password_present"], true);
    assert_eq!(recs[2]["login_success"], true);
    assert_eq!(recs[2]["user"], "operator");
    assert_eq!(recs[3]["data_mode"], "passive");
    assert_eq!(recs[3]["data_port"], 40001);
    assert_eq!(recs[4]["file"], "/plc/program.bin");
    assert_eq!(recs[4]["preliminary_code"], 150);
    assert_eq!(recs[5]["data_host"], "10.10.3.30");
    assert_eq!(recs[5]["data_port"], 6446);
    assert_eq!(recs[6]["reply_code"], 550);
    // NOOP never answered: emitted at the end without a reply
    assert_eq!(recs[7]["command"], "NOOP");
    assert!(recs[7].get("reply_code").is_none());
    assert!(!serde_json::to_string(&recs).unwrap().contains("hunter2"));
    assert!(anomalies(&out).is_empty());
    assert_chunk_invariant(&DESC, &steps);
}

#[test]
fn auth_tls_stops_parsing() {
    let steps = vec![
        s(ToClient, b"220 Microsoft FTP Service\r\n"),
        s(ToServer, b"AUTH TLS\r\n"),
        s(
            ToClient,
            b"234 AUTH command ok. Expecting TLS Negotiation.\r\n",
        ),
        s(
            ToServer,
            &[0x16, 3, 1, 0, 0x40, 1, 0, 0, 0x3c, b'\n', b'\n'],
        ),
    ];
    let out = feed_chunked(&DESC, &steps, 0);
    let recs = records(&out);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1]["command"], "AUTH");
    assert_eq!(recs[1]["arg"], "TLS");
    assert_eq!(recs[1]["tls"], true);
    assert!(
        anomalies(&out).is_empty(),
        "TLS bytes are not parsed as FTP"
    );
}

#[test]
fn not_ftp_and_probe() {
    let steps = vec![s(ToClient, b"hello\r\nworld\r\nfoo\r\nbar\r\nbaz\r\n")];
    let out = feed_chunked(&DESC, &steps, 0);
    assert!(anomalies(&out).contains(&"not_ftp"));
    assert_eq!(
        (DESC.probe)(ToClient, b"220 (vsFTPd 3.0.3)\r\n"),
        Probe::Match
    );
    assert_eq!(
        (DESC.probe)(ToClient, b"220 mail.example.com ESMTP Postfix\r\n"),
        Probe::NoMatch
    );
    assert_eq!(
        (DESC.probe)(ToClient, b"SSH-2.0-OpenSSH\r\n"),
        Probe::NoMatch
    );
}
