//! Telnet on byte streams built here (the same conversation as the e2e test in
//! `crates/sluice/tests/proto_telnet.rs`, whose pcap tshark dissects as Telnet with
//! the same options and lines).
mod remote_support;
mod support;
use remote_support::{assert_chunk_invariant, feed_chunked, records};
use sluice_proto::telnet::DESC;
use sluice_proto::Direction::{self, ToClient, ToServer};
use sluice_proto::Probe;

const IAC: u8 = 255;

fn s(d: Direction, b: &[u8]) -> (Direction, Vec<u8>) {
    (d, b.to_vec())
}

fn login() -> Vec<(Direction, Vec<u8>)> {
    vec![
        s(ToClient, &[IAC, 253, 24, IAC, 251, 1, IAC, 251, 3]),
        s(ToServer, &[IAC, 251, 24, IAC, 253, 1, IAC, 253, 3]),
        s(ToClient, b"\r\nDebian GNU/Linux 12\r\nhmi01 login: "),
        s(ToServer, b"operator\r\n"),
        s(ToClient, b"Password: "),
        s(ToServer, b"wrong-one\r\n"),
        s(ToClient, b"\r\nLogin incorrect\r\nhmi01 login: "),
        s(ToServer, b"root\r\n"),
        s(ToClient, b"Password: "),
        s(ToServer, b"toor\r\n"),
        s(
            ToClient,
            b"\r\nLast login: Mon Feb  1 08:00:00 2021\r\nroot@hmi01:~# ",
        ),
        s(ToServer, b"id\r\n"),
    ]
}

#[test]
fn failed_then_successful_login() {
    let steps = login();
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert_eq!(recs[0]["user"], "operator");
    assert_eq!(recs[0]["prompt"], "hmi01 login:");
    assert_eq!(recs[0]["password_present"], true);
    assert_eq!(recs[0]["login_success"], false);
    assert_eq!(recs[0]["result_line"], "Login incorrect");
    assert_eq!(recs[1]["user"], "root");
    assert_eq!(recs[1]["login_success"], true);
    assert_eq!(
        recs[1]["options"],
        serde_json::json!(["terminal_type", "echo", "suppress_go_ahead"])
    );
    assert_eq!(recs[1]["banner"], "Debian GNU/Linux 12");
    let json = serde_json::to_string(&recs).unwrap();
    assert!(!json.contains("toor") && !json.contains("wrong-one"));
    assert_chunk_invariant(&DESC, &steps);
}

#[test]
fn character_mode_with_echo_and_shell_prompt() {
    // the client sends one key per segment and the server echoes the user name
    let mut steps = vec![s(ToClient, b"router login: ")];
    for c in b"admin\r" {
        steps.push(s(ToServer, &[*c]));
        if *c != b'\r' {
            steps.push(s(ToClient, &[*c]));
        }
    }
    steps.push(s(ToClient, b"\r\nPassword: "));
    for c in b"cisco\r" {
        steps.push(s(ToServer, &[*c]));
    }
    steps.push(s(ToClient, b"\r\nrouter# "));
    steps.push(s(ToServer, b"show run\r"));
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["user"], "admin");
    assert_eq!(recs[0]["login_success"], true);
    assert_eq!(recs[0]["result_line"], "router#");
    assert!(!serde_json::to_string(&recs).unwrap().contains("cisco"));
}

#[test]
fn new_environ_user_and_password_only_prompt() {
    let mut env = vec![IAC, 250, 39, 0, 0];
    env.extend_from_slice(b"USER");
    env.push(1);
    env.extend_from_slice(b"-f root");
    env.extend_from_slice(&[IAC, 240]);
    let steps = vec![
        s(ToClient, &[IAC, 253, 39]),
        s(ToServer, &env),
        s(ToClient, b"\r\nUser Access Verification\r\n\r\nPassword: "),
        s(ToServer, b"plc\r\n"),
        s(ToClient, b"\r\n% Bad passwords\r\n"),
    ];
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert_eq!(recs[0]["user"], "-f root");
    assert_eq!(recs[0]["password_present"], true);
    assert_eq!(recs[0]["login_success"], false);
    assert_chunk_invariant(&DESC, &steps);
}

#[test]
fn session_without_login_and_probe() {
    let steps = vec![
        s(ToClient, &[IAC, 251, 1]),
        s(ToClient, b"PLC maintenance shell\r\n> "),
        s(ToServer, b"status\r\n"),
    ];
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["kind"], "session");
    assert_eq!(recs[0]["banner"], "PLC maintenance shell");
    assert_eq!((DESC.probe)(ToClient, &[IAC, 253, 24]), Probe::Match);
    assert_eq!((DESC.probe)(ToClient, b"\r\nhmi01 login: "), Probe::Match);
    assert_eq!((DESC.probe)(ToClient, b"220 FTP\r\n"), Probe::NoMatch);
    assert_eq!((DESC.probe)(ToServer, &[0x16, 3, 1, 0, 5]), Probe::NoMatch);
}
