//! Property tests for the teamviewer parser: arbitrary bytes in arbitrary chunkings (with
//! TCP gaps) never panic, and the records do not depend on the chunking.
mod remote_support;
mod support;
use proptest::prelude::*;
use sluice_proto::teamviewer::DESC;
use sluice_proto::{Direction, Transport};

remote_support::robustness_props!(DESC, "teamviewer");

// ---- framed messages and DynGate HTTP round trip (issue 6) ----

fn tv_msgs() -> impl Strategy<Value = Vec<([u8; 2], u8, Vec<u8>)>> {
    prop::collection::vec(
        (
            prop::sample::select(sluice_proto::teamviewer::MAGICS.to_vec()),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..80),
        ),
        1..40,
    )
}

fn tv_bytes(msgs: &[([u8; 2], u8, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (m, cmd, payload) in msgs {
        v.extend_from_slice(m);
        v.push(*cmd);
        v.extend((payload.len() as u16).to_le_bytes());
        v.extend_from_slice(payload);
    }
    v
}

fn tv_records(
    steps: &[(Direction, Vec<u8>)],
    split: usize,
) -> Vec<sluice_proto::teamviewer::Transaction> {
    let mut p = (DESC.new_parser)(Transport::Tcp);
    let mut out = Vec::new();
    for (i, (d, b)) in steps.iter().enumerate() {
        let at = split % (b.len() + 1);
        p.parse(*d, &b[..at], i as i64, &mut out);
        p.parse(*d, &b[at..], i as i64, &mut out);
    }
    p.finish(99, &mut out);
    out.iter()
        .filter_map(|o| match o {
            sluice_proto::Output::Txn(t) => match &t.record {
                sluice_proto::Record::Teamviewer(v) => Some((**v).clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Magic, first command bytes, every command byte (up to the cap) and message
    /// counts per direction read back, each direction split at a random point.
    #[test]
    fn framed_round_trip(c in tv_msgs(), s in tv_msgs(), split in any::<usize>()) {
        let steps = [(Direction::ToServer, tv_bytes(&c)), (Direction::ToClient, tv_bytes(&s))];
        prop_assert_eq!((DESC.probe)(Direction::ToServer, &steps[0].1), sluice_proto::Probe::Match);
        let r = tv_records(&steps, split);
        prop_assert_eq!(r.len(), 2);
        let h = &r[0];
        prop_assert_eq!((h.kind, h.detected_by), ("handshake", "content"));
        prop_assert_eq!(h.magic.clone(), Some(format!("{:02x}{:02x}", c[0].0[0], c[0].0[1])));
        prop_assert_eq!((h.client_command, h.server_command), (Some(c[0].1), Some(s[0].1)));
        let x = &r[1];
        prop_assert_eq!(x.kind, "session");
        let cmds = |v: &[([u8; 2], u8, Vec<u8>)]| v.iter().map(|m| m.1).take(sluice_proto::teamviewer::MAX_COMMANDS).collect::<Vec<_>>();
        prop_assert_eq!(&x.client_commands, &cmds(&c));
        prop_assert_eq!(&x.server_commands, &cmds(&s));
        prop_assert_eq!((x.client_messages, x.server_messages), (Some(c.len() as u32), Some(s.len() as u32)));
        prop_assert!(!x.framing_lost);
    }

    /// A DynGate HTTP poll is reported with its request line.
    #[test]
    fn dyngate_round_trip(id in any::<u32>(), sid in "[0-9a-f]{8}", extra in "[A-Za-z-]{1,10}: [A-Za-z0-9 ]{0,20}", split in any::<usize>()) {
        let line = format!("GET /din.aspx?s={sid}&id={id}&client=DynGate&p=10000001 HTTP/1.1");
        let req = format!("{line}\r\n{extra}\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0; DynGate)\r\n\r\n");
        let r = tv_records(&[(Direction::ToServer, req.into_bytes())], split);
        prop_assert_eq!(r.len(), 1);
        prop_assert_eq!((r[0].kind, r[0].detected_by), ("handshake", "http"));
        prop_assert_eq!(r[0].http_request.as_ref(), Some(&line));
    }
}
