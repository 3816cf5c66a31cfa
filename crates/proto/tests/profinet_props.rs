//! Profinet properties: no panic on any frame, DCP build -> parse round trips,
//! pairing of identify answers, and the operation of set requests.
use proptest::prelude::*;
use sluice_proto::profinet::{self, dcp};
use sluice_proto::{FrameParser, L2Frame, Operation, Output, ProtoRecord, Record};
use std::net::Ipv4Addr;

const PLC: [u8; 6] = [0x00, 0x1b, 0x1b, 0x00, 0x00, 0x01];
const TOOL: [u8; 6] = [0x00, 0x50, 0x56, 0x00, 0x00, 0x02];
const MC: [u8; 6] = [0x01, 0x0e, 0xcf, 0x00, 0x00, 0x00];

fn push(
    p: &mut dyn FrameParser,
    ts: i64,
    src: [u8; 6],
    dst: [u8; 6],
    payload: &[u8],
    out: &mut Vec<Output>,
) {
    p.frame(
        &L2Frame {
            ts,
            src_mac: src,
            dst_mac: dst,
            vlan: 0,
            ethertype: 0x8892,
            payload,
        },
        out,
    );
}

fn dcp_txns(out: &[Output]) -> Vec<profinet::DcpTransaction> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::ProfinetDcp(d) => Some((**d).clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[test]
fn identify_answers_pair_and_sets_are_engineering() {
    let mut p = (profinet::DESC.new_parser)();
    let mut out = Vec::new();
    // identify all (multicast), two devices answer
    let req = dcp::enc::frame(
        dcp::IDENTIFY_REQUEST,
        &dcp::enc::pdu(5, 0, 42, &[(0xff, 0xff, None, &[])]),
    );
    push(&mut *p, 0, TOOL, MC, &req, &mut out);
    for (i, name) in ["plc-1", "io-2"].iter().enumerate() {
        let ip = [10, 0, 0, 10 + i as u8, 255, 255, 255, 0, 10, 0, 0, 1];
        let resp = dcp::enc::frame(
            dcp::IDENTIFY_RESPONSE,
            &dcp::enc::pdu(
                5,
                1,
                42,
                &[
                    (2, 2, Some(0), name.as_bytes()),
                    (2, 1, Some(0), b"CPU 1516"),
                    (2, 3, Some(0), &[0x00, 0x2a, 0x01, 0x0e]),
                    (2, 4, Some(0), &[0x02, 0x00]),
                    (1, 2, Some(1), &ip),
                ],
            ),
        );
        let mut src = PLC;
        src[5] = i as u8;
        push(
            &mut *p,
            1_000_000 * (i as i64 + 1),
            src,
            TOOL,
            &resp,
            &mut out,
        );
    }
    // set IP (permanent) on the first, answered; then a signal-only set
    let set = dcp::enc::frame(
        dcp::GET_SET,
        &dcp::enc::pdu(
            4,
            0,
            43,
            &[
                (
                    1,
                    2,
                    Some(1),
                    &[10, 0, 0, 99, 255, 255, 255, 0, 10, 0, 0, 1],
                ),
                (5, 2, Some(0), &[]),
            ],
        ),
    );
    push(&mut *p, 5_000_000, TOOL, PLC, &set, &mut out);
    let ok = dcp::enc::frame(
        dcp::GET_SET,
        &dcp::enc::pdu(
            4,
            1,
            43,
            &[(5, 4, None, &[1, 2, 0]), (5, 4, None, &[5, 2, 0])],
        ),
    );
    push(&mut *p, 6_000_000, PLC, TOOL, &ok, &mut out);
    let signal = dcp::enc::frame(
        dcp::GET_SET,
        &dcp::enc::pdu(4, 0, 44, &[(5, 3, Some(0), &[0x01, 0x00])]),
    );
    push(&mut *p, 7_000_000, TOOL, PLC, &signal, &mut out);
    p.finish(0, &mut out);
    let t = dcp_txns(&out);
    assert_eq!(t.len(), 4, "{t:#?}");
    assert_eq!(
        t[0].device.as_ref().unwrap().name_of_station.as_deref(),
        Some("plc-1")
    );
    assert_eq!(
        t[1].device.as_ref().unwrap().name_of_station.as_deref(),
        Some("io-2")
    );
    assert!(t[..2]
        .iter()
        .all(|x| x.request && x.response && x.xid == 42));
    assert_eq!(t[0].operation(), Operation::Read);
    let q = t[2].query.as_ref().unwrap();
    assert_eq!(q.ip, Some(Ipv4Addr::new(10, 0, 0, 99)));
    assert!(t[2].response && t[2].errors.is_empty());
    assert_eq!(t[2].operation(), Operation::Engineering);
    // the signal-only set was never answered: emitted at finish, not engineering
    assert!(!t[3].response);
    assert_eq!(t[3].operation(), Operation::Other);
    let ids: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Identity(i) => Some(i.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        ids[1].address.map(|a| a.to_string()).as_deref(),
        Some("10.0.0.11")
    );
    assert_eq!(ids[1].vendor.as_deref(), Some("Siemens AG"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn never_panics(frames in proptest::collection::vec((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..120)), 0..24)) {
        let mut p = (profinet::DESC.new_parser)();
        let mut out = Vec::new();
        for (i, (fid, body)) in frames.iter().enumerate() {
            // arbitrary frame ids, and the DCP / alarm ids with arbitrary bodies
            for id in [*fid, 0xfefc + fid % 4, 0xfe01, 0xc000] {
                let mut f = id.to_be_bytes().to_vec();
                f.extend_from_slice(body);
                let ts = if i % 2 == 0 { i64::MIN + i as i64 } else { i64::MAX - i as i64 };
                push(&mut *p, ts, PLC, TOOL, &f, &mut out);
                push(&mut *p, i as i64 * 1_000_000_000, TOOL, PLC, &f, &mut out);
            }
            push(&mut *p, 0, PLC, TOOL, body, &mut out);
        }
        p.finish(0, &mut out);
    }

    #[test]
    fn dcp_round_trip(
        xid in any::<u32>(),
        name in "[a-z][a-z0-9-]{0,60}",
        vendor in any::<u16>(), device in any::<u16>(),
        ip in any::<[u8; 4]>(),
    ) {
        let mut ipb = ip.to_vec();
        ipb.extend_from_slice(&[255, 255, 0, 0, ip[0], ip[1], ip[2], 1]);
        let id = [vendor.to_be_bytes(), device.to_be_bytes()].concat();
        let pdu = dcp::enc::pdu(5, 1, xid, &[(2, 2, Some(0), name.as_bytes()), (2, 3, Some(0), &id), (1, 2, Some(1), &ipb)]);
        let (h, area) = dcp::parse(&pdu).unwrap();
        prop_assert_eq!((h.service_id, h.service_type, h.xid), (5, 1, xid));
        let f = dcp::facts(&dcp::blocks(&h, area).unwrap());
        prop_assert_eq!(f.name_of_station.as_deref(), Some(name.as_str()));
        prop_assert_eq!((f.vendor_id, f.device_id), (Some(vendor), Some(device)));
        prop_assert_eq!(f.ip, Some(Ipv4Addr::from(ip)));
        prop_assert_eq!(f.netmask, Some(Ipv4Addr::new(255, 255, 0, 0)));
    }
}
