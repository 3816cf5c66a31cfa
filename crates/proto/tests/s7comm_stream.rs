//! Stream behaviour of the S7comm / S7comm-plus parsers on built traffic: COTP
//! pairing in either order, DT reassembly, resynchronisation, TCP gaps, giving up
//! on a flow that is not S7comm, PDU reference reuse, userdata reassembly.
use sluice_proto::s7comm::encode as enc;
use sluice_proto::s7comm::{S7Parser, Transaction};
use sluice_proto::s7commplus::{encode as penc, S7PlusParser};
use sluice_proto::{Direction, Output, Parser, Record};

use Direction::{ToClient, ToServer};

fn txns(out: &[Output]) -> Vec<(Direction, Option<i64>, Transaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::S7comm(x) => Some((t.dir, t.ts_end, (**x).clone())),
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

fn setup(r: u16, rosctr: u8) -> Vec<u8> {
    let err = (rosctr == 3).then_some((0, 0));
    enc::dt(
        &enc::pdu(rosctr, r, err, &enc::setup_param(1, 480), &[]),
        true,
    )
}

#[test]
fn connect_confirm_replayed_first_still_pairs() {
    let mut p = S7Parser::new();
    let mut out = Vec::new();
    let cr = enc::connect(false, &[0x01, 0x00], &[0x01, 0x02]);
    let cc = enc::connect(true, &[0x01, 0x00], &[0x01, 0x02]);
    // what the engine does after detecting on the client's first job: the
    // server's buffered bytes (CC) first, then the client's (CR + job)
    p.parse(ToClient, &cc, 10, &mut out);
    let mut client = cr.clone();
    client.extend(setup(1, 1));
    p.parse(ToServer, &client, 10, &mut out);
    p.parse(ToClient, &setup(1, 3), 11, &mut out);
    p.finish(12, &mut out);
    let t = txns(&out);
    assert_eq!(t.len(), 2, "{out:?}");
    let c = &t[0].2;
    assert_eq!(c.function, "cotp_connect");
    assert!(c.request && c.response);
    assert_eq!(t[0].0, ToServer);
    let info = c.cotp.as_ref().unwrap();
    assert_eq!(
        (info.rack, info.slot, info.tpdu_size),
        (Some(0), Some(2), Some(1024))
    );
    assert_eq!(t[1].2.setup.unwrap().pdu_size, 480);
    assert!(kinds(&out).is_empty());
}

#[test]
fn dt_fragments_are_reassembled() {
    let vars = [enc::Var {
        transport_size: 2,
        count: 40,
        db: 5,
        area: 0x84,
        byte: 0,
        bit: 0,
    }];
    let data = enc::data_items(&[(0, 4, &[7u8; 40])]);
    let job = enc::pdu(1, 9, None, &enc::var_param(5, &vars), &data);
    let mut p = S7Parser::new();
    let mut out = Vec::new();
    // three DTs, the first two without EOT, plus an empty keep-alive DT
    let mut bytes = enc::dt(&[], false);
    bytes.extend(enc::dts(&job, 20));
    p.parse(ToServer, &bytes, 1, &mut out);
    p.parse(
        ToClient,
        &enc::dt(&enc::pdu(3, 9, Some((0, 0)), &[5, 1], &[0xff]), true),
        2,
        &mut out,
    );
    p.finish(3, &mut out);
    let t = txns(&out);
    assert_eq!(t.len(), 1, "{out:?}");
    assert_eq!(t[0].2.items[0].address.as_deref(), Some("DB5.DBB0"));
    assert_eq!(t[0].2.written().len(), 16);
    assert!(t[0].2.truncated);
    assert!(kinds(&out).is_empty());
}

#[test]
fn garbage_resync_gap_and_give_up() {
    let mut p = S7Parser::new();
    let mut out = Vec::new();
    p.parse(ToServer, &setup(1, 1), 1, &mut out);
    p.parse(ToClient, &setup(1, 3), 2, &mut out);
    // noise then a job: one bad_tpkt, one resync, the job is decoded
    let mut noisy = b"\x07garbage!".to_vec();
    noisy.extend(setup(2, 1));
    p.parse(ToServer, &noisy, 3, &mut out);
    assert_eq!(kinds(&out), ["bad_tpkt", "resync"]);
    // a gap in the middle of a frame: the partial frame is dropped
    let half = setup(3, 1);
    p.parse(ToServer, &half[..10], 4, &mut out);
    p.gap(ToServer, 100, 4, &mut out);
    p.parse(ToServer, &setup(4, 1), 5, &mut out);
    p.finish(6, &mut out);
    let refs: Vec<u16> = txns(&out).iter().map(|t| t.2.pdu_ref).collect();
    assert_eq!(refs, [1, 2, 4]);
    assert_eq!(p.pending(), 0);

    // a flow of S7comm-plus PDUs is not S7comm: one not_s7comm, then silence
    let mut p = S7Parser::new();
    let mut out = Vec::new();
    let plus = penc::message(2, &penc::request(0x054C, 1, 5, 0x34, &[1, 2, 3]), 100);
    for _ in 0..10 {
        p.parse(ToServer, &plus, 1, &mut out);
    }
    p.finish(2, &mut out);
    let k = kinds(&out);
    assert_eq!(k.iter().filter(|&&k| k == "not_s7comm").count(), 1, "{k:?}");
    assert_eq!(k.len(), 3);
    assert!(p.is_disabled());
}

#[test]
fn reused_pdu_reference_and_unanswered_jobs() {
    let mut p = S7Parser::new();
    let mut out = Vec::new();
    p.parse(ToServer, &setup(7, 1), 1, &mut out);
    p.parse(ToServer, &setup(7, 1), 2, &mut out);
    p.parse(
        ToServer,
        &enc::dt(&enc::pdu(1, 8, None, &enc::stop_param(), &[]), true),
        3,
        &mut out,
    );
    p.parse(ToClient, &setup(99, 3), 4, &mut out);
    p.finish(5, &mut out);
    let t = txns(&out);
    assert_eq!(t.len(), 4);
    assert!(t.iter().all(|x| x.1.is_none()));
    assert_eq!(kinds(&out), ["unanswered_request", "unexpected_response"]);
    let stop = t.iter().find(|x| x.2.function == "plc_stop").unwrap();
    assert!(stop.2.is_cpu_stop());
}

#[test]
fn userdata_szl_reassembly_gives_identity() {
    // SZL 0x0011 response split over two data units: 4 records of 28 bytes
    let mut szl = vec![0x00, 0x11, 0x00, 0x00, 0x00, 28, 0x00, 2];
    let mut rec = |idx: u16, text: &[u8], v: [u8; 4]| {
        let mut r = idx.to_be_bytes().to_vec();
        let mut t = text.to_vec();
        t.resize(20, b' ');
        r.extend(t);
        r.extend([0, 0xC0]);
        r.extend(v);
        szl.extend(r);
    };
    rec(1, b"6ES7 214-1AG40-0XB0", [0, 1, 0, 2]);
    rec(7, b"", [b'V', 4, 4, 1]);
    let (a, b) = szl.split_at(30);
    let req = enc::pdu(
        7,
        1,
        None,
        &enc::userdata_param(4, 4, 1, 0, None),
        &enc::userdata_data(0xff, &[0, 0x11, 0, 0]),
    );
    let r1 = enc::pdu(
        7,
        1,
        None,
        &enc::userdata_param(8, 4, 1, 3, Some((5, false, 0))),
        &enc::userdata_data(0xff, a),
    );
    let req2 = enc::pdu(
        7,
        2,
        None,
        &enc::userdata_param(4, 4, 1, 3, Some((5, true, 0))),
        &enc::userdata_data(0x0a, &[]),
    );
    let r2 = enc::pdu(
        7,
        2,
        None,
        &enc::userdata_param(8, 4, 1, 3, Some((5, true, 0))),
        &enc::userdata_data(0xff, b),
    );
    let mut p = S7Parser::new();
    let mut out = Vec::new();
    for (d, b) in [
        (ToServer, req),
        (ToClient, r1),
        (ToServer, req2),
        (ToClient, r2),
    ] {
        p.parse(d, &enc::dt(&b, true), 1, &mut out);
    }
    p.finish(2, &mut out);
    let ids: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Identity(i) => Some(i.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1, "{out:?}");
    assert_eq!(ids[0].model.as_deref(), Some("6ES7 214-1AG40-0XB0"));
    assert_eq!(ids[0].firmware.as_deref(), Some("V4.4.1"));
    let t = txns(&out);
    assert_eq!(t.len(), 2);
    assert!(t[0].2.more_data);
    assert_eq!(t[1].2.szl.as_ref().unwrap().entries.len(), 2);
    assert!(kinds(&out).is_empty());
}

#[test]
fn s7commplus_fragmented_message_and_flagged_requests() {
    let mut p = S7PlusParser::new();
    let mut out = Vec::new();
    // a request split over 4 frames, then its response
    let big = penc::request(0x04CA, 5, 0x120, 0x36, &[0x55; 250]);
    p.parse(ToServer, &penc::message(2, &big, 70), 1, &mut out);
    p.parse(
        ToClient,
        &penc::message(2, &penc::response(0x32, 0x04CA, 5, 0x34, &[0; 4]), 999),
        2,
        &mut out,
    );
    // a request with flag 0x40 never answered, then a later answered one
    p.parse(
        ToServer,
        &penc::message(2, &penc::request(0x04F2, 6, 0x120, 0x74, &[1]), 999),
        3,
        &mut out,
    );
    p.parse(
        ToServer,
        &penc::message(2, &penc::request(0x054C, 7, 0x120, 0x34, &[1]), 999),
        4,
        &mut out,
    );
    p.parse(
        ToClient,
        &penc::message(2, &penc::response(0x32, 0x054C, 7, 0x34, &[1]), 999),
        5,
        &mut out,
    );
    let n = out.len();
    p.finish(6, &mut out);
    assert_eq!(out.len(), n, "nothing left at finish: {out:?}");
    let t: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::S7commplus(x) => Some((t.ts_end, (**x).clone())),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(t.len(), 3, "{out:?}");
    assert_eq!(t[0].1.frames, Some(4 + 1));
    assert_eq!(t[0].1.request_length, Some(big.len() as u32));
    assert_eq!((t[1].1.function, t[1].0), ("set_variable", None));
    assert_eq!((t[2].1.function, t[2].0), ("get_multi_variables", Some(5)));
    assert!(out.iter().all(|o| matches!(o, Output::Txn(_))));
}
