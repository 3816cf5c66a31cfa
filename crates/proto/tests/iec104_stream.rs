//! Stream behaviour of the IEC 104 parser on built traffic: U-frame pairing,
//! sequence gaps, resynchronisation, TCP gaps, giving up, broadcast activation,
//! negative confirmations, termination timeout.
use sluice_proto::iec104::encode as enc;
use sluice_proto::iec104::state::TERM_WAIT;
use sluice_proto::iec104::{Iec104Parser, Transaction};
use sluice_proto::{Direction, Output, Parser, Record};

use Direction::{ToClient, ToServer};

fn txns(out: &[Output]) -> Vec<(i64, Option<i64>, Direction, Transaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Iec104(x) => Some((t.ts, t.ts_end, t.dir, (**x).clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn kinds(out: &[Output]) -> Vec<&'static str> {
    out.iter()
        .filter_map(|o| match o {
            Output::Anomaly(a) => Some(a.kind),
            _ => None,
        })
        .collect()
}

fn cmd(send: u16, cot: u8, ca: u16, select: bool, negative: bool) -> Vec<u8> {
    enc::i_frame(
        send,
        0,
        &enc::asdu(
            45,
            false,
            1,
            cot,
            negative,
            0,
            ca,
            &enc::single_command(100, true, select, 0),
        ),
    )
}

#[test]
fn u_frames_pair_and_testfr_from_either_side() {
    let mut p = Iec104Parser::new();
    let mut out = Vec::new();
    p.parse(ToServer, &enc::u_frame(0x07), 1, &mut out);
    p.parse(ToClient, &enc::u_frame(0x0B), 2, &mut out);
    p.parse(ToClient, &enc::u_frame(0x43), 3, &mut out);
    p.parse(ToServer, &enc::u_frame(0x83), 4, &mut out);
    p.parse(ToClient, &enc::s_frame(5), 5, &mut out);
    p.finish(6, &mut out);
    let t = txns(&out);
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].3.function, t[0].3.function_code, t[0].1),
        ("STARTDT", 0x101, Some(2))
    );
    assert_eq!(
        (t[1].3.function, t[1].2, t[1].1),
        ("TESTFR", ToClient, Some(4))
    );
    assert!(kinds(&out).is_empty());
}

#[test]
fn commands_confirmations_terminations() {
    let s = 1_000_000_000i64;
    let mut p = Iec104Parser::new();
    let mut out = Vec::new();
    // broadcast interrogation confirmed by station 7, then terminated
    let ic = |send, cot, ca| {
        enc::i_frame(
            send,
            0,
            &enc::asdu(100, false, 1, cot, false, 0, ca, &[0, 0, 0, 20]),
        )
    };
    p.parse(ToServer, &ic(0, 6, 0xFFFF), s, &mut out);
    p.parse(ToClient, &ic(0, 7, 7), 2 * s, &mut out);
    p.parse(ToClient, &ic(1, 10, 7), 3 * s, &mut out);
    // select (con only) and execute (con, then no termination: times out)
    p.parse(ToServer, &cmd(1, 6, 7, true, false), 4 * s, &mut out);
    p.parse(ToClient, &cmd(2, 7, 7, true, false), 5 * s, &mut out);
    p.parse(ToServer, &cmd(2, 6, 7, false, false), 6 * s, &mut out);
    p.parse(ToClient, &cmd(3, 7, 7, false, false), 7 * s, &mut out);
    let before = txns(&out).len();
    let m = enc::asdu(
        13,
        false,
        1,
        3,
        false,
        0,
        7,
        &enc::float_measurement(1, 1.5, 0),
    );
    p.parse(
        ToClient,
        &enc::i_frame(4, 0, &m),
        7 * s + TERM_WAIT + 1,
        &mut out,
    );
    // negative confirmation followed by unknown IOA
    p.parse(ToServer, &cmd(3, 6, 7, false, false), 30 * s, &mut out);
    p.parse(ToClient, &cmd(5, 7, 7, false, true), 31 * s, &mut out);
    p.parse(ToClient, &cmd(6, 47, 7, false, false), 32 * s, &mut out);
    p.finish(40 * s, &mut out);
    let t = txns(&out);
    assert_eq!(before, 2, "the execute waits for its termination");
    assert_eq!(t.len(), 5, "{out:?}");
    let ic = &t[0].3;
    assert!(ic.terminated && ic.common_address == Some(0xFFFF));
    assert_eq!(t[0].1, Some(3 * s));
    assert!(!t[1].3.terminated && t[1].3.objects[0].select == Some(true));
    assert!(!t[2].3.terminated && t[2].1 == Some(7 * s));
    assert_eq!(t[2].3.written(), vec![("7:100".to_string(), 1.0)]);
    assert_eq!(t[3].3.function, "M_ME_NC_1");
    assert_eq!(
        (t[4].3.response_negative, t[4].3.error_cot),
        (Some(true), Some(47))
    );
    assert!(kinds(&out).is_empty(), "{:?}", kinds(&out));
}

