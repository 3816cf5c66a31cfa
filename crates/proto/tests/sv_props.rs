//! Sampled Values properties: no panic on any frame, encode -> parse round trip.
//! (No public SV capture is in the shared data; the frames are built here.)
use proptest::prelude::*;
use sluice_proto::sv::encode::{encode, AsduSpec};
use sluice_proto::sv::{self, parser};
use sluice_proto::{L2Frame, Output, Record};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn never_panics(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..16)) {
        let mut p = (sv::DESC.new_parser)();
        let mut out = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let mut g = vec![0x40, 0x00, 0, (f.len() + 8) as u8, 0, 0, 0, 0];
            g.extend_from_slice(f);
            for payload in [&f[..], &g[..]] {
                p.frame(&L2Frame { ts: i as i64, src_mac: [0; 6], dst_mac: [1; 6], vlan: 0, ethertype: 0x88ba, payload }, &mut out);
            }
        }
        p.finish(0, &mut out);
    }

    #[test]
    fn round_trip(
        ids in proptest::collection::vec("[A-Za-z0-9_]{1,30}", 1..5),
        cnt in any::<u16>(), conf in any::<u32>(), synch in 0u8..3,
        samples in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let asdus: Vec<AsduSpec> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| AsduSpec { sv_id: id.clone(), smp_cnt: cnt.wrapping_add(i as u16), conf_rev: conf, smp_synch: synch, samples: samples.clone() })
            .collect();
        let bytes = encode(0x4001, &asdus);
        let (h, p, short) = parser::parse(&bytes).unwrap();
        prop_assert!(!short);
        prop_assert_eq!(h.appid, 0x4001);
        prop_assert_eq!(p.no_asdu, Some(ids.len() as u32));
        prop_assert_eq!(p.asdus.len(), ids.len());
        for (a, s) in p.asdus.iter().zip(&asdus) {
            prop_assert_eq!(a.sv_id, Some(s.sv_id.as_bytes()));
            prop_assert_eq!(a.smp_cnt, Some(s.smp_cnt));
            prop_assert_eq!(a.conf_rev, Some(conf));
            prop_assert_eq!(a.smp_synch, Some(synch));
            prop_assert_eq!(a.data_len, samples.len());
        }
        // one summary per (MAC, svID) at finish, none per frame
        let mut sp = (sv::DESC.new_parser)();
        let mut out = Vec::new();
        sp.frame(&L2Frame { ts: 1, src_mac: [2; 6], dst_mac: [1; 6], vlan: 0, ethertype: 0x88ba, payload: &bytes }, &mut out);
        prop_assert!(!out.iter().any(|o| matches!(o, Output::Txn(_))));
        sp.finish(2, &mut out);
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        let n = out.iter().filter(|o| matches!(o, Output::Txn(t) if matches!(t.record, Record::Sv(_)))).count();
        prop_assert_eq!(n, unique.len());
    }
}
