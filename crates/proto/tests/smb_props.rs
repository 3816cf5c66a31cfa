//! Property tests for the smb parser: arbitrary bytes in arbitrary chunkings (with
//! TCP gaps) never panic, and the records do not depend on the chunking.
mod remote_support;
mod support;
use proptest::prelude::*;
use sluice_proto::smb::DESC;
use sluice_proto::{Direction, Transport};

remote_support::robustness_props!(DESC, "smb");

// ---- SMB2 NEGOTIATE + TREE_CONNECT round trip (issue 6) ----

/// MS-SMB2 2.2.3 dialect revisions and their names.
const DIALECTS: [(u16, &str); 8] = [
    (0x0202, "2.0.2"),
    (0x0210, "2.1"),
    (0x0222, "2.2.2"),
    (0x0224, "2.2.4"),
    (0x0300, "3.0"),
    (0x0302, "3.0.2"),
    (0x0311, "3.1.1"),
    (0x02ff, "2.???"),
];

fn le16(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

/// NetBIOS session message holding one SMB2 message (64-byte header + body).
fn smb2(
    status: u32,
    cmd: u16,
    response: bool,
    mid: u64,
    tree: u32,
    session: u64,
    body: &[u8],
) -> Vec<u8> {
    let mut h = vec![0xfe, b'S', b'M', b'B'];
    h.extend(le16(64));
    h.extend(le16(0)); // credit charge
    h.extend(status.to_le_bytes());
    h.extend(le16(cmd));
    h.extend(le16(1)); // credits
    h.extend(u32::from(response).to_le_bytes());
    h.extend(0u32.to_le_bytes()); // next command
    h.extend(mid.to_le_bytes());
    h.extend(0u32.to_le_bytes()); // process id
    h.extend(tree.to_le_bytes());
    h.extend(session.to_le_bytes());
    h.extend([0u8; 16]); // signature
    h.extend_from_slice(body);
    let mut m = vec![0, 0, 0, 0];
    m[1..].copy_from_slice(&(h.len() as u32).to_be_bytes()[1..]);
    m.extend(h);
    m
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Offered dialects, selected dialect, signing-required flag, tree connect path,
    /// share type, session and tree ids read back, each message split at a random point.
    #[test]
    fn negotiate_tree_connect_round_trip(
        offered in prop::collection::vec(prop::sample::select(DIALECTS.to_vec()), 1..8),
        pick in any::<prop::sample::Index>(),
        signing in any::<bool>(),
        path in "\\\\\\\\[A-Za-z0-9.-]{1,15}\\\\[A-Za-z0-9$_-]{1,20}",
        share_type in 1u8..=3,
        (session, tree, mid) in (1u64.., 1u32.., 1u64..1000),
        split in any::<usize>(),
    ) {
        let chosen = offered[pick.index(offered.len())];
        // NEGOTIATE request: structure 36, dialect count, security mode, reserved,
        // capabilities, client guid, start time, dialects
        let mut b = le16(36).to_vec();
        b.extend(le16(offered.len() as u16));
        b.extend(le16(1));
        b.extend(le16(0));
        b.extend(0u32.to_le_bytes());
        b.extend([0x11; 16]);
        b.extend([0; 8]);
        for (d, _) in &offered {
            b.extend(le16(*d));
        }
        let neg_req = smb2(0, 0, false, 0, 0, 0, &b);
        // NEGOTIATE response: structure 65, security mode, dialect, context count,
        // server guid, capabilities, max sizes, times, security buffer (empty at 128)
        let mut b = le16(65).to_vec();
        b.extend(le16(if signing { 3 } else { 1 }));
        b.extend(le16(chosen.0));
        b.extend(le16(0));
        b.extend([0x22; 16]);
        b.extend(0u32.to_le_bytes());
        for _ in 0..3 {
            b.extend(65536u32.to_le_bytes());
        }
        b.extend([0; 16]);
        b.extend(le16(128));
        b.extend(le16(0));
        b.extend(0u32.to_le_bytes());
        let neg_rsp = smb2(0, 0, true, 0, 0, 0, &b);
        // TREE_CONNECT request: structure 9, flags, path offset / length, path
        let p = utf16le(&path);
        let mut b = le16(9).to_vec();
        b.extend(le16(0));
        b.extend(le16(72));
        b.extend(le16(p.len() as u16));
        b.extend(&p);
        let tc_req = smb2(0, 3, false, mid, 0, session, &b);
        // TREE_CONNECT response: structure 16, share type, reserved, flags, caps, access
        let mut b = le16(16).to_vec();
        b.push(share_type);
        b.push(0);
        b.extend([0; 12]);
        let tc_rsp = smb2(0, 3, true, mid, tree, session, &b);

        let mut parser = (DESC.new_parser)(Transport::Tcp);
        let mut out = Vec::new();
        let steps = [(Direction::ToServer, neg_req), (Direction::ToClient, neg_rsp), (Direction::ToServer, tc_req), (Direction::ToClient, tc_rsp)];
        for (i, (d, b)) in steps.iter().enumerate() {
            let at = split % (b.len() + 1);
            parser.parse(*d, &b[..at], i as i64, &mut out);
            parser.parse(*d, &b[at..], i as i64, &mut out);
        }
        parser.finish(9, &mut out);
        prop_assert!(remote_support::anomalies(&out).is_empty(), "{:?}", remote_support::anomalies(&out));
        let txns: Vec<_> = out.iter().filter_map(|o| match o {
            sluice_proto::Output::Txn(t) => match &t.record { sluice_proto::Record::Smb(v) => Some(v.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(txns.len(), 2);
        let n = &txns[0];
        prop_assert_eq!((n.version, n.command, n.message_id), ("smb2", 0, 0));
        prop_assert_eq!(n.status, Some(0));
        let want: Vec<String> = offered.iter().map(|d| d.1.to_string()).collect();
        prop_assert_eq!(&n.dialects, &want);
        prop_assert_eq!(n.dialect.as_deref(), Some(chosen.1));
        prop_assert_eq!(n.signing_required, Some(signing));
        prop_assert!(!n.unpaired && !n.truncated);
        let t = &txns[1];
        prop_assert_eq!((t.version, t.command, t.message_id), ("smb2", 3, mid));
        prop_assert_eq!(t.status, Some(0));
        prop_assert_eq!(t.session_id, Some(session));
        prop_assert_eq!(t.tree_id, Some(tree));
        prop_assert_eq!(t.share.as_ref(), Some(&path));
        let st = ["DISK", "PIPE", "PRINT"][usize::from(share_type - 1)];
        prop_assert_eq!(t.share_type, Some(st));
        prop_assert!(!t.unpaired && !t.truncated);
    }
}