#[test]
fn sequence_gap_resync_and_give_up() {
    let mut p = Iec104Parser::new();
    let mut out = Vec::new();
    let m = |send| {
        enc::i_frame(
            send,
            0,
            &enc::asdu(
                13,
                false,
                1,
                3,
                false,
                0,
                1,
                &enc::float_measurement(1, 2.0, 0),
            ),
        )
    };
    p.parse(ToClient, &m(0), 1, &mut out);
    p.parse(ToClient, &m(1), 1, &mut out);
    p.parse(ToClient, &m(5), 1, &mut out);
    assert_eq!(kinds(&out), ["sequence_gap"]);
    // noise, then an APDU: bad start + resync
    let mut noisy = vec![0x11, 0x22, 0x33];
    noisy.extend(m(6));
    p.parse(ToClient, &noisy, 1, &mut out);
    assert_eq!(kinds(&out), ["sequence_gap", "bad_start", "resync"]);
    // after a TCP gap, the partial APDU is dropped and sequence checks restart
    let x = m(7);
    p.parse(ToClient, &x[..5], 1, &mut out);
    p.gap(ToClient, 9, 1, &mut out);
    p.parse(ToClient, &m(40), 1, &mut out);
    p.finish(2, &mut out);
    assert_eq!(txns(&out).len(), 5);
    assert_eq!(kinds(&out).len(), 3);

    // HTTP on port 2404 is not IEC 104: a bad start, then 256 bytes scanned in
    // vain make the second bad frame
    let mut p = Iec104Parser::new();
    let mut out = Vec::new();
    p.parse(ToServer, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1, &mut out);
    p.parse(ToServer, &[b'A'; 300], 1, &mut out);
    p.parse(ToServer, &m(0), 1, &mut out);
    p.finish(2, &mut out);
    assert!(p.is_disabled());
    assert_eq!(kinds(&out), ["bad_start", "not_iec104"]);
    assert!(txns(&out).is_empty());
}

#[test]
fn truncated_and_unknown_asdus_are_reported() {
    let mut p = Iec104Parser::new();
    let mut out = Vec::new();
    // says 3 objects, carries 2
    let objs: Vec<u8> = [
        enc::float_measurement(1, 1.0, 0),
        enc::float_measurement(2, 2.0, 0),
    ]
    .concat();
    p.parse(
        ToClient,
        &enc::i_frame(0, 0, &enc::asdu(13, false, 3, 3, false, 0, 1, &objs)),
        1,
        &mut out,
    );
    // unknown type 99
    p.parse(
        ToClient,
        &enc::i_frame(1, 0, &enc::asdu(99, false, 1, 3, false, 0, 1, &[0, 0, 0])),
        1,
        &mut out,
    );
    p.finish(2, &mut out);
    assert_eq!(kinds(&out), ["truncated_asdu", "unknown_type"]);
    let t = txns(&out);
    assert_eq!(t[0].3.objects.len(), 2);
    assert!(t[0].3.truncated);
    assert_eq!((t[1].3.function, t[1].3.function_code), ("unknown", 99));
}
